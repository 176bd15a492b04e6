//! The operator console (`scimctl console`): a web UI for the SaaS team over the management API,
//! served by `scimctl` on a loopback address for the one person who started it. It reads and
//! changes directories only through `ManagementClient` — scim-local's API with its key, or a
//! deployed stack's signed with the operator's AWS credentials — so it can do nothing the API
//! would not let that operator do. Each request is parsed once (`request`), checked, served by
//! one or a few API calls and rendered (`pages`, the Admin Portal's look and templates rules).
//!
//! Who may use it (the machine is shared; a browser visits other sites meanwhile):
//! - it listens on a loopback address only (`scimctl console` refuses any other);
//! - the `Host` header must name a loopback host, so a page of another site whose name was made
//!   to resolve to 127.0.0.1 (DNS rebinding) is refused before anything is read;
//! - a random token per run rides in the URL it prints (as Jupyter's `?token=`); the first
//!   visit exchanges it for an `HttpOnly; SameSite=Strict` session cookie and is redirected to
//!   the same page without it, and every other request needs that cookie;
//! - every POST carries the run's CSRF token, and a browser's `Sec-Fetch-Site` or `Origin`, when
//!   sent, must say the form came from this origin;
//! - every answer carries the portal's security headers (`web::secure`: a CSP without inline
//!   code or other origins, `frame-ancestors 'none'`, `no-referrer`, `nosniff`, `no-store`).

mod pages;
mod request;
mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::Method;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use self::pages::{Frame, Revealed, Row};
use self::request::{ConsoleRequest, Parsed, RequestFilter, Unparsed, COOKIE};
use self::wire::{CreatedDirectory, Credential, Directory, DirectoryDetail, RequestsPage, Webhook};
use super::web;
use super::web::attributes::{MappingAction, MappingForm, MappingOutcome};
use crate::custom_attributes::{AttributeCatalogue, Mapping};
use crate::management_client::{segment, ClientError, ManagementClient};
use crate::management_key::is_loopback_host;
use crate::roles::RoleCatalogue;
use crate::service::custom_attributes::{DirectoryAttributes, Preview};
use crate::service::directory_reads::{NormalisedGroup, NormalisedUser, ResourcePage};
use crate::service::event_reads::EventsPage;
use crate::service::portal_links::CreatedPortalLink;
use crate::service::roles::RoleAssignments;

/// Users, groups, events or requests per page.
const PAGE_SIZE: usize = 50;
/// Directory details read at once for the list (each is one API call).
const PARALLEL_READS: usize = 8;
/// The largest form the console reads.
const MAX_BODY: usize = 64 * 1024;

/// One console run: the API it works on and its per-run secrets.
pub struct Console {
    api: ManagementClient,
    /// The secret in the printed URL.
    token: String,
    /// The session cookie's value once the token was shown.
    session: String,
    /// Every form's hidden `csrf` field.
    csrf: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("the console listens on a loopback address only (127.0.0.1 or ::1), not {0}")]
    NotLoopback(std::net::IpAddr),
    #[error("no randomness for the console's secrets")]
    Entropy(#[source] getrandom::Error),
}

impl Console {
    pub fn new(api: ManagementClient) -> Result<Console, ConsoleError> {
        Ok(Console {
            api,
            token: secret()?,
            session: secret()?,
            csrf: secret()?,
        })
    }

    /// The address to open: the console at `addr`, with the run's token.
    pub fn url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/?token={}", self.token)
    }

    /// The management API's base URL.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }

    fn frame(&self) -> Frame<'_> {
        Frame {
            api: self.api.base(),
            signed: self.api.is_signed(),
            csrf: &self.csrf,
        }
    }
}

/// 256 random bits as hex.
fn secret() -> Result<String, ConsoleError> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(ConsoleError::Entropy)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A listener on `addr`, refused unless it is a loopback address.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Box<dyn std::error::Error>> {
    if !addr.ip().is_loopback() {
        return Err(ConsoleError::NotLoopback(addr.ip()).into());
    }
    Ok(tokio::net::TcpListener::bind(addr).await?)
}

/// Serves the console on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    console: Arc<Console>,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let console = Arc::clone(&console);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let console = Arc::clone(&console);
                async move { Ok::<_, Infallible>(answer(&console, req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "console connection closed");
            }
        });
    }
}

/// A hyper request through `handle`, as the page handlers take it (the `http` types
/// lambda_http re-exports, which the portal's code shares).
async fn answer(
    console: &Arc<Console>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let response = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => {
            let req = Request::from_parts(parts, Body::from(b.to_bytes().to_vec()));
            handle(console, req).await
        }
        Err(_) => {
            let mut r = web::html(
                StatusCode::PAYLOAD_TOO_LARGE,
                pages::notice(
                    &console.frame(),
                    "That form is too large",
                    "Go back and try again.",
                ),
            );
            web::secure(r.headers_mut(), &POLICY);
            r
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// No image from elsewhere, no framing.
const POLICY: web::Policy<'static> = web::Policy {
    img_origin: None,
    frame_ancestor: None,
};

/// One console request: checks, then the page.
pub async fn handle(console: &Arc<Console>, req: Request) -> Response<Body> {
    let mut response = checked(console, &req).await;
    web::secure(response.headers_mut(), &POLICY);
    tracing::info!(
        target: "scim_console",
        method = %req.method(),
        path = %req.uri().path(),
        status = response.status().as_u16(),
        "console request"
    );
    response
}

async fn checked(console: &Arc<Console>, req: &Request) -> Response<Body> {
    let c = console;
    let frame = c.frame();
    let notice =
        |status, title: &str, body: &str| web::html(status, pages::notice(&frame, title, body));
    if !loopback_host(req) {
        return notice(
            StatusCode::FORBIDDEN,
            "Open the console at 127.0.0.1",
            "This console answers only to the address scimctl console printed.",
        );
    }
    let p = match request::parse(req) {
        Ok(p) => p,
        Err(Unparsed::NotFound) => {
            return notice(
                StatusCode::NOT_FOUND,
                "Page not found",
                "Go back to the directories.",
            )
        }
        Err(Unparsed::Method(allow)) => {
            let mut r = notice(
                StatusCode::METHOD_NOT_ALLOWED,
                "Page not found",
                "Go back to the directories.",
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
            return r;
        }
        Err(Unparsed::BadForm(why)) => {
            return notice(StatusCode::BAD_REQUEST, "That form could not be read", why)
        }
    };
    if let ConsoleRequest::Asset(name) = &p.request {
        return web::asset_answer(asset(name));
    }
    if let Some(token) = &p.token {
        // The printed URL: its token for the session cookie, then the same page without it (so
        // the token leaves the address bar and the history).
        if !web::csrf_matches(Some(token), &c.token) {
            return notice(
                StatusCode::UNAUTHORIZED,
                "This console link is not valid",
                "Open the exact address scimctl console printed in this run.",
            );
        }
        let mut r = web::see_other(req.uri().path());
        let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", c.session);
        if let Ok(v) = header::HeaderValue::from_str(&cookie) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    if !web::csrf_matches(p.cookie.as_deref(), &c.session) {
        return notice(
            StatusCode::UNAUTHORIZED,
            "Open the console from scimctl",
            "Open the address scimctl console printed (it carries this run's token).",
        );
    }
    if p.request.changes_state() && !same_origin_form(req, &p, &c.csrf) {
        return notice(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "It came from another page or an earlier run of the console. Reload the page and try again.",
        );
    }
    match serve_page(c, p.request).await {
        Ok(r) => r,
        Err(e) => failure(c, e),
    }
}

/// A request that names this machine: `Host` is `127.0.0.1`, `[::1]` or `localhost`, with any
/// port (DNS rebinding sends the attacker's name).
fn loopback_host(req: &Request) -> bool {
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port))
            if !name.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && !host.ends_with(']') =>
        {
            name
        }
        _ => host,
    };
    is_loopback_host(name)
}

/// The form carries the run's CSRF token, and the browser's Fetch Metadata (or `Origin`: a
/// loopback one) does not say it came from another site (`web::from_own_pages`).
fn same_origin_form(req: &Request, p: &Parsed, csrf: &str) -> bool {
    let loopback = |o: &str| {
        url::Url::parse(o)
            .ok()
            .and_then(|u| u.host_str().map(is_loopback_host))
            .unwrap_or(false)
    };
    web::from_own_pages(req, &["same-origin"], loopback)
        && web::csrf_matches(p.csrf.as_deref(), csrf)
}

fn asset(name: &str) -> Option<(String, &'static str)> {
    use crate::api::web::assets::*;
    match name {
        "portal.js" => Some((JS_BODY.into(), JS_TYPE)),
        "portal.css" => Some((CSS_BODY.into(), CSS_TYPE)),
        "console.css" => Some((CONSOLE_CSS_BODY.into(), CSS_TYPE)),
        _ => None,
    }
}

/// `/directories/{d}` under `/manage`.
fn dir(d: &str) -> String {
    format!("/directories/{}", segment(d))
}

async fn serve_page(
    c: &Arc<Console>,
    request: ConsoleRequest,
) -> Result<Response<Body>, ClientError> {
    use ConsoleRequest as R;
    let frame = c.frame();
    let ok = |page| web::html(StatusCode::OK, page);
    Ok(match request {
        R::Directories => ok(pages::directories(&frame, &list(c).await?)),
        R::NewDirectory => ok(pages::new_directory(&frame)),
        R::CreateDirectory { name, provider } => {
            let body = json!({"name": name, "provider": provider});
            let created: CreatedDirectory = c
                .api
                .call_as(Method::POST, "/directories", Some(body))
                .await?;
            web::html(StatusCode::CREATED, pages::created(&frame, &created))
        }
        R::Directory(d) => {
            let (detail, requests) = directory(c, &d).await?;
            ok(pages::overview(&frame, &detail, requests, None))
        }
        R::CreatePortalLink(d) => {
            let link: CreatedPortalLink = c
                .api
                .call_as(
                    Method::POST,
                    &format!("{}/portal-links", dir(&d)),
                    Some(json!({})),
                )
                .await?;
            let (detail, requests) = directory(c, &d).await?;
            web::html(
                StatusCode::CREATED,
                pages::overview(&frame, &detail, requests, Some(&link)),
            )
        }
        R::Users(d, after) => {
            let page: ResourcePage<NormalisedUser> = c
                .api
                .call_as(Method::GET, &paged(&d, "users", after.as_deref()), None)
                .await?;
            let (detail, requests) = directory(c, &d).await?;
            let roles = catalogue(c).await?;
            ok(pages::users(
                &frame,
                &detail,
                requests,
                &page,
                roles.as_ref(),
            ))
        }
        R::Groups(d, after) => {
            let page: ResourcePage<NormalisedGroup> = c
                .api
                .call_as(Method::GET, &paged(&d, "groups", after.as_deref()), None)
                .await?;
            let (detail, requests) = directory(c, &d).await?;
            ok(pages::groups(&frame, &detail, requests, &page))
        }
        R::Events(d, after) => {
            let path = format!("{}/events?after={after}&limit={PAGE_SIZE}", dir(&d));
            let page: EventsPage = c.api.call_as(Method::GET, &path, None).await?;
            let (detail, requests) = directory(c, &d).await?;
            ok(pages::events(&frame, &detail, requests, &page))
        }
        R::Requests(d, f) => {
            let (detail, _) = directory(c, &d).await?;
            match request_log(c, &d, &f).await? {
                Some(page) => ok(pages::requests(&frame, &detail, &f, &page)),
                None => web::html(
                    StatusCode::NOT_FOUND,
                    pages::notice(
                        &frame,
                        "No request log",
                        "This management API does not keep a request log yet.",
                    ),
                ),
            }
        }
        R::Webhook(d) => {
            // No webhook: `null` (or a 404 from an API that answers so).
            let hook = match c
                .api
                .call(Method::GET, &format!("{}/webhook", dir(&d)), None)
                .await
            {
                Ok(serde_json::Value::Null) => None,
                Ok(v) => {
                    Some(serde_json::from_value::<Webhook>(v).map_err(ClientError::Unexpected)?)
                }
                Err(e) if e.status() == Some(404) => None,
                Err(e) => return Err(e),
            };
            let (detail, requests) = directory(c, &d).await?;
            ok(pages::webhook(&frame, &detail, requests, hook.as_ref()))
        }
        R::Roles(d) => {
            let (detail, requests) = directory(c, &d).await?;
            let roles = match catalogue(c).await? {
                Some(catalogue) => {
                    let path = format!("{}/role-assignments", dir(&d));
                    let assigned: RoleAssignments = c.api.call_as(Method::GET, &path, None).await?;
                    Some((catalogue, assigned))
                }
                None => None,
            };
            ok(pages::roles(&frame, &detail, requests, roles.as_ref()))
        }
        R::Attributes(d) => attributes(c, &d, None, None, MappingOutcome::None).await?,
        R::EditAttributes(d, form) => edit_attributes(c, &d, form).await?,
        R::Credentials(d) => credentials(c, &d, Revealed::default()).await?,
        R::IssueToken(d) => {
            let token = c
                .api
                .call_as(
                    Method::POST,
                    &format!("{}/tokens", dir(&d)),
                    Some(json!({})),
                )
                .await?;
            credentials(
                c,
                &d,
                Revealed {
                    token: Some(token),
                    client: None,
                },
            )
            .await?
        }
        R::CreateClient(d) => {
            let client = c
                .api
                .call_as(
                    Method::POST,
                    &format!("{}/clients", dir(&d)),
                    Some(json!({})),
                )
                .await?;
            credentials(
                c,
                &d,
                Revealed {
                    token: None,
                    client: Some(client),
                },
            )
            .await?
        }
        R::RevokeToken(d, t) => {
            c.api
                .call(
                    Method::DELETE,
                    &format!("{}/tokens/{}", dir(&d), segment(&t)),
                    None,
                )
                .await?;
            web::see_other(&pages::dir_href(&d, "credentials"))
        }
        R::RevokeClient(d, cl) => {
            c.api
                .call(
                    Method::DELETE,
                    &format!("{}/clients/{}", dir(&d), segment(&cl)),
                    None,
                )
                .await?;
            web::see_other(&pages::dir_href(&d, "credentials"))
        }
        R::Asset(_) => web::asset_answer(None),
    })
}

/// `POST /directories/{id}/attributes`: the form's paths previewed (`POST …/custom-attributes/
/// preview`, nothing stored) or saved (`PUT …/custom-attributes`). The API's refusal of the
/// paths (a 400: a path that does not parse, a key not declared) is shown above the unchanged
/// form, answered 400 as well.
async fn edit_attributes(
    c: &Arc<Console>,
    d: &str,
    form: MappingForm,
) -> Result<Response<Body>, ClientError> {
    let MappingForm { mappings, action } = form;
    let body = json!({ "mappings": &mappings });
    let path = format!("{}/custom-attributes", dir(d));
    let done = match action {
        MappingAction::Preview => c
            .api
            .call_as::<Preview>(Method::POST, &format!("{path}/preview"), Some(body))
            .await
            .map(|p| (Some(p), MappingOutcome::None)),
        MappingAction::Save => c
            .api
            .call(Method::PUT, &path, Some(body))
            .await
            .map(|_| (None, MappingOutcome::Saved)),
    };
    match done {
        Ok((preview, outcome)) => {
            // After a save the form shows the paths as saved (canonical), else as typed.
            let draft = (action == MappingAction::Preview).then_some(mappings);
            attributes(c, d, draft, preview, outcome).await
        }
        Err(ClientError::Refused {
            status: 400,
            message,
            ..
        }) => {
            let outcome = MappingOutcome::Refused {
                saving: action == MappingAction::Save,
                why: message,
            };
            let mut r = attributes(c, d, Some(mappings), None, outcome).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

/// The Custom attributes page: the keys (`None` when the API has no such route), the mapping,
/// the form with `draft` (the saved mappings when `None`), and a preview.
async fn attributes(
    c: &Arc<Console>,
    d: &str,
    draft: Option<Vec<Mapping>>,
    preview: Option<Preview>,
    outcome: MappingOutcome,
) -> Result<Response<Body>, ClientError> {
    let (detail, requests) = directory(c, d).await?;
    let keys = match c
        .api
        .call_as::<AttributeCatalogue>(Method::GET, "/custom-attributes", None)
        .await
    {
        Ok(k) => Some(k),
        Err(e) if matches!(e.status(), Some(404 | 405)) => None,
        Err(e) => return Err(e),
    };
    let saved = match &keys {
        Some(_) => Some(
            c.api
                .call_as::<DirectoryAttributes>(
                    Method::GET,
                    &format!("{}/custom-attributes", dir(d)),
                    None,
                )
                .await?,
        ),
        None => None,
    };
    let draft = match (draft, &saved) {
        (Some(draft), _) => draft,
        (None, Some(saved)) => saved.mappings.clone(),
        (None, None) => Vec::new(),
    };
    let page = pages::AttributesPage {
        mapping: keys.as_ref().zip(saved.as_ref()),
        draft: &draft,
        preview: preview.as_ref(),
        outcome: &outcome,
    };
    Ok(web::html(
        StatusCode::OK,
        pages::attributes(&c.frame(), &detail, requests, &page),
    ))
}

/// The stack's roles; `None` when the API has no such route (before it is deployed).
async fn catalogue(c: &Arc<Console>) -> Result<Option<RoleCatalogue>, ClientError> {
    match c.api.call_as(Method::GET, "/roles", None).await {
        Ok(r) => Ok(Some(r)),
        Err(e) if matches!(e.status(), Some(404 | 405)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn paged(d: &str, what: &str, after: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("limit", &PAGE_SIZE.to_string());
    if let Some(a) = after {
        q.append_pair("after", a);
    }
    format!("{}/{what}?{}", dir(d), q.finish())
}

/// Every directory with its counts: the list, then each one's detail (a few at once).
async fn list(c: &Arc<Console>) -> Result<Vec<Row>, ClientError> {
    let directories: Vec<Directory> = c.api.call_as(Method::GET, "/directories", None).await?;
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_READS));
    let mut reads = tokio::task::JoinSet::new();
    for (i, d) in directories.iter().enumerate() {
        let (c, permits, id) = (Arc::clone(c), Arc::clone(&permits), d.id.clone());
        reads.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let detail = c
                .api
                .call_as::<DirectoryDetail>(Method::GET, &dir(&id), None)
                .await;
            (i, detail)
        });
    }
    let mut rows: Vec<Row> = directories
        .into_iter()
        .map(|directory| Row {
            directory,
            users: None,
            groups: None,
        })
        .collect();
    while let Some(done) = reads.join_next().await {
        // A directory deleted meanwhile, or a failed read, shows without its counts.
        if let Ok((i, Ok(detail))) = done {
            if let Some(row) = rows.get_mut(i) {
                row.users = detail.users;
                row.groups = detail.groups;
                row.directory = detail.directory;
            }
        }
    }
    Ok(rows)
}

/// One directory's detail, and whether the API keeps a request log (its tab is shown then).
async fn directory(c: &Arc<Console>, d: &str) -> Result<(DirectoryDetail, bool), ClientError> {
    let detail: DirectoryDetail = c.api.call_as(Method::GET, &dir(d), None).await?;
    let probe = RequestFilter::default();
    let requests = matches!(request_log_page(c, d, &probe, 1).await, Ok(Some(_)));
    Ok((detail, requests))
}

/// A page of the request log; `None` when the API has no such route (before it is deployed): the
/// directory exists, so a 404 or 405 there means the route does not.
async fn request_log(
    c: &Arc<Console>,
    d: &str,
    f: &RequestFilter,
) -> Result<Option<RequestsPage>, ClientError> {
    request_log_page(c, d, f, PAGE_SIZE).await
}

async fn request_log_page(
    c: &Arc<Console>,
    d: &str,
    f: &RequestFilter,
    limit: usize,
) -> Result<Option<RequestsPage>, ClientError> {
    let path = requests_path(d, f, limit);
    match c
        .api
        .call_as::<RequestsPage>(Method::GET, &path, None)
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(e) if matches!(e.status(), Some(404 | 405)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `GET …/requests` with the filters, as the shared design names them.
fn requests_path(d: &str, f: &RequestFilter, limit: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("status", f.status.as_deref()),
        ("method", f.method.as_deref()),
        ("resource", f.resource.as_deref()),
        ("after", f.after.as_deref()),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    q.append_pair("limit", &limit.to_string());
    format!("{}/requests?{}", dir(d), q.finish())
}

async fn credentials(
    c: &Arc<Console>,
    d: &str,
    revealed: Revealed,
) -> Result<Response<Body>, ClientError> {
    let tokens: Vec<Credential> = c
        .api
        .call_as(Method::GET, &format!("{}/tokens", dir(d)), None)
        .await?;
    let clients: Vec<Credential> = c
        .api
        .call_as(Method::GET, &format!("{}/clients", dir(d)), None)
        .await?;
    let (detail, requests) = directory(c, d).await?;
    let status = if revealed.token.is_some() || revealed.client.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(web::html(
        status,
        pages::credentials(&c.frame(), &detail, requests, &tokens, &clients, &revealed),
    ))
}

/// A failed API call as a page: the API's own refusal (its status and message are written for
/// people), or why it could not be reached.
fn failure(c: &Console, e: ClientError) -> Response<Body> {
    let frame = c.frame();
    match &e {
        ClientError::Refused { status: 404, .. } => web::html(
            StatusCode::NOT_FOUND,
            pages::notice(
                &frame,
                "Not found",
                "There is no such directory (it may have been deleted).",
            ),
        ),
        ClientError::Refused {
            status, message, ..
        } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            web::html(
                code,
                pages::notice(&frame, "The management API refused that", message),
            )
        }
        other => {
            tracing::warn!(error = %crate::telemetry::chain(other), "console: management API call failed");
            web::html(
                StatusCode::BAD_GATEWAY,
                pages::notice(
                    &frame,
                    "The management API did not answer",
                    &other.to_string(),
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management_key::ManagementKey;

    fn console() -> Arc<Console> {
        let api =
            ManagementClient::new("http://127.0.0.1:9/manage", ManagementKey::generate()).unwrap();
        Arc::new(Console::new(api).unwrap())
    }

    fn get(uri: &str, host: &str, cookie: Option<&str>) -> Request {
        let mut b = lambda_http::http::Request::builder()
            .method("GET")
            .uri(uri)
            .header("host", host);
        if let Some(c) = cookie {
            b = b.header("cookie", format!("{COOKIE}={c}"));
        }
        b.body(Body::Empty).unwrap()
    }

    #[tokio::test]
    async fn the_printed_token_becomes_a_strict_http_only_cookie_and_leaves_the_url() {
        let c = console();
        let r = handle(
            &c,
            get(
                &format!("/directories/new?token={}", c.token),
                "127.0.0.1:4000",
                None,
            ),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/directories/new");
        let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert!(cookie.contains(&c.session) && !cookie.contains(&c.token));
        // With the cookie, the page; the form carries the CSRF token.
        let r = handle(
            &c,
            get("/directories/new", "localhost:4000", Some(&c.session)),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = std::str::from_utf8(r.body()).unwrap();
        assert!(body.contains(&c.csrf));
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert!(r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }

    #[tokio::test]
    async fn without_the_token_or_its_cookie_nothing_is_shown() {
        let c = console();
        let r = handle(&c, get("/", "127.0.0.1:4000", None)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = handle(&c, get("/?token=guess", "127.0.0.1:4000", None)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = handle(&c, get("/", "127.0.0.1:4000", Some("guess"))).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn another_host_name_is_refused_even_with_the_token() {
        // DNS rebinding: evil.example resolves to 127.0.0.1; the browser sends its own name.
        let c = console();
        for host in [
            "evil.example:4000",
            "127.0.0.1.evil.example",
            "10.0.0.1:4000",
        ] {
            let r = handle(&c, get(&format!("/?token={}", c.token), host, None)).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{host}");
            assert!(!r.headers().contains_key(header::SET_COOKIE));
        }
        let r = handle(&c, get(&format!("/?token={}", c.token), "[::1]:4000", None)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }

    #[tokio::test]
    async fn a_post_needs_the_csrf_token_and_a_same_origin_browser() {
        let c = console();
        let post = |body: String, site: &str| {
            lambda_http::http::Request::builder()
                .method("POST")
                .uri("/directories/d1/tokens")
                .header("host", "127.0.0.1:4000")
                .header("cookie", format!("{COOKIE}={}", c.session))
                .header("sec-fetch-site", site)
                .body(Body::from(body))
                .unwrap()
        };
        let r = handle(&c, post("csrf=nope".into(), "same-origin")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = handle(&c, post(format!("csrf={}", c.csrf), "cross-site")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Both right: the console calls the API (nothing listens on port 9 here).
        let r = handle(&c, post(format!("csrf={}", c.csrf), "same-origin")).await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_bound() {
        let err = bind("0.0.0.0:0".parse().unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(bind("127.0.0.1:0".parse().unwrap()).await.is_ok());
    }
}
