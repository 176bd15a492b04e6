//! The request log as it runs in AWS: the SCIM and token functions print one record line per
//! request, the template's subscription filter passes exactly those lines on, and the
//! request-log function (`workers::record_logs`) stores what a CloudWatch Logs payload carries —
//! built here as CloudWatch Logs builds it (the log data's JSON, gzip, base64 in `awslogs.data`).
//! The lines are the ones the handlers really printed, captured from the telemetry layer.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_lambda_events::cloudwatch_logs::LogsEvent;
use base64::Engine;
use lambda_http::{Body, Request};
use scim_lambda::api::App;
use scim_lambda::function::Function;
use scim_lambda::workers::{record_logs, records::DATA_MESSAGE};
use serde_json::{json, Value};

use crate::support::Scim;

/// A CloudWatch Logs subscription payload for `lines` of `log_group`, as Lambda receives it:
/// `{"awslogs": {"data": base64(gzip(log data JSON))}}` ("Using CloudWatch Logs subscription
/// filters", CloudWatch Logs user guide), read by the same deserializer the runtime uses.
pub fn subscription_payload(message_type: &str, log_group: &str, lines: &[String]) -> LogsEvent {
    let now = scim_lambda::clock::now_millis();
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| json!({"id": format!("3800000000000000000000000000000000000000000000000{i:06}"), "timestamp": now, "message": line}))
        .collect();
    let data = json!({
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "2026/12/04/[$LATEST]0123456789abcdef0123456789abcdef",
        "subscriptionFilters": ["RequestLogSubscription"],
        "logEvents": events,
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    // From text, as the runtime reads the invocation's body (the crate's `awslogs` reader
    // borrows its keys from the input).
    serde_json::from_str(&json!({"awslogs": {"data": encoded}}).to_string()).unwrap()
}

/// What the telemetry layer printed, line by line.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Starts capturing this process's log lines.
    pub fn install() -> Captured {
        let captured = Captured::default();
        let writer = captured.clone();
        scim_lambda::telemetry::init_with_writer(move || writer.clone());
        captured
    }

    /// The lines printed since `from` bytes, and where they end.
    pub fn lines_since(&self, from: usize) -> (Vec<String>, usize) {
        let bytes = self.0.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&bytes[from..]).to_string();
        (text.lines().map(str::to_string).collect(), bytes.len())
    }
}

/// Whether the template's subscription filter pattern passes a line: CloudWatch Logs reads the
/// line as JSON and compares the selected field.
fn passes_filter(line: &str) -> bool {
    let t = crate::template::load();
    let pattern = t["Resources"]["UsersRequestLogSubscription"]["Properties"]["FilterPattern"]
        .as_str()
        .unwrap()
        .to_string();
    let (field, value) = crate::template::json_equality_pattern(&pattern);
    serde_json::from_str::<Value>(line).is_ok_and(|v| v[field.as_str()] == value.as_str())
}

/// A request as API Gateway hands it to a function.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.map(Body::Text).unwrap_or(Body::Empty)).unwrap()
}

const WRONG_TOKEN: &str =
    "scim_sk_00000000000000000000000000000000000000000000000000000000deadbeef";

/// The Okta side of a small provisioning run, each request served by the function API Gateway
/// routes it to, in a process with no in-process pipeline (as in Lambda): what each function
/// printed, by its log group.
async fn served_by_the_functions(s: &Scim, captured: &Captured) -> Vec<(Function, Vec<String>)> {
    let lambda = App::new(s.app.store().clone(), None);
    assert!(lambda.request_log.is_none());
    let bearer = format!("Bearer {}", s.token);
    let okta = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/scim+json"),
        ("user-agent", "Okta SCIM Client 1.0.0"),
    ];
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com", "password": "Tr0ub4dor&3"})
    .to_string();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering"})
    .to_string();
    let wrong = format!("Bearer {WRONG_TOKEN}");
    let steps: Vec<(Function, Request, u16)> = vec![
        (
            Function::Discovery,
            request("GET", &s.v2("/ServiceProviderConfig"), &okta, None),
            200,
        ),
        (
            Function::Users,
            request("POST", &s.v2("/Users"), &okta, Some(user.clone())),
            201,
        ),
        (
            Function::Users,
            request("POST", &s.v2("/Users"), &okta, Some(user)),
            409,
        ),
        (
            Function::Users,
            request(
                "GET",
                &s.v2("/Users/0190a0b0-0000-7000-8000-000000000000"),
                &okta,
                None,
            ),
            404,
        ),
        (
            Function::Users,
            request(
                "GET",
                &s.v2("/Users"),
                &[
                    ("authorization", &wrong),
                    ("user-agent", "Okta SCIM Client 1.0.0"),
                ],
                None,
            ),
            401,
        ),
        (
            Function::Groups,
            request("POST", &s.v2("/Groups"), &okta, Some(group)),
            201,
        ),
        (
            Function::Token,
            request(
                "POST",
                &format!("/oauth2/{}/token", s.directory),
                &[("content-type", "application/x-www-form-urlencoded")],
                Some("grant_type=client_credentials&client_id=nobody&client_secret=guess".into()),
            ),
            401,
        ),
    ];
    let mut printed: Vec<(Function, Vec<String>)> = Vec::new();
    let (_, mut at) = captured.lines_since(0);
    for (function, req, status) in steps {
        let resp = scim_lambda::api::handle(&lambda, function, req).await;
        assert_eq!(resp.status().as_u16(), status, "{function:?}");
        let (lines, end) = captured.lines_since(at);
        at = end;
        match printed.iter_mut().find(|(f, _)| *f == function) {
            Some((_, group)) => group.extend(lines),
            None => printed.push((function, lines)),
        }
    }
    printed
}

#[tokio::test]
async fn a_subscription_payload_of_the_lines_the_functions_printed_is_the_request_log() {
    let captured = Captured::install();
    let s = Scim::start().await;
    let printed = served_by_the_functions(&s, &captured).await;

    // The template's filter passes the record lines and nothing else a function printed.
    let mut payloads = Vec::new();
    let mut records = 0;
    for (function, lines) in &printed {
        let (passed, held): (Vec<String>, Vec<String>) =
            lines.iter().cloned().partition(|l| passes_filter(l));
        assert!(!passed.is_empty(), "{function:?} printed no record line");
        assert!(
            held.iter().any(|l| l.contains("\"message\":\"request\""))
                || *function == Function::Token,
            "{function:?}: {held:?}"
        );
        assert!(
            held.iter()
                .all(|l| scim_lambda::request_log::RequestRecord::from_log_line(l).is_none()),
            "a record line the filter would not pass: {held:?}"
        );
        records += passed.len();
        let group = format!("/aws/lambda/{}", function.logical_id());
        payloads.push(subscription_payload(DATA_MESSAGE, &group, &passed));
    }
    assert_eq!(records, 7, "one record line per request");
    let text: String = printed
        .iter()
        .flat_map(|(_, l)| l.iter())
        .cloned()
        .collect();
    for secret in [
        "Tr0ub4dor&3",
        s.token.as_str(),
        WRONG_TOKEN,
        "client_secret=guess",
    ] {
        assert!(!text.contains(secret), "{secret} was printed");
    }

    // CloudWatch Logs checks the destination with a control message: nothing to store.
    let control = subscription_payload(
        "CONTROL_MESSAGE",
        "/aws/lambda/UsersFunction",
        &["CWL CONTROL MESSAGE: Checking health of destination Lambda.".to_string()],
    );
    let done = record_logs(s.svc(), &control).await.unwrap();
    assert_eq!((done.stored, done.dropped), (0, 0));

    // A line cut short (or any line that is no record) is skipped; the rest of its payload is
    // stored.
    let cut = {
        let line = &printed[1].1.iter().find(|l| passes_filter(l)).unwrap();
        line[..line.len() / 2].to_string()
    };
    let mut stored = 0;
    for p in &payloads {
        stored += record_logs(s.svc(), p).await.unwrap().stored;
    }
    let with_cut = subscription_payload(DATA_MESSAGE, "/aws/lambda/UsersFunction", &[cut]);
    assert_eq!(record_logs(s.svc(), &with_cut).await.unwrap().stored, 0);
    assert_eq!(stored, 7);
    // Lambda retries a failed payload whole: its records are stored once.
    record_logs(s.svc(), &payloads[1]).await.unwrap();

    let page = s
        .manage(
            "GET",
            &format!("/directories/{}/requests?limit=100", s.directory),
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let log = page.body["data"].as_array().unwrap();
    let mut statuses: Vec<u64> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 201, 201, 401, 401, 404, 409],
        "{}",
        page.body
    );
    let token_failure = log
        .iter()
        .find(|r| r["path"].as_str().unwrap().starts_with("/oauth2/"))
        .expect("the refused token request");
    assert_eq!(token_failure["status"], 401);
    assert!(token_failure["request_body"]
        .as_str()
        .unwrap()
        .contains("client_secret=[redacted]"));
    let created = log
        .iter()
        .find(|r| r["status"] == 201 && r["resource"] == "Users")
        .unwrap();
    assert_eq!(created["idp"], "Okta");
    assert!(!created["events"].as_array().unwrap().is_empty());
    assert!(created["request_body"]
        .as_str()
        .unwrap()
        .contains(r#""password":"[redacted]""#));
}
