//! The clean-up function: finishes group deletes whose membership edges did not all go within
//! the request (a 50,000-member group has 100,000 edge items). It is fed by the directory table's
//! stream, filtered in template.yaml to the insert of a clean-up marker (`CLEANUP#GROUP#{id}`).
//! The request that wrote the marker keeps deleting edges until its own deadline, so the function
//! first waits that long and then finishes whatever is left (usually nothing: the marker is gone).
//! Everything it does is idempotent; a failed batch is retried by the event source mapping, and
//! `scimctl directory check --repair` finishes any clean-up as well.
//!
//! It also finishes directory deletes the management API started (the registry entry turning
//! `deleting`): an API request cannot wait out the token grace, this function can.

use std::time::Duration;

use serde_json::Value;

use crate::clock;
use crate::store::caller::{self, CLEANUP};
use crate::store::{deadline, directories, keys, Store, StoreError};

/// How long one clean-up may run (the function's timeout is 900 s).
const CLEAN_UP_BUDGET: Duration = Duration::from_secs(600);

/// A clean-up the stream announced: the directory, the group, and when the marker was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanUp {
    pub directory: String,
    pub group: String,
    pub marked_ms: u64,
}

/// The new images of a DynamoDB stream event's records of `kind` (`INSERT`, `MODIFY`).
pub fn new_images<'a>(event: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> {
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |r| r["eventName"] == kind)
        .map(|r| &r["dynamodb"]["NewImage"])
}

/// The clean-ups in a DynamoDB stream event (other records are ignored).
pub fn clean_ups(event: &Value) -> Vec<CleanUp> {
    new_images(event, "INSERT")
        .filter_map(|image| {
            let sk = image["sk"]["S"].as_str()?;
            sk.strip_prefix(keys::CLEANUP_PREFIX)?;
            Some(CleanUp {
                directory: keys::directory_from_pk(image["pk"]["S"].as_str()?)?,
                group: image["id"]["S"].as_str()?.to_string(),
                marked_ms: image[keys::MARKED_MS]["N"].as_str()?.parse().ok()?,
            })
        })
        .collect()
}

/// Directories the stream shows turning (or still) `deleting`.
pub fn directory_deletes(event: &Value) -> Vec<String> {
    new_images(event, "MODIFY")
        .filter_map(|image| {
            (image["pk"]["S"] == keys::REGISTRY_PK && image["status"]["S"] == directories::DELETING)
                .then(|| image["id"]["S"].as_str().map(str::to_string))
                .flatten()
        })
        .collect()
}

/// Deletes a directory's data once no cached token can write any more (`auth::CACHE_TTL`).
pub async fn finish_directory_delete(store: &Store, id: &str) -> Result<(), StoreError> {
    let delete = store.delete_directory(id, crate::auth::CACHE_TTL);
    let items = caller::scope(CLEANUP, deadline::within(CLEAN_UP_BUDGET, delete)).await?;
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
    let done = caller::scope(CLEANUP, deadline::within(CLEAN_UP_BUDGET, clean_up)).await?;
    tracing::info!(directory = %c.directory, group = %c.group, finished_here = done, "group clean-up");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_entries_turning_deleting_are_directory_deletes() {
        let record = |status: &str| {
            json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {
            "pk": {"S": "DIRECTORIES"}, "sk": {"S": "DIR#d1"}, "id": {"S": "d1"}, "status": {"S": status}}}})
        };
        let event = json!({"Records": [record("deleting"), record("linked")]});
        assert_eq!(directory_deletes(&event), vec!["d1".to_string()]);
    }

    #[test]
    fn only_marker_inserts_are_clean_ups() {
        let record = |name: &str, sk: &str| {
            json!({"eventName": name, "dynamodb": {"NewImage": {
            "pk": {"S": "DIR#d%231"}, "sk": {"S": sk}, "id": {"S": "g1"}, "marked_ms": {"N": "5"}}}})
        };
        let event = json!({"Records": [
            record("INSERT", "CLEANUP#GROUP#g1"),
            record("REMOVE", "CLEANUP#GROUP#g1"),
            record("INSERT", "USER#u1"),
        ]});
        assert!(directory_deletes(&event).is_empty());
        assert_eq!(
            clean_ups(&event),
            vec![CleanUp {
                directory: "d#1".into(),
                group: "g1".into(),
                marked_ms: 5
            }]
        );
    }
}
