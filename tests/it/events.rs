//! Every API Gateway fixture in events/ (the files `sam local invoke -e` takes) fed through the
//! real handler of its function, and through the real Lambda binary started under a loopback
//! Lambda Runtime API (the nearest thing to `sam local invoke` without Docker), against local
//! DynamoDB seeded with the ids the fixtures name.

use scim_lambda::api::{self, App};
use scim_lambda::auth;
use scim_lambda::clock;
use scim_lambda::function::Function;
use scim_lambda::local::runtime_api::RuntimeApi;
use scim_lambda::scim::resource::{self, Meta};
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::store::directories::Directory;
use scim_lambda::store::tokens::TokenRecord;
use scim_lambda::store::{Record, Store};
use serde_json::json;
use std::time::Duration;

use crate::events_table::EXPECTED;
use crate::support::{local, store};

const DIRECTORY: &str = "01890000-0000-7000-8000-000000000001";
const TOKEN: &str = "scim_sk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const USER_A: &str = "01890000-0000-7000-8000-00000000000a";
const USER_B: &str = "01890000-0000-7000-8000-00000000000b";
const GROUP_G: &str = "01890000-0000-7000-8000-00000000000c";
const GROUP_H: &str = "01890000-0000-7000-8000-00000000000d";
const CLIENT_ID: &str = "scim_client_0123456789abcdef01234567";
const CLIENT_SECRET: &str =
    "scim_cs_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn record(kind: ResourceKind, id: &str, body: serde_json::Value) -> Record {
    let now = clock::now_rfc3339();
    Record::new(
        id,
        resource::incoming(kind, &body).unwrap().body,
        Meta {
            created: now.clone(),
            last_modified: now,
            version: 1,
        },
    )
}

/// A fresh copy of the fixtures' directory: token, users A and B, groups G and H.
async fn seed(store: &Store) {
    if store.get_directory(DIRECTORY).await.unwrap().is_some() {
        store
            .delete_directory(DIRECTORY, std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    store
        .create_directory(&Directory::new(DIRECTORY.into(), "events".into()))
        .await
        .unwrap();
    let hash = auth::hash_token(TOKEN);
    store
        .put_token(&TokenRecord {
            token_id: auth::token_id(&hash),
            hash,
            directory_id: DIRECTORY.into(),
            created_at: clock::now_rfc3339(),
            expires_at_millis: None,
            client_id: None,
        })
        .await
        .unwrap();
    store
        .put_client(&scim_lambda::store::clients::ClientRecord {
            client_id: CLIENT_ID.into(),
            directory_id: DIRECTORY.into(),
            secret_hash: auth::hash_token(CLIENT_SECRET),
            created_at: clock::now_rfc3339(),
            expires_at_millis: None,
            access_tokens: vec![],
        })
        .await
        .unwrap();
    let (user, group) = (ResourceKind::User, ResourceKind::Group);
    let seeds = [
        (
            user,
            USER_A,
            json!({"userName": "alice@example.com"}),
            vec![],
        ),
        (user, USER_B, json!({"userName": "bob@example.com"}), vec![]),
        (
            group,
            GROUP_G,
            json!({"displayName": "Engineering"}),
            vec![USER_B.to_string()],
        ),
        (group, GROUP_H, json!({"displayName": "Temp"}), vec![]),
    ];
    for (kind, id, body, members) in seeds {
        store
            .create(DIRECTORY, kind, &record(kind, id, body), &members)
            .await
            .unwrap();
    }
}

/// The fixtures in file order: (file, function, expected status, event text). Checks that every
/// file in events/ has an expected status, and only those.
fn fixtures() -> Vec<(&'static str, &'static str, u16, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    let listed: Vec<String> = {
        let mut v: Vec<String> = EXPECTED.iter().map(|(f, _, _)| f.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        files, listed,
        "every file in events/ has an expected status, and only those"
    );
    EXPECTED
        .iter()
        .map(|(file, function, status)| {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            (*file, *function, *status, text)
        })
        .collect()
}

/// SCIM routes answer SCIM JSON; the management API and the token endpoint plain JSON.
fn content_type(function: &str) -> &'static str {
    if function == "management" || function == "token" {
        "application/json"
    } else {
        "application/scim+json"
    }
}

#[tokio::test]
async fn every_event_fixture_gets_its_expected_status_from_the_real_handler() {
    let store = store().await;
    // The token cache is per App: one App per event keeps the seeding visible.
    for (file, function, status, text) in fixtures() {
        seed(&store).await;
        let app = App::new(store.clone(), None);
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let family =
            Function::from_name(function).unwrap_or_else(|| panic!("unknown function {function}"));
        let resp = api::handle(&app, family, req).await;
        let body = match resp.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert_eq!(resp.status().as_u16(), status, "{file}: {body}");
        assert_eq!(
            resp.headers()["content-type"],
            content_type(function),
            "{file}"
        );
    }
}

/// The same fixtures through the function binary, started once per function (`SCIM_FAMILY`) as
/// Lambda starts a `provided.al2023` function and invoked through the Runtime API: what `sam local invoke` checks,
/// including the binaries' own start-up (config, SDK client, runtime loop).
#[tokio::test]
async fn every_event_fixture_gets_its_expected_status_from_the_real_lambda_binary() {
    let local = local().await;
    let mut functions = std::collections::HashMap::new();
    for name in ["users", "groups", "discovery", "management", "token"] {
        let api = RuntimeApi::start().await.unwrap();
        let child = api
            .command(std::path::Path::new(env!("CARGO_BIN_EXE_lambda")), name)
            .env("SCIM_FAMILY", name)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &local.endpoint)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        api.wait_ready(Duration::from_secs(30)).await.unwrap();
        functions.insert(name, (api, child));
    }
    for (file, function, status, text) in fixtures() {
        seed(&local.store).await;
        let (api, _) = &functions[function];
        let answer = api.invoke(&text, Duration::from_secs(30)).await.unwrap();
        assert!(answer.ok, "{file}: {}", answer.response);
        assert_eq!(
            answer.response["statusCode"], status,
            "{file}: {}",
            answer.response
        );
        // HTTP API (payload 2.0) answers carry `headers`; REST API (1.0) ones `multiValueHeaders`.
        let r = &answer.response;
        let got_type = r["headers"]["content-type"]
            .as_str()
            .or(r["multiValueHeaders"]["content-type"][0].as_str());
        assert_eq!(got_type, Some(content_type(function)), "{file}: {r}");
        // Bodies go to API Gateway as the text they are (UTF-8), never base64.
        assert_ne!(r["isBase64Encoded"], true, "{file}: {r}");
        if let Some(body) = r["body"].as_str().filter(|b| !b.is_empty()) {
            if got_type.is_some_and(|t| t.contains("json")) {
                serde_json::from_str::<serde_json::Value>(body)
                    .unwrap_or_else(|e| panic!("{file}: {e}: {body}"));
            }
        }
    }
}
