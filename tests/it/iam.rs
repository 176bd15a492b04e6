//! Least privilege, proven: every DynamoDB call the test suite made for a function (recorded by
//! `store::iam_record` while `infra/test.sh` runs the suite with `SCIM_IAM_RECORD`) must be allowed
//! by that function's IAM statements in template.yaml — action, table or index, and the
//! `dynamodb:LeadingKeys` condition — and every DynamoDB grant must be used by some call.
//! `ignored` because it reads what the rest of the suite recorded: the test command runs it
//! after the suite (`--run-ignored only`).
//!
//! The non-DynamoDB grants are not called by our code in this suite, and each is listed here
//! with who uses it: a new one fails the test until it is explained.

use std::collections::{BTreeMap, BTreeSet};

use scim_lambda::store::iam_record::{Call, ENV_RECORD};
use scim_lambda::store::{DEFAULT_TABLE, DEFAULT_TOKENS_TABLE, DEFAULT_WEBHOOKS_TABLE};
use serde_json::json;
use serde_yaml::Value;

use crate::support::{Reply, Scim};

/// Grants no code of ours calls here: (function, action, who uses it).
const CALLED_BY_AWS: &[(&str, &str, &str)] = &[
    (
        "PublisherFunction",
        "events:PutEvents",
        "the publisher's EventBridge client (no EventBridge emulator here; its entries are checked by webhooks::the_stream_carries_every_event_to_the_publisher)",
    ),
    ("PublisherFunction", "sqs:SendMessage", "the stream mapping's on-failure destination (Lambda, with the function's role)"),
    ("CleanupFunction", "sqs:SendMessage", "the stream mapping's on-failure destination (Lambda, with the function's role)"),
    ("ManagementFunction", "kms:Decrypt", "DynamoDB, reading the webhooks table under its key"),
    ("ManagementFunction", "kms:Encrypt", "DynamoDB, writing the webhooks table under its key"),
    ("ManagementFunction", "kms:GenerateDataKey*", "DynamoDB, writing the webhooks table under its key"),
    ("ManagementFunction", "kms:DescribeKey", "DynamoDB, checking the table key"),
    ("WebhookFunction", "kms:Decrypt", "DynamoDB, reading the webhooks table under its key"),
    ("WebhookFunction", "kms:DescribeKey", "DynamoDB, checking the table key"),
    ("RequestLogFunction", "sqs:SendMessage", "Lambda, parking a payload that failed its asynchronous retries in the dead-letter queue (with the function's role)"),
];

/// One Allow statement: actions, resources as (table logical id, index), LeadingKeys patterns.
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<(String, Option<String>)>,
    leading_keys: Option<Vec<String>>,
}

fn resource(v: &Value) -> Option<(String, Option<String>)> {
    let text = serde_yaml::to_string(v).unwrap();
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("!GetAtt ") {
        return Some((rest.trim().trim_end_matches(".Arn").to_string(), None));
    }
    let rest = text
        .strip_prefix("!Sub ")?
        .trim()
        .trim_matches('"')
        .trim_matches('\'');
    let (table, index) = rest.strip_prefix("${")?.split_once(".Arn}/index/")?;
    Some((table.to_string(), Some(index.to_string())))
}

fn statements(t: &Value, function: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for policy in t["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        for st in policy["Statement"].as_sequence().into_iter().flatten() {
            assert_eq!(st["Effect"], "Allow", "{function}");
            let actions = match &st["Action"] {
                Value::Sequence(s) => s.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
                a => vec![a.as_str().unwrap().to_string()],
            };
            let resources = match &st["Resource"] {
                Value::Sequence(s) => s.iter().filter_map(resource).collect(),
                r => resource(r).into_iter().collect(),
            };
            // Only the conditions this test can evaluate: any other would be read as allowing.
            for (op, keys) in st["Condition"].as_mapping().into_iter().flatten() {
                let known = match op.as_str() {
                    Some("ForAllValues:StringLike") => keys
                        .as_mapping()
                        .is_some_and(|k| k.keys().all(|k| k == "dynamodb:LeadingKeys")),
                    // KMS through DynamoDB only: not a DynamoDB call's condition.
                    Some("StringEquals") => keys
                        .as_mapping()
                        .is_some_and(|k| k.keys().all(|k| k == "kms:ViaService")),
                    _ => false,
                };
                assert!(
                    known,
                    "{function}: a condition this test cannot evaluate: {op:?}"
                );
            }
            assert!(
                st["NotAction"].is_null() && st["NotResource"].is_null(),
                "{function}: NotAction/NotResource"
            );
            let leading_keys = st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                .as_sequence()
                .map(|s| s.iter().map(|p| p.as_str().unwrap().to_string()).collect());
            out.push(Statement {
                sid: st["Sid"].as_str().unwrap_or_default().to_string(),
                actions,
                resources,
                leading_keys,
            });
        }
    }
    out
}

/// IAM's `StringLike`: `*` any run of characters, `?` exactly one.
fn like(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    go(&p, &v)
}

fn function_of(name: &str) -> &'static str {
    scim_lambda::function::Function::from_name(name)
        .unwrap_or_else(|| panic!("unknown function {name}"))
        .logical_id()
}

fn table_of(name: &str) -> &'static str {
    match name {
        DEFAULT_TABLE => "DirectoryTable",
        DEFAULT_TOKENS_TABLE => "TokensTable",
        DEFAULT_WEBHOOKS_TABLE => "WebhooksTable",
        other => panic!("unknown table {other}"),
    }
}

fn allows(st: &Statement, call: &Call) -> bool {
    let table = table_of(&call.table);
    st.actions.contains(&call.action)
        && st
            .resources
            .iter()
            .any(|(t, i)| t == table && i.as_deref() == call.index.as_deref())
        && st.leading_keys.as_ref().is_none_or(|patterns| {
            call.leading_key
                .as_deref()
                .is_some_and(|k| patterns.iter().any(|p| like(p, k)))
        })
}

/// The text between `before` and the next `<` or `"` of a portal page.
fn on_page<'a>(page: &'a Reply, before: &str) -> &'a str {
    let html = page.body.as_str().unwrap_or_default();
    html.split(before)
        .nth(1)
        .and_then(|rest| rest.split(['<', '"']).next())
        .unwrap_or_else(|| panic!("{before} not on the page: {html}"))
}

/// Every flow of the Admin Portal, as an IT admin walks it, so that the record holds each call
/// the portal's role makes (the IdP's side and the management API's are recorded by their own
/// tests): open a setup link with the secret from its URL's fragment, choose the provider, reveal
/// a token, create OAuth client credentials (and let the IdP use them), watch the status, page
/// and search the users and groups tabs, open a user, the credentials tab, and revoke both.
#[tokio::test]
async fn an_it_admin_walks_every_portal_flow() {
    let s = Scim::start().await;
    let user = s
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com", "displayName": "Ada Lovelace"}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.body);
    let user_id = user.body["id"].as_str().unwrap().to_string();
    let group = s
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [{"value": user_id}]}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);

    let made = s
        .manage(
            "POST",
            &format!("/directories/{}/portal-links", s.directory),
            Some(json!({})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = made.body["url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1;
    let opened = s
        .raw(
            "POST",
            "/portal/open",
            Some(secret.to_string()),
            &[
                ("content-type", "text/plain"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let cookie = opened
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let get = |path: String| {
        let cookie = cookie.clone();
        let s = &s;
        async move {
            let page = s.raw("GET", &path, None, &[("cookie", &cookie)]).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            page
        }
    };
    let chooser = get("/portal/provider".into()).await;
    let csrf = on_page(&chooser, "name=\"csrf\" value=\"").to_string();
    let post = |path: String, form: String| {
        let cookie = cookie.clone();
        let s = &s;
        async move {
            s.raw(
                "POST",
                &path,
                Some(form),
                &[
                    ("cookie", &cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("sec-fetch-site", "same-origin"),
                ],
            )
            .await
        }
    };
    let chose = post(
        "/portal/provider".into(),
        format!("provider=pingone&csrf={csrf}"),
    )
    .await;
    assert_eq!(chose.status, 303, "{}", chose.body);
    get("/portal/setup".into()).await;

    let revealed = post("/portal/tokens".into(), format!("csrf={csrf}")).await;
    assert_eq!(revealed.status, 200, "{}", revealed.body);
    let token = on_page(&revealed, "data-value=\"bearer_token\">").to_string();
    let created = post("/portal/clients".into(), format!("csrf={csrf}")).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let client_id = on_page(&created, "data-value=\"client_id\">").to_string();
    let client_secret = on_page(&created, "data-value=\"client_secret\">").to_string();
    // The IdP exchanges the client's secret for an access token, which the client's revocation
    // deletes with it.
    let access = s
        .raw(
            "POST",
            &format!("/oauth2/{}/token", s.directory),
            Some(format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"
            )),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(access.status, 200, "{}", access.body);

    let status = get("/portal/status".into()).await;
    assert_eq!(status.body["users"], 1, "{}", status.body);
    for path in [
        "/portal/users".to_string(),
        "/portal/users?q=ad".into(),
        format!("/portal/users/{user_id}"),
        "/portal/groups".into(),
        "/portal/groups?q=eng".into(),
        "/portal/credentials".into(),
    ] {
        get(path).await;
    }

    let token_id = scim_lambda::auth::token_id(&scim_lambda::auth::hash_token(&token));
    let revoked = post(
        format!("/portal/tokens/{token_id}/revoke"),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let revoked = post(
        format!("/portal/clients/{client_id}/revoke"),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let left = get("/portal/credentials".into()).await;
    let html = left.body.as_str().unwrap();
    assert!(
        !html.contains(&token_id) && !html.contains(&client_id),
        "{html}"
    );
}

#[test]
fn iam_string_like_is_iams() {
    assert!(like("client#*", "client#scim_client_ab"));
    assert!(!like("client#*", "webhook#x"));
    assert!(like(&"?".repeat(64), &"a".repeat(64)));
    assert!(!like(&"?".repeat(64), &"a".repeat(63)));
}

#[test]
#[ignore = "reads the record the whole suite wrote; infra/test.sh runs it after the suite"]
fn every_call_a_function_makes_is_allowed_and_every_grant_is_used() {
    let dir = std::env::var(ENV_RECORD)
        .unwrap_or_else(|_| panic!("{ENV_RECORD} must name the suite's record directory"));
    let mut calls = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let c: Call = serde_json::from_str(line).unwrap();
            calls.insert((
                c.function.clone(),
                c.action.clone(),
                c.table.clone(),
                c.index.clone(),
                c.leading_key.clone(),
            ));
        }
    }
    let t = crate::template::load();
    let mut denied = Vec::new();
    let mut used: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    let mut table: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (function, action, tbl, index, leading_key) in &calls {
        let call = Call {
            function: function.clone(),
            action: action.clone(),
            table: tbl.clone(),
            index: index.clone(),
            leading_key: leading_key.clone(),
        };
        let logical = function_of(function);
        let statements = statements(&t, logical);
        match statements.iter().find(|st| allows(st, &call)) {
            Some(st) => {
                let res = format!(
                    "{}{}",
                    table_of(tbl),
                    index
                        .as_deref()
                        .map(|i| format!("/index/{i}"))
                        .unwrap_or_default()
                );
                used.insert((
                    logical.to_string(),
                    st.sid.clone(),
                    action.clone(),
                    res.clone(),
                ));
                table
                    .entry(logical.to_string())
                    .or_default()
                    .insert(format!("{} {res}", action.trim_start_matches("dynamodb:")));
            }
            None => denied.push(format!("{logical} would be denied {call:?}")),
        }
    }
    for (f, actions) in &table {
        println!(
            "{f}: {}",
            actions.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        denied.is_empty(),
        "calls the policies deny:\n{}",
        denied.join("\n")
    );
    // Every function family that serves requests was exercised.
    for f in [
        "UsersFunction",
        "GroupsFunction",
        "DiscoveryFunction",
        "TokenFunction",
        "ManagementFunction",
        "PortalFunction",
        "CleanupFunction",
        "WebhookFunction",
        "RequestLogFunction",
    ] {
        assert!(table.contains_key(f), "no call recorded for {f}");
    }
    let mut unused = Vec::new();
    for (name, res) in t["Resources"].as_mapping().unwrap() {
        if res["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let logical = name.as_str().unwrap();
        for st in statements(&t, logical) {
            for action in &st.actions {
                if !action.starts_with("dynamodb:") {
                    assert!(
                        CALLED_BY_AWS
                            .iter()
                            .any(|(f, a, _)| *f == logical && a == action),
                        "{logical} {}: {action} is granted but no one says who calls it",
                        st.sid
                    );
                    continue;
                }
                for (tbl, index) in &st.resources {
                    let res = format!(
                        "{tbl}{}",
                        index
                            .as_deref()
                            .map(|i| format!("/index/{i}"))
                            .unwrap_or_default()
                    );
                    let key = (
                        logical.to_string(),
                        st.sid.clone(),
                        action.clone(),
                        res.clone(),
                    );
                    if !used.contains(&key) {
                        unused.push(format!("{logical} {}: {action} on {res}", st.sid));
                    }
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "grants nothing uses:\n{}",
        unused.join("\n")
    );
}
