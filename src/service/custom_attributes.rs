//! Custom attributes, the application's use cases: declare the stack's keys
//! (`PUT /manage/custom-attributes`), map a directory's SCIM attribute paths to them
//! (`PUT /manage/directories/{id}/custom-attributes`), and preview what a candidate mapping
//! makes of the directory's newest users before it is saved.
//!
//! A directory's map lives in its settings item (`store::settings`) complete — its own mappings
//! plus the enterprise defaults of the declared keys it leaves unmapped — so the write paths
//! render `custom_attributes` without reading the catalogue, and pin the map they rendered with.
//! The price is paid here: a catalogue change recomputes every directory's map (one conditional
//! transaction per directory whose map changes; idempotent, so a retry after a deadline finishes
//! the rest), and a new directory gets its map when it is created.
//!
//! Existing users are not rewritten when a map changes: the management API renders every read
//! with the map in force (so reads change at once), and each user's events carry the new map
//! from its next change on (docs/custom-attributes.md).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::management::{directory, writable_directory, ManagementError};
use super::Service;
use crate::custom_attributes::{AttributeCatalogue, AttributeMap, Effective, Invalid, Mapping};
use crate::scim::schema::ResourceKind;
use crate::store::directories::DELETING;
use crate::store::{deadline, StoreError};

/// How many of a directory's newest users a preview shows.
pub const PREVIEW_USERS: usize = 10;

/// `PUT /manage/directories/{id}/custom-attributes` and its preview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PutMappings {
    /// Each declared key at most once. A declared key left out takes its enterprise default
    /// (`cost_center`, `department`, …) if it has one, else users do not carry it.
    pub mappings: Vec<Mapping>,
}

/// A directory's custom attribute mapping as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct DirectoryAttributes {
    pub directory_id: String,
    /// The directory's own mappings, paths in canonical form.
    pub mappings: Vec<Mapping>,
    /// What users' `custom_attributes` hold: `mapped` (the declared keys, from `effective`) or
    /// `flattened` (the stack declares no keys: the enterprise extension under snake_case names,
    /// other extensions under `"{urn}:{attribute}"`).
    pub rendering: Rendering,
    /// The mappings in force, in the catalogue's order: the directory's, and the enterprise
    /// defaults of the declared keys it does not map.
    pub effective: Vec<Effective>,
    /// Declared keys with no path here: users of this directory do not carry them.
    pub unmapped: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rendering {
    Mapped,
    Flattened,
}

/// What a candidate mapping makes of the directory's newest users (nothing is saved).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Preview {
    pub directory_id: String,
    /// The candidate as it would be saved.
    pub mapping: DirectoryAttributes,
    /// The newest users (at most 10), newest first.
    pub users: Vec<PreviewUser>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct PreviewUser {
    pub id: String,
    pub username: Option<String>,
    /// `custom_attributes` under the mapping in force.
    pub before: Map<String, Value>,
    /// `custom_attributes` under the candidate.
    pub after: Map<String, Value>,
    pub changed: bool,
}

impl From<Invalid> for ManagementError {
    fn from(e: Invalid) -> Self {
        ManagementError::InvalidAttributes(e.0)
    }
}

/// The stack's custom attribute keys.
pub async fn catalogue(svc: &Service) -> Result<AttributeCatalogue, ManagementError> {
    Ok(svc.store.attribute_catalogue().await?)
}

/// The keys for display (the Admin Portal decides on every page whether to show its Attributes
/// tab): this process's copy if under `cached::CATALOGUE_TTL` old, else one GetItem. Never for
/// validating a mapping (`put_mapping` and `preview` read the keys fresh).
pub async fn cached_catalogue(svc: &Service) -> Result<Arc<AttributeCatalogue>, ManagementError> {
    if let Some(c) = svc.attribute_catalogue.get() {
        return Ok(c);
    }
    let c = Arc::new(svc.store.attribute_catalogue().await?);
    svc.attribute_catalogue.set(Arc::clone(&c));
    Ok(c)
}

/// Replaces the stack's keys, then recomputes every directory's map under them. A key a
/// directory still maps cannot be removed. Idempotent: after a deadline, the same call finishes
/// the directories left.
pub async fn put_catalogue(
    svc: &Service,
    catalogue: AttributeCatalogue,
) -> Result<AttributeCatalogue, ManagementError> {
    catalogue.validate()?;
    let directories: Vec<String> = svc
        .store
        .list_directories()
        .await?
        .into_iter()
        .filter(|d| d.status != DELETING)
        .map(|d| d.id)
        .collect();
    for d in &directories {
        let settings = svc.store.read_settings(d).await?;
        if let Some(m) = settings
            .attributes
            .mappings()
            .iter()
            .find(|m| !catalogue.declares(&m.key))
        {
            return Err(ManagementError::InvalidAttributes(format!(
                "custom attribute {:?}: directory {d} maps it; remove its mapping first \
                 (PUT /manage/directories/{d}/custom-attributes)",
                m.key
            )));
        }
    }
    svc.store.put_attribute_catalogue(&catalogue).await?;
    svc.attribute_catalogue.set(Arc::new(catalogue.clone()));
    for d in &directories {
        save(svc, d, |old| catalogue.recompute(old)).await?;
    }
    Ok(catalogue)
}

/// Gives a directory just created the map of the declared keys (their defaults). The catalogue
/// is read after the directory is registered, so a catalogue saved meanwhile either is read here
/// or recomputes this directory itself (`put_catalogue` lists it).
pub(crate) async fn settle_new_directory(svc: &Service, dir: &str) -> Result<(), ManagementError> {
    let catalogue = svc.store.attribute_catalogue().await?;
    if catalogue.is_declared() {
        save(svc, dir, |old| catalogue.recompute(old)).await?;
    }
    Ok(())
}

/// The directory's mapping.
pub async fn mapping(svc: &Service, dir: &str) -> Result<DirectoryAttributes, ManagementError> {
    directory(svc, dir).await?;
    let (settings, catalogue) = tokio::try_join!(
        svc.store.read_settings(dir),
        svc.store.attribute_catalogue()
    )?;
    Ok(view(dir, &settings.attributes, &catalogue))
}

/// Replaces the directory's mappings. Users are not rewritten: reads show the new map at once,
/// events from each user's next change on.
pub async fn put_mapping(
    svc: &Service,
    dir: &str,
    put: PutMappings,
) -> Result<DirectoryAttributes, ManagementError> {
    writable_directory(svc, dir).await?;
    let catalogue = svc.store.attribute_catalogue().await?;
    let map = catalogue.complete(put.mappings)?;
    let saved = save(svc, dir, |_| map.clone()).await?;
    Ok(view(dir, &saved, &catalogue))
}

/// What `put` would make of the directory's newest users, beside what they carry now.
pub async fn preview(
    svc: &Service,
    dir: &str,
    put: PutMappings,
) -> Result<Preview, ManagementError> {
    directory(svc, dir).await?;
    let (settings, catalogue, users) = tokio::try_join!(
        svc.store.read_settings(dir),
        svc.store.attribute_catalogue(),
        svc.store.newest(dir, ResourceKind::User, PREVIEW_USERS)
    )?;
    let candidate = catalogue.complete(put.mappings)?;
    let users = users
        .iter()
        .map(|u| {
            let before = settings.attributes.render(&u.body);
            let after = candidate.render(&u.body);
            PreviewUser {
                id: u.id.clone(),
                username: u
                    .body
                    .get("userName")
                    .and_then(Value::as_str)
                    .map(String::from),
                changed: before != after,
                before,
                after,
            }
        })
        .collect();
    Ok(Preview {
        directory_id: dir.into(),
        mapping: view(dir, &candidate, &catalogue),
        users,
    })
}

/// Saves `next(current map)` as the directory's map unless it is already that, retrying when
/// the settings move under it. Returns the map in force.
async fn save(
    svc: &Service,
    dir: &str,
    next: impl Fn(&AttributeMap) -> AttributeMap,
) -> Result<AttributeMap, ManagementError> {
    let mut attempt = 0;
    loop {
        let old = svc.store.read_settings(dir).await?;
        let map = next(&old.attributes);
        if map == old.attributes {
            return Ok(map);
        }
        match svc.store.save_attribute_map(dir, &old, map).await {
            Ok(saved) => return Ok(saved.attributes),
            Err(StoreError::SettingsMoved) => {
                deadline::retry(&mut attempt, "the directory's settings kept changing").await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The API's view of a directory's map under `catalogue` (the Admin Portal renders the settings
/// it read with the directory check).
pub(crate) fn view(
    dir: &str,
    map: &AttributeMap,
    catalogue: &AttributeCatalogue,
) -> DirectoryAttributes {
    let effective = map
        .effective()
        .map(<[Effective]>::to_vec)
        .unwrap_or_default();
    DirectoryAttributes {
        directory_id: dir.into(),
        mappings: map.mappings().to_vec(),
        rendering: if map.effective().is_some() {
            Rendering::Mapped
        } else {
            Rendering::Flattened
        },
        unmapped: catalogue
            .attributes
            .iter()
            .filter(|a| !effective.iter().any(|e| e.key == a.key))
            .map(|a| a.key.clone())
            .collect(),
        effective,
    }
}
