//! Creating, updating and deleting users and groups so that every prefix of a write is safe: a
//! Lambda that dies, times out or is throttled between two DynamoDB calls never leaves a state a
//! reader sees as wrong, and the IdP's retry of the same request finishes the job.
//!
//! The rule: **a write that fits one transaction (100 items) is one transaction** — the resource,
//! its uniqueness guards and index items, a counter shard, and its membership edges. Only member
//! changes larger than that take several steps, and those are ordered so each step is safe alone:
//! - every membership edge pair (`MEMBER#g#u` + `MEMBEROF#u#g`) is written or deleted in one
//!   transaction, never split, so no membership is ever visible from one side only;
//! - a **large group create** first writes the group as `pending` (invisible to every read, its
//!   name reserved), then its edges, then one transaction makes it live and counts it; a retry of
//!   the same create (same body and members: the `intent`) takes the pending group over;
//! - a **delete** (`deletes.rs`) deletes the resource and its edges in one transaction when they
//!   fit, conditional on what every edge write moves; a large group goes with a clean-up marker
//!   and its edges after it, a user in many groups is marked `deleting` first;
//! - a **large member change** on an existing group writes its edge pairs first and the member
//!   slots (and the group item, for a PUT) last.
//!
//! Member adds and removes never condition on the group's version (edges are idempotent) and never
//! write the group item: they bump the member slots of their users (`slots.rs`), which the group's
//! version counts, so ETags still move.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::keys;
use super::members::MemberDelta;
use super::resources::{index_entries, resource_item, EDGE_SEQ, ID, PENDING, VERSION};
use super::slots::{SlotMark, SLOTS};
use super::tx::{Expr, Role, Tx, MAX_TX_ITEMS};
use super::{key, n, s, Record, State, Store, StoreError};
use crate::clock;
use crate::custom_attributes::AttributeMap;
use crate::events::{GroupSummary, NewEvent, Object};
use crate::scim::filter::eval::fold_case;
use crate::scim::resource::{index_values, IndexValues};
use crate::scim::schema::ResourceKind;

/// How long a freed name guard stays (without an owner) before its TTL removes it: far longer
/// than any write that may still take the name is in flight.
const FREED_GUARD_SECS: u64 = 86_400;

/// A pending create older than this was abandoned (longer than any request may run).
const PENDING_STALE_MS: u64 = 120_000;

/// How the resource item moves in an update.
pub enum GroupWrite<'a> {
    /// Write this body at `old.version + 1`, conditional on `old`'s version (body changed or the
    /// client sent If-Match).
    Replace { old: &'a Record, new: &'a Record },
    /// Bump the member slots of the users changed, without reading them (member-only change,
    /// no If-Match); the group as last read names it in the membership events.
    Touch { group: &'a Record },
}

impl Store {
    /// Creates a resource (a group with its `members`). Returns the record as stored: a retried
    /// large group create returns the group its first attempt left pending.
    pub async fn create(
        &self,
        dir: &str,
        kind: ResourceKind,
        record: &Record,
        members: &[String],
    ) -> Result<Record, StoreError> {
        let delta = MemberDelta {
            add: members.to_vec(),
            remove: Vec::new(),
        };
        // A new user is in no group: it takes the default role, and its event renders its
        // custom attributes (both from the settings pinned at commit).
        let mut record = record.clone();
        let settings = match kind {
            ResourceKind::User => {
                let settings = self.settings(dir).await?;
                record.resolved = settings.roles.resolve(&Default::default());
                Some(settings)
            }
            ResourceKind::Group => None,
        };
        let record = &record;
        let idx = index_values(kind, &record.body);
        // Resource, counter, sequence and created event, then guards, index items, edges and
        // the member slots counting them.
        let slot_items = delta.add.len().min(SLOTS);
        let fits = 4 + index_items(kind, record) + delta.items() + slot_items <= MAX_TX_ITEMS;
        // Too many members for one transaction: pending first, then edges, then live.
        let intent = intent(record, members);
        let mut first = record.clone();
        if !fits {
            self.require_users(dir, members).await?;
            first.state = State::Pending {
                intent: intent.clone(),
                since_ms: clock::now_millis() as u64,
            };
            // Its edges go in before it is live, without member counts (`Record::counted`).
            first.counted = false;
        }
        let mut tx = Tx::new(self);
        tx.put(
            resource_item(dir, kind, &first)?,
            Some(Expr::new("attribute_not_exists(pk)")),
            Role::Resource,
        )?;
        tx.anchor_last();
        let none = IndexValues::default();
        self.index_changes(&mut tx, dir, kind, &record.id, &none, &idx)?;
        let unmapped = AttributeMap::default();
        let attributes = settings.as_ref().map_or(&unmapped, |s| &s.attributes);
        tx.emit(
            dir,
            NewEvent::created(&object(dir, kind, record, attributes)),
        );
        if let Some(settings) = &settings {
            tx.expect_settings(dir, settings.version);
        }
        if fits {
            self.move_counter(&mut tx, dir, kind, &record.id, 1)?;
            let group = GroupSummary::of(&record.id, &record.body);
            // A new group maps to no role (its id is new): no user's role moves.
            let none = HashMap::new();
            self.edge_changes(&mut tx, dir, &record.id, &delta, &group, &none, attributes)?;
        } else {
            // The created event and the member events after it stay unread until the group is
            // live (the block closes with it).
            tx.reserve(dir, members.len() as u64);
        }
        let (pending, current, block) = match tx.commit_numbered(self).await {
            Ok(_) if fits => return Ok(first),
            Ok(seq) => (first, Vec::new(), seq),
            // The name may be held by a group create that never finished: this create (a retry
            // of it, or any create once it is abandoned) takes it over.
            Err(StoreError::Conflict(what)) if kind == ResourceKind::Group => {
                match self.abandoned(dir, kind, &idx, &intent).await? {
                    Some(earlier) => {
                        let current = self.members_of_group(dir, &earlier.id).await?;
                        (earlier, current, None)
                    }
                    None => return Err(StoreError::Conflict(what)),
                }
            }
            Err(e) => return Err(e),
        };
        self.finish_create(dir, kind, &pending, record, &current, members, block)
            .await
    }

    /// The pending group owning the name in `idx`, if it is this create's earlier attempt (same
    /// intent) or was abandoned.
    async fn abandoned(
        &self,
        dir: &str,
        kind: ResourceKind,
        idx: &IndexValues,
        intent: &str,
    ) -> Result<Option<Record>, StoreError> {
        let Some(name) = idx.unique_name() else {
            return Ok(None);
        };
        let Some(id) = self.id_by_unique_name(dir, kind, name).await? else {
            return Ok(None);
        };
        let now = clock::now_millis() as u64;
        Ok(self.get(dir, kind, &id).await?.filter(|r| match &r.state {
            State::Pending {
                intent: i,
                since_ms,
            } => i == intent || now.saturating_sub(*since_ms) > PENDING_STALE_MS,
            _ => false,
        }))
    }

    /// Brings a pending group's edges from `current` to `members`, then makes it live as
    /// `wanted` (keeping the pending group's id) and counts it, in one transaction conditional on
    /// it still pending that also closes its event block. `block`: the first number of the
    /// block the pending write opened (its created event; the members' events follow); a
    /// takeover opens its own for the members still to add, and the first attempt's block
    /// passes when it is stale.
    #[allow(clippy::too_many_arguments)]
    async fn finish_create(
        &self,
        dir: &str,
        kind: ResourceKind,
        pending: &Record,
        wanted: &Record,
        current: &[String],
        members: &[String],
        block: Option<u64>,
    ) -> Result<Record, StoreError> {
        let State::Pending { intent, .. } = &pending.state else {
            return Err(StoreError::Bug("finish_create of a live resource"));
        };
        let mut live = wanted.clone();
        live.id = pending.id.clone();
        live.state = State::Live;
        live.counted = false;
        let delta = MemberDelta::between(current, members);
        // (the block's first number, the first number of the member events)
        let (block, edges_from) = match block {
            Some(first) => (Some(first), first + 1),
            None if !delta.is_empty() => {
                let first = self.reserve_events(dir, delta.len() as u64).await?;
                (Some(first), first)
            }
            None => (None, 0),
        };
        if !delta.is_empty() {
            let group = GroupSummary::of(&live.id, &live.body);
            // A pending group: no reader or writer can reach it yet.
            self.apply_edges(dir, &live.id, &delta, &group, edges_from, None, None)
                .await?;
        }
        let mut tx = Tx::new(self);
        if let Some(first) = block {
            tx.close_block(dir, first)?;
        }
        // A takeover of an abandoned create with another body: the held created event showed
        // the first body.
        if pending.body != live.body {
            tx.emit(
                dir,
                updated(dir, kind, pending, &live, &AttributeMap::default()),
            );
        }
        tx.put(
            resource_item(dir, kind, &live)?,
            Some(
                Expr::new("#p = :i")
                    .name("#p", PENDING)
                    .value(":i", s(intent)),
            ),
            Role::Resource,
        )?;
        tx.anchor_last();
        let (before, after) = (
            index_values(kind, &pending.body),
            index_values(kind, &live.body),
        );
        self.index_changes(&mut tx, dir, kind, &live.id, &before, &after)?;
        self.move_counter(&mut tx, dir, kind, &live.id, 1)?;
        match tx.commit(self).await {
            Ok(()) => Ok(live),
            // Another attempt finished (or took over) the pending group first: if it made what
            // this create asks for, that is this create's answer too.
            Err(StoreError::VersionMismatch) => match self.get(dir, kind, &live.id).await? {
                Some(r) if r.state == State::Live && r.body == live.body => Ok(r),
                _ => Err(StoreError::Conflict(format!(
                    "a group being created under this name (id {})",
                    live.id
                ))),
            },
            Err(e) => Err(e),
        }
    }

    /// Writes a changed user or group. `old` is the version read; `new` carries
    /// `old.meta.version + 1`. The write is conditional on `old`'s version.
    pub async fn replace(
        &self,
        dir: &str,
        kind: ResourceKind,
        old: &Record,
        new: &Record,
        members: &MemberDelta,
    ) -> Result<(), StoreError> {
        // Boxed: the write's future is large (debug builds overflow the stack).
        Box::pin(self.write_group_or_user(
            dir,
            kind,
            GroupWrite::Replace { old, new },
            &new.id,
            members,
        ))
        .await
    }

    /// Adds and removes members of a group without reading or conditioning on its version: the
    /// member slots of the users changed move in the same transaction as the last edges.
    pub async fn change_members(
        &self,
        dir: &str,
        group: &Record,
        members: &MemberDelta,
    ) -> Result<(), StoreError> {
        Box::pin(self.write_group_or_user(
            dir,
            ResourceKind::Group,
            GroupWrite::Touch { group },
            &group.id,
            members,
        ))
        .await
    }

    async fn write_group_or_user(
        &self,
        dir: &str,
        kind: ResourceKind,
        write: GroupWrite<'_>,
        id: &str,
        members: &MemberDelta,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(self);
        // A user's event renders its custom attributes, and a member change asks whether the
        // group maps to a role: both pin the directory's settings (`settings.rs`; from the
        // cache, so a warm write pays no round trip for them).
        let settings = if kind == ResourceKind::User || !members.is_empty() {
            let settings = self.settings(dir).await?;
            tx.expect_settings(dir, settings.version);
            Some(settings)
        } else {
            None
        };
        let unmapped = AttributeMap::default();
        let attributes = settings.as_ref().map_or(&unmapped, |s| &s.attributes);
        // The name this write takes, when it takes a new one.
        let mut new_name = None;
        match write {
            GroupWrite::Replace { old, new } => {
                // A group's slots as read (`slots.rs`): each written conditional on it, so a
                // member change since cancels this write, and taken in by the item.
                let mut item_new = new.clone();
                if kind == ResourceKind::Group {
                    let slots = old
                        .slots
                        .as_ref()
                        .ok_or(StoreError::Bug("a group write read no slots"))?;
                    item_new.absorbed = tx.fence_slots(dir, id, slots, new.meta.version)?;
                }
                // And on the edge sequence: a member change moved it (and maybe the user's
                // roles, which this put carries as read).
                tx.put(
                    resource_item(dir, kind, &item_new)?,
                    Some(version_is(old.stored_version).and_edge_seq(old.edge_seq)),
                    Role::Resource,
                )?;
                tx.anchor_last();
                tx.after(old.order);
                if old.body != new.body {
                    tx.emit(dir, updated(dir, kind, old, new, attributes));
                }
                let (before, after) =
                    (index_values(kind, &old.body), index_values(kind, &new.body));
                self.index_changes(&mut tx, dir, kind, id, &before, &after)?;
                if renamed(&before, &after) {
                    new_name = after.unique_name().cloned();
                }
            }
            GroupWrite::Touch { group } => {
                // The slots of the users it changes, not the group item (`slots.rs`).
                tx.bump_slots(dir, id, members.add.iter().chain(&members.remove))?;
                tx.after(group.order);
            }
        }
        let group = match write {
            GroupWrite::Replace { new, .. } => GroupSummary::of(id, &new.body),
            GroupWrite::Touch { group } => GroupSummary::of(id, &group.body),
        };
        // Is this group mapped to a role, and to what (the settings pinned above).
        let mapped = settings
            .clone()
            .filter(|s| kind == ResourceKind::Group && s.roles.maps(id));
        let role_items = if mapped.is_some() {
            members.role_items()
        } else {
            0
        };
        // (The sequence shard counts once even when only the member events use it.)
        if tx.len() + members.items() + role_items < MAX_TX_ITEMS {
            let steps = match &mapped {
                Some(settings) => {
                    self.role_steps(dir, &settings.roles, &members.moves(id))
                        .await?
                }
                None => HashMap::new(),
            };
            self.edge_changes(&mut tx, dir, id, members, &group, &steps, attributes)?;
        } else {
            // The edges go first and cannot be taken back: refuse a rename to a taken name
            // before writing any.
            if let Some(name) = &new_name {
                if self
                    .id_by_unique_name(dir, kind, name)
                    .await?
                    .is_some_and(|o| o != id)
                {
                    return Err(StoreError::Conflict(format!("displayName \"{name}\"")));
                }
            }
            self.require_users(dir, &members.add).await?;
            // Numbers for the member events first (and their users' role events, when the
            // group is mapped); the last transaction closes their block.
            let per = if mapped.is_some() { 2 } else { 1 };
            let first = self
                .reserve_events(dir, (per * members.len()) as u64)
                .await?;
            // Each edge transaction marks its slot, so a delete that read the slots before it
            // fails, and one after it fails it. A member-only change moves the version there;
            // a write of the group item counts its edge transactions apart, for its last
            // transaction fences the versions it read before them (`slots.rs`).
            let mark = match write {
                GroupWrite::Touch { .. } => SlotMark::Version,
                GroupWrite::Replace { .. } => SlotMark::EdgeWrites,
            };
            self.apply_edges(dir, id, members, &group, first, mapped, Some(mark))
                .await?;
            tx.close_block(dir, first)?;
        }
        tx.commit(self).await
    }

    /// Puts the guard and index items `after` has and `before` lacks, and deletes the reverse.
    /// The old name guard is freed (its owner removed) only if it still names this id.
    pub(crate) fn index_changes(
        &self,
        tx: &mut Tx,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        before: &IndexValues,
        after: &IndexValues,
    ) -> Result<(), StoreError> {
        let pk = keys::directory_pk(dir);
        if renamed(before, after) {
            if let Some(old) = before.unique_name() {
                let old_key = key(pk.clone(), keys::unique_name_sk(kind, old));
                // A guard written under an older folding rule is not at this key: nothing to
                // delete here (`directory check --repair` removes the old one).
                let owner = Expr::new("attribute_not_exists(pk) OR #id = :id")
                    .name("#id", ID)
                    .value(":id", s(id));
                // Freed, not deleted: the guard stays a day without an owner, an anchor
                // (`outbox.rs`) that orders the name's next taker after this write.
                let freed = Expr::new("REMOVE #id SET #ttl = :ttl")
                    .name("#id", ID)
                    .name("#ttl", "ttl")
                    .value(
                        ":ttl",
                        n(clock::now_millis() as u64 / 1000 + FREED_GUARD_SECS),
                    );
                tx.update(old_key, freed, Some(owner), Role::Resource)?;
                tx.anchor_last();
            }
            if let Some(name) = after.unique_name() {
                let mut item = key(pk.clone(), keys::unique_name_sk(kind, name));
                item.insert(ID.into(), s(id));
                let attr = match kind {
                    ResourceKind::User => "userName",
                    ResourceKind::Group => "displayName",
                };
                tx.put(
                    item,
                    Some(
                        Expr::new("attribute_not_exists(pk) OR attribute_not_exists(#id)")
                            .name("#id", ID),
                    ),
                    Role::Guard(format!("{attr} \"{name}\"")),
                )?;
                tx.anchor_last();
            }
        }
        let (old, new) = (index_entries(kind, before), index_entries(kind, after));
        for (index, value) in old.iter().filter(|e| !new.contains(e)) {
            tx.delete(key(pk.clone(), index.sk(value, id)), None, Role::Other)?;
        }
        for (index, value) in new.iter().filter(|e| !old.contains(e)) {
            tx.put(key(pk.clone(), index.sk(value, id)), None, Role::Other)?;
        }
        Ok(())
    }

    /// Moves the resource's counter shard by `by` inside `tx`.
    pub(super) fn move_counter(
        &self,
        tx: &mut Tx,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        by: i64,
    ) -> Result<(), StoreError> {
        tx.update(
            key(keys::directory_pk(dir), keys::counter_sk(id)),
            Expr::new("ADD #c :by")
                .name("#c", kind.endpoint())
                .value(":by", n(by)),
            None,
            Role::Counter,
        )
    }
}

/// Whether the unique name changes (as the guard keys compare names: folded).
fn renamed(before: &IndexValues, after: &IndexValues) -> bool {
    let folded = |v: &IndexValues| v.unique_name().map(|n| fold_case(n));
    folded(before) != folded(after)
}

/// The version condition of an optimistic write.
pub(super) fn version_is(version: u64) -> Expr {
    Expr::new("#v = :v")
        .name("#v", VERSION)
        .value(":v", n(version))
}

impl Expr {
    /// `AND` the user's edge sequence is still `seq` (absent on items written before it existed).
    pub(super) fn and_edge_seq(self, seq: u64) -> Expr {
        let text = if seq == 0 {
            format!(
                "{} AND (attribute_not_exists(#es) OR #es = :es)",
                self.text()
            )
        } else {
            format!("{} AND #es = :es", self.text())
        };
        self.with_text(text)
            .name("#es", EDGE_SEQ)
            .value(":es", n(seq))
    }
}

/// Guard and index items of a resource (what its delete touches besides itself).
pub(super) fn index_items(kind: ResourceKind, r: &Record) -> usize {
    let idx = index_values(kind, &r.body);
    usize::from(idx.unique_name().is_some()) + index_entries(kind, &idx).len()
}

/// What a create is meant to produce: a retry with the same intent may take over its pending
/// group.
fn intent(record: &Record, members: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&record.body).unwrap_or_default());
    for m in members {
        h.update([0]);
        h.update(m.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The normalised object of a record: what its events carry (a user's custom attributes under
/// `attributes`, the map the write pins).
pub(super) fn object(
    dir: &str,
    kind: ResourceKind,
    r: &Record,
    attributes: &AttributeMap,
) -> Object {
    Object::of(kind, dir, &r.id, &r.body, &r.meta, &r.resolved, attributes)
}

/// The updated event of a record written from `old` to `new`: both sides under one map, so
/// `previous_attributes` names what the write changed, not what a mapping change did.
fn updated(
    dir: &str,
    kind: ResourceKind,
    old: &Record,
    new: &Record,
    attributes: &AttributeMap,
) -> NewEvent {
    NewEvent::updated(
        &object(dir, kind, old, attributes),
        &object(dir, kind, new, attributes),
    )
}
