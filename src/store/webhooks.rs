//! Webhook registrations and their delivery state.
//!
//! - The registration (URL and signing secret) is in the secrets (tokens) table under
//!   `webhook#{directory}`: the secret must be readable to sign with, so it lives with the other
//!   credentials, never in the directory table.
//! - The delivery state is the directory partition's `WEBHOOK` item: the last sequence number
//!   delivered (the cursor), a lease (one deliverer per directory at a time, so deliveries go out
//!   in sequence order), and the last failure.

use super::keys::{self, TOKEN_HASH};
use super::{get_n, get_s, is_condition_failure, key, n, s, Item, Store, StoreError};
use crate::clock;

const STATE_SK: &str = "WEBHOOK";

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Webhook {
    pub directory_id: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub created_at: String,
}

/// Where a directory's deliveries stand.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DeliveryState {
    /// The last sequence number delivered (0: none).
    pub delivered: u64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
}

fn registration_key(dir: &str) -> String {
    format!("webhook#{dir}")
}

impl Store {
    pub async fn put_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(TOKEN_HASH.into(), s(registration_key(&w.directory_id)));
        item.insert("directory_id".into(), s(&w.directory_id));
        item.insert("url".into(), s(&w.url));
        item.insert("secret".into(), s(&w.secret));
        item.insert("created_at".into(), s(&w.created_at));
        self.put_secret(item, false).await
    }

    pub async fn get_webhook(&self, dir: &str) -> Result<Option<Webhook>, StoreError> {
        let item = self.get_secret(&registration_key(dir)).await?;
        Ok(item.as_ref().and_then(|i| {
            Some(Webhook {
                directory_id: get_s(i, "directory_id")?.into(),
                url: get_s(i, "url")?.into(),
                secret: get_s(i, "secret")?.into(),
                created_at: get_s(i, "created_at").unwrap_or_default().into(),
            })
        }))
    }

    pub async fn delete_webhook(&self, dir: &str) -> Result<(), StoreError> {
        self.delete_secret(&registration_key(dir)).await
    }

    pub async fn delivery_state(&self, dir: &str) -> Result<DeliveryState, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), STATE_SK.into())
            .await?
            .unwrap_or_default();
        Ok(DeliveryState {
            delivered: get_n(&item, "delivered").unwrap_or(0),
            last_error: get_s(&item, "last_error").map(str::to_string),
            last_attempt_at: get_s(&item, "last_attempt_at").map(str::to_string),
        })
    }

    /// Sets the cursor of a new webhook: deliveries start after `seq`.
    pub async fn start_deliveries_at(&self, dir: &str, seq: u64) -> Result<(), StoreError> {
        let mut item = key(keys::directory_pk(dir), STATE_SK.into());
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
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::directory_pk(dir), STATE_SK.into())))
            .update_expression("SET lease_until = :until, holder = :me")
            .condition_expression(
                "attribute_not_exists(lease_until) OR lease_until < :now OR holder = :me",
            )
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":now", n(clock::now_millis()))
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match out {
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
            .set_key(Some(key(keys::directory_pk(dir), STATE_SK.into())))
            .update_expression("REMOVE lease_until, holder")
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match out {
            Err(e) if !is_condition_failure(&e) => Err(StoreError::sdk(e)),
            _ => Ok(()),
        }
    }

    /// Records a delivery attempt: the cursor moved to `delivered` (never back), or a failure.
    /// False when `holder` lost the lease (another deliverer goes on).
    pub async fn record_delivery(
        &self,
        dir: &str,
        holder: &str,
        delivered: u64,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::directory_pk(dir), STATE_SK.into())))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":at", s(clock::now_rfc3339()))
            .expression_attribute_values(":d", n(delivered));
        update = match error {
            Some(e) => update
                .update_expression("SET last_attempt_at = :at, last_error = :e, delivered = if_not_exists(delivered, :d)")
                .expression_attribute_values(":e", s(e.chars().take(500).collect::<String>())),
            None => update.update_expression(
                "SET last_attempt_at = :at, delivered = :d REMOVE last_error",
            ),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::sdk(e)),
        }
    }
}
