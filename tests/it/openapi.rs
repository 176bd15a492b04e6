//! The management API's OpenAPI document is the one its typed requests and answers generate:
//! the committed `docs/openapi.json` (served at `GET /manage/openapi.json`) must equal what
//! `api::manage::openapi::document()` builds now. `SCIM_WRITE_OPENAPI=1` rewrites the file
//! instead of failing (then commit it). The test command also validates the file and fuzzes a
//! local server against it (infra/openapi-local.sh).

use crate::support::Scim;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

#[test]
fn the_committed_document_is_what_the_types_generate() {
    let generated = scim_lambda::api::manage::openapi::document();
    let text = format!("{}\n", serde_json::to_string_pretty(&generated).unwrap());
    if std::env::var("SCIM_WRITE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(PATH, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap();
    assert!(
        committed == text,
        "docs/openapi.json is stale: run SCIM_WRITE_OPENAPI=1 cargo nextest run --features local openapi"
    );
}

#[test]
fn every_route_of_the_api_is_described_with_its_methods() {
    let doc = scim_lambda::api::manage::openapi::document();
    let paths = doc["paths"].as_object().unwrap();
    for (function, route) in scim_lambda::api::routes::ROUTES {
        if *function == scim_lambda::function::Function::Management {
            assert!(paths.contains_key(*route), "{route} is not described");
        }
    }
    assert_eq!(paths.len(), 23);
    let ops: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(ops, 35);
}

#[tokio::test]
async fn the_api_serves_its_document() {
    let s = Scim::start().await;
    let r = s.manage("GET", "/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    assert_eq!(
        r.body,
        serde_json::from_str::<serde_json::Value>(scim_lambda::api::manage::OPENAPI).unwrap()
    );
}
