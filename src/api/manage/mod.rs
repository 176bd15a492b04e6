//! The management API for the application that deploys this stack: its own admin screens create
//! directories and their credentials, read normalised users and groups, read the Events API and
//! register webhooks, and read the SCIM request log. Routes live under `/manage/`, behind API Gateway's `AWS_IAM` authorizer
//! (SigV4; see template.yaml): a SCIM token never opens them, and this handler never reads one.
//! The local server serves them too, on loopback only, without IAM but with its management key
//! and its checks against tunnels, CSRF and DNS rebinding (`local/server.rs`).
//!
//! A request is parsed once into a `ManageRequest` (`request.rs`), `dispatch` makes the one
//! service call it names (the same functions `scimctl` runs) and renders the typed answer as JSON.
//! Errors are `{"error": code, "message": text}` with 400, 404, 409 or 503, mapped here, once.

#[cfg(feature = "local")]
pub mod openapi;
mod request;

use crate::telemetry::chain;
use std::time::Instant;

use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub use request::{allowed_methods, takes};
pub use request::{
    DirectoryRequest, EventsQuery, ManageRequest, NewCredential, NewDirectory, PageQuery,
    RequestsQuery, ResumeDeliveries, WebhookTarget, MAX_PAGE,
};

use super::request::public_base;
use super::App;
use crate::service::{
    credentials, custom_attributes, deadline, directories, directory_reads, event_reads,
    portal_links, request_log, roles, webhook_registrations, ManagementError, PublicUrl,
};

/// An answer other than success: the status, a stable code and a message for a person.
#[derive(Debug)]
pub struct Failure {
    status: u16,
    code: &'static str,
    message: String,
    /// The methods a route takes, on a 405.
    allow: Option<String>,
}

fn fail(status: u16, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
        allow: None,
    }
}

/// The one mapping from a management error to an HTTP answer.
impl From<ManagementError> for Failure {
    fn from(e: ManagementError) -> Self {
        use ManagementError as E;
        match e {
            E::NoDirectory(_) | E::NoToken(..) | E::NoClient(..) | E::NoPortalLink(..) => {
                fail(404, "not_found", e.to_string())
            }
            E::TooManyTokens(_) | E::TooManyClients(_) | E::MethodOff(..) | E::Deleting(_) => {
                fail(409, "conflict", e.to_string())
            }
            // Resuming deliveries of a webhook that is not there: no such resource.
            E::NoWebhook(_) => fail(404, "not_found", e.to_string()),
            // Past the directory's next event: the request is well formed, the state says no.
            E::ResumeOutOfRange { .. } => fail(409, "conflict", e.to_string()),
            E::WebhookUrl(_)
            | E::PortalLink(_)
            | E::NoAuthMethod
            | E::InvalidRoles(_)
            | E::InvalidAttributes(_) => fail(400, "invalid_request", e.to_string()),
            // A SCIM-level failure of the store (500 there) is the store's: retry, like the rest.
            E::Scim(s) if s.status >= 500 => fail(503, "unavailable", s.detail),
            E::Scim(s) => fail(s.status, "invalid_request", s.detail),
            E::Unavailable(_) => {
                tracing::warn!(error = %chain(&e), "management request: store unavailable");
                fail(503, "unavailable", "the store is busy; retry")
            }
            E::Store(_) | E::Corrupt { .. } => {
                tracing::error!(error = %chain(&e), "management request failed");
                fail(503, "unavailable", "the store failed; retry")
            }
        }
    }
}

/// The API's OpenAPI document, generated from its types (`openapi.rs`; the test command checks the
/// committed file is what they generate).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Every failure's body: a stable machine code and a sentence for a person.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ErrorAnswer {
    /// `invalid_request`, `not_found`, `conflict`, `unavailable`, `unauthorized`, ...
    pub error: &'static str,
    pub message: String,
}

/// A rendered success: status and JSON text.
struct Answer {
    status: u16,
    body: String,
}

fn answer<T: Serialize>(status: u16, value: &T) -> Result<Answer, Failure> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %chain(&e), "management answer did not serialise");
        fail(
            503,
            "unavailable",
            "the answer could not be rendered; retry",
        )
    })?;
    Ok(Answer { status, body })
}

/// The Lambda (and local server) entry point of the management routes.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = request::manage_path(&req).to_string();
    let outcome = match ManageRequest::parse(&req) {
        Ok(parsed) => {
            let base = PublicUrl::new(&public_base(&req, app.public_url.as_deref(), "/manage"));
            deadline::within(app.budget, dispatch(app, &base, parsed)).await
        }
        Err(f) => Err(f),
    };
    let (status, body, allow) = match outcome {
        Ok(a) => (a.status, a.body, None),
        Err(f) => (
            f.status,
            serde_json::to_string(&ErrorAnswer {
                error: f.code,
                message: f.message,
            })
            .unwrap_or_default(),
            f.allow,
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
    if let Some(allow) = allow {
        resp = resp.header("allow", allow);
    }
    resp.body(Body::Text(body))
        .expect("static headers are valid")
}

/// The one service call a request names, and its answer.
async fn dispatch(app: &App, base: &PublicUrl, req: ManageRequest) -> Result<Answer, Failure> {
    let svc = &app.service;
    match req {
        ManageRequest::OpenApi => Ok(Answer {
            status: 200,
            body: OPENAPI.to_string(),
        }),
        ManageRequest::ListDirectories => answer(200, &directories::list(svc, base).await?),
        ManageRequest::CreateDirectory(b) => answer(
            201,
            &directories::create(svc, base, &b.name, b.expires_in_days, b.provider).await?,
        ),
        ManageRequest::ShowRoles => answer(200, &roles::catalogue(svc).await?),
        ManageRequest::PutRoles(c) => answer(200, &roles::put_catalogue(svc, c).await?),
        ManageRequest::ShowCustomAttributes => {
            answer(200, &custom_attributes::catalogue(svc).await?)
        }
        ManageRequest::PutCustomAttributes(c) => {
            answer(200, &custom_attributes::put_catalogue(svc, c).await?)
        }
        ManageRequest::Directory { directory, request } => {
            dispatch_directory(app, base, &directory, request).await
        }
    }
}

async fn dispatch_directory(
    app: &App,
    base: &PublicUrl,
    d: &str,
    req: DirectoryRequest,
) -> Result<Answer, Failure> {
    use DirectoryRequest as R;
    let svc = &app.service;
    match req {
        R::Show => answer(200, &directories::show(svc, base, d).await?),
        // The data goes after the token grace, in the clean-up function (`service::cleanup`).
        R::Delete => answer(202, &directories::begin_delete(svc, d).await?),
        R::ListTokens => answer(200, &credentials::list_tokens(svc, d).await?),
        R::IssueToken(b) => answer(
            201,
            &credentials::issue_token(svc, d, b.expires_in_days).await?,
        ),
        R::RevokeToken { token_id } => {
            answer(200, &credentials::revoke_token(svc, d, &token_id).await?)
        }
        R::ListClients => answer(200, &credentials::list_clients(svc, d).await?),
        R::CreateClient(b) => answer(
            201,
            &credentials::create_client(svc, base, d, b.expires_in_days).await?,
        ),
        R::RevokeClient { client_id } => {
            answer(200, &credentials::revoke_client(svc, d, &client_id).await?)
        }
        R::SetAuthMethods(m) => answer(200, &credentials::set_auth_methods(svc, d, m).await?),
        R::ListPortalLinks => answer(200, &portal_links::list_links(svc, d).await?),
        R::PortalActivity => answer(200, &crate::service::portal::activity(svc, d).await?),
        R::CreatePortalLink(o) => answer(201, &portal_links::create_link(svc, base, d, o).await?),
        R::RevokePortalLink { link_id } => {
            answer(200, &portal_links::revoke_link(svc, d, &link_id).await?)
        }
        R::ListUsers(p) => answer(
            200,
            &directory_reads::users(svc, d, p.after.as_deref(), p.limit).await?,
        ),
        R::ListGroups(p) => answer(
            200,
            &directory_reads::groups(svc, d, p.after.as_deref(), p.limit).await?,
        ),
        R::GetUser { id } => match directory_reads::user(svc, d, &id).await? {
            Some(u) => answer(200, &u),
            None => Err(fail(404, "not_found", format!("no user {id}"))),
        },
        R::GetGroup { id } => match directory_reads::group(svc, d, &id).await? {
            Some(g) => answer(200, &g),
            None => Err(fail(404, "not_found", format!("no group {id}"))),
        },
        R::ListEvents(q) => answer(
            200,
            &event_reads::read(svc, d, q.after, q.limit, &q.types).await?,
        ),
        R::ListRequests(q) => answer(
            200,
            &request_log::list(svc, d, &q.filter, q.after.as_ref(), q.limit).await?,
        ),
        R::ShowRoleAssignments => answer(200, &roles::assignments(svc, d).await?),
        R::PutRoleAssignments(p) => answer(200, &roles::put_assignments(svc, d, p).await?),
        R::ShowAttributeMapping => answer(200, &custom_attributes::mapping(svc, d).await?),
        R::PutAttributeMapping(p) => answer(200, &custom_attributes::put_mapping(svc, d, p).await?),
        R::PreviewAttributeMapping(p) => answer(200, &custom_attributes::preview(svc, d, p).await?),
        R::ShowWebhook => answer(200, &webhook_registrations::show(svc, d).await?),
        R::SetWebhook(b) => answer(
            200,
            &webhook_registrations::register(svc, d, &b.url, app.webhook_urls).await?,
        ),
        R::DeleteWebhook => answer(200, &webhook_registrations::delete(svc, d).await?),
        R::ResumeWebhook(b) => answer(
            200,
            &webhook_registrations::resume(svc, d, b.resume_from_sequence).await?,
        ),
    }
}
