//! A group's member slots: the items a member change writes instead of the group item, so the
//! writers of one group meet on one of `SLOTS` items rather than all on one (issue 21).
//!
//! DynamoDB cancels a transaction that meets another on an item, and a ConditionCheck counts as
//! meeting. While every member add moved the group item's version, one group took about one
//! member-changing transaction per transaction latency, whatever the number of writers. Now:
//! - a **member change** bumps the slot of each user it adds or removes (`GSLOT#{group}#{k}`,
//!   k = a fixed hash of the user id), an anchor as the group item was, conditional on the slot
//!   not being a tombstone. Adds and removes of one user still meet on one item, so their events
//!   keep their order; changes of users in different slots go side by side.
//! - the group's **version** (its ETag) is the version stored on the group item plus what its
//!   slots moved since a write of the group item last took them in (`absorbed`, one number per
//!   slot on the group item). A read of one group reads its slots beside the item (one Query, no
//!   round trip more); a list shows the stored version, which a member change alone does not move.
//! - a write of the **group item** (PUT, a PATCH of its attributes, any write with If-Match)
//!   reads the slots, and its transaction writes every slot conditional on what it read: a member
//!   change that commits between the read and the write cancels it, as it did when both wrote
//!   the group item. It takes the slots in: the new stored version is the version the client saw
//!   plus one, stamped on each slot (`fenced_at`) so a read that caught the item before the write
//!   and the slots after it can tell (`Slots::newer_than`).
//! - a **delete** reads the slots before it lists the members and writes every slot as a
//!   tombstone (conditional the same way; a TTL removes it): a member added after the listing
//!   cancels the delete, and a member change after the delete finds the tombstone and fails as
//!   for a missing group (404 on the fresh read).
//! - the edge transactions of a **large change** mark the slot of their users (`SlotMark`): a
//!   member-only change moves its version, a write of the group item counts them apart
//!   (`edge_writes`, which the tombstones check too), since its last transaction fences the
//!   versions it read before them.
//!
//! Member changes never read a slot's version (they read its event number, `order_of`): a slot's
//! version only goes up, and what the readers and the fences compare is the value at their own
//! read.

use super::keys;
use super::resources::VERSION;
use super::tx::{Expr, Role, Tx};
use super::{get_n, get_s, key, n, s, Item, Record, Store, StoreError};
use crate::clock;

/// Slots per group. Eight writers of one group mostly meet on different slots; a write of the
/// group item writes all of them, so more would make those transactions bigger for little.
pub const SLOTS: usize = 8;
/// The group item's attribute holding, per slot, the slot version its version includes.
pub(crate) const ABSORBED: &str = "slots";
/// A slot of a deleted group: member changes of it fail.
const GONE: &str = "gone";
/// On a slot a write of the group item fenced: the version that write stored on the item. A read
/// that finds a slot stamped above the item it read has the item from before that write and the
/// slot from after it (`Slots::newer_than`).
const FENCED_AT: &str = "fenced_at";
/// On a slot: how many edge transactions of a large write of the group item wrote its users'
/// edges. They leave the version alone (the write's last transaction fences the versions it read
/// before them), but a delete that read the slot before one of them must fail.
const EDGE_WRITES: &str = "edge_writes";
/// On a slot: how many members of its group the slot's users are, moved by every transaction
/// that adds or removes one of their edges (`Tx::count_members`). A group delete lists the
/// members beside its read and trusts the listing when it holds as many as the slots count.
pub(crate) const MEMBERS: &str = "members";
/// On a slot: the sum of `member_hash` over the same members. A PUT lists the members beside its
/// read, and trusts the listing when each slot's count and sum agree with it (`Slots::vouch`):
/// an add and a remove that the listing missed leave the count as it was, not the sum.
pub(crate) const MEMBERS_HASH: &str = "members_hash";
/// On a slot: the version, and `EDGE_WRITES`, as far as code that keeps `MEMBERS` moved them.
/// Every write of a slot that moves one moves its mirror in the same update, so on a slot only
/// such code wrote they are equal. Code from before the counts moves the version or the edge
/// writes alone (its member changes leave `MEMBERS` as it was): the counts of that slot are not
/// trusted (`Slots::members`).
const VERSION_SEEN: &str = "counted_version";
const EDGE_WRITES_SEEN: &str = "counted_edge_writes";
/// How long a tombstone stays: far longer than any request that read its group may run.
const TOMBSTONE_SECS: u64 = 86_400;

/// The slot a user's membership changes bump: FNV-1a of the id, fixed for good (an add and a
/// later remove of the same user must meet on one slot, whatever build runs them).
pub fn slot_of(user: &str) -> usize {
    let hash = user.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash as usize % SLOTS
}

/// A user's share of its slot's `MEMBERS_HASH`: 52 bits of FNV-1a (64) of the id, so a
/// transaction's sum of a hundred of them stays an `i64`. Fixed for good, as `slot_of`.
pub fn member_hash(user: &str) -> i64 {
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (hash >> 12) as i64
}

/// A group's slots as one read found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    /// Each slot's version; 0 for a slot no change has written yet.
    pub(crate) versions: [u64; SLOTS],
    /// The latest lastModified among the slots.
    modified: Option<String>,
    /// The highest event number a slot carries (`tx::ORDER`).
    order: u64,
    /// The highest item version a fence stamped on a slot.
    fenced_at: u64,
    /// Each slot's `EDGE_WRITES`.
    edge_writes: [u64; SLOTS],
    /// Whether a slot is a deleted group's tombstone.
    gone: bool,
    /// Each slot's `MEMBERS`.
    members: [i64; SLOTS],
    /// Each slot's `MEMBERS_HASH` (a sum of 52-bit values: past `i64` after 2,048 members).
    hashes: [i128; SLOTS],
    /// Whether a slot's version or edge writes moved without their mirror.
    uncounted: bool,
}

impl Slots {
    fn of(items: &[Item]) -> Slots {
        let mut slots = Slots::default();
        for item in items {
            let Some(keys::SortKey::MemberSlot { slot: k, .. }) =
                get_s(item, keys::SK).and_then(keys::SortKey::parse)
            else {
                continue;
            };
            if k >= SLOTS {
                continue;
            }
            slots.edge_writes[k] = get_n(item, EDGE_WRITES).unwrap_or(0);
            slots.members[k] = signed(item, MEMBERS);
            slots.hashes[k] = signed(item, MEMBERS_HASH);
            slots.uncounted |= get_n(item, VERSION) != get_n(item, VERSION_SEEN)
                || get_n(item, EDGE_WRITES) != get_n(item, EDGE_WRITES_SEEN);
            slots.gone |= is_tombstone(item);
            slots.versions[k] = get_n(item, VERSION).unwrap_or(0);
            slots.order = slots.order.max(get_n(item, super::tx::ORDER).unwrap_or(0));
            slots.fenced_at = slots.fenced_at.max(get_n(item, FENCED_AT).unwrap_or(0));
            if let Some(m) = get_s(item, super::resources::MODIFIED) {
                if slots.modified.as_deref().is_none_or(|old| m > old) {
                    slots.modified = Some(m.to_string());
                }
            }
        }
        slots
    }

    /// Whether these slots were read after a write of the group item that `record` was read
    /// before. The item and its slots are read by two calls side by side, so one may be from
    /// before a write of the group item and the other from after it. Item after, slots before:
    /// the item took in more than the slots show, and the version comes out no higher than it
    /// is (`apply` never subtracts). Item before, slots after: every fenced slot counts one move
    /// more than the item took in, a version higher than the one the write answered, which an
    /// If-Match must never see. The stamp says which.
    pub(crate) fn newer_than(&self, record: &Record) -> bool {
        self.fenced_at > record.stored_version
    }

    /// Whether `listed` is, as far as the slots tell, exactly the members they count: in each
    /// slot as many users and the same sum of their hashes (for a group whose edges were all
    /// counted, `Record::counted`).
    pub(crate) fn vouch(&self, listed: &[String]) -> bool {
        if self.uncounted {
            return false;
        }
        let mut members = [0i64; SLOTS];
        let mut hashes = [0i128; SLOTS];
        for user in listed {
            let k = slot_of(user);
            members[k] += 1;
            hashes[k] += i128::from(member_hash(user));
        }
        members == self.members && hashes == self.hashes
    }

    /// How many members the slots count (meaningful for a group whose edges were all counted,
    /// `Record::counted`); `None` if a slot counts below zero, or if code from before the counts
    /// changed members of the group (`VERSION_SEEN`).
    pub(crate) fn members(&self) -> Option<usize> {
        if self.uncounted {
            return None;
        }
        self.members
            .iter()
            .try_fold(0usize, |sum, m| Some(sum + usize::try_from(*m).ok()?))
    }
}

/// A number attribute that may be negative (0 when absent): a count (`i64`), or a sum of
/// hashes (`i128`, past `i64` after 2,048 members).
pub(crate) fn signed<T: std::str::FromStr + Default>(item: &Item, attr: &str) -> T {
    item.get(attr)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}

/// Whether a slot item is a deleted group's tombstone.
pub(crate) fn is_tombstone(item: &Item) -> bool {
    item.contains_key(GONE)
}

/// The absorbed slot versions stored on a group item (all 0 on an item no write took them into).
pub(crate) fn absorbed_of(item: &Item) -> [u64; SLOTS] {
    let mut absorbed = [0; SLOTS];
    if let Some(list) = item.get(ABSORBED).and_then(|v| v.as_l().ok()) {
        for (k, v) in list.iter().take(SLOTS).enumerate() {
            absorbed[k] = v.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(0);
        }
    }
    absorbed
}

/// The attribute `absorbed_of` reads, when any slot was taken in.
pub(crate) fn absorbed_attribute(
    absorbed: &[u64; SLOTS],
) -> Option<aws_sdk_dynamodb::types::AttributeValue> {
    absorbed
        .iter()
        .any(|v| *v > 0)
        .then(|| aws_sdk_dynamodb::types::AttributeValue::L(absorbed.iter().map(n).collect()))
}

/// The group as a reader sees it with its slots: the version moved by every slot change not yet
/// taken in, lastModified the latest of the item's and the slots'.
pub(crate) fn apply(record: &mut Record, slots: Slots) {
    let moved: u64 = slots
        .versions
        .iter()
        .zip(record.absorbed.iter())
        .map(|(v, a)| v.saturating_sub(*a))
        .sum();
    record.meta.version = record.stored_version + moved;
    if moved > 0 {
        if let Some(m) = &slots.modified {
            if *m > record.meta.last_modified {
                record.meta.last_modified = m.clone();
            }
        }
    }
    record.order = record.order.max(slots.order);
    record.slots = Some(slots);
}

impl Store {
    /// A group's slots (one strongly consistent Query of `SLOTS` small items).
    pub(crate) async fn read_slots(&self, dir: &str, group: &str) -> Result<Slots, StoreError> {
        let (items, _) = self
            .query_prefix(dir, &keys::slot_prefix(group), None, SLOTS, false)
            .await?;
        Ok(Slots::of(&items))
    }

    /// `record` (a group) with its slots read now.
    pub(crate) async fn with_slots(
        &self,
        dir: &str,
        mut record: Record,
    ) -> Result<Record, StoreError> {
        let slots = self.read_slots(dir, &record.id).await?;
        apply(&mut record, slots);
        Ok(record)
    }

    /// A group item read side by side with its slots, `slots` (read by the same calls), as a
    /// reader sees it. When the slots are from after a write of the group item the item is from
    /// before (`Slots::newer_than`: rare, a write committed between the two reads), the slots
    /// are read again and the item after them: an item read later holds every write the slots
    /// show.
    pub(crate) async fn settle<F, Fut>(
        &self,
        dir: &str,
        mut record: Record,
        slots: Slots,
        read_item: F,
    ) -> Result<Option<Record>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Record>, StoreError>>,
    {
        // A deleted group's tombstones: the item read may be from before the delete.
        if slots.gone {
            return Ok(None);
        }
        if !slots.newer_than(&record) {
            apply(&mut record, slots);
            return Ok(Some(record));
        }
        let slots = self.read_slots(dir, &record.id).await?;
        let Some(mut record) = read_item().await? else {
            return Ok(None);
        };
        if slots.gone {
            return Ok(None);
        }
        apply(&mut record, slots);
        Ok(Some(record))
    }
}

/// The keys of the slots a change of `users` bumps, to read with the group: the event number
/// they carry is one the change must number above (`order_of`), as the group item's was.
pub fn slot_keys<'a>(
    dir: &str,
    group: &str,
    users: impl IntoIterator<Item = &'a String>,
) -> Vec<Item> {
    touched(users)
        .into_iter()
        .map(|k| slot_key(dir, group, k))
        .collect()
}

/// The slots a change of `users` writes, each once.
fn touched<S: AsRef<str>>(users: impl IntoIterator<Item = S>) -> std::collections::BTreeSet<usize> {
    users.into_iter().map(|u| slot_of(u.as_ref())).collect()
}

/// The highest event number the slot items among `items` carry.
pub fn order_of(items: &[Item]) -> u64 {
    items
        .iter()
        .filter(|i| get_s(i, keys::SK).is_some_and(|sk| sk.starts_with(keys::SLOT_PREFIX)))
        .filter_map(|i| get_n(i, super::tx::ORDER))
        .max()
        .unwrap_or(0)
}

fn slot_key(dir: &str, group: &str, k: usize) -> Item {
    key(keys::directory_pk(dir), keys::slot_sk(group, k))
}

/// How the edge transactions of a large change mark their slot (`Tx::mark_slots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotMark {
    /// A member-only change: the group's version moves as each edge transaction commits.
    Version,
    /// A write of the group item: its last transaction moves the version, fenced at what it
    /// read before the edges; a delete still sees the edge transactions.
    EdgeWrites,
}

/// A member change's move of a slot.
fn bump() -> Expr {
    Expr::new("SET #m = :now ADD #v :one, #vs :one")
        .name("#m", super::resources::MODIFIED)
        .name("#v", VERSION)
        .name("#vs", VERSION_SEEN)
        .value(":now", s(clock::now_rfc3339()))
        .value(":one", n(1))
}

/// A member change's condition on a slot: its group was not deleted.
fn not_gone() -> Expr {
    Expr::new("attribute_not_exists(#gone)").name("#gone", GONE)
}

/// The condition that slot `k` is still as `slots` read it, and not a tombstone: its version,
/// and with `edges` its count of large writes' edge transactions too. (Each attribute is absent
/// until first written, the item too: an edge transaction may create it without a version.)
fn unchanged(slots: &Slots, k: usize, edges: bool) -> Expr {
    let mut text = String::from("attribute_not_exists(#gone)");
    let mut cond = Expr::default().name("#gone", GONE).name("#v", VERSION);
    match slots.versions[k] {
        0 => text.push_str(" AND attribute_not_exists(#v)"),
        v => {
            text.push_str(" AND #v = :was");
            cond = cond.value(":was", n(v));
        }
    }
    if edges {
        // A delete: its listing holds as many members as the slots count (0 whether the
        // attribute is absent or was moved back to 0).
        text.push_str(match slots.members[k] {
            0 => " AND (attribute_not_exists(#mc) OR #mc = :mc)",
            _ => " AND #mc = :mc",
        });
        cond = cond
            .name("#mc", MEMBERS)
            .value(":mc", n(slots.members[k]))
            .name("#ew", EDGE_WRITES);
        match slots.edge_writes[k] {
            0 => text.push_str(" AND attribute_not_exists(#ew)"),
            count => {
                text.push_str(" AND #ew = :ew");
                cond = cond.value(":ew", n(count));
            }
        }
    }
    cond.with_text(text)
}

impl Tx {
    /// Bumps the slot of each of `users` once (a member change): conditional on the group not
    /// being deleted, each an anchor. A failed condition is the group's (`Role::Resource`).
    pub(crate) fn bump_slots<S: AsRef<str>>(
        &mut self,
        dir: &str,
        group: &str,
        users: impl IntoIterator<Item = S>,
    ) -> Result<(), StoreError> {
        self.write_marks(dir, group, users, SlotMark::Version, true)
    }

    /// Marks the slot of each of `users` as written by an edge transaction of a large change
    /// (`how`), without the anchor: its events took their numbers when the change reserved
    /// them. Conditional on the group not being deleted.
    pub(crate) fn mark_slots<S: AsRef<str>>(
        &mut self,
        dir: &str,
        group: &str,
        users: impl IntoIterator<Item = S>,
        how: SlotMark,
    ) -> Result<(), StoreError> {
        self.write_marks(dir, group, users, how, false)
    }

    fn write_marks<S: AsRef<str>>(
        &mut self,
        dir: &str,
        group: &str,
        users: impl IntoIterator<Item = S>,
        how: SlotMark,
        anchor: bool,
    ) -> Result<(), StoreError> {
        for k in touched(users) {
            let update = match how {
                SlotMark::Version => bump(),
                SlotMark::EdgeWrites => Expr::new("ADD #ew :one, #ews :one")
                    .name("#ew", EDGE_WRITES)
                    .name("#ews", EDGE_WRITES_SEEN)
                    .value(":one", n(1)),
            };
            self.update(
                slot_key(dir, group, k),
                update,
                Some(not_gone()),
                Role::Resource,
            )?;
            if anchor {
                self.anchor_last();
            }
        }
        Ok(())
    }

    /// Counts `by` members more on the slot of `user` in `group`, in the transaction that adds
    /// (1) or removes (-1) their edge (merged into this transaction's write of the slot).
    pub(crate) fn count_members(
        &mut self,
        dir: &str,
        group: &str,
        user: &str,
        by: i64,
    ) -> Result<(), StoreError> {
        let slot = slot_key(dir, group, slot_of(user));
        self.add_count(slot.clone(), MEMBERS, by)?;
        self.add_count(slot, MEMBERS_HASH, by * member_hash(user))
    }

    /// Moves every slot one past what `slots` read, conditional on each being as read (a write
    /// of the group item that stores version `stored`, stamped on each). Returns what the item
    /// now takes in.
    pub(crate) fn fence_slots(
        &mut self,
        dir: &str,
        group: &str,
        slots: &Slots,
        stored: u64,
    ) -> Result<[u64; SLOTS], StoreError> {
        let now = clock::now_rfc3339();
        let mut taken = [0; SLOTS];
        for (k, taken) in taken.iter_mut().enumerate() {
            *taken = slots.versions[k] + 1;
            self.update(
                slot_key(dir, group, k),
                // The mirror moves by as much (one) rather than to the same value: a slot whose
                // version older code moved stays told apart.
                Expr::new("SET #v = :next, #m = :now, #f = :stored ADD #vs :one")
                    .name("#v", VERSION)
                    .name("#vs", VERSION_SEEN)
                    .name("#m", super::resources::MODIFIED)
                    .name("#f", FENCED_AT)
                    .value(":next", n(*taken))
                    .value(":now", s(&now))
                    .value(":stored", n(stored))
                    .value(":one", n(1)),
                Some(unchanged(slots, k, false)),
                Role::Resource,
            )?;
            self.anchor_last();
        }
        Ok(taken)
    }

    /// Turns every slot into a tombstone, conditional on each being as `slots` read it (a group
    /// delete): a member change after it fails.
    pub(crate) fn tombstone_slots(
        &mut self,
        dir: &str,
        group: &str,
        slots: &Slots,
    ) -> Result<(), StoreError> {
        let ttl = clock::now_millis() as u64 / 1000 + TOMBSTONE_SECS;
        for k in 0..SLOTS {
            let mut item = slot_key(dir, group, k);
            item.insert(GONE.into(), n(1));
            item.insert("ttl".into(), n(ttl));
            item.insert(VERSION.into(), n(slots.versions[k] + 1));
            self.put(item, Some(unchanged(slots, k, true)), Role::Resource)?;
            self.anchor_last();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::resource::Meta;

    fn group(version: u64) -> Record {
        let meta = Meta {
            created: String::new(),
            last_modified: String::new(),
            version,
        };
        Record::new("g", serde_json::Map::new(), meta)
    }

    #[test]
    fn a_users_slot_is_fixed_and_users_spread_over_all_slots() {
        // Fixed for good: stored slots depend on it.
        assert_eq!(slot_of(""), 0x811c_9dc5usize % SLOTS);
        let mut seen = [0usize; SLOTS];
        for i in 0..8_000 {
            seen[slot_of(&format!("0190d3c2-{i:04x}-7000-8000-000000000000"))] += 1;
        }
        for (k, count) in seen.iter().enumerate() {
            assert!(
                (700..1_300).contains(count),
                "slot {k} took {count} of 8000"
            );
        }
    }

    #[test]
    fn slots_vouch_for_a_listing_only_of_exactly_the_members_they_count() {
        let users: Vec<String> = (0..40)
            .map(|i| format!("0190d3c2-{i:04x}-7000-8000-000000000000"))
            .collect();
        let mut slots = Slots::default();
        for u in &users[..20] {
            slots.members[slot_of(u)] += 1;
            slots.hashes[slot_of(u)] += i128::from(member_hash(u));
        }
        assert!(slots.vouch(&users[..20]));
        // One member missed, one too many, and an add and a remove the listing missed in one
        // slot (the count alone would agree).
        assert!(!slots.vouch(&users[..19]));
        assert!(!slots.vouch(&users[..21]));
        let k = slot_of(&users[0]);
        let other = users[20..]
            .iter()
            .find(|u| slot_of(u) == k)
            .expect("40 users cover every slot");
        let mut swapped = users[1..20].to_vec();
        swapped.push(other.clone());
        assert!(!slots.vouch(&swapped));
        // Slots that older code wrote vouch for nothing.
        slots.uncounted = true;
        assert!(!slots.vouch(&users[..20]));
        // The hash is fixed for good, and fits 52 bits.
        assert_eq!(member_hash(""), (0xcbf2_9ce4_8422_2325u64 >> 12) as i64);
        assert!(users.iter().all(|u| (0..1 << 52).contains(&member_hash(u))));
    }

    #[test]
    fn slots_fenced_by_a_write_the_item_read_predates_are_told_apart() {
        let slots = Slots {
            fenced_at: 4,
            ..Slots::default()
        };
        // The item as that write left it, or later: one snapshot.
        assert!(!slots.newer_than(&group(4)));
        assert!(!slots.newer_than(&group(9)));
        // The item from before the write that stamped version 4: read them again.
        assert!(slots.newer_than(&group(3)));
        // Slots no write of the group item ever fenced go with any item.
        assert!(!Slots::default().newer_than(&group(1)));
    }

    #[test]
    fn the_version_moves_by_what_the_slots_moved_past_what_the_item_took_in() {
        let mut r = group(5);
        r.meta.last_modified = "2026-01-01T00:00:00Z".into();
        r.absorbed[1] = 3;
        let mut slots = Slots::default();
        slots.versions[1] = 4;
        slots.versions[6] = 2;
        slots.modified = Some("2026-02-01T00:00:00Z".into());
        apply(&mut r, slots.clone());
        assert_eq!(r.meta.version, 5 + 1 + 2);
        assert_eq!(r.meta.last_modified, "2026-02-01T00:00:00Z");
        // Nothing moved past what was taken in: the item's own values.
        let mut r2 = group(9);
        r2.absorbed = [0, 4, 0, 0, 0, 0, 2, 0];
        apply(&mut r2, slots);
        assert_eq!(r2.meta.version, 9);
        assert_eq!(r2.meta.last_modified, "");
    }
}
