//! Directory events, as the application sees them: the catalogue of event types
//! ([`EventType`]), the envelope every reader gets ([`Event`]: the Events API's element, the
//! EventBridge `detail`, the webhook body), the normalised user and group objects their `data`
//! carries ([`normal`]), `previous_attributes`, and the size cap ([`size`]).
//!
//! Pure: no AWS, no I/O. A write builds its events here ([`NewEvent`]: type and capped data, id
//! and time stamped) and hands them to the store, which numbers them and commits them in the
//! same transaction as the change (`store::outbox`). The stream and queue adapters
//! (`workers::records`) decode what the store wrote back into an [`Event`].

pub mod catalogue;
pub mod normal;
pub mod size;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalogue::{EventType, Lifecycle};
pub use normal::{GroupSummary, Object};
pub use size::{MAX_EVENT_BYTES, OMITTED_SUFFIX};

use crate::clock;

/// One directory event, as the Events API, EventBridge and webhooks deliver it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Event {
    pub id: String,
    pub event: EventType,
    pub directory_id: String,
    pub sequence: u64,
    pub created_at: String,
    pub data: Value,
}

impl Event {
    /// An event from its stored fields (a table item read by Query, or its image on the
    /// table's stream); `None` if the name is not in the catalogue or `data` is not JSON. `data`
    /// is held to the cap (`size::stored_data`).
    pub fn from_stored(
        directory_id: String,
        sequence: u64,
        id: &str,
        event: &str,
        created_at: Option<&str>,
        data: &str,
    ) -> Option<Event> {
        Some(Event {
            id: id.into(),
            event: EventType::from_name(event)?,
            directory_id,
            sequence,
            created_at: created_at.unwrap_or_default().into(),
            data: size::stored_data(data)?,
        })
    }
}

/// An event a write emits, before the store numbers it: its type, its `data` already held to
/// the cap, its id and creation time.
#[derive(Debug, Clone)]
pub struct NewEvent {
    id: String,
    event: EventType,
    created_at: String,
    data: Value,
}

/// Whether a membership edge came or went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Added,
    Removed,
}

/// A directory as its lifecycle events name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectorySummary {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

/// `data` of `dsync.activated` and `dsync.deleted`.
#[derive(Serialize)]
struct DirectoryData<'a> {
    directory: DirectoryState<'a>,
}

#[derive(Serialize)]
struct DirectoryState<'a> {
    #[serde(flatten)]
    summary: &'a DirectorySummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
}

/// `data` of `dsync.group.user_added` and `dsync.group.user_removed`.
#[derive(Serialize)]
struct MembershipData<'a> {
    directory_id: &'a str,
    group: &'a GroupSummary,
    user: UserRef<'a>,
}

#[derive(Serialize)]
struct UserRef<'a> {
    id: &'a str,
}

impl NewEvent {
    fn new(event: EventType, mut data: Value) -> Self {
        size::fit(&mut data, size::MAX_DATA_BYTES);
        NewEvent {
            id: format!("event_{}", uuid::Uuid::now_v7().simple()),
            event,
            created_at: clock::now_rfc3339(),
            data,
        }
    }

    fn of<T: Serialize>(event: EventType, data: &T) -> Self {
        // Structs of strings and JSON values: serialising them cannot fail.
        NewEvent::new(event, serde_json::to_value(data).unwrap_or(Value::Null))
    }

    /// `dsync.{user|group}.created`: the normalised object.
    pub fn created(object: &Object) -> Self {
        NewEvent::new(
            EventType::of(object.kind(), Lifecycle::Created),
            object.to_json(),
        )
    }

    /// `dsync.{user|group}.deleted`: the normalised object as it was.
    pub fn deleted(object: &Object) -> Self {
        NewEvent::new(
            EventType::of(object.kind(), Lifecycle::Deleted),
            object.to_json(),
        )
    }

    /// `dsync.{user|group}.updated`: the normalised object and what changed
    /// (`previous_attributes`, WorkOS's name for it).
    pub fn updated(old: &Object, new: &Object) -> Self {
        let mut data = new.to_json();
        let previous = normal::previous_attributes(&old.to_json(), &data);
        data["previous_attributes"] = Value::Object(previous);
        NewEvent::new(EventType::of(new.kind(), Lifecycle::Updated), data)
    }

    /// `dsync.group.user_added` / `user_removed`: the group as last read and the user's id.
    pub fn membership(change: Membership, dir: &str, group: &GroupSummary, user_id: &str) -> Self {
        let event = match change {
            Membership::Added => EventType::GroupUserAdded,
            Membership::Removed => EventType::GroupUserRemoved,
        };
        NewEvent::of(
            event,
            &MembershipData {
                directory_id: dir,
                group,
                user: UserRef { id: user_id },
            },
        )
    }

    /// `dsync.activated`: the directory's first authenticated SCIM request linked it.
    pub fn directory_activated(directory: &DirectorySummary, status: &str) -> Self {
        NewEvent::of(
            EventType::DirectoryActivated,
            &DirectoryData {
                directory: DirectoryState {
                    summary: directory,
                    status: Some(status),
                },
            },
        )
    }

    /// `dsync.deleted`: the directory's delete began.
    pub fn directory_deleted(directory: &DirectorySummary) -> Self {
        NewEvent::of(
            EventType::DirectoryDeleted,
            &DirectoryData {
                directory: DirectoryState {
                    summary: directory,
                    status: None,
                },
            },
        )
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn event(&self) -> EventType {
        self.event
    }

    pub fn created_at(&self) -> &str {
        &self.created_at
    }

    /// `data`, held to the cap.
    pub fn data(&self) -> &Value {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::size::{fit, json_len, stored_data, MAX_DATA_BYTES};
    use super::*;
    use crate::scim::resource::Meta;
    use crate::scim::schema::ResourceKind;
    use serde_json::json;

    const EXT: &str = "urn:ietf:params:scim:schemas:extension:acme:1.0:User";

    fn user(attr: &str) -> Object {
        let body = json!({"userName": "ada@example.com", EXT: {"badge": attr}});
        let meta = Meta {
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-02T00:00:00Z".into(),
            version: 1,
        };
        Object::of(
            ResourceKind::User,
            "d1",
            "u1",
            body.as_object().unwrap(),
            &meta,
            &crate::roles::Resolved::default(),
            &crate::custom_attributes::AttributeMap::default(),
        )
    }

    /// The envelope at its longest: the largest sequence, a 64-byte directory id.
    fn longest_event(data: Value) -> usize {
        let e = Event {
            id: format!("event_{}", uuid::Uuid::now_v7().simple()),
            event: EventType::GroupUserRemoved,
            directory_id: "d".repeat(64),
            sequence: u64::MAX,
            created_at: clock::now_rfc3339(),
            data,
        };
        serde_json::to_vec(&e).unwrap().len()
    }

    #[test]
    fn an_update_of_a_230_kb_attribute_keeps_what_fits_and_marks_the_rest() {
        let (old, new) = (user(&"a".repeat(230_000)), user(&"b".repeat(230_000)));
        let emit = NewEvent::updated(&old, &new);
        assert_eq!(emit.event(), EventType::UserUpdated);
        assert!(longest_event(emit.data.clone()) <= MAX_EVENT_BYTES);
        let d = &emit.data;
        assert_eq!(d["id"], "u1");
        assert_eq!(d["username"], "ada@example.com");
        assert_eq!(d["raw_attributes_omitted"], true);
        assert_eq!(d["custom_attributes_omitted"], true);
        let p = &d["previous_attributes"];
        assert_eq!(p["raw_attributes_omitted"], true);
        assert_eq!(p["custom_attributes_omitted"], true);
    }

    #[test]
    fn the_old_value_goes_before_the_new_one() {
        let (old, new) = (user(&"a".repeat(60_000)), user(&"b".repeat(60_000)));
        let emit = NewEvent::updated(&old, &new);
        assert!(longest_event(emit.data.clone()) <= MAX_EVENT_BYTES);
        let d = &emit.data;
        let p = &d["previous_attributes"];
        assert_eq!(p["raw_attributes_omitted"], true);
        assert_eq!(
            p["custom_attributes"][format!("{EXT}:badge")]
                .as_str()
                .unwrap()
                .len(),
            60_000
        );
        assert_eq!(
            d["raw_attributes"][EXT]["badge"].as_str().unwrap().len(),
            60_000
        );
        assert!(d.get("raw_attributes_omitted").is_none());
    }

    #[test]
    fn a_membership_event_of_a_huge_group_name_keeps_the_ids() {
        let group = GroupSummary {
            id: "g1".into(),
            idp_id: json!("x"),
            name: json!("n".repeat(250_000)),
        };
        let emit = NewEvent::membership(Membership::Added, "d1", &group, "u1");
        assert_eq!(emit.event(), EventType::GroupUserAdded);
        assert!(longest_event(emit.data.clone()) <= MAX_EVENT_BYTES);
        assert_eq!(emit.data["group"]["id"], "g1");
        assert_eq!(emit.data["group"]["name_omitted"], true);
        assert_eq!(emit.data["group"]["idp_id"], "x");
        assert_eq!(emit.data["user"]["id"], "u1");
    }

    /// The bytes consumers have parsed since the first release: keys in this order.
    #[test]
    fn payloads_keep_their_json_shape() {
        let group = GroupSummary {
            id: "g1".into(),
            idp_id: Value::Null,
            name: json!("Eng"),
        };
        let added = NewEvent::membership(Membership::Removed, "d1", &group, "u1");
        assert_eq!(added.event().as_str(), "dsync.group.user_removed");
        assert_eq!(
            added.data().to_string(),
            r#"{"directory_id":"d1","group":{"id":"g1","idp_id":null,"name":"Eng"},"user":{"id":"u1"}}"#
        );
        let d = DirectorySummary {
            id: "d1".into(),
            name: "Acme".into(),
            created_at: "t".into(),
        };
        assert_eq!(
            NewEvent::directory_activated(&d, "linked")
                .data()
                .to_string(),
            r#"{"directory":{"id":"d1","name":"Acme","created_at":"t","status":"linked"}}"#
        );
        let deleted = NewEvent::directory_deleted(&d);
        assert_eq!(deleted.event().as_str(), "dsync.deleted");
        assert_eq!(
            deleted.data().to_string(),
            r#"{"directory":{"id":"d1","name":"Acme","created_at":"t"}}"#
        );
        let created = NewEvent::created(&user("b"));
        assert_eq!(created.event().as_str(), "dsync.user.created");
        let keys: Vec<&str> = created
            .data()
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "directory_id",
                "idp_id",
                "username",
                "email",
                "first_name",
                "last_name",
                "state",
                "custom_attributes",
                "raw_attributes",
                "created_at",
                "updated_at",
                "role",
                "roles"
            ]
        );
    }

    #[test]
    fn nothing_left_to_omit_still_ends_under_the_cap() {
        let mut data = json!({"id": "u1", "k".repeat(300_000): {}});
        fit(&mut data, MAX_DATA_BYTES);
        assert!(json_len(&data) <= MAX_DATA_BYTES);
        assert_eq!(data["id"], "u1");
        assert_eq!(data["data_omitted"], true);
    }

    #[test]
    fn a_stored_event_above_the_cap_is_cut_when_read() {
        let text = user(&"a".repeat(350_000)).to_json().to_string();
        let data = stored_data(&text).unwrap();
        assert!(longest_event(data.clone()) <= MAX_EVENT_BYTES);
        assert_eq!(data["raw_attributes_omitted"], true);
        let small = user("a").to_json();
        assert_eq!(stored_data(&small.to_string()).unwrap(), small);
    }
}
