//! The events outbox: every change a write commits is committed with its events, in the same
//! DynamoDB transaction, in the directory's own partition, each under a per-directory sequence
//! number that only grows.
//!
//! - `EVX#SEQ` holds the directory's last sequence number. A transaction that emits `k` events
//!   reads it (`n`), sets it to `n + k` on condition it is still `n`, and puts the events at
//!   `EVENT#{n+1 … n+k}` (zero-padded, so they list in order). Two writers racing for the same
//!   numbers: one commits, the other's condition fails and it re-reads and retries. So events are
//!   totally ordered, and nothing commits without its events or events without their change.
//! - A change larger than one transaction (a large group create, a large member change) first
//!   **reserves** a range of numbers and opens a block (`EVX#BLOCK#{first}`: first, last,
//!   since); its edge transactions each carry their own events at numbers inside the range, in
//!   parallel; its last transaction deletes the block. A reader never reads at or past the first
//!   number of an open block, so it cannot see part of a change, nor skip a number that is still
//!   to be written. Only the request that opened a block closes it: a block whose writer died
//!   holds readers back until it is `BLOCK_STALE_MS` old (2 minutes: longer than any request
//!   runs), then readers pass it; numbers it never used are gaps — sequence numbers increase,
//!   they are not dense. The IdP's retry of the change has its own block and its own events.
//! - Readers (`Store::events`) take the sequence first, the open blocks second, then Query the
//!   events at or below both bounds with strongly consistent reads: everything at or below the
//!   bound has committed, so an `after` cursor never skips an event. The bound is exact whatever
//!   the number of blocks: blocks list by first number, so the reader pages through them only
//!   until the first live one (the oldest live block is the lowest bound; every stale one before
//!   it is passed). A block opened concurrently with a reader is either committed before the
//!   reader's sequence read (then the block Query, which follows, sees it) or after it (then its
//!   numbers are above the sequence read). Stale blocks never hold a reader, so a reader deletes
//!   those it passed (`RETIRE_PER_READ` at most), and each block carries a TTL
//!   (`BLOCK_TTL_SECS`) so DynamoDB removes it even if no reader comes; `directory check
//!   --repair` removes them too.
//! - An event is at most `MAX_EVENT_BYTES` as the Events API, webhooks and EventBridge carry it:
//!   a larger one omits its largest parts, each replaced by `"{field}_omitted": true` (`fit`).
//!   So its item fits DynamoDB's 400 KB, its EventBridge entry 256 KB, and every write the
//!   store accepts commits with its event.
//! - Events expire by TTL after the retention (`SCIM_EVENT_RETENTION_DAYS`, default 30).

use serde::Serialize;
use serde_json::{json, Value};

use super::tx::{Expr, Numbering, Role, Tx};
use super::{get_n, get_s, key, keys, n, s, Item, ItemKey, Store, StoreError};
use crate::clock;

/// Kept here for the stream decoders that read it from the outbox (`keys::SortKey` is the one
/// reading of a sort key).
pub use super::keys::EVENT_PREFIX;
const SEQ: &str = "seq";
const FIRST: &str = "first";
const LAST: &str = "last";
const SINCE_MS: &str = "since_ms";
/// A block not extended for this long was left by a writer that died (no request runs so long).
pub const BLOCK_STALE_MS: u64 = 120_000;
/// A block's TTL after it opens: far past `BLOCK_STALE_MS`, so TTL only ever removes blocks that
/// readers already pass (DynamoDB deletes an expired item within days, never before it expires).
pub const BLOCK_TTL_SECS: u64 = 3_600;
/// Stale blocks one read deletes as it passes them (40 BatchWriteItem calls at most); more wait
/// for the next read, their TTL or `directory check --repair`.
const RETIRE_PER_READ: usize = 1_000;
const TTL: &str = "ttl";
/// Environment variable: days events are kept (template parameter `EventRetentionDays`).
pub const ENV_RETENTION_DAYS: &str = "SCIM_EVENT_RETENTION_DAYS";
pub const DEFAULT_RETENTION_DAYS: u64 = 30;
/// Largest event, as its JSON envelope (`id`, `event`, `directory_id`, `sequence`, `created_at`,
/// `data`) is stored and delivered: the Events API's element, the webhook body, the EventBridge
/// `Detail`. Below an EventBridge entry's 256 KB with room for `Source` and `DetailType`
/// (PutEvents entry size, EventBridge User Guide "Calculating PutEvents event entry size"), below
/// the 256 KiB SQS message the webhook rule delivers (the bus adds about 300 bytes of envelope),
/// and below DynamoDB's 400 KB item with the event's other attributes.
pub const MAX_EVENT_BYTES: usize = 200_000;
/// What the envelope around `data` may take: `{"id":"event_" + 32 hex,"event":…,"directory_id":…,
/// "sequence":20 digits,"created_at":…,"data":}` is under 300 bytes with a 64-byte directory id.
const ENVELOPE_BYTES: usize = 1_000;
/// Largest `data`, so that the envelope holds `MAX_EVENT_BYTES`.
const MAX_DATA_BYTES: usize = MAX_EVENT_BYTES - ENVELOPE_BYTES;
/// Most event bytes one page returns (at least one event): a Lambda response holds 6 MB, and the
/// page is JSON inside API Gateway's JSON `body` string, where escaping can double it.
const MAX_PAGE_BYTES: usize = 2_000_000;
/// Suffix of the marker that says a field was left out of an event for size.
pub const OMITTED_SUFFIX: &str = "_omitted";

/// One directory event, as the Events API, EventBridge and webhooks deliver it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Event {
    pub id: String,
    pub event: String,
    pub directory_id: String,
    pub sequence: u64,
    pub created_at: String,
    pub data: Value,
}

/// An event added to a transaction, numbered when the transaction commits.
#[derive(Debug, Clone)]
pub(crate) struct Emit {
    id: String,
    name: String,
    created_at: String,
    data: Value,
}

impl Emit {
    pub(crate) fn new(name: &str, mut data: Value) -> Self {
        fit(&mut data, MAX_DATA_BYTES);
        Emit {
            id: format!("event_{}", uuid::Uuid::now_v7().simple()),
            name: name.into(),
            created_at: clock::now_rfc3339(),
            data,
        }
    }

    fn item(&self, store: &Store, dir: &str, seq: u64) -> Item {
        let mut item = key(keys::directory_pk(dir), keys::event_sk(seq));
        item.insert("id".into(), s(&self.id));
        item.insert("event".into(), s(&self.name));
        item.insert("created_at".into(), s(&self.created_at));
        item.insert("data".into(), s(self.data.to_string()));
        let ttl = clock::now_millis() as u64 / 1000 + store.event_retention_days * 86_400;
        item.insert(TTL.into(), n(ttl));
        item
    }
}

fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// Makes `data` at most `budget` bytes of JSON by omitting its largest parts, each replaced by
/// `"{field}_omitted": true` in the same object, in this order: `raw_attributes` (the whole SCIM
/// resource, and its old values in `previous_attributes`), then `custom_attributes`, then the
/// largest remaining field that is not an object; at each step the copy inside
/// `previous_attributes` goes before the current value. `id` and `directory_id` (ours, short) are
/// kept, so a consumer can fetch the whole resource through the management API.
pub fn fit(data: &mut Value, budget: usize) {
    while json_len(data) > budget {
        let mut best: Option<(Rank, Vec<String>)> = None;
        candidates(data, &mut Vec::new(), false, &mut best);
        match best {
            Some((_, path)) => omit(data, &path),
            // Nothing left to omit (unreachable for the normalised objects): keep the ids.
            None => {
                let keep = |k: &str| {
                    data.get(k)
                        .filter(|v| json_len(v) <= 256)
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                *data = json!({"id": keep("id"), "directory_id": keep("directory_id"),
                    "data_omitted": true});
                return;
            }
        }
    }
}

/// Which part to omit first: the lowest rank. (tier, outside `previous_attributes`, smaller).
type Rank = (u8, bool, std::cmp::Reverse<usize>);

fn candidates(
    v: &Value,
    path: &mut Vec<String>,
    in_previous: bool,
    best: &mut Option<(Rank, Vec<String>)>,
) {
    let Some(m) = v.as_object() else { return };
    for (k, child) in m {
        if k == "id" || k == "directory_id" || k.ends_with(OMITTED_SUFFIX) {
            continue;
        }
        let tier = match k.as_str() {
            "raw_attributes" => 0,
            "custom_attributes" => 1,
            _ if child.is_object() => {
                path.push(k.clone());
                candidates(child, path, in_previous || k == "previous_attributes", best);
                path.pop();
                continue;
            }
            _ => 2,
        };
        let rank = (tier, !in_previous, std::cmp::Reverse(json_len(child)));
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            let mut p = path.clone();
            p.push(k.clone());
            *best = Some((rank, p));
        }
    }
}

fn omit(data: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = data;
    for p in parents {
        match at.get_mut(p) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Some(m) = at.as_object_mut() {
        m.remove(last);
        m.insert(format!("{last}{OMITTED_SUFFIX}"), Value::Bool(true));
    }
}

/// What a transaction writes to the outbox besides its other items.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outbox {
    pub(crate) dir: String,
    pub(crate) events: Vec<Emit>,
    /// Numbers to reserve after this transaction's own events; they and this transaction's
    /// events form a block.
    pub(crate) reserve: Option<u64>,
}

impl Numbering for Outbox {
    /// The sequence item, the events, and the block if one is opened.
    fn items(&self) -> usize {
        1 + self.events.len() + usize::from(self.reserve.is_some())
    }

    fn read<'a>(
        &'a self,
        store: &'a Store,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, StoreError>> + Send + 'a>>
    {
        Box::pin(store.sequence(&self.dir))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    /// The items that number this transaction's events after `current` (the sequence read).
    fn stamp(&self, store: &Store, tx: &mut Tx, current: u64) -> Result<(), StoreError> {
        let pk = keys::directory_pk(&self.dir);
        let reserved = self.reserve.unwrap_or(0);
        let next = current + self.events.len() as u64 + reserved;
        let cond = if current == 0 {
            Expr::new("attribute_not_exists(#s)")
        } else {
            Expr::new("#s = :cur").value(":cur", n(current))
        };
        tx.update(
            key(pk.clone(), keys::event_seq_sk().into()),
            Expr::new("SET #s = :next")
                .name("#s", SEQ)
                .value(":next", n(next)),
            Some(cond.name("#s", SEQ)),
            Role::Sequence,
        )?;
        for (i, e) in self.events.iter().enumerate() {
            tx.put(
                e.item(store, &self.dir, current + 1 + i as u64),
                None,
                Role::Other,
            )?;
        }
        if self.reserve.is_some() {
            // The block covers this transaction's events too: they belong to the same change.
            let mut block = key(pk, keys::event_block_sk(current + 1));
            block.insert(FIRST.into(), n(current + 1));
            block.insert(LAST.into(), n(next));
            let since = clock::now_millis() as u64;
            block.insert(SINCE_MS.into(), n(since));
            block.insert(TTL.into(), n(since / 1000 + BLOCK_TTL_SECS));
            tx.put(block, None, Role::Other)?;
        }
        Ok(())
    }
}

impl Tx {
    fn outbox_for(&mut self, dir: &str) -> &mut Outbox {
        self.numbering(|| Outbox {
            dir: dir.into(),
            ..Outbox::default()
        })
    }

    /// Adds an event to this transaction, numbered at commit.
    pub(crate) fn emit(&mut self, dir: &str, name: &str, data: Value) {
        self.push_emit(dir, Emit::new(name, data));
    }

    pub(crate) fn push_emit(&mut self, dir: &str, emit: Emit) {
        self.outbox_for(dir).events.push(emit);
    }

    /// Reserves `count` numbers after this transaction's events and opens a block of them;
    /// `commit_numbered` returns its first number, which `close_block` takes.
    pub(crate) fn reserve(&mut self, dir: &str, count: u64) {
        self.outbox_for(dir).reserve = Some(count);
    }

    /// Puts an event at a number reserved earlier (inside an open block).
    pub(crate) fn emit_at(
        &mut self,
        store: &Store,
        dir: &str,
        seq: u64,
        emit: &Emit,
    ) -> Result<(), StoreError> {
        self.put(emit.item(store, dir, seq), None, Role::Other)
    }

    /// Closes the block this request opened at `first` (its change is complete).
    pub(crate) fn close_block(&mut self, dir: &str, first: u64) -> Result<(), StoreError> {
        self.delete(
            key(keys::directory_pk(dir), keys::event_block_sk(first)),
            None,
            Role::Other,
        )
    }
}

/// The events of a membership edge change.
pub(crate) fn membership(dir: &str, added: bool, group: &Value, user_id: &str) -> Emit {
    let name = if added {
        "dsync.group.user_added"
    } else {
        "dsync.group.user_removed"
    };
    Emit::new(
        name,
        json!({"directory_id": dir, "group": group, "user": {"id": user_id}}),
    )
}

/// A page of events and where the next read starts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct EventPage {
    pub data: Vec<Event>,
    /// Pass as `after` to read on: the last number this read covered (returned or filtered out).
    pub after: u64,
    /// Whether events past `after` are readable now.
    pub has_more: bool,
}

impl Store {
    /// The directory's last sequence number (0 before its first event).
    pub async fn sequence(&self, dir: &str) -> Result<u64, StoreError> {
        let item = self
            .get_item(keys::directory_pk(dir), keys::event_seq_sk().into())
            .await?;
        Ok(item.as_ref().and_then(|i| get_n(i, SEQ)).unwrap_or(0))
    }

    /// Reserves `count` numbers in a block of their own; returns the first.
    pub(crate) async fn reserve_events(&self, dir: &str, count: u64) -> Result<u64, StoreError> {
        let mut tx = Tx::new(self);
        tx.reserve(dir, count);
        Ok(tx.commit_numbered(self).await?.unwrap_or(0))
    }

    /// The highest number a reader may read up to now: the sequence, and below the oldest live
    /// block. Stale blocks passed on the way are retired.
    async fn readable_bound(&self, dir: &str) -> Result<u64, StoreError> {
        // The sequence first: a block committed after this read only holds numbers above it.
        let sequence = self.sequence(dir).await?;
        let mut stale = Vec::new();
        let mut start = None;
        let bound = 'pages: loop {
            // Blocks list by first number: the first live one is the lowest bound. Every page
            // (1 MB, about 10,000 blocks) is read until it is found, however many lie before it.
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :b)")
                .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
                .expression_attribute_values(":b", s(keys::EVENT_BLOCK_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::sdk)?;
            for b in out.items.unwrap_or_default() {
                if block_is_stale(&b) {
                    if let Some(sk) = get_s(&b, keys::SK) {
                        stale.push(sk.to_string());
                    }
                    continue;
                }
                let first = get_n(&b, FIRST).ok_or_else(|| StoreError::Corrupt {
                    at: ItemKey::of(&self.table, &b),
                    problem: "an event block without its first number",
                    source: None,
                })?;
                break 'pages sequence.min(first.saturating_sub(1));
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break sequence,
            }
        };
        self.retire_blocks(dir, stale).await;
        Ok(bound)
    }

    /// Deletes stale blocks a reader passed. Tidying only (readers pass them anyway): a failure is
    /// logged, never the read's.
    async fn retire_blocks(&self, dir: &str, mut stale: Vec<String>) {
        stale.truncate(RETIRE_PER_READ);
        if stale.is_empty() {
            return;
        }
        let pk = keys::directory_pk(dir);
        let writes: Result<Vec<_>, StoreError> = stale
            .into_iter()
            .map(|sk| super::members::delete_request(pk.clone(), sk))
            .collect();
        let result = match writes {
            Ok(w) => self.batch_write(w).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(directory = %dir, error = %crate::telemetry::chain(&e), "stale event blocks not retired");
        }
    }

    /// Events numbered after `after`, oldest first, at most `limit`, of the named types only when
    /// `types` is not empty. Strongly consistent with the writes that made them.
    pub async fn events(
        &self,
        dir: &str,
        after: u64,
        limit: usize,
        types: &[String],
    ) -> Result<EventPage, StoreError> {
        let bound = self.readable_bound(dir).await?;
        let mut page = EventPage {
            data: Vec::new(),
            after,
            has_more: false,
        };
        if bound <= after {
            return Ok(page);
        }
        // Reads at most this many items per call, so a rare type cannot make one call read the
        // whole retention.
        let mut budget = 2_000usize.max(limit);
        let mut bytes = 0usize;
        let mut start = None;
        loop {
            let want = limit - page.data.len();
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
                .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
                .expression_attribute_values(":a", s(keys::event_sk(after + 1)))
                .expression_attribute_values(":b", s(keys::event_sk(bound)))
                .consistent_read(true)
                .limit(want.min(budget) as i32)
                .set_exclusive_start_key(start.take());
            if !types.is_empty() {
                let names: Vec<String> = (0..types.len()).map(|i| format!(":t{i}")).collect();
                q = q.filter_expression(format!("#e IN ({})", names.join(", ")));
                q = q.expression_attribute_names("#e", "event");
                for (p, t) in names.iter().zip(types) {
                    q = q.expression_attribute_values(p, s(t));
                }
            }
            let out = q.send().await.map_err(StoreError::sdk)?;
            budget = budget.saturating_sub(out.scanned_count as usize);
            for item in out.items.unwrap_or_default() {
                let Some(e) = event_from_item(dir, &item) else {
                    continue;
                };
                let size =
                    get_s(&item, "data").map_or(0, str::len).min(MAX_DATA_BYTES) + ENVELOPE_BYTES;
                if !page.data.is_empty() && bytes + size > MAX_PAGE_BYTES {
                    // The rest on the next page: `after` is the last event returned.
                    page.after = page.data.last().map_or(page.after, |l| l.sequence);
                    page.has_more = true;
                    return Ok(page);
                }
                bytes += size;
                page.data.push(e);
            }
            let last_key = out.last_evaluated_key;
            if let Some(seq) = last_key.as_ref().and_then(seq_of_key) {
                page.after = seq;
            }
            if let Some(e) = page.data.last() {
                page.after = page.after.max(e.sequence);
            }
            match last_key {
                Some(k) if page.data.len() < limit && budget > 0 => start = Some(k),
                Some(_) => {
                    page.has_more = true;
                    return Ok(page);
                }
                None => {
                    // Everything up to the bound was covered (filtered-out numbers included).
                    page.after = bound;
                    return Ok(page);
                }
            }
        }
    }
}

/// Whether a block's writer has not extended it for `BLOCK_STALE_MS` (it died): readers pass it.
pub(crate) fn block_is_stale(block: &Item) -> bool {
    let since = get_n(block, SINCE_MS).unwrap_or(0);
    (clock::now_millis() as u64).saturating_sub(since) >= BLOCK_STALE_MS
}

fn seq_of_key(k: &Item) -> Option<u64> {
    match keys::SortKey::parse(get_s(k, keys::SK)?)? {
        keys::SortKey::Event(seq) => Some(seq),
        _ => None,
    }
}

fn event_from_item(dir: &str, item: &Item) -> Option<Event> {
    Some(Event {
        id: get_s(item, "id")?.into(),
        event: get_s(item, "event")?.into(),
        directory_id: dir.into(),
        sequence: seq_of_key(item)?,
        created_at: get_s(item, "created_at").unwrap_or_default().into(),
        data: event_data(get_s(item, "data")?)?,
    })
}

/// An event's `data` from its stored text, held to the cap: events stored before it (up to
/// DynamoDB's 400 KB) are cut as new ones are, so no reader delivers more than `MAX_EVENT_BYTES`.
pub fn event_data(text: &str) -> Option<Value> {
    let mut data: Value = serde_json::from_str(text).ok()?;
    // The text is the compact JSON `fit` measures (`Value::to_string`).
    if text.len() > MAX_DATA_BYTES {
        fit(&mut data, MAX_DATA_BYTES);
    }
    Some(data)
}

/// An event from its item as the table's stream carries it (the publisher's input).
pub fn event_from_stream_image(item: &Item) -> Option<Event> {
    let dir = keys::directory_from_pk(get_s(item, keys::PK)?)?;
    event_from_item(&dir, item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::normal;
    use crate::scim::resource::Meta;
    use crate::scim::schema::ResourceKind;

    const EXT: &str = "urn:ietf:params:scim:schemas:extension:acme:1.0:User";

    fn user(attr: &str) -> Value {
        let body = json!({"userName": "ada@example.com", EXT: {"badge": attr}});
        let meta = Meta {
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-02T00:00:00Z".into(),
            version: 1,
        };
        normal::object(
            ResourceKind::User,
            "d1",
            "u1",
            body.as_object().unwrap(),
            &meta,
        )
    }

    /// The envelope at its longest: the largest sequence, a 64-byte directory id.
    fn longest_event(data: Value) -> usize {
        let e = Event {
            id: format!("event_{}", uuid::Uuid::now_v7().simple()),
            event: "dsync.group.user_removed".into(),
            directory_id: "d".repeat(64),
            sequence: u64::MAX,
            created_at: clock::now_rfc3339(),
            data,
        };
        serde_json::to_vec(&e).unwrap().len()
    }

    #[test]
    fn an_update_of_a_230_kb_attribute_keeps_what_fits_and_marks_the_rest() {
        let (old, mut new) = (user(&"a".repeat(230_000)), user(&"b".repeat(230_000)));
        new["previous_attributes"] = Value::Object(normal::previous_attributes(&old, &new));
        let emit = Emit::new("dsync.user.updated", new);
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
        let (old, mut new) = (user(&"a".repeat(60_000)), user(&"b".repeat(60_000)));
        new["previous_attributes"] = Value::Object(normal::previous_attributes(&old, &new));
        let emit = Emit::new("dsync.user.updated", new);
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
        let group = json!({"id": "g1", "idp_id": "x", "name": "n".repeat(250_000)});
        let emit = membership("d1", true, &group, "u1");
        assert!(longest_event(emit.data.clone()) <= MAX_EVENT_BYTES);
        assert_eq!(emit.data["group"]["id"], "g1");
        assert_eq!(emit.data["group"]["name_omitted"], true);
        assert_eq!(emit.data["group"]["idp_id"], "x");
        assert_eq!(emit.data["user"]["id"], "u1");
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
        let text = user(&"a".repeat(350_000)).to_string();
        let data = event_data(&text).unwrap();
        assert!(longest_event(data.clone()) <= MAX_EVENT_BYTES);
        assert_eq!(data["raw_attributes_omitted"], true);
        let small = user("a").to_string();
        assert_eq!(event_data(&small).unwrap(), user("a"));
    }
}
