//! Webhook registrations and their delivery state.
//!
//! - The registration (URL and signing secret) is in the webhooks table, keyed by directory. The
//!   secret must be readable to sign with, so it is kept apart from everything else: a table of
//!   its own, encrypted with a customer-managed KMS key that only the management and webhook
//!   roles may use (template.yaml `WebhooksKey`; a role without `kms:Decrypt` on it cannot read
//!   the table whatever its DynamoDB grants). A re-registration keeps the secret it replaces
//!   for [`ROTATION_OVERLAP_MS`], so receivers can switch secrets without a gap.
//! - The delivery state is the directory partition's `WEBHOOK` item: the last sequence number
//!   delivered (the cursor), a lease (one deliverer per directory at a time, so deliveries go out
//!   in sequence order), the last failure and since when the head event has been failing, the
//!   events parked after being refused too long, and whether the endpoint disabled itself (410).

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::{
    get_n, get_s, is_condition_failure, key, n, s, unless_condition_failed, Item, Store, StoreError,
};
use crate::clock;

/// How long a replaced signing secret still signs deliveries (next to the new one).
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;
/// Parked events the state keeps (the newest); older ones are still in the Events API.
pub const MAX_PARKED: usize = 100;
/// Longest `last_error` stored.
const MAX_ERROR_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Webhook {
    pub directory_id: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    /// The secret this registration replaced and until when (Unix ms) it still signs.
    #[serde(skip)]
    pub previous_secret: Option<(String, i64)>,
    pub created_at: String,
}

impl Webhook {
    /// The secrets deliveries are signed with at `now_ms`: the current one, then the replaced
    /// one while its overlap lasts.
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let Some((previous, until)) = &self.previous_secret {
            if now_ms < *until {
                out.push(previous);
            }
        }
        out
    }
}

/// An event set aside after its receiver refused it for longer than the park time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Parked {
    pub sequence: u64,
    pub event_id: String,
    pub error: String,
    pub parked_at: String,
}

/// Where a directory's deliveries stand.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DeliveryState {
    /// The last sequence number delivered (0: none).
    pub delivered: u64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The event that is failing now, and since when (Unix ms) it has been.
    #[serde(skip)]
    pub failing: Option<(u64, i64)>,
    pub parked: Vec<Parked>,
    /// Why and when deliveries stopped (the endpoint answered 410 Gone); `None`: they run.
    pub disabled: Option<String>,
    pub disabled_at: Option<String>,
}

fn parked_to_item(p: &Parked) -> AttributeValue {
    AttributeValue::M(
        [
            ("sequence".to_string(), n(p.sequence)),
            ("event_id".to_string(), s(&p.event_id)),
            ("error".to_string(), s(&p.error)),
            ("parked_at".to_string(), s(&p.parked_at)),
        ]
        .into(),
    )
}

fn parked_from_item(v: &AttributeValue) -> Option<Parked> {
    let m = v.as_m().ok()?;
    Some(Parked {
        sequence: get_n(m, "sequence")?,
        event_id: get_s(m, "event_id")?.into(),
        error: get_s(m, "error").unwrap_or_default().into(),
        parked_at: get_s(m, "parked_at").unwrap_or_default().into(),
    })
}

fn parked_list(parked: &[Parked]) -> AttributeValue {
    AttributeValue::L(parked.iter().map(parked_to_item).collect())
}

fn bounded(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

impl Store {
    pub async fn put_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.webhooks_table)
            .set_item(Some(webhook_item(w)))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Puts `w` on condition the registration is still the one read: signed with `replacing`,
    /// or none (or an expired one) when `replacing` is `None`. False when another registration
    /// got there first (the caller reads again), so two re-registrations at once cannot drop
    /// the secret a receiver still checks.
    pub async fn replace_webhook(
        &self,
        w: &Webhook,
        replacing: Option<&str>,
    ) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.webhooks_table)
            .set_item(Some(webhook_item(w)));
        let put = match replacing {
            Some(secret) => put
                .condition_expression("secret = :read")
                .expression_attribute_values(":read", s(secret)),
            None => put
                .condition_expression("attribute_not_exists(directory_id) OR #ttl <= :now")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(clock::now_millis() / 1000)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::sdk(e)),
        }
    }
}

/// A registration from its item (`None`: not a whole registration).
fn webhook_from_item(i: &Item) -> Option<Webhook> {
    let previous = get_s(i, "previous_secret").zip(get_n(i, "previous_secret_until"));
    Some(Webhook {
        directory_id: get_s(i, keys::WEBHOOK_DIRECTORY)?.into(),
        url: get_s(i, "url")?.into(),
        secret: get_s(i, "secret")?.into(),
        previous_secret: previous.map(|(p, until)| (p.to_string(), until as i64)),
        created_at: get_s(i, "created_at").unwrap_or_default().into(),
    })
}

/// A registration as its item.
fn webhook_item(w: &Webhook) -> Item {
    let mut item = Item::new();
    item.insert(keys::WEBHOOK_DIRECTORY.into(), s(&w.directory_id));
    item.insert("url".into(), s(&w.url));
    item.insert("secret".into(), s(&w.secret));
    if let Some((previous, until)) = &w.previous_secret {
        item.insert("previous_secret".into(), s(previous));
        item.insert("previous_secret_until".into(), n(until));
    }
    item.insert("created_at".into(), s(&w.created_at));
    item
}

impl Store {
    pub async fn get_webhook(&self, dir: &str) -> Result<Option<Webhook>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.webhooks_table)
            .key(keys::WEBHOOK_DIRECTORY, s(dir))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?
            .item;
        // TTL deletes lazily (often days late): an expired registration is gone already.
        let now_secs = clock::now_millis() as u64 / 1000;
        let live = |i: &&Item| get_n(i, "ttl").is_none_or(|t| t > now_secs);
        Ok(item.as_ref().filter(live).and_then(webhook_from_item))
    }

    /// Lets a deleted directory's registration expire (DynamoDB TTL) at `at_secs`, so its last
    /// events (`dsync.deleted`) can still be delivered and the clean-up function, which finishes
    /// the delete, never needs access to the webhooks table or its key.
    pub async fn expire_webhook(&self, dir: &str, at_secs: i64) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.webhooks_table)
            .key(keys::WEBHOOK_DIRECTORY, s(dir))
            .update_expression("SET #ttl = :at")
            .condition_expression("attribute_exists(directory_id)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":at", n(at_secs))
            .send()
            .await;
        unless_condition_failed(out)
    }

    /// Lets a deleted directory's delivery state expire with its events (`at_secs`): it outlives
    /// the rest of the partition so that a trigger still in the queue resumes from the cursor
    /// instead of starting a new state at 0 and sending the history again.
    pub async fn expire_delivery_state(&self, dir: &str, at_secs: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::webhook_state_sk().into(),
            )))
            .update_expression("SET #ttl = :at")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":at", n(at_secs))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Moves a registration kept in the tokens table by an earlier version (`webhook#{dir}`) into
    /// the webhooks table, unless one is there already, then deletes the old item (its secret in
    /// clear, readable by roles that should not read it). `true` when there was one to move.
    pub async fn migrate_legacy_webhook(&self, dir: &str) -> Result<bool, StoreError> {
        let legacy = keys::legacy_webhook_key(dir);
        let Some(old) = self.get_secret(&legacy).await? else {
            return Ok(false);
        };
        // The old item had the same attributes (under a different key).
        if let Some(moved) = webhook_from_item(&old).filter(|w| w.directory_id == dir) {
            if self.get_webhook(dir).await?.is_none() {
                self.put_webhook(&moved).await?;
            }
        }
        self.delete_secret(&legacy).await?;
        Ok(true)
    }

    pub async fn delete_webhook(&self, dir: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.webhooks_table)
            .key(keys::WEBHOOK_DIRECTORY, s(dir))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    pub async fn delivery_state(&self, dir: &str) -> Result<DeliveryState, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), keys::webhook_state_sk().into())
            .await?
            .unwrap_or_default();
        let failing = get_n(&item, "failing_sequence").zip(get_n(&item, "failing_since"));
        Ok(DeliveryState {
            delivered: get_n(&item, "delivered").unwrap_or(0),
            last_error: get_s(&item, "last_error").map(str::to_string),
            last_attempt_at: get_s(&item, "last_attempt_at").map(str::to_string),
            failing: failing.map(|(seq, since)| (seq, since as i64)),
            parked: item
                .get("parked")
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(parked_from_item).collect())
                .unwrap_or_default(),
            disabled: get_s(&item, "disabled").map(str::to_string),
            disabled_at: get_s(&item, "disabled_at").map(str::to_string),
        })
    }

    /// Sets the cursor of a new webhook: deliveries start after `seq`.
    pub async fn start_deliveries_at(&self, dir: &str, seq: u64) -> Result<(), StoreError> {
        let mut item = key(keys::directory_pk(dir), keys::webhook_state_sk().into());
        item.insert("delivered".into(), n(seq));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Takes (or extends) the directory's delivery lease for `holder` until `until_ms`; false when
    /// another holder's lease is still running.
    pub async fn lease_deliveries(
        &self,
        dir: &str,
        holder: &str,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        self.set_lease(
            dir,
            holder,
            until_ms,
            "attribute_not_exists(lease_until) OR lease_until < :now OR holder = :me",
        )
        .await
    }

    /// Extends a lease `holder` still has; false when it lost it (it ran out and another
    /// deliverer took it, or a resume cleared it). Unlike [`Store::lease_deliveries`] this never
    /// takes a free lease back: whoever held it since may have moved the cursor this holder
    /// read, so a holder that lost its lease must start over from the stored cursor.
    pub async fn renew_deliveries(
        &self,
        dir: &str,
        holder: &str,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        self.set_lease(dir, holder, until_ms, "holder = :me").await
    }

    async fn set_lease(
        &self,
        dir: &str,
        holder: &str,
        until_ms: u64,
        condition: &str,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::webhook_state_sk().into(),
            )))
            .update_expression("SET lease_until = :until, holder = :me")
            .condition_expression(condition)
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":me", s(holder));
        if condition.contains(":now") {
            update = update.expression_attribute_values(":now", n(clock::now_millis()));
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// Ends `holder`'s lease (if it still holds it).
    pub async fn release_deliveries(&self, dir: &str, holder: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::webhook_state_sk().into(),
            )))
            .update_expression("REMOVE lease_until, holder")
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        unless_condition_failed(out)
    }

    /// Records a delivery: the cursor moves to `delivered` and the failure is cleared. False
    /// when `holder` lost the lease (another deliverer goes on).
    pub async fn record_delivery(
        &self,
        dir: &str,
        holder: &str,
        delivered: u64,
    ) -> Result<bool, StoreError> {
        let update = self
            .held_update(dir, holder)
            .update_expression(
                "SET last_attempt_at = :at, delivered = :d \
                 REMOVE last_error, failing_sequence, failing_since",
            )
            .expression_attribute_values(":at", s(clock::now_rfc3339()))
            .expression_attribute_values(":d", n(delivered));
        self.send_held(update).await
    }

    /// Records a failed delivery of event `sequence`, failing since `since_ms`. False when
    /// `holder` lost the lease.
    pub async fn record_failure(
        &self,
        dir: &str,
        holder: &str,
        sequence: u64,
        since_ms: i64,
        error: &str,
    ) -> Result<bool, StoreError> {
        let update = self
            .held_update(dir, holder)
            .update_expression(
                "SET last_attempt_at = :at, last_error = :e, failing_sequence = :seq, \
                 failing_since = :since",
            )
            .expression_attribute_values(":at", s(clock::now_rfc3339()))
            .expression_attribute_values(":e", s(bounded(error)))
            .expression_attribute_values(":seq", n(sequence))
            .expression_attribute_values(":since", n(since_ms));
        self.send_held(update).await
    }

    /// Sets event `parked.sequence` aside and moves the cursor past it; `parked` is the whole
    /// new list (the newest [`MAX_PARKED`] are kept). False when `holder` lost the lease.
    pub async fn park_event(
        &self,
        dir: &str,
        holder: &str,
        parked: &[Parked],
    ) -> Result<bool, StoreError> {
        let Some(last) = parked.last() else {
            return Ok(true);
        };
        let keep = &parked[parked.len().saturating_sub(MAX_PARKED)..];
        let update = self
            .held_update(dir, holder)
            .update_expression(
                "SET last_attempt_at = :at, last_error = :e, delivered = :d, parked = :p \
                 REMOVE failing_sequence, failing_since",
            )
            .expression_attribute_values(":at", s(clock::now_rfc3339()))
            .expression_attribute_values(":e", s(bounded(&last.error)))
            .expression_attribute_values(":d", n(last.sequence))
            .expression_attribute_values(":p", parked_list(keep));
        self.send_held(update).await
    }

    /// Stops deliveries (the endpoint answered 410 Gone) until the webhook is registered again
    /// or resumed. False when `holder` lost the lease.
    pub async fn disable_deliveries(
        &self,
        dir: &str,
        holder: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let update = self
            .held_update(dir, holder)
            .update_expression(
                "SET last_attempt_at = :at, last_error = :e, disabled = :e, disabled_at = :at",
            )
            .expression_attribute_values(":at", s(clock::now_rfc3339()))
            .expression_attribute_values(":e", s(bounded(why)));
        self.send_held(update).await
    }

    /// Turns deliveries back on after a 410 (a new registration of the endpoint).
    pub async fn enable_deliveries(&self, dir: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::webhook_state_sk().into(),
            )))
            .update_expression("REMOVE disabled, disabled_at")
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Delivers again from event `from` on: the cursor goes to `from - 1`, parked events from
    /// `from` on leave the parked list (they are sent again), deliveries are enabled, and the
    /// lease is cleared so that a deliverer still running stops at its next step (it finds its
    /// lease gone) instead of moving the cursor past the resumed events.
    pub async fn resume_deliveries(&self, dir: &str, from: u64) -> Result<(), StoreError> {
        let state = self.delivery_state(dir).await?;
        let parked: Vec<Parked> = state
            .parked
            .into_iter()
            .filter(|p| p.sequence < from)
            .collect();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::webhook_state_sk().into(),
            )))
            .update_expression(
                "SET delivered = :d, parked = :p REMOVE lease_until, holder, last_error, \
                 failing_sequence, failing_since, disabled, disabled_at",
            )
            .expression_attribute_values(":d", n(from.saturating_sub(1)))
            .expression_attribute_values(":p", parked_list(&parked))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// An UpdateItem of the state item that applies only while `holder` has the lease.
    fn held_update(
        &self,
        dir: &str,
        holder: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::webhook_state_sk().into(),
            )))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
    }

    async fn send_held(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<bool, StoreError> {
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::sdk(e)),
        }
    }
}
