//! Deleting users and groups, each with every membership edge it is part of.
//!
//! **A small delete takes two round trips.** It reads the resource (a group with its member
//! slots) and, beside that read, lists the resource's edges (`Store::read_for_delete`). A listing
//! made beside the read, not after it, may miss an edge added between the two; the counts say
//! whether it did. Every transaction that writes an edge pair moves the user's group count and
//! the member count of the user's slot in the group (`members.rs`), so for a resource whose edges
//! were all counted (`Record::counted`):
//! - the delete's transaction deletes each listed edge conditional on it being there: at commit,
//!   every listed edge is there;
//! - it is conditional on the counts being as read (it deletes a user's group count item, and
//!   tombstones a group's slots): at commit, the edges number what the counts said;
//! - it is used only when the listing numbers the same. Then the edges at commit are exactly the
//!   listed ones, and none is left behind.
//!
//! Otherwise (the listing missed an add, or the resource predates the counts) the delete lists
//! again after the read, as it always did: an edge added after that read moves what the delete
//! is conditional on (a user's edge sequence, a group's slots), so three round trips, still exact.
//!
//! **Large deletes** take several steps, each safe alone (`mutate.rs` has the rule):
//! - a group with more members than one transaction takes is deleted with its guards, counter
//!   and a clean-up marker; the edges left behind point at a group no read can reach, and are
//!   removed by the request, its retry, the clean-up function on the table's stream, or
//!   `scimctl directory check --repair`;
//! - a user in too many groups is first marked `deleting` (no new memberships), its edges are
//!   removed pair by pair, then the user goes.

use std::collections::HashMap;

use super::keys;
use super::members::{group_count_key, EdgeOp, EdgeWork, EDGE_SEQ_SEEN, GROUPS};
use super::mutate::{index_items, object, version_is};
use super::resources::{DELETING, ID, PENDING, VERSION};
use super::roles::Moves;
use super::settings::DirSettings;
use super::slots::{signed, SLOTS};
use super::tx::{Expr, Role, Tx, MAX_TX_ITEMS};
use super::{get_n, key, n, s, Record, State, Store, StoreError};
use crate::clock;
use crate::events::NewEvent;
use crate::scim::resource::{index_values, IndexValues};
use crate::scim::schema::ResourceKind;

/// Edges a delete lists beside its read: more than any one transaction deletes.
const LISTED: usize = 40;

/// A resource's edges as listed beside its read (`Store::read_for_delete`).
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The ids at the other end (a user's groups, a group's members), the first `LISTED`.
    pub ids: Vec<String>,
    /// Whether `ids` is every edge the listing saw.
    pub complete: bool,
    /// A user's group count as read beside its item (0 without a count item).
    pub count: i64,
    /// How far code that keeps that count moved the user's edge sequence
    /// (`members::EDGE_SEQ_SEEN`).
    pub edge_seq_seen: u64,
}

impl Listing {
    /// The listed ids, if they are all of the resource's edges now: every edge counted since
    /// `old` was created, and as many listed as counted (`members` for a group, from its slots).
    fn trusted(&self, old: &Record, members: Option<usize>) -> Option<&[String]> {
        (old.counted && self.complete && members == Some(self.ids.len()))
            .then_some(self.ids.as_slice())
    }
}

impl Store {
    /// The resource a delete starts from (a group with its slots, the directory's sequence
    /// shards kept for the write: `prefetch.rs`) and, beside it, its edges and a user's group
    /// count: one round trip.
    pub async fn read_for_delete(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<(Option<Record>, Listing), StoreError> {
        let (prefix, extra) = match kind {
            ResourceKind::User => (keys::member_of_prefix(id), vec![group_count_key(dir, id)]),
            ResourceKind::Group => (keys::member_prefix(id), Vec::new()),
        };
        let ((record, found), ids) = tokio::try_join!(
            Box::pin(self.get_for_write(dir, kind, id, &extra, true)),
            self.edge_page(dir, &prefix, LISTED + 1)
        )?;
        let count_item = found.iter().flatten().next();
        let listing = Listing {
            complete: ids.len() <= LISTED,
            ids,
            count: count_item.map_or(0, |i| signed(i, GROUPS)),
            edge_seq_seen: count_item
                .and_then(|i| get_n(i, EDGE_SEQ_SEEN))
                .unwrap_or(0),
        };
        Ok((record, listing))
    }

    /// Deletes a resource read at `old` with its guards, index items, counter and every
    /// membership edge it is part of (module header). `listing`: its edges as listed beside
    /// that read, if they were.
    pub async fn delete(
        &self,
        dir: &str,
        kind: ResourceKind,
        old: &Record,
        listing: Option<&Listing>,
    ) -> Result<(), StoreError> {
        match kind {
            ResourceKind::User => self.delete_user(dir, old, listing).await,
            ResourceKind::Group => self.delete_group(dir, old, listing).await,
        }
    }

    /// The resource item's delete with its guards, index items and counter shard; its deleted
    /// event renders a user's custom attributes with `settings`' map, which the transaction pins.
    fn delete_resource(
        &self,
        tx: &mut Tx,
        dir: &str,
        kind: ResourceKind,
        old: &Record,
        cond: Expr,
        settings: &DirSettings,
    ) -> Result<(), StoreError> {
        tx.delete(
            key(keys::directory_pk(dir), keys::resource_sk(kind, &old.id)),
            Some(cond),
            Role::Resource,
        )?;
        tx.anchor_last();
        tx.after(old.order);
        let before = index_values(kind, &old.body);
        self.index_changes(tx, dir, kind, &old.id, &before, &IndexValues::default())?;
        tx.emit(
            dir,
            NewEvent::deleted(&object(dir, kind, old, &settings.attributes)),
        );
        tx.expect_settings(dir, settings.version);
        // A pending group was never counted.
        if !matches!(old.state, State::Pending { .. }) {
            self.move_counter(tx, dir, kind, &old.id, -1)?;
        }
        Ok(())
    }

    async fn delete_user(
        &self,
        dir: &str,
        old: &Record,
        listing: Option<&Listing>,
    ) -> Result<(), StoreError> {
        let kind = ResourceKind::User;
        // Resource, counter, sequence, deleted event, group count and a spare.
        let room = MAX_TX_ITEMS - 6 - index_items(kind, old);
        // Per group: its edge pair and the member slot counting the user.
        let per = 3;
        let settings = self.settings(dir).await?;
        if old.state == State::Live {
            // Only code that keeps the count moved the edge sequence.
            let trusted = listing
                .filter(|l| l.edge_seq_seen == old.edge_seq)
                .and_then(|l| {
                    let counted = usize::try_from(l.count).ok();
                    l.trusted(old, counted).map(|ids| (ids.to_vec(), l))
                });
            let (groups, count) = match trusted {
                Some((ids, l)) => (ids, Some(count_is(l.count, l.edge_seq_seen))),
                // A user no edge was ever added to has none (its delete is conditional on that).
                None if old.never_grouped => (Vec::new(), None),
                None => {
                    let prefix = keys::member_of_prefix(&old.id);
                    (self.edge_page(dir, &prefix, room / per + 1).await?, None)
                }
            };
            if groups.len() <= room / per {
                let mut tx = Tx::new(self);
                let cond = version_is(old.stored_version).and_edge_seq(old.edge_seq);
                self.delete_resource(&mut tx, dir, kind, old, cond, &settings)?;
                // Before the edges, whose counts merge into it: a trusted listing is trusted
                // only while the count is as read. A user never grouped has none (an edge write
                // moves its edge sequence, which the delete is conditional on).
                if !old.never_grouped {
                    tx.delete(group_count_key(dir, &old.id), count, Role::Resource)?;
                }
                for g in &groups {
                    self.edge_pair_delete(&mut tx, dir, g, &old.id, kind)?;
                }
                tx.count_memberships(dir, -(groups.len() as i64));
                return tx.commit(self).await;
            }
            // Too many groups: stop new memberships, then remove edges pair by pair.
            let mut tx = Tx::new(self);
            tx.update(
                key(keys::directory_pk(dir), keys::resource_sk(kind, &old.id)),
                // The version moves too, so no write that read the user before can clear the mark.
                Expr::new("SET #d = :one ADD #v :one")
                    .name("#d", DELETING)
                    .name("#v", VERSION)
                    .value(":one", n(1)),
                Some(version_is(old.stored_version)),
                Role::Resource,
            )?;
            tx.commit(self).await?;
        }
        loop {
            let groups = self
                .edge_page(dir, &keys::member_of_prefix(&old.id), 1_000)
                .await?;
            if groups.is_empty() {
                break;
            }
            let ops = groups
                .into_iter()
                .map(|g| EdgeWork::plain(EdgeOp::Remove(g, old.id.clone())))
                .collect();
            self.apply_edge_ops(dir, ops, None, true).await?;
        }
        let mut tx = Tx::new(self);
        let cond = Expr::new("attribute_exists(#d)").name("#d", DELETING);
        self.delete_resource(&mut tx, dir, kind, old, cond, &settings)?;
        tx.delete(group_count_key(dir, &old.id), None, Role::Other)?;
        tx.commit(self).await
    }

    async fn delete_group(
        &self,
        dir: &str,
        old: &Record,
        listing: Option<&Listing>,
    ) -> Result<(), StoreError> {
        let kind = ResourceKind::Group;
        // A live group's slots, read before its members are listed (or beside, when their
        // counts vouch for the listing): a member change after the read moves one, which
        // cancels this delete (`slots.rs`). A pending group has none.
        let slots = match (&old.state, &old.slots) {
            (State::Pending { .. }, _) => None,
            (_, Some(slots)) => Some(slots.clone()),
            (_, None) => self.with_slots(dir, old.clone()).await?.slots,
        };
        let slot_items = if slots.is_some() { SLOTS } else { 0 };
        // Resource, counter, marker, sequence, deleted event and block.
        let room = MAX_TX_ITEMS - 6 - slot_items - index_items(kind, old);
        let settings = self.settings(dir).await?;
        let mapped = settings.roles.maps(&old.id);
        // Per member: its edge pair and its group count, and when the group maps to a role its
        // user and event.
        let per = if mapped { 5 } else { 3 };
        let counted = slots.as_ref().and_then(|s| s.members());
        let members = match listing.and_then(|l| l.trusted(old, counted)) {
            Some(ids) => ids.to_vec(),
            None => {
                self.edge_page(dir, &keys::member_prefix(&old.id), room / per + 1)
                    .await?
            }
        };
        // A pending group is removed only while still pending with the intent read: a create
        // that takes it over meanwhile makes it live at the same version.
        let cond = match &old.state {
            State::Pending { intent, .. } => Expr::new("#p = :i")
                .name("#p", PENDING)
                .value(":i", s(intent)),
            _ => version_is(old.stored_version),
        };
        let mut tx = Tx::new(self);
        self.delete_resource(&mut tx, dir, kind, old, cond, &settings)?;
        if let Some(slots) = &slots {
            tx.tombstone_slots(dir, &old.id, slots)?;
        }
        // A pending group's created event stays held by its creator's block until that block
        // is stale; this deleted event follows it.
        if members.len() <= room / per {
            let steps = if mapped {
                let moves: Vec<_> = members
                    .iter()
                    .map(|u| (u.clone(), Moves::Leaves(&old.id)))
                    .collect();
                self.role_steps(dir, &settings.roles, &moves).await?
            } else {
                HashMap::new()
            };
            for u in &members {
                self.edge_pair_delete(&mut tx, dir, &old.id, u, kind)?;
                if let Some(step) = steps.get(u) {
                    step.update(&mut tx, dir)?;
                    if let Some(e) = step.event(dir, &settings.attributes) {
                        tx.emit(dir, e);
                    }
                }
            }
            tx.count_memberships(dir, -(members.len() as i64));
            return tx.commit(self).await;
        }
        let mut marker = key(keys::directory_pk(dir), keys::cleanup_sk(&old.id));
        marker.insert(ID.into(), s(&old.id));
        marker.insert(keys::MARKED_MS.into(), n(clock::now_millis()));
        tx.put(marker, None, Role::Other)?;
        tx.commit(self).await?;
        // The group is gone for every reader now; what the deadline leaves undone, the clean-up
        // function (stream) or the next attempt finishes.
        match self.finish_clean_up(dir, &old.id).await {
            Err(e) if e.is_unavailable() => {
                tracing::warn!(group = %old.id, error = %crate::telemetry::chain(&e), "group clean-up continues after the request");
                Ok(())
            }
            other => other,
        }
    }

    /// Removes the edges a deleted group left behind and then its clean-up marker. Returns
    /// whether a marker was there. Stops with `Unavailable` when the deadline passes; the marker
    /// stays, and whoever runs this next (the request's retry, the clean-up function,
    /// `scimctl directory check --repair`) goes on.
    pub async fn clean_up_group(&self, dir: &str, group_id: &str) -> Result<bool, StoreError> {
        let marker = keys::cleanup_sk(group_id);
        if self
            .get_item(keys::directory_pk(dir), marker)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        self.finish_clean_up(dir, group_id).await?;
        Ok(true)
    }

    async fn finish_clean_up(&self, dir: &str, group_id: &str) -> Result<(), StoreError> {
        self.delete_group_edges(dir, group_id).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::directory_pk(dir),
                keys::cleanup_sk(group_id),
            )))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }
}

/// The condition that a user's group count item is still as read: `count` groups, its edge
/// sequence mirror at `seen` (an item with neither was never written).
fn count_is(count: i64, seen: u64) -> Expr {
    let text = if seen == 0 {
        "attribute_not_exists(#s) AND (attribute_not_exists(#n) OR #n = :n)"
    } else {
        "#s = :s AND #n = :n"
    };
    let expr = Expr::new(text).name("#n", GROUPS).name("#s", EDGE_SEQ_SEEN);
    let expr = expr.value(":n", n(count));
    if seen == 0 {
        expr
    } else {
        expr.value(":s", n(seen))
    }
}
