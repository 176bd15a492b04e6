//! Directory lifecycle and status: create (with its first token), list, show, delete (marked
//! `deleting` now, data after the token grace), check and repair, and the tables themselves.
//!
//! A directory's `status` is the stored one (`pending` → `linked` → `deleting`, see
//! `store/directories.rs`), except that a pending or linked directory without a live credential
//! shows `invalid_credentials`: the IdP can no longer reach it, which is what the application's
//! admin screen has to say (WorkOS Directory Sync uses the same word).
//!
//! `show` adds the directory's health: its counts (exact counters, `store/paging.rs`), its SCIM
//! requests by status class over the last hour and day (the request log's hourly aggregates,
//! `store/request_stats.rs`), and where its webhook deliveries stand. All of it is read from the
//! directory's own items: no metric carries a directory (alarms stay directory-free).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::credentials::{self, TokenView};
use super::management::{directory, ManagementError, PublicUrl, ENV_TOKEN_GRACE_SECS};
use super::Service;
use crate::auth;
use crate::clock;
use crate::provider::Provider;
use crate::store::clients::ClientRecord;
use crate::store::directories::{self, Directory};
use crate::store::request_stats::{self, HourStats};
use crate::store::tokens::TokenRecord;
use crate::store::webhooks::DeliveryState;

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

/// One directory with its health (counts, recent requests, webhook delivery) and its bearer
/// tokens.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DirectoryDetail {
    #[serde(flatten)]
    pub directory: DirectoryView,
    pub users: u64,
    pub groups: u64,
    /// Group memberships (one per user in a group; a deleted group's until its clean-up ends).
    pub memberships: u64,
    pub requests: RequestHealth,
    /// Where webhook deliveries stand; absent when the directory has no webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookHealth>,
    pub tokens: Vec<TokenView>,
}

/// The directory's SCIM requests, counted by the hour (the request log's aggregates): each
/// window starts at the top of an hour (`since`), so "last hour" covers 60 to 120 minutes and
/// "last 24 hours" 24 to 25 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RequestHealth {
    pub last_hour: RequestCounts,
    pub last_24_hours: RequestCounts,
    /// The latest 2xx answer within the last 25 hours.
    pub last_success_at: Option<String>,
    /// The latest 4xx or 5xx answer within the last 25 hours.
    pub last_failure_at: Option<String>,
}

/// Requests of one window by status class; `failures` are the 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RequestCounts {
    /// Start of the first hour counted (RFC 3339).
    pub since: String,
    pub requests: u64,
    pub failures: u64,
    pub status_2xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
}

/// Where a directory's webhook deliveries stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct WebhookHealth {
    pub url: String,
    /// Every event numbered up to this one has been delivered (or parked).
    pub delivered_up_to: u64,
    /// The directory's latest event number.
    pub latest_sequence: u64,
    /// Events after `delivered_up_to` still to deliver, counted up to 1,000.
    pub lag_events: u64,
    /// How long the oldest undelivered event has waited, in seconds (0: none waits).
    pub lag_seconds: u64,
    /// When the oldest undelivered event was committed (RFC 3339).
    pub oldest_undelivered_at: Option<String>,
    /// Events set aside after their receiver refused them too long (`scimctl webhook show`
    /// lists them; `webhook resume` sends them again).
    pub parked_events: usize,
    pub last_error: Option<String>,
    /// Whether deliveries stopped because the endpoint answered 410 Gone.
    pub disabled: bool,
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
    // Registered first: a catalogue saved from now on recomputes this directory too.
    super::roles::settle_new_directory(svc, &d.id).await?;
    super::custom_attributes::settle_new_directory(svc, &d.id).await?;
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

/// One directory with its health and tokens. DynamoDB round trips: 7 reads in parallel (the
/// directory, its credentials, the counter shards, the event sequence shards, the hourly
/// request aggregates, the webhook registration and its delivery state), then — only when a
/// webhook has events still to deliver — one Query of their creation times (up to 1,000 small
/// items) to count them and date the oldest: 7 or 8 calls, in one or two steps of latency.
pub async fn show(
    svc: &Service,
    base: &PublicUrl,
    id: &str,
) -> Result<DirectoryDetail, ManagementError> {
    let now = clock::now_millis();
    let store = &svc.store;
    // Boxed: six SDK calls side by side make a future too large for a caller's stack.
    let (d, (tokens, clients), totals, hours, hook, delivery) = tokio::try_join!(
        Box::pin(directory(svc, id)),
        Box::pin(async { Ok(store.credentials_of(id).await?) }),
        Box::pin(async { Ok(store.totals(id).await?) }),
        Box::pin(async { Ok(store.request_stats(id, now).await?) }),
        Box::pin(async { Ok(store.get_webhook(id).await?) }),
        Box::pin(async { Ok(store.delivery_state(id).await?) }),
    )?;
    let webhook = match hook {
        Some(hook) => {
            let (lag, oldest) = store
                .undelivered(id, delivery.delivered, totals.sequence)
                .await?;
            Some(webhook_health(
                hook.url,
                &delivery,
                totals.sequence,
                (lag, oldest),
                now,
            ))
        }
        None => None,
    };
    Ok(DirectoryDetail {
        directory: view(base, &d, &tokens, &clients, now),
        users: totals.users,
        groups: totals.groups,
        memberships: totals.memberships,
        requests: request_health(&hours, now),
        webhook,
        tokens: tokens
            .iter()
            .map(|t| credentials::token_view(t, &d))
            .collect(),
    })
}

/// The request windows of `hours` (the aggregates `request_stats` read) at `now_ms`.
pub fn request_health(hours: &[HourStats], now_ms: i64) -> RequestHealth {
    let window = |back_hours: i64| {
        let first = request_stats::hour_of(now_ms - back_hours * 3_600_000);
        let mut c = RequestCounts {
            since: format!("{first}:00:00.000Z"),
            requests: 0,
            failures: 0,
            status_2xx: 0,
            status_4xx: 0,
            status_5xx: 0,
        };
        for h in hours.iter().filter(|h| h.hour >= first) {
            c.status_2xx += h.c2xx;
            c.status_4xx += h.c4xx;
            c.status_5xx += h.c5xx;
        }
        c.failures = c.status_4xx + c.status_5xx;
        c.requests = c.status_2xx + c.failures;
        c
    };
    // Timestamps are fixed-width RFC 3339 (UTC): the greatest string is the latest time.
    let latest = |at: fn(&HourStats) -> Option<&String>| hours.iter().filter_map(at).max().cloned();
    RequestHealth {
        last_hour: window(1),
        last_24_hours: window(24),
        last_success_at: latest(|h| h.last_success_at.as_ref()),
        last_failure_at: latest(|h| h.last_failure_at.as_ref()),
    }
}

/// Where deliveries stand against the directory's `latest` event number; `lag`: the events
/// after the cursor (counted up to 1,000) and the commit time of the first, if one is there.
fn webhook_health(
    url: String,
    delivery: &DeliveryState,
    latest: u64,
    (lag, oldest): (u64, Option<String>),
    now_ms: i64,
) -> WebhookHealth {
    let lag_seconds = oldest
        .as_deref()
        .and_then(clock::parse_rfc3339)
        .map_or(0, |at| (now_ms.saturating_sub(at).max(0) / 1000) as u64);
    WebhookHealth {
        url,
        delivered_up_to: delivery.delivered,
        latest_sequence: latest,
        lag_events: lag,
        lag_seconds,
        oldest_undelivered_at: oldest,
        parked_events: delivery.parked.len(),
        last_error: delivery.last_error.clone(),
        disabled: delivery.disabled.is_some(),
    }
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
    // One read of the directory's credentials for both kinds.
    let (tokens, clients) = svc.store.credentials_of(&d.id).await?;
    Ok(view(base, d, &tokens, &clients, clock::now_millis()))
}

/// A directory as shown, from its credentials read at `now`.
fn view(
    base: &PublicUrl,
    d: &Directory,
    tokens: &[TokenRecord],
    clients: &[ClientRecord],
    now: i64,
) -> DirectoryView {
    let m = d.auth_methods;
    let tokens = m.bearer && tokens.iter().any(|t| t.is_live(now));
    let clients = m.client_credentials && clients.iter().any(|c| c.is_live(now));
    let status = match d.status.as_str() {
        directories::DELETING => DirectoryStatus::Deleting,
        _ if !tokens && !clients => DirectoryStatus::InvalidCredentials,
        directories::PENDING => DirectoryStatus::Pending,
        _ => DirectoryStatus::Linked,
    };
    DirectoryView {
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
    }
}

/// The stored `{at, status, detail}` (its fields are each optional, as the store reads them).
fn last_error(v: Value) -> Option<LastError> {
    serde_json::from_value(v).ok()
}
