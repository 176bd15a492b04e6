//! What the benchmarks that play an IdP share (`bench.rs`, `throughput.rs`): the local stack in
//! this process — the embedded DynamoDB, the meter in front of it, the real HTTP server — and an
//! IdP's client for one directory, speaking HTTP to that server with the directory's token, so a
//! measurement crosses the handler path an IdP's request crosses.

// Each example uses the part it needs.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use scim_lambda::api::App;
use scim_lambda::local::embedded;
use scim_lambda::local::meter::{DynamoModel, IdempotencyTokens, Meter};
use scim_lambda::service::{directories, PublicUrl};
use scim_lambda::store::{Store, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE};
use serde_json::{json, Value};

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The emulator, the meter, the app and its server, all in this process.
pub struct Stack {
    pub app: Arc<App>,
    pub meter: Arc<Meter>,
    public: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Stack {
    /// Starts the stack on `storage`, with DynamoDB's `model` in the meter if given.
    pub async fn start(
        storage: &embedded::Storage,
        model: Option<DynamoModel>,
    ) -> Result<Stack, Error> {
        let endpoint = embedded::start(storage).await?;
        // See IdempotencyTokens::Drop: an emulator cost that DynamoDB does not have.
        let mut meter = Meter::builder(&endpoint).tokens(IdempotencyTokens::Drop);
        if let Some(model) = model {
            meter = meter.model(model);
        }
        let meter = meter.start().await?;
        let store = Store::local(meter.endpoint(), DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
        store.create_tables().await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let public = format!("http://{}", listener.local_addr()?);
        let app = Arc::new(App::new(store, Some(public.clone())));
        tokio::spawn(scim_lambda::local::serve(listener, Arc::clone(&app), None));
        Ok(Stack {
            app,
            meter,
            public,
            http: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build_http(),
        })
    }

    /// Creates a directory; returns its id and an IdP's client for it.
    pub async fn directory(&self, name: &str) -> Result<(String, Idp), Error> {
        let d = directories::create(
            &self.app.service,
            &PublicUrl::new(&self.public),
            name,
            None,
            None,
        )
        .await?;
        let idp = Idp {
            http: self.http.clone(),
            base: d.directory.scim_v2_url.clone(),
            token: d.token.clone(),
        };
        Ok((d.directory.id, idp))
    }
}

/// An IdP's view: HTTP to the local server with the directory's token.
#[derive(Clone)]
pub struct Idp {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: String,
}

impl Idp {
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(Full::new(Bytes::from(
                body.map(Value::to_string).unwrap_or_default(),
            )))
            .expect("request");
        let resp = self.http.request(req).await.expect("local server answers");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn expect(&self, method: &str, path: &str, body: Option<&Value>, want: u16) -> Value {
        let (status, v) = self.send(method, path, body).await;
        assert_eq!(status, want, "{method} {path}: {v}");
        v
    }
}

pub fn user_name(i: usize) -> String {
    format!("user{i:06}@example.com")
}

pub fn filter_user_name(name: &str) -> String {
    format!("/Users?filter=userName%20eq%20%22{name}%22")
}

/// What Okta sends to create a user (core + enterprise), per its SCIM 2.0 reference.
pub fn okta_user(name: &str, i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": name,
        "externalId": format!("00u{i:017}"),
        "name": {"givenName": "Given", "familyName": format!("Family{i}")},
        "displayName": format!("Given Family{i}"),
        "emails": [{"primary": true, "value": name, "type": "work"}],
        "title": "Engineer",
        "locale": "en-US",
        "active": true,
        "password": "not-stored-1A!",
        "groups": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i}"),
            "department": "Engineering",
            "costCenter": "CC-42",
            "organization": "Example",
            "division": "R&D"
        }
    })
}

/// A group as an IdP pushes it, without members.
pub fn group(display_name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": display_name})
}

/// Okta's PATCH adding `members` to a group.
pub fn add_members<S: AsRef<str>>(members: &[S]) -> Value {
    let value: Vec<Value> = members
        .iter()
        .map(|u| json!({"value": u.as_ref()}))
        .collect();
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": value}]})
}

/// Okta's deactivation (SCIM 2.0 reference: PATCH replace with a path-less value).
pub fn deactivate() -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]})
}

/// A PATCH replacing `name.familyName`.
pub fn rename(family_name: &str) -> Value {
    json!({"schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "name.familyName", "value": family_name}]})
}

/// Nearest-rank percentile `p` (0..=1) of `values`; 0 when there are none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}
