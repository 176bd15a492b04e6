//! The management API's answers as the console reads them. The console is a client of that API
//! (locally or in AWS), so it reads the JSON the API documents (docs/management-api.md) into
//! these lenient types rather than the service's own: a field the API adds later (a directory's
//! health) is kept in `extra` and shown, never an error. Where the service's type already reads
//! JSON (`ResourcePage`, `EventsPage`, `CreatedPortalLink`), the console uses it.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A directory as `GET /manage/directories` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Directory {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub linked_at: Option<String>,
    #[serde(default)]
    pub last_request_at: Option<String>,
    #[serde(default)]
    pub last_error: Option<LastError>,
    #[serde(default)]
    pub scim_v2_url: String,
    #[serde(default)]
    pub scim_v1_url: String,
    #[serde(default)]
    pub token_endpoint: String,
    #[serde(default)]
    pub provider: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LastError {
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// `GET /manage/directories/{id}`: the directory, its counts, and whatever else the API reports
/// (health: requests by status class, webhook lag, …) in `extra`.
#[derive(Debug, Clone, Deserialize)]
pub struct DirectoryDetail {
    #[serde(flatten)]
    pub directory: Directory,
    #[serde(default)]
    pub users: Option<u64>,
    #[serde(default)]
    pub groups: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DirectoryDetail {
    /// The fields beyond the ones every page already shows: the API's newer reports.
    pub fn reports(&self) -> Vec<(&str, &Value)> {
        const SHOWN: &[&str] = &["tokens", "auth_methods", "memberships"];
        self.extra
            .iter()
            .filter(|(k, v)| !SHOWN.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }
}

/// `POST /manage/directories`: the directory and its first token (shown once).
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedDirectory {
    #[serde(flatten)]
    pub directory: Directory,
    pub token: String,
    #[serde(default)]
    pub token_id: Option<String>,
}

/// A bearer token or an OAuth client as `GET …/tokens` and `GET …/clients` list them.
#[derive(Debug, Clone, Deserialize)]
pub struct Credential {
    #[serde(alias = "client_id")]
    pub token_id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at_millis: Option<i64>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default = "yes")]
    pub live: bool,
}

fn yes() -> bool {
    true
}

/// `POST …/tokens`: the token, shown once.
#[derive(Debug, Clone, Deserialize)]
pub struct IssuedToken {
    pub token_id: String,
    pub token: String,
}

/// `POST …/clients`: the client's secret, shown once.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub token_endpoint: String,
}

/// `GET …/webhook`.
#[derive(Debug, Clone, Deserialize)]
pub struct Webhook {
    pub url: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub previous_secret_expires_at: Option<String>,
    #[serde(default)]
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Delivery {
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_attempt_at: Option<String>,
    #[serde(default)]
    pub parked: Vec<Parked>,
    #[serde(default)]
    pub disabled: Option<String>,
    #[serde(default)]
    pub disabled_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Parked {
    pub sequence: u64,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub parked_at: String,
}

/// One request of the request log (`GET …/requests`), as the shared design names its fields.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestRecord {
    #[serde(default)]
    pub at: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub scim_type: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub idp: Option<String>,
    #[serde(default)]
    pub events: Vec<u64>,
    #[serde(default)]
    pub request_body: Option<String>,
    #[serde(default)]
    pub response_body: Option<String>,
}

/// A page of the request log: `{data, list_metadata: {after}}` like the users' pages, or
/// `{data, after}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestsPage {
    pub data: Vec<RequestRecord>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    list_metadata: Option<Cursor>,
}

#[derive(Debug, Clone, Deserialize)]
struct Cursor {
    #[serde(default)]
    after: Option<String>,
}

impl RequestsPage {
    pub fn next(&self) -> Option<&str> {
        self.list_metadata
            .as_ref()
            .and_then(|m| m.after.as_deref())
            .or(self.after.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_the_api_adds_later_are_kept_as_reports() {
        let d: DirectoryDetail = serde_json::from_value(json!({
            "id": "d1", "name": "Acme", "status": "linked", "provider": "okta",
            "users": 3, "groups": 1, "tokens": [], "auth_methods": {"bearer": true},
            "health": {"last_hour": {"c2xx": 5}}
        }))
        .unwrap();
        assert_eq!(
            (d.users, d.directory.provider.as_deref()),
            (Some(3), Some("okta"))
        );
        let reports: Vec<&str> = d.reports().iter().map(|(k, _)| *k).collect();
        assert_eq!(reports, ["health"]);
    }

    #[test]
    fn a_request_log_page_is_read_in_either_cursor_shape() {
        let a: RequestsPage = serde_json::from_value(json!({
            "data": [{"at": "2026-12-05T10:00:00.000Z", "method": "POST", "path": "/scim/v2/d/Users", "status": 409}],
            "list_metadata": {"after": "c1"}
        }))
        .unwrap();
        assert_eq!((a.data[0].status, a.next()), (409, Some("c1")));
        let b: RequestsPage = serde_json::from_value(json!({"data": [], "after": "c2"})).unwrap();
        assert_eq!(b.next(), Some("c2"));
    }
}
