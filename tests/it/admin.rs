//! scimctl's contract: directories, tokens (two live at most, expiry, revocation), tables.

use scim_lambda::service::directories::{self, DirectoryStatus};
use scim_lambda::service::{credentials, PublicUrl, Service};
use scim_lambda::store::tables::{
    directory_table_design, tokens_table_design, webhooks_table_design,
};

use crate::support::{local, store, Scim};

#[tokio::test]
async fn directory_create_prints_urls_and_a_token() {
    let svc = Service::new(store().await);
    let base = PublicUrl::new("https://api.example.com/");
    let d = directories::create(&svc, &base, "Acme", None, None)
        .await
        .unwrap();
    let id = d.directory.id.as_str();
    assert_eq!(
        d.directory.scim_v2_url,
        format!("https://api.example.com/scim/v2/{id}")
    );
    assert_eq!(
        d.directory.scim_v1_url,
        format!("https://api.example.com/scim/v1/{id}")
    );
    assert!(d.token.starts_with("scim_sk_"));
    assert_eq!(d.directory.status, DirectoryStatus::Pending);
    let shown = directories::show(&svc, &base, id).await.unwrap();
    assert_eq!(shown.directory.name, "Acme");
    assert!(directories::list(&svc, &base)
        .await
        .unwrap()
        .iter()
        .any(|x| x.id == id));
}

#[tokio::test]
async fn a_directory_holds_at_most_two_live_tokens() {
    let s = Scim::start().await;
    let second = credentials::issue_token(s.svc(), &s.directory, Some(30))
        .await
        .unwrap();
    assert!(second.record.expires_at_millis.is_some());
    let err = credentials::issue_token(s.svc(), &s.directory, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("revoke one first"));
    // Rotation: both tokens work until the old one is revoked.
    let new_token = second.token.as_str();
    let with = |t: &str| format!("Bearer {t}");
    let r = s
        .raw(
            "GET",
            &s.v2("/Users"),
            None,
            &[("authorization", &with(new_token))],
        )
        .await;
    assert_eq!(r.status, 200);
    let listed = credentials::list_tokens(s.svc(), &s.directory)
        .await
        .unwrap();
    let old_id = listed
        .iter()
        .find(|t| t.credential.token_id != second.record.token_id)
        .unwrap()
        .credential
        .token_id
        .clone();
    credentials::revoke_token(s.svc(), &s.directory, &old_id)
        .await
        .unwrap();
    // The revoking process's cache is not the server's: a new server process sees it at once;
    // here the server shares the process, so check the store directly.
    let tokens = credentials::list_tokens(s.svc(), &s.directory)
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1);
    credentials::issue_token(s.svc(), &s.directory, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_a_directory_removes_its_data_and_tokens() {
    let s = Scim::start().await;
    s.user("a@x.com").await;
    let out = s.delete_directory().await.unwrap();
    assert!(out.items_deleted >= 2);
    assert!(directories::show(s.svc(), &s.base, &s.directory)
        .await
        .is_err());
    assert!(s
        .app
        .store()
        .list_tokens(&s.directory)
        .await
        .unwrap()
        .is_empty());
}

/// template.yaml's tables must have exactly the keys and indexes `scimctl tables create` makes.
#[test]
fn template_tables_match_scimctl_tables_create() {
    let t = crate::template::load();
    let res = &t["Resources"];
    for (name, design) in [
        ("DirectoryTable", directory_table_design()),
        ("TokensTable", tokens_table_design()),
        ("WebhooksTable", webhooks_table_design()),
    ] {
        let props = &res[name]["Properties"];
        assert_eq!(
            props["TimeToLiveSpecification"]["AttributeName"], "ttl",
            "{name} TTL"
        );
        let keys: Vec<(String, String)> = crate::template::key_schema(&props["KeySchema"]);
        let want: Vec<(String, String)> = design
            .keys
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(keys, want, "{name} keys");
        let gsis: Vec<(String, Vec<(String, String)>)> = props["GlobalSecondaryIndexes"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .map(|g| {
                        (
                            g["IndexName"].as_str().unwrap().to_string(),
                            crate::template::key_schema(&g["KeySchema"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want_gsis: Vec<(String, Vec<(String, String)>)> = design
            .indexes
            .iter()
            .map(|(n, k)| {
                (
                    n.to_string(),
                    k.iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(gsis, want_gsis, "{name} indexes");
    }
}

/// The automation contract: the real binary, `--json`, one object with the documented keys.
/// (Multi-threaded: the child's DynamoDB calls are served while this thread waits on it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scimctl_binary_prints_json_for_scripts() {
    let local = local().await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
            .args(args)
            .env("SCIM_PUBLIC_URL", "https://scim.example.com")
            .env("SCIM_TOKEN_GRACE_SECS", "0")
            .env("AWS_ENDPOINT_URL_DYNAMODB", &local.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .output()
            .expect("scimctl runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON document")
    };
    run(&["tables", "create", "--json"]);
    let d = run(&["directory", "create", "--name", "Scripted", "--json"]);
    let id = d["id"].as_str().unwrap();
    assert_eq!(
        d["scim_v2_url"],
        format!("https://scim.example.com/scim/v2/{id}")
    );
    assert_eq!(
        d["scim_v1_url"],
        format!("https://scim.example.com/scim/v1/{id}")
    );
    assert!(d["token"].as_str().unwrap().starts_with("scim_sk_"));
    let tokens = run(&["token", "list", id, "--json"]);
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    assert!(!tokens.to_string().contains(d["token"].as_str().unwrap()));
    let shown = run(&["directory", "show", id, "--json"]);
    assert_eq!(shown["name"], "Scripted");
    run(&["directory", "delete", id, "--json"]);
}

/// `scimctl directory check` finds each kind of damage a crash of an older version (or a hand
/// edit) could leave, and `--repair` fixes it so that a second check finds nothing and reads
/// are consistent again.
#[tokio::test]
async fn directory_check_finds_damage_and_repair_fixes_it() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use scim_lambda::store::keys;

    let s = Scim::start().await;
    let a = s.user("a@example.com").await;
    let b = s.user("b@example.com").await;
    let g = s.group("team", &[&a, &b]).await;
    assert!(s.check().await.problems.is_empty());

    let store = s.app.store();
    let pk = keys::directory_pk(&s.directory);
    let item = |sk: String| {
        std::collections::HashMap::from([
            ("pk".to_string(), AttributeValue::S(pk.clone())),
            ("sk".to_string(), AttributeValue::S(sk)),
        ])
    };
    let client = store.client();
    let table = store.table();
    // One side of a's membership lost; an edge pair to a user that never existed; a counter
    // moved by 5; b's userName guard lost; an index item naming a value a has not.
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(item(keys::member_of_sk(&a, &g))))
        .send()
        .await
        .unwrap();
    for sk in [
        keys::member_sk(&g, "ghost"),
        keys::member_of_sk("ghost", &g),
    ] {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item(sk)))
            .send()
            .await
            .unwrap();
    }
    client
        .update_item()
        .table_name(table)
        .set_key(Some(item(keys::counter_sk("x"))))
        .update_expression("ADD #c :n")
        .expression_attribute_names("#c", "Users")
        .expression_attribute_values(":n", AttributeValue::N("5".into()))
        .send()
        .await
        .unwrap();
    let guard = keys::unique_name_sk(
        scim_lambda::scim::schema::ResourceKind::User,
        "b@example.com",
    );
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(item(guard)))
        .send()
        .await
        .unwrap();
    let stale = keys::Index::UserEmail.sk("old@example.com", &a);
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item(stale)))
        .send()
        .await
        .unwrap();
    // A member slot of a group that does not exist; a deleted group's tombstone is no problem.
    let mut orphan = item(keys::slot_sk("no-such-group", 3));
    orphan.insert("version".into(), AttributeValue::N("2".into()));
    let mut tombstone = item(keys::slot_sk("deleted-group", 1));
    tombstone.insert("gone".into(), AttributeValue::N("1".into()));
    // The group count of a user that does not exist.
    let mut count = item(keys::group_count_sk("nobody"));
    count.insert("groups".into(), AttributeValue::N("1".into()));
    for slot in [orphan, tombstone, count] {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(slot))
            .send()
            .await
            .unwrap();
    }

    let report = s.check().await;
    let mut kinds: Vec<&str> = report.problems.iter().map(|p| p.kind).collect();
    kinds.sort();
    // Two counters drifted: users (moved by 5) and memberships (the ghost's edge was written
    // by hand, uncounted). So did the counts a delete trusts (`store::deletes`): a's (one side
    // of its edge lost) and the group's (the ghost's edge).
    assert_eq!(
        kinds,
        [
            "counter_drift",
            "counter_drift",
            "miscounted",
            "miscounted",
            "missing_guard",
            "one_sided_edge",
            "orphan_edge",
            "orphan_group_count",
            "orphan_slot",
            "stale_index_item"
        ],
        "{:?}",
        report.problems
    );
    let repaired = directories::check(s.svc(), &s.directory, true)
        .await
        .unwrap();
    assert!(repaired.repaired);
    assert!(
        s.check().await.problems.is_empty(),
        "{:?}",
        s.check().await.problems
    );

    // What the repair left reads consistently: b is the one member, counts are right, and the
    // userName guard works again.
    let group = s.get(&format!("/Groups/{g}")).await.body;
    assert_eq!(group["members"].as_array().unwrap().len(), 1);
    assert_eq!(group["members"][0]["value"], serde_json::json!(b));
    assert_eq!(s.get("/Users").await.body["totalResults"], 2);
    let dup = s
        .post("/Users", serde_json::json!({"userName": "B@example.com"}))
        .await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    // The resources whose counts drifted are deleted by listing after the read, exactly.
    for path in [format!("/Users/{b}"), format!("/Groups/{g}")] {
        assert_eq!(s.delete(&path).await.status, 204, "{path}");
    }
    assert!(s.check().await.problems.is_empty());
}

/// The store the Lambda functions build bounds every DynamoDB call (a stalled connection would
/// otherwise hold the invocation until its timeout): per attempt and per call with retries.
#[tokio::test]
async fn the_functions_store_bounds_every_dynamodb_call() {
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "local");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "local");
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9");
    let store = scim_lambda::store::Store::from_lambda_env();
    let config = store.client().config();
    let timeouts = config.timeout_config().expect("timeouts are set");
    let attempt = timeouts.operation_attempt_timeout().expect("per attempt");
    let operation = timeouts.operation_timeout().expect("per operation");
    assert!(attempt < operation, "{attempt:?} < {operation:?}");
    assert!(operation < scim_lambda::store::deadline::REQUEST_BUDGET);
}

/// A management delete cut off after marking the directory `deleting` but before its tokens were
/// revoked: the clean-up function (fed by that mark) revokes them with the data.
#[tokio::test]
async fn the_clean_up_function_revokes_what_a_cut_delete_left() {
    let s = crate::support::Scim::start().await;
    let store = s.app.store();
    let d = store.get_directory(&s.directory).await.unwrap().unwrap();
    store.begin_delete(&d).await.unwrap();
    assert!(!store.list_tokens(&s.directory).await.unwrap().is_empty());
    scim_lambda::service::cleanup::finish_directory_delete(store, &s.directory)
        .await
        .unwrap();
    assert!(store.list_tokens(&s.directory).await.unwrap().is_empty());
    assert!(store.get_directory(&s.directory).await.unwrap().is_none());
}
