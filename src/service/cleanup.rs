//! The clean-up function: finishes group deletes whose membership edges did not all go within
//! the request (a 50,000-member group has 100,000 edge items). It is fed by the directory table's
//! stream, filtered in template.yaml to the insert of a clean-up marker (`CLEANUP#GROUP#{id}`).
//! The request that wrote the marker keeps deleting edges until its own deadline, so the function
//! first waits that long and then finishes whatever is left (usually nothing: the marker is gone).
//! Everything it does is idempotent; a failed batch is retried by the event source mapping, and
//! `scimctl directory check --repair` finishes any clean-up as well.
//!
//! It also finishes role re-resolutions (`ROLESYNC`, `service::roles`) a role-map save could not
//! finish within its request, and directory deletes the management API started (the registry entry turning
//! `deleting`): an API request cannot wait out the token grace, this function can.

use std::time::Duration;

use crate::clock;
use crate::function::Function;
use crate::store::caller;
use crate::store::{deadline, Store, StoreError};

/// How long one clean-up may run (the function's timeout is 900 s).
const CLEAN_UP_BUDGET: Duration = Duration::from_secs(600);

/// A clean-up the stream announced (`workers::records` reads it from the marker's insert): the
/// directory, the group, and when the marker was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanUp {
    pub directory: String,
    pub group: String,
    pub marked_ms: u64,
}

/// A re-resolution the stream announced (the `ROLESYNC` marker written or rewritten).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSyncMark {
    pub directory: String,
    pub marked_ms: u64,
}

/// Waits out the request that saved the map (it re-resolves first), then finishes what is left.
pub async fn finish_role_sync(store: &Store, m: &RoleSyncMark) -> Result<(), StoreError> {
    let request_ends = m.marked_ms + deadline::REQUEST_BUDGET.as_millis() as u64 + 2_000;
    let now = clock::now_millis() as u64;
    if request_ends > now {
        tokio::time::sleep(Duration::from_millis(request_ends - now)).await;
    }
    let sync = store.run_role_sync(&m.directory);
    let (pending, events) = caller::scope(
        Function::Cleanup.name(),
        deadline::within(CLEAN_UP_BUDGET, sync),
    )
    .await?;
    tracing::info!(directory = %m.directory, pending, events, "role re-resolution");
    Ok(())
}

/// Deletes a directory's data once no cached token can write any more (`auth::CACHE_TTL`).
pub async fn finish_directory_delete(store: &Store, id: &str) -> Result<(), StoreError> {
    let delete = store.delete_directory(id, crate::auth::CACHE_TTL);
    let items = caller::scope(
        Function::Cleanup.name(),
        deadline::within(CLEAN_UP_BUDGET, delete),
    )
    .await?;
    tracing::info!(directory = %id, items, "directory deleted");
    Ok(())
}

/// Waits out the request that wrote the marker, then finishes the clean-up.
pub async fn finish(store: &Store, c: &CleanUp) -> Result<(), StoreError> {
    let request_ends = c.marked_ms + deadline::REQUEST_BUDGET.as_millis() as u64 + 2_000;
    let now = clock::now_millis() as u64;
    if request_ends > now {
        tokio::time::sleep(Duration::from_millis(request_ends - now)).await;
    }
    let clean_up = store.clean_up_group(&c.directory, &c.group);
    let done = caller::scope(
        Function::Cleanup.name(),
        deadline::within(CLEAN_UP_BUDGET, clean_up),
    )
    .await?;
    tracing::info!(directory = %c.directory, group = %c.group, finished_here = done, "group clean-up");
    Ok(())
}
