//! Directory lifecycle and status: create (with its first token), list, show, delete (marked
//! `deleting` now, data after the token grace), check and repair, and the tables themselves.
//!
//! A directory's `status` is the stored one (`pending` → `linked` → `deleting`, see
//! `store/directories.rs`), except that a pending or linked directory without a live credential
//! shows `invalid_credentials`: the IdP can no longer reach it, which is what the application's
//! admin screen has to say (WorkOS Directory Sync uses the same word).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::credentials::{self, TokenView};
use super::management::{directory, ManagementError, PublicUrl, ENV_TOKEN_GRACE_SECS};
use super::Service;
use crate::auth;
use crate::clock;
use crate::provider::Provider;
use crate::scim::schema::ResourceKind;
use crate::store::directories::{self, Directory};

pub use crate::store::check::{Problem, Report as CheckReport};
pub use crate::store::directories::AuthMethods;

/// What a directory shows of its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DirectoryStatus {
    /// Created; no authenticated SCIM request yet.
    Pending,
    /// Its IdP has made an authenticated SCIM request (`dsync.activated`).
    Linked,
    /// Pending or linked, but no live credential is left: the IdP cannot reach it.
    InvalidCredentials,
    /// Being deleted (`dsync.deleted`); its data goes after the token grace.
    Deleting,
}

/// The last failed authenticated SCIM request of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct LastError {
    pub at: Option<String>,
    pub status: Option<u16>,
    pub detail: Option<String>,
}

/// A directory as the management API and `scimctl` show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DirectoryView {
    pub id: String,
    pub name: String,
    pub status: DirectoryStatus,
    pub created_at: String,
    pub linked_at: Option<String>,
    pub last_request_at: Option<String>,
    pub last_error: Option<LastError>,
    pub scim_v2_url: String,
    pub scim_v1_url: String,
    pub token_endpoint: String,
    pub auth_methods: AuthMethods,
    /// The identity provider it is set up for, once chosen.
    pub provider: Option<Provider>,
}

/// A new directory with its first bearer token (shown this once).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct CreatedDirectory {
    #[serde(flatten)]
    pub directory: DirectoryView,
    pub token: String,
    pub token_id: String,
}

/// One directory with its counts and its bearer tokens.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DirectoryDetail {
    #[serde(flatten)]
    pub directory: DirectoryView,
    pub users: u64,
    pub groups: u64,
    pub tokens: Vec<TokenView>,
}

/// A directory deleted here and now (the command line).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DirectoryDeleted {
    pub deleted: String,
    pub items_deleted: usize,
}

/// A directory marked `deleting`; the clean-up function deletes its data after the grace.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DirectoryDeleting {
    pub deleting: String,
}

/// The tables `scimctl tables create` made (`created`: the ones that were missing).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct TablesCreated {
    pub table: String,
    pub tokens_table: String,
    pub created: Vec<String>,
}

/// How long a command-line delete waits between revoking tokens and deleting data:
/// `SCIM_TOKEN_GRACE_SECS`, else the Lambdas' token-cache TTL.
pub fn token_grace_from_env() -> Duration {
    std::env::var(ENV_TOKEN_GRACE_SECS)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(auth::CACHE_TTL, Duration::from_secs)
}

/// Creates the directory and tokens tables where missing (local endpoints; SAM makes them in AWS).
pub async fn create_tables(svc: &Service) -> Result<TablesCreated, ManagementError> {
    let created = svc.store.create_tables().await?;
    Ok(TablesCreated {
        table: svc.store.table().to_string(),
        tokens_table: svc.store.tokens_table().to_string(),
        created,
    })
}

/// Creates a directory and its first bearer token.
pub async fn create(
    svc: &Service,
    base: &PublicUrl,
    name: &str,
    expires_in_days: Option<u32>,
    provider: Option<Provider>,
) -> Result<CreatedDirectory, ManagementError> {
    let mut d = Directory::new(uuid::Uuid::now_v7().to_string(), name.to_string());
    d.provider = provider;
    svc.store.create_directory(&d).await?;
    let (token, record) = credentials::new_token(svc, &d.id, expires_in_days).await?;
    Ok(CreatedDirectory {
        directory: describe(svc, base, &d).await?,
        token,
        token_id: record.token_id,
    })
}

pub async fn list(svc: &Service, base: &PublicUrl) -> Result<Vec<DirectoryView>, ManagementError> {
    let mut out = Vec::new();
    for d in svc.store.list_directories().await? {
        out.push(describe(svc, base, &d).await?);
    }
    Ok(out)
}

pub async fn show(
    svc: &Service,
    base: &PublicUrl,
    id: &str,
) -> Result<DirectoryDetail, ManagementError> {
    let d = directory(svc, id).await?;
    let directory = describe(svc, base, &d).await?;
    Ok(DirectoryDetail {
        directory,
        users: svc.store.count(id, ResourceKind::User).await?,
        groups: svc.store.count(id, ResourceKind::Group).await?,
        tokens: svc
            .store
            .list_tokens(id)
            .await?
            .iter()
            .map(|t| credentials::token_view(t, &d))
            .collect(),
    })
}

/// Deletes a directory here and now (the command line: waits `grace`, then deletes).
pub async fn delete_now(
    svc: &Service,
    id: &str,
    grace: Duration,
) -> Result<DirectoryDeleted, ManagementError> {
    begin_delete(svc, id).await?;
    let items = svc.store.delete_directory(id, grace).await?;
    svc.store.delete_webhook(id).await?;
    Ok(DirectoryDeleted {
        deleted: id.into(),
        items_deleted: items,
    })
}

/// Marks a directory `deleting` (`dsync.deleted`) and revokes its tokens; the data goes after
/// the token grace (`delete_now`, or the clean-up function for the management API, whose
/// requests cannot wait that long).
pub async fn begin_delete(svc: &Service, id: &str) -> Result<DirectoryDeleting, ManagementError> {
    let d = directory(svc, id).await?;
    svc.store.begin_delete(&d).await?;
    svc.store.revoke_credentials(id).await?;
    // The registration outlives the data by a day: `dsync.deleted` and the events before it
    // can still be delivered.
    let expires = clock::now_millis() / 1000 + 86_400;
    svc.store.expire_webhook(id, expires).await?;
    Ok(DirectoryDeleting {
        deleting: id.into(),
    })
}

/// Verifies the directory's invariants (`store::check`); with `repair`, fixes what it finds.
pub async fn check(svc: &Service, id: &str, repair: bool) -> Result<CheckReport, ManagementError> {
    directory(svc, id).await?;
    Ok(svc.store.check_directory(id, repair).await?)
}

/// A directory as the command line and the management API show it.
pub(crate) async fn describe(
    svc: &Service,
    base: &PublicUrl,
    d: &Directory,
) -> Result<DirectoryView, ManagementError> {
    let now = clock::now_millis();
    let m = d.auth_methods;
    // One read of the directory's credentials for both kinds.
    let (tokens, clients) = svc.store.credentials_of(&d.id).await?;
    let tokens = m.bearer && tokens.iter().any(|t| t.is_live(now));
    let clients = m.client_credentials && clients.iter().any(|c| c.is_live(now));
    let status = match d.status.as_str() {
        directories::DELETING => DirectoryStatus::Deleting,
        _ if !tokens && !clients => DirectoryStatus::InvalidCredentials,
        directories::PENDING => DirectoryStatus::Pending,
        _ => DirectoryStatus::Linked,
    };
    Ok(DirectoryView {
        id: d.id.clone(),
        name: d.name.clone(),
        status,
        created_at: d.created_at.clone(),
        linked_at: d.linked_at.clone(),
        last_request_at: d.last_request_at.clone(),
        last_error: d.last_error.clone().and_then(last_error),
        scim_v2_url: base.scim_v2(&d.id),
        scim_v1_url: base.scim_v1(&d.id),
        token_endpoint: base.token_endpoint(&d.id),
        auth_methods: m,
        provider: d.provider,
    })
}

/// The stored `{at, status, detail}` (its fields are each optional, as the store reads them).
fn last_error(v: Value) -> Option<LastError> {
    serde_json::from_value(v).ok()
}
