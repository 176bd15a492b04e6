//! What every management use case shares (directories, credentials, webhook registrations, event
//! and directory reads): the one error type they answer with, the public base URL the printed
//! SCIM URLs start with, and the directory lookup each one begins with.
//!
//! The transports render these: the management API maps `ManagementError` to an HTTP answer in
//! one place (`api/manage/`), `scimctl` prints it. Store failures enter through one `From`, so
//! a store error keeps its cause (`#[source]`) up to the place that logs it.

use super::portal_links::PortalLinkError;
use super::webhooks::target::UrlError;
use super::Service;
use crate::scim::error::ScimError;
use crate::store::directories::Directory;
use crate::store::StoreError;

/// Environment variable naming the public base URL printed URLs start with.
pub const ENV_PUBLIC_URL: &str = "SCIM_PUBLIC_URL";
/// Seconds `directory delete` waits between revoking tokens and deleting data (default: the
/// Lambdas' token-cache TTL). 0 is safe only when no Lambda serves the table (a local emulator).
pub const ENV_TOKEN_GRACE_SECS: &str = "SCIM_TOKEN_GRACE_SECS";
/// Where `scim-local` listens by default; printed when `SCIM_PUBLIC_URL` is unset.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
/// Live tokens a directory may hold at once: the current one and its replacement during rotation.
pub const MAX_LIVE_TOKENS: usize = 2;

/// Why a management use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// Throttled or unreachable store: nothing half-written, the same request may be sent again.
    #[error(transparent)]
    Unavailable(StoreError),
    /// Any other store failure (a bug or a corrupt item): logged, answered generically.
    #[error(transparent)]
    Store(StoreError),
    /// A read through the SCIM service refused (a reference read over its bound, ...).
    #[error("{}", .0.detail)]
    Scim(#[source] ScimError),
    /// A stored user or group whose body does not fit its normalised shape.
    #[error("stored resource {id} does not fit its normalised shape")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    WebhookUrl(#[from] UrlError),
    #[error("a directory needs at least one way to authenticate")]
    NoAuthMethod,
    #[error("directory {0} has no webhook; register one first")]
    NoWebhook(String),
    #[error("resume_from_sequence must be between 1 and {next} (the next event)")]
    ResumeOutOfRange { next: u64 },
    #[error("directory {0} does not accept {1}; enable it first")]
    MethodOff(String, &'static str),
    #[error("directory {0} already has {MAX_LIVE_TOKENS} live OAuth clients; revoke one first")]
    TooManyClients(String),
    #[error("no OAuth client {0} in directory {1}")]
    NoClient(String, String),
    #[error("no directory {0}")]
    NoDirectory(String),
    #[error("directory {0} is being deleted")]
    Deleting(String),
    #[error(transparent)]
    PortalLink(#[from] PortalLinkError),
    #[error("no portal link {0} in directory {1}")]
    NoPortalLink(String, String),
    #[error("no token {0} in directory {1}")]
    NoToken(String, String),
    #[error("directory {0} already has {MAX_LIVE_TOKENS} live tokens; revoke one first")]
    TooManyTokens(String),
    /// A role catalogue or assignment that does not hold together (the reason).
    #[error("{0}")]
    InvalidRoles(String),
    /// A custom attribute catalogue or mapping that does not hold together (the reason).
    #[error("{0}")]
    InvalidAttributes(String),
}

/// The one place a store failure becomes a management error.
impl From<StoreError> for ManagementError {
    fn from(e: StoreError) -> Self {
        match e {
            e if e.is_unavailable() => ManagementError::Unavailable(e),
            other => ManagementError::Store(other),
        }
    }
}

/// `https://host[/stage]`: what a directory's SCIM base URLs and token endpoint start with. The
/// transport derives it (`SCIM_PUBLIC_URL`, else the request's host and stage); the use cases
/// only append paths to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn new(base: &str) -> Self {
        PublicUrl(base.trim_end_matches('/').to_string())
    }

    /// `SCIM_PUBLIC_URL`, else where `scim-local` listens by default (the command line's view).
    pub fn from_env() -> Self {
        let url = std::env::var(ENV_PUBLIC_URL)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_PUBLIC_URL.into());
        PublicUrl::new(&url)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn scim_v2(&self, dir: &str) -> String {
        format!("{}/scim/v2/{dir}", self.0)
    }

    pub fn scim_v1(&self, dir: &str) -> String {
        format!("{}/scim/v1/{dir}", self.0)
    }

    /// An Admin Portal setup link (`portal_links.rs`). The secret rides in the fragment, which a
    /// browser never sends (RFC 3986 §3.5): it cannot reach an access log, a proxy's log or a
    /// `Referer`. The page at `/portal/open` hands it to the server in a POST body.
    ///
    /// An embedded link names its embedding origin in the query (not a secret): the page that
    /// opens it may be framed by that origin alone.
    pub fn portal_link(&self, secret: &str, embed_origin: Option<&str>) -> String {
        match embed_origin {
            Some(o) => {
                let q: String = url::form_urlencoded::byte_serialize(o.as_bytes()).collect();
                format!("{}/portal/open?embed={q}#{secret}", self.0)
            }
            None => format!("{}/portal/open#{secret}", self.0),
        }
    }

    /// The OAuth 2.0 token endpoint of a directory (client-credentials grant, `api/oauth.rs`).
    pub fn token_endpoint(&self, dir: &str) -> String {
        format!("{}/oauth2/{dir}/token", self.0)
    }
}

/// The directory every management use case starts from, or `NoDirectory`.
pub(crate) async fn directory(svc: &Service, id: &str) -> Result<Directory, ManagementError> {
    svc.store
        .get_directory(id)
        .await?
        .ok_or_else(|| ManagementError::NoDirectory(id.into()))
}

/// A directory that may still take new credentials or a webhook: not one being deleted (a
/// token issued while its data goes would outlive it).
pub(crate) async fn writable_directory(
    svc: &Service,
    id: &str,
) -> Result<Directory, ManagementError> {
    let d = directory(svc, id).await?;
    if d.status == crate::store::directories::DELETING {
        return Err(ManagementError::Deleting(id.into()));
    }
    Ok(d)
}
