//! Group membership: one pair of items per (group, user) edge — `MEMBER#{g}#{u}` to list a group's
//! members and `MEMBEROF#{u}#{g}` to list a user's groups — never a list on the group item (the
//! 400 KB item limit would cap group size). Both directions are strongly consistent Queries.
//!
//! A pair is always written or deleted in one transaction, so no reader sees a membership from
//! one side only. Adding a member also moves the user's edge sequence, conditional on the user
//! existing and not being deleted: a missing user cancels the add, and a user delete that listed
//! the user's groups before the add is cancelled by it (see `mutate.rs`). Adding one member
//! touches five items whatever the group's size.
//!
//! **Counts.** Every transaction that adds or removes an edge pair also moves two counts: the
//! user's group count (`UGROUPS#{u}`, its own small item) and the member count and hash sum of
//! the user's slot in the group (`slots.rs`). Each edge write is conditional (an add on the edge
//! being new, a remove on it being there), so the counts move exactly as the edges do. They let a
//! delete (`deletes.rs`) and a group PUT (`Slots::vouch`) trust a listing of the edges made
//! beside their read instead of after it. A resource created before the counts existed says so
//! (`Record::counted`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use super::keys;
use super::resources::{DELETING, EDGE_SEQ};
use super::roles::{Moves, RoleStep};
use super::settings::DirSettings;
use super::slots::{slot_of, SlotMark, SLOTS};
use super::tx::{Expr, Role, Tx, MAX_TX_ITEMS};
use super::{deadline, get_s, key, n, Item, Store, StoreError};
use crate::custom_attributes::AttributeMap;
use crate::events::{GroupSummary, Membership, NewEvent};
use crate::scim::schema::ResourceKind;

/// A user's group count item (module header).
pub(crate) fn group_count_key(dir: &str, user: &str) -> Item {
    key(keys::directory_pk(dir), keys::group_count_sk(user))
}

/// The attribute of a group count item holding the count.
pub(crate) const GROUPS: &str = "groups";
/// On a group count item: how far code that keeps the count moved the user's edge sequence (a
/// member add, a role step), in the same transactions. Code from before the counts moves the
/// edge sequence alone: a user whose edge sequence is past this is not trusted
/// (`deletes.rs`).
pub(crate) const EDGE_SEQ_SEEN: &str = "counted_es";

/// The key of the `MEMBER#` side of a (group, user) edge (read with the group by a PATCH).
pub fn member_edge_key(dir: &str, group: &str, user: &str) -> Item {
    key(keys::directory_pk(dir), keys::member_sk(group, user))
}

/// The users whose `MEMBER#` edge items these are.
pub fn edge_users(items: &[Item]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| get_s(i, keys::SK))
        .filter(|sk| sk.starts_with("MEMBER#"))
        .map(keys::last_component)
        .collect()
}

/// Membership edges to add to and remove from a group.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemberDelta {
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl MemberDelta {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
    /// The change turning `current` into `wanted` (O(n log n)).
    pub fn between(current: &[String], wanted: &[String]) -> Self {
        let cur: BTreeSet<&String> = current.iter().collect();
        let want: BTreeSet<&String> = wanted.iter().collect();
        MemberDelta {
            add: want.difference(&cur).map(|s| s.to_string()).collect(),
            remove: cur.difference(&want).map(|s| s.to_string()).collect(),
        }
    }
    /// Transaction items the change takes, its events included.
    pub(crate) fn items(&self) -> usize {
        (ITEMS_PER_ADD + 1) * self.add.len() + (ITEMS_PER_REMOVE + 1) * self.remove.len()
    }
    /// Whether the change surely goes in the one transaction of a write of its group (with
    /// room for the group item, its fenced slots, index items, an event and the sequence),
    /// rather than in several (`mutate.rs`).
    pub fn fits_one_transaction(&self) -> bool {
        self.items() + self.role_items() + SLOTS + 12 < MAX_TX_ITEMS
    }
    /// Membership events the change emits (one per edge pair).
    pub(crate) fn len(&self) -> usize {
        self.add.len() + self.remove.len()
    }
    /// Items the change takes more when the group maps to a role: per user, the user item a
    /// remove moves and an `updated` event.
    pub(crate) fn role_items(&self) -> usize {
        self.add.len() + 2 * self.remove.len()
    }
    /// Each user of the change and how its groups move.
    pub(crate) fn moves<'a>(&'a self, group: &'a str) -> Vec<(String, Moves<'a>)> {
        let joins = self.add.iter().map(|u| (u.clone(), Moves::Joins(group)));
        let leaves = self
            .remove
            .iter()
            .map(|u| (u.clone(), Moves::Leaves(group)));
        joins.chain(leaves).collect()
    }
}

/// A member change's role work: the directory's settings when they map the group, else none.
pub(crate) type Mapped = Option<Arc<DirSettings>>;

/// Transaction items one member add takes (the user's edge sequence and group count + two edges),
/// and a remove (no edge sequence). The member slot they count on is shared (`SLOTS` at most).
const ITEMS_PER_ADD: usize = 4;
const ITEMS_PER_REMOVE: usize = 3;
/// DynamoDB's limit on requests in one BatchWriteItem call.
const MAX_BATCH_WRITE: usize = 25;
/// Transactions or batches of one request in flight at once.
const PARALLEL_WRITES: usize = 8;

/// An edge operation with its membership event at a reserved number, if it has one, and the
/// number reserved for its user's `updated` event (a role change; else emitted numbered).
pub(crate) struct EdgeWork {
    pub op: EdgeOp,
    pub event: Option<(u64, NewEvent)>,
    pub role_seq: Option<u64>,
}

impl EdgeWork {
    pub fn plain(op: EdgeOp) -> Self {
        EdgeWork {
            op,
            event: None,
            role_seq: None,
        }
    }
}

/// One membership edge pair to add or remove: (group id, user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EdgeOp {
    Add(String, String),
    Remove(String, String),
}

impl EdgeOp {
    pub(crate) fn user(&self) -> &str {
        match self {
            EdgeOp::Add(_, u) | EdgeOp::Remove(_, u) => u,
        }
    }

    fn moves(&self) -> Moves<'_> {
        match self {
            EdgeOp::Add(g, _) => Moves::Joins(g),
            EdgeOp::Remove(g, _) => Moves::Leaves(g),
        }
    }

    fn items(&self) -> usize {
        match self {
            EdgeOp::Add(..) => ITEMS_PER_ADD,
            EdgeOp::Remove(..) => ITEMS_PER_REMOVE,
        }
    }
}

impl Store {
    /// Puts a group's member changes and their events into `tx` (the caller checked they fit).
    /// `group` is the group as membership events name it; `attributes` renders the users of the
    /// role steps' events.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn edge_changes(
        &self,
        tx: &mut Tx,
        dir: &str,
        group_id: &str,
        delta: &MemberDelta,
        group: &GroupSummary,
        steps: &HashMap<String, RoleStep>,
        attributes: &AttributeMap,
    ) -> Result<(), StoreError> {
        for op in ops(group_id, delta) {
            let step = steps.get(op.user());
            self.edge_op(tx, dir, &op, step, true)?;
            tx.emit_membership(dir, &op, group);
            if let Some(e) = step.and_then(|s| s.event(dir, attributes)) {
                tx.emit(dir, e);
            }
        }
        // Each add is conditional on the edge being new and each remove on it being there, so
        // the count moves exactly as the edges do.
        tx.count_memberships(dir, delta.add.len() as i64 - delta.remove.len() as i64);
        Ok(())
    }

    /// One edge pair's writes and counts (the member slot's only with `count_slot`: not for a
    /// pending or deleted group); with a role step, the user item's update is the step's (its
    /// condition pins the user's groups, `roles.rs`).
    fn edge_op(
        &self,
        tx: &mut Tx,
        dir: &str,
        op: &EdgeOp,
        step: Option<&RoleStep>,
        count_slot: bool,
    ) -> Result<(), StoreError> {
        let pk = keys::directory_pk(dir);
        let (group, user, by) = match op {
            EdgeOp::Add(g, u) => (g, u, 1),
            EdgeOp::Remove(g, u) => (g, u, -1),
        };
        tx.add_count(group_count_key(dir, user), GROUPS, by)?;
        if count_slot {
            tx.count_members(dir, group, user, by)?;
        }
        if let Some(step) = step {
            step.update(tx, dir)?;
        }
        match op {
            EdgeOp::Add(_, _) if step.is_some() => {}
            EdgeOp::Add(_, user) => {
                tx.add_count(group_count_key(dir, user), EDGE_SEQ_SEEN, 1)?;
                tx.update(
                    key(pk.clone(), keys::resource_sk(ResourceKind::User, user)),
                    Expr::new("ADD #es :one")
                        .name("#es", EDGE_SEQ)
                        .value(":one", n(1)),
                    Some(
                        Expr::new("attribute_exists(pk) AND attribute_not_exists(#d)")
                            .name("#d", DELETING),
                    ),
                    Role::Member(user.clone()),
                )?;
                tx.anchor_last();
            }
            EdgeOp::Remove(..) => {}
        }
        match op {
            EdgeOp::Add(group, user) => {
                // Conditional on the edge being new, so its event is emitted once.
                tx.put(
                    key(pk.clone(), keys::member_sk(group, user)),
                    Some(Expr::new("attribute_not_exists(pk)")),
                    Role::Edge(user.clone()),
                )?;
                tx.put(key(pk, keys::member_of_sk(user, group)), None, Role::Other)
            }
            EdgeOp::Remove(group, user) => {
                tx.delete(
                    key(pk.clone(), keys::member_sk(group, user)),
                    Some(Expr::new("attribute_exists(pk)")),
                    Role::Edge(user.clone()),
                )?;
                tx.delete(key(pk, keys::member_of_sk(user, group)), None, Role::Other)
            }
        }
    }

    /// The directory's settings if they map `group` to a role (`settings.rs`: from the cache).
    pub(crate) async fn mapped(&self, dir: &str, group: &str) -> Result<Mapped, StoreError> {
        let settings = self.settings(dir).await?;
        Ok(settings.roles.maps(group).then_some(settings))
    }

    /// Which of `users` are members of `group` now (strongly consistent).
    pub async fn edges_present(
        &self,
        dir: &str,
        group: &str,
        users: &[String],
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut present = BTreeSet::new();
        for chunk in users.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|u| member_edge_key(dir, group, u))
                .collect();
            present.extend(edge_users(&self.batch_get(keys, Some("sk")).await?));
        }
        Ok(present)
    }

    /// Deletes the edge pair of a resource being deleted inside its transaction. The side its
    /// edges were listed from (`listed`) must still be there: a member change that removed the
    /// edge meanwhile cancels the delete as a version race (the resource's members or groups
    /// moved), so the membership count never counts an edge out twice.
    pub(crate) fn edge_pair_delete(
        &self,
        tx: &mut Tx,
        dir: &str,
        group_id: &str,
        user_id: &str,
        listed: ResourceKind,
    ) -> Result<(), StoreError> {
        let pk = keys::directory_pk(dir);
        let there = || Some(Expr::new("attribute_exists(pk)"));
        let (member, member_of) = match listed {
            ResourceKind::Group => (there(), None),
            ResourceKind::User => (None, there()),
        };
        let role = |cond: &Option<Expr>| match cond {
            Some(_) => Role::Resource,
            None => Role::Other,
        };
        tx.delete(
            key(pk.clone(), keys::member_sk(group_id, user_id)),
            member.clone(),
            role(&member),
        )?;
        tx.delete(
            key(pk, keys::member_of_sk(user_id, group_id)),
            member_of.clone(),
            role(&member_of),
        )?;
        // A user delete deletes the user's group count (written before this, so the count
        // merges into it); a group delete tombstones its slots, or had none (pending).
        tx.add_count(group_count_key(dir, user_id), GROUPS, -1)?;
        if listed == ResourceKind::User {
            tx.count_members(dir, group_id, user_id, -1)?;
        }
        Ok(())
    }

    /// Applies a group's member changes in as many transactions as they need (each pair whole),
    /// each with its membership events at the numbers from `first_seq` on (reserved by the
    /// caller: `outbox.rs`; two per change when `mapped`, the second for the user's `updated`
    /// event if its role moves — an unused number is a gap). With `mark`, the group is live and
    /// each transaction also marks the member slot of its users (`slots.rs`): a delete that
    /// listed the members before it is cancelled, and a delete before it cancels it. A
    /// member-only change marks the version, so the group's version has moved as soon as any
    /// edge has, whatever happens to the request after.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply_edges(
        &self,
        dir: &str,
        group_id: &str,
        delta: &MemberDelta,
        group: &GroupSummary,
        first_seq: u64,
        mapped: Mapped,
        mark: Option<SlotMark>,
    ) -> Result<(), StoreError> {
        let per = if mapped.is_some() { 2 } else { 1 };
        let ops = ops(group_id, delta)
            .into_iter()
            .zip((first_seq..).step_by(per))
            .map(|(op, seq)| {
                let emit = membership_event(dir, &op, group);
                EdgeWork {
                    op,
                    event: Some((seq, emit)),
                    role_seq: mapped.as_ref().map(|_| seq + 1),
                }
            })
            .collect();
        if let Some(mark) = mark {
            return self
                .apply_slot_edge_ops(dir, group_id, ops, mapped, mark)
                .await;
        }
        // A pending group: its member counts are not kept (`Record::counted`).
        self.apply_edge_ops(dir, ops, mapped, false).await
    }

    /// `apply_edge_ops` for a live group: the operations go in transactions of one member slot
    /// each, which mark it (`mark`). One lane per slot runs its transactions one after another,
    /// the lanes side by side, so no two in flight write one slot (they would cancel each other).
    async fn apply_slot_edge_ops(
        &self,
        dir: &str,
        group_id: &str,
        ops: Vec<EdgeWork>,
        mapped: Mapped,
        mark: SlotMark,
    ) -> Result<(), StoreError> {
        let mut by_slot: Vec<Vec<EdgeWork>> = (0..SLOTS).map(|_| Vec::new()).collect();
        for w in ops {
            by_slot[slot_of(w.op.user())].push(w);
        }
        let lanes = by_slot
            .into_iter()
            .filter(|ops| !ops.is_empty())
            .map(|ops| {
                let chunks = chunked(ops, mapped.is_some(), false);
                let (store, dir, mapped, group) = (
                    self.clone(),
                    dir.to_string(),
                    mapped.clone(),
                    group_id.to_string(),
                );
                async move {
                    for chunk in chunks {
                        // Boxed: a lane holds a transaction's future across its retries.
                        Box::pin(store.commit_edges(
                            &dir,
                            chunk,
                            mapped.clone(),
                            Some((&group, mark)),
                            true,
                        ))
                        .await?;
                    }
                    Ok(())
                }
            });
        run_bounded(lanes).await
    }

    /// Packs edge operations (each with its event, if any) into transactions of at most 100
    /// items and runs them, a few at a time. An add whose user vanished meanwhile (deleted, or
    /// being deleted) is dropped with its event: the user's delete removes the edge anyway.
    /// Each transaction moves the membership count by what it adds and removes (one counter
    /// shard item). With `mapped`, each transaction also resolves its users' roles. With
    /// `count_slots`, each operation counts on its group's member slot (groups that are live).
    pub(crate) async fn apply_edge_ops(
        &self,
        dir: &str,
        ops: Vec<EdgeWork>,
        mapped: Mapped,
        count_slots: bool,
    ) -> Result<(), StoreError> {
        let chunks = chunked(ops, mapped.is_some(), count_slots);
        run_bounded(chunks.into_iter().map(|chunk| {
            let (store, dir, mapped) = (self.clone(), dir.to_string(), mapped.clone());
            async move {
                store
                    .commit_edges(&dir, chunk, mapped, None, count_slots)
                    .await
            }
        }))
        .await
    }

    /// One transaction's worth of edge operations: with `slot`, a live group's, with the member
    /// slot of their users marked (all of one slot, `apply_slot_edge_ops`).
    async fn commit_edges(
        &self,
        dir: &str,
        mut chunk: Vec<EdgeWork>,
        mapped: Mapped,
        slot: Option<(&str, SlotMark)>,
        count_slots: bool,
    ) -> Result<(), StoreError> {
        let mut attempt = 0;
        let unmapped = AttributeMap::default();
        let attributes = mapped.as_ref().map_or(&unmapped, |s| &s.attributes);
        loop {
            let steps = match &mapped {
                Some(settings) => {
                    let moves: Vec<_> = chunk
                        .iter()
                        .map(|w| (w.op.user().to_string(), w.op.moves()))
                        .collect();
                    self.role_steps(dir, &settings.roles, &moves).await?
                }
                None => HashMap::new(),
            };
            let mut tx = Tx::new(self);
            if let Some((group, mark)) = slot {
                // Not an anchor: these events have their numbers already (the block).
                tx.mark_slots(dir, group, chunk.iter().map(|w| w.op.user()), mark)?;
            }
            let mut moved = 0i64;
            for w in &chunk {
                let step = steps.get(w.op.user());
                self.edge_op(&mut tx, dir, &w.op, step, count_slots)?;
                if let Some((seq, emit)) = &w.event {
                    tx.emit_at(self, dir, *seq, emit)?;
                }
                if let Some(e) = step.and_then(|s| s.event(dir, attributes)) {
                    match w.role_seq {
                        Some(seq) => tx.emit_at(self, dir, seq, &e)?,
                        None => tx.emit(dir, e),
                    }
                }
                moved += match w.op {
                    EdgeOp::Add(..) => 1,
                    EdgeOp::Remove(..) => -1,
                };
            }
            if let Some(settings) = &mapped {
                // Numbered events pin the settings on the sequence; reserved ones need a check.
                if chunk.iter().any(|w| w.event.is_some()) {
                    tx.check_settings(dir, settings.version)?;
                } else {
                    tx.expect_settings(dir, settings.version);
                }
            }
            if let Some(w) = chunk.first() {
                if moved != 0 {
                    let (EdgeOp::Add(group, _) | EdgeOp::Remove(group, _)) = &w.op;
                    self.move_memberships(&mut tx, dir, group, moved)?;
                }
            }
            match tx.commit(self).await {
                Err(StoreError::MissingMembers(gone)) => {
                    chunk.retain(|w| !matches!(&w.op, EdgeOp::Add(_, u) if gone.contains(u)));
                }
                // Another request made these edges what this change wants (with its own
                // events): drop them, and their events.
                Err(StoreError::EdgesMoved(moved)) => {
                    chunk.retain(|w| !moved.iter().any(|m| m == w.op.user()));
                }
                // These users' groups moved since their roles were resolved: resolve again.
                Err(StoreError::RolesMoved(_)) => {
                    deadline::retry(&mut attempt, "the users' groups kept changing").await?;
                }
                other => return other,
            }
        }
    }

    /// Deletes every edge of a deleted group, page by page until none is left or the deadline
    /// passes. The pairs go in transactions (`apply_edge_ops`), each conditional on its edge
    /// still being there and moving the membership count by what it deleted: the request, its
    /// retry and the clean-up function may clean up the same group at once, and the count must
    /// drop once per edge. (Transactions write each item at twice a batch's capacity, in a
    /// quarter of the calls; this path runs once per large group delete.)
    pub(crate) async fn delete_group_edges(
        &self,
        dir: &str,
        group_id: &str,
    ) -> Result<(), StoreError> {
        let mut rounds = 0;
        let mapped = self.mapped(dir, group_id).await?;
        loop {
            let users = self
                .edge_page(dir, &keys::member_prefix(group_id), 2_000)
                .await?;
            if users.is_empty() {
                return Ok(());
            }
            if deadline::passed() {
                return Err(StoreError::OutOfTime {
                    what: "the group's memberships are still being removed",
                    attempts: rounds,
                });
            }
            rounds += 1;
            let ops = users
                .into_iter()
                .map(|u| EdgeWork::plain(EdgeOp::Remove(group_id.to_string(), u)))
                .collect();
            // The group is gone: its slots are tombstones, nothing counts on them.
            self.apply_edge_ops(dir, ops, mapped.clone(), false).await?;
        }
    }

    /// `MissingMembers` unless every id in `ids` is a user of the directory (not being deleted).
    pub(crate) async fn require_users(&self, dir: &str, ids: &[String]) -> Result<(), StoreError> {
        let missing = self.missing_users(dir, ids).await?;
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::MissingMembers(missing))
        }
    }

    /// Ids among `ids` that are not users of the directory (or are being deleted).
    pub async fn missing_users(
        &self,
        dir: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = BTreeSet::new();
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|id| {
                    key(
                        keys::directory_pk(dir),
                        keys::resource_sk(ResourceKind::User, id),
                    )
                })
                .collect();
            for item in self.batch_get(keys, Some("pk, sk, deleting")).await? {
                if item.contains_key(DELETING) {
                    continue;
                }
                if let Some(id) = get_s(&item, keys::SK)
                    .and_then(|sk| keys::id_from_resource_sk(ResourceKind::User, sk))
                {
                    found.insert(id);
                }
            }
        }
        Ok(ids
            .iter()
            .filter(|id| !found.contains(*id))
            .cloned()
            .collect())
    }

    /// The user ids of a group, in id order.
    pub async fn members_of_group(
        &self,
        dir: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.edge_page(dir, &keys::member_prefix(group_id), usize::MAX)
            .await
    }

    /// The first `limit` ids under an edge prefix.
    pub async fn edge_page(
        &self,
        dir: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let (items, _) = self.query_prefix(dir, prefix, None, limit, true).await?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, keys::SK).map(keys::last_component))
            .collect())
    }

    /// BatchWriteItem in chunks of 25, re-sending unprocessed items with backoff until the
    /// deadline.
    pub(crate) async fn batch_write(&self, writes: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in writes.chunks(MAX_BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(StoreError::sdk)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    deadline::retry(&mut attempt, "batch writes kept being throttled").await?;
                }
            }
        }
        Ok(())
    }
}

fn membership_event(dir: &str, op: &EdgeOp, group: &GroupSummary) -> NewEvent {
    match op {
        EdgeOp::Add(_, user) => NewEvent::membership(Membership::Added, dir, group, user),
        EdgeOp::Remove(_, user) => NewEvent::membership(Membership::Removed, dir, group, user),
    }
}

impl Tx {
    fn emit_membership(&mut self, dir: &str, op: &EdgeOp, group: &GroupSummary) {
        self.emit(dir, membership_event(dir, op, group));
    }
}

fn ops(group_id: &str, delta: &MemberDelta) -> Vec<EdgeOp> {
    let g = || group_id.to_string();
    delta
        .add
        .iter()
        .map(|u| EdgeOp::Add(g(), u.clone()))
        .chain(delta.remove.iter().map(|u| EdgeOp::Remove(g(), u.clone())))
        .collect()
}

/// Edge operations packed into transactions of at most 100 items, in order; with `slot_each`,
/// each operation counts on a member slot of its own (one user's edges in many groups).
fn chunked(ops: Vec<EdgeWork>, mapped: bool, slot_each: bool) -> Vec<Vec<EdgeWork>> {
    let mut chunks: Vec<Vec<_>> = Vec::new();
    let mut size = MAX_TX_ITEMS;
    for w in ops {
        let mut items = w.op.items() + usize::from(w.event.is_some());
        if mapped {
            items += 2;
        }
        if slot_each {
            items += 1;
        }
        if size + items > MAX_TX_ITEMS {
            chunks.push(Vec::new());
            // The counter shard, the settings check or sequence, and a member slot.
            size = 3;
        }
        size += items;
        chunks.last_mut().expect("pushed above").push(w);
    }
    chunks
}

/// Runs `writes`, at most `PARALLEL_WRITES` at a time, each under the caller's deadline; the
/// first failure stops the rest.
async fn run_bounded<F>(writes: impl IntoIterator<Item = F>) -> Result<(), StoreError>
where
    F: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let until = deadline::current();
    let mut tasks = tokio::task::JoinSet::new();
    for w in writes {
        while tasks.len() >= PARALLEL_WRITES {
            join_one(&mut tasks).await?;
        }
        tasks.spawn(super::committed::inherit(super::caller::inherit(
            deadline::at(until, w),
        )));
    }
    while !tasks.is_empty() {
        join_one(&mut tasks).await?;
    }
    Ok(())
}

async fn join_one(
    tasks: &mut tokio::task::JoinSet<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    match tasks.join_next().await {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(StoreError::Task(e)),
        None => Ok(()),
    }
}

/// A BatchWriteItem delete of the item at (`pk`, `sk`) — only the key, whatever else a
/// projection read.
pub(crate) fn delete_request(pk: String, sk: String) -> Result<WriteRequest, StoreError> {
    let del = DeleteRequest::builder()
        .set_key(Some(key(pk, sk)))
        .build()
        .map_err(StoreError::Request)?;
    Ok(WriteRequest::builder().delete_request(del).build())
}
