//! The service layer: every use case, between parsing and rendering. For the IdP: one write
//! pipeline (`write.rs`), the references a resource shows (`references.rs`) and the listing policy
//! (`listing.rs`), answering SCIM errors. For the application (`management.rs` and its error):
//! directory lifecycle and status (`directories.rs`), credentials (`credentials.rs`), Admin Portal
//! setup links (`portal_links.rs`) and the portal's Roles and Attributes steps (`portal_roles.rs`,
//! `portal_attributes.rs`), webhook registrations (`webhook_registrations.rs`; delivery is
//! `webhooks.rs`), the Events API (`event_reads.rs`) and normalised users and groups
//! (`directory_reads.rs`). Every function takes and returns typed values (`Serialize` structs and
//! enums) and never sees HTTP: the API handlers, scimctl, scim-local, the benchmark and the fuzz
//! harness render the same answers.
//!
//! The transports see the store only through what is re-exported here.

pub mod cached;
pub mod cleanup;
pub mod credentials;
pub mod custom_attributes;
pub mod directories;
pub mod directory_reads;
pub mod event_reads;
pub mod listing;
pub mod management;
pub mod name_search;
pub mod portal;
pub mod portal_attributes;
pub mod portal_links;
pub mod portal_roles;
pub mod publisher;
pub mod references;
pub mod request_log;
pub mod roles;
pub mod webhook_registrations;
pub mod webhooks;
pub mod write;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::scim::error::ScimError;
use crate::scim::filter::lexer::clip;
use crate::scim::resource::is_id;
use crate::scim::schema::ResourceKind;
use crate::store::{State, StoreError};
use crate::telemetry::chain;

/// What the transports use of the store: the record a handler renders, the store handle they are
/// built with, the request deadline and caller scope, and the counters the metrics read.
pub use crate::store::{caller, capacity, committed, deadline, Record, Store, CALLS};
pub use management::{ManagementError, PublicUrl};
pub use references::Reference;

/// The service's handles, built once per process (outside the Lambda handler).
pub struct Service {
    pub store: Store,
    /// Cursor-signing secrets by directory, cached for the life of the process.
    cursor_keys: Mutex<HashMap<String, Vec<u8>>>,
    /// The stack's role catalogue as last read, for display (`roles::cached_catalogue`).
    role_catalogue: cached::CatalogueCache<crate::roles::RoleCatalogue>,
    /// The stack's custom attribute keys as last read, for display
    /// (`custom_attributes::cached_catalogue`).
    attribute_catalogue: cached::CatalogueCache<crate::custom_attributes::AttributeCatalogue>,
}

impl Service {
    pub fn new(store: Store) -> Self {
        Service {
            store,
            cursor_keys: Mutex::default(),
            role_catalogue: Default::default(),
            attribute_catalogue: Default::default(),
        }
    }

    /// The directory's cursor-signing secret (see `store::paging`).
    pub async fn cursor_key(&self, dir: &str) -> Result<Vec<u8>, ScimError> {
        if let Some(k) = self
            .cursor_keys
            .lock()
            .ok()
            .and_then(|m| m.get(dir).cloned())
        {
            return Ok(k);
        }
        let k = self.store.cursor_key(dir).await?;
        if let Ok(mut m) = self.cursor_keys.lock() {
            m.insert(dir.to_string(), k.clone());
        }
        Ok(k)
    }

    /// A resource as readers see it: a group still being created is not there yet.
    pub async fn get(&self, dir: &str, kind: ResourceKind, id: &str) -> Result<Record, ScimError> {
        if !is_id(id) {
            return Err(not_found(kind, id));
        }
        self.store
            .get(dir, kind, id)
            .await?
            .filter(visible)
            .ok_or_else(|| not_found(kind, id))
    }
}

/// Whether readers see a stored record (a pending create is invisible; a user being deleted is
/// still there until its memberships are gone).
pub fn visible(r: &Record) -> bool {
    !matches!(r.state, State::Pending { .. })
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} {} not found", kind.name(), clip(id)))
}

/// Member ids that cannot be users of any directory (not ids we mint): a 400 before any read.
fn check_member_ids(ids: &[String]) -> Result<(), StoreError> {
    let bad: Vec<String> = ids.iter().filter(|i| !is_id(i)).cloned().collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(StoreError::MissingMembers(bad))
    }
}

/// Maps store failures to what the client sees; internal ones are logged and answered generically.
impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ScimError::uniqueness(format!("{what} is already taken")),
            StoreError::NotFound => ScimError::not_found("resource not found"),
            // The write pipeline retries these; one reaching here ran out of retries.
            StoreError::EdgesMoved(_) | StoreError::RolesMoved(_) => {
                ScimError::unavailable("the group's members kept changing; retry")
            }
            StoreError::SettingsMoved => {
                ScimError::unavailable("the directory's role assignments kept changing; retry")
            }
            StoreError::VersionMismatch => {
                ScimError::precondition_failed("the resource was modified by another request")
            }
            StoreError::MissingMembers(ids) => {
                let shown: Vec<String> = ids.iter().take(10).map(|i| clip(i)).collect();
                let more = ids.len().saturating_sub(shown.len());
                ScimError::invalid_value(format!(
                    "members not found in this directory: {}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ))
            }
            e @ (StoreError::Unavailable { .. } | StoreError::OutOfTime { .. }) => {
                tracing::warn!(error = %chain(&e), "store unavailable");
                ScimError::unavailable(
                    "the directory store is busy; nothing was left half-written, retry the request",
                )
            }
            // Never the cause's text to the client (it may hold DynamoDB's messages): the log
            // has it all.
            e @ (StoreError::Sdk { .. }
            | StoreError::UnexpectedCondition { .. }
            | StoreError::Request(_)
            | StoreError::Corrupt { .. }
            | StoreError::Json { .. }
            | StoreError::Entropy { .. }
            | StoreError::Task(_)
            | StoreError::Bug(_)) => {
                tracing::error!(error = %chain(&e), "store failure");
                ScimError::internal()
            }
        }
    }
}
