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
//! | event (outbox)           | `DIR#{dir}`       | `EVENT#{sequence:020}`               |
//! | event sequence shards    | `DIR#{dir}`       | `EVX#SEQ`, `EVX#SEQ#{01…15}`         |
//! | event number block       | `DIR#{dir}`       | `EVX#BLOCK#{first:020}`              |
//! | webhook delivery state   | `DIR#{dir}`       | `WEBHOOK`                            |
//! | Admin Portal activity    | `DIR#{dir}`       | `PORTAL#{millis:013}#{random}`       |
//! | request log record (TTL) | `DIR#{dir}`       | `REQ#{millis:013}#{request id}`      |
//! | request counts per hour  | `DIR#{dir}`       | `REQSTAT#{yyyy-mm-ddThh}`            |
//! | directory settings       | `DIR#{dir}`       | `SETTINGS`                           |
//! | role re-resolution marker| `DIR#{dir}`       | `ROLESYNC`                           |
//! | the stack's roles        | `STACK`           | `ROLES`                              |
//! | the stack's custom attrs | `STACK`           | `CUSTOMATTRS`                        |
//!
//! Values inside keys are escaped (`%` → `%25`, `#` → `%23`) so a `#` in a userName cannot forge a
//! prefix. Ids are UUIDv7, so `USER#` and `GROUP#` ranges list in creation order; sequence numbers
//! are zero-padded to 20 digits (every `u64`), so `EVENT#` and `EVX#BLOCK#` list in number order.
//! [`SortKey::parse`] is the one reading of a sort key back into what the item is (the check,
//! and the stream decoders, which see items by their keys).
//!
//! The other two tables have a key of one attribute:
//!
//! | table    | item                 | key attribute  | value                  |
//! |----------|----------------------|----------------|------------------------|
//! | tokens   | SCIM or access token | `token_hash`   | SHA-256 of the token   |
//! | tokens   | OAuth client         | `token_hash`   | `client#{clientId}`    |
//! | tokens   | portal setup link    | `token_hash`   | `portal_link#{sha256}` |
//! | tokens   | portal session       | `token_hash`   | `portal_session#{sha256}` |
//! | webhooks | registration         | `directory_id` | `{dir}`                |

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
    counter_sk_of_shard(counter_shard(id))
}
/// The counter shard `shard` (below [`COUNTER_SHARDS`]).
pub fn counter_sk_of_shard(shard: u32) -> String {
    format!("STATS#{shard:02}")
}
fn counter_shard(id: &str) -> u32 {
    let hash = id.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % COUNTER_SHARDS
}

/// The marker of a deleted group whose membership edges are still being removed.
pub fn cleanup_sk(group_id: &str) -> String {
    format!("{CLEANUP_PREFIX}{}", esc(group_id))
}
pub const CLEANUP_PREFIX: &str = "CLEANUP#GROUP#";

/// A directory's settings (role assignments, custom attribute map): one item, its version mirrored on each `EVX#SEQ` shard.
pub const SETTINGS_SK: &str = "SETTINGS";
/// A directory whose users' roles are being re-resolved after its role map changed.
pub const ROLE_SYNC_SK: &str = "ROLESYNC";
/// The stack's own items (not a directory's).
pub const STACK_PK: &str = "STACK";
/// The stack's role catalogue.
pub const ROLES_SK: &str = "ROLES";
/// The stack's custom attribute keys.
pub const CUSTOM_ATTRIBUTES_SK: &str = "CUSTOMATTRS";
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
    name_guard_sk(kind, &fold_case(name))
}

/// Sort-key prefix of a kind's name guards. The guards sort by folded name, so a Query on
/// [`name_search_prefix`] lists names in order without reading the resources.
pub fn name_guard_prefix(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "UNAME#",
        ResourceKind::Group => "GNAME#",
    }
}

/// The guard of an already folded name (what a name search resumes after).
pub fn name_guard_sk(kind: ResourceKind, folded: &str) -> String {
    format!("{}{}", name_guard_prefix(kind), esc(folded))
}

/// Where the guards of every name starting with `query` (case-insensitively) begin: the guard
/// prefix and the folded, escaped query. Escaping is a prefix-free code (`#` and `%` only), so a
/// name starts with the query exactly when its guard starts with this prefix.
pub fn name_search_prefix(kind: ResourceKind, query: &str) -> String {
    name_guard_sk(kind, &fold_case(query))
}

/// The folded name back out of a name guard's sort key.
pub fn name_from_guard_sk(kind: ResourceKind, sk: &str) -> Option<String> {
    sk.strip_prefix(name_guard_prefix(kind)).map(unescape)
}

/// The secondary lookups a filter can be answered from. Each is a Query on `{prefix}{value}#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    UserExternalId,
    UserEmail,
    GroupExternalId,
}

impl Index {
    fn of_tag(tag: &str) -> Option<Index> {
        [
            Index::UserExternalId,
            Index::UserEmail,
            Index::GroupExternalId,
        ]
        .into_iter()
        .find(|i| i.tag().strip_suffix('#') == Some(tag))
    }
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
/// The prefix of a group's member slots (`slots.rs`): apart from every resource and edge prefix,
/// so no list, lookup or edge Query of groups reads them.
pub fn slot_prefix(group_id: &str) -> String {
    format!("{SLOT_PREFIX}{}#", esc(group_id))
}
pub fn slot_sk(group_id: &str, slot: usize) -> String {
    format!("{}{slot}", slot_prefix(group_id))
}
pub const SLOT_PREFIX: &str = "GSLOT#";
/// The item counting a user's groups (`members.rs`): apart from the user's `MEMBEROF#` prefix,
/// so no Query of its edges reads it.
pub fn group_count_sk(user_id: &str) -> String {
    format!("UGROUPS#{}", esc(user_id))
}
/// The last `#`-separated component of a key (an id), unescaped.
pub fn last_component(sk: &str) -> String {
    unescape(sk.rsplit('#').next().unwrap_or_default())
}

pub fn unescape(value: &str) -> String {
    value.replace("%23", "#").replace("%25", "%")
}

/// An event's sort key: its per-directory sequence number, zero-padded so keys sort by number.
pub fn event_sk(seq: u64) -> String {
    format!("{EVENT_PREFIX}{seq:020}")
}
pub const EVENT_PREFIX: &str = "EVENT#";
/// One of the directory's event sequence shards (`outbox.rs`): shard 0 is the item older
/// versions kept as the directory's one counter.
pub fn event_seq_sk(shard: usize) -> String {
    match shard {
        0 => "EVX#SEQ".into(),
        j => format!("EVX#SEQ#{j:02}"),
    }
}
/// A block of event numbers a multi-transaction write reserved, by its first number.
pub fn event_block_sk(first: u64) -> String {
    format!("{EVENT_BLOCK_PREFIX}{first:020}")
}
pub const EVENT_BLOCK_PREFIX: &str = "EVX#BLOCK#";

/// The webhook delivery state of the directory (cursor, lease, failures; `webhooks.rs`).
pub fn webhook_state_sk() -> &'static str {
    "WEBHOOK"
}

/// Tokens table: one item per token, keyed by the token's SHA-256 (hex). Only the hash is stored.
pub const TOKEN_HASH: &str = "token_hash";
pub const TOKENS_BY_DIRECTORY: &str = "by-directory";
/// An OAuth client's item in the tokens table. The prefix keeps it apart from every token hash
/// (hex digits only); the client id is one we mint (`clients.rs`), never a client's input.
/// Where a webhook registration lived in the tokens table before it had a table of its own
/// (read only by the one-off migration, `Store::migrate_legacy_webhook`).
pub fn legacy_webhook_key(directory: &str) -> String {
    format!("webhook#{directory}")
}

pub fn client_key(client_id: &str) -> String {
    format!("client#{client_id}")
}

/// A portal setup link's item in the tokens table, under the SHA-256 (hex) of its secret. The
/// prefix keeps it apart from the token hashes the SCIM request path looks up, so a link's
/// secret can never be taken for a bearer token, whatever is sent.
pub fn portal_link_key(secret_hash: &str) -> String {
    format!("portal_link#{secret_hash}")
}

/// An Admin Portal session's item in the tokens table, under the SHA-256 (hex) of its cookie.
pub fn portal_session_key(secret_hash: &str) -> String {
    format!("portal_session#{secret_hash}")
}

/// The prefix of a directory's Admin Portal activity records (`portal_activity_sk`).
pub fn portal_activity_prefix() -> &'static str {
    "PORTAL#"
}

/// An Admin Portal activity record: its time (13 digits of milliseconds, so the prefix lists in
/// time order until the year 2286) and a random part that keeps two records of one millisecond
/// apart.
pub fn portal_activity_sk(at_millis: i64, nonce: &str) -> String {
    format!("PORTAL#{:013}#{}", at_millis.max(0), esc(nonce))
}

/// The prefix of a directory's request log records (`request_log_sk`).
pub const REQUEST_LOG_PREFIX: &str = "REQ#";
/// The prefix of a directory's hourly request counters (`request_stat_sk`).
pub const REQUEST_STAT_PREFIX: &str = "REQSTAT#";
/// Where the request log's items end: every `REQ#` and `REQSTAT#` key sorts below it, and no other
/// key this module builds sorts between [`REQUEST_LOG_PREFIX`] and it (`PORTAL#` before, `STATS`
/// after), so a walk of a directory's own data can skip the log with two key ranges.
pub const REQUEST_LOG_END: &str = "REQSTAT$";

/// A request log record: when the request arrived (13 digits of milliseconds, so the prefix lists
/// in time order until the year 2286) and its request id, which keeps two requests of one
/// millisecond apart.
pub fn request_log_sk(at_millis: i64, request_id: &str) -> String {
    format!("{}{}", request_log_time_prefix(at_millis), esc(request_id))
}

/// Every record of millisecond `at_millis` starts with this (the bound of a time range).
pub fn request_log_time_prefix(at_millis: i64) -> String {
    format!("{REQUEST_LOG_PREFIX}{:013}#", at_millis.max(0))
}

/// The hourly counters of a directory's requests; `hour` is `yyyy-mm-ddThh` (UTC).
pub fn request_stat_sk(hour: &str) -> String {
    format!("{REQUEST_STAT_PREFIX}{}", esc(hour))
}

/// Webhooks table: one registration per directory, keyed by the directory id itself.
pub const WEBHOOK_DIRECTORY: &str = "directory_id";

/// What an item of the directory table is, read from its sort key. Values come back unescaped;
/// name guards and index values come back as stored (case-folded where the index folds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// `DIR#{dir}` (in the `DIRECTORIES` partition): a directory's registry entry.
    Registry(String),
    /// `STATS`: the cursor key and the counters written before sharding.
    Stats,
    /// `STATS#{shard}`: a counter shard.
    Counter(u32),
    /// `CLEANUP#GROUP#{id}`: a deleted group whose membership edges are still being removed.
    CleanUp { group: String },
    /// `USER#{id}` or `GROUP#{id}`.
    Resource(ResourceKind, String),
    /// `UNAME#{name}` or `GNAME#{name}`: the uniqueness guard of a (folded) name.
    NameGuard(ResourceKind, String),
    /// `UEXT#`, `UEMAIL#`, `GEXT#` `{value}#{id}`: a lookup index item.
    IndexEntry {
        index: Index,
        value: String,
        id: String,
    },
    /// `MEMBER#{group}#{user}`.
    Member { group: String, user: String },
    /// `MEMBEROF#{user}#{group}`.
    MemberOf { user: String, group: String },
    /// `GSLOT#{group}#{slot}`: one of a group's member slots (`slots.rs`).
    MemberSlot { group: String, slot: usize },
    /// `UGROUPS#{user}`: the count of a user's groups (`members.rs`).
    GroupCount { user: String },
    /// `ANCHOR#{query}#{position}`: a page anchor.
    Anchor { query: String, position: usize },
    /// `EVENT#{sequence}`.
    Event(u64),
    /// `EVX#SEQ` (shard 0) or `EVX#SEQ#{shard}`.
    EventSeq(usize),
    /// `EVX#BLOCK#{first}`.
    EventBlock(u64),
    /// `WEBHOOK`.
    WebhookState,
    /// `PORTAL#{millis}#{nonce}`: an Admin Portal activity record.
    PortalActivity(i64),
    /// `REQ#{millis}#{request id}`: a request log record.
    RequestLog { at_millis: i64, request_id: String },
    /// `REQSTAT#{yyyy-mm-ddThh}`: a directory's request counters of one hour.
    RequestStat(String),
    /// `SETTINGS`: the directory's role assignments and custom attribute map.
    Settings,
    /// `ROLESYNC`: a role re-resolution still to finish.
    RoleSync,
    /// `ROLES` (in the `STACK` partition): the stack's role catalogue.
    Roles,
    /// `CUSTOMATTRS` (in the `STACK` partition): the stack's custom attribute keys.
    CustomAttributes,
}

impl SortKey {
    /// What the item under sort key `sk` is; `None` for a key this code never writes.
    pub fn parse(sk: &str) -> Option<SortKey> {
        let parts: Vec<&str> = sk.split('#').collect();
        let key = match parts.as_slice() {
            ["STATS"] => SortKey::Stats,
            ["STATS", shard] => SortKey::Counter(shard.parse().ok()?),
            ["DIR", dir] => SortKey::Registry(unescape(dir)),
            ["CLEANUP", "GROUP", id] => SortKey::CleanUp {
                group: unescape(id),
            },
            ["USER", id] => SortKey::Resource(ResourceKind::User, unescape(id)),
            ["GROUP", id] => SortKey::Resource(ResourceKind::Group, unescape(id)),
            ["UNAME", name] => SortKey::NameGuard(ResourceKind::User, unescape(name)),
            ["GNAME", name] => SortKey::NameGuard(ResourceKind::Group, unescape(name)),
            [tag, value, id] if Index::of_tag(tag).is_some() => SortKey::IndexEntry {
                index: Index::of_tag(tag)?,
                value: unescape(value),
                id: unescape(id),
            },
            ["MEMBER", group, user] => SortKey::Member {
                group: unescape(group),
                user: unescape(user),
            },
            ["MEMBEROF", user, group] => SortKey::MemberOf {
                user: unescape(user),
                group: unescape(group),
            },
            ["GSLOT", group, slot] => SortKey::MemberSlot {
                group: unescape(group),
                slot: slot.parse().ok()?,
            },
            ["UGROUPS", user] => SortKey::GroupCount {
                user: unescape(user),
            },
            ["ANCHOR", query, position] => SortKey::Anchor {
                query: unescape(query),
                position: position.parse().ok()?,
            },
            ["EVENT", seq] => SortKey::Event(seq.parse().ok()?),
            ["EVX", "SEQ"] => SortKey::EventSeq(0),
            ["EVX", "SEQ", shard] if shard.len() == 2 => SortKey::EventSeq(shard.parse().ok()?),
            ["EVX", "BLOCK", first] => SortKey::EventBlock(first.parse().ok()?),
            ["WEBHOOK"] => SortKey::WebhookState,
            ["PORTAL", at, _] => SortKey::PortalActivity(at.parse().ok()?),
            ["REQ", at, id] if at.len() == 13 => SortKey::RequestLog {
                at_millis: at.parse().ok()?,
                request_id: unescape(id),
            },
            ["REQSTAT", hour] => SortKey::RequestStat(unescape(hour)),
            ["SETTINGS"] => SortKey::Settings,
            ["ROLESYNC"] => SortKey::RoleSync,
            ["ROLES"] => SortKey::Roles,
            ["CUSTOMATTRS"] => SortKey::CustomAttributes,
            _ => return None,
        };
        Some(key)
    }

    /// The request log's items (records and hourly counters): they expire by TTL, a directory
    /// check does not read them, a directory delete removes them with the rest.
    pub fn is_request_log(&self) -> bool {
        matches!(self, SortKey::RequestLog { .. } | SortKey::RequestStat(_))
    }

    /// The event outbox's own items (events, the counter, number blocks): a directory delete
    /// leaves them to expire, so the Events API still shows what happened.
    pub fn is_outbox(&self) -> bool {
        matches!(
            self,
            SortKey::Event(_) | SortKey::EventSeq(_) | SortKey::EventBlock(_)
        )
    }
}

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
    fn a_name_search_prefix_covers_exactly_the_names_that_start_with_it() {
        let u = ResourceKind::User;
        let prefix = name_search_prefix(u, "Ad#");
        assert!(unique_name_sk(u, "ad#a@x.com").starts_with(&prefix));
        assert!(!unique_name_sk(u, "ad%23").starts_with(&prefix));
        assert!(!unique_name_sk(u, "ad").starts_with(&prefix));
        assert!(!unique_name_sk(ResourceKind::Group, "ad#a").starts_with(&prefix));
        assert_eq!(
            name_from_guard_sk(u, &unique_name_sk(u, "Ad#A%")).as_deref(),
            Some("ad#a%")
        );
        assert_eq!(name_search_prefix(u, ""), name_guard_prefix(u));
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

    /// Every key this module builds reads back as what it is, with its values unescaped.
    #[test]
    fn every_sort_key_reads_back_as_its_item() {
        use ResourceKind::{Group, User};
        let cases = [
            (registry_sk("d#1"), SortKey::Registry("d#1".into())),
            (stats_sk().into(), SortKey::Stats),
            (counter_sk("u1"), SortKey::Counter(counter_shard("u1"))),
            (cleanup_sk("g1"), SortKey::CleanUp { group: "g1".into() }),
            (
                resource_sk(User, "u%1"),
                SortKey::Resource(User, "u%1".into()),
            ),
            (
                resource_sk(Group, "g1"),
                SortKey::Resource(Group, "g1".into()),
            ),
            (
                unique_name_sk(User, "Ada#X"),
                SortKey::NameGuard(User, "ada#x".into()),
            ),
            (
                unique_name_sk(Group, "Eng"),
                SortKey::NameGuard(Group, "eng".into()),
            ),
            (
                Index::UserEmail.sk("A#b@x.com", "u1"),
                SortKey::IndexEntry {
                    index: Index::UserEmail,
                    value: "a#b@x.com".into(),
                    id: "u1".into(),
                },
            ),
            (
                Index::UserExternalId.sk("E1", "u1"),
                SortKey::IndexEntry {
                    index: Index::UserExternalId,
                    value: "E1".into(),
                    id: "u1".into(),
                },
            ),
            (
                Index::GroupExternalId.sk("x", "g1"),
                SortKey::IndexEntry {
                    index: Index::GroupExternalId,
                    value: "x".into(),
                    id: "g1".into(),
                },
            ),
            (
                member_sk("g1", "u#1"),
                SortKey::Member {
                    group: "g1".into(),
                    user: "u#1".into(),
                },
            ),
            (
                member_of_sk("u1", "g1"),
                SortKey::MemberOf {
                    user: "u1".into(),
                    group: "g1".into(),
                },
            ),
            (
                slot_sk("g#1", 7),
                SortKey::MemberSlot {
                    group: "g#1".into(),
                    slot: 7,
                },
            ),
            (
                group_count_sk("u#1"),
                SortKey::GroupCount { user: "u#1".into() },
            ),
            (
                anchor_sk("q#h", 40),
                SortKey::Anchor {
                    query: "q#h".into(),
                    position: 40,
                },
            ),
            (event_sk(7), SortKey::Event(7)),
            (event_sk(u64::MAX), SortKey::Event(u64::MAX)),
            (event_seq_sk(0), SortKey::EventSeq(0)),
            (event_seq_sk(7), SortKey::EventSeq(7)),
            (event_block_sk(42), SortKey::EventBlock(42)),
            (webhook_state_sk().into(), SortKey::WebhookState),
            (
                request_log_sk(1_796_378_400_123, "req#1"),
                SortKey::RequestLog {
                    at_millis: 1_796_378_400_123,
                    request_id: "req#1".into(),
                },
            ),
            (
                request_stat_sk("2026-12-04T10"),
                SortKey::RequestStat("2026-12-04T10".into()),
            ),
        ];
        for (sk, want) in cases {
            assert_eq!(SortKey::parse(&sk), Some(want), "{sk}");
        }
        for foreign in [
            "",
            "USER",
            "MEMBER#g",
            "EVENT#x",
            "STATS#a",
            "NOPE#1",
            "EVX#BLOCK",
        ] {
            assert_eq!(SortKey::parse(foreign), None, "{foreign}");
        }
        assert!(SortKey::parse(&event_block_sk(1)).is_some_and(|k| k.is_outbox()));
        assert!(!SortKey::parse(webhook_state_sk()).is_some_and(|k| k.is_outbox()));
    }

    /// The log's keys sort together, newest last, and apart from every other item's key.
    #[test]
    fn request_log_keys_sort_in_time_inside_their_own_range() {
        let (a, b) = (request_log_sk(9, "z"), request_log_sk(10, "a"));
        assert!(a < b);
        for sk in [a, b, request_stat_sk("2026-12-04T10")] {
            assert!(
                sk.as_str() >= REQUEST_LOG_PREFIX && sk.as_str() < REQUEST_LOG_END,
                "{sk}"
            );
            assert!(
                SortKey::parse(&sk).is_some_and(|k| k.is_request_log()),
                "{sk}"
            );
        }
        for other in [
            portal_activity_sk(i64::MAX, "x"),
            stats_sk().to_string(),
            counter_sk("u"),
            resource_sk(ResourceKind::User, "u"),
            webhook_state_sk().to_string(),
        ] {
            assert!(
                other.as_str() < REQUEST_LOG_PREFIX || other.as_str() >= REQUEST_LOG_END,
                "{other}"
            );
        }
    }

    #[test]
    fn event_keys_sort_by_number() {
        assert!(event_sk(9) < event_sk(10));
        assert!(event_block_sk(99) < event_block_sk(100));
    }

    #[test]
    fn member_prefixes_do_not_overlap() {
        assert!(!member_of_sk("u", "g").starts_with("MEMBER#"));
    }
}
