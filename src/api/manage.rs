//! The management API for the application that deploys this stack: its own admin screens create
//! directories and their credentials, read normalised users and groups, read the Events API and
//! register webhooks. Routes live under `/manage/`, behind API Gateway's `AWS_IAM` authorizer
//! (SigV4; see template.yaml): a SCIM token never opens them, and this handler never reads one.
//! The local server serves them too, on loopback only, without IAM but with its management key
//! and its checks against tunnels, CSRF and DNS rebinding (`local/server.rs`). The work is `Admin`'s,
//! the same library code `scimctl` runs.
//!
//! Answers are JSON; errors are `{"error": code, "message": text}` with 400, 404, 409 or 503.

use std::time::Instant;

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

use super::request::{percent_decode, query_pairs};
use super::App;
use crate::admin::{Admin, AdminError};
use crate::scim::schema::ResourceKind;
use crate::store::deadline;
use crate::store::directories::AuthMethods;

/// Most items one page of users, groups or events returns.
pub const MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 10;

pub struct Failure {
    status: u16,
    code: &'static str,
    message: String,
}

fn fail(status: u16, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NoDirectory(_) | AdminError::NoToken(..) | AdminError::NoClient(..) => {
                fail(404, "not_found", e.to_string())
            }
            AdminError::TooManyTokens(_)
            | AdminError::TooManyClients(_)
            | AdminError::MethodOff(..) => fail(409, "conflict", e.to_string()),
            AdminError::BadRequest(m) => fail(400, "invalid_request", m),
            AdminError::Scim(s) if s.status == 503 => fail(503, "unavailable", s.detail),
            AdminError::Scim(s) => fail(s.status, "invalid_request", s.detail),
            AdminError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %crate::telemetry::chain(&e), "management request: store unavailable");
                fail(503, "unavailable", e.to_string())
            }
            AdminError::Store(other) => {
                tracing::error!(error = %crate::telemetry::chain(&other), "management request failed");
                fail(503, "unavailable", "the store failed; retry")
            }
        }
    }
}

/// The Lambda (and local server) entry point of the management routes.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = path_of(&req);
    let outcome = deadline::within(app.budget, serve(app, &req, &path)).await;
    let (status, body) = match outcome {
        Ok((status, body)) => (status, body),
        Err(f) => (
            f.status,
            Some(json!({"error": f.code, "message": f.message})),
        ),
    };
    tracing::info!(method = %method, path = %path, status, latency_ms = started.elapsed().as_millis() as u64, "manage");
    let mut resp = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store");
    if status == 503 {
        resp = resp.header("retry-after", "2");
    }
    let body = body.map_or(Body::Empty, |b| Body::Text(b.to_string()));
    resp.body(body).expect("static headers are valid")
}

/// The path from `/manage` on (a stage or base path in front is dropped).
fn path_of(req: &Request) -> String {
    let raw = req.raw_http_path();
    let path = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    path.find("/manage")
        .map_or(path, |i| &path[i..])
        .trim_end_matches('/')
        .to_string()
}

async fn serve(app: &App, req: &Request, path: &str) -> Result<(u16, Option<Value>), Failure> {
    let segs: Vec<String> = path.split('/').skip(2).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let admin = Admin::with_public_url(app.store().clone(), &public_url(app, req))
        .with_url_policy(app.webhook_urls);
    let query = query_pairs(req);
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let m = req.method();
    let ok = |v: Value| Ok((200, Some(v)));
    match (m, segs.as_slice()) {
        (&Method::GET, ["directories"]) => ok(admin.list_directories().await?),
        (&Method::POST, ["directories"]) => {
            let body = json_body(req)?;
            let name = body["name"]
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| fail(400, "invalid_request", "\"name\" is required"))?;
            let days = expiry(&body)?;
            Ok((201, Some(admin.create_directory(name, days).await?)))
        }
        (&Method::GET, ["directories", d]) => ok(admin.show_directory(d).await?),
        // The data goes after the token grace, in the clean-up function (`service::cleanup`).
        (&Method::DELETE, ["directories", d]) => Ok((202, Some(admin.begin_delete(d).await?))),
        (&Method::GET, ["directories", d, "tokens"]) => ok(admin.list_tokens(d).await?),
        (&Method::POST, ["directories", d, "tokens"]) => {
            let days = expiry(&json_body_or_empty(req)?)?;
            Ok((201, Some(admin.issue_token(d, days).await?)))
        }
        (&Method::DELETE, ["directories", d, "tokens", t]) => ok(admin.revoke_token(d, t).await?),
        (&Method::GET, ["directories", d, "clients"]) => ok(admin.list_clients(d).await?),
        (&Method::POST, ["directories", d, "clients"]) => {
            let days = expiry(&json_body_or_empty(req)?)?;
            Ok((201, Some(admin.create_client(d, days).await?)))
        }
        (&Method::DELETE, ["directories", d, "clients", c]) => {
            ok(admin.revoke_client(d, c).await?)
        }
        (&Method::PUT, ["directories", d, "auth"]) => {
            let body = json_body(req)?;
            let flag = |name: &str| {
                body[name].as_bool().ok_or_else(|| {
                    fail(
                        400,
                        "invalid_request",
                        format!("\"{name}\" must be true or false"),
                    )
                })
            };
            let methods = AuthMethods {
                bearer: flag("bearer")?,
                client_credentials: flag("client_credentials")?,
            };
            ok(admin.set_auth_methods(d, methods).await?)
        }
        (&Method::GET, ["directories", d, kind @ ("users" | "groups")]) => {
            let limit = page_size(q("limit"))?;
            ok(admin
                .resources(d, resource_kind(kind), q("after").as_deref(), limit)
                .await?)
        }
        (&Method::GET, ["directories", d, kind @ ("users" | "groups"), id]) => {
            match admin.resource(d, resource_kind(kind), id).await? {
                Some(v) => ok(v),
                None => Err(fail(
                    404,
                    "not_found",
                    format!("no {} {id}", &kind[..kind.len() - 1]),
                )),
            }
        }
        (&Method::GET, ["directories", d, "events"]) => {
            let after = match q("after") {
                None => 0,
                Some(a) => a.parse().map_err(|_| {
                    fail(
                        400,
                        "invalid_request",
                        "\"after\" must be a sequence number",
                    )
                })?,
            };
            let limit = page_size(q("limit"))?;
            let types: Vec<String> = q("event")
                .map(|e| {
                    e.split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            ok(admin.events(d, after, limit, &types).await?)
        }
        (&Method::GET, ["directories", d, "webhook"]) => ok(admin.webhook(d).await?),
        (&Method::PUT, ["directories", d, "webhook"]) => {
            let body = json_body(req)?;
            let url = body["url"]
                .as_str()
                .ok_or_else(|| fail(400, "invalid_request", "\"url\" is required"))?;
            ok(admin.set_webhook(d, url).await?)
        }
        (&Method::DELETE, ["directories", d, "webhook"]) => ok(admin.delete_webhook(d).await?),
        // On the webhook's own route (no new API Gateway route): deliver again from a sequence.
        (&Method::PATCH, ["directories", d, "webhook"]) => {
            let body = json_body(req)?;
            let from = body["resume_from_sequence"].as_u64().ok_or_else(|| {
                fail(
                    400,
                    "invalid_request",
                    "\"resume_from_sequence\" (a positive integer) is required",
                )
            })?;
            ok(admin.resume_webhook(d, from).await?)
        }
        _ => Err(fail(404, "not_found", format!("no route {m} {path}"))),
    }
}

fn resource_kind(segment: &str) -> ResourceKind {
    if segment == "users" {
        ResourceKind::User
    } else {
        ResourceKind::Group
    }
}

fn page_size(limit: Option<String>) -> Result<usize, Failure> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                fail(
                    400,
                    "invalid_request",
                    format!("\"limit\" must be 1 to {MAX_PAGE}"),
                )
            }),
    }
}

fn expiry(body: &Value) -> Result<Option<u32>, Failure> {
    match body.get("expires_in_days") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| *d > 0)
            .map(Some)
            .ok_or_else(|| {
                fail(
                    400,
                    "invalid_request",
                    "\"expires_in_days\" must be a positive integer",
                )
            }),
    }
}

fn json_body(req: &Request) -> Result<Value, Failure> {
    serde_json::from_slice::<Value>(req.body().as_ref())
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| fail(400, "invalid_request", "the body must be a JSON object"))
}

fn json_body_or_empty(req: &Request) -> Result<Value, Failure> {
    if req.body().as_ref().is_empty() {
        Ok(json!({}))
    } else {
        json_body(req)
    }
}

/// The base URL the printed SCIM URLs start with: `SCIM_PUBLIC_URL`, else this request's host.
fn public_url(app: &App, req: &Request) -> String {
    if let Some(u) = &app.public_url {
        return u.clone();
    }
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let scheme = h("x-forwarded-proto").unwrap_or("https");
    let host = h("host").unwrap_or("localhost");
    let full = req.uri().path();
    let prefix = full.find("/manage").map_or("", |i| &full[..i]);
    format!("{scheme}://{host}{prefix}")
}
