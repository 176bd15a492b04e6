//! The SCIM request log's record: what one request to a directory's URLs was and what it was
//! answered, as a pure value (no I/O). The HTTP edge builds one per request (`api::handle_scim`,
//! and `api::oauth` for token-endpoint failures) and emits it as one structured log line
//! ([`LOG_TARGET`]); the writer (`service::request_log`) stores it off the request path — fed by a
//! CloudWatch Logs subscription in AWS ([`RequestRecord::from_log_line`]), by an in-process
//! channel locally. See docs/request-log.md.
//!
//! Everything here is bounded, so a stored record stays far under DynamoDB's 400 KB item limit:
//! each body at most [`BODY_CAP`] bytes (then the marker `…[truncated N bytes]`), path, query,
//! detail and user agent at most [`FIELD_CAP`]. Bodies and the query are redacted
//! ([`redact`]) before they are capped, so a cut never leaves half a secret visible.

pub mod redact;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use redact::{Redacted, REDACTED};

/// The `tracing` target, and the message, of the one log line that carries a record: what the
/// CloudWatch Logs subscription filter matches.
pub const LOG_TARGET: &str = "scim_request_log";

/// Most bytes of a request or response body a record keeps.
pub const BODY_CAP: usize = 16_384;
/// Most bytes of the path, the query, the detail and the user agent.
pub const FIELD_CAP: usize = 2_048;

/// One SCIM request (or token-endpoint failure) of a directory, as the request log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RequestRecord {
    pub directory_id: String,
    /// When the request arrived (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The request id (API Gateway's, else `x-request-id`, else a fresh UUIDv7).
    pub id: String,
    pub method: String,
    pub path: String,
    /// The query string, decoded and redacted (`filter=userName eq "ada@example.com"`).
    pub query: Option<String>,
    pub status: u16,
    /// The SCIM error's `scimType` (RFC 7644 §3.12), if it had one.
    pub scim_type: Option<String>,
    /// The error's `detail` (SCIM 1.1: its `description`; token endpoint: `error: description`).
    pub detail: Option<String>,
    pub latency_ms: u64,
    pub user_agent: String,
    /// The identity provider its user agent names, if any ([`guess_idp`]).
    pub idp: Option<String>,
    /// Sequence numbers of the events the request committed (the Events API's), ascending.
    pub events: Vec<u64>,
    /// Redacted and capped at [`BODY_CAP`].
    pub request_body: Option<String>,
    /// Redacted and capped at [`BODY_CAP`].
    pub response_body: Option<String>,
    pub resource: Resource,
    /// The resource's id when the path names one (`/Users/{id}`).
    pub resource_id: Option<String>,
}

/// What a request was about (the log's `resource` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub enum Resource {
    Users,
    Groups,
    /// Discovery, `/.search` at the root, the token endpoint, an unknown path.
    #[serde(rename = "other")]
    Other,
}

impl Resource {
    /// The resource of the first path segment after the directory (`Users`, `Groups`).
    pub fn of_endpoint(segment: Option<&str>) -> Resource {
        match segment {
            Some("Users") => Resource::Users,
            Some("Groups") => Resource::Groups,
            _ => Resource::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Users => "Users",
            Resource::Groups => "Groups",
            Resource::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Resource> {
        [Resource::Users, Resource::Groups, Resource::Other]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
    }
}

/// A class of answers: what the log's `status` filter and the hourly counters count by. A
/// redirect-class answer (a 304 to `If-None-Match`) counts as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub enum StatusClass {
    #[serde(rename = "2xx")]
    Success,
    #[serde(rename = "4xx")]
    ClientError,
    #[serde(rename = "5xx")]
    ServerError,
}

impl StatusClass {
    pub fn of(status: u16) -> StatusClass {
        match status {
            500.. => StatusClass::ServerError,
            400.. => StatusClass::ClientError,
            _ => StatusClass::Success,
        }
    }

    /// The statuses of the class, inclusive.
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusClass::Success => (0, 399),
            StatusClass::ClientError => (400, 499),
            StatusClass::ServerError => (500, 999),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
        }
    }

    pub fn from_name(name: &str) -> Option<StatusClass> {
        [
            StatusClass::Success,
            StatusClass::ClientError,
            StatusClass::ServerError,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

/// Which records a read wants (`GET …/requests?status=&method=&resource=&resource_id=&since=&until=`).
/// Empty: all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RequestFilter {
    /// Any of these classes (none named: every status).
    pub statuses: Vec<StatusClass>,
    /// `GET`, `POST`, ... (upper case).
    pub method: Option<String>,
    pub resource: Option<Resource>,
    pub resource_id: Option<String>,
    /// From this time on (milliseconds since the epoch, inclusive).
    pub since: Option<i64>,
    /// Up to this time (inclusive).
    pub until: Option<i64>,
}

impl RequestRecord {
    /// When it arrived, in milliseconds since the epoch (0 for a record from elsewhere whose
    /// `at` does not parse: it sorts first and expires first).
    pub fn at_millis(&self) -> i64 {
        crate::clock::parse_rfc3339(&self.at).unwrap_or(0)
    }

    /// The record a log line carries, if it is one: the JSON line the telemetry layer prints
    /// (its `record` field holds the record's JSON), with anything a log pipeline put in front
    /// of it (a timestamp, a request id) skipped. What the CloudWatch-fed writer calls per log
    /// event.
    pub fn from_log_line(line: &str) -> Option<RequestRecord> {
        let start = line.find('{')?;
        let v: Value = serde_json::from_str(line[start..].trim_end()).ok()?;
        if v["message"] != LOG_TARGET {
            return None;
        }
        match &v["record"] {
            Value::String(text) => serde_json::from_str(text).ok(),
            obj @ Value::Object(_) => serde_json::from_value(obj.clone()).ok(),
            _ => None,
        }
    }

    /// Caps every free-text field (path, query, detail, user agent; bodies are capped as they
    /// are rendered), so the record's size is bounded whatever the client sent.
    pub fn bounded(mut self) -> RequestRecord {
        self.path = cap(&self.path, FIELD_CAP);
        self.user_agent = cap(&self.user_agent, FIELD_CAP);
        self.query = self.query.map(|q| cap(&q, FIELD_CAP));
        self.detail = self.detail.map(|d| cap(&d, FIELD_CAP));
        self.resource_id = self.resource_id.map(|r| cap(&r, FIELD_CAP));
        self
    }
}

/// `text`, or its first bytes (on a character boundary) and `…[truncated N bytes]`.
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated {} bytes]", &text[..end], text.len() - end)
}

/// A request body as the log keeps it: JSON redacted by key and shape, a form body pair by pair,
/// anything else only when it names no secret; then capped. `None` for an empty body.
pub fn request_body(body: &[u8], content_type: Option<&str>) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let form = content_type.is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let text = String::from_utf8_lossy(body);
    if form {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        return Some(cap(&redact::redact_pairs(&pairs), BODY_CAP));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Some(json_body(&v)),
        Err(_) => Some(cap(&redact::redact_text(&text), BODY_CAP)),
    }
}

/// A JSON body (a request's, or the answer's) redacted and capped, without copying the value.
pub fn json_body(v: &Value) -> String {
    let mut w = CappedWriter::new(BODY_CAP);
    // Writing to memory cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut w, &Redacted::new(v));
    w.finish()
}

/// A query string (raw, as it arrived) decoded and redacted; `None` when there is none.
pub fn query(raw: Option<&str>) -> Option<String> {
    let raw = raw.filter(|q| !q.is_empty())?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    Some(cap(&redact::redact_pairs(&pairs), FIELD_CAP))
}

/// Keeps the first `max` bytes written and counts the rest.
struct CappedWriter {
    kept: Vec<u8>,
    max: usize,
    dropped: usize,
}

impl CappedWriter {
    fn new(max: usize) -> Self {
        CappedWriter {
            kept: Vec::new(),
            max,
            dropped: 0,
        }
    }

    fn finish(self) -> String {
        let text = String::from_utf8_lossy(&self.kept);
        // A cut inside a multi-byte character shows as U+FFFD; drop it rather than show it.
        let text = text.trim_end_matches('\u{fffd}');
        if self.dropped == 0 {
            text.to_string()
        } else {
            let dropped = self.dropped + (self.kept.len() - text.len());
            format!("{text}…[truncated {dropped} bytes]")
        }
    }
}

impl std::io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.max - self.kept.len();
        let take = room.min(buf.len());
        self.kept.extend_from_slice(&buf[..take]);
        self.dropped += buf.len() - take;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The identity provider a user agent names, by the strings each sends (Okta's "Okta SCIM
/// Client", Entra's "Azure AD SCIM" / "Microsoft Entra" (its Postman validator sends neither),
/// PingFederate's and PingOne's "Ping", OneLogin's, JumpCloud's); `None` for anything else. The
/// directory's chosen provider is shown beside it when the log is read.
pub fn guess_idp(user_agent: &str) -> Option<String> {
    let ua = user_agent.to_ascii_lowercase();
    let name = if ua.contains("okta") {
        "Okta"
    } else if ua.contains("azure ad scim") || ua.contains("microsoft entra") || ua.contains("azure")
    {
        "Microsoft Entra ID"
    } else if ua.contains("pingfederate") {
        "PingFederate"
    } else if ua.contains("pingone") || ua.contains("ping identity") || ua.contains("ping ") {
        "Ping"
    } else if ua.contains("onelogin") {
        "OneLogin"
    } else if ua.contains("jumpcloud") {
        "JumpCloud"
    } else {
        return None;
    };
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> RequestRecord {
        RequestRecord {
            directory_id: "d1".into(),
            at: "2026-12-04T10:00:00.123Z".into(),
            id: "r1".into(),
            method: "POST".into(),
            path: "/scim/v2/d1/Users".into(),
            query: None,
            status: 201,
            scim_type: None,
            detail: None,
            latency_ms: 12,
            user_agent: "Okta SCIM Client 1.0.0".into(),
            idp: Some("Okta".into()),
            events: vec![3],
            request_body: Some("{}".into()),
            response_body: None,
            resource: Resource::Users,
            resource_id: None,
        }
    }

    #[test]
    fn a_body_over_the_cap_keeps_its_first_bytes_and_says_how_many_went() {
        let big = json!({"userName": "a".repeat(40_000)});
        let shown = json_body(&big);
        let total = big.to_string().len();
        assert!(shown.starts_with("{\"userName\":\"aaa"));
        assert!(
            shown.ends_with(&format!("…[truncated {} bytes]", total - BODY_CAP)),
            "{}",
            &shown[shown.len() - 40..]
        );
        assert_eq!(shown.find('…'), Some(BODY_CAP));
        let small = json!({"userName": "a"});
        assert_eq!(json_body(&small), small.to_string());
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let text = "é".repeat(10);
        let shown = cap(&text, 5);
        assert_eq!(shown, "éé…[truncated 16 bytes]");
        let v = json!("é".repeat(BODY_CAP));
        assert!(!json_body(&v).contains('\u{fffd}'));
    }

    #[test]
    fn request_bodies_are_redacted_by_their_kind() {
        let json = br#"{"userName":"a","password":"Secr3t!"}"#;
        assert_eq!(
            request_body(json, Some("application/scim+json")).as_deref(),
            Some(r#"{"userName":"a","password":"[redacted]"}"#)
        );
        let form = b"grant_type=client_credentials&client_id=c1&client_secret=s%2B1";
        let shown = request_body(form, Some("application/x-www-form-urlencoded")).unwrap();
        assert_eq!(
            shown,
            "grant_type=client_credentials&client_id=c1&client_secret=[redacted]"
        );
        assert_eq!(request_body(b"  ", None), None);
    }

    #[test]
    fn a_query_is_decoded_and_its_tokens_hidden() {
        assert_eq!(
            query(Some("filter=userName%20eq%20%22a%22&token=abc")).as_deref(),
            Some("filter=userName eq \"a\"&token=[redacted]")
        );
        assert_eq!(query(Some("")), None);
        assert_eq!(query(None), None);
    }

    #[test]
    fn the_idp_is_guessed_from_what_each_sends() {
        for (ua, idp) in [
            ("Okta SCIM Client 1.0.0", Some("Okta")),
            ("OKTA SCIM Integration", Some("Okta")),
            ("Azure AD SCIM Validator", Some("Microsoft Entra ID")),
            ("Microsoft Entra provisioning", Some("Microsoft Entra ID")),
            ("PingFederate/11.3", Some("PingFederate")),
            ("PingOne SCIM", Some("Ping")),
            ("OneLogin SCIM", Some("OneLogin")),
            ("JumpCloud SCIM Client", Some("JumpCloud")),
            ("curl/8.5.0", None),
            ("", None),
        ] {
            assert_eq!(guess_idp(ua).as_deref(), idp, "{ua}");
        }
    }

    #[test]
    fn a_record_reads_back_from_its_log_line() {
        let r = record();
        assert_eq!(r.at_millis(), 1_796_378_400_123);
        let line = json!({
            "timestamp": "2026-12-04T10:00:00.200Z",
            "level": "INFO",
            "record": serde_json::to_string(&r).unwrap(),
            "message": LOG_TARGET,
        })
        .to_string();
        assert_eq!(RequestRecord::from_log_line(&line), Some(r.clone()));
        let prefixed = format!("2026-12-04T10:00:00.200Z\tabc-123\tINFO\t{line}\n");
        assert_eq!(RequestRecord::from_log_line(&prefixed), Some(r));
        let other = json!({"message": "request", "record": "{}"}).to_string();
        assert_eq!(RequestRecord::from_log_line(&other), None);
    }

    #[test]
    fn free_text_fields_are_bounded() {
        let mut r = record();
        r.path = "/x".repeat(5_000);
        r.detail = Some("d".repeat(5_000));
        let r = r.bounded();
        assert!(r.path.len() < FIELD_CAP + 40);
        assert!(r.detail.unwrap().contains("…[truncated"));
    }

    #[test]
    fn status_classes_cover_every_status() {
        assert_eq!(StatusClass::of(200), StatusClass::Success);
        assert_eq!(StatusClass::of(304), StatusClass::Success);
        assert_eq!(StatusClass::of(409), StatusClass::ClientError);
        assert_eq!(StatusClass::of(503), StatusClass::ServerError);
        assert_eq!(
            StatusClass::from_name("4XX"),
            Some(StatusClass::ClientError)
        );
        assert_eq!(Resource::from_name("users"), Some(Resource::Users));
        assert_eq!(
            serde_json::to_value(Resource::Other).unwrap(),
            json!("other")
        );
    }
}
