//! Users' resolved roles, kept right inside the transactions that change them.
//!
//! A user's `role`/`roles` (`crate::roles`) live on its item. They move only in a transaction that
//! also moves the user's edge sequence (`es`) on condition it is still the value read before the
//! user's groups were listed: every member add moves `es`, and so does every remove from a mapped
//! group, so a membership that changed between that read and the commit cancels the transaction
//! (`Role::Roles` → `StoreError::RolesMoved`) and the step is computed again. With the
//! directory's map pinned by `Tx::expect_settings` (`settings.rs`), what commits is always the
//! resolution of the user's groups as they are after the commit — and an `updated` event is
//! emitted with it exactly when the resolution changed, in the same transaction.
//!
//! Cost of a member change on a **mapped** group, per user: one item read in a BatchGetItem (the
//! user), one Query (its groups; the users of a chunk in parallel), no extra item written for an
//! add (the add already updates the user item), one for a remove, and the event when the role
//! changed. An unmapped group costs nothing more.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use super::resources::{resolved_attributes, DELETING, EDGE_SEQ, ROLE, ROLES};
use super::tx::{Expr, Role};
use super::{key, n, Record, State, Store, StoreError, Tx};
use crate::custom_attributes::AttributeMap;
use crate::events::{NewEvent, Object};
use crate::roles::{Resolved, RoleMap};
use crate::scim::schema::ResourceKind;

/// How many users' groups are listed at once.
const PARALLEL_QUERIES: usize = 16;

/// One user's role change, ready to go into a transaction.
#[derive(Debug, Clone)]
pub(crate) struct RoleStep {
    /// The user as read (its `edge_seq` is the condition).
    pub user: Record,
    /// What it resolves to after the change.
    pub new: Resolved,
}

/// How a member change moves a user's groups.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Moves<'a> {
    Joins(&'a str),
    Leaves(&'a str),
    Stays,
}

impl RoleStep {
    pub fn changes(&self) -> bool {
        self.user.resolved != self.new
    }

    /// The `updated` event of this change (when it changes anything); `attributes`: the
    /// directory's custom attribute map, pinned with the role map.
    pub fn event(&self, dir: &str, attributes: &AttributeMap) -> Option<NewEvent> {
        if !self.changes() {
            return None;
        }
        let r = &self.user;
        let mut after = r.clone();
        after.resolved = self.new.clone();
        let object = |r: &Record| {
            Object::of(
                ResourceKind::User,
                dir,
                &r.id,
                &r.body,
                &r.meta,
                &r.resolved,
                attributes,
            )
        };
        Some(NewEvent::updated(&object(r), &object(&after)))
    }

    /// The user item's update: the resolution set or removed, `es` moved, on condition `es` is
    /// still what was read and the user is not being deleted.
    pub fn update(&self, tx: &mut Tx, dir: &str) -> Result<(), StoreError> {
        let mut set = vec!["ADD #es :one".to_string()];
        let mut expr = Expr::new("")
            .name("#es", EDGE_SEQ)
            .name("#d", DELETING)
            .value(":one", n(1))
            .value(":was", n(self.user.edge_seq));
        let attrs: HashMap<String, AttributeValue> =
            resolved_attributes(&self.new).into_iter().collect();
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        for (name, placeholder) in [(ROLE, "rl"), (ROLES, "rls")] {
            expr = expr.name(&format!("#{placeholder}"), name);
            match attrs.get(name) {
                Some(v) => {
                    sets.push(format!("#{placeholder} = :{placeholder}"));
                    expr = expr.value(&format!(":{placeholder}"), v.clone());
                }
                None => removes.push(format!("#{placeholder}")),
            }
        }
        if !sets.is_empty() {
            set.insert(0, format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            set.push(format!("REMOVE {}", removes.join(", ")));
        }
        let update = expr.with_text(set.join(" "));
        // The edge sequence's mirror on the user's group count (`members.rs`).
        tx.add_count(
            super::members::group_count_key(dir, &self.user.id),
            super::members::EDGE_SEQ_SEEN,
            1,
        )?;
        tx.update(
            key(
                keys::directory_pk(dir),
                keys::resource_sk(ResourceKind::User, &self.user.id),
            ),
            update,
            Some(
                // The user still there (an update would create a bodiless item), not being
                // deleted, its edges as read.
                Expr::new(if self.user.edge_seq == 0 {
                    // Items written before the edge sequence existed have none.
                    "attribute_exists(pk) AND (attribute_not_exists(#es) OR #es = :was) AND attribute_not_exists(#d)"
                } else {
                    "attribute_exists(pk) AND #es = :was AND attribute_not_exists(#d)"
                })
                .name("#es", EDGE_SEQ)
                .name("#d", DELETING)
                .value(":was", n(self.user.edge_seq)),
            ),
            Role::Roles(self.user.id.clone()),
        )?;
        tx.anchor_last();
        tx.after(self.user.order);
        Ok(())
    }
}

impl Store {
    /// The role steps of `users` under `map`, each moving as `moves` says: the users read in
    /// BatchGetItem, their groups listed in parallel (strongly consistent), both before the
    /// transaction that commits the steps. Users gone or being deleted get no step.
    pub(crate) async fn role_steps(
        &self,
        dir: &str,
        map: &RoleMap,
        users: &[(String, Moves<'_>)],
    ) -> Result<HashMap<String, RoleStep>, StoreError> {
        let ids: Vec<String> = users.iter().map(|(u, _)| u.clone()).collect();
        let records: HashMap<String, Record> = self
            .get_many(dir, ResourceKind::User, &ids)
            .await?
            .into_iter()
            .filter(|r| r.state == State::Live)
            .map(|r| (r.id.clone(), r))
            .collect();
        let groups = self
            .groups_of_users(dir, records.keys().cloned().collect())
            .await?;
        let mut out = HashMap::new();
        for (u, moves) in users {
            let (Some(user), Some(of)) = (records.get(u), groups.get(u)) else {
                continue;
            };
            let mut of = of.clone();
            match moves {
                Moves::Joins(g) => {
                    of.insert(g.to_string());
                }
                Moves::Leaves(g) => {
                    of.remove(*g);
                }
                Moves::Stays => {}
            }
            out.insert(
                u.clone(),
                RoleStep {
                    user: user.clone(),
                    new: map.resolve(&of),
                },
            );
        }
        Ok(out)
    }

    /// Each user's groups, listed `PARALLEL_QUERIES` at a time.
    async fn groups_of_users(
        &self,
        dir: &str,
        users: Vec<String>,
    ) -> Result<HashMap<String, BTreeSet<String>>, StoreError> {
        let mut out = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut rest = users.into_iter();
        loop {
            while tasks.len() < PARALLEL_QUERIES {
                let Some(u) = rest.next() else { break };
                let (store, dir) = (self.clone(), dir.to_string());
                tasks.spawn(async move {
                    let groups = store
                        .edge_page(&dir, &keys::member_of_prefix(&u), usize::MAX)
                        .await?;
                    Ok::<_, StoreError>((u, groups.into_iter().collect::<BTreeSet<_>>()))
                });
            }
            match tasks.join_next().await {
                None => return Ok(out),
                Some(joined) => {
                    let (u, g) = joined.map_err(StoreError::Task)??;
                    out.insert(u, g);
                }
            }
        }
    }
}

/// Users re-resolved per transaction by [`Store::resolve_users`] (a user item, its group count's
/// edge sequence mirror and an event each).
const RESOLVE_PER_TX: usize = 30;

impl Store {
    /// Re-resolves `users` under `settings` (a map just saved): each user whose resolution
    /// differs from what its item holds is updated with one `updated` event, `RESOLVE_PER_TX`
    /// users a transaction. Idempotent: a user already resolved is only read. Returns the events
    /// emitted. Stops with `SettingsMoved` if the map is replaced meanwhile (the new map's own
    /// re-resolution takes over).
    pub(crate) async fn resolve_users(
        &self,
        dir: &str,
        settings: &super::settings::DirSettings,
        users: &[String],
    ) -> Result<u64, StoreError> {
        let mut events = 0;
        for chunk in users.chunks(RESOLVE_PER_TX) {
            let mut attempt = 0;
            loop {
                let moves: Vec<_> = chunk.iter().map(|u| (u.clone(), Moves::Stays)).collect();
                let steps = self.role_steps(dir, &settings.roles, &moves).await?;
                let changed: Vec<&RoleStep> = steps.values().filter(|s| s.changes()).collect();
                if changed.is_empty() {
                    break;
                }
                let mut tx = Tx::new(self);
                tx.expect_settings(dir, settings.version);
                for step in &changed {
                    step.update(&mut tx, dir)?;
                    if let Some(e) = step.event(dir, &settings.attributes) {
                        tx.emit(dir, e);
                    }
                }
                match tx.commit(self).await {
                    Ok(()) => {
                        events += changed.len() as u64;
                        break;
                    }
                    Err(StoreError::RolesMoved(_)) => {
                        super::deadline::retry(&mut attempt, "the users' groups kept changing")
                            .await?
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(events)
    }

    /// The ids of `group`'s members, or of every user of the directory (`None`).
    pub(crate) async fn user_ids(
        &self,
        dir: &str,
        group: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = match group {
            Some(g) => keys::member_prefix(g),
            None => keys::resource_prefix(ResourceKind::User).to_string(),
        };
        self.edge_page(dir, &prefix, usize::MAX).await
    }
}

impl Store {
    /// Runs the directory's marked re-resolution (`ROLESYNC`), if any, until done: (whether some
    /// is left, events emitted). A newer map's save (its own marker covers these users) or the
    /// deadline leaves it pending; it is idempotent, so whoever runs it next goes on.
    pub async fn run_role_sync(&self, dir: &str) -> Result<(bool, u64), StoreError> {
        let Some(marker) = self.role_sync(dir).await? else {
            return Ok((false, 0));
        };
        let settings = self.read_settings(dir).await?;
        let users: Vec<String> = match &marker.groups {
            None => self.user_ids(dir, None).await?,
            Some(groups) => {
                let mut all = BTreeSet::new();
                for g in groups {
                    all.extend(self.user_ids(dir, Some(g)).await?);
                }
                all.into_iter().collect()
            }
        };
        match self.resolve_users(dir, &settings, &users).await {
            Ok(events) => {
                self.finish_role_sync(dir, &marker).await?;
                Ok((false, events))
            }
            Err(StoreError::SettingsMoved) => Ok((true, 0)),
            Err(e) if e.is_unavailable() => Ok((true, 0)),
            Err(e) => Err(e),
        }
    }
}
