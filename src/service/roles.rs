//! Roles from groups, the application's use cases: declare the stack's roles
//! (`PUT /manage/roles`), map a directory's groups to them in priority order
//! (`PUT /manage/directories/{id}/role-assignments`), and re-resolve the users a new map
//! changes.
//!
//! Saving a map and marking its re-resolution (`ROLESYNC`: the groups whose members may resolve
//! differently, or every user when the default moved) are one transaction
//! (`store::settings`). The request then re-resolves those users until its deadline: each user
//! whose role changes gets one `dsync.user.updated` in the same transaction as the change
//! (`store::roles`); a re-resolution is idempotent, so whatever the request leaves is finished by
//! the next save, `scimctl directory check --repair`, or `scimctl roles sync DIR` — never by
//! emitting an event twice.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::management::{directory, writable_directory, ManagementError};
use super::Service;
use crate::roles::{Assignment, Invalid, RoleCatalogue};
use crate::scim::resource::is_id;
use crate::scim::schema::ResourceKind;
use crate::store::settings::RoleSync;
use crate::store::{deadline, StoreError};

/// `PUT /manage/directories/{id}/role-assignments`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PutAssignments {
    /// In priority order: a user in several mapped groups takes the first one's role.
    pub assignments: Vec<Assignment>,
    /// This directory's role for users in no mapped group (else the stack's default).
    #[serde(default)]
    pub default: Option<String>,
}

/// A directory's assignments as the API shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RoleAssignments {
    pub directory_id: String,
    pub assignments: Vec<AssignmentView>,
    /// The directory's own default, if it named one.
    pub default: Option<String>,
    /// What a user in no mapped group gets: the directory's default, else the stack's.
    pub effective_default: Option<String>,
    /// The users whose roles the last save changed, and whether that is finished.
    pub sync: SyncState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct AssignmentView {
    pub group_id: String,
    /// The group's displayName (`null`: the group was deleted).
    pub group_name: Option<String>,
    pub role: String,
    /// 1 = highest.
    pub priority: usize,
}

/// A re-resolution: `done`, or `pending` (what the request could not finish; run
/// `scimctl roles sync` or save again).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct SyncState {
    pub state: SyncStatus,
    /// `dsync.user.updated` events this call emitted.
    pub users_updated: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Done,
    Pending,
}

impl From<Invalid> for ManagementError {
    fn from(e: Invalid) -> Self {
        ManagementError::InvalidRoles(e.0)
    }
}

/// The stack's role catalogue.
pub async fn catalogue(svc: &Service) -> Result<RoleCatalogue, ManagementError> {
    Ok(svc.store.role_catalogue().await?)
}

/// The catalogue for display (the Admin Portal reads it for every page: its Roles tab, users'
/// role names): this process's copy if under `cached::CATALOGUE_TTL` old, else one GetItem.
/// Never for validating a map (`put_assignments` reads it fresh).
pub async fn cached_catalogue(svc: &Service) -> Result<Arc<RoleCatalogue>, ManagementError> {
    if let Some(c) = svc.role_catalogue.get() {
        return Ok(c);
    }
    let c = Arc::new(svc.store.role_catalogue().await?);
    svc.role_catalogue.set(Arc::clone(&c));
    Ok(c)
}

/// Replaces the stack's roles. A role still assigned in a directory cannot be removed; a changed
/// default re-resolves the directories that use it (no default of their own).
pub async fn put_catalogue(
    svc: &Service,
    catalogue: RoleCatalogue,
) -> Result<RoleCatalogue, ManagementError> {
    catalogue.validate()?;
    let old = svc.store.role_catalogue().await?;
    let directories = svc.store.list_directories().await?;
    for d in &directories {
        let settings = svc.store.read_settings(&d.id).await?;
        for a in &settings.roles.assignments {
            catalogue.require(&a.role, &format!("directory {} assigns it; ", d.id))?;
        }
        if let Some(own) = &settings.roles.default {
            catalogue.require(own, &format!("directory {} uses it as default; ", d.id))?;
        }
    }
    svc.store.put_role_catalogue(&catalogue).await?;
    svc.role_catalogue.set(Arc::new(catalogue.clone()));
    if old.default != catalogue.default {
        for d in &directories {
            let settings = svc.store.read_settings(&d.id).await?;
            if settings.roles.default.is_none() {
                let map = catalogue.complete(settings.roles.assignments.clone(), None)?;
                save_and_sync(svc, &d.id, map).await?;
            }
        }
    }
    Ok(catalogue)
}

/// Gives a directory just created the stack's default role (its map's effective default), so
/// its first users take it. The catalogue is read after the directory is registered: a
/// catalogue saved meanwhile is either read here or re-resolves this directory itself
/// (`put_catalogue` lists it).
pub(crate) async fn settle_new_directory(svc: &Service, dir: &str) -> Result<(), ManagementError> {
    let catalogue = svc.store.role_catalogue().await?;
    if catalogue.default.is_some() {
        save_and_sync(svc, dir, catalogue.complete(Vec::new(), None)?).await?;
    }
    Ok(())
}

/// The directory's assignments.
pub async fn assignments(svc: &Service, dir: &str) -> Result<RoleAssignments, ManagementError> {
    directory(svc, dir).await?;
    let settings = svc.store.read_settings(dir).await?;
    let pending = svc.store.role_sync(dir).await?.is_some();
    view(svc, dir, &settings.roles, pending, 0).await
}

/// Replaces the directory's assignments and re-resolves the users they change.
pub async fn put_assignments(
    svc: &Service,
    dir: &str,
    put: PutAssignments,
) -> Result<RoleAssignments, ManagementError> {
    writable_directory(svc, dir).await?;
    let catalogue = svc.store.role_catalogue().await?;
    if catalogue.roles.is_empty() {
        return Err(ManagementError::InvalidRoles(
            "declare the stack's roles first (PUT /manage/roles)".into(),
        ));
    }
    let map = catalogue.complete(put.assignments, put.default)?;
    let ids: Vec<String> = map.assignments.iter().map(|a| a.group_id.clone()).collect();
    if let Some(bad) = ids.iter().find(|i| !is_id(i)) {
        return Err(ManagementError::InvalidRoles(format!(
            "no group {bad} in directory {dir}"
        )));
    }
    let found: BTreeSet<String> = svc
        .store
        .get_many(dir, ResourceKind::Group, &ids)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    if let Some(missing) = ids.iter().find(|i| !found.contains(*i)) {
        return Err(ManagementError::InvalidRoles(format!(
            "no group {missing} in directory {dir}"
        )));
    }
    let (pending, events) = save_and_sync(svc, dir, map.clone()).await?;
    view(svc, dir, &map, pending, events).await
}

/// Saves `map` with its re-resolution marked, then runs it within the request's deadline:
/// (whether some is left, events emitted).
async fn save_and_sync(
    svc: &Service,
    dir: &str,
    map: crate::roles::RoleMap,
) -> Result<(bool, u64), ManagementError> {
    let mut attempt = 0;
    loop {
        let old = svc.store.read_settings(dir).await?;
        let affected = old.roles.affected_groups(&map);
        if affected.as_ref().is_some_and(|g| g.is_empty()) && old.roles == map {
            // Nothing new to mark; a re-resolution an earlier save left pending continues.
            return run_sync(svc, dir).await;
        }
        // Merged with a re-resolution still unfinished: its users are still owed theirs.
        let pending = svc.store.role_sync(dir).await?;
        let sync = RoleSync::merged(pending.as_ref(), affected.map(|g| g.into_iter().collect()));
        match svc
            .store
            .save_role_map(dir, &old, map.clone(), Some(sync))
            .await
        {
            Ok(_) => break,
            Err(StoreError::SettingsMoved) => {
                deadline::retry(&mut attempt, "the role assignments kept changing").await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    run_sync(svc, dir).await
}

/// Runs the directory's marked re-resolution, if any, until done or the deadline: (whether
/// some is left, events emitted). `scimctl roles sync` calls it; the clean-up function runs the
/// same (`store::roles`).
pub async fn run_sync(svc: &Service, dir: &str) -> Result<(bool, u64), ManagementError> {
    Ok(svc.store.run_role_sync(dir).await?)
}

async fn view(
    svc: &Service,
    dir: &str,
    map: &crate::roles::RoleMap,
    pending: bool,
    events: u64,
) -> Result<RoleAssignments, ManagementError> {
    let ids: Vec<String> = map.assignments.iter().map(|a| a.group_id.clone()).collect();
    let groups = svc.store.get_many(dir, ResourceKind::Group, &ids).await?;
    let name = |id: &str| {
        groups
            .iter()
            .find(|g| g.id == id)
            .and_then(|g| g.body.get("displayName"))
            .and_then(|n| n.as_str())
            .map(String::from)
    };
    Ok(RoleAssignments {
        directory_id: dir.into(),
        assignments: map
            .assignments
            .iter()
            .enumerate()
            .map(|(i, a)| AssignmentView {
                group_name: name(&a.group_id),
                group_id: a.group_id.clone(),
                role: a.role.clone(),
                priority: i + 1,
            })
            .collect(),
        default: map.default.clone(),
        effective_default: map.effective_default.clone(),
        sync: SyncState {
            state: if pending {
                SyncStatus::Pending
            } else {
                SyncStatus::Done
            },
            users_updated: events,
        },
    })
}
