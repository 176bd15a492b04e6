//! Test fixtures: each test gets its own embedded DynamoDB (dynoxide, in memory) behind the meter,
//! a fresh directory with its own token, and the real local server on an ephemeral port, so tests
//! speak HTTP exactly as an IdP does and can read what each request cost in DynamoDB calls.
//! `AWS_ENDPOINT_URL_DYNAMODB` set: the tests use that endpoint instead (DynamoDB Local, ...).
//! The server's request log is written as in `scim-local`, by an in-process pipeline, through a
//! meter of its own (`log_meter`): the app's meter sees exactly what the request path costs.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use scim_lambda::api::App;
use scim_lambda::local::embedded;
use scim_lambda::local::meter::{IdempotencyTokens, Meter};
use scim_lambda::management_key::ManagementKey;
use scim_lambda::service::request_log::Pipeline;
use scim_lambda::service::{directories, PublicUrl, Service};
use scim_lambda::store::{Store, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE};
use serde_json::Value;

/// A DynamoDB endpoint for one test: the store on it, and the meter every call passes through.
pub struct Local {
    pub store: Store,
    /// The metered endpoint (what `store` talks to); hand it to child processes.
    pub endpoint: String,
    pub meter: Arc<Meter>,
    /// The DynamoDB endpoint behind the meter.
    pub upstream: String,
}

pub async fn local() -> Local {
    let upstream = match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(e) if !e.is_empty() => e,
        _ => embedded::start(&embedded::Storage::Memory)
            .await
            .expect("embedded DynamoDB"),
    };
    let meter = Meter::start(&upstream, IdempotencyTokens::Forward)
        .await
        .expect("meter");
    let endpoint = meter.endpoint().to_string();
    let store = Store::local(&endpoint, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
    store.create_tables().await.expect("create tables");
    meter.take();
    Local {
        store,
        endpoint,
        meter,
        upstream,
    }
}

/// A store with both tables, on this test's own DynamoDB.
pub async fn store() -> Store {
    local().await.store
}

/// A running local server with one fresh directory.
pub struct Scim {
    pub app: Arc<App>,
    pub addr: std::net::SocketAddr,
    pub directory: String,
    pub token: String,
    /// What this server's printed URLs start with (`directories::create` and friends take it).
    pub base: PublicUrl,
    /// Every DynamoDB call of this test's server (see `cost`).
    pub meter: Arc<Meter>,
    /// The (metered) DynamoDB endpoint the store talks to.
    endpoint: String,
    /// What opens this server's `/manage/` routes (as scim-local prints it).
    pub management_key: ManagementKey,
    /// Every DynamoDB call of the request log's writer (off the request path).
    pub log_meter: Arc<Meter>,
}

pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Scim {
    pub async fn start() -> Scim {
        Scim::start_with_budget(scim_lambda::store::deadline::REQUEST_BUDGET).await
    }

    /// A server whose requests give up (503) after `budget` of store work.
    pub async fn start_with_budget(budget: std::time::Duration) -> Scim {
        let Local {
            store,
            meter,
            endpoint,
            upstream,
        } = local().await;
        let log_meter = Meter::start(&upstream, IdempotencyTokens::Forward)
            .await
            .expect("meter");
        let log_store = Store::local(log_meter.endpoint(), DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let public = format!("http://{addr}");
        let mut app = App::new(store.clone(), Some(public.clone()));
        app.budget = budget;
        // The tests' webhook receivers listen on 127.0.0.1, as on a developer's machine.
        app.webhook_urls = scim_lambda::service::webhooks::target::UrlPolicy::Local;
        // Written when a test flushes it (or 25 records wait), never on a timer: a write in the
        // middle of a measured request would blur the process-wide call counters it is checked
        // against (`cost.rs`).
        app.request_log = Some(Pipeline::start(
            Service::new(log_store),
            std::time::Duration::from_secs(24 * 3600),
        ));
        let app = Arc::new(app);
        let management_key = ManagementKey::generate();
        tokio::spawn(scim_lambda::local::serve(
            listener,
            Arc::clone(&app),
            Some(management_key.clone()),
        ));
        let base = PublicUrl::new(&public);
        let created = directories::create(&app.service, &base, "test", None, None)
            .await
            .unwrap();
        Scim {
            app,
            addr,
            directory: created.directory.id,
            token: created.token,
            base,
            meter,
            endpoint,
            management_key,
            log_meter,
        }
    }

    /// Waits until every request answered so far is in the request log.
    pub async fn flush_log(&self) {
        if let Some(p) = &self.app.request_log {
            p.flush().await;
        }
    }

    /// The service the server runs: the management use cases are its functions.
    pub fn svc(&self) -> &Service {
        &self.app.service
    }

    /// Deletes the directory here and now, as `scimctl directory delete` does (no token grace:
    /// the test's server is the only one using the table).
    pub async fn delete_directory(
        &self,
    ) -> Result<directories::DirectoryDeleted, scim_lambda::service::ManagementError> {
        directories::delete_now(self.svc(), &self.directory, std::time::Duration::ZERO).await
    }

    /// The DynamoDB endpoint this test's store talks to (through the meter).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// `/scim/v2/{directory}` + `path`.
    pub fn v2(&self, path: &str) -> String {
        format!("/scim/v2/{}{path}", self.directory)
    }

    pub fn v1(&self, path: &str) -> String {
        format!("/scim/v1/{}{path}", self.directory)
    }

    /// Sends a request with this directory's token to an absolute path.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let token = self.token.clone();
        self.raw(
            method,
            path,
            body.map(|b| b.to_string()),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", &self.v2(path), None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", &self.v2(path), Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send("PUT", &self.v2(path), Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send("PATCH", &self.v2(path), Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", &self.v2(path), None).await
    }

    /// A management API request as the application sends it locally: `/manage` + `path`, with
    /// the management key and a JSON body.
    pub async fn manage(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let key = format!("Bearer {}", self.management_key.as_str());
        self.raw(
            method,
            &format!("/manage{path}"),
            body.map(|b| b.to_string()),
            &[
                ("authorization", &key),
                ("content-type", "application/json"),
            ],
        )
        .await
    }

    /// Any request: raw body text and explicit headers (no token added).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Reply {
        http(self.addr, method, path, body, headers).await
    }

    /// An UpdateItem of this directory's item `sk`, behind the write paths' back: the state a bug,
    /// a cut write or an older version would leave.
    pub fn update_item(
        &self,
        sk: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        use aws_sdk_dynamodb::types::AttributeValue;
        let store = self.app.store();
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key(
                "pk",
                AttributeValue::S(scim_lambda::store::keys::directory_pk(&self.directory)),
            )
            .key("sk", AttributeValue::S(sk.into()))
    }

    /// What `scimctl directory check` finds in this test's directory (no repair).
    pub async fn check(&self) -> scim_lambda::store::check::Report {
        self.app
            .store()
            .check_directory(&self.directory, false)
            .await
            .expect("check")
    }

    /// Makes every open event block look two minutes old, as if its writer died that long ago
    /// (readers then pass it). Returns how many there were.
    pub async fn age_event_blocks(&self) -> usize {
        use aws_sdk_dynamodb::types::AttributeValue;
        let store = self.app.store();
        let pk = format!("DIR#{}", self.directory);
        let blocks = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :b)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":b", AttributeValue::S("EVX#BLOCK#".into()))
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        for b in &blocks {
            self.update_item(b["sk"].as_s().unwrap())
                .update_expression("SET since_ms = :old")
                .expression_attribute_values(":old", AttributeValue::N("0".into()))
                .send()
                .await
                .unwrap();
        }
        blocks.len()
    }

    /// Creates a user and returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let r = self
            .post(
                "/Users",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name,
                    "name": {"givenName": "Test", "familyName": "User"},
                    "emails": [{"value": user_name, "type": "work", "primary": true}],
                    "active": true
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// A user's `groups` attribute as GET /Users/{id} shows it (`Null` when absent).
    pub async fn groups_of(&self, user: &str) -> Value {
        let r = self.get(&format!("/Users/{user}")).await;
        r.body.get("groups").cloned().unwrap_or(Value::Null)
    }

    /// Creates a group with members and returns its id.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let r = self
            .post(
                "/Groups",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": name,
                    "members": members
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }
}

/// One HTTP/1.1 request to `addr` with `headers` (a SCIM content type and `addr` as the host
/// unless they name them).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder().method(method).uri(path);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header("host", addr.to_string());
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/scim+json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A PATCH adding one member to a group.
pub fn add_member(id: &str) -> Value {
    serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
}

/// `directory check` finds nothing wrong in the test's directory.
pub async fn assert_clean(scim: &Scim) {
    let report = scim.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
