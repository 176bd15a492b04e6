//! Every DynamoDB key this project writes, in one place.
//!
//! Single-table layout (directory table, `pk` + `sk`, no GSIs): every item of a directory lives under
//! the partition `DIR#{directoryId}`, so no key built from a request can reach another directory, and
//! every lookup an IdP needs is a strongly consistent GetItem or a Query on a sort-key prefix.
//!
//! | item                     | pk                | sk                                   |
//! |--------------------------|-------------------|--------------------------------------|
//! | directory registry entry | `DIRECTORIES`     | `DIR#{dir}`                          |
//! | cursor key, old counters | `DIR#{dir}`       | `STATS`                              |
//! | counter shard (16)       | `DIR#{dir}`       | `STATS#{00..15}`                     |
//! | group clean-up marker    | `DIR#{dir}`       | `CLEANUP#GROUP#{id}`                 |
//! | user                     | `DIR#{dir}`       | `USER#{id}`                          |
//! | userName guard (unique)  | `DIR#{dir}`       | `UNAME#{folded userName}`            |
//! | group name guard (unique)| `DIR#{dir}`       | `GNAME#{folded displayName}`         |
//! | user externalId index    | `DIR#{dir}`       | `UEXT#{externalId}#{id}`             |
//! | user email index         | `DIR#{dir}`       | `UEMAIL#{folded email}#{id}`         |
//! | group                    | `DIR#{dir}`       | `GROUP#{id}`                         |
//! | group externalId index   | `DIR#{dir}`       | `GEXT#{externalId}#{id}`             |
//! | membership (group→user)  | `DIR#{dir}`       | `MEMBER#{groupId}#{userId}`          |
//! | membership (user→group)  | `DIR#{dir}`       | `MEMBEROF#{userId}#{groupId}`        |
//! | page anchor (TTL)        | `DIR#{dir}`       | `ANCHOR#{queryHash}#{position}`      |
//!
//! Values inside keys are escaped (`%` → `%25`, `#` → `%23`) so a `#` in a userName cannot forge a
//! prefix. Ids are UUIDv7, so `USER#` and `GROUP#` ranges list in creation order.

use crate::scim::filter::eval::fold_case;
use crate::scim::schema::ResourceKind;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const REGISTRY_PK: &str = "DIRECTORIES";

/// Escapes a client-supplied value for use inside a key.
fn esc(value: &str) -> String {
    value.replace('%', "%25").replace('#', "%23")
}

pub fn directory_pk(dir: &str) -> String {
    format!("DIR#{}", esc(dir))
}
/// The directory id back out of its partition key.
pub fn directory_from_pk(pk: &str) -> Option<String> {
    pk.strip_prefix("DIR#").map(unescape)
}
pub fn registry_sk(dir: &str) -> String {
    format!("DIR#{}", esc(dir))
}
pub fn stats_sk() -> &'static str {
    "STATS"
}

/// How many items the per-directory resource counters are spread over. Each create and delete
/// moves one shard inside its own transaction, so the counters never drift from the resources;
/// 16 shards keep parallel imports from conflicting on one counter item.
pub const COUNTER_SHARDS: u32 = 16;

/// The counter shard a resource's create and delete move (FNV-1a of its id).
pub fn counter_sk(id: &str) -> String {
    let hash = id.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("STATS#{:02}", hash % COUNTER_SHARDS)
}

/// The marker of a deleted group whose membership edges are still being removed.
pub fn cleanup_sk(group_id: &str) -> String {
    format!("{CLEANUP_PREFIX}{}", esc(group_id))
}
pub const CLEANUP_PREFIX: &str = "CLEANUP#GROUP#";
/// The marker's attribute holding when it was written (ms since the epoch).
pub const MARKED_MS: &str = "marked_ms";

/// Sort-key prefix of a resource kind's items; `resource_sk` appends the id.
pub fn resource_prefix(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "USER#",
        ResourceKind::Group => "GROUP#",
    }
}
pub fn resource_sk(kind: ResourceKind, id: &str) -> String {
    format!("{}{}", resource_prefix(kind), esc(id))
}
/// The id back out of a resource sort key.
pub fn id_from_resource_sk(kind: ResourceKind, sk: &str) -> Option<String> {
    sk.strip_prefix(resource_prefix(kind)).map(unescape)
}

/// A page anchor: where the page of query `query` ending at `position` stopped.
pub fn anchor_sk(query: &str, position: usize) -> String {
    format!("ANCHOR#{}#{position}", esc(query))
}

/// The uniqueness guard of a resource's name: userName for users, displayName for groups (both
/// case-insensitive). The item holds the owning id.
pub fn unique_name_sk(kind: ResourceKind, name: &str) -> String {
    let tag = match kind {
        ResourceKind::User => "UNAME#",
        ResourceKind::Group => "GNAME#",
    };
    format!("{tag}{}", esc(&fold_case(name)))
}

/// The secondary lookups a filter can be answered from. Each is a Query on `{prefix}{value}#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    UserExternalId,
    UserEmail,
    GroupExternalId,
}

impl Index {
    fn tag(self) -> &'static str {
        match self {
            Index::UserExternalId => "UEXT#",
            Index::UserEmail => "UEMAIL#",
            Index::GroupExternalId => "GEXT#",
        }
    }
    /// externalId is caseExact (RFC 7643 §3.1); emails and displayName are not.
    fn fold(self, value: &str) -> String {
        match self {
            Index::UserExternalId | Index::GroupExternalId => esc(value),
            Index::UserEmail => esc(&fold_case(value)),
        }
    }
    pub fn sk(self, value: &str, id: &str) -> String {
        format!("{}{}", self.prefix(value), esc(id))
    }
    pub fn prefix(self, value: &str) -> String {
        format!("{}{}#", self.tag(), self.fold(value))
    }
}

pub fn member_prefix(group_id: &str) -> String {
    format!("MEMBER#{}#", esc(group_id))
}
pub fn member_sk(group_id: &str, user_id: &str) -> String {
    format!("{}{}", member_prefix(group_id), esc(user_id))
}
pub fn member_of_prefix(user_id: &str) -> String {
    format!("MEMBEROF#{}#", esc(user_id))
}
pub fn member_of_sk(user_id: &str, group_id: &str) -> String {
    format!("{}{}", member_of_prefix(user_id), esc(group_id))
}
/// The last `#`-separated component of a key (an id), unescaped.
pub fn last_component(sk: &str) -> String {
    unescape(sk.rsplit('#').next().unwrap_or_default())
}

pub fn unescape(value: &str) -> String {
    value.replace("%23", "#").replace("%25", "%")
}

/// Tokens table: one item per token, keyed by the token's SHA-256 (hex). Only the hash is stored.
pub const TOKEN_HASH: &str = "token_hash";
pub const TOKENS_BY_DIRECTORY: &str = "by-directory";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_in_a_value_cannot_forge_a_prefix() {
        assert_eq!(Index::UserEmail.prefix("a#b@x.com"), "UEMAIL#a%23b@x.com#");
        assert!(!Index::UserEmail
            .sk("a#b@x.com", "1")
            .starts_with(&Index::UserEmail.prefix("a")));
    }

    #[test]
    fn ids_round_trip_through_keys() {
        let sk = resource_sk(ResourceKind::User, "0190-a");
        assert_eq!(
            id_from_resource_sk(ResourceKind::User, &sk).as_deref(),
            Some("0190-a")
        );
        assert_eq!(last_component(&member_sk("g", "u%#1")), "u%#1");
    }

    #[test]
    fn user_name_guard_is_case_insensitive() {
        let u = ResourceKind::User;
        assert_eq!(
            unique_name_sk(u, "Alice@X.com"),
            unique_name_sk(u, "alice@x.com")
        );
        assert_ne!(
            unique_name_sk(u, "a"),
            unique_name_sk(ResourceKind::Group, "a")
        );
    }

    #[test]
    fn the_core_measures_key_bytes_as_the_store_escapes_them() {
        for v in [
            "plain",
            "100%#x",
            "%%%%",
            "ΟΔΥΣΣΕΥΣ",
            "İstanbul",
            "straße#%",
        ] {
            let stored = esc(&fold_case(v)).len().max(esc(v).len());
            assert_eq!(crate::scim::resource::key_len(v), stored, "{v}");
        }
    }

    #[test]
    fn member_prefixes_do_not_overlap() {
        assert!(!member_of_sk("u", "g").starts_with("MEMBER#"));
    }
}
