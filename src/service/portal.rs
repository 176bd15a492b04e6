//! The Admin Portal's use cases: what the customer's IT admin may do with the one directory a
//! setup link opens.
//!
//! Opening a link (`open_link`) exchanges its secret for a session: a fresh 256-bit secret for
//! the cookie (`scim_ps_…`), stored only as its SHA-256 with the directory, the link's options
//! and the session's CSRF token (`store/portal_sessions.rs`). A session lasts `SESSION_HOURS`
//! (Scalekit's embedded portal sessions last 6 hours), never past its link's expiry, and ends
//! when its link is revoked. Every other use case takes the `PortalSession` and reaches only its
//! directory: there is no parameter through which another directory could be named.
//!
//! Opening a link, choosing the provider, revealing, rotating or revoking a credential, saving
//! role assignments (`portal_roles`) and saving a custom attribute mapping (`portal_attributes`)
//! are recorded (`store/portal_sessions.rs`); the
//! application reads that record through the management API (`activity`).

use serde::Serialize;

use super::credentials::{self, ClientView, CreatedClient, IssuedToken, Listed, TokenView};
use super::directories::{self, DirectoryStatus, DirectoryView, LastError};
use super::directory_reads::{self, NormalisedGroup, NormalisedUser, ResourcePage};
use super::management::{directory, ManagementError, PublicUrl};
use super::request_log::{self, RequestCursor, RequestPage};
use super::Service;
use crate::auth;
use crate::clock;
use crate::provider::Provider;
use crate::request_log::{RequestFilter, StatusClass};
use crate::store::directories::DELETING;
use crate::store::portal_sessions::{PortalActivityRecord, PortalSessionRecord};

/// The cookie secret's prefix (a secret scanner can tell it from a token).
pub const SESSION_PREFIX: &str = "scim_ps_";
/// How long a session lasts, at most.
pub const SESSION_HOURS: i64 = 6;
const HOUR_MS: i64 = 3_600_000;
/// How many arrivals the status shows.
const ARRIVALS: usize = 10;

/// Why the portal refused.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("this setup link has expired")]
    LinkExpired,
    /// Unknown, revoked, or its directory is gone.
    #[error("this setup link is not valid")]
    LinkNotValid,
    /// No session, or it expired, or its link was revoked.
    #[error("your session has ended")]
    SessionEnded,
    #[error("not found")]
    NotFound,
    /// The Roles step of a stack that declares no roles.
    #[error("the application declares no roles")]
    NoRoles,
    /// The Attributes step of a stack that declares no custom attribute keys.
    #[error("the application declares no custom attributes")]
    NoAttributes,
    #[error(transparent)]
    Management(#[from] ManagementError),
}

impl From<crate::store::StoreError> for PortalError {
    fn from(e: crate::store::StoreError) -> Self {
        PortalError::Management(e.into())
    }
}

/// A live session: the directory it opens and the link's options.
#[derive(Debug, Clone)]
pub struct PortalSession(PortalSessionRecord);

impl PortalSession {
    pub fn directory_id(&self) -> &str {
        &self.0.directory_id
    }
    pub fn csrf(&self) -> &str {
        &self.0.csrf
    }
    pub fn expires_at_millis(&self) -> i64 {
        self.0.expires_at_millis
    }
    pub fn embed_origin(&self) -> Option<&str> {
        self.0.embed_origin.as_deref()
    }
    pub fn return_url(&self) -> Option<&str> {
        self.0.return_url.as_deref()
    }
    pub fn success_url(&self) -> Option<&str> {
        self.0.success_url.as_deref()
    }
    pub fn app_name(&self) -> Option<&str> {
        self.0.app_name.as_deref()
    }
}

/// A link exchanged for a session: the cookie's secret (set once, never shown) and the session.
pub struct OpenedLink {
    pub cookie: String,
    pub session: PortalSession,
}

/// Exchanges a setup link's secret for a new session.
pub async fn open_link(svc: &Service, secret: &str) -> Result<OpenedLink, PortalError> {
    if !is_secret(secret, auth::PORTAL_LINK_PREFIX) {
        return Err(PortalError::LinkNotValid);
    }
    let now = clock::now_millis();
    let link = svc
        .store
        .get_portal_link(&auth::hash_token(secret))
        .await?
        .ok_or(PortalError::LinkNotValid)?;
    if !link.is_live(now) {
        return Err(PortalError::LinkExpired);
    }
    let d = svc.store.get_directory(&link.directory_id).await?;
    if d.is_none_or(|d| d.status == DELETING) {
        return Err(PortalError::LinkNotValid);
    }
    let cookie = auth::random_with(SESSION_PREFIX, 32);
    let record = PortalSessionRecord {
        secret_hash: auth::hash_token(&cookie),
        directory_id: link.directory_id.clone(),
        link_id: link.link_id.clone(),
        created_at: clock::format_rfc3339(now),
        expires_at_millis: (now + SESSION_HOURS * HOUR_MS).min(link.expires_at_millis),
        csrf: auth::random_with("", 32),
        return_url: link.return_url,
        success_url: link.success_url,
        embed_origin: link.embed_origin,
        app_name: link.app_name,
    };
    svc.store.put_portal_session(&record).await?;
    let session = PortalSession(record);
    note(svc, &session, "link_opened", None).await?;
    Ok(OpenedLink { cookie, session })
}

/// The live session a cookie names.
pub async fn session(svc: &Service, cookie: &str) -> Result<PortalSession, PortalError> {
    if !is_secret(cookie, SESSION_PREFIX) {
        return Err(PortalError::SessionEnded);
    }
    let record = svc
        .store
        .get_portal_session(&auth::hash_token(cookie))
        .await?
        .filter(|s| s.is_live(clock::now_millis()))
        .ok_or(PortalError::SessionEnded)?;
    Ok(PortalSession(record))
}

/// `prefix` + 64 lowercase hex: the only shape worth a lookup.
fn is_secret(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| auth::is_hex(h, 64))
}

/// The directory as the portal shows it (its status, URLs and provider).
pub async fn directory_view(
    svc: &Service,
    base: &PublicUrl,
    s: &PortalSession,
) -> Result<DirectoryView, PortalError> {
    let d = directory(svc, s.directory_id()).await?;
    if d.status == DELETING {
        return Err(PortalError::SessionEnded);
    }
    Ok(directories::describe(svc, base, &d).await?)
}

/// Records the IT admin's choice of identity provider.
pub async fn choose_provider(
    svc: &Service,
    s: &PortalSession,
    provider: Provider,
) -> Result<(), PortalError> {
    svc.store.set_provider(s.directory_id(), provider).await?;
    note(svc, s, "provider_chosen", Some(provider.name())).await
}

/// Reveals a new bearer token (once: only its hash is kept).
pub async fn reveal_token(svc: &Service, s: &PortalSession) -> Result<IssuedToken, PortalError> {
    let issued = credentials::issue_token(svc, s.directory_id(), None).await?;
    note(svc, s, "token_revealed", Some(&issued.record.token_id)).await?;
    Ok(issued)
}

/// Makes an OAuth client and reveals its secret (once).
pub async fn create_client(
    svc: &Service,
    base: &PublicUrl,
    s: &PortalSession,
) -> Result<CreatedClient, PortalError> {
    let created = credentials::create_client(svc, base, s.directory_id(), None).await?;
    note(svc, s, "client_created", Some(&created.client.client_id)).await?;
    Ok(created)
}

pub async fn revoke_token(
    svc: &Service,
    s: &PortalSession,
    token_id: &str,
) -> Result<(), PortalError> {
    match credentials::revoke_token(svc, s.directory_id(), token_id).await {
        Err(ManagementError::NoToken(..)) => return Err(PortalError::NotFound),
        other => other?,
    };
    note(svc, s, "token_revoked", Some(token_id)).await
}

pub async fn revoke_client(
    svc: &Service,
    s: &PortalSession,
    client_id: &str,
) -> Result<(), PortalError> {
    match credentials::revoke_client(svc, s.directory_id(), client_id).await {
        Err(ManagementError::NoClient(..)) => return Err(PortalError::NotFound),
        other => other?,
    };
    note(svc, s, "client_revoked", Some(client_id)).await
}

/// The directory's credentials, without their secrets, and its provider.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    pub tokens: Vec<Listed<TokenView>>,
    pub clients: Vec<Listed<ClientView>>,
    pub provider: Option<Provider>,
}

/// Two reads: the directory (last uses, provider) and its credentials.
pub async fn credentials(svc: &Service, s: &PortalSession) -> Result<Credentials, PortalError> {
    let d = directory(svc, s.directory_id()).await?;
    if d.status == DELETING {
        return Err(PortalError::SessionEnded);
    }
    let (tokens, clients) = credentials::all_of(svc, &d).await?;
    Ok(Credentials {
        tokens,
        clients,
        provider: d.provider,
    })
}

/// What the set-up page polls: the status, what has arrived and the last failure, explained.
#[derive(Debug, Clone, Serialize)]
pub struct PortalStatus {
    pub status: DirectoryStatus,
    pub linked_at: Option<String>,
    pub users: u64,
    pub groups: u64,
    /// The first users to arrive (display names), oldest first.
    pub arrivals: Vec<String>,
    pub last_error: Option<ExplainedError>,
    pub session_expires_at: String,
}

/// The last failed request and what to change in the IdP.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedError {
    pub at: Option<String>,
    pub status: Option<u16>,
    pub detail: Option<String>,
    pub explanation: &'static str,
}

/// The status of the directory `d` (the session's, as `directory_view` read it).
pub async fn status(
    svc: &Service,
    d: DirectoryView,
    s: &PortalSession,
) -> Result<PortalStatus, PortalError> {
    let dir = s.directory_id();
    let first = directory_reads::first_users(svc, dir, ARRIVALS).await?;
    let counts = svc.store.counts(dir).await?;
    Ok(PortalStatus {
        status: d.status,
        linked_at: d.linked_at,
        users: counts.users,
        groups: counts.groups,
        arrivals: first.iter().map(user_label).collect(),
        last_error: d.last_error.map(explain),
        session_expires_at: clock::format_rfc3339(s.expires_at_millis()),
    })
}

/// What a person calls a user: the name, else the user name, else the e-mail.
pub fn user_label(u: &NormalisedUser) -> String {
    let name = [u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let display = u
        .raw_attributes
        .get("displayName")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    display
        .filter(|d| !d.trim().is_empty())
        .or_else(|| (!name.is_empty()).then_some(name))
        .or_else(|| u.username.clone())
        .or_else(|| u.email.clone())
        .unwrap_or_else(|| u.id.clone())
}

/// A failed request, in the words an IT admin can act on.
fn explain(e: LastError) -> ExplainedError {
    ExplainedError {
        explanation: what_to_change(e.status.unwrap_or(0)),
        at: e.at,
        status: e.status,
        detail: e.detail,
    }
}

/// What a failed request's status means for the IT admin: what to change in the IdP.
pub fn what_to_change(status: u16) -> &'static str {
    match status {
        401 => "The IdP's token was refused: it is wrong, revoked or expired. Generate a new token and paste it into the IdP's token field (without a second \"Bearer\").",
        403 => "The request was refused: check that the IdP uses this directory's URL and token, and that the authentication method it uses is enabled.",
        404 => "The IdP asked for something that is not here: check that the base URL is exactly the one shown, with nothing appended; an IdP may also look up a user it has not created yet, which is normal.",
        409 => "The IdP sent a user or group that already exists (same userName or group name). Match existing users on userName, or remove the duplicate.",
        400 => "The IdP sent something this directory could not read. The detail says which attribute; check the IdP's attribute mappings.",
        412 => "The IdP's copy of the resource was out of date (its version did not match); it reads the resource again and retries on its own.",
        413 => "The IdP sent a request that is too large. Push large groups in smaller batches.",
        429 | 503 => "The directory was busy; the IdP retries on its own. Nothing to change unless this persists.",
        _ => "The request failed. The detail says why; if it persists, contact the application's support with the time shown.",
    }
}

/// The directory's SCIM requests, newest first: its failures only (4xx and 5xx), or all.
pub async fn requests(
    svc: &Service,
    s: &PortalSession,
    failures_only: bool,
    after: Option<&str>,
    limit: usize,
) -> Result<RequestPage, PortalError> {
    let filter = RequestFilter {
        statuses: if failures_only {
            vec![StatusClass::ClientError, StatusClass::ServerError]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let after = match after {
        Some(a) => Some(RequestCursor::parse(a).ok_or(PortalError::NotFound)?),
        None => None,
    };
    Ok(request_log::list(svc, s.directory_id(), &filter, after.as_ref(), limit).await?)
}

/// A page of users in name order; with `q`, those whose user name starts with it.
pub async fn users(
    svc: &Service,
    s: &PortalSession,
    q: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<ResourcePage<NormalisedUser>, PortalError> {
    let dir = s.directory_id();
    Ok(directory_reads::search_users(svc, dir, q.unwrap_or(""), after, limit).await?)
}

/// A page of groups in name order; with `q`, those whose name starts with it.
pub async fn groups(
    svc: &Service,
    s: &PortalSession,
    q: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<ResourcePage<NormalisedGroup>, PortalError> {
    let dir = s.directory_id();
    Ok(directory_reads::search_groups(svc, dir, q.unwrap_or(""), after, limit).await?)
}

/// One user of the session's directory, with its groups.
pub async fn user(
    svc: &Service,
    s: &PortalSession,
    id: &str,
) -> Result<NormalisedUser, PortalError> {
    directory_reads::user(svc, s.directory_id(), id)
        .await?
        .ok_or(PortalError::NotFound)
}

pub async fn group(
    svc: &Service,
    s: &PortalSession,
    id: &str,
) -> Result<NormalisedGroup, PortalError> {
    directory_reads::group(svc, s.directory_id(), id)
        .await?
        .ok_or(PortalError::NotFound)
}

/// Users and groups counts.
pub async fn counts(svc: &Service, s: &PortalSession) -> Result<(u64, u64), PortalError> {
    let c = svc.store.counts(s.directory_id()).await?;
    Ok((c.users, c.groups))
}

pub(super) async fn note(
    svc: &Service,
    s: &PortalSession,
    action: &str,
    subject: Option<&str>,
) -> Result<(), PortalError> {
    let record = PortalActivityRecord {
        at_millis: clock::now_millis(),
        action: action.into(),
        link_id: s.0.link_id.clone(),
        subject: subject.map(str::to_string),
    };
    Ok(svc
        .store
        .record_portal_activity(s.directory_id(), &record)
        .await?)
}

/// One thing the IT admin did in the portal, as the management API shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct PortalActivity {
    pub at: String,
    /// `link_opened`, `provider_chosen`, `token_revealed`, `token_revoked`, `client_created`,
    /// `client_revoked`, `roles_assigned` or `attributes_mapped`.
    pub action: String,
    /// The setup link whose session did it.
    pub link_id: String,
    /// The token id, client id or provider it concerned; for `roles_assigned`, how many groups
    /// give roles and how many users' roles the save changed; for `attributes_mapped`, the keys
    /// the directory maps itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The directory's recent portal activity, newest first (the management API).
pub async fn activity(svc: &Service, dir: &str) -> Result<Vec<PortalActivity>, ManagementError> {
    directory(svc, dir).await?;
    let records = svc.store.portal_activity(dir, 100).await?;
    Ok(records
        .into_iter()
        .map(|r| PortalActivity {
            at: clock::format_rfc3339(r.at_millis),
            action: r.action,
            link_id: r.link_id,
            subject: r.subject,
        })
        .collect())
}
