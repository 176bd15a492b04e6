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
