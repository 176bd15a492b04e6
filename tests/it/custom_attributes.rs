//! Custom attributes, as the application sees them: declare keys, map a directory's SCIM
//! attribute paths to them (core, sub-attribute, value filter, enterprise, Okta's own extension),
//! push an Okta-shaped user, and read `custom_attributes` in its events and through the
//! management API; change the mapping (reads change at once, events from the user's next
//! change); preview a candidate; refuse bad input with the reason.

use serde_json::{json, Value};

use crate::support::Scim;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const OKTA: &str = "urn:ietf:params:scim:schemas:extension:okta:1.0:User";

async fn declare(s: &Scim, keys: &[&str]) {
    let attributes: Vec<Value> = keys.iter().map(|k| json!({"key": k})).collect();
    let r = s
        .manage(
            "PUT",
            "/custom-attributes",
            Some(json!({ "attributes": attributes })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn map(s: &Scim, pairs: &[(&str, &str)]) -> Value {
    let d = &s.directory;
    let r = s
        .manage(
            "PUT",
            &format!("/directories/{d}/custom-attributes"),
            Some(mappings(pairs)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn mappings(pairs: &[(&str, &str)]) -> Value {
    let m: Vec<Value> = pairs
        .iter()
        .map(|(k, p)| json!({"key": k, "path": p}))
        .collect();
    json!({ "mappings": m })
}

/// A user as Okta provisions it with the enterprise extension and Okta's own (a custom
/// attribute of the Okta app's profile, sent under Okta's extension URN).
fn okta_user(name: &str, cost_code: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, OKTA],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": name, "type": "work"}],
        "title": "Engineer",
        "addresses": [{"type": "home", "locality": "London"},
                      {"type": "work", "locality": "Cambridge", "country": "GB"}],
        "active": true,
        ENTERPRISE: {"costCenter": "R&D", "department": "Engineering",
                     "manager": {"value": "00u-babbage", "displayName": "Charles Babbage"}},
        OKTA: {"costCode": cost_code}
    })
}

async fn create(s: &Scim, body: Value) -> String {
    let r = s.post("/Users", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// The user's custom attributes through the management API.
async fn read(s: &Scim, user: &str) -> Value {
    let d = &s.directory;
    let r = s
        .manage("GET", &format!("/directories/{d}/users/{user}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["custom_attributes"].clone()
}

/// The user's events after `after`: (type, data).
async fn events(s: &Scim, user: &str, after: u64) -> Vec<(String, Value)> {
    let d = &s.directory;
    let r = s
        .manage(
            "GET",
            &format!("/directories/{d}/events?after={after}&limit=100"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["id"] == user)
        .map(|e| (e["event"].as_str().unwrap().to_string(), e["data"].clone()))
        .collect()
}

async fn sequence(s: &Scim) -> u64 {
    s.app.store().sequence(&s.directory).await.unwrap()
}

fn okta_mapping() -> Vec<(&'static str, String)> {
    vec![
        ("city", r#"addresses[type eq "work"].locality"#.to_string()),
        ("title", "title".to_string()),
        ("cost_code", format!("{OKTA}:costCode")),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, p)| (*k, p.as_str())).collect()
}

#[tokio::test]
async fn an_okta_user_carries_the_declared_keys_in_its_events_and_management_reads() {
    let s = Scim::start().await;
    declare(
        &s,
        &["cost_center", "department", "city", "title", "cost_code"],
    )
    .await;
    let view = map(&s, &pairs(&okta_mapping())).await;
    assert_eq!(view["rendering"], "mapped");
    // cost_center and department are not mapped here: the enterprise defaults fill them.
    let sources: Vec<(String, String)> = view["effective"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().into(),
                e["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("cost_center".into(), "default".into()),
            ("department".into(), "default".into()),
            ("city".into(), "directory".into()),
            ("title".into(), "directory".into()),
            ("cost_code".into(), "directory".into()),
        ]
    );

    let before = sequence(&s).await;
    let ada = create(&s, okta_user("ada@example.com", "CC-7")).await;
    let want = json!({"cost_center": "R&D", "department": "Engineering", "city": "Cambridge",
                      "title": "Engineer", "cost_code": "CC-7"});
    let evs = events(&s, &ada, before).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].0, "dsync.user.created");
    assert_eq!(evs[0].1["custom_attributes"], want);
    // The raw SCIM resource stays as the IdP sent it.
    assert_eq!(evs[0].1["raw_attributes"][OKTA]["costCode"], "CC-7");
    assert_eq!(read(&s, &ada).await, want);
    let d = &s.directory;
    let page = s
        .manage("GET", &format!("/directories/{d}/users"), None)
        .await;
    assert_eq!(page.body["data"][0]["custom_attributes"], want);

    // Okta's profile push: a PATCH replacing the Okta attribute.
    let before = sequence(&s).await;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": format!("{OKTA}:costCode"), "value": "CC-9"}]});
    let r = s.patch(&format!("/Users/{ada}"), patch).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let evs = events(&s, &ada, before).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].0, "dsync.user.updated");
    assert_eq!(evs[0].1["custom_attributes"]["cost_code"], "CC-9");
    assert_eq!(
        evs[0].1["previous_attributes"]["custom_attributes"],
        json!({"cost_code": "CC-7"})
    );
    // A delete's event carries them too.
    let before = sequence(&s).await;
    assert_eq!(s.delete(&format!("/Users/{ada}")).await.status, 204);
    let evs = events(&s, &ada, before).await;
    assert_eq!(evs[0].0, "dsync.user.deleted");
    assert_eq!(evs[0].1["custom_attributes"]["cost_code"], "CC-9");
}

#[tokio::test]
async fn until_keys_are_declared_users_keep_the_fixed_flattening() {
    let s = Scim::start().await;
    let ada = create(&s, okta_user("ada@example.com", "CC-7")).await;
    let got = read(&s, &ada).await;
    assert_eq!(got["cost_center"], "R&D");
    assert_eq!(got["manager_id"], "00u-babbage");
    assert_eq!(got[format!("{OKTA}:costCode")], "CC-7");
    let d = &s.directory;
    let r = s
        .manage("GET", &format!("/directories/{d}/custom-attributes"), None)
        .await;
    assert_eq!(r.body["rendering"], "flattened", "{}", r.body);
}

/// The documented rule: saving a mapping rewrites no user and emits nothing; every management
/// read renders with the new mapping at once; each user's events carry it from its next change.
#[tokio::test]
async fn a_mapping_change_shows_on_reads_at_once_and_in_events_from_the_next_change() {
    let s = Scim::start().await;
    declare(&s, &["cost_center", "city", "title", "cost_code"]).await;
    map(&s, &pairs(&okta_mapping())).await;
    let ada = create(&s, okta_user("ada@example.com", "CC-7")).await;
    assert_eq!(read(&s, &ada).await["city"], "Cambridge");

    let before = sequence(&s).await;
    // The customer's IdP keeps the city in the home address, and the title goes.
    map(
        &s,
        &[
            ("city", r#"addresses[type eq "home"].locality"#),
            ("cost_code", &format!("{OKTA}:costCode")),
        ],
    )
    .await;
    assert_eq!(sequence(&s).await, before, "a mapping save emits no event");
    assert_eq!(
        read(&s, &ada).await,
        json!({"cost_center": "R&D", "city": "London", "cost_code": "CC-7"})
    );

    // The user's next change: its event renders with the new mapping; `previous_attributes`
    // names what the IdP changed (both sides under the same mapping), not what the mapping did.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "name.familyName", "value": "King"}]});
    let r = s.patch(&format!("/Users/{ada}"), patch).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let evs = events(&s, &ada, before).await;
    assert_eq!(evs.len(), 1);
    let data = &evs[0].1;
    assert_eq!(
        data["custom_attributes"],
        json!({"cost_center": "R&D", "city": "London", "cost_code": "CC-7"})
    );
    assert_eq!(data["previous_attributes"]["last_name"], "Lovelace");
    assert!(data["previous_attributes"]
        .get("custom_attributes")
        .is_none());
}

/// A mapping saved by another process (here `scimctl`, on the same tables) reaches a server
/// whose cached settings are older: its next write is cancelled by the settings version on the
/// event sequence and rendered again with the new mapping — no event with a replaced mapping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_saved_elsewhere_is_used_by_the_next_write_of_a_warm_server() {
    let s = Scim::start().await;
    declare(&s, &["title", "cost_code"]).await;
    map(&s, &[("title", "title")]).await;
    let ada = create(&s, okta_user("ada@example.com", "CC-7")).await;

    let scimctl = |args: Vec<String>| {
        let endpoint = s.endpoint();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
                    .args(&args)
                    .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
                    .env("AWS_REGION", "us-east-1")
                    .env("AWS_ACCESS_KEY_ID", "local")
                    .env("AWS_SECRET_ACCESS_KEY", "local")
                    .env_remove("SCIM_MANAGEMENT_URL")
                    .output()
                    .expect("scimctl runs")
            })
            .await
            .unwrap()
        }
    };
    let out = scimctl(vec![
        "attributes".into(),
        "map".into(),
        s.directory.clone(),
        "--map".into(),
        format!("cost_code={OKTA}:costCode"),
        "--json".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["mappings"][0]["key"], "cost_code");

    let before = sequence(&s).await;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Countess"}]});
    let r = s.patch(&format!("/Users/{ada}"), patch).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let evs = events(&s, &ada, before).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].1["custom_attributes"], json!({"cost_code": "CC-7"}));
}

#[tokio::test]
async fn a_preview_shows_the_newest_users_before_and_after_without_saving() {
    let s = Scim::start().await;
    declare(&s, &["city", "cost_code"]).await;
    map(&s, &[("city", r#"addresses[type eq "work"].locality"#)]).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(
            create(
                &s,
                okta_user(&format!("u{i:02}@example.com"), &format!("C{i}")),
            )
            .await,
        );
    }
    let d = &s.directory;
    let candidate = mappings(&[
        ("city", r#"addresses[type eq "home"].locality"#),
        ("cost_code", &format!("{OKTA}:costCode")),
    ]);
    let r = s
        .manage(
            "POST",
            &format!("/directories/{d}/custom-attributes/preview"),
            Some(candidate),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let users = r.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 10);
    // Newest first.
    assert_eq!(users[0]["id"], ids[11].as_str());
    assert_eq!(users[0]["username"], "u11@example.com");
    assert_eq!(users[9]["id"], ids[2].as_str());
    assert_eq!(users[0]["before"], json!({"city": "Cambridge"}));
    assert_eq!(
        users[0]["after"],
        json!({"city": "London", "cost_code": "C11"})
    );
    assert_eq!(users[0]["changed"], true);
    // Nothing was saved.
    assert_eq!(read(&s, &ids[11]).await, json!({"city": "Cambridge"}));
    let shown = s
        .manage("GET", &format!("/directories/{d}/custom-attributes"), None)
        .await;
    assert_eq!(shown.body["mappings"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_directory_created_after_the_keys_renders_them_from_its_first_user() {
    let s = Scim::start().await;
    declare(&s, &["cost_center", "department"]).await;
    let created = scim_lambda::service::directories::create(s.svc(), &s.base, "later", None, None)
        .await
        .unwrap();
    let d = &created.directory.id;
    let r = s
        .manage("GET", &format!("/directories/{d}/custom-attributes"), None)
        .await;
    assert_eq!(r.body["rendering"], "mapped", "{}", r.body);
    let token = format!("Bearer {}", created.token);
    let r = s
        .raw(
            "POST",
            &format!("/scim/v2/{d}/Users"),
            Some(okta_user("ada@example.com", "CC-7").to_string()),
            &[
                ("authorization", &token),
                ("content-type", "application/scim+json"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let r = s
        .manage("GET", &format!("/directories/{d}/users/{id}"), None)
        .await;
    assert_eq!(
        r.body["custom_attributes"],
        json!({"cost_center": "R&D", "department": "Engineering"})
    );
}

/// Every refusal is a 400 naming the reason, and changes nothing.
#[tokio::test]
async fn bad_input_is_a_400_with_the_reason() {
    let s = Scim::start().await;
    let d = s.directory.clone();
    let path = format!("/directories/{d}/custom-attributes");
    let refused = |r: crate::support::Reply, reason: &str| {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["error"], "invalid_request");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(reason), "{message:?} lacks {reason:?}");
    };

    // Mapping before any key is declared.
    let r = s
        .manage("PUT", &path, Some(mappings(&[("city", "title")])))
        .await;
    refused(r, "declare the stack's custom attributes first");
    // Keys: not snake_case, twice, too many, an unknown field.
    let keys = |k: Vec<Value>| Some(json!({ "attributes": k }));
    let r = s
        .manage(
            "PUT",
            "/custom-attributes",
            keys(vec![json!({"key": "Cost-Center"})]),
        )
        .await;
    refused(r, "snake_case");
    let r = s
        .manage(
            "PUT",
            "/custom-attributes",
            keys(vec![json!({"key": "a"}), json!({"key": "a"})]),
        )
        .await;
    refused(r, "declared twice");
    let many = (0..101).map(|i| json!({"key": format!("k{i}")})).collect();
    refused(
        s.manage("PUT", "/custom-attributes", keys(many)).await,
        "at most 100",
    );
    let r = s
        .manage(
            "PUT",
            "/custom-attributes",
            keys(vec![json!({"key": "a", "type": "string"})]),
        )
        .await;
    refused(r, "unknown field");

    declare(&s, &["city", "title"]).await;
    // An undeclared key, a path that does not parse, an attribute SCIM does not have.
    let r = s
        .manage("PUT", &path, Some(mappings(&[("town", "title")])))
        .await;
    refused(r, "\"town\" is not a declared custom attribute");
    let r = s
        .manage(
            "PUT",
            &path,
            Some(mappings(&[(
                "city",
                r#"addresses[type eq "work".locality"#,
            )])),
        )
        .await;
    refused(r, "mappings[0].path");
    let r = s
        .manage("PUT", &path, Some(mappings(&[("city", "nope")])))
        .await;
    refused(r, "unknown attribute \"nope\"");
    let r = s
        .manage(
            "PUT",
            &path,
            Some(mappings(&[("city", "title"), ("city", "nickName")])),
        )
        .await;
    refused(r, "mapped twice");
    // The preview refuses what the save refuses.
    let r = s
        .manage(
            "POST",
            &format!("{path}/preview"),
            Some(mappings(&[("town", "title")])),
        )
        .await;
    refused(r, "not a declared custom attribute");
    // Nothing was saved by any of them.
    let r = s.manage("GET", &path, None).await;
    assert_eq!(r.body["mappings"], json!([]), "{}", r.body);

    // A key a directory maps cannot be removed from the stack.
    map(&s, &[("city", "title")]).await;
    let r = s
        .manage(
            "PUT",
            "/custom-attributes",
            Some(json!({"attributes": [{"key": "title"}]})),
        )
        .await;
    refused(r, &format!("directory {d} maps it"));
    // An unknown directory is a 404.
    let r = s
        .manage("GET", "/directories/nope/custom-attributes", None)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // The preview takes POST only.
    let r = s.manage("GET", &format!("{path}/preview"), None).await;
    assert_eq!(r.status, 405, "{}", r.body);
}
