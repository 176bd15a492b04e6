//! Normalised users and groups for the application (`events::normal`: one shape whatever the IdP,
//! WorkOS Directory Sync's field names), paged in creation order after an id, or searched by name
//! in name order (`name_search.rs`); and their counts. The pages come from the same listing loop
//! as SCIM lists (`listing::after`), so a group still being created is invisible here too (and in
//! a search); a user carries its groups (`{id, name}`) through the same reference reads as a
//! SCIM response.
//!
//! A user's `custom_attributes` are rendered with the directory's custom attribute map as it is
//! when the read runs (its settings item is read with the directory's registry entry, in the one
//! BatchGetItem that checks the directory exists: no round trip more), so a mapping change shows
//! on every user at once; events keep the map their write pinned (docs/custom-attributes.md).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::management::{directory, ManagementError};
use super::{listing, name_search, Service};
use crate::custom_attributes::AttributeMap;
use crate::events::normal;
use crate::scim::schema::ResourceKind;
pub use crate::store::paging::Counts;
use crate::store::Record;

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct GroupRef {
    pub id: String,
    pub name: Option<String>,
}

/// `active` or `inactive` (SCIM `active`; absent means active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    Active,
    Inactive,
}

/// A user as the application sees it (`events::normal`), with its groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct NormalisedUser {
    pub id: String,
    pub directory_id: String,
    /// The IdP's id (SCIM `externalId`).
    pub idp_id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub state: UserState,
    /// The application's declared keys, from the directory's mapping (docs/custom-attributes.md);
    /// while the stack declares none, the extension attributes flattened.
    pub custom_attributes: Map<String, Value>,
    /// The SCIM resource as stored (open, like every SCIM body).
    pub raw_attributes: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    /// The user's role: its highest-priority mapped group's, else the default (`null` when the
    /// stack declares no roles).
    #[serde(default)]
    pub role: Option<RoleSlug>,
    /// Every role its mapped groups give, in priority order.
    #[serde(default)]
    pub roles: Vec<RoleSlug>,
    #[serde(default)]
    pub groups: Vec<GroupRef>,
}

/// A role as a user carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RoleSlug {
    pub slug: String,
}

/// A group as the application sees it (`events::normal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct NormalisedGroup {
    pub id: String,
    pub directory_id: String,
    pub idp_id: Option<String>,
    pub name: Option<String>,
    pub raw_attributes: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// A page of users or groups; `list_metadata.after` is where the next page starts (`None`: the
/// last page).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ResourcePage<T> {
    pub data: Vec<T>,
    pub list_metadata: ListMetadata,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ListMetadata {
    pub after: Option<String>,
}

/// A page of the directory's users after the id `after`, each with its groups.
pub async fn users(
    svc: &Service,
    dir: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<ResourcePage<NormalisedUser>, ManagementError> {
    let attributes = directory_attributes(svc, dir).await?;
    let (records, after) = page(svc, dir, ResourceKind::User, after, limit).await?;
    Ok(ResourcePage {
        data: normalised_users(svc, dir, &records, &attributes).await?,
        list_metadata: ListMetadata { after },
    })
}

/// A page of the directory's groups after the id `after`.
pub async fn groups(
    svc: &Service,
    dir: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<ResourcePage<NormalisedGroup>, ManagementError> {
    directory(svc, dir).await?;
    group_page(
        dir,
        page(svc, dir, ResourceKind::Group, after, limit).await?,
    )
}

/// A page of the directory's users whose userName starts with `prefix` (case-insensitively; an
/// empty prefix lists everyone), in userName order, after the cursor `after` (the
/// `list_metadata.after` of the previous page). The name guards serve as the index
/// (`name_search.rs`), so a page never scans the directory.
///
/// The users come without their groups (`groups` is empty): a list of names has no room for
/// them, and reading them costs a Query per user; `user` reads one user's groups.
///
/// DynamoDB round trips per page: 1 BatchGetItem (the directory and its settings) + 1 Query
/// (the page's userName guards, plus one to know whether more follow) + 1 BatchGetItem (the
/// users, `limit` ≤ 100).
/// A page with hidden users (a user renamed between the reads) reads on, a guard Query and
/// BatchGetItem more per round.
pub async fn search_users(
    svc: &Service,
    dir: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<ResourcePage<NormalisedUser>, ManagementError> {
    let attributes = directory_attributes(svc, dir).await?;
    let found = name_search::search(svc, dir, ResourceKind::User, prefix, after, limit).await?;
    user_page(dir, found, &attributes)
}

/// A page of the directory's groups whose displayName starts with `prefix`, as `search_users`
/// does for users. Round trips per page: 1 GetItem (the directory) + 1 Query (the guards) + 1
/// BatchGetItem (the groups) = 3, more only past groups still being created (invisible).
pub async fn search_groups(
    svc: &Service,
    dir: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<ResourcePage<NormalisedGroup>, ManagementError> {
    directory(svc, dir).await?;
    let found = name_search::search(svc, dir, ResourceKind::Group, prefix, after, limit).await?;
    group_page(dir, found)
}

/// How many users and groups the directory holds: one Query of its counter shards (kept in the
/// same transactions as the creates and deletes, so never a scan).
pub async fn count_users_groups(svc: &Service, dir: &str) -> Result<Counts, ManagementError> {
    directory(svc, dir).await?;
    Ok(svc.store.counts(dir).await?)
}

/// One user, normalised; `None` when there is no such (visible) user.
pub async fn user(
    svc: &Service,
    dir: &str,
    id: &str,
) -> Result<Option<NormalisedUser>, ManagementError> {
    let attributes = directory_attributes(svc, dir).await?;
    let Some(r) = get_visible(svc, dir, ResourceKind::User, id).await? else {
        return Ok(None);
    };
    Ok(normalised_users(svc, dir, &[r], &attributes).await?.pop())
}

/// One group, normalised; `None` when there is no such (visible) group.
pub async fn group(
    svc: &Service,
    dir: &str,
    id: &str,
) -> Result<Option<NormalisedGroup>, ManagementError> {
    one(svc, dir, ResourceKind::Group, id)
        .await?
        .map(|r| normalise(ResourceKind::Group, dir, &r, &AttributeMap::default()))
        .transpose()
}

/// Visible records after `after` and, when more follow, the id the next page starts after (the
/// caller checked the directory).
async fn page(
    svc: &Service,
    dir: &str,
    kind: ResourceKind,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Record>, Option<String>), ManagementError> {
    let (records, more) = listing::after(svc, dir, kind, after, limit)
        .await
        .map_err(ManagementError::Scim)?;
    let next = records.last().filter(|_| more).map(|r| r.id.clone());
    Ok((records, next))
}

async fn one(
    svc: &Service,
    dir: &str,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<Record>, ManagementError> {
    directory(svc, dir).await?;
    get_visible(svc, dir, kind, id).await
}

async fn get_visible(
    svc: &Service,
    dir: &str,
    kind: ResourceKind,
    id: &str,
) -> Result<Option<Record>, ManagementError> {
    match svc.get(dir, kind, id).await {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.status == 404 => Ok(None),
        Err(e) => Err(ManagementError::Scim(e)),
    }
}

/// Records and the next page's start, as a page of users without their groups.
fn user_page(
    dir: &str,
    (records, after): (Vec<Record>, Option<String>),
    attributes: &AttributeMap,
) -> Result<ResourcePage<NormalisedUser>, ManagementError> {
    let data = records
        .iter()
        .map(|r| normalise(ResourceKind::User, dir, r, attributes))
        .collect::<Result<_, _>>()?;
    Ok(ResourcePage {
        data,
        list_metadata: ListMetadata { after },
    })
}

/// The directory's first users in creation order, without their groups (the Admin Portal's
/// "first users to arrive"): one Query, no directory read (the caller has it). Their custom
/// attributes come from this process's cached map (a GetItem only when cold): the portal shows
/// names, not custom attributes, and pays no read for them on its status poll.
pub async fn first_users(
    svc: &Service,
    dir: &str,
    limit: usize,
) -> Result<Vec<NormalisedUser>, ManagementError> {
    let (records, _) = listing::after(svc, dir, ResourceKind::User, None, limit)
        .await
        .map_err(ManagementError::Scim)?;
    let attributes = &svc.store.settings(dir).await?.attributes;
    records
        .iter()
        .map(|r| normalise(ResourceKind::User, dir, r, attributes))
        .collect()
}

/// Records and the next page's start, as a page of groups.
fn group_page(
    dir: &str,
    (records, after): (Vec<Record>, Option<String>),
) -> Result<ResourcePage<NormalisedGroup>, ManagementError> {
    let data = records
        .iter()
        .map(|r| normalise(ResourceKind::Group, dir, r, &AttributeMap::default()))
        .collect::<Result<_, _>>()?;
    Ok(ResourcePage {
        data,
        list_metadata: ListMetadata { after },
    })
}

/// Users with their groups (one bounded reference read for the page, as SCIM responses do).
async fn normalised_users(
    svc: &Service,
    dir: &str,
    records: &[Record],
    attributes: &AttributeMap,
) -> Result<Vec<NormalisedUser>, ManagementError> {
    let refs = svc
        .references(dir, ResourceKind::User, &records.iter().collect::<Vec<_>>())
        .await
        .map_err(ManagementError::Scim)?;
    records
        .iter()
        .zip(refs)
        .map(|(r, groups)| {
            let mut user: NormalisedUser = normalise(ResourceKind::User, dir, r, attributes)?;
            user.groups = groups
                .into_iter()
                .map(|g| GroupRef {
                    id: g.id,
                    name: g.display,
                })
                .collect();
            Ok(user)
        })
        .collect()
}

/// `events::normal`'s object of a record, as its typed shape. A stored body that does not fit
/// (an attribute of the wrong type) is a corrupt item, named by its id.
fn normalise<T: serde::de::DeserializeOwned>(
    kind: ResourceKind,
    dir: &str,
    r: &Record,
    attributes: &AttributeMap,
) -> Result<T, ManagementError> {
    serde_json::from_value(normal::object(
        kind,
        dir,
        &r.id,
        &r.body,
        &r.meta,
        &r.resolved,
        attributes,
    ))
    .map_err(|source| ManagementError::Corrupt {
        id: r.id.clone(),
        source,
    })
}

/// Checks the directory exists and returns its custom attribute map as stored now (strongly
/// consistent: a mapping another process saved shows at once), in one round trip.
async fn directory_attributes(svc: &Service, dir: &str) -> Result<AttributeMap, ManagementError> {
    match svc.store.directory_and_settings(dir).await? {
        (Some(_), settings) => Ok(settings.attributes.clone()),
        (None, _) => Err(ManagementError::NoDirectory(dir.into())),
    }
}
