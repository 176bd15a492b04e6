//! HTTP edge: a lambda_http `Request` becomes a typed SCIM request (version, directory, resource
//! path, query, body), is authenticated, dispatched to the function that serves it, and every outcome —
//! success or `ScimError` — becomes one SCIM response. One structured log line per request, and
//! one request-log record (`crate::request_log`) per request to a directory's URLs: emitted here,
//! stored off the request path (`service::request_log`), never with a DynamoDB call of its own.

pub mod console;
pub mod discovery;
pub mod lambda;
pub mod manage;
pub mod oauth;
pub mod portal;
mod request;
pub mod resources;
mod response;
pub mod routes;
pub mod web;

use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};

use crate::auth::{self, Authenticator};
use crate::clock;
use crate::request_log::{self as log, RequestRecord, Resource};
use crate::scim::error::ScimError;
use crate::service::request_log::Pipeline;
use crate::service::{self, committed, deadline, Service, Store};

pub use crate::function::Function;
pub use request::{ScimRequest, Version};
pub use response::ScimResponse;

/// Requests bigger than this are refused with 413 before parsing (RFC 7644 §3.12 `tooLarge` is a
/// Bulk concept; a plain 413 is what a client expects for one resource). Lambda takes events up
/// to 6 MB, so this is whatever can arrive: a 30,000-member replace (about 2 MB) fits.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// Environment variable holding the edge's secret (template `SCIM_EDGE_SECRET`), and the header
/// CloudFront carries it in.
pub const ENV_EDGE_SECRET: &str = "SCIM_EDGE_SECRET";
pub const EDGE_HEADER: &str = "x-scim-edge";

/// Environment variable naming the public base URL (custom domain); see docs/operations.md.
pub use crate::service::management::ENV_PUBLIC_URL;

/// Everything a handler needs, built once per process (outside the Lambda handler).
pub struct App {
    pub service: Service,
    pub auth: Authenticator,
    pub public_url: Option<String>,
    /// With the edge (template `EdgeWebAclArn`): the `x-scim-edge` value CloudFront adds; SCIM
    /// and token requests without it went around the WAF and are refused.
    pub edge_secret: Option<String>,
    /// How long one request's store work may take before it answers 503 (`service::deadline`).
    pub budget: std::time::Duration,
    /// Which webhook URLs the management API accepts: `Aws` unless a local server says so.
    pub webhook_urls: crate::service::webhooks::target::UrlPolicy,
    /// Where request-log records go: `None` (Lambda) prints each as one log line, which the
    /// CloudWatch Logs subscription feeds to the writer; a local server and the tests hand them
    /// to an in-process [`Pipeline`].
    pub request_log: Option<Pipeline>,
    /// When this process last noted a directory's failed request (at most once a minute).
    errors_noted: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

impl App {
    pub fn new(store: Store, public_url: Option<String>) -> Self {
        App {
            auth: Authenticator::new(store.clone()),
            service: Service::new(store),
            public_url: public_url
                .map(|u| u.trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            edge_secret: None,
            budget: deadline::REQUEST_BUDGET,
            webhook_urls: Default::default(),
            request_log: None,
            errors_noted: std::sync::Mutex::default(),
        }
    }

    /// Notes an authenticated request's failure as the directory's `last_error`, at most once
    /// a minute per directory and process (no write per failing request).
    async fn note_error(&self, directory: &str, e: &ScimError) {
        let due = self.errors_noted.lock().is_ok_and(|mut m| {
            if m.len() > 10_000 {
                m.clear();
            }
            let due = m
                .get(directory)
                .is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60));
            if due {
                m.insert(directory.to_string(), Instant::now());
            }
            due
        });
        if due {
            if let Err(err) = self
                .store()
                .record_error(directory, e.status, &e.detail)
                .await
            {
                tracing::warn!(%directory, error = %crate::telemetry::chain(&err), "could not record the error");
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.service.store
    }

    /// Sends a request-log record on its way: to the local pipeline, or as the one log line the
    /// subscription filter matches (`request_log::LOG_TARGET`). Never a DynamoDB call.
    pub(crate) fn log_request(&self, record: RequestRecord) {
        let record = record.bounded();
        match &self.request_log {
            Some(pipeline) => pipeline.send(record),
            None => match serde_json::to_string(&record) {
                Ok(json) => {
                    tracing::info!(target: log::LOG_TARGET, record = %json, "scim_request_log")
                }
                Err(e) => {
                    tracing::warn!(error = %crate::telemetry::chain(&e), "request log record not rendered")
                }
            },
        }
    }

    /// The Lambda functions' app, from their environment (see `Store::from_lambda_env` and
    /// `SCIM_PUBLIC_URL`).
    pub fn from_env() -> Self {
        let mut app = App::new(Store::from_lambda_env(), std::env::var(ENV_PUBLIC_URL).ok());
        app.edge_secret = std::env::var(ENV_EDGE_SECRET)
            .ok()
            .filter(|s| !s.is_empty());
        app
    }

    /// Whether a SCIM or token request came through the edge (always, without one).
    fn through_edge(&self, req: &Request) -> bool {
        self.edge_secret.as_deref().is_none_or(|want| {
            let got = req
                .headers()
                .get(EDGE_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            crate::scim::cursor::constant_time_eq(got, want.as_bytes())
        })
    }
}

/// The Lambda (and local server) entry point of the functions that serve HTTP.
pub async fn handle(app: &App, family: Function, req: Request) -> Response<Body> {
    let started = Instant::now();
    service::caller::scope(family.name(), handle_family(app, family, req, started)).await
}

async fn handle_family(
    app: &App,
    family: Function,
    req: Request,
    started: Instant,
) -> Response<Body> {
    let calls = service::CALLS.load(std::sync::atomic::Ordering::Relaxed);
    let (read, write) = service::capacity::consumed();
    let response = match family {
        f if !f.serves_http() => {
            let e = ScimError::not_found("this function serves no HTTP routes");
            ScimResponse::error(Version::V2, &e).into_http()
        }
        Function::Management => manage::handle(app, req).await,
        _ if !app.through_edge(&req) => {
            let e = ScimError::forbidden("requests must come through the stack's CloudFront edge");
            ScimResponse::error(Version::V2, &e).into_http()
        }
        Function::Token => oauth::handle(app, req).await,
        Function::Portal => portal::handle(app, req).await,
        _ => handle_scim(app, family, req, started).await,
    };
    let (read_after, write_after) = service::capacity::consumed();
    let cost = crate::metrics::Cost {
        latency_ms: started.elapsed().as_millis() as u64,
        dynamodb_calls: service::CALLS.load(std::sync::atomic::Ordering::Relaxed) - calls,
        read_units: read_after - read,
        write_units: write_after - write,
    };
    crate::metrics::emit(family.name(), response.status().as_u16(), cost);
    response
}

async fn handle_scim(
    app: &App,
    family: Function,
    req: Request,
    started: Instant,
) -> Response<Body> {
    let at = clock::now_millis();
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .or_else(|| header(&req, "x-request-id"))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let user_agent = header(&req, "user-agent").unwrap_or_default();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();

    let parsed = ScimRequest::parse(&req, app.public_url.as_deref());
    let (version, directory) = parsed
        .as_ref()
        .map(|r| (r.version, r.directory.clone()))
        .unwrap_or((Version::V2, String::new()));
    let (resource, resource_id) = parsed.as_ref().map_or((Resource::Other, None), |r| {
        let resource = Resource::of_endpoint(r.segments.first().map(String::as_str));
        let id = r.segments.get(1).filter(|id| *id != ".search").cloned();
        (resource, id.filter(|_| resource != Resource::Other))
    });
    // The events a request commits are noted by the store as it commits them (`committed`).
    let (outcome, events) = match parsed {
        Ok(r) => committed::scope(deadline::within(app.budget, serve(app, family, r))).await,
        Err(e) => (Err(e), Vec::new()),
    };
    let response = match outcome {
        Ok(r) => r.bounded(version),
        Err(e) => {
            // A 401 is noted too (the Admin Portal explains it: the pasted token is wrong), but
            // only for a directory id of our shape (UUID): the note is a conditional UpdateItem
            // that fails for a directory that does not exist, at most once a minute per id and
            // process, and junk ids cost nothing.
            let ours = uuid::Uuid::try_parse(&directory).is_ok();
            if !directory.is_empty() && (e.status != 401 || ours) {
                app.note_error(&directory, &e).await;
            }
            ScimResponse::error(version, &e)
        }
    };
    let status = response.status;
    let latency_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        request_id = %request_id,
        directory = %directory,
        method = %method,
        path = %path,
        status,
        latency_ms,
        user_agent = %user_agent,
        "request"
    );
    // The request log: every request to a directory's URLs, a 401 only for an id of our shape
    // (the writer drops records of directories that do not exist).
    if !directory.is_empty() && (status != 401 || uuid::Uuid::try_parse(&directory).is_ok()) {
        let (scim_type, detail) = error_of(response.body.as_ref(), status);
        app.log_request(RequestRecord {
            directory_id: directory,
            at: clock::format_rfc3339(at),
            id: request_id,
            method,
            path,
            query: log::query(req.uri().query()),
            status,
            scim_type,
            detail,
            latency_ms,
            idp: log::guess_idp(&user_agent),
            user_agent,
            events,
            request_body: log::request_body(
                req.body().as_ref(),
                header(&req, "content-type").as_deref(),
            ),
            response_body: response.body.as_ref().map(log::json_body),
            resource,
            resource_id,
        });
    }
    response.into_http()
}

/// `(scimType, detail)` of an error answer: SCIM 2.0's fields (RFC 7644 §3.12), or SCIM 1.1's
/// `Errors[0].description`.
fn error_of(body: Option<&serde_json::Value>, status: u16) -> (Option<String>, Option<String>) {
    let Some(b) = body.filter(|_| status >= 400) else {
        return (None, None);
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let detail = text(&b["detail"]).or_else(|| text(&b["Errors"][0]["description"]));
    (text(&b["scimType"]), detail)
}

async fn serve(app: &App, family: Function, req: ScimRequest) -> Result<ScimResponse, ScimError> {
    let token = auth::bearer(req.header("authorization"));
    let allowed = match token {
        Some(t) => {
            app.auth
                .allows(t, &req.directory, clock::now_millis())
                .await?
        }
        None => false,
    };
    if !allowed {
        return Err(ScimError::unauthorized());
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ScimError::payload_too_large(format!(
            "request body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    match family {
        Function::Users => {
            resources::serve(app, crate::scim::schema::ResourceKind::User, &req).await
        }
        Function::Groups => {
            resources::serve(app, crate::scim::schema::ResourceKind::Group, &req).await
        }
        Function::Discovery => discovery::serve(app, &req).await,
        _ => Err(ScimError::not_found("no SCIM endpoint here")),
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
