//! Users and Groups as items, and every read of them: by id, many by id, by unique name, by index,
//! and in id order. Writes are in `mutate.rs`.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde_json::{Map, Value};

use super::keys::{self, Index};
use super::{get_n, get_s, key, n, s, Item, ItemKey, Record, State, Store, StoreError};
use crate::scim::resource::{index_values, IndexValues, Meta};
use crate::scim::schema::ResourceKind;

/// Attribute names of a resource item.
const BODY: &str = "body";
pub(crate) const VERSION: &str = "version";
const CREATED: &str = "created";
pub(crate) const MODIFIED: &str = "modified";
pub(crate) const ID: &str = "id";
pub(crate) const EDGE_SEQ: &str = "es";
pub(crate) const PENDING: &str = "pending";
pub(crate) const PENDING_SINCE: &str = "pending_since";
pub(crate) const DELETING: &str = "deleting";
/// A user's resolved role and roles (`crate::roles::Resolved`).
pub(crate) const ROLE: &str = "role";
pub(crate) const ROLES: &str = "roles";
/// Present on a resource whose membership edges were all counted (`Record::counted`).
pub(crate) const COUNTED: &str = "counted";

impl Store {
    pub async fn get(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let item = self.get_item(keys::directory_pk(dir), keys::resource_sk(kind, id));
        if kind == ResourceKind::User {
            return item
                .await?
                .map(|i| record_from_item(&self.table, kind, &i))
                .transpose();
        }
        // A group's version counts its slots (`slots.rs`): read beside the item.
        let (item, slots) = tokio::try_join!(item, self.read_slots(dir, id))?;
        let Some(item) = item else {
            return Ok(None);
        };
        let record = record_from_item(&self.table, kind, &item)?;
        self.settle(dir, record, slots, || async {
            self.get_item(keys::directory_pk(dir), keys::resource_sk(kind, id))
                .await?
                .map(|i| record_from_item(&self.table, kind, &i))
                .transpose()
        })
        .await
    }

    /// Fetches many resources by id (BatchGetItem, 100 keys a call, strongly consistent). Missing
    /// ids are left out; the order of `ids` is kept.
    pub async fn get_many(
        &self,
        dir: &str,
        kind: ResourceKind,
        ids: &[String],
    ) -> Result<Vec<Record>, StoreError> {
        let mut found: HashMap<String, Record> = HashMap::new();
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|id| key(keys::directory_pk(dir), keys::resource_sk(kind, id)))
                .collect();
            for item in self.batch_get(keys, None).await? {
                let r = record_from_item(&self.table, kind, &item)?;
                found.insert(r.id.clone(), r);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// BatchGetItem with retries of unprocessed keys; `projection` limits the attributes read.
    pub(crate) async fn batch_get(
        &self,
        mut keys: Vec<Item>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut attempt = 0;
        while !keys.is_empty() {
            let mut ka = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true);
            if let Some(p) = projection {
                ka = ka.projection_expression(p);
            }
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ka.build().map_err(StoreError::Request)?)
                .send()
                .await
                .map_err(StoreError::sdk)?;
            if let Some(mut r) = out.responses {
                items.extend(r.remove(&self.table).unwrap_or_default());
            }
            if let Some(mut u) = out.unprocessed_keys {
                if let Some(rest) = u.remove(&self.table) {
                    keys = rest.keys;
                    if !keys.is_empty() {
                        super::deadline::retry(&mut attempt, "reads kept being throttled").await?;
                    }
                }
            }
        }
        Ok(items)
    }

    /// The id owning a userName (User) or displayName (Group), case-insensitively, from its
    /// uniqueness guard.
    pub async fn id_by_unique_name(
        &self,
        dir: &str,
        kind: ResourceKind,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), keys::unique_name_sk(kind, name))
            .await?;
        Ok(item.and_then(|i| get_s(&i, ID).map(str::to_string)))
    }

    /// Ids whose index item matches `value` (case folded as the index defines).
    pub async fn ids_by_index(
        &self,
        dir: &str,
        index: Index,
        value: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let items = self
            .query_prefix(dir, &index.prefix(value), None, limit, true)
            .await?
            .0;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, keys::SK).map(keys::last_component))
            .collect())
    }

    /// One page of a resource kind in id (creation) order, starting after `after` (an id).
    /// Returns the records and whether more may follow.
    pub async fn list_page(
        &self,
        dir: &str,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Record>, bool), StoreError> {
        let start = after.map(|id| keys::resource_sk(kind, id));
        let (items, more) = self
            .query_prefix(dir, keys::resource_prefix(kind), start, limit, false)
            .await?;
        let records = items
            .iter()
            .map(|i| record_from_item(&self.table, kind, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((records, more))
    }

    /// The `limit` newest resources of a kind, newest first (ids are UUIDv7: their order is
    /// creation order): one Query, read backwards. Resources being created or deleted are left
    /// out, so fewer may come back.
    pub async fn newest(
        &self,
        dir: &str,
        kind: ResourceKind,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
            .expression_attribute_values(":prefix", s(keys::resource_prefix(kind)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let mut records = Vec::new();
        for item in out.items.unwrap_or_default() {
            let r = record_from_item(&self.table, kind, &item)?;
            if r.state == State::Live {
                records.push(r);
            }
        }
        Ok(records)
    }

    /// Query of the directory partition on a sort-key prefix, following pages until `limit` items
    /// (or the end). `keys_only` projects just the keys.
    pub(crate) async fn query_prefix(
        &self,
        dir: &str,
        prefix: &str,
        start_after_sk: Option<String>,
        limit: usize,
        keys_only: bool,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = start_after_sk.map(|sk| key(keys::directory_pk(dir), sk));
        loop {
            let want = limit.saturating_sub(items.len());
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            // DynamoDB rejects an empty string in a key condition: "" means the whole partition.
            q = if prefix.is_empty() {
                q.key_condition_expression("pk = :pk")
            } else {
                q.key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix))
            };
            // Read only what is wanted (a 1 MB page of keys would otherwise over-read).
            if let Ok(limit) = i32::try_from(want) {
                q = q.limit(limit);
            }
            if keys_only {
                // Keys, and the mark of a group still being created (absent on every other item),
                // so key-only walks can skip what readers cannot see.
                q = q.projection_expression("pk, sk, pending");
            }
            let out = q.send().await.map_err(StoreError::sdk)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if items.len() < limit => start = Some(k),
                Some(_) => return Ok((items, true)),
                None => return Ok((items, false)),
            }
        }
    }
}

pub(crate) fn index_entries(kind: ResourceKind, v: &IndexValues) -> Vec<(Index, String)> {
    let mut out = Vec::new();
    match kind {
        ResourceKind::User => {
            if let Some(e) = &v.external_id {
                out.push((Index::UserExternalId, e.clone()));
            }
            out.extend(v.emails.iter().map(|e| (Index::UserEmail, e.clone())));
        }
        ResourceKind::Group => {
            if let Some(e) = &v.external_id {
                out.push((Index::GroupExternalId, e.clone()));
            }
        }
    }
    out
}

pub(crate) fn resource_item(dir: &str, kind: ResourceKind, r: &Record) -> Result<Item, StoreError> {
    let body = serde_json::to_string(&r.body).map_err(|source| StoreError::Json {
        what: "a resource body",
        source,
    })?;
    let mut item = key(keys::directory_pk(dir), keys::resource_sk(kind, &r.id));
    item.insert(BODY.into(), s(body));
    item.insert(VERSION.into(), n(r.meta.version));
    if let Some(absorbed) = super::slots::absorbed_attribute(&r.absorbed) {
        item.insert(super::slots::ABSORBED.into(), absorbed);
    }
    item.insert(CREATED.into(), s(&r.meta.created));
    item.insert(MODIFIED.into(), s(&r.meta.last_modified));
    // Absent on items older than the edge sequence: a put must not make such a user, whose
    // edges were never counted, look never grouped.
    if r.edge_seq > 0 || r.never_grouped {
        item.insert(EDGE_SEQ.into(), n(r.edge_seq));
    }
    if r.counted {
        item.insert(COUNTED.into(), n(1));
    }
    if r.order > 0 {
        // Kept by a put that is not numbered (a numbered one writes its own: `tx.rs`).
        item.insert(super::tx::ORDER.into(), n(r.order));
    }
    item.extend(resolved_attributes(&r.resolved));
    match &r.state {
        State::Live => {}
        State::Pending { intent, since_ms } => {
            item.insert(PENDING.into(), s(intent));
            item.insert(PENDING_SINCE.into(), n(since_ms));
        }
        State::Deleting => {
            item.insert(DELETING.into(), n(1));
        }
    }
    Ok(item)
}

/// The record a resource item holds; `table` names where it was read, for a corrupt item's error.
pub(crate) fn record_from_item(
    table: &str,
    kind: ResourceKind,
    item: &Item,
) -> Result<Record, StoreError> {
    let corrupt = |problem, source| StoreError::Corrupt {
        at: ItemKey::of(table, item),
        problem,
        source,
    };
    let id = get_s(item, keys::SK)
        .and_then(|sk| keys::id_from_resource_sk(kind, sk))
        .ok_or_else(|| corrupt("no resource sort key", None))?;
    let body: Map<String, Value> = get_s(item, BODY)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| corrupt("a body that is not a JSON object", Some(e)))?
        .ok_or_else(|| corrupt("no body", None))?;
    let state = match (get_s(item, PENDING), item.contains_key(DELETING)) {
        (Some(intent), _) => State::Pending {
            intent: intent.to_string(),
            since_ms: get_n(item, PENDING_SINCE).unwrap_or(0),
        },
        (None, true) => State::Deleting,
        (None, false) => State::Live,
    };
    let version = get_n(item, VERSION).ok_or_else(|| corrupt("no version", None))?;
    Ok(Record {
        id,
        body,
        meta: Meta {
            created: get_s(item, CREATED).unwrap_or_default().to_string(),
            last_modified: get_s(item, MODIFIED).unwrap_or_default().to_string(),
            version,
        },
        state,
        edge_seq: get_n(item, EDGE_SEQ).unwrap_or(0),
        resolved: resolved_of(item),
        order: get_n(item, super::tx::ORDER).unwrap_or(0),
        // Items older than the edge sequence have none: their groups are unknown.
        never_grouped: kind == ResourceKind::User && get_n(item, EDGE_SEQ) == Some(0),
        stored_version: version,
        absorbed: super::slots::absorbed_of(item),
        slots: None,
        counted: item.contains_key(COUNTED),
    })
}

/// The item attributes of a user's resolved roles (none when it has none).
pub(crate) fn resolved_attributes(r: &crate::roles::Resolved) -> Vec<(String, AttributeValue)> {
    let mut out = Vec::new();
    if let Some(role) = &r.role {
        out.push((ROLE.to_string(), s(role)));
    }
    if !r.roles.is_empty() {
        out.push((
            ROLES.to_string(),
            AttributeValue::L(r.roles.iter().map(s).collect()),
        ));
    }
    out
}

pub(crate) fn resolved_of(item: &Item) -> crate::roles::Resolved {
    crate::roles::Resolved {
        role: get_s(item, ROLE).map(String::from),
        roles: match item.get(ROLES) {
            Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        },
    }
}

impl Store {
    /// Bulk-loads resources with BatchWriteItem (25 items a call): the resource items and their
    /// guard and index items, without conditions. For seeding benchmarks and migrating an existing
    /// directory whose uniqueness the caller already guarantees — never on a request path.
    pub async fn bulk_load(
        &self,
        dir: &str,
        kind: ResourceKind,
        records: &[Record],
    ) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let pk = keys::directory_pk(dir);
        let mut writes = Vec::new();
        let mut put = |item: Item| -> Result<(), StoreError> {
            let p = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(StoreError::Request)?;
            writes.push(WriteRequest::builder().put_request(p).build());
            Ok(())
        };
        for r in records {
            put(resource_item(dir, kind, r)?)?;
            let idx = index_values(kind, &r.body);
            if let Some(name) = idx.unique_name() {
                let mut guard = key(pk.clone(), keys::unique_name_sk(kind, name));
                guard.insert(ID.into(), s(&r.id));
                put(guard)?;
            }
            for (index, value) in index_entries(kind, &idx) {
                put(key(pk.clone(), index.sk(&value, &r.id)))?;
            }
        }
        // The counter moves on one shard (the sum is what counts).
        let id = records.first().map_or("", |r| r.id.as_str());
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, keys::counter_sk(id))))
            .update_expression("ADD #c :by")
            .expression_attribute_names("#c", kind.endpoint())
            .expression_attribute_values(":by", n(records.len()))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        self.batch_write(writes).await
    }
}
