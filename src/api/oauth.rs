//! The OAuth 2.0 token endpoint of a directory, `POST /oauth2/{directoryId}/token`: the
//! client-credentials grant (RFC 6749 §4.4) for IdPs that authenticate that way (PingOne,
//! PingFederate's SCIM connector, Entra apps with "OAuth 2.0 client credentials grant").
//!
//! - Client authentication by HTTP Basic (`client_secret_basic`, which RFC 6749 §2.3.1 requires
//!   servers to support; id and secret are form-urlencoded before the Base64) or by form body
//!   (`client_secret_post`); both at once only when they agree (Entra's "credential send method:
//!   Both"), since §2.3 asks for one method.
//! - `scope` is optional, space-separated per §3.3 or comma-separated as PingFederate sends what
//!   its admin typed; the token grants the directory's SCIM API whatever it names, and the answer
//!   echoes it space-separated. `resource` (RFC 8707, sent by some clients) is tolerated.
//! - Answers `{access_token, token_type: "Bearer", expires_in, scope?}` with
//!   `Cache-Control: no-store` (§5.1); errors per §5.2 (`invalid_client` is 401 with
//!   `WWW-Authenticate`).
//! - Access tokens (`scim_at_…`, 1 hour) are stored hashed like bearer tokens and checked by the
//!   same cached lookup, together with their client (`auth.rs`): revoking the client stops its
//!   access tokens within the token cache's 30 s.
//! - A failed client authentication is answered at once. Secrets are 256 random bits, so a wait
//!   protects nothing, and a wait inside the invocation would let an anonymous client hold a
//!   Lambda execution per request; per-client limits belong at the edge (docs/edge-protection.md).
//! - A failure is a request-log record of the directory (docs/request-log.md), its form body
//!   redacted (`client_secret`), so the SaaS team and the IT admin see why an IdP's token request
//!   was refused. A granted request is not recorded: its answer is the token.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::{json, Value};

use super::request::{parse_form, percent_decode, route_path};
use super::App;
use crate::auth::OAuthError;
use crate::request_log as log;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let at = crate::clock::now_millis();
    let (status, body, challenge) = match serve(app, &req).await {
        Ok(v) => (200, v, false),
        Err(e) => {
            let body = json!({"error": e.code(), "error_description": e.to_string()});
            (e.status(), body, e.status() == 401)
        }
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    tracing::info!(path = %req.uri().path(), status, latency_ms, "token");
    if status != 200 {
        log_failure(app, &req, at, latency_ms, status, &body);
    }
    let mut resp = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache");
    if challenge {
        resp = resp.header("www-authenticate", "Basic realm=\"scim-lambda\"");
    }
    if status == 405 {
        resp = resp.header("allow", "POST");
    }
    resp.body(Body::Text(body.to_string()))
        .expect("static headers are valid")
}

/// The request-log record of a refused token request, for a directory id of our shape (UUID:
/// junk ids are not logged; the writer drops ids of directories that do not exist).
fn log_failure(app: &App, req: &Request, at: i64, latency_ms: u64, status: u16, body: &Value) {
    let Some(directory) = directory_of(req).filter(|d| uuid::Uuid::try_parse(d).is_ok()) else {
        return;
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let user_agent = header("user-agent").unwrap_or_default();
    let detail = format!(
        "{}: {}",
        body["error"].as_str().unwrap_or_default(),
        body["error_description"].as_str().unwrap_or_default()
    );
    app.log_request(log::RequestRecord {
        directory_id: directory,
        at: crate::clock::format_rfc3339(at),
        id: lambda_http::RequestExt::lambda_context_ref(req)
            .map(|c| c.request_id.clone())
            .or_else(|| header("x-request-id"))
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: log::query(req.uri().query()),
        status,
        scim_type: None,
        detail: Some(detail),
        latency_ms,
        idp: log::guess_idp(&user_agent),
        user_agent,
        events: Vec::new(),
        request_body: log::request_body(req.body().as_ref(), header("content-type").as_deref()),
        response_body: Some(log::json_body(body)),
        resource: log::Resource::Other,
        resource_id: None,
    });
}

/// The directory of a `/oauth2/{directoryId}/token` path, whatever else is wrong with the request.
fn directory_of(req: &Request) -> Option<String> {
    let path = route_path(req).trim_end_matches('/');
    match path.split('/').collect::<Vec<_>>()[..] {
        ["", "oauth2", d, "token"] if !d.is_empty() => Some(percent_decode(d)),
        _ => None,
    }
}

/// A client-credentials token request (RFC 6749 §4.4.2), parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub directory: String,
    pub client_id: String,
    pub client_secret: String,
    /// The scopes asked for, in order (none: the answer names none).
    pub scope: Vec<String>,
}

/// The answer to a granted request (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

async fn serve(app: &App, req: &Request) -> Result<Value, OAuthError> {
    let t = TokenRequest::parse(req)?;
    let (token, expires_in) = app
        .auth
        .issue_access_token(&t.directory, &t.client_id, &t.client_secret)
        .await?;
    let answer = TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in,
        scope: (!t.scope.is_empty()).then(|| t.scope.join(" ")),
    };
    Ok(json!(answer))
}

impl TokenRequest {
    /// Checks in the order a client is best told what is wrong: the route (404), the method
    /// (405), the body's encoding, the client's credentials, then the grant.
    pub fn parse(req: &Request) -> Result<TokenRequest, OAuthError> {
        // Exactly `/oauth2/{directoryId}/token` (the one route of this function); anything else
        // is no directory's token endpoint.
        let directory = directory_of(req).ok_or(OAuthError::NotFound)?;
        if req.method() != Method::POST {
            return Err(OAuthError::MethodNotAllowed);
        }
        let form = form(req)?;
        let param = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (client_id, client_secret) = client_credentials(req, &param)?;
        match param("grant_type") {
            None => return Err(OAuthError::InvalidRequest("grant_type is required".into())),
            Some("client_credentials") => {}
            Some(other) => {
                return Err(OAuthError::UnsupportedGrantType(
                    other.chars().take(50).collect(),
                ))
            }
        }
        let scope = param("scope")
            .unwrap_or_default()
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(TokenRequest {
            directory,
            client_id,
            client_secret,
            scope,
        })
    }
}

/// The form body's pairs: `application/x-www-form-urlencoded` UTF-8, each name at most once.
fn form(req: &Request) -> Result<Vec<(String, String)>, OAuthError> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let body = std::str::from_utf8(req.body().as_ref())
        .map_err(|_| OAuthError::InvalidRequest("the body is not UTF-8".into()))?;
    let form = parse_form(body);
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in &form {
        if !seen.insert(k.as_str()) {
            return Err(OAuthError::InvalidRequest(format!(
                "\"{k}\" is given more than once"
            )));
        }
    }
    Ok(form)
}

/// `(client_id, client_secret)` from the Basic header, the form, or both when they agree.
fn client_credentials<'a>(
    req: &Request,
    param: &impl Fn(&str) -> Option<&'a str>,
) -> Result<(String, String), OAuthError> {
    Ok(match (basic_credentials(req)?, param("client_secret")) {
        // Entra's "credential send method: Both" sends the same credentials both ways; RFC 6749
        // §2.3 asks for one method, so two that disagree are refused.
        (Some((id, secret)), Some(body_secret))
            if body_secret == secret && param("client_id").is_none_or(|b| b == id) =>
        {
            (id, secret)
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "the Authorization header and the form body name different credentials".into(),
            ))
        }
        (Some((id, secret)), None) => {
            if param("client_id").is_some_and(|b| b != id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the Authorization header".into(),
                ));
            }
            (id, secret)
        }
        (None, Some(secret)) => (
            param("client_id").unwrap_or_default().to_string(),
            secret.to_string(),
        ),
        (None, None) => return Err(OAuthError::InvalidClient),
    })
}

/// `(client_id, client_secret)` from `Authorization: Basic …`, each form-urlencoded inside the
/// Base64 (RFC 6749 §2.3.1); `None` without a Basic header.
fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, OAuthError> {
    let Some(h) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some((scheme, value)) = h.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = B64
        .decode(value.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(OAuthError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    let form = |s: &str| percent_decode(&s.replace('+', " "));
    Ok(Some((form(id), form(secret))))
}
