//! One structured log line per request, with what an operator needs and nothing secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::Scim;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_logs_are_json_with_context_and_no_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    scim_lambda::telemetry::init_with_writer(move || writer.clone());
    let s = Scim::start().await;
    let token = format!("Bearer {}", s.token);
    let r = s
        .raw(
            "POST",
            &s.v2("/Users?filter=x"),
            Some(json!({"userName": "log@example.com", "password": "Hunter2-secret"}).to_string()),
            &[
                ("authorization", &token),
                ("user-agent", "Okta SCIM Client 1.0.0"),
            ],
        )
        .await;
    assert_eq!(r.status, 201);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "request")
        .expect("a request log line");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["status"], 201);
    assert_eq!(line["directory"], s.directory.as_str());
    assert_eq!(line["user_agent"], "Okta SCIM Client 1.0.0");
    assert!(line["latency_ms"].is_u64());
    assert!(line["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(line["path"], s.v2("/Users").as_str());
    for secret in [&s.token[..], "Hunter2-secret", "log@example.com"] {
        assert!(!text.contains(secret), "log output contains {secret}");
    }
}

/// What a log line says about a failure: the error and every cause under it.
fn logged_error(captured: &Captured, message: &str) -> String {
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == message)
        .and_then(|l| l["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no {message:?} line in {text}"))
}

/// A user item damaged behind the endpoint's back: the IdP gets the generic 500, the operator's
/// log names the item and what is wrong with it, down to serde's own message.
#[tokio::test]
async fn a_corrupt_item_is_logged_with_its_key_and_answered_generically() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use scim_lambda::scim::schema::ResourceKind;
    use scim_lambda::store::keys;
    let captured = Captured::default();
    let writer = captured.clone();
    scim_lambda::telemetry::init_with_writer(move || writer.clone());
    let s = Scim::start().await;
    let id = s.user("broken@example.com").await;
    let store = s.app.store();
    let (pk, sk) = (
        keys::directory_pk(&s.directory),
        keys::resource_sk(ResourceKind::User, &id),
    );
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key(keys::PK, AttributeValue::S(pk.clone()))
        .key(keys::SK, AttributeValue::S(sk.clone()))
        .update_expression("SET body = :b")
        .expression_attribute_values(":b", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();

    let r = s.get(&format!("/Users/{id}")).await;

    assert_eq!(r.status, 500);
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(
        !detail.contains("corrupt") && !detail.contains(&pk),
        "{detail}"
    );
    let error = logged_error(&captured, "store failure");
    assert!(
        error.starts_with(&format!(
            "corrupt item {} (pk {pk}, sk {sk}): a body that is not a JSON object: key must be a string",
            store.table()
        )),
        "{error}"
    );
}

/// An SDK call's failure names its operation and keeps DynamoDB's own answer as its cause.
#[tokio::test]
async fn an_sdk_failure_shows_its_operation_and_dynamodbs_message() {
    use scim_lambda::scim::schema::ResourceKind;
    use scim_lambda::store::Store;
    let store = crate::support::store().await;
    let missing = Store::new(
        store.client().clone(),
        "no-such-table",
        store.tokens_table(),
    );

    let e = missing
        .get(
            "d1",
            ResourceKind::User,
            "0190a0b0-0000-7000-8000-000000000000",
        )
        .await
        .unwrap_err();

    assert!(!e.is_unavailable());
    let chain = scim_lambda::telemetry::chain(&e).to_string();
    assert!(
        chain.starts_with("DynamoDB GetItem failed: service error: ResourceNotFoundException"),
        "{chain}"
    );
}
