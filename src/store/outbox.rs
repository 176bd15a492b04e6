//! The events outbox: every change a write commits is committed with its events, in the same
//! DynamoDB transaction, in the directory's own partition, each under a per-directory sequence
//! number that only grows.
//!
//! - **Numbers come from `SHARDS` sequence shards** (`EVX#SEQ`, which older versions kept as the
//!   one counter, and `EVX#SEQ#01…15`): shard `j` hands out only numbers `≡ j (mod SHARDS)`, so
//!   no two shards hand out the same one, and each holds the last number it handed out. A
//!   transaction that emits `k` events reads **every** shard (one BatchGetItem, usually made with
//!   the resource's read: `prefetch.rs`), takes the next `k` numbers of one shard (random) above
//!   the **highest** of them and above what its anchors carry, sets that shard to its last number
//!   on condition the shard still holds what was read, and puts the events at `EVENT#{n}`
//!   (zero-padded, so they list in order). Writers of one directory contend only when they pick
//!   the same shard — before, every one rewrote one item, and parallel writers cancelled each
//!   other (issue 21); writers of one process never pick the same one at once, and hand each
//!   other what they committed (`shard_leases.rs`). A refused shard update hands back the shard
//!   as it is (`ReturnValuesOnConditionCheckFailure`), and the next attempt numbers above it at
//!   once.
//! - **Why the order is the order things happened.** Numbers above the highest shard read: a write
//!   that starts after another committed numbers after it (the shards read hold its number).
//!   Writes that overlap in time may be numbered either way, unless they write the same user or
//!   group item: those items are **anchors** (`Tx::anchor_last`). A numbered transaction leaves its
//!   last number on every anchor it writes (`ev`), and writes one only on condition it carries
//!   less than its first number; a refused one hands back the item, and the next attempt numbers
//!   above it. So two writes of one user or group — and two changes of one membership, which
//!   write the group's member slot of that user (`slots.rs`; an add its user too) — are numbered
//!   in the order they committed (changes of two users of one group commute: they may number
//!   either way, and a write of the group item writes every slot, so it orders after both), and
//!   nothing commits without its events or events without their change. Name guards are anchors
//!   too (a delete or rename frees its guard rather than deleting it, `mutate.rs`), so a name
//!   freed and taken again is numbered in that order. Not covered: a change larger than one
//!   transaction (a block, below) numbers all its events when it reserves them, and its edge
//!   transactions commit later unnumbered; a small write of one of its users that commits in
//!   between is numbered above the whole block (as before the shards).
//! - **Why a reader never skips a number that commits later.** A reader reads every shard; those
//!   behind the highest it moves up to it (an UpdateItem on condition the shard is still below;
//!   one in a transaction's way stays where it was read), and reads up to the lowest shard then.
//!   Every shard only moves up, and a shard's next number is above where it is: no event at or
//!   below that bound can commit after the reader looked. A reader that dies between its calls
//!   leaves shards moved up, which only raises later numbers. A new directory's shards are opened
//!   with it (`open_shards`); a directory older than the shards numbers on shard 0 until a reader
//!   has opened the others.
//! - A change larger than one transaction (a large group create, a large member change) first
//!   **reserves** a range of numbers above every shard, moving every shard past it in the same
//!   transaction, and opens a block (`EVX#BLOCK#{first}`: first, last, since); its edge
//!   transactions each carry their own events at numbers inside the range, in
//!   parallel; its last transaction deletes the block. A reader never reads at or past the first
//!   number of an open block, so it cannot see part of a change, nor skip a number that is still
//!   to be written. Only the request that opened a block closes it: a block whose writer died
//!   holds readers back until it is `BLOCK_STALE_MS` old (2 minutes: longer than any request
//!   runs), then readers pass it; numbers it never used are gaps — sequence numbers increase,
//!   they are not dense. The IdP's retry of the change has its own block and its own events.
//! - Readers (`Store::events`) take the shards first, the open blocks second, then Query the
//!   events at or below both bounds with strongly consistent reads: everything at or below the
//!   bound has committed, so an `after` cursor never skips an event. The bound is exact whatever
//!   the number of blocks: blocks list by first number, so the reader pages through them only
//!   until the first live one (the oldest live block is the lowest bound; every stale one before
//!   it is passed). A block opened concurrently with a reader is either committed before the
//!   reader's shard read (then the block Query, which follows, sees it) or after it (then its
//!   numbers are above the shards read). Stale blocks never hold a reader, so a reader deletes
//!   those it passed (`RETIRE_PER_READ` at most), and each block carries a TTL
//!   (`BLOCK_TTL_SECS`) so DynamoDB removes it even if no reader comes; `directory check
//!   --repair` removes them too.
//! - What an event says (its type, its capped `data`) is built by `crate::events` and handed in
//!   as a [`NewEvent`]; this module only numbers and writes it. The cap (`events::size`) keeps
//!   its item under DynamoDB's 400 KB, so every write the store accepts commits with its event.
//! - Events expire by TTL after the retention (`SCIM_EVENT_RETENTION_DAYS`, default 30).

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use serde::Serialize;

use super::tx::{Expr, Numbering, Numbers, Role, Tx};
use super::{get_n, get_s, key, keys, n, s, Item, ItemKey, Store, StoreError};
use crate::clock;
use crate::events::size::{ENVELOPE_BYTES, MAX_DATA_BYTES};
use crate::events::{Event, NewEvent};

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
/// Numbers a block leaves unused above the highest shard it read, so that the writes numbering
/// while it commits stay below it instead of refusing it (unused numbers are gaps).
const BLOCK_MARGIN: u64 = 4_096;
/// Times a reader tries to move a lagging shard that a transaction holds.
const BUMP_TRIES: u32 = 3;
/// Most undelivered events `undelivered` counts (one Query page of their numbers).
pub const LAG_COUNTED: usize = 1_000;
/// Most event bytes one page returns (at least one event): a Lambda response holds 6 MB, and the
/// page is JSON inside API Gateway's JSON `body` string, where escaping can double it.
const MAX_PAGE_BYTES: usize = 2_000_000;
/// The item of an event numbered `seq`.
fn event_item(store: &Store, dir: &str, seq: u64, e: &NewEvent) -> Item {
    let mut item = key(keys::directory_pk(dir), keys::event_sk(seq));
    item.insert("id".into(), s(e.id()));
    item.insert("event".into(), s(e.event().as_str()));
    item.insert("created_at".into(), s(e.created_at()));
    item.insert("data".into(), s(e.data().to_string()));
    let ttl = clock::now_millis() as u64 / 1000 + store.event_retention_days * 86_400;
    item.insert(TTL.into(), n(ttl));
    item
}

/// How many sequence shards a directory has: writers spread over them, so at most this many
/// numbering transactions of one directory are ever in flight on distinct items.
pub const SHARDS: usize = 16;

/// One sequence shard as read: its last number (`None` when the item or its number is absent),
/// its copy of the settings version, its share of the membership count.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shard {
    pub index: usize,
    pub seq: Option<u64>,
    pub settings: u64,
    pub memberships: i64,
}

impl Shard {
    pub(crate) fn of(index: usize, item: Option<&Item>) -> Shard {
        Shard {
            index,
            seq: item.and_then(|i| get_n(i, SEQ)),
            settings: item
                .and_then(|i| get_n(i, super::settings::SETTINGS_VERSION))
                .unwrap_or(0),
            memberships: item
                .and_then(|i| super::paging::counter_value(i, super::paging::MEMBERSHIPS))
                .unwrap_or(0),
        }
    }

    /// The smallest number above `after` that this shard hands out (numbers ≡ shard mod
    /// `SHARDS`, so no two shards hand out the same one).
    fn next_after(&self, after: u64) -> u64 {
        let k = SHARDS as u64;
        let next = after + 1;
        next + (self.index as u64 + k - next % k) % k
    }
}

/// What a transaction writes to the outbox besides its other items.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) dir: String,
    pub(crate) events: Vec<NewEvent>,
    /// Numbers to reserve after this transaction's own events; they and this transaction's
    /// events form a block.
    pub(crate) reserve: Option<u64>,
    /// How the transaction moves the directory's membership count (`paging.rs`): carried by the
    /// shard it numbers on, which it writes anyway, so counting costs no item.
    pub(crate) memberships: i64,
    /// The directory settings version this transaction's outcome was computed from
    /// (`settings.rs`): the shard update is conditional on it too.
    pub(crate) settings: Option<u64>,
    /// Numbers at or below this are taken by what this transaction orders after (anchors read).
    pub(crate) floor: u64,
    /// Every shard as this attempt read them.
    shards: Vec<Shard>,
    /// The shard this attempt numbers on (every one for a block).
    on: usize,
    /// The next attempt stays on `on` with these shards (its number moved: the refusal said
    /// where to), else it reads them all again and takes another.
    stay: Option<Vec<Shard>>,
    /// `on` as this process's writers hand it to each other (`shard_leases.rs`).
    lease: Option<super::shard_leases::Lease>,
    /// The shard another transaction held at the last attempt: the next takes another.
    away: Option<usize>,
    /// The highest number this process handed out in the directory (`shard_leases.rs`).
    high: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl Numbering for Outbox {
    /// The shard items, the events, and the block if one is opened.
    fn items(&self) -> usize {
        let shards = if self.reserve.is_some() { SHARDS } else { 1 };
        shards + self.events.len() + usize::from(self.reserve.is_some())
    }

    fn prepare<'a>(
        &'a mut self,
        store: &'a Store,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>
    {
        Box::pin(async move {
            let pick = match self.stay.take() {
                Some(known) => {
                    self.shards = known;
                    // (`switch` let its shard go; a refusal stays on it.)
                    self.away.is_some()
                }
                None => {
                    self.lease = None;
                    // Read with the resource (`prefetch.rs`), or now.
                    self.shards = match super::prefetch::take(&self.dir) {
                        Some(read) => read,
                        None => store.shards(&self.dir).await?,
                    };
                    true
                }
            };
            if pick && self.reserve.is_none() {
                // Only an opened shard takes numbers; in a directory older than the shards,
                // shard 0 (its first counter) holds every number handed out so far.
                let mut open: Vec<usize> = self
                    .shards
                    .iter()
                    .filter(|s| s.seq.is_some())
                    .map(|s| s.index)
                    .collect();
                if open.is_empty() {
                    open.push(0);
                }
                if let Some(away) = self.away.take() {
                    if open.len() > 1 {
                        open.retain(|&i| i != away);
                    }
                }
                self.lease = super::shard_leases::lease(&store.table, &self.dir, &open).await;
                self.on = match &self.lease {
                    Some(l) => l.index,
                    None => open[super::deadline::random_below(open.len())],
                };
            }
            // Above what this process handed out (in the order its writes started).
            let high = self
                .high
                .get_or_insert_with(|| super::shard_leases::high(&store.table, &self.dir));
            self.floor = self.floor.max(super::shard_leases::above(high));
            // What this process committed on the shard since it was read.
            if let Some(seq) = self.lease.as_ref().and_then(|l| l.handed_over()) {
                let shard = &mut self.shards[self.on];
                shard.seq = Some(shard.seq.map_or(seq, |s| s.max(seq)));
            }
            let pinned: &[Shard] = if self.reserve.is_some() {
                &self.shards
            } else {
                std::slice::from_ref(&self.shards[self.on])
            };
            // (A shard not opened yet carries no version: it takes the others' when opened.)
            match self.settings {
                Some(v) if pinned.iter().any(|s| s.seq.is_some() && s.settings != v) => {
                    store.forget_settings(&self.dir);
                    Err(StoreError::SettingsMoved)
                }
                _ => Ok(()),
            }
        })
    }

    fn refused(&mut self, now: &Item) {
        if self.reserve.is_none() {
            let mut shards = self.shards.clone();
            shards[self.on] = Shard::of(self.on, Some(now));
            if let (Some(lease), Some(seq)) = (&mut self.lease, shards[self.on].seq) {
                lease.hand_over(seq);
            }
            self.stay = Some(shards);
        }
    }

    fn switch(&mut self) {
        if self.reserve.is_none() && !self.shards.is_empty() {
            self.lease = None;
            self.away = Some(self.on);
            self.stay = Some(self.shards.clone());
        }
    }

    fn committed(&mut self, numbers: &Numbers) {
        if let Some(lease) = &mut self.lease {
            lease.hand_over(numbers.shard);
        }
        if let (Some(high), Some(_)) = (&self.high, self.reserve) {
            super::shard_leases::handing_out(high, numbers.last);
        }
    }

    fn raise(&mut self, past: u64) {
        self.floor = self.floor.max(past);
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    /// The items that number this transaction's events after the shards read.
    fn stamp(&self, store: &Store, tx: &mut Tx) -> Result<Numbers, StoreError> {
        let pk = keys::directory_pk(&self.dir);
        let above = self
            .shards
            .iter()
            .filter_map(|s| s.seq)
            .max()
            .unwrap_or(0)
            .max(self.floor);
        let count = self.events.len() as u64;
        let (numbers, last) = match self.reserve {
            // A block: consecutive numbers above every shard (a margin above the highest read,
            // so writes numbering meanwhile do not refuse it), every shard moved past them.
            Some(reserved) => {
                let first = above + 1 + BLOCK_MARGIN;
                let numbers: Vec<u64> = (first..first + count).collect();
                (numbers, first + count + reserved - 1)
            }
            None => {
                let shard = &self.shards[self.on];
                let k = SHARDS as u64;
                let first = shard.next_after(above);
                let numbers: Vec<u64> = (0..count).map(|i| first + i * k).collect();
                let last = numbers
                    .last()
                    .copied()
                    .unwrap_or(first.saturating_sub(k).max(above));
                (numbers, last)
            }
        };
        let first = numbers.first().copied().unwrap_or(above + 1 + BLOCK_MARGIN);
        // (A block raises it once it has committed: raised now, this process's writes would
        // number above its range meanwhile and refuse it, `#s < :first`.)
        if let (Some(high), None) = (&self.high, self.reserve) {
            super::shard_leases::handing_out(high, last);
        }
        let written: &[Shard] = match self.reserve {
            Some(_) => &self.shards,
            None => std::slice::from_ref(&self.shards[self.on]),
        };
        let settings_read = shards_settings(&self.shards);
        for (i, shard) in written.iter().enumerate() {
            let mut update = Expr::new("SET #s = :next");
            let cond = match shard.seq {
                // Opened here (a directory older than the shards): with the settings version
                // the others carry, as a reader opens one.
                None => {
                    update = Expr::new("SET #s = :next, #cv = if_not_exists(#cv, :cvx)")
                        .name("#cv", super::settings::SETTINGS_VERSION)
                        .value(":cvx", n(settings_read));
                    Expr::new("attribute_not_exists(#s)")
                }
                Some(cur) => {
                    let at = match self.reserve {
                        // A block only needs every shard below it.
                        Some(_) => Expr::new("#s < :first").value(":first", n(first)),
                        None => Expr::new("#s = :cur").value(":cur", n(cur)),
                    };
                    match self.settings {
                        None => at,
                        Some(0) => {
                            let t = format!(
                                "{} AND (attribute_not_exists(#cv) OR #cv = :cv)",
                                at.text()
                            );
                            at.with_text(t)
                                .name("#cv", super::settings::SETTINGS_VERSION)
                                .value(":cv", n(0))
                        }
                        Some(v) => {
                            let t = format!("{} AND #cv = :cv", at.text());
                            at.with_text(t)
                                .name("#cv", super::settings::SETTINGS_VERSION)
                                .value(":cv", n(v))
                        }
                    }
                }
            };
            if self.memberships != 0 && i == 0 {
                let t = format!("{} ADD #m :dm", update.text());
                update = update
                    .with_text(t)
                    .name("#m", super::paging::MEMBERSHIPS)
                    .value(":dm", n(self.memberships));
            }
            tx.update(
                key(pk.clone(), keys::event_seq_sk(shard.index)),
                update.name("#s", SEQ).value(":next", n(last)),
                Some(cond.name("#s", SEQ)),
                Role::Sequence,
            )?;
            tx.return_old_last();
        }
        for (e, seq) in self.events.iter().zip(&numbers) {
            // Never over an event already there (a number is handed out once; this holds it).
            tx.put(
                event_item(store, &self.dir, *seq, e),
                Some(Expr::new("attribute_not_exists(pk)")),
                Role::Sequence,
            )?;
        }
        if self.reserve.is_some() {
            // The block covers this transaction's events too: they belong to the same change.
            let mut block = key(pk, keys::event_block_sk(first));
            block.insert(FIRST.into(), n(first));
            block.insert(LAST.into(), n(last));
            let since = clock::now_millis() as u64;
            block.insert(SINCE_MS.into(), n(since));
            block.insert(TTL.into(), n(since / 1000 + BLOCK_TTL_SECS));
            tx.put(block, None, Role::Other)?;
        }
        Ok(Numbers {
            events: numbers,
            first,
            last: last.max(first),
            shard: last,
        })
    }
}

impl Tx {
    pub(crate) fn outbox(&mut self, dir: &str) -> &mut Outbox {
        self.numbering(|| Outbox {
            dir: dir.into(),
            ..Outbox::default()
        })
    }

    /// Adds an event to this transaction, numbered at commit.
    pub(crate) fn emit(&mut self, dir: &str, event: NewEvent) {
        self.outbox(dir).events.push(event);
    }

    /// Moves the directory's membership count by `by` with this transaction's events (the
    /// transaction must emit at least one: its sequence shard carries the count).
    pub(crate) fn count_memberships(&mut self, dir: &str, by: i64) {
        if by != 0 {
            self.outbox(dir).memberships += by;
        }
    }

    /// Reserves `count` numbers after this transaction's events and opens a block of them;
    /// `commit_numbered` returns its first number, which `close_block` takes.
    pub(crate) fn reserve(&mut self, dir: &str, count: u64) {
        self.outbox(dir).reserve = Some(count);
    }

    /// Puts an event at a number reserved earlier (inside an open block).
    pub(crate) fn emit_at(
        &mut self,
        store: &Store,
        dir: &str,
        seq: u64,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        self.places_event(seq);
        self.put(event_item(store, dir, seq, event), None, Role::Other)
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
    /// The highest number up to which every event of the directory has committed (0 before
    /// its first event): an event committed after this call has a higher number. What a
    /// consumer starting now starts after.
    pub async fn sequence(&self, dir: &str) -> Result<u64, StoreError> {
        self.committed_bound(dir).await
    }

    /// The last number handed out and the share of the membership count the shards carry
    /// (`paging.rs`): one BatchGetItem of the shards.
    pub(crate) async fn sequence_item(&self, dir: &str) -> Result<(u64, i64), StoreError> {
        let shards = self.shards(dir).await?;
        let last = shards.iter().filter_map(|s| s.seq).max().unwrap_or(0);
        Ok((last, shards.iter().map(|s| s.memberships).sum()))
    }

    /// Every sequence shard, in index order (one strongly consistent BatchGetItem).
    pub(crate) async fn shards(&self, dir: &str) -> Result<Vec<Shard>, StoreError> {
        let mut items = self.batch_get(shard_keys(dir), None).await?;
        Ok(take_shards(&mut items))
    }

    /// The highest number every shard has passed: no event at or below it can commit after
    /// this call. Shards behind the highest are moved up to it first (module header), so an
    /// event is readable as soon as its write has answered, whatever the other shards do.
    async fn committed_bound(&self, dir: &str) -> Result<u64, StoreError> {
        let shards = self.shards(dir).await?;
        let low = shards.iter().map(|s| s.seq.unwrap_or(0)).min().unwrap_or(0);
        let high = shards.iter().filter_map(|s| s.seq).max().unwrap_or(0);
        if low == high {
            return Ok(low);
        }
        let pk = keys::directory_pk(dir);
        let settings = shards_settings(&shards);
        let mut moves = tokio::task::JoinSet::new();
        for s in shards.iter().filter(|s| s.seq != Some(high)).cloned() {
            let (store, pk) = (self.clone(), pk.clone());
            moves.spawn(super::caller::inherit(async move {
                // A transaction in flight on the shard refuses the move: a few tries, as that
                // transaction ends within milliseconds.
                for attempt in 1..=BUMP_TRIES {
                    let moved = store
                        .client
                        .update_item()
                        .table_name(&store.table)
                        .set_key(Some(key(pk.clone(), keys::event_seq_sk(s.index))))
                        // A shard opened here takes the settings version the others carry (a
                        // save writes every shard, so one that has any keeps it).
                        .update_expression("SET #s = :high, #cv = if_not_exists(#cv, :cv)")
                        .condition_expression("attribute_not_exists(#s) OR #s < :high")
                        .expression_attribute_names("#s", SEQ)
                        .expression_attribute_names("#cv", super::settings::SETTINGS_VERSION)
                        .expression_attribute_values(":high", n(high))
                        .expression_attribute_values(":cv", n(settings))
                        .send()
                        .await;
                    match moved {
                        Ok(_) => return high,
                        Err(e) => match e.as_service_error() {
                            // At or past `high` already.
                            Some(e) if e.is_conditional_check_failed_exception() => return high,
                            Some(e)
                                if e.is_transaction_conflict_exception()
                                    && attempt < BUMP_TRIES =>
                            {
                                tokio::time::sleep(std::time::Duration::from_millis(
                                    5 * u64::from(attempt),
                                ))
                                .await;
                            }
                            // Still in a transaction's way (or throttled, or failing): it stays
                            // where it was read, which still bounds it from below.
                            _ => break,
                        },
                    }
                }
                s.seq.unwrap_or(0)
            }));
        }
        let mut bound = high;
        while let Some(done) = moves.join_next().await {
            bound = bound.min(done.unwrap_or(low));
        }
        Ok(bound)
    }

    /// The events numbered after `after` and at most `last`: how many (counted up to
    /// `LAG_COUNTED`) and the creation time (RFC 3339) of the first. One Query of their
    /// `created_at` only (numbers have gaps, so they are counted, not subtracted).
    pub async fn undelivered(
        &self,
        dir: &str,
        after: u64,
        last: u64,
    ) -> Result<(u64, Option<String>), StoreError> {
        if last <= after {
            return Ok((0, None));
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
            .expression_attribute_values(":a", s(keys::event_sk(after + 1)))
            .expression_attribute_values(":b", s(keys::event_sk(last)))
            .projection_expression("created_at")
            .limit(LAG_COUNTED as i32)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let items = out.items.unwrap_or_default();
        let first = items
            .first()
            .and_then(|i| get_s(i, "created_at"))
            .map(str::to_string);
        Ok((items.len() as u64, first))
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
        // The shards first: a block committed after this read only holds numbers above them.
        let sequence = self.committed_bound(dir).await?;
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
            let q = self
                .events_query(dir, after, bound, types)
                .limit(want.min(budget) as i32)
                .set_exclusive_start_key(start.take());
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

    /// The strongly consistent Query of the events numbered `after + 1 ..= bound`, of the named
    /// types only when `types` is not empty.
    fn events_query(
        &self,
        dir: &str,
        after: u64,
        bound: u64,
        types: &[String],
    ) -> QueryFluentBuilder {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
            .expression_attribute_values(":a", s(keys::event_sk(after + 1)))
            .expression_attribute_values(":b", s(keys::event_sk(bound)))
            .consistent_read(true);
        if !types.is_empty() {
            let names: Vec<String> = (0..types.len()).map(|i| format!(":t{i}")).collect();
            q = q.filter_expression(format!("#e IN ({})", names.join(", ")));
            q = q.expression_attribute_names("#e", "event");
            for (p, t) in names.iter().zip(types) {
                q = q.expression_attribute_values(p, s(t));
            }
        }
        q
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
    Event::from_stored(
        dir.into(),
        seq_of_key(item)?,
        get_s(item, "id")?,
        get_s(item, "event")?,
        get_s(item, "created_at"),
        get_s(item, "data")?,
    )
}

/// The number of the event at sort key `sk` (`EVENT#{seq}`), if `sk` is an event's.
pub fn event_seq(sk: &str) -> Option<u64> {
    sk.strip_prefix(EVENT_PREFIX)?.parse().ok()
}

/// The keys of every sequence shard of `dir`, in index order.
pub(crate) fn shard_keys(dir: &str) -> Vec<Item> {
    let pk = keys::directory_pk(dir);
    (0..SHARDS)
        .map(|i| key(pk.clone(), keys::event_seq_sk(i)))
        .collect()
}

/// Every shard, in index order, from the shard items among `items` (a BatchGetItem's answer),
/// which it takes out; a shard not among them reads as not opened.
pub(crate) fn take_shards(items: &mut Vec<Item>) -> Vec<Shard> {
    let mut found: Vec<Option<Item>> = vec![None; SHARDS];
    items.retain_mut(
        |i| match get_s(i, keys::SK).and_then(keys::SortKey::parse) {
            Some(keys::SortKey::EventSeq(index)) if index < SHARDS => {
                found[index] = Some(std::mem::take(i));
                false
            }
            _ => true,
        },
    );
    found
        .iter()
        .enumerate()
        .map(|(i, item)| Shard::of(i, item.as_ref()))
        .collect()
}

/// Puts a new directory's sequence shards into `tx`, each at 0 unless it has a number already
/// (an id used before: its events stay until they expire).
pub(crate) fn open_shards(tx: &mut Tx, dir: &str) -> Result<(), StoreError> {
    for shard in 0..SHARDS {
        tx.update(
            key(keys::directory_pk(dir), keys::event_seq_sk(shard)),
            Expr::new("SET #s = if_not_exists(#s, :zero)")
                .name("#s", SEQ)
                .value(":zero", n(0)),
            None,
            Role::Other,
        )?;
    }
    Ok(())
}

/// The settings version the shards carry (the highest: a save writes all of them at once).
fn shards_settings(shards: &[Shard]) -> u64 {
    shards.iter().map(|s| s.settings).max().unwrap_or(0)
}
