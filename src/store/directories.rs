//! Directories: one per customer organisation. A registry item per directory (partition
//! `DIRECTORIES`, admin path only) names it and holds its status; everything else of the
//! directory lives in its own partition, so deleting a directory is a Query of that partition
//! plus batched deletes.
//!
//! Status: `pending` (created, no SCIM request yet) → `linked` (first authenticated SCIM request:
//! `dsync.activated`) → `deleting` (`dsync.deleted`). `invalid_credentials` is not stored: it is
//! what a pending or linked directory shows when it has no live token (`service/directories.rs`).
//! `last_request_at` moves when a Lambda looks a token up (at most every `auth::CACHE_TTL` per
//! process), `last_error` when an authenticated request fails (at most once a minute per
//! process), so neither costs a write per request.
//!
//! The same write notes which credential was used: a top-level attribute per credential,
//! `last_used#{tokenId or clientId}` (an OAuth access token counts for its client). Top-level and
//! not a map: `SET last_used.#id` fails on an item without the map (every directory made before
//! it), and one UpdateItem cannot both create the map and set a path inside it (overlapping
//! paths), so a map would need a migration or a second call on the request path. Revoking a
//! credential removes its attribute; the listing reads them from the registry item it reads
//! anyway.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::{json, Value};

use super::keys::{self, REGISTRY_PK};
use super::members::delete_request;
use super::tx::{Expr, Role, Tx};
use super::{
    get_s, is_condition_failure, key, s, unless_condition_failed, Item, Store, StoreError,
};
use crate::clock;
use crate::events::{DirectorySummary, NewEvent};
use crate::provider::Provider;

pub const PENDING: &str = "pending";
pub const LINKED: &str = "linked";
pub const DELETING: &str = "deleting";
const STATUS: &str = "status";
const PROVIDER: &str = "provider";
/// Prefix of the registry attributes holding each credential's last use (see above).
const LAST_USED_PREFIX: &str = "last_used#";

/// The registry attribute holding when `credential` (a token id or client id) was last used.
fn last_used_attribute(credential: &str) -> String {
    format!("{LAST_USED_PREFIX}{credential}")
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Directory {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// `pending`, `linked` or `deleting` (directories from before statuses: `linked`).
    pub status: String,
    pub linked_at: Option<String>,
    pub last_request_at: Option<String>,
    /// `{at, status, detail}` of the last failed authenticated SCIM request.
    pub last_error: Option<Value>,
    /// How its SCIM clients may authenticate.
    pub auth_methods: AuthMethods,
    /// The identity provider it is set up for (chosen by the application or in the Admin Portal).
    pub provider: Option<Provider>,
    /// When each credential (token id or OAuth client id) last authenticated a SCIM request
    /// (RFC 3339); shown with the credential, not with the directory.
    #[serde(skip)]
    pub last_used: BTreeMap<String, String>,
}

/// The credentials a directory's SCIM clients may use: bearer tokens an admin issues, OAuth 2.0
/// client credentials (access tokens from the token endpoint), or both (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
// At least one is on (a directory needs a way in): what `PUT .../auth` requires.
#[cfg_attr(feature = "local", schemars(extend("anyOf" = [
    {"properties": {"bearer": {"const": true}}},
    {"properties": {"client_credentials": {"const": true}}}
])))]
pub struct AuthMethods {
    pub bearer: bool,
    pub client_credentials: bool,
}

impl Default for AuthMethods {
    fn default() -> Self {
        AuthMethods {
            bearer: true,
            client_credentials: true,
        }
    }
}

impl Directory {
    pub fn new(id: String, name: String) -> Self {
        Directory {
            id,
            name,
            created_at: clock::now_rfc3339(),
            status: PENDING.into(),
            linked_at: None,
            last_request_at: None,
            last_error: None,
            auth_methods: AuthMethods::default(),
            provider: None,
            last_used: BTreeMap::new(),
        }
    }

    /// When `credential` (a token id or OAuth client id) last authenticated a SCIM request.
    pub fn last_used_at(&self, credential: &str) -> Option<String> {
        self.last_used.get(credential).cloned()
    }

    /// What events say of the directory.
    pub fn summary(&self) -> DirectorySummary {
        DirectorySummary {
            id: self.id.clone(),
            name: self.name.clone(),
            created_at: self.created_at.clone(),
        }
    }
}

impl Store {
    pub async fn create_directory(&self, d: &Directory) -> Result<(), StoreError> {
        let mut item = key(REGISTRY_PK.into(), keys::registry_sk(&d.id));
        item.insert("id".into(), s(&d.id));
        item.insert("name".into(), s(&d.name));
        item.insert("created_at".into(), s(&d.created_at));
        item.insert(STATUS.into(), s(&d.status));
        if let Some(p) = d.provider {
            item.insert(PROVIDER.into(), s(p.name()));
        }
        // With its event sequence shards opened (`outbox.rs`): a writer takes any of them at once.
        let mut tx = Tx::new(self);
        tx.put(
            item,
            Some(Expr::new("attribute_not_exists(pk)")),
            Role::Resource,
        )?;
        super::outbox::open_shards(&mut tx, &d.id)?;
        match tx.commit(self).await {
            Err(StoreError::VersionMismatch) => Err(StoreError::Conflict(format!(
                "a directory with id {}",
                d.id
            ))),
            other => other,
        }
    }

    pub async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        let item = self
            .get_item(REGISTRY_PK.into(), keys::registry_sk(id))
            .await?;
        Ok(item.as_ref().and_then(directory_from_item))
    }

    /// An UpdateItem of a directory's registry entry, refused if the entry is gone.
    fn registry_update(
        &self,
        id: &str,
        expression: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(REGISTRY_PK.into(), keys::registry_sk(id))))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
    }

    /// Notes a directory's authenticated request made with `credential` (a bearer token's id, or
    /// the client id of an OAuth access token), in one UpdateItem; the first request links the
    /// directory and emits `dsync.activated` with the status change, in one transaction. Answers
    /// the registry entry as it was (`None`: there is none, the directory is gone).
    pub async fn record_request(
        &self,
        id: &str,
        credential: &str,
    ) -> Result<Option<Directory>, StoreError> {
        let out = self
            .registry_update(id, "SET last_request_at = :now, #used = :now")
            .expression_attribute_names("#used", last_used_attribute(credential))
            .expression_attribute_values(":now", s(clock::now_rfc3339()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match out {
            Ok(o) => o.attributes.unwrap_or_default(),
            // No registry entry (a directory being deleted): nothing to note.
            Err(e) if is_condition_failure(&e) => return Ok(None),
            Err(e) => return Err(StoreError::sdk(e)),
        };
        let Some(d) = directory_from_item(&old) else {
            return Ok(None);
        };
        if d.status != PENDING {
            return Ok(Some(d));
        }
        let mut tx = Tx::new(self);
        tx.update(
            key(REGISTRY_PK.into(), keys::registry_sk(id)),
            Expr::new("SET #st = :linked, linked_at = :now")
                .name("#st", STATUS)
                .value(":linked", s(LINKED))
                .value(":now", s(clock::now_rfc3339())),
            Some(
                Expr::new("#st = :pending")
                    .name("#st", STATUS)
                    .value(":pending", s(PENDING)),
            ),
            Role::Resource,
        )?;
        tx.emit(id, NewEvent::directory_activated(&d.summary(), LINKED));
        match tx.commit(self).await {
            // Another request linked it first.
            Ok(()) | Err(StoreError::VersionMismatch) => Ok(Some(d)),
            Err(e) => Err(e),
        }
    }

    /// Records the identity provider the directory is set up for.
    pub async fn set_provider(&self, id: &str, provider: Provider) -> Result<(), StoreError> {
        self.registry_update(id, "SET #p = :p")
            .expression_attribute_names("#p", PROVIDER)
            .expression_attribute_values(":p", s(provider.name()))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Forgets when a revoked credential was last used (nothing if the directory is gone).
    pub async fn forget_last_use(&self, id: &str, credential: &str) -> Result<(), StoreError> {
        let out = self
            .registry_update(id, "REMOVE #used")
            .expression_attribute_names("#used", last_used_attribute(credential))
            .send()
            .await;
        unless_condition_failed(out)
    }

    /// Sets how the directory's SCIM clients may authenticate (at least one way).
    pub async fn set_auth_methods(&self, id: &str, m: AuthMethods) -> Result<(), StoreError> {
        let mut methods = Vec::new();
        if m.bearer {
            methods.push(AttributeValue::S("bearer".into()));
        }
        if m.client_credentials {
            methods.push(AttributeValue::S("client_credentials".into()));
        }
        self.registry_update(id, "SET auth_methods = :m")
            .expression_attribute_values(":m", AttributeValue::L(methods))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Notes the last failed authenticated request of a directory.
    pub async fn record_error(
        &self,
        id: &str,
        status: u16,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut err = Item::new();
        err.insert("at".into(), s(clock::now_rfc3339()));
        err.insert("status".into(), AttributeValue::N(status.to_string()));
        err.insert(
            "detail".into(),
            s(detail.chars().take(500).collect::<String>()),
        );
        let out = self
            .registry_update(id, "SET last_error = :e")
            .expression_attribute_values(":e", AttributeValue::M(err))
            .send()
            .await;
        unless_condition_failed(out)
    }

    /// Marks a directory `deleting` and emits `dsync.deleted`, in one transaction (its tokens
    /// and data go next: `delete_directory`). Idempotent.
    pub async fn begin_delete(&self, d: &Directory) -> Result<(), StoreError> {
        if d.status == DELETING {
            return Ok(());
        }
        let mut tx = Tx::new(self);
        tx.update(
            key(REGISTRY_PK.into(), keys::registry_sk(&d.id)),
            Expr::new("SET #st = :deleting")
                .name("#st", STATUS)
                .value(":deleting", s(DELETING)),
            Some(
                Expr::new("attribute_exists(pk) AND #st <> :deleting")
                    .name("#st", STATUS)
                    .value(":deleting", s(DELETING)),
            ),
            Role::Resource,
        )?;
        tx.emit(&d.id, NewEvent::directory_deleted(&d.summary()));
        match tx.commit(self).await {
            Err(StoreError::VersionMismatch) => Ok(()),
            other => other,
        }
    }

    pub async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(REGISTRY_PK));
        let items = self.query_all(query).await?;
        Ok(items.iter().filter_map(directory_from_item).collect())
    }

    /// Deletes a directory: its tokens first, then — after `token_grace`, the time a warm Lambda
    /// may still accept a cached token (`auth::CACHE_TTL`), so no write can land behind the
    /// delete — every item of its partition but its events (kept, so `dsync.deleted` can still
    /// be read and delivered; TTL removes them), then the registry entry. Each step is
    /// idempotent: a delete cut off anywhere is finished by running it again. Returns the items
    /// deleted. The webhook registration is not touched here (it expires by TTL once the delete
    /// begins: `expire_webhook`), so the clean-up function needs no access to its table.
    pub async fn delete_directory(
        &self,
        id: &str,
        token_grace: std::time::Duration,
    ) -> Result<usize, StoreError> {
        self.revoke_credentials(id).await?;
        tokio::time::sleep(token_grace).await;
        // Again: a credential issued while the grace ran (the management API refuses new ones
        // for a deleting directory, scimctl may not have) must not outlive the data.
        self.revoke_credentials(id).await?;
        let mut deleted = 0;
        let mut after = None;
        let mut delivery_state = false;
        loop {
            let (items, more) = self.query_prefix(id, "", after.take(), 1000, true).await?;
            let keys: Vec<(String, String)> = items
                .iter()
                .filter_map(|i| Some((get_s(i, keys::PK)?.into(), get_s(i, keys::SK)?.into())))
                .collect();
            after = keys.last().map(|(_, sk)| sk.clone());
            // Key-only reads may carry a projected attribute besides the key (a pending group's
            // mark): the delete names the key alone.
            // The events stay (TTL removes them), and so does the webhook delivery state, whose
            // cursor keeps a late trigger from sending them again (`expire_delivery_state`).
            let mut writes = Vec::with_capacity(keys.len());
            for (pk, sk) in keys {
                match keys::SortKey::parse(&sk) {
                    Some(keys::SortKey::WebhookState) => delivery_state = true,
                    Some(k) if k.is_outbox() => {}
                    _ => writes.push(delete_request(pk, sk)?),
                }
            }
            deleted += writes.len();
            self.batch_write(writes).await?;
            if !more {
                break;
            }
        }
        if delivery_state {
            let retention = clock::now_millis() as u64 / 1000 + self.event_retention_days * 86_400;
            self.expire_delivery_state(id, retention).await?;
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(REGISTRY_PK.into(), keys::registry_sk(id))))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(deleted)
    }
}

pub(super) fn directory_from_item(item: &Item) -> Option<Directory> {
    let text = |k: &str| get_s(item, k).map(str::to_string);
    let last_error = item.get("last_error").and_then(|v| v.as_m().ok()).map(|m| {
        json!({
            "at": get_s(m, "at"),
            "status": m.get("status").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u16>().ok()),
            "detail": get_s(m, "detail"),
        })
    });
    let auth_methods = match item.get("auth_methods").and_then(|v| v.as_l().ok()) {
        Some(list) => {
            let has = |m: &str| list.iter().any(|v| v.as_s().is_ok_and(|s| s == m));
            AuthMethods {
                bearer: has("bearer"),
                client_credentials: has("client_credentials"),
            }
        }
        None => AuthMethods::default(),
    };
    let last_used = item
        .iter()
        .filter_map(|(name, v)| {
            let credential = name.strip_prefix(LAST_USED_PREFIX)?;
            Some((credential.to_string(), v.as_s().ok()?.clone()))
        })
        .collect();
    Some(Directory {
        auth_methods,
        last_used,
        id: get_s(item, "id")?.to_string(),
        name: text("name").unwrap_or_default(),
        created_at: text("created_at").unwrap_or_default(),
        status: text(STATUS).unwrap_or_else(|| LINKED.into()),
        linked_at: text("linked_at"),
        last_request_at: text("last_request_at"),
        last_error,
        // An unknown name (from a newer version) reads as none rather than failing the read.
        provider: text(PROVIDER).and_then(|p| Provider::from_name(&p)),
    })
}
