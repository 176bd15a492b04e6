//! `scimctl directory check DIR [--repair]`: reads a directory's whole partition and verifies every
//! invariant the write pipeline keeps — both directions of every membership, edges only between
//! resources that exist, uniqueness guards ↔ resources, index items ↔ attribute values, counters
//! (users, groups, memberships) ↔ a recount — and lists unfinished multi-step writes (pending creates, users being deleted, group
//! clean-ups). With `repair`, it fixes what it found: missing guard and index items are written,
//! stale ones and one-sided or orphaned edges are deleted, counters are moved to the recount, and
//! unfinished writes are finished (an abandoned pending create is removed).
//!
//! An admin path: it reads every item of the directory (paged Queries), so it is never on a
//! request path. Run against live traffic it may report writes that are in flight.

mod counts;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::keys::{self, SortKey};
use super::outbox;
use super::paging::{counter_value, MEMBERSHIPS};
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
    /// `user_being_deleted`, `group_clean_up`, `orphan_slot` (a member slot of no group),
    /// `name_conflict`, `stale_event_block`, `miscounted` (a resource's membership count differs
    /// from its edges), `orphan_group_count` (the group count of no user),
    /// `role_drift` (a user's stored roles differ from a resolution of its groups under the
    /// directory's map), `role_sync_pending` (a re-resolution a save left unfinished).
    pub kind: &'static str,
    pub detail: String,
    /// Whether `--repair` can fix it (a `name_conflict` needs a person).
    pub fixable: bool,
}

enum Fix {
    Put(Item),
    /// Items deleted together.
    Delete(Vec<Item>),
    /// Both items of an edge pair, and the membership count moved down when its `MEMBER#` side
    /// (what the count counts) is there.
    DeleteEdge {
        pair: Vec<Item>,
        counted: bool,
    },
    /// Moves a counter attribute (`Users`, `Groups`, `Memberships`) by this much.
    Count(&'static str, i64),
    FinishDelete(ResourceKind, Box<Record>),
    FinishCleanUp(String),
    /// Re-resolves these users' roles (each changed one with its `updated` event).
    ResolveRoles(Vec<String>),
    /// Removes the re-resolution marker once the users are resolved.
    FinishRoleSync(super::settings::RoleSync),
    /// A member slot of a group the scan did not find, at the version it read: deleted only if
    /// the group is still not there and the slot has not moved (a group created while the scan
    /// ran, between the groups and the slots, keeps its slot).
    DeleteSlot {
        group: String,
        slot: usize,
        version: u64,
    },
    /// Takes the `counted` mark off a resource whose counts drifted, at the version read (and
    /// moves the version, so no write that read the mark puts it back).
    Uncount(ResourceKind, String, u64),
}

/// A pending create older than this is abandoned (mirrors `mutate.rs`).
const PENDING_STALE_MS: u64 = 120_000;

/// The items of a directory's partition, sorted by what they are.
#[derive(Default)]
struct Partition {
    resources: BTreeMap<(ResourceKind, String), Record>,
    /// Uniqueness guard sort key → the id it names.
    guards: BTreeMap<String, String>,
    index: BTreeSet<String>,
    /// `(group, user)` of every `Member` item.
    members: BTreeSet<(String, String)>,
    /// `(group, user)` of every `MemberOf` item.
    member_of: BTreeSet<(String, String)>,
    /// What the counters say, summed over the counter items.
    counted: BTreeMap<ResourceKind, i64>,
    /// What the membership count says (the counter and sequence shards, `paging.rs`).
    counted_memberships: i64,
    clean_ups: BTreeSet<String>,
    /// `(group, slot)` → version of every member slot that is not a tombstone (`slots.rs`).
    slots: BTreeMap<(String, usize), u64>,
    /// Group → the members its slots count, and the sum of their hashes.
    slot_members: BTreeMap<String, i64>,
    slot_hashes: BTreeMap<String, i128>,
    /// User → its group count (`members.rs`).
    group_counts: BTreeMap<String, i64>,
    stale_blocks: Vec<Item>,
    settings: super::settings::DirSettings,
    role_sync: Option<super::settings::RoleSync>,
}

/// What the resources say the other items should be.
#[derive(Default)]
struct Expected {
    guards: BTreeMap<String, String>,
    index: BTreeSet<String>,
    recount: BTreeMap<ResourceKind, i64>,
}

/// The problems found so far, and the fixes of those `--repair` can fix, in the order found.
#[derive(Default)]
struct Findings {
    problems: Vec<Problem>,
    fixes: Vec<Fix>,
}

impl Findings {
    fn found(&mut self, kind: &'static str, detail: String, fix: Option<Fix>) {
        self.problems.push(Problem {
            kind,
            detail,
            fixable: fix.is_some(),
        });
        if let Some(f) = fix {
            self.fixes.push(f);
        }
    }
}

impl Store {
    /// Checks directory `dir`; with `repair`, fixes what it found (the report lists what was
    /// found before the repair).
    pub async fn check_directory(&self, dir: &str, repair: bool) -> Result<Report, StoreError> {
        let pk = keys::directory_pk(dir);
        let items = self.partition_but_request_log(&pk).await?;
        let part = self.sort_partition(&pk, &items)?;
        let mut findings = Findings::default();

        // The report lists the problems, and `--repair` fixes them, in the order of these checks.
        let expected = check_resources(&part.resources, &mut findings);
        check_stale_blocks(&part.stale_blocks, &mut findings);
        check_guards(&pk, &expected.guards, &part.guards, &mut findings);
        check_index(&pk, &expected.index, &part.index, &mut findings);
        check_counters(&part.counted, &expected.recount, &mut findings);
        check_membership_count(part.counted_memberships, part.members.len(), &mut findings);
        check_edges(&pk, &part, &mut findings);
        counts::check_counts(&pk, &part, &mut findings);
        check_roles(&part, &mut findings);

        let users = part
            .resources
            .keys()
            .filter(|(k, _)| *k == ResourceKind::User)
            .count();
        let mut report = Report {
            directory: dir.to_string(),
            items: items.len(),
            users,
            groups: part.resources.len() - users,
            memberships: part.members.intersection(&part.member_of).count(),
            problems: findings.problems,
            repaired: false,
        };
        if repair && !findings.fixes.is_empty() {
            self.apply_fixes(dir, findings.fixes).await?;
            report.repaired = true;
        }
        Ok(report)
    }

    /// Every item of partition `pk` but the request log's (30 days of records at up to 40 KB
    /// each: the check has nothing to verify in them and must not pay to read them): the key
    /// ranges below and above it (`keys::REQUEST_LOG_END`).
    async fn partition_but_request_log(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        for (condition, bound) in [
            ("pk = :pk AND sk < :b", keys::REQUEST_LOG_PREFIX),
            ("pk = :pk AND sk >= :b", keys::REQUEST_LOG_END),
        ] {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":b", s(bound))
                .consistent_read(true);
            items.extend(self.query_all(query).await?);
        }
        Ok(items)
    }

    /// Sorts the items of partition `pk` by their sort key's kind.
    fn sort_partition(&self, pk: &str, items: &[Item]) -> Result<Partition, StoreError> {
        let mut part = Partition::default();
        for item in items {
            let sk = get_s(item, keys::SK).unwrap_or_default().to_string();
            match SortKey::parse(&sk) {
                Some(SortKey::Resource(kind, _)) => {
                    let r = record_from_item(&self.table, kind, item)?;
                    part.resources.insert((kind, r.id.clone()), r);
                }
                // A freed guard (no owner) waits for its TTL (`mutate.rs`): no name.
                Some(SortKey::NameGuard(..)) => {
                    if let Some(owner) = get_s(item, ID) {
                        part.guards.insert(sk.clone(), owner.to_string());
                    }
                }
                Some(SortKey::IndexEntry { .. }) => {
                    part.index.insert(sk.clone());
                }
                Some(SortKey::Member { group, user }) => {
                    part.members.insert((group, user));
                }
                Some(SortKey::MemberOf { user, group }) => {
                    part.member_of.insert((group, user));
                }
                Some(SortKey::Stats | SortKey::Counter(_)) => {
                    for kind in [ResourceKind::User, ResourceKind::Group] {
                        let v = counter_value(item, kind.endpoint()).unwrap_or(0);
                        *part.counted.entry(kind).or_default() += v;
                    }
                    part.counted_memberships += counter_value(item, MEMBERSHIPS).unwrap_or(0);
                }
                Some(SortKey::EventSeq(_)) => {
                    part.counted_memberships += counter_value(item, MEMBERSHIPS).unwrap_or(0);
                }
                Some(SortKey::CleanUp { group }) => {
                    part.clean_ups.insert(group);
                }
                Some(SortKey::MemberSlot { group, slot }) if !super::slots::is_tombstone(item) => {
                    let version = super::get_n(item, super::resources::VERSION).unwrap_or(0);
                    *part.slot_members.entry(group.clone()).or_default() +=
                        super::slots::signed::<i64>(item, super::slots::MEMBERS);
                    *part.slot_hashes.entry(group.clone()).or_default() +=
                        super::slots::signed::<i128>(item, super::slots::MEMBERS_HASH);
                    part.slots.insert((group, slot), version);
                }
                Some(SortKey::GroupCount { user }) => {
                    let count = super::slots::signed(item, super::members::GROUPS);
                    part.group_counts.insert(user, count);
                }
                Some(SortKey::Settings) => {
                    part.settings = super::settings::settings_of(&self.table, item)?;
                }
                Some(SortKey::RoleSync) => {
                    part.role_sync = Some(super::settings::sync_of(item));
                }
                Some(SortKey::EventBlock(_)) if outbox::block_is_stale(item) => {
                    part.stale_blocks.push(key(pk.to_string(), sk.clone()));
                }
                // Not read (`partition_but_request_log`); nothing to check in them either.
                Some(k) if k.is_request_log() => {}
                _ => {}
            }
        }
        Ok(part)
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
                Fix::DeleteEdge { pair, counted } => {
                    let mut tx = Tx::new(self);
                    for k in pair {
                        tx.delete(k, None, Role::Other)?;
                    }
                    if counted {
                        self.move_memberships(&mut tx, dir, "", -1)?;
                    }
                    tx.commit(self).await?;
                }
                Fix::Count(attr, by) => {
                    let mut tx = Tx::new(self);
                    tx.update(
                        key(keys::directory_pk(dir), keys::counter_sk("")),
                        Expr::new("ADD #c :by").name("#c", attr).value(":by", n(by)),
                        None,
                        Role::Other,
                    )?;
                    tx.commit(self).await?;
                }
                Fix::FinishDelete(kind, r) => self.delete(dir, kind, &r, None).await?,
                Fix::FinishCleanUp(g) => {
                    self.clean_up_group(dir, &g).await?;
                }
                Fix::ResolveRoles(users) => {
                    let settings = self.read_settings(dir).await?;
                    self.resolve_users(dir, &settings, &users).await?;
                }
                Fix::FinishRoleSync(marker) => {
                    self.finish_role_sync(dir, &marker).await?;
                }
                Fix::Uncount(kind, id, version) => self.uncount(dir, kind, &id, version).await?,
                Fix::DeleteSlot {
                    group,
                    slot,
                    version,
                } => {
                    if self.get(dir, ResourceKind::Group, &group).await?.is_some() {
                        continue;
                    }
                    let deleted = self
                        .client
                        .delete_item()
                        .table_name(&self.table)
                        .set_key(Some(key(
                            keys::directory_pk(dir),
                            keys::slot_sk(&group, slot),
                        )))
                        .expression_attribute_names("#v", super::resources::VERSION);
                    // A slot only a large PUT's edge transaction wrote has no version yet.
                    let deleted = match version {
                        0 => deleted.condition_expression("attribute_not_exists(#v)"),
                        v => deleted
                            .condition_expression("#v = :v")
                            .expression_attribute_values(":v", n(v)),
                    }
                    .send()
                    .await;
                    super::unless_condition_failed(deleted)?;
                }
            }
        }
        Ok(())
    }
}

/// Each resource's guard and index items, its share of the recount, and its unfinished writes
/// (a delete that stopped half-way, a create abandoned for longer than `PENDING_STALE_MS`).
fn check_resources(
    resources: &BTreeMap<(ResourceKind, String), Record>,
    findings: &mut Findings,
) -> Expected {
    let mut expected = Expected::default();
    let now = clock::now_millis() as u64;
    for ((kind, id), r) in resources {
        let idx = index_values(*kind, &r.body);
        if let Some(name) = idx.unique_name() {
            let sk = keys::unique_name_sk(*kind, name);
            if let Some(other) = expected.guards.insert(sk.clone(), id.clone()) {
                findings.found(
                    "name_conflict",
                    format!("{} {id} and {other} share the name {name:?}", kind.name()),
                    None,
                );
            }
        }
        for (index, value) in index_entries(*kind, &idx) {
            expected.index.insert(index.sk(&value, id));
        }
        match &r.state {
            State::Live => *expected.recount.entry(*kind).or_default() += 1,
            State::Deleting => {
                *expected.recount.entry(*kind).or_default() += 1;
                findings.found(
                    "user_being_deleted",
                    format!("user {id} is marked deleting; the delete is finished"),
                    Some(Fix::FinishDelete(*kind, Box::new(r.clone()))),
                );
            }
            State::Pending { since_ms, .. } => {
                if now.saturating_sub(*since_ms) > PENDING_STALE_MS {
                    findings.found(
                        "pending_create",
                        format!("group {id}: a create that never finished; it is removed"),
                        Some(Fix::FinishDelete(*kind, Box::new(r.clone()))),
                    );
                }
            }
        }
    }
    expected
}

/// Every live user's stored roles are the resolution of its groups (its `MEMBEROF` edges, as
/// the write paths read them) under the directory's map; a marked re-resolution is finished.
fn check_roles(part: &Partition, findings: &mut Findings) {
    let mut groups: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (g, u) in &part.member_of {
        groups.entry(u.as_str()).or_default().insert(g.clone());
    }
    let none = BTreeSet::new();
    let mut drifted = Vec::new();
    for ((kind, id), r) in &part.resources {
        if *kind != ResourceKind::User || r.state != State::Live {
            continue;
        }
        let want = part
            .settings
            .roles
            .resolve(groups.get(id.as_str()).unwrap_or(&none));
        if r.resolved != want {
            findings.found(
                "role_drift",
                format!(
                    "user {id} holds role {:?} {:?}; its groups resolve to {:?} {:?}",
                    r.resolved.role, r.resolved.roles, want.role, want.roles
                ),
                None,
            );
            drifted.push(id.clone());
        }
    }
    if !drifted.is_empty() {
        // One fix for all of them: resolved 30 a transaction, each with its event.
        for p in findings
            .problems
            .iter_mut()
            .filter(|p| p.kind == "role_drift")
        {
            p.fixable = true;
        }
        findings.fixes.push(Fix::ResolveRoles(drifted));
    }
    if let Some(marker) = &part.role_sync {
        findings.found(
            "role_sync_pending",
            format!(
                "a re-resolution of {} after the role map's version {} is unfinished",
                match &marker.groups {
                    Some(g) => format!("{} groups' members", g.len()),
                    None => "every user".into(),
                },
                marker.version
            ),
            Some(Fix::FinishRoleSync(marker.clone())),
        );
    }
}

/// Readers already pass a stale block; removing it is tidying.
fn check_stale_blocks(stale_blocks: &[Item], findings: &mut Findings) {
    for b in stale_blocks {
        let sk = get_s(b, keys::SK).unwrap_or_default().to_string();
        findings.found(
            "stale_event_block",
            format!("{sk}: the events of a member change whose writer died"),
            Some(Fix::Delete(vec![b.clone()])),
        );
    }
}

/// Every name has its guard naming its owner, and every guard names a resource of that name.
fn check_guards(
    pk: &str,
    expected: &BTreeMap<String, String>,
    guards: &BTreeMap<String, String>,
    findings: &mut Findings,
) {
    for (sk, id) in expected {
        match guards.get(sk) {
            Some(owner) if owner == id => {}
            Some(owner) => findings.found(
                "name_conflict",
                format!("guard {sk} names {owner}, but {id} has that name"),
                None,
            ),
            None => {
                let mut item = key(pk.to_string(), sk.clone());
                item.insert(ID.into(), s(id));
                findings.found(
                    "missing_guard",
                    format!("{id} has no uniqueness guard {sk}"),
                    Some(Fix::Put(item)),
                );
            }
        }
    }
    for (sk, owner) in guards {
        if !expected.contains_key(sk) {
            findings.found(
                "stale_guard",
                format!("guard {sk} names {owner}, which does not have that name"),
                Some(Fix::Delete(vec![key(pk.to_string(), sk.clone())])),
            );
        }
    }
}

/// The index items are exactly those the resources' attribute values call for.
fn check_index(
    pk: &str,
    expected: &BTreeSet<String>,
    index: &BTreeSet<String>,
    findings: &mut Findings,
) {
    for sk in expected.difference(index) {
        findings.found(
            "missing_index_item",
            sk.clone(),
            Some(Fix::Put(key(pk.to_string(), sk.clone()))),
        );
    }
    for sk in index.difference(expected) {
        findings.found(
            "stale_index_item",
            sk.clone(),
            Some(Fix::Delete(vec![key(pk.to_string(), sk.clone())])),
        );
    }
}

/// The counters agree with a recount of the resources.
fn check_counters(
    counted: &BTreeMap<ResourceKind, i64>,
    recount: &BTreeMap<ResourceKind, i64>,
    findings: &mut Findings,
) {
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let (have, want) = (
            counted.get(&kind).copied().unwrap_or(0),
            recount.get(&kind).copied().unwrap_or(0),
        );
        if have != want {
            findings.found(
                "counter_drift",
                format!("{} counted {have}, recount {want}", kind.endpoint()),
                Some(Fix::Count(kind.endpoint(), want - have)),
            );
        }
    }
}

/// The membership count agrees with the `MEMBER#` edge items there are (the edges `--repair`
/// deletes count themselves out as they go, like a deleted group's clean-up).
fn check_membership_count(have: i64, members: usize, findings: &mut Findings) {
    let want = members as i64;
    if have != want {
        findings.found(
            "counter_drift",
            format!("{MEMBERSHIPS} counted {have}, recount {want}"),
            Some(Fix::Count(MEMBERSHIPS, want - have)),
        );
    }
}

/// Unfinished group clean-ups, then every membership: stored on both sides, between a group
/// and a user that exist. A group being cleaned up is left to its clean-up.
fn check_edges(pk: &str, part: &Partition, findings: &mut Findings) {
    let exists =
        |kind: ResourceKind, id: &str| part.resources.contains_key(&(kind, id.to_string()));
    for g in &part.clean_ups {
        findings.found(
            "group_clean_up",
            format!("deleted group {g} still has memberships to remove; they are removed"),
            Some(Fix::FinishCleanUp(g.clone())),
        );
    }
    for ((g, k), version) in &part.slots {
        if !exists(ResourceKind::Group, g) {
            findings.found(
                "orphan_slot",
                format!("member slot {k} of group {g}, which does not exist"),
                Some(Fix::DeleteSlot {
                    group: g.clone(),
                    slot: *k,
                    version: *version,
                }),
            );
        }
    }
    for (g, u) in part.members.union(&part.member_of) {
        if part.clean_ups.contains(g) {
            continue;
        }
        let delete_pair = || Fix::DeleteEdge {
            pair: vec![
                key(pk.to_string(), keys::member_sk(g, u)),
                key(pk.to_string(), keys::member_of_sk(u, g)),
            ],
            counted: part.members.contains(&(g.clone(), u.clone())),
        };
        if !exists(ResourceKind::Group, g) || !exists(ResourceKind::User, u) {
            findings.found(
                "orphan_edge",
                format!("membership of user {u} in group {g}: one of them does not exist"),
                Some(delete_pair()),
            );
        } else if !part.members.contains(&(g.clone(), u.clone()))
            || !part.member_of.contains(&(g.clone(), u.clone()))
        {
            findings.found(
                "one_sided_edge",
                format!("membership of user {u} in group {g} is stored on one side only"),
                Some(delete_pair()),
            );
        }
    }
}
