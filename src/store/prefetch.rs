//! The sequence shards a write read together with its resource, handed to the transaction that
//! numbers its events, so a write is one read round trip and one transaction (issue 21).
//!
//! `Store::get_for_write` reads the resource (and any edge items the write will ask about) and
//! every shard of the directory in one strongly consistent BatchGetItem, and keeps the shards
//! in this task-local slot; the first numbered transaction of the same directory in the same
//! scope takes them instead of reading them again (`outbox.rs`). Taking a stale copy is safe:
//! the shard update is conditional on the value read, so a shard that moved refuses the
//! transaction and hands back where it is now. Outside a [`scope`] nothing is kept.

use std::future::Future;
use std::sync::Mutex;

use super::outbox::{shard_keys, take_shards, Shard};
use super::{keys, Item, Store, StoreError};
use crate::scim::schema::ResourceKind;
use crate::store::resources::record_from_item;
use crate::store::{get_s, key, Record};

tokio::task_local! {
    static SLOT: Mutex<Option<(String, Vec<Shard>)>>;
}

/// Runs `f` with a slot for the shards its reads prefetch.
pub async fn scope<F: Future>(f: F) -> F::Output {
    SLOT.scope(Mutex::new(None), Box::pin(f)).await
}

fn keep(dir: &str, shards: Vec<Shard>) {
    let _ = SLOT.try_with(|slot| {
        if let Ok(mut s) = slot.lock() {
            *s = Some((dir.to_string(), shards));
        }
    });
}

/// The shards of `dir` a read of this scope kept, once.
pub(crate) fn take(dir: &str) -> Option<Vec<Shard>> {
    SLOT.try_with(|slot| {
        let mut s = slot.lock().ok()?;
        match s.take() {
            Some((d, shards)) if d == dir => Some(shards),
            other => {
                *s = other;
                None
            }
        }
    })
    .ok()
    .flatten()
}

impl Store {
    /// The resource a write starts from, the `extra` items it asks about (those present), and
    /// the directory's sequence shards (kept for the write's transaction): one strongly
    /// consistent BatchGetItem. `extra` beyond what one call takes is left unread (`None`).
    /// With `slots`, a group's slots are read beside it (`slots.rs`; one Query more, no round
    /// trip more).
    pub async fn get_for_write(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        extra: &[Item],
        slots: bool,
    ) -> Result<(Option<Record>, Option<Vec<Item>>), StoreError> {
        if slots && kind == ResourceKind::Group {
            let (read, slots) = tokio::try_join!(
                Box::pin(self.get_for_write(dir, kind, id, extra, false)),
                self.read_slots(dir, id)
            )?;
            let (record, found) = read;
            let record = match record {
                Some(r) => {
                    self.settle(dir, r, slots, || async {
                        Ok(Box::pin(self.get_for_write(dir, kind, id, &[], false))
                            .await?
                            .0)
                    })
                    .await?
                }
                None => None,
            };
            return Ok((record, found));
        }
        let resource_sk = keys::resource_sk(kind, id);
        let mut wanted = vec![key(keys::directory_pk(dir), resource_sk.clone())];
        wanted.extend(shard_keys(dir));
        // BatchGetItem takes 100 keys.
        let with_extra = wanted.len() + extra.len() <= 100;
        if with_extra {
            wanted.extend(extra.iter().cloned());
        }
        let mut items = self.batch_get(wanted, None).await?;
        keep(dir, take_shards(&mut items));
        let mut record = None;
        let mut found = Vec::new();
        for item in items {
            if get_s(&item, keys::SK) == Some(resource_sk.as_str()) {
                record = Some(record_from_item(&self.table, kind, &item)?);
            } else {
                found.push(item);
            }
        }
        Ok((record, with_extra.then_some(found)))
    }
}
