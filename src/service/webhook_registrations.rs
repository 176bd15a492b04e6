//! A directory's webhook registration: where its events are POSTed (signed, Standard Webhooks),
//! the signing secret, and the delivery state an admin reads and resumes. Delivery itself is
//! `webhooks.rs`; this module only registers, shows, resumes and removes.
//!
//! A replacement gets a new secret and the replaced one keeps signing next to it for 24 h
//! (`previous_secret_expires_at`), so the receiver can switch without a gap. A new webhook gets
//! the events committed from then on; the Events API has the history.

use serde::Serialize;

use super::management::{directory, writable_directory, ManagementError};
use super::webhooks::target::{self, UrlPolicy, WebhookUrl};
use super::webhooks::{self, connect};
use super::Service;
use crate::clock;
use crate::store::webhooks::{Webhook, ROTATION_OVERLAP_MS};
use crate::store::StoreError;

pub use crate::store::webhooks::{DeliveryState, Parked};

/// The registration and where its deliveries stand.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct WebhookView {
    pub directory_id: String,
    pub url: String,
    pub created_at: String,
    /// Until when the replaced secret still signs, while it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
    pub delivery: DeliveryState,
}

/// A new or replaced registration with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RegisteredWebhook {
    pub directory_id: String,
    pub url: String,
    pub created_at: String,
    pub secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct WebhookDeleted {
    /// Always `"webhook"`.
    pub deleted: &'static str,
    pub directory_id: String,
}

/// Until when the replaced secret signs, if it still does at `now`.
fn overlap_until(hook: &Webhook, now: i64) -> Option<String> {
    hook.previous_secret
        .as_ref()
        .filter(|(_, until)| *until > now)
        .map(|(_, until)| clock::format_rfc3339(*until))
}

/// The directory's webhook and its delivery state (parked events included), or `None`.
pub async fn show(svc: &Service, dir: &str) -> Result<Option<WebhookView>, ManagementError> {
    directory(svc, dir).await?;
    let Some(hook) = svc.store.get_webhook(dir).await? else {
        return Ok(None);
    };
    Ok(Some(WebhookView {
        previous_secret_expires_at: overlap_until(&hook, clock::now_millis()),
        delivery: svc.store.delivery_state(dir).await?,
        directory_id: hook.directory_id,
        url: hook.url,
        created_at: hook.created_at,
    }))
}

/// Registers (or replaces) the directory's webhook; a replacement also turns deliveries back
/// on after a 410. Which URLs are accepted is `policy`'s (`Aws` in AWS, `Local` on a laptop).
pub async fn register(
    svc: &Service,
    dir: &str,
    url: &str,
    policy: UrlPolicy,
) -> Result<RegisteredWebhook, ManagementError> {
    writable_directory(svc, dir).await?;
    let checked = WebhookUrl::parse(url, policy)?;
    check_resolves_public(&checked, policy).await?;
    let now = clock::now_millis();
    let secret = webhooks::new_secret();
    // Conditional on the registration read, again when another got there first: the secret it
    // replaces is always the one receivers were given last.
    let mut attempts = 0;
    let hook = loop {
        attempts += 1;
        let existing = svc.store.get_webhook(dir).await?;
        let hook = Webhook {
            directory_id: dir.into(),
            url: checked.as_str().into(),
            secret: secret.clone(),
            previous_secret: existing
                .as_ref()
                .map(|old| (old.secret.clone(), now + ROTATION_OVERLAP_MS)),
            created_at: clock::format_rfc3339(now),
        };
        // A replaced URL keeps the cursor (what was not delivered goes to the new one).
        if existing.is_none() {
            let seq = svc.store.sequence(dir).await?;
            svc.store.start_deliveries_at(dir, seq).await?;
        } else {
            svc.store.enable_deliveries(dir).await?;
        }
        let replacing = existing.as_ref().map(|old| old.secret.as_str());
        if svc.store.replace_webhook(&hook, replacing).await? {
            break hook;
        }
        if attempts >= 5 {
            return Err(ManagementError::Store(StoreError::Conflict(
                "the webhook registration kept changing; retry".into(),
            )));
        }
    };
    Ok(RegisteredWebhook {
        previous_secret_expires_at: overlap_until(&hook, now),
        directory_id: hook.directory_id,
        url: hook.url,
        created_at: hook.created_at,
        secret: hook.secret,
    })
}

/// Delivers the directory's events again from sequence number `from` on (parked events, or
/// events a receiver lost), and turns deliveries back on after a 410. Takes effect at the
/// directory's next delivery: its next event in AWS, within a moment on a local server.
pub async fn resume(
    svc: &Service,
    dir: &str,
    from: u64,
) -> Result<Option<WebhookView>, ManagementError> {
    writable_directory(svc, dir).await?;
    if svc.store.get_webhook(dir).await?.is_none() {
        return Err(ManagementError::NoWebhook(dir.into()));
    }
    let next = svc.store.sequence(dir).await? + 1;
    if from == 0 || from > next {
        return Err(ManagementError::ResumeOutOfRange { next });
    }
    svc.store.resume_deliveries(dir, from).await?;
    show(svc, dir).await
}

pub async fn delete(svc: &Service, dir: &str) -> Result<WebhookDeleted, ManagementError> {
    directory(svc, dir).await?;
    svc.store.delete_webhook(dir).await?;
    Ok(WebhookDeleted {
        deleted: "webhook",
        directory_id: dir.into(),
    })
}

/// Refuses a host name that resolves to an address webhooks may not reach, so the application
/// hears it now (400) rather than from `last_error` later. A name that does not resolve (yet)
/// is accepted: the deliverer checks every address it connects to anyway.
async fn check_resolves_public(url: &WebhookUrl, policy: UrlPolicy) -> Result<(), ManagementError> {
    let target::Host::Name(name) = url.host() else {
        return Ok(());
    };
    let resolver = connect::CheckedResolver::new(policy, connect::system_lookup());
    let lookup = tokio::time::timeout(std::time::Duration::from_secs(2), resolver.resolve(name));
    match lookup.await {
        Ok(Err(connect::ResolveError::Refused(e))) => Err(e.into()),
        _ => Ok(()),
    }
}

/// What the one-off upgrade step moved (`scimctl webhook migrate`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhooksMigrated {
    pub directories: usize,
    pub moved: Vec<String>,
}

/// Moves every registration an earlier version kept in the tokens table into the webhooks table
/// (run once after upgrading; running it again moves nothing).
pub async fn migrate(svc: &Service) -> Result<WebhooksMigrated, ManagementError> {
    let directories = svc.store.list_directories().await?;
    let mut moved = Vec::new();
    for d in &directories {
        if svc.store.migrate_legacy_webhook(&d.id).await? {
            moved.push(d.id.clone());
        }
    }
    Ok(WebhooksMigrated {
        directories: directories.len(),
        moved,
    })
}
