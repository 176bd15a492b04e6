//! Users and Groups as items: the resource item plus its index items, written together in one
//! transaction so a lookup never finds a half-written resource.
//!
//! Round trips: get = 1 GetItem; create = 1 TransactWriteItems (+1 counter update); replace =
//! 1 TransactWriteItems; delete = 1 TransactWriteItems (+ membership clean-up, see members.rs).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::KeysAndAttributes;
use serde_json::{Map, Value};

use super::keys::{self, Index};
use super::write::{Role, Tx};
use super::{get_n, get_s, key, n, s, Item, Record, Store, StoreError};
use crate::scim::resource::{index_values, IndexValues, Meta};
use crate::scim::schema::ResourceKind;

/// Attribute names of a resource item.
const BODY: &str = "body";
const VERSION: &str = "version";
const CREATED: &str = "created";
const MODIFIED: &str = "modified";
const ID: &str = "id";

impl Store {
    pub async fn get(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), keys::resource_sk(kind, id))
            .await?;
        item.map(|i| record_from_item(kind, &i)).transpose()
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
                let r = record_from_item(kind, &item)?;
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
                .request_items(&self.table, ka.build().map_err(StoreError::dynamo)?)
                .send()
                .await
                .map_err(StoreError::dynamo)?;
            if let Some(mut r) = out.responses {
                items.extend(r.remove(&self.table).unwrap_or_default());
            }
            if let Some(mut u) = out.unprocessed_keys {
                if let Some(rest) = u.remove(&self.table) {
                    keys = rest.keys;
                    attempt += 1;
                    tokio::time::sleep(super::write::backoff(attempt)).await;
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
    ) -> Result<Vec<String>, StoreError> {
        let items = self
            .query_prefix(dir, &index.prefix(value), None, usize::MAX, true)
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
            .map(|i| record_from_item(kind, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((records, more))
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
                q = q.projection_expression("pk, sk");
            }
            let out = q.send().await.map_err(StoreError::dynamo)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if items.len() < limit => start = Some(k),
                Some(_) => return Ok((items, true)),
                None => return Ok((items, false)),
            }
        }
    }

    /// Creates a resource with its guards and index items; `members` are group member edges to add
    /// in the same write (each checked to be an existing user).
    pub async fn create(
        &self,
        dir: &str,
        kind: ResourceKind,
        record: &Record,
        members: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = Tx::default();
        tx.put(
            self,
            resource_item(dir, kind, record)?,
            Some(("attribute_not_exists(pk)", Item::new())),
            Role::Resource,
        )?;
        let idx = index_values(kind, &record.body);
        self.index_changes(
            &mut tx,
            dir,
            kind,
            &record.id,
            &IndexValues::default(),
            &idx,
        )?;
        let plan = self
            .plan_members(dir, &record.id, members, &[], &mut tx)
            .await?;
        tx.commit(self).await?;
        self.finish_members(dir, &record.id, plan).await?;
        self.bump_count(dir, kind, 1).await
    }

    /// Replaces a resource whose stored version is `old.meta.version` (else `VersionMismatch`).
    /// `member_changes` (groups) are applied in the same transaction when they fit.
    pub async fn replace(
        &self,
        dir: &str,
        kind: ResourceKind,
        old: &Record,
        new: &Record,
        add_members: &[String],
        remove_members: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = Tx::default();
        tx.put(
            self,
            resource_item(dir, kind, new)?,
            Some(version_condition(old.meta.version)),
            Role::Resource,
        )?;
        let before = index_values(kind, &old.body);
        let after = index_values(kind, &new.body);
        self.index_changes(&mut tx, dir, kind, &new.id, &before, &after)?;
        let plan = self
            .plan_members(dir, &new.id, add_members, remove_members, &mut tx)
            .await?;
        tx.commit(self).await?;
        self.finish_members(dir, &new.id, plan).await
    }

    /// Deletes a resource at version `old.meta.version` with its guards, index items and every
    /// membership edge it is part of.
    pub async fn delete(
        &self,
        dir: &str,
        kind: ResourceKind,
        old: &Record,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::default();
        tx.delete(
            self,
            key(keys::directory_pk(dir), keys::resource_sk(kind, &old.id)),
            Some(version_condition(old.meta.version)),
            Role::Resource,
        )?;
        let before = index_values(kind, &old.body);
        self.index_changes(
            &mut tx,
            dir,
            kind,
            &old.id,
            &before,
            &IndexValues::default(),
        )?;
        tx.commit(self).await?;
        // Edges go after the resource: a concurrent member add checks the user exists inside its
        // transaction, so once the delete committed no new edge can appear for this resource.
        match kind {
            ResourceKind::User => self.remove_user_edges(dir, &old.id).await?,
            ResourceKind::Group => self.remove_group_edges(dir, &old.id).await?,
        }
        self.bump_count(dir, kind, -1).await
    }

    /// Puts the guard and index items `after` has and `before` lacks, and deletes the reverse.
    /// The old userName guard is deleted only if it still names this id.
    fn index_changes(
        &self,
        tx: &mut Tx,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        before: &IndexValues,
        after: &IndexValues,
    ) -> Result<(), StoreError> {
        let pk = keys::directory_pk(dir);
        let folded = |v: &IndexValues| v.unique_name().map(|n| n.to_lowercase());
        if folded(before) != folded(after) {
            if let Some(old) = before.unique_name() {
                let mut cond = Item::new();
                cond.insert(":id".into(), s(id));
                let old_key = key(pk.clone(), keys::unique_name_sk(kind, old));
                tx.delete(self, old_key, Some(("id = :id", cond)), Role::Resource)?;
            }
            if let Some(name) = after.unique_name() {
                let mut item = key(pk.clone(), keys::unique_name_sk(kind, name));
                item.insert(ID.into(), s(id));
                let unique = Some(("attribute_not_exists(pk)", Item::new()));
                let attr = match kind {
                    ResourceKind::User => "userName",
                    ResourceKind::Group => "displayName",
                };
                tx.put(
                    self,
                    item,
                    unique,
                    Role::Guard(format!("{attr} \"{name}\"")),
                )?;
            }
        }
        let (old, new) = (index_entries(kind, before), index_entries(kind, after));
        for (index, value) in old.iter().filter(|e| !new.contains(e)) {
            tx.delete(
                self,
                key(pk.clone(), index.sk(value, id)),
                None,
                Role::Other,
            )?;
        }
        for (index, value) in new.iter().filter(|e| !old.contains(e)) {
            tx.put(
                self,
                key(pk.clone(), index.sk(value, id)),
                None,
                Role::Other,
            )?;
        }
        Ok(())
    }

    /// Keeps the per-directory resource counts (`totalResults` of unfiltered lists) without a
    /// Query over every item. Done after the transaction commits: a counter on the transaction's
    /// critical path would make every create in a directory conflict with every other.
    async fn bump_count(&self, dir: &str, kind: ResourceKind, by: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::directory_pk(dir), keys::stats_sk().into())))
            .update_expression("ADD #c :by")
            .expression_attribute_names("#c", kind.endpoint())
            .expression_attribute_values(":by", n(by))
            .send()
            .await
            .map_err(StoreError::dynamo)?;
        Ok(())
    }
}

fn index_entries(kind: ResourceKind, v: &IndexValues) -> Vec<(Index, String)> {
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

fn version_condition(version: u64) -> (&'static str, Item) {
    let mut values = Item::new();
    values.insert(":v".into(), n(version));
    ("version = :v", values)
}

fn resource_item(dir: &str, kind: ResourceKind, r: &Record) -> Result<Item, StoreError> {
    let body = serde_json::to_string(&r.body).map_err(StoreError::dynamo)?;
    let mut item = key(keys::directory_pk(dir), keys::resource_sk(kind, &r.id));
    item.insert(BODY.into(), s(body));
    item.insert(VERSION.into(), n(r.meta.version));
    item.insert(CREATED.into(), s(&r.meta.created));
    item.insert(MODIFIED.into(), s(&r.meta.last_modified));
    Ok(item)
}

fn record_from_item(kind: ResourceKind, item: &Item) -> Result<Record, StoreError> {
    let corrupt =
        |what: &str| StoreError::Dynamo(format!("stored {} item lacks {what}", kind.name()));
    let id = get_s(item, keys::SK)
        .and_then(|sk| keys::id_from_resource_sk(kind, sk))
        .ok_or_else(|| corrupt("a resource sort key"))?;
    let body: Map<String, Value> = get_s(item, BODY)
        .map(serde_json::from_str)
        .transpose()
        .map_err(StoreError::dynamo)?
        .ok_or_else(|| corrupt("body"))?;
    Ok(Record {
        id,
        body,
        meta: Meta {
            created: get_s(item, CREATED).unwrap_or_default().to_string(),
            last_modified: get_s(item, MODIFIED).unwrap_or_default().to_string(),
            version: get_n(item, VERSION).ok_or_else(|| corrupt("version"))?,
        },
    })
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
                .map_err(StoreError::dynamo)?;
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
        self.batch_write(writes).await?;
        self.bump_count(dir, kind, records.len() as i64).await
    }
}
