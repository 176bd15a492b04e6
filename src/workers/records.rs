//! The one adapter from AWS event payloads to typed values: DynamoDB stream records (the
//! directory table's stream, `StreamViewType: NEW_IMAGE`), SQS batches (the webhook queue) and
//! CloudWatch Logs subscription payloads (the SCIM functions' log groups), as `aws_lambda_events`
//! types. A stream record's new image is read into a struct by `serde_dynamo`, then into what it
//! means: a clean-up marker, a directory turning `deleting`, an event the outbox committed.
//! Records of other items share the stream (template.yaml filters most of them out; a record
//! that still arrives is skipped here, never an error). A log event is read into the request-log
//! record its line carries; a line that carries none is skipped the same way.

use aws_lambda_events::cloudwatch_logs::LogData;
use aws_lambda_events::dynamodb::{Event as StreamEvent, StreamRecord};
use aws_lambda_events::sqs::SqsEvent;
use serde::Deserialize;

use crate::events::Event;
use crate::request_log::RequestRecord;
use crate::service::cleanup::{CleanUp, RoleSyncMark};
use crate::store::{directories, keys, outbox};

/// Why a stream record is not the value asked for.
#[derive(Debug, thiserror::Error)]
pub enum Skipped {
    /// Its new image lacks an attribute the value needs, or holds the wrong type.
    #[error("not a {what}: {source}")]
    Shape {
        what: &'static str,
        #[source]
        source: serde_dynamo::Error,
    },
    /// It is another item (another key, another status).
    #[error("not a {0}")]
    Other(&'static str),
}

fn image<'de, T: Deserialize<'de>>(r: &StreamRecord, what: &'static str) -> Result<T, Skipped> {
    serde_dynamo::from_item(r.new_image.clone()).map_err(|source| Skipped::Shape { what, source })
}

/// A clean-up marker's image (`store::mutate`: `CLEANUP#GROUP#{id}`, `id`, `marked_ms`).
#[derive(Deserialize)]
struct MarkerImage {
    pk: String,
    sk: String,
    id: String,
    marked_ms: u64,
}

impl TryFrom<&StreamRecord> for CleanUp {
    type Error = Skipped;

    fn try_from(r: &StreamRecord) -> Result<Self, Skipped> {
        const WHAT: &str = "clean-up marker";
        let m: MarkerImage = image(r, WHAT)?;
        if !m.sk.starts_with(keys::CLEANUP_PREFIX) {
            return Err(Skipped::Other(WHAT));
        }
        Ok(CleanUp {
            directory: keys::directory_from_pk(&m.pk).ok_or(Skipped::Other(WHAT))?,
            group: m.id,
            marked_ms: m.marked_ms,
        })
    }
}

/// A role re-resolution marker (`store::settings`).
#[derive(Deserialize)]
struct RoleSyncImage {
    pk: String,
    sk: String,
    marked_ms: u64,
}

impl TryFrom<&StreamRecord> for RoleSyncMark {
    type Error = Skipped;

    fn try_from(r: &StreamRecord) -> Result<Self, Skipped> {
        const WHAT: &str = "role re-resolution marker";
        let m: RoleSyncImage = image(r, WHAT)?;
        if m.sk != keys::ROLE_SYNC_SK {
            return Err(Skipped::Other(WHAT));
        }
        Ok(RoleSyncMark {
            directory: keys::directory_from_pk(&m.pk).ok_or(Skipped::Other(WHAT))?,
            marked_ms: m.marked_ms,
        })
    }
}

/// A directory's registry entry (`store::directories`).
#[derive(Deserialize)]
struct RegistryImage {
    pk: String,
    id: String,
    status: Option<String>,
}

/// A directory whose registry entry says `deleting`: its delete is to be finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryDeleting(pub String);

impl TryFrom<&StreamRecord> for DirectoryDeleting {
    type Error = Skipped;

    fn try_from(r: &StreamRecord) -> Result<Self, Skipped> {
        const WHAT: &str = "directory being deleted";
        let d: RegistryImage = image(r, WHAT)?;
        let deleting =
            d.pk == keys::REGISTRY_PK && d.status.as_deref() == Some(directories::DELETING);
        deleting
            .then_some(DirectoryDeleting(d.id))
            .ok_or(Skipped::Other(WHAT))
    }
}

/// An event item of the outbox (`store::outbox`).
#[derive(Deserialize)]
struct EventImage {
    pk: String,
    sk: String,
    id: String,
    event: String,
    created_at: Option<String>,
    data: String,
}

impl TryFrom<&StreamRecord> for Event {
    type Error = Skipped;

    fn try_from(r: &StreamRecord) -> Result<Self, Skipped> {
        const WHAT: &str = "directory event";
        let e: EventImage = image(r, WHAT)?;
        let sequence = outbox::event_seq(&e.sk).ok_or(Skipped::Other(WHAT))?;
        let directory = keys::directory_from_pk(&e.pk).ok_or(Skipped::Other(WHAT))?;
        Event::from_stored(
            directory,
            sequence,
            &e.id,
            &e.event,
            e.created_at.as_deref(),
            &e.data,
        )
        .ok_or(Skipped::Other(WHAT))
    }
}

/// The values of type `T` among the stream event's records named `name` (`INSERT`, `MODIFY`),
/// in stream order.
fn records_of<'a, T>(event: &'a StreamEvent, name: &'a str) -> impl Iterator<Item = T> + 'a
where
    T: TryFrom<&'a StreamRecord, Error = Skipped> + 'a,
{
    event
        .records
        .iter()
        .filter(move |r| r.event_name == name)
        .filter_map(|r| T::try_from(&r.change).ok())
}

/// The clean-ups the stream announced: inserts of clean-up markers.
pub fn clean_ups(event: &StreamEvent) -> Vec<CleanUp> {
    records_of(event, "INSERT").collect()
}

/// Role re-resolutions the stream announced: a marker written (a map saved) or rewritten.
pub fn role_syncs(event: &StreamEvent) -> Vec<RoleSyncMark> {
    records_of(event, "INSERT")
        .chain(records_of(event, "MODIFY"))
        .collect()
}

/// Directories the stream shows turning (or still) `deleting`.
pub fn directory_deletes(event: &StreamEvent) -> Vec<String> {
    records_of(event, "MODIFY")
        .map(|DirectoryDeleting(id)| id)
        .collect()
}

/// The events the outbox committed: inserts of event items, in stream order.
pub fn events(event: &StreamEvent) -> Vec<Event> {
    records_of(event, "INSERT").collect()
}

/// A message on the webhook queue: the EventBridge event the bus rule forwarded, whose
/// `detail` is our envelope ([`Event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTrigger {
    pub message_id: String,
    pub directory: String,
}

#[derive(Deserialize)]
struct BusMessage {
    detail: BusDetail,
}

#[derive(Deserialize)]
struct BusDetail {
    directory_id: String,
}

/// The directory of each SQS message carrying an EventBridge event of ours (others skipped).
pub fn webhook_triggers(batch: &SqsEvent) -> Vec<WebhookTrigger> {
    batch
        .records
        .iter()
        .filter_map(|m| {
            let message: BusMessage = serde_json::from_str(m.body.as_deref()?).ok()?;
            Some(WebhookTrigger {
                message_id: m.message_id.clone()?,
                directory: message.detail.directory_id,
            })
        })
        .collect()
}

/// The `messageType` of a subscription payload that carries log events. CloudWatch Logs also
/// sends a `CONTROL_MESSAGE` (with no events of the log group) when it checks that it can reach
/// the destination ("Subscription filters", CloudWatch Logs user guide): it holds no record.
pub const DATA_MESSAGE: &str = "DATA_MESSAGE";

/// The request-log records a CloudWatch Logs subscription delivered: each log event of a
/// `DATA_MESSAGE` whose line is a record (`RequestRecord::from_log_line`), in delivery order. A
/// line that is not one (the filter pattern lets only record lines through, so this is a line
/// cut by CloudWatch's 256 KB event limit, or a record of a future version) is logged by its
/// place, never by its text, and skipped: retrying the batch would not mend it, and failing it
/// would hold back the good records with it.
pub fn request_records(logs: &LogData) -> Vec<RequestRecord> {
    if logs.message_type != DATA_MESSAGE {
        return Vec::new();
    }
    logs.log_events
        .iter()
        .filter_map(|e| {
            let record = RequestRecord::from_log_line(&e.message);
            if record.is_none() {
                tracing::warn!(
                    log_group = %logs.log_group,
                    log_stream = %logs.log_stream,
                    event_id = %e.id,
                    bytes = e.message.len(),
                    "a log event the request log subscription delivered is not a record; skipped"
                );
            }
            record
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventType;
    use serde_json::{json, Value};

    /// A stream record as Lambda delivers it (required fields only, and the new image).
    fn record(name: &str, image: Value) -> Value {
        json!({"awsRegion": "eu-west-1", "eventID": "1", "eventName": name,
               "dynamodb": {"NewImage": image, "SizeBytes": 100}})
    }

    fn stream(records: Vec<Value>) -> StreamEvent {
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    #[test]
    fn registry_entries_turning_deleting_are_directory_deletes() {
        let entry = |status: &str| {
            record(
                "MODIFY",
                json!({"pk": {"S": "DIRECTORIES"}, "sk": {"S": "DIR#d1"},
                "id": {"S": "d1"}, "status": {"S": status}}),
            )
        };
        let event = stream(vec![entry("deleting"), entry("linked")]);
        assert_eq!(directory_deletes(&event), vec!["d1".to_string()]);
    }

    #[test]
    fn role_sync_markers_written_or_rewritten_are_role_syncs() {
        let marker = |name: &str, sk: &str| {
            record(
                name,
                json!({"pk": {"S": "DIR#d1"}, "sk": {"S": sk},
                "sync_v": {"N": "3"}, "marked_ms": {"N": "7"}}),
            )
        };
        let event = stream(vec![
            marker("INSERT", "ROLESYNC"),
            marker("MODIFY", "ROLESYNC"),
            marker("REMOVE", "ROLESYNC"),
            marker("INSERT", "SETTINGS"),
        ]);
        let want = RoleSyncMark {
            directory: "d1".into(),
            marked_ms: 7,
        };
        assert_eq!(role_syncs(&event), vec![want.clone(), want]);
    }

    #[test]
    fn only_marker_inserts_are_clean_ups() {
        let marker = |name: &str, sk: &str| {
            record(
                name,
                json!({"pk": {"S": "DIR#d%231"}, "sk": {"S": sk},
                "id": {"S": "g1"}, "marked_ms": {"N": "5"}}),
            )
        };
        let event = stream(vec![
            marker("INSERT", "CLEANUP#GROUP#g1"),
            marker("REMOVE", "CLEANUP#GROUP#g1"),
            marker("INSERT", "USER#u1"),
        ]);
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

    #[test]
    fn only_event_inserts_are_published() {
        let item = |name: &str, sk: &str| {
            record(
                name,
                json!({"pk": {"S": "DIR#d1"}, "sk": {"S": sk}, "id": {"S": "event_1"},
                "event": {"S": "dsync.user.created"}, "created_at": {"S": "t"},
                "data": {"S": "{\"id\":\"u1\"}"}}),
            )
        };
        let event = stream(vec![
            item("INSERT", "EVENT#00000000000000000007"),
            item("MODIFY", "EVENT#00000000000000000008"),
            item("INSERT", "USER#u1"),
        ]);
        let events = events(&event);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].sequence, 7);
        assert_eq!(events[0].event, EventType::UserCreated);
        assert_eq!(events[0].directory_id, "d1");
        assert_eq!(events[0].data, json!({"id": "u1"}));
    }

    /// An event stored before the cap (up to DynamoDB's 400 KB) is read cut to the cap, with
    /// its marker, so PutEvents takes it.
    #[test]
    fn an_event_stored_above_the_cap_is_read_within_the_cap() {
        let data = json!({"id": "u1", "username": "ada@example.com",
            "raw_attributes": {"userName": "ada@example.com", "x": "a".repeat(380_000)}});
        let event = stream(vec![record(
            "INSERT",
            json!({
            "pk": {"S": "DIR#d1"}, "sk": {"S": "EVENT#00000000000000000009"},
            "id": {"S": "event_1"}, "event": {"S": "dsync.user.created"},
            "created_at": {"S": "2026-01-01T00:00:00.000Z"},
            "data": {"S": data.to_string()}}),
        )]);
        let events = events(&event);
        assert!(serde_json::to_vec(&events[0]).unwrap().len() <= crate::events::MAX_EVENT_BYTES);
        assert_eq!(events[0].data["raw_attributes_omitted"], true);
        assert_eq!(events[0].data["username"], "ada@example.com");
    }

    /// A subscription payload's decoded `data`, as `aws_lambda_events` reads it.
    fn logs(message_type: &str, messages: &[&str]) -> LogData {
        let events: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"id": i.to_string(), "timestamp": 1, "message": m}))
            .collect();
        serde_json::from_value(json!({"owner": "123456789012", "logGroup": "g",
            "logStream": "s", "subscriptionFilters": ["f"], "messageType": message_type,
            "logEvents": events}))
        .unwrap()
    }

    fn record_line(directory: &str) -> String {
        let record = json!({"directory_id": directory, "at": "2026-12-04T10:00:00.000Z",
            "id": "r1", "method": "GET", "path": "/scim/v2/d/Users", "query": null, "status": 200,
            "scim_type": null, "detail": null, "latency_ms": 3, "user_agent": "Okta SCIM Client",
            "idp": "Okta", "events": [], "request_body": null, "response_body": null,
            "resource": "Users", "resource_id": null});
        json!({"timestamp": "2026-12-04T10:00:00.000Z", "level": "INFO",
            "message": crate::request_log::LOG_TARGET, "record": record.to_string()})
        .to_string()
    }

    #[test]
    fn record_lines_of_a_data_message_are_records_and_other_lines_are_skipped() {
        let good = record_line("d1");
        let cut = &good[..good.len() / 2];
        let data = logs(DATA_MESSAGE, &[&good, cut, "START RequestId: 1", &good]);
        let records = request_records(&data);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].directory_id, "d1");
    }

    #[test]
    fn a_control_message_holds_no_record() {
        let line = record_line("d1");
        assert!(request_records(&logs("CONTROL_MESSAGE", &[&line])).is_empty());
    }

    #[test]
    fn webhook_triggers_name_the_directory_of_each_message() {
        let batch: SqsEvent = serde_json::from_value(json!({"Records": [
            {"messageId": "m1", "body": json!({"detail-type": "dsync.user.created",
                "detail": {"directory_id": "d1", "sequence": 3}}).to_string()},
            {"messageId": "m2", "body": "not json"},
        ]}))
        .unwrap();
        assert_eq!(
            webhook_triggers(&batch),
            vec![WebhookTrigger {
                message_id: "m1".into(),
                directory: "d1".into()
            }]
        );
    }
}
