//! What listing needs besides the resources: per-directory counters (`totalResults` without a
//! Query over every item), the per-directory secret that signs cursors, and page anchors.
//!
//! The counters are exact because each moves in the transaction that makes the change: a
//! resource create or delete moves its kind's count (`Users`, `Groups`) on one of the
//! `STATS#{shard}` items. The membership count (`Memberships`: how many `MEMBER#` edge items
//! the partition holds) moves with every edge pair written or deleted: on the event sequence
//! item (`EVX#SEQ`) when the transaction emits events (every IdP member change, create and
//! delete does, so counting there adds no item to the transactions `tests/it/cost.rs`
//! budgets), and on a shard otherwise (the edge transactions of a change too large for one).
//! The count is the sum of both places. `directory check` recounts all three.
//!
//! A page anchor remembers, for one query, which id ended the page at a given position
//! (`ANCHOR#...#{position}` → last id, total). When an importer asks for `startIndex=5001` after
//! reading `startIndex=4901`, the store resumes after that id instead of re-reading 5,000 items.
//! Anchors expire (DynamoDB TTL) after the cursor timeout; without one the store falls back to
//! reading keys up to the start position.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::keys;
use super::{get_n, get_s, key, n, s, ItemKey, Store, StoreError};
use crate::scim::schema::ResourceKind;

/// How long an anchor lives (seconds), matching the cursor timeout.
pub const ANCHOR_TTL_SECS: i64 = crate::scim::cursor::CURSOR_TIMEOUT_SECS;

/// Where a page ended: the last id and the query's total at that time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub after: String,
    pub total: u64,
}

/// How many users and groups a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Counts {
    pub users: u64,
    pub groups: u64,
}

/// The counter attribute of the membership count (on the counter and sequence shards).
pub const MEMBERSHIPS: &str = "Memberships";

/// A counter attribute of an item (absent: 0).
pub(crate) fn counter_value(item: &super::Item, attr: &str) -> Option<i64> {
    item.get(attr)?.as_n().ok()?.parse().ok()
}

/// What directory health shows of a directory's size, and its last event number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub users: u64,
    pub groups: u64,
    /// Group memberships (user-in-group edges), those of a deleted group until its clean-up
    /// removes them.
    pub memberships: u64,
    /// The directory's last event sequence number.
    pub sequence: u64,
}

impl Store {
    /// The counts and the last event number: the counter shards' Query and the sequence shards'
    /// BatchGetItem, in parallel (two round trips, one at a time's latency).
    pub async fn totals(&self, dir: &str) -> Result<Totals, StoreError> {
        let (shards, (sequence, on_sequence)) = tokio::try_join!(
            Box::pin(self.counter_items(dir)),
            Box::pin(self.sequence_item(dir))
        )?;
        let sum = |attr: &str| {
            shards
                .iter()
                .filter_map(|i| counter_value(i, attr))
                .sum::<i64>()
        };
        let total = |v: i64| v.max(0) as u64;
        Ok(Totals {
            users: total(sum(ResourceKind::User.endpoint())),
            groups: total(sum(ResourceKind::Group.endpoint())),
            memberships: total(sum(MEMBERSHIPS) + on_sequence),
            sequence,
        })
    }

    /// The counter items (`STATS` and its shards): one Query of ≤ 17 small items.
    async fn counter_items(&self, dir: &str) -> Result<Vec<super::Item>, StoreError> {
        let (items, _) = self
            .query_prefix(dir, keys::stats_sk(), None, usize::MAX, false)
            .await?;
        Ok(items)
    }

    /// Moves the membership count by `by` on a counter shard inside `tx` (`shard_of`: any id;
    /// it spreads the writes over the shards).
    pub(crate) fn move_memberships(
        &self,
        tx: &mut super::tx::Tx,
        dir: &str,
        shard_of: &str,
        by: i64,
    ) -> Result<(), StoreError> {
        tx.update(
            key(keys::directory_pk(dir), keys::counter_sk(shard_of)),
            super::tx::Expr::new("ADD #c :by")
                .name("#c", MEMBERSHIPS)
                .value(":by", n(by)),
            None,
            // Only the sum of the shards counts: one that another transaction holds is
            // traded for a free one (`tx.rs`).
            super::tx::Role::Counter,
        )
    }

    /// How many resources of a kind the directory holds: the sum of its counter shards (and of
    /// the single counter item older versions kept under `STATS`). One Query of ≤ 17 small items.
    pub async fn count(&self, dir: &str, kind: ResourceKind) -> Result<u64, StoreError> {
        let counts = self.counts(dir).await?;
        Ok(match kind {
            ResourceKind::User => counts.users,
            ResourceKind::Group => counts.groups,
        })
    }

    /// Both counts from the same shards: one Query of ≤ 17 small items, like `count`.
    pub async fn counts(&self, dir: &str) -> Result<Counts, StoreError> {
        let items = self.counter_items(dir).await?;
        let total = |kind: ResourceKind| {
            let sum: i64 = items
                .iter()
                .filter_map(|i| counter_value(i, kind.endpoint()))
                .sum();
            sum.max(0) as u64
        };
        Ok(Counts {
            users: total(ResourceKind::User),
            groups: total(ResourceKind::Group),
        })
    }

    /// The directory's cursor-signing secret, created on first use. Lambdas cache it per process.
    pub async fn cursor_key(&self, dir: &str) -> Result<Vec<u8>, StoreError> {
        let fresh = {
            let mut b = [0u8; 32];
            getrandom::getrandom(&mut b).map_err(|source| StoreError::Entropy {
                what: "a cursor key",
                source,
            })?;
            b
        };
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::directory_pk(dir), keys::stats_sk().into())))
            .update_expression("SET cursor_key = if_not_exists(cursor_key, :k)")
            .expression_attribute_values(":k", AttributeValue::B(Blob::new(fresh.to_vec())))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        out.attributes
            .and_then(|a| {
                a.get("cursor_key")
                    .and_then(|v| v.as_b().ok())
                    .map(|b| b.as_ref().to_vec())
            })
            .ok_or_else(|| StoreError::Corrupt {
                at: ItemKey {
                    table: self.table.clone(),
                    pk: keys::directory_pk(dir),
                    sk: keys::stats_sk().into(),
                },
                problem: "cursor_key is not binary",
                source: None,
            })
    }

    pub async fn anchor(
        &self,
        dir: &str,
        query: &str,
        position: usize,
    ) -> Result<Option<Anchor>, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), keys::anchor_sk(query, position))
            .await?;
        let now = crate::clock::now_millis() / 1000;
        Ok(item.and_then(|i| {
            // TTL deletion is lazy: an expired anchor may still be there.
            if get_n(&i, "ttl").is_some_and(|t| (t as i64) < now) {
                return None;
            }
            Some(Anchor {
                after: get_s(&i, "after")?.to_string(),
                total: get_n(&i, "total")?,
            })
        }))
    }

    pub async fn put_anchor(
        &self,
        dir: &str,
        query: &str,
        position: usize,
        anchor: &Anchor,
    ) -> Result<(), StoreError> {
        let mut item = key(keys::directory_pk(dir), keys::anchor_sk(query, position));
        item.insert("after".into(), s(&anchor.after));
        item.insert("total".into(), n(anchor.total));
        item.insert(
            "ttl".into(),
            n(crate::clock::now_millis() / 1000 + ANCHOR_TTL_SECS),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// The id at 1-based `position` among the resources readers see, in id order (reading keys
    /// only; a group still being created does not count), to start a page after it.
    pub async fn id_at(
        &self,
        dir: &str,
        kind: ResourceKind,
        position: usize,
    ) -> Result<Option<String>, StoreError> {
        let mut seen = 0;
        let mut start: Option<String> = None;
        loop {
            let (items, more) = self
                .query_prefix(
                    dir,
                    keys::resource_prefix(kind),
                    start.take(),
                    position - seen,
                    true,
                )
                .await?;
            for item in &items {
                let Some(sk) = get_s(item, keys::SK) else {
                    continue;
                };
                start = Some(sk.to_string());
                if item.contains_key("pending") {
                    continue;
                }
                seen += 1;
                if seen == position {
                    return Ok(keys::id_from_resource_sk(kind, sk));
                }
            }
            if !more || items.is_empty() {
                return Ok(None);
            }
        }
    }
}
