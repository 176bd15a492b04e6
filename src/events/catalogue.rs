//! The event catalogue: every event type a directory emits, by the names WorkOS Directory Sync
//! gives them (`dsync.user.created`, ...), so an application written against WorkOS ports with
//! its event handlers unchanged. The names are a public contract (the Events API's `event`,
//! EventBridge's `detail-type`, webhook bodies, the `types` filter): they never change.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scim::schema::ResourceKind;

/// One type of directory event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub enum EventType {
    #[serde(rename = "dsync.activated")]
    DirectoryActivated,
    #[serde(rename = "dsync.deleted")]
    DirectoryDeleted,
    #[serde(rename = "dsync.user.created")]
    UserCreated,
    #[serde(rename = "dsync.user.updated")]
    UserUpdated,
    #[serde(rename = "dsync.user.deleted")]
    UserDeleted,
    #[serde(rename = "dsync.group.created")]
    GroupCreated,
    #[serde(rename = "dsync.group.updated")]
    GroupUpdated,
    #[serde(rename = "dsync.group.deleted")]
    GroupDeleted,
    #[serde(rename = "dsync.group.user_added")]
    GroupUserAdded,
    #[serde(rename = "dsync.group.user_removed")]
    GroupUserRemoved,
}

/// What happened to a user or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Created,
    Updated,
    Deleted,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::DirectoryActivated,
        EventType::DirectoryDeleted,
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::GroupCreated,
        EventType::GroupUpdated,
        EventType::GroupDeleted,
        EventType::GroupUserAdded,
        EventType::GroupUserRemoved,
    ];

    /// The event's name, as stored and delivered.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::DirectoryActivated => "dsync.activated",
            EventType::DirectoryDeleted => "dsync.deleted",
            EventType::UserCreated => "dsync.user.created",
            EventType::UserUpdated => "dsync.user.updated",
            EventType::UserDeleted => "dsync.user.deleted",
            EventType::GroupCreated => "dsync.group.created",
            EventType::GroupUpdated => "dsync.group.updated",
            EventType::GroupDeleted => "dsync.group.deleted",
            EventType::GroupUserAdded => "dsync.group.user_added",
            EventType::GroupUserRemoved => "dsync.group.user_removed",
        }
    }

    /// The type named `name`, if the catalogue has it.
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// `dsync.{user|group}.{created|updated|deleted}`.
    pub fn of(kind: ResourceKind, what: Lifecycle) -> EventType {
        match (kind, what) {
            (ResourceKind::User, Lifecycle::Created) => EventType::UserCreated,
            (ResourceKind::User, Lifecycle::Updated) => EventType::UserUpdated,
            (ResourceKind::User, Lifecycle::Deleted) => EventType::UserDeleted,
            (ResourceKind::Group, Lifecycle::Created) => EventType::GroupCreated,
            (ResourceKind::Group, Lifecycle::Updated) => EventType::GroupUpdated,
            (ResourceKind::Group, Lifecycle::Deleted) => EventType::GroupDeleted,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for EventType {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_serialises_to_its_name_and_back() {
        for t in EventType::ALL {
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.as_str());
            assert_eq!(serde_json::from_value::<EventType>(json).unwrap(), t);
            assert_eq!(EventType::from_name(t.as_str()), Some(t));
        }
        assert_eq!(EventType::from_name("dsync.user.renamed"), None);
    }

    #[test]
    fn resource_events_are_named_by_kind_and_lifecycle() {
        assert_eq!(
            EventType::of(ResourceKind::Group, Lifecycle::Updated).as_str(),
            "dsync.group.updated"
        );
        assert_eq!(
            EventType::of(ResourceKind::User, Lifecycle::Deleted).as_str(),
            "dsync.user.deleted"
        );
    }
}
