//! The write pipeline, once for every write: load → apply a pure change from the core
//! (`scim::change`) → conditional write → retry.
//!
//! - Without `If-Match`, a lost race is retried on a fresh read with jittered backoff until the
//!   request's deadline (`store::deadline`), so parallel PATCHes of one resource all land; when
//!   the deadline passes the client gets 503 (retryable), never 412.
//! - With `If-Match`, the version is compared on the read and the write is conditional on it:
//!   412 exactly when the version differs (RFC 7644 §3.14).
//! - A PATCH that changes only a group's members (no `If-Match`) does not need the group's
//!   version at all: the edges are idempotent, the store bumps the version atomically.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::references::MAX_INLINE_REFERENCES;
use super::{check_member_ids, not_found, visible, Reference, Service};
use crate::clock;
use crate::scim::change::{self, Members, Outcome};
use crate::scim::error::ScimError;
use crate::scim::list::Projection;
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{is_id, Meta};
use crate::scim::schema::ResourceKind;
use crate::store::{self, deadline, MemberDelta, Record, State, StoreError};

/// A replacement (PUT) or a PATCH of a stored resource.
pub enum Change<'a> {
    Replace(&'a Outcome),
    Patch(&'a PatchRequest),
}

/// What a write left: the record when its version is known (else re-read it if needed).
pub enum Written {
    Record(Box<Record>),
    /// Only members changed; the group's version moved (its member slots) without being read.
    MembersOnly,
}

/// What a PUT or PATCH left, and a user's groups when they were read beside it.
pub struct Updated {
    pub written: Written,
    /// A group's members after a write that set them all (a PUT, a PATCH replacing them), as
    /// the write left them: its answer needs no read of them (`None`: not known, or more than
    /// an answer shows).
    pub members: Option<Vec<String>>,
    /// `Service::groups_of_user`, read beside the write; `None` when the answer does not show
    /// them (or the resource is a group).
    pub groups: Option<Result<Vec<Reference>, ScimError>>,
}

impl Service {
    /// Creates a resource from a POST body already turned into an `Outcome`.
    pub async fn create(
        &self,
        dir: &str,
        kind: ResourceKind,
        outcome: Outcome,
    ) -> Result<(Record, Vec<String>), ScimError> {
        let now = clock::now_rfc3339();
        let record = Record::new(
            Uuid::now_v7().to_string(),
            outcome.body,
            Meta {
                created: now.clone(),
                last_modified: now,
                version: 1,
            },
        );
        let members = match outcome.members {
            Members::Set(ids) => dedup(ids),
            _ => Vec::new(),
        };
        check_member_ids(&members)?;
        let mut attempt = 0;
        loop {
            match self.store.create(dir, kind, &record, &members).await {
                Ok(stored) => return Ok((stored, members)),
                // The role map moved under the create (a new user takes its default): again.
                Err(StoreError::SettingsMoved) => {
                    deadline::retry(&mut attempt, "the role map kept changing").await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// PUT or PATCH `id`, with the client's `If-Match` if it sent one. When `answer` shows a
    /// user's groups, they are read beside the write: no write of a user moves them (`groups` is
    /// readOnly, RFC 7643 §4.1.2), and the answer then waits for no round trip after the write's
    /// read and transaction (issue 21).
    pub async fn update(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        change: Change<'_>,
        if_match: Option<&str>,
        answer: &Projection,
    ) -> Result<Updated, ScimError> {
        let write = store::prefetch::scope(self.update_in_scope(dir, kind, id, change, if_match));
        if kind == ResourceKind::User && is_id(id) && !answer.skips(kind, "groups") {
            // A write that fails drops the read at once (`try_join!`); the read's own failure
            // is the answer's to handle, the write may have committed. (Boxed: two request
            // futures side by side overflow a debug build's stack.)
            let groups = Box::pin(async { Ok(self.groups_of_user(dir, id).await) });
            let ((written, members), groups) = tokio::try_join!(Box::pin(write), groups)?;
            return Ok(Updated {
                written,
                members,
                groups: Some(groups),
            });
        }
        let (written, members) = write.await?;
        Ok(Updated {
            written,
            members,
            groups: None,
        })
    }

    async fn update_in_scope(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        change: Change<'_>,
        if_match: Option<&str>,
    ) -> Result<(Written, Option<Vec<String>>), ScimError> {
        let mut attempt = 0;
        // What a group PATCH does to members, from a stand-in body (parsed once, here).
        let members = stand_in(kind, id, &change).map(|o| o.members);
        let needs_current = members.as_ref().is_some_and(|m| m.needs_current());
        let only_members = members_only(&change);
        // The member edges a PATCH names are read with the group (one round trip).
        let named = match &members {
            Some(m) if !m.needs_current() => {
                let (add, remove) = m.delta(&[]);
                dedup(add.into_iter().chain(remove).collect())
            }
            _ => Vec::new(),
        };
        let mut edge_keys: Vec<_> = named
            .iter()
            .filter(|u| is_id(u))
            .map(|u| store::member_edge_key(dir, id, u))
            .collect();
        // A group's slots, unless the write can only be a member change (`slots.rs`); that one
        // reads the slots it bumps with the group, for the event number they carry.
        // A members-only PATCH that names no user (replace or remove all) reads them all: the
        // users it changes, whose slots carry the event number to follow, are known only later.
        let slots = kind == ResourceKind::Group
            && (if_match.is_some() || !only_members || named.is_empty());
        if kind == ResourceKind::Group && !slots {
            edge_keys.extend(store::slots::slot_keys(
                dir,
                id,
                named.iter().filter(|u| is_id(u)),
            ));
        }
        // A group write that needs the current members lists them beside its read of the group.
        // A members-only PATCH without If-Match takes the listing as it is: it is not fenced by
        // the group's version (each edge write is conditional on the edge, so a member changed
        // meanwhile is `EdgesMoved`, and changes of different members commute). A PUT, or any
        // write with If-Match, fences the slots as read, so its listing must be the members
        // they count: the slots vouch for it (`Slots::vouch`), or it lists again after the read.
        let list_beside = kind == ResourceKind::Group
            && (needs_current || matches!(change, Change::Replace(o) if o.members.needs_current()));
        let mut listed = None;
        loop {
            // Boxed: the read and the listing side by side overflow a debug build's stack.
            let read = Box::pin(self.writable(dir, kind, id, &edge_keys, slots));
            let (mut old, edges) = if attempt == 0 && list_beside {
                let list = async { Ok(self.store.members_of_group(dir, id).await?) };
                let (read, list) = tokio::try_join!(read, Box::pin(list))?;
                listed = Some(list);
                read
            } else {
                read.await?
            };
            if let Some(items) = &edges {
                old.order = old.order.max(store::slots::order_of(items));
            }
            check_if_match(if_match, &old)?;
            let outcome = match change {
                Change::Replace(o) => o.clone(),
                Change::Patch(ops) => change::patch(kind, id, &old.body, ops)?,
            };
            let body_changed = outcome.body != old.body;
            // Only a PATCH that changes members alone, without If-Match, writes no fence.
            let unfenced = !body_changed && if_match.is_none() && only_members;
            let current = if outcome.members.needs_current() {
                let vouched = |list: &[String]| {
                    unfenced || old.counted && old.slots.as_ref().is_some_and(|s| s.vouch(list))
                };
                match listed.take() {
                    Some(list) if vouched(&list) => list,
                    _ => self.store.members_of_group(dir, id).await?,
                }
            } else {
                Vec::new()
            };
            let (mut add, mut remove) = outcome.members.delta(&current);
            check_member_ids(&add)?;
            // An id we never mint cannot be a member: nothing to remove (and no key to build).
            remove.retain(|i| is_id(i));
            let named_only = !outcome.members.needs_current();
            if named_only && (!add.is_empty() || !remove.is_empty()) {
                // PATCH add/remove names members without the current list: keep only real
                // changes, so each emits one event (the write re-checks each edge).
                let asked: Vec<String> = add.iter().chain(&remove).cloned().collect();
                let present = match &edges {
                    // Read with the group, when the PATCH named exactly these.
                    Some(items) if asked.iter().all(|u| named.contains(u)) => {
                        store::edge_users(items)
                    }
                    _ => self.store.edges_present(dir, id, &asked).await?,
                };
                add.retain(|u| !present.contains(u));
                remove.retain(|u| present.contains(u));
            }
            // The members a write that sets them all leaves (in id order, as a listing has them).
            let after = outcome.members.needs_current().then(|| {
                let gone: BTreeSet<&String> = remove.iter().collect();
                let mut after: BTreeSet<String> = current
                    .iter()
                    .filter(|u| !gone.contains(u))
                    .cloned()
                    .collect();
                after.extend(add.iter().cloned());
                after.into_iter().collect::<Vec<_>>()
            });
            let delta = MemberDelta { add, remove };
            // Exact when the write is one transaction (a large one drops the adds of users
            // deleted meanwhile) and its answer shows no more than an answer takes.
            let after =
                after.filter(|m| m.len() <= MAX_INLINE_REFERENCES && delta.fits_one_transaction());
            let result = if !body_changed && delta.is_empty() {
                // A group read without its slots has no version to answer with (`slots.rs`).
                if old.slots.is_none() && kind == ResourceKind::Group {
                    return Ok((Written::MembersOnly, None));
                }
                return Ok((Written::Record(Box::new(old)), after));
            } else if !body_changed && if_match.is_none() && matches!(change, Change::Patch(_)) {
                self.store
                    .change_members(dir, &old, &delta)
                    .await
                    .map(|()| None)
            } else {
                if kind == ResourceKind::Group && old.slots.is_none() {
                    // A PATCH of members only, but not as sent: it changes the group item too.
                    old = self.store.with_slots(dir, old).await?;
                }
                let new = next_version(&old, outcome.body);
                self.store
                    .replace(dir, kind, &old, &new, &delta)
                    .await
                    .map(|()| Some(new))
            };
            match result {
                Ok(Some(new)) => return Ok((Written::Record(Box::new(new)), after)),
                // Its answer reads the group after it: the version and the members of one read.
                Ok(None) => return Ok((Written::MembersOnly, None)),
                // Without If-Match, retried on a fresh read; with it too, because the put is also
                // conditional on the user's memberships: the fresh read answers 412 if the
                // version itself moved.
                Err(StoreError::VersionMismatch) => {
                    deadline::retry(&mut attempt, "the write kept losing races").await?;
                }
                // Not a version race: the members to change, their roles or the role map moved
                // under this write.
                Err(
                    StoreError::EdgesMoved(_)
                    | StoreError::RolesMoved(_)
                    | StoreError::SettingsMoved,
                ) => {
                    deadline::retry(&mut attempt, "the group's members kept changing").await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// DELETE `id`. A delete that an earlier attempt left unfinished is finished (204 again).
    pub async fn delete(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        if !is_id(id) {
            return Err(not_found(kind, id));
        }
        store::prefetch::scope(self.delete_in_scope(dir, kind, id, if_match)).await
    }

    async fn delete_in_scope(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let mut attempt = 0;
        loop {
            // Its edges are listed beside the read (`store::deletes`).
            let (old, listing) = Box::pin(self.store.read_for_delete(dir, kind, id)).await?;
            let old = match old {
                Some(r) if visible(&r) => r,
                _ if kind == ResourceKind::Group && self.store.clean_up_group(dir, id).await? => {
                    return Ok(())
                }
                _ => return Err(not_found(kind, id)),
            };
            if old.state == State::Live {
                check_if_match(if_match, &old)?;
            }
            // Boxed: a delete's future is large, and the retry loop holds it.
            match Box::pin(self.store.delete(dir, kind, &old, Some(&listing))).await {
                Ok(()) => return Ok(()),
                // With If-Match too: the fresh read answers 412 if the version itself moved (a
                // slot's edge transaction count alone fails the delete, `store::slots`).
                Err(StoreError::VersionMismatch) => {
                    deadline::retry(&mut attempt, "the delete kept losing races").await?;
                }
                // A mapped group's members' roles, or the role map, moved under the delete.
                Err(StoreError::RolesMoved(_) | StoreError::SettingsMoved) => {
                    deadline::retry(&mut attempt, "the delete kept losing races").await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The record a PUT or PATCH may change: visible, and not on its way out; with the edge
    /// items of `edges` that are there (`None`: not read), and the directory's sequence shards
    /// kept for the write (`store::prefetch`). One BatchGetItem.
    async fn writable(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
        edges: &[store::Item],
        slots: bool,
    ) -> Result<(Record, Option<Vec<store::Item>>), ScimError> {
        if !is_id(id) {
            return Err(not_found(kind, id));
        }
        let (r, edges) = self
            .store
            .get_for_write(dir, kind, id, edges, slots)
            .await?;
        let r = r.filter(visible).ok_or_else(|| not_found(kind, id))?;
        if r.state == State::Deleting {
            return Err(ScimError::not_found(format!(
                "{} {id} is being deleted",
                kind.name()
            )));
        }
        Ok((r, edges))
    }
}

/// RFC 7232 list of entity tags; `*` matches any. Weak comparison (the version is what counts).
pub fn etag_matches(header: &str, meta: &Meta) -> bool {
    let ours = meta.version.to_string();
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == ours)
}

fn check_if_match(if_match: Option<&str>, record: &Record) -> Result<(), ScimError> {
    match if_match {
        Some(tags) if !etag_matches(tags, &record.meta) => {
            Err(ScimError::precondition_failed(format!(
                "If-Match does not match the current version {}",
                record.meta.etag()
            )))
        }
        _ => Ok(()),
    }
}

fn next_version(old: &Record, body: serde_json::Map<String, serde_json::Value>) -> Record {
    let mut new = old.clone();
    new.body = body;
    new.meta.last_modified = clock::now_rfc3339();
    new.meta.version = old.meta.version + 1;
    new
}

/// Whether a change is a PATCH whose every operation has a `members` path: it can only change
/// members, so without If-Match it bumps the slots of the users it names and never writes the
/// group item (`store::slots`).
fn members_only(change: &Change<'_>) -> bool {
    match change {
        Change::Patch(patch) => patch.ops.iter().all(|o| {
            o.path.as_ref().is_some_and(|p| {
                p.attr.urn.is_none() && p.attr.attr.eq_ignore_ascii_case("members")
            })
        }),
        Change::Replace(_) => false,
    }
}

/// Member ids once each, first occurrence first (O(n log n)).
fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    ids.into_iter().filter(|i| seen.insert(i.clone())).collect()
}

/// A group PATCH applied to a stand-in body, to know before the group is read which members it
/// names (their edges are read with the group) or whether it needs the current ones: only the
/// member operations matter here, and the real PATCH runs on the group.
fn stand_in(kind: ResourceKind, id: &str, change: &Change<'_>) -> Option<change::Outcome> {
    let Change::Patch(ops) = change else {
        return None;
    };
    if kind != ResourceKind::Group {
        return None;
    }
    // A group's one required attribute, so the body parses whatever the operations touch.
    let mut body = serde_json::Map::new();
    body.insert("displayName".into(), serde_json::Value::from("-"));
    change::patch(kind, id, &body, ops).ok()
}
