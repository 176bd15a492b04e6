//! `scimctl directory check DIR [--repair]`: reads a directory's whole partition and verifies every
//! invariant the write pipeline keeps — both directions of every membership, edges only between
//! resources that exist, uniqueness guards ↔ resources, index items ↔ attribute values, counters ↔
//! a recount — and lists unfinished multi-step writes (pending creates, users being deleted, group
//! clean-ups). With `repair`, it fixes what it found: missing guard and index items are written,
//! stale ones and one-sided or orphaned edges are deleted, counters are moved to the recount, and
//! unfinished writes are finished (an abandoned pending create is removed).
//!
//! An admin path: it reads every item of the directory (paged Queries), so it is never on a
//! request path. Run against live traffic it may report writes that are in flight.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::keys::{self, SortKey};
use super::outbox;
use super::resources::{index_entries, record_from_item, ID};
use super::tx::{Expr, Role, Tx};
use super::{get_s, key, n, s, Item, Record, State, Store, StoreError};
use crate::clock;
use crate::scim::resource::index_values;
use crate::scim::schema::ResourceKind;

/// What a check found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub directory: String,
    pub items: usize,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub problems: Vec<Problem>,
    pub repaired: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// A stable name: `one_sided_edge`, `orphan_edge`, `missing_guard`, `stale_guard`,
    /// `missing_index_item`, `stale_index_item`, `counter_drift`, `pending_create`,
    /// `user_being_deleted`, `group_clean_up`, `name_conflict`, `stale_event_block`.
    pub kind: &'static str,
    pub detail: String,
    /// Whether `--repair` can fix it (a `name_conflict` needs a person).
    pub fixable: bool,
}

enum Fix {
    Put(Item),
    /// Items deleted together (both items of an edge pair).
    Delete(Vec<Item>),
    Count(ResourceKind, i64),
    FinishDelete(ResourceKind, Record),
    FinishCleanUp(String),
}

/// A pending create older than this is abandoned (mirrors `mutate.rs`).
const PENDING_STALE_MS: u64 = 120_000;

impl Store {
    /// Checks directory `dir`; with `repair`, fixes what it found (the report lists what was
    /// found before the repair).
    pub async fn check_directory(&self, dir: &str, repair: bool) -> Result<Report, StoreError> {
        let (items, _) = self.query_prefix(dir, "", None, usize::MAX, false).await?;
        let mut report = Report {
            directory: dir.to_string(),
            items: items.len(),
            ..Report::default()
        };
        let pk = keys::directory_pk(dir);
        let mut resources: BTreeMap<(ResourceKind, String), Record> = BTreeMap::new();
        let mut guards: BTreeMap<String, String> = BTreeMap::new();
        let mut index: BTreeSet<String> = BTreeSet::new();
        let mut members: BTreeSet<(String, String)> = BTreeSet::new();
        let mut member_of: BTreeSet<(String, String)> = BTreeSet::new();
        let mut counted: BTreeMap<ResourceKind, i64> = BTreeMap::new();
        let mut clean_ups: BTreeSet<String> = BTreeSet::new();
        let mut stale_blocks: Vec<Item> = Vec::new();
        for item in &items {
            let sk = get_s(item, keys::SK).unwrap_or_default().to_string();
            match SortKey::parse(&sk) {
                Some(SortKey::Resource(kind, _)) => {
                    let r = record_from_item(&self.table, kind, item)?;
                    resources.insert((kind, r.id.clone()), r);
                }
                Some(SortKey::NameGuard(..)) => {
                    guards.insert(sk.clone(), get_s(item, ID).unwrap_or_default().to_string());
                }
                Some(SortKey::IndexEntry { .. }) => {
                    index.insert(sk.clone());
                }
                Some(SortKey::Member { group, user }) => {
                    members.insert((group, user));
                }
                Some(SortKey::MemberOf { user, group }) => {
                    member_of.insert((group, user));
                }
                Some(SortKey::Stats | SortKey::Counter(_)) => {
                    for kind in [ResourceKind::User, ResourceKind::Group] {
                        let v = item
                            .get(kind.endpoint())
                            .and_then(|v| v.as_n().ok())
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or(0);
                        *counted.entry(kind).or_default() += v;
                    }
                }
                Some(SortKey::CleanUp { group }) => {
                    clean_ups.insert(group);
                }
                Some(SortKey::EventBlock(_)) if outbox::block_is_stale(item) => {
                    stale_blocks.push(key(pk.clone(), sk.clone()));
                }
                _ => {}
            }
        }
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        let mut found = |kind: &'static str, detail: String, fix: Option<Fix>| {
            problems.push(Problem {
                kind,
                detail,
                fixable: fix.is_some(),
            });
            if let Some(f) = fix {
                fixes.push(f);
            }
        };

        // Resources: guards, index items, unfinished writes, the recount.
        let mut expected_guards: BTreeMap<String, String> = BTreeMap::new();
        let mut expected_index: BTreeSet<String> = BTreeSet::new();
        let mut recount: BTreeMap<ResourceKind, i64> = BTreeMap::new();
        let now = clock::now_millis() as u64;
        for ((kind, id), r) in &resources {
            let idx = index_values(*kind, &r.body);
            if let Some(name) = idx.unique_name() {
                let sk = keys::unique_name_sk(*kind, name);
                if let Some(other) = expected_guards.insert(sk.clone(), id.clone()) {
                    found(
                        "name_conflict",
                        format!("{} {id} and {other} share the name {name:?}", kind.name()),
                        None,
                    );
                }
            }
            for (index, value) in index_entries(*kind, &idx) {
                expected_index.insert(index.sk(&value, id));
            }
            match &r.state {
                State::Live => *recount.entry(*kind).or_default() += 1,
                State::Deleting => {
                    *recount.entry(*kind).or_default() += 1;
                    found(
                        "user_being_deleted",
                        format!("user {id} is marked deleting; the delete is finished"),
                        Some(Fix::FinishDelete(*kind, r.clone())),
                    );
                }
                State::Pending { since_ms, .. } => {
                    if now.saturating_sub(*since_ms) > PENDING_STALE_MS {
                        found(
                            "pending_create",
                            format!("group {id}: a create that never finished; it is removed"),
                            Some(Fix::FinishDelete(*kind, r.clone())),
                        );
                    }
                }
            }
        }
        // Readers already pass a stale block; removing it is tidying.
        for b in stale_blocks {
            let sk = get_s(&b, keys::SK).unwrap_or_default().to_string();
            found(
                "stale_event_block",
                format!("{sk}: the events of a member change whose writer died"),
                Some(Fix::Delete(vec![b])),
            );
        }
        for (sk, id) in &expected_guards {
            match guards.get(sk) {
                Some(owner) if owner == id => {}
                Some(owner) => found(
                    "name_conflict",
                    format!("guard {sk} names {owner}, but {id} has that name"),
                    None,
                ),
                None => {
                    let mut item = key(pk.clone(), sk.clone());
                    item.insert(ID.into(), s(id));
                    found(
                        "missing_guard",
                        format!("{id} has no uniqueness guard {sk}"),
                        Some(Fix::Put(item)),
                    );
                }
            }
        }
        for (sk, owner) in &guards {
            if !expected_guards.contains_key(sk) {
                found(
                    "stale_guard",
                    format!("guard {sk} names {owner}, which does not have that name"),
                    Some(Fix::Delete(vec![key(pk.clone(), sk.clone())])),
                );
            }
        }
        for sk in expected_index.difference(&index) {
            found(
                "missing_index_item",
                sk.clone(),
                Some(Fix::Put(key(pk.clone(), sk.clone()))),
            );
        }
        for sk in index.difference(&expected_index) {
            found(
                "stale_index_item",
                sk.clone(),
                Some(Fix::Delete(vec![key(pk.clone(), sk.clone())])),
            );
        }
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let (have, want) = (
                counted.get(&kind).copied().unwrap_or(0),
                recount.get(&kind).copied().unwrap_or(0),
            );
            if have != want {
                found(
                    "counter_drift",
                    format!("{} counted {have}, recount {want}", kind.endpoint()),
                    Some(Fix::Count(kind, want - have)),
                );
            }
        }

        // Edges: both directions, between resources that exist.
        let exists = |kind: ResourceKind, id: &str| resources.contains_key(&(kind, id.to_string()));
        for g in &clean_ups {
            found(
                "group_clean_up",
                format!("deleted group {g} still has memberships to remove; they are removed"),
                Some(Fix::FinishCleanUp(g.clone())),
            );
        }
        for (g, u) in members.union(&member_of) {
            if clean_ups.contains(g) {
                continue;
            }
            let delete_pair = || {
                Fix::Delete(vec![
                    key(pk.clone(), keys::member_sk(g, u)),
                    key(pk.clone(), keys::member_of_sk(u, g)),
                ])
            };
            if !exists(ResourceKind::Group, g) || !exists(ResourceKind::User, u) {
                found(
                    "orphan_edge",
                    format!("membership of user {u} in group {g}: one of them does not exist"),
                    Some(delete_pair()),
                );
            } else if !members.contains(&(g.clone(), u.clone()))
                || !member_of.contains(&(g.clone(), u.clone()))
            {
                found(
                    "one_sided_edge",
                    format!("membership of user {u} in group {g} is stored on one side only"),
                    Some(delete_pair()),
                );
            }
        }
        report.users = resources
            .keys()
            .filter(|(k, _)| *k == ResourceKind::User)
            .count();
        report.groups = resources.len() - report.users;
        report.memberships = members.intersection(&member_of).count();
        report.problems = problems;
        if repair && !fixes.is_empty() {
            self.apply_fixes(dir, fixes).await?;
            report.repaired = true;
        }
        Ok(report)
    }

    async fn apply_fixes(&self, dir: &str, fixes: Vec<Fix>) -> Result<(), StoreError> {
        for fix in fixes {
            match fix {
                Fix::Put(item) => {
                    let mut tx = Tx::new(self);
                    tx.put(item, None, Role::Other)?;
                    tx.commit(self).await?;
                }
                Fix::Delete(keys) => {
                    let mut tx = Tx::new(self);
                    for k in keys {
                        tx.delete(k, None, Role::Other)?;
                    }
                    tx.commit(self).await?;
                }
                Fix::Count(kind, by) => {
                    let mut tx = Tx::new(self);
                    tx.update(
                        key(keys::directory_pk(dir), keys::counter_sk("")),
                        Expr::new("ADD #c :by")
                            .name("#c", kind.endpoint())
                            .value(":by", n(by)),
                        None,
                        Role::Other,
                    )?;
                    tx.commit(self).await?;
                }
                Fix::FinishDelete(kind, r) => self.delete(dir, kind, &r).await?,
                Fix::FinishCleanUp(g) => {
                    self.clean_up_group(dir, &g).await?;
                }
            }
        }
        Ok(())
    }
}
