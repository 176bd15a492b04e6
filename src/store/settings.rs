//! A directory's settings (its group → role map, `crate::roles`; its custom attribute map,
//! `crate::custom_attributes`) and the stack's catalogues of roles and custom attribute keys.
//!
//! - `DIR#{dir}` / `SETTINGS` holds both maps and a version `v`; every save moves `v` and copies
//!   it to every one of the directory's event sequence shards (`EVX#SEQ…`, attribute `cv`) in the
//!   same transaction. A write whose outcome depends on the settings (a member change: is the
//!   group mapped? a user create: the default role; a group delete; every user write, whose event
//!   renders `custom_attributes`) registers the version it used (`Tx::expect_settings`): its
//!   shard update, which every event-emitting transaction already makes, is then conditional
//!   on `cv` too. So settings saved while such a write is in flight cancel it
//!   (`StoreError::SettingsMoved`), and the write reads them again — no write ever commits a
//!   role or an event computed from settings replaced before it committed, at no item cost.
//! - Because the check is in the transaction, the map may be cached: each process keeps the last
//!   settings it read per directory, and reads `SETTINGS` again only on a miss or after a
//!   `SettingsMoved`. A warm write pays nothing for roles; a cold one pays one GetItem.
//! - `STACK` / `ROLES` and `STACK` / `CUSTOMATTRS` hold the catalogues (`PUT /manage/roles`,
//!   `PUT /manage/custom-attributes`): read by the management paths that validate a map, never by
//!   the IdP's (a directory's attribute map is complete as saved).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_dynamodb::types::AttributeValue;

use super::directories::{directory_from_item, Directory};
use super::keys::{self, CUSTOM_ATTRIBUTES_SK, ROLES_SK, ROLE_SYNC_SK, SETTINGS_SK, STACK_PK};
use super::tx::{Expr, Role};
use super::{get_n, get_s, key, n, s, Item, Store, StoreError, Tx};
use crate::clock;
use crate::custom_attributes::{AttributeCatalogue, AttributeMap};
use crate::roles::{RoleCatalogue, RoleMap};

/// The version of a directory's settings on each of its event sequence shards.
pub(crate) const SETTINGS_VERSION: &str = "cv";
/// On `SETTINGS`: the role map (JSON); on a catalogue item, the catalogue (JSON).
const DOC: &str = "doc";
/// On `SETTINGS`: the custom attribute map (JSON; absent: never saved, the flattening).
const ATTRIBUTES: &str = "attrs";
const V: &str = "v";
/// On the `ROLESYNC` marker: the settings version whose re-resolution it stands for.
pub(crate) const SYNC_VERSION: &str = "sync_v";
/// On the `ROLESYNC` marker: the groups whose members to re-resolve (JSON list), or absent for
/// every user.
const SYNC_GROUPS: &str = "sync_groups";

/// A directory's settings as of version `version` (0: never saved).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirSettings {
    pub version: u64,
    pub roles: RoleMap,
    pub attributes: AttributeMap,
}

/// A re-resolution still to run: after the map at `version` was saved, the members of
/// `groups` (`None`: every user) may resolve differently.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSync {
    pub version: u64,
    pub groups: Option<Vec<String>>,
    pub marked_ms: u64,
}

impl RoleSync {
    /// The groups a re-resolution must cover when `groups` (`None`: every user) is marked while
    /// `pending` is still unfinished: both lists, once each; every user wins.
    pub fn merged(pending: Option<&RoleSync>, groups: Option<Vec<String>>) -> Option<Vec<String>> {
        match pending {
            None => groups,
            Some(RoleSync { groups: None, .. }) => None,
            Some(RoleSync {
                groups: Some(old), ..
            }) => groups.map(|g| {
                let mut all = old.clone();
                all.extend(g);
                all.sort();
                all.dedup();
                all
            }),
        }
    }
}

type Cache = Mutex<HashMap<(String, String), Arc<DirSettings>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Bound on cached directories per process: past it the cache starts over.
const CACHED_DIRECTORIES: usize = 10_000;

impl Store {
    /// The directory's settings, from this process's cache or one GetItem. A stale entry is
    /// harmless: the write that used it is cancelled at commit (module header).
    pub async fn settings(&self, dir: &str) -> Result<Arc<DirSettings>, StoreError> {
        let k = (self.table.clone(), dir.to_string());
        if let Some(hit) = cache().lock().ok().and_then(|c| c.get(&k).cloned()) {
            return Ok(hit);
        }
        self.read_settings(dir).await
    }

    /// The directory's settings as stored now (strongly consistent), refreshing the cache.
    pub async fn read_settings(&self, dir: &str) -> Result<Arc<DirSettings>, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), SETTINGS_SK.into())
            .await?;
        let settings = Arc::new(match item {
            None => DirSettings::default(),
            Some(item) => settings_of(&self.table, &item)?,
        });
        self.remember(dir, Arc::clone(&settings));
        Ok(settings)
    }

    /// A directory's registry entry and its settings as stored now, in one BatchGetItem
    /// (strongly consistent), refreshing the cache: a management read of users renders them
    /// with the current custom attribute map in the round trip its directory check makes anyway.
    pub async fn directory_and_settings(
        &self,
        dir: &str,
    ) -> Result<(Option<Directory>, Arc<DirSettings>), StoreError> {
        let registry = key(keys::REGISTRY_PK.into(), keys::registry_sk(dir));
        let settings_key = key(keys::directory_pk(dir), SETTINGS_SK.into());
        let mut directory = None;
        let mut settings = DirSettings::default();
        for item in self.batch_get(vec![registry, settings_key], None).await? {
            match get_s(&item, keys::SK) {
                Some(SETTINGS_SK) => settings = settings_of(&self.table, &item)?,
                _ => directory = directory_from_item(&item),
            }
        }
        let settings = Arc::new(settings);
        self.remember(dir, Arc::clone(&settings));
        Ok((directory, settings))
    }

    fn remember(&self, dir: &str, settings: Arc<DirSettings>) {
        if let Ok(mut c) = cache().lock() {
            if c.len() >= CACHED_DIRECTORIES {
                c.clear();
            }
            c.insert((self.table.clone(), dir.to_string()), settings);
        }
    }

    /// Saves `roles` as the directory's role map if its settings are still those of `old`, and
    /// marks the re-resolution `sync` in the same transaction. Returns the new settings.
    pub async fn save_role_map(
        &self,
        dir: &str,
        old: &DirSettings,
        roles: RoleMap,
        sync: Option<Option<Vec<String>>>,
    ) -> Result<DirSettings, StoreError> {
        let next = DirSettings {
            version: old.version + 1,
            roles,
            attributes: old.attributes.clone(),
        };
        self.save_settings(dir, next, sync).await
    }

    /// Saves `attributes` as the directory's custom attribute map if its settings are still
    /// those of `old`. Returns the new settings.
    pub async fn save_attribute_map(
        &self,
        dir: &str,
        old: &DirSettings,
        attributes: AttributeMap,
    ) -> Result<DirSettings, StoreError> {
        let next = DirSettings {
            version: old.version + 1,
            roles: old.roles.clone(),
            attributes,
        };
        self.save_settings(dir, next, None).await
    }

    /// Writes `next` if the settings are still at `next.version - 1`, with the version copied to
    /// every sequence shard and the re-resolution `sync` marked, in one transaction.
    async fn save_settings(
        &self,
        dir: &str,
        next: DirSettings,
        sync: Option<Option<Vec<String>>>,
    ) -> Result<DirSettings, StoreError> {
        let expected = next.version - 1;
        let json = |what, v: Result<String, serde_json::Error>| {
            v.map_err(|source| StoreError::Json { what, source })
        };
        let doc = json("a role map", serde_json::to_string(&next.roles))?;
        let attrs = json(
            "a custom attribute map",
            serde_json::to_string(&next.attributes),
        )?;
        let pk = keys::directory_pk(dir);
        let mut item = key(pk.clone(), SETTINGS_SK.into());
        item.insert(DOC.into(), s(doc));
        item.insert(ATTRIBUTES.into(), s(attrs));
        item.insert(V.into(), n(next.version));
        let cond = if expected == 0 {
            Expr::new("attribute_not_exists(pk)")
        } else {
            Expr::new("#v = :v").name("#v", V).value(":v", n(expected))
        };
        let mut tx = Tx::new(self);
        tx.put(item, Some(cond), Role::Resource)?;
        // Every shard carries the version: a write numbering on any of them pins it.
        for shard in 0..super::outbox::SHARDS {
            tx.update(
                key(pk.clone(), keys::event_seq_sk(shard)),
                Expr::new("SET #cv = :cv")
                    .name("#cv", SETTINGS_VERSION)
                    .value(":cv", n(next.version)),
                None,
                Role::Other,
            )?;
        }
        if let Some(groups) = sync {
            tx.put(
                sync_marker(dir, next.version, groups.as_deref())?,
                None,
                Role::Other,
            )?;
        }
        match tx.commit(self).await {
            Ok(()) => {}
            Err(StoreError::VersionMismatch) => {
                self.forget_settings(dir);
                return Err(StoreError::SettingsMoved);
            }
            Err(e) => return Err(e),
        }
        self.remember(dir, Arc::new(next.clone()));
        Ok(next)
    }

    /// Drops this process's cached settings of `dir` (they moved).
    pub fn forget_settings(&self, dir: &str) {
        if let Ok(mut c) = cache().lock() {
            c.remove(&(self.table.clone(), dir.to_string()));
        }
    }

    /// The directory's unfinished role re-resolution, if any.
    pub async fn role_sync(&self, dir: &str) -> Result<Option<RoleSync>, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), ROLE_SYNC_SK.into())
            .await?;
        Ok(item.map(|i| sync_of(&i)))
    }

    /// Marks a re-resolution of `groups`' members (`None`: every user) at the current version,
    /// merging with one already marked (a merge of two group lists; every user wins).
    pub async fn mark_role_sync(
        &self,
        dir: &str,
        version: u64,
        groups: Option<Vec<String>>,
    ) -> Result<(), StoreError> {
        let merged = RoleSync::merged(self.role_sync(dir).await?.as_ref(), groups);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(sync_marker(dir, version, merged.as_deref())?))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Removes the marker if it is still the one read (`marked_ms`): a re-resolution marked
    /// meanwhile stays for its own run.
    pub async fn finish_role_sync(&self, dir: &str, done: &RoleSync) -> Result<(), StoreError> {
        let r = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::directory_pk(dir), ROLE_SYNC_SK.into())))
            .condition_expression("#m = :m")
            .expression_attribute_names("#m", keys::MARKED_MS)
            .expression_attribute_values(":m", n(done.marked_ms))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// The stack's role catalogue (empty until one is declared).
    pub async fn role_catalogue(&self) -> Result<RoleCatalogue, StoreError> {
        self.catalogue(
            ROLES_SK,
            "a role catalogue that is not the JSON this code writes",
        )
        .await
    }

    /// Replaces the stack's role catalogue.
    pub async fn put_role_catalogue(&self, catalogue: &RoleCatalogue) -> Result<(), StoreError> {
        self.put_catalogue(ROLES_SK, "a role catalogue", catalogue)
            .await
    }

    /// The stack's custom attribute keys (none until declared).
    pub async fn attribute_catalogue(&self) -> Result<AttributeCatalogue, StoreError> {
        self.catalogue(
            CUSTOM_ATTRIBUTES_SK,
            "a custom attribute catalogue that is not the JSON this code writes",
        )
        .await
    }

    /// Replaces the stack's custom attribute keys.
    pub async fn put_attribute_catalogue(
        &self,
        catalogue: &AttributeCatalogue,
    ) -> Result<(), StoreError> {
        self.put_catalogue(
            CUSTOM_ATTRIBUTES_SK,
            "a custom attribute catalogue",
            catalogue,
        )
        .await
    }

    async fn catalogue<T: serde::de::DeserializeOwned + Default>(
        &self,
        sk: &str,
        problem: &'static str,
    ) -> Result<T, StoreError> {
        let item = self.get_item(STACK_PK.into(), sk.into()).await?;
        let Some(item) = item else {
            return Ok(T::default());
        };
        let doc = get_s(&item, DOC).unwrap_or("{}");
        serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
            at: super::ItemKey::of(&self.table, &item),
            problem,
            source: Some(e),
        })
    }

    async fn put_catalogue<T: serde::Serialize>(
        &self,
        sk: &str,
        what: &'static str,
        catalogue: &T,
    ) -> Result<(), StoreError> {
        let doc =
            serde_json::to_string(catalogue).map_err(|source| StoreError::Json { what, source })?;
        let mut item = key(STACK_PK.into(), sk.into());
        item.insert(DOC.into(), s(doc));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }
}

fn sync_marker(dir: &str, version: u64, groups: Option<&[String]>) -> Result<Item, StoreError> {
    let mut item = key(keys::directory_pk(dir), ROLE_SYNC_SK.into());
    item.insert(SYNC_VERSION.into(), n(version));
    item.insert(keys::MARKED_MS.into(), n(clock::now_millis()));
    if let Some(g) = groups {
        let doc = serde_json::to_string(g).map_err(|source| StoreError::Json {
            what: "a group list",
            source,
        })?;
        item.insert(SYNC_GROUPS.into(), s(doc));
    }
    Ok(item)
}

pub(crate) fn sync_of(item: &Item) -> RoleSync {
    RoleSync {
        version: get_n(item, SYNC_VERSION).unwrap_or(0),
        groups: get_s(item, SYNC_GROUPS).and_then(|g| serde_json::from_str(g).ok()),
        marked_ms: get_n(item, keys::MARKED_MS).unwrap_or(0),
    }
}

pub(crate) fn settings_of(table: &str, item: &Item) -> Result<DirSettings, StoreError> {
    fn doc<T: serde::de::DeserializeOwned + Default>(
        table: &str,
        item: &Item,
        name: &str,
    ) -> Result<T, StoreError> {
        match item.get(name) {
            Some(AttributeValue::S(doc)) => {
                serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
                    at: super::ItemKey::of(table, item),
                    problem: "directory settings that are not the JSON this code writes",
                    source: Some(e),
                })
            }
            _ => Ok(T::default()),
        }
    }
    Ok(DirSettings {
        version: get_n(item, V).unwrap_or(0),
        roles: doc(table, item, DOC)?,
        attributes: doc(table, item, ATTRIBUTES)?,
    })
}

impl Tx {
    /// For a transaction that emits no numbered event (its events are at reserved numbers): the
    /// settings must still be at `version`. An update that changes nothing, not a
    /// ConditionCheck, so the functions need no IAM action beyond UpdateItem.
    pub(crate) fn check_settings(&mut self, dir: &str, version: u64) -> Result<(), StoreError> {
        let (update, cond) = if version == 0 {
            (
                Expr::new("REMOVE #cv"),
                Expr::new("attribute_not_exists(#cv) OR #cv = :cv").value(":cv", n(0)),
            )
        } else {
            (
                Expr::new("SET #cv = :cv").value(":cv", n(version)),
                Expr::new("#cv = :cv").value(":cv", n(version)),
            )
        };
        // Any shard: a save writes the version on all of them at once.
        let shard = super::deadline::random_below(super::outbox::SHARDS);
        self.update(
            key(keys::directory_pk(dir), keys::event_seq_sk(shard)),
            update.name("#cv", SETTINGS_VERSION),
            Some(cond.name("#cv", SETTINGS_VERSION)),
            Role::Settings,
        )
    }

    /// Makes this transaction's event numbering conditional on the directory's settings still
    /// being at `version` (module header).
    pub(crate) fn expect_settings(&mut self, dir: &str, version: u64) {
        self.outbox(dir).settings = Some(version);
    }
}
