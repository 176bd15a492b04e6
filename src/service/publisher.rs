//! The publisher function: puts every committed event on the stack's EventBridge bus.
//!
//! It is a Lambda on the directory table's stream (template.yaml: filtered to inserts of
//! `EVENT#` items, bisect on error, bounded retries, SQS dead-letter queue) rather than an
//! EventBridge Pipe: a Pipe's input template can only pass the DynamoDB image (typed attributes,
//! `data` as a string), and the event's `detail` here is exactly the envelope the Events API and
//! webhooks carry. `detail-type` is the event name, `source` is [`SOURCE`]. EventBridge does not
//! keep order: consumers order by `detail.sequence` (or read the Events API).
//!
//! The same bus feeds the webhook queue (an EventBridge rule), which triggers deliveries.

use std::time::Duration;

use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::events::Event;

/// The `source` of every event this stack puts on its bus.
pub const SOURCE: &str = "scim-lambda.directory";
/// Environment variable naming the bus (template.yaml sets it).
pub const ENV_BUS: &str = "SCIM_EVENT_BUS";
/// PutEvents takes at most 10 entries and 256 KB per call.
const MAX_ENTRIES: usize = 10;
const MAX_CALL_BYTES: usize = 250_000;
/// Largest PutEvents entry (EventBridge quotas: 256 KB; read as 256,000 bytes to be safe).
pub const MAX_ENTRY_BYTES: usize = 256_000;
const ATTEMPTS: u32 = 4;

/// The PutEvents entry of one event.
pub fn entry(bus: &str, e: &Event) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(SOURCE)
        .detail_type(e.event.as_str())
        .detail(serde_json::to_string(e).unwrap_or_default())
        .build()
}

/// An entry's size as EventBridge counts it (User Guide, "Calculating PutEvents event entry
/// size"): `Time` 14 bytes if set, and the UTF-8 bytes of `Source`, `DetailType`, `Detail` and
/// each of `Resources`. Events are capped at `events::MAX_EVENT_BYTES`, so this stays under
/// `MAX_ENTRY_BYTES`.
pub fn entry_size(e: &PutEventsRequestEntry) -> usize {
    e.time().map_or(0, |_| 14)
        + e.source().map_or(0, str::len)
        + e.detail_type().map_or(0, str::len)
        + e.detail().map_or(0, str::len)
        + e.resources().iter().map(String::len).sum::<usize>()
}

/// Why a batch was not published (the stream retries it, bisecting).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The PutEvents call itself failed; EventBridge's (or the connection's) error is the source.
    #[error("EventBridge PutEvents failed")]
    PutEvents(#[source] Box<aws_sdk_eventbridge::error::SdkError<PutEventsError>>),
    /// EventBridge kept refusing some entries (its per-entry error codes).
    #[error("EventBridge refused {failed} entries after {attempts} attempts")]
    Refused { failed: usize, attempts: u32 },
}

/// Puts `events` on `bus`, in calls of at most 10 entries and 250 KB; entries EventBridge did
/// not take are put again with backoff. An error fails the stream batch (it is retried, bisected).
pub async fn publish(
    client: &aws_sdk_eventbridge::Client,
    bus: &str,
    events: &[Event],
) -> Result<(), PublishError> {
    let mut calls: Vec<Vec<PutEventsRequestEntry>> = vec![Vec::new()];
    let mut bytes = 0;
    for e in events {
        let entry = entry(bus, e);
        let size = entry_size(&entry);
        let full = calls.last().is_some_and(|c| c.len() >= MAX_ENTRIES);
        if full || bytes + size > MAX_CALL_BYTES {
            calls.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        calls.last_mut().expect("pushed").push(entry);
    }
    for mut entries in calls.into_iter().filter(|c| !c.is_empty()) {
        let mut attempt = 0;
        loop {
            let out = client
                .put_events()
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| PublishError::PutEvents(Box::new(e)))?;
            if out.failed_entry_count() == 0 {
                break;
            }
            // Results are positional: keep the entries whose result carries an error.
            let failed: Vec<PutEventsRequestEntry> = out
                .entries()
                .iter()
                .zip(&entries)
                .filter(|(r, _)| r.error_code().is_some())
                .map(|(_, e)| e.clone())
                .collect();
            attempt += 1;
            if attempt >= ATTEMPTS {
                return Err(PublishError::Refused {
                    failed: failed.len(),
                    attempts: ATTEMPTS,
                });
            }
            entries = failed;
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn stored(seq: u64, data: &Value) -> Event {
        let (dir, created) = ("d1".to_string(), Some("2026-01-01T00:00:00.000Z"));
        Event::from_stored(
            dir,
            seq,
            "event_1",
            "dsync.user.created",
            created,
            &data.to_string(),
        )
        .unwrap()
    }

    #[test]
    fn an_entry_is_the_envelope_under_its_event_name() {
        let e = entry("bus", &stored(7, &json!({"id": "u1"})));
        assert_eq!(e.detail_type(), Some("dsync.user.created"));
        assert_eq!(e.source(), Some(SOURCE));
        let detail: Value = serde_json::from_str(e.detail().unwrap()).unwrap();
        assert_eq!(detail["sequence"], 7);
        assert_eq!(detail["directory_id"], "d1");
        assert_eq!(detail["data"], json!({"id": "u1"}));
    }

    /// An event stored before the cap (up to DynamoDB's 400 KB) would be refused by PutEvents
    /// and stall its stream shard: it is put cut to the cap, with its marker.
    #[test]
    fn an_event_stored_above_the_cap_is_put_within_an_entry() {
        let data = json!({"id": "u1", "username": "ada@example.com",
            "raw_attributes": {"userName": "ada@example.com", "x": "a".repeat(380_000)}});
        let e = entry("bus", &stored(9, &data));
        assert!(entry_size(&e) <= MAX_ENTRY_BYTES, "{}", entry_size(&e));
        let detail: Value = serde_json::from_str(e.detail().unwrap()).unwrap();
        assert_eq!(detail["data"]["raw_attributes_omitted"], true);
        assert_eq!(detail["data"]["username"], "ada@example.com");
    }
}
