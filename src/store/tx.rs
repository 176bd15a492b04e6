//! Transactions with their failure reasons mapped back to meaning, and the retry policy of writes.
//!
//! Each item added to a `Tx` carries a `Role`; when DynamoDB cancels the transaction, the
//! cancellation reason at that item's index says which condition failed (userName taken → 409,
//! version moved → retry or 412, member missing → 400). Cancellations for `TransactionConflict`
//! (another transaction touching an item) and for throttling are retried with jittered backoff
//! until the request's deadline (`deadline.rs`); past it the write fails as `Unavailable` (503).
//! A conflict alone backs off briefly, and more briefly each time it loses again
//! (`deadline::retry_after_conflict`): the other writer is committing now, and with throttling's
//! 1 s cap the writers of one group that lost a few times fell seconds behind.
//! A cancelled transaction wrote nothing, so a retry or a give-up never leaves half a write.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::{deadline, keys, Item, Store, StoreError};

/// Renumbered attempts in a row that go again without waiting.
const QUICK_RETRIES: u32 = 20;
/// DynamoDB's limit on items in one TransactWriteItems call.
pub const MAX_TX_ITEMS: usize = 100;

#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// The resource item: its condition is existence/version.
    Resource,
    /// A uniqueness guard: its condition failing means the value is taken.
    Guard(String),
    /// A user that must exist (and not be being deleted) to become a member.
    Member(String),
    /// A membership edge that must be absent (add) or present (remove): the user's id.
    Edge(String),
    /// The directory's event sequence (`outbox.rs`): another writer took the numbers read.
    Sequence,
    /// A counter shard (`STATS#{nn}`, an `ADD` without condition: a resource count or the
    /// membership count): only the sum of the shards counts, so a transaction that met another
    /// on one moves another one instead.
    Counter,
    /// A user item whose resolved roles this transaction moves (`roles.rs`): its edge sequence
    /// moved since its groups were listed.
    Roles(String),
    /// A check that the directory's settings are still the version a write used
    /// (`settings.rs`).
    Settings,
    /// Anything else (index items, edges, counters): conditions never expected to fail.
    Other,
}

/// A condition or update expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expr {
    text: String,
    names: HashMap<String, String>,
    values: Item,
}

impl Expr {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Expr {
            text: text.into(),
            ..Expr::default()
        }
    }
    pub(crate) fn value(
        mut self,
        placeholder: &str,
        v: aws_sdk_dynamodb::types::AttributeValue,
    ) -> Self {
        self.values.insert(placeholder.into(), v);
        self
    }
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
    pub(crate) fn with_text(mut self, text: String) -> Self {
        self.text = text;
        self
    }
    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }
    /// A lone condition's text and placeholders, each `None` when absent.
    #[allow(clippy::type_complexity)]
    fn parts(
        cond: Option<Expr>,
    ) -> (
        Option<String>,
        Option<HashMap<String, String>>,
        Option<Item>,
    ) {
        match cond {
            Some(c) => {
                let (names, values) = Expr::merged(&c, None);
                (Some(c.text), names, values)
            }
            None => (None, None, None),
        }
    }
    /// Adds `term` to the `keyword` clause (`SET`, `ADD`) of an update expression, starting the
    /// clause when the expression has none.
    fn add_term(&mut self, keyword: &str, term: &str) {
        let clause = format!("{keyword} ");
        self.text = match self.text.find(&clause) {
            Some(at) => format!(
                "{}{clause}{term}, {}",
                &self.text[..at],
                &self.text[at + clause.len()..]
            ),
            None if self.text.is_empty() => format!("{clause}{term}"),
            None => format!("{clause}{term} {}", self.text),
        };
    }

    /// Both expressions' placeholders, for an item with an update and a condition.
    fn merged(a: &Expr, b: Option<&Expr>) -> (Option<HashMap<String, String>>, Option<Item>) {
        let mut names = a.names.clone();
        let mut values = a.values.clone();
        if let Some(b) = b {
            names.extend(b.names.clone());
            values.extend(b.values.clone());
        }
        (
            (!names.is_empty()).then_some(names),
            (!values.is_empty()).then_some(values),
        )
    }
}

/// Items a transaction adds when it commits, numbered from values read at each attempt: the
/// directory's event sequence shards and its events (`outbox.rs`, which implements it; this
/// module knows nothing of events).
pub(crate) trait Numbering: std::any::Any + Send + Sync {
    /// Items `stamp` adds.
    fn items(&self) -> usize;
    /// Reads what the numbers follow, fresh for each attempt (or what the last refusal said).
    fn prepare<'a>(
        &'a mut self,
        store: &'a Store,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;
    /// Adds the numbered items (one with `Role::Sequence` guards the numbers) and says which
    /// numbers this attempt takes.
    fn stamp(&self, store: &Store, tx: &mut Tx) -> Result<Numbers, StoreError>;
    /// The item a refused `Role::Sequence` update holds now (its condition failed): the next
    /// attempt numbers after it without reading it again.
    fn refused(&mut self, now: &Item);
    /// Another item this transaction orders after already carries number `past`: the next
    /// attempt numbers above it.
    fn raise(&mut self, past: u64);
    /// Another transaction held the sequence item this attempt numbered on: the next attempt
    /// numbers on another, from what was read.
    fn switch(&mut self);
    /// This attempt committed with `numbers`.
    fn committed(&mut self, _numbers: &Numbers) {}
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

/// The numbers one attempt of a numbered transaction takes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Numbers {
    /// Its events' numbers, ascending.
    pub events: Vec<u64>,
    /// The lowest and highest number it takes (reserved numbers included): anchors must carry
    /// less than `first` before it and carry `last` after it.
    pub first: u64,
    pub last: u64,
    /// What the sequence shard it numbered on holds once it commits (below `first` when it
    /// took no number).
    pub shard: u64,
}

/// The attribute every anchor item carries: the highest event number of the last transaction
/// that wrote it (module header of `outbox.rs`).
pub(crate) const ORDER: &str = "ev";

/// One write of a transaction, kept in this form until an attempt numbers it.
#[derive(Debug, Clone)]
enum Write {
    Put(Item),
    Update { key: Item, update: Expr },
    Delete(Item),
}

/// An item's partition and sort key.
fn item_id(item: &Item) -> (Option<&str>, Option<&str>) {
    (super::get_s(item, keys::PK), super::get_s(item, keys::SK))
}

impl Write {
    /// The item's key (a put's item holds it among its attributes).
    fn key(&self) -> &Item {
        match self {
            Write::Put(item) | Write::Delete(item) | Write::Update { key: item, .. } => item,
        }
    }
}

#[derive(Debug, Clone)]
struct Op {
    write: Write,
    cond: Option<Expr>,
    /// An anchor (a user, group or member slot item): written only after every number it carries, and it
    /// carries this transaction's last number after.
    anchor: bool,
    /// Ask DynamoDB for the item as it is when the condition fails (`ALL_OLD`).
    return_old: bool,
}

pub struct Tx {
    table: String,
    ops: Vec<Op>,
    roles: Vec<Role>,
    /// What is numbered at commit.
    numbering: Option<Box<dyn Numbering>>,
    /// Numbers of events put at numbers reserved earlier (`emit_at`).
    placed: Vec<u64>,
    /// The highest number the anchors carried when they were read (`Tx::after`).
    floor: u64,
}

impl Tx {
    pub(crate) fn new(store: &Store) -> Self {
        Tx {
            table: store.table.clone(),
            ops: Vec::new(),
            roles: Vec::new(),
            numbering: None,
            placed: Vec::new(),
            floor: 0,
        }
    }

    /// This transaction orders after a write that left number `order` on an item it read: its
    /// events number above it (an anchor's condition checks it again at commit).
    pub(crate) fn after(&mut self, order: u64) {
        self.floor = self.floor.max(order);
    }

    /// Items this transaction will write, counting what is numbered at commit.
    pub(crate) fn len(&self) -> usize {
        self.ops.len() + self.numbering.as_ref().map_or(0, |n| n.items())
    }

    /// The numbering of type `N`, made by `make` the first time.
    pub(crate) fn numbering<N: Numbering>(&mut self, make: impl FnOnce() -> N) -> &mut N {
        let n = self.numbering.get_or_insert_with(|| Box::new(make()));
        n.as_any_mut()
            .downcast_mut::<N>()
            .expect("one kind of numbering per transaction")
    }

    /// Notes that this transaction writes the event numbered `seq` (`committed.rs`).
    pub(crate) fn places_event(&mut self, seq: u64) {
        self.placed.push(seq);
    }

    /// Moves counter op `i` to a counter shard no other op of this transaction writes (a
    /// transaction may not name one item twice), picked at random.
    fn move_to_free_counter(&mut self, i: usize) {
        let taken: Vec<String> = self
            .ops
            .iter()
            .filter_map(|op| match &op.write {
                Write::Update { key, .. } => super::get_s(key, keys::SK).map(str::to_string),
                _ => None,
            })
            .collect();
        let free: Vec<String> = (0..keys::COUNTER_SHARDS)
            .map(keys::counter_sk_of_shard)
            .filter(|sk| !taken.contains(sk))
            .collect();
        if free.is_empty() {
            return;
        }
        let sk = free[deadline::random_below(free.len())].clone();
        if let Some(Op {
            write: Write::Update { key, .. },
            ..
        }) = self.ops.get_mut(i)
        {
            key.insert(keys::SK.into(), super::s(sk));
        }
    }

    /// Adds `write`; a second write of an item this transaction already writes is a bug (DynamoDB
    /// refuses the whole transaction), and is refused here, naming it.
    fn push(&mut self, write: Write, cond: Option<Expr>, role: Role) -> Result<(), StoreError> {
        if self.position(write.key()).is_some() {
            return Err(StoreError::Bug("a transaction writes one item twice"));
        }
        self.ops.push(Op {
            write,
            cond,
            anchor: false,
            return_old: false,
        });
        self.roles.push(role);
        Ok(())
    }

    /// The op writing the item at `key`, if any.
    fn position(&self, key: &Item) -> Option<usize> {
        let wanted = item_id(key);
        self.ops
            .iter()
            .position(|op| item_id(op.write.key()) == wanted)
    }

    /// Adds `by` to the number attribute `attr` of the item at `key`, at commit. Merged into
    /// this transaction's write of that item when it has one: an update gains the `ADD`, a put
    /// or a delete replaces the item whole (what it counted goes with it). Otherwise an update of
    /// its own, without a condition. Adds to one attribute of one item sum up, so any number of
    /// edge changes may count on one member slot or one user's group count
    /// (`members.rs`); the write of the item may come first or never, but not after.
    pub(crate) fn add_count(&mut self, key: Item, attr: &str, by: i64) -> Result<(), StoreError> {
        let name = format!("#cnt_{attr}");
        let value = format!(":cnt_{attr}");
        let i = match self.position(&key) {
            Some(i) => i,
            None => {
                self.push(
                    Write::Update {
                        key,
                        update: Expr::default(),
                    },
                    None,
                    Role::Other,
                )?;
                self.ops.len() - 1
            }
        };
        let Write::Update { update, .. } = &mut self.ops[i].write else {
            return Ok(());
        };
        let sum = match update.values.get(&value) {
            Some(v) => {
                v.as_n()
                    .ok()
                    .and_then(|n| n.parse::<i64>().ok())
                    .unwrap_or(0)
                    + by
            }
            None => {
                update.add_term("ADD", &format!("{name} {value}"));
                update.names.insert(name, attr.into());
                by
            }
        };
        update.values.insert(value, super::n(sum));
        Ok(())
    }

    /// Makes the item just added an anchor (`outbox.rs`): a numbered transaction writes it only
    /// if it carries a lower number than this transaction's, and leaves its own on it.
    pub(crate) fn anchor_last(&mut self) {
        if let Some(op) = self.ops.last_mut() {
            op.anchor = true;
            op.return_old = true;
        }
    }

    /// Asks for the item as it is when the condition of the item just added fails.
    pub(crate) fn return_old_last(&mut self) {
        if let Some(op) = self.ops.last_mut() {
            op.return_old = true;
        }
    }

    pub(crate) fn put(
        &mut self,
        item: Item,
        cond: Option<Expr>,
        role: Role,
    ) -> Result<(), StoreError> {
        self.push(Write::Put(item), cond, role)
    }

    pub(crate) fn delete(
        &mut self,
        key: Item,
        cond: Option<Expr>,
        role: Role,
    ) -> Result<(), StoreError> {
        self.push(Write::Delete(key), cond, role)
    }

    pub(crate) fn update(
        &mut self,
        key: Item,
        update: Expr,
        cond: Option<Expr>,
        role: Role,
    ) -> Result<(), StoreError> {
        self.push(Write::Update { key, update }, cond, role)
    }

    /// The DynamoDB form of every item, anchors numbered with `numbers`.
    fn built(&self, numbers: Option<&Numbers>) -> Result<Vec<TransactWriteItem>, StoreError> {
        self.ops
            .iter()
            .map(|op| build(&self.table, op, numbers.filter(|_| op.anchor)))
            .collect()
    }

    /// Runs the transaction, retrying conflicts and throttling until the deadline; a failed
    /// condition becomes the error its item's role stands for.
    pub(crate) async fn commit(self, store: &Store) -> Result<(), StoreError> {
        self.commit_numbered(store).await.map(|_| ())
    }

    /// As `commit`; returns the first sequence number this transaction took, if it emitted or
    /// reserved events. Losing the numbers read to another writer numbers again and retries.
    pub(crate) async fn commit_numbered(
        mut self,
        store: &Store,
    ) -> Result<Option<u64>, StoreError> {
        if self.ops.is_empty() && self.numbering.is_none() {
            return Ok(None);
        }
        let own = self.ops.len();
        let mut numbering = self.numbering.take();
        if let Some(n) = &mut numbering {
            n.raise(self.floor);
        }
        // Retries after throttling or many renumberings, and retries after a conflict alone
        // (their waits shrink with each one: `deadline::retry_after_conflict`).
        let mut attempt = 0u32;
        let mut conflicts = 0u32;
        let mut recounted = 0u32;
        let mut quick = 0u32;
        loop {
            self.ops.truncate(own);
            self.roles.truncate(own);
            let numbers = match &mut numbering {
                Some(n) => {
                    n.prepare(store).await?;
                    Some(n.stamp(store, &mut self)?)
                }
                None => None,
            };
            let result = store
                .client
                .transact_write_items()
                .set_transact_items(Some(self.built(numbers.as_ref())?))
                .send()
                .await;
            let mut retry = match result {
                Ok(_) => {
                    if let (Some(n), Some(nums)) = (&mut numbering, &numbers) {
                        n.committed(nums);
                    }
                    let numbered = numbers.as_ref().map(|n| n.events.clone());
                    super::committed::note(
                        numbered
                            .into_iter()
                            .flatten()
                            .chain(self.placed.iter().copied()),
                    );
                    return Ok(numbers.map(|n| n.first));
                }
                Err(err) => cancellation_meaning(&self.ops, &self.roles, numbers.as_ref(), err)?,
            };
            // Only a transient cancellation gets here.
            if let Some(n) = &mut numbering {
                if let Some(past) = retry.raise {
                    n.raise(past);
                }
                if let Some(now) = &retry.sequence {
                    n.refused(now);
                }
                if retry.switch && !retry.wait {
                    n.switch();
                }
            }
            // A counter shard met another writer: move to another one, at once the first time;
            // when that one is busy too, the shards are all in use: wait as for a conflict.
            if !retry.recount.is_empty() {
                retry.wait |= recounted > 0;
                recounted += 1;
            }
            for &i in &retry.recount {
                self.move_to_free_counter(i);
            }
            // Renumbering goes again at once, but not forever (outside a request the deadline
            // is always fresh): past `QUICK_RETRIES` in a row it backs off too.
            quick = if retry.wait { 0 } else { quick + 1 };
            if retry.wait && !retry.throttled {
                deadline::retry_after_conflict(&mut conflicts, "a transaction kept conflicting")
                    .await?;
            } else if retry.wait || quick > QUICK_RETRIES {
                deadline::retry(
                    &mut attempt,
                    "a transaction kept conflicting or being throttled",
                )
                .await?;
            } else {
                deadline::check("a transaction kept being renumbered")?;
            }
        }
    }
}

/// One op in DynamoDB's form; `numbers` when it is an anchor of a numbered attempt.
fn build(table: &str, op: &Op, numbers: Option<&Numbers>) -> Result<TransactWriteItem, StoreError> {
    let mut cond = op.cond.clone();
    let mut write = op.write.clone();
    if let Some(nums) = numbers {
        let order = Expr::new("(attribute_not_exists(#ev) OR #ev < :evf)")
            .name("#ev", ORDER)
            .value(":evf", super::n(nums.first));
        cond = Some(match cond {
            Some(c) => {
                let text = format!("({}) AND {}", c.text, order.text);
                let mut c = c.with_text(text);
                c.names.extend(order.names);
                c.values.extend(order.values);
                c
            }
            None => order,
        });
        match &mut write {
            Write::Put(item) => {
                item.insert(ORDER.into(), super::n(nums.last));
            }
            Write::Update { update, .. } => {
                update.add_term("SET", "#ev = :evl");
                update.names.insert("#ev".into(), ORDER.into());
                update.values.insert(":evl".into(), super::n(nums.last));
            }
            Write::Delete(_) => {}
        }
    }
    let old = op
        .return_old
        .then_some(ReturnValuesOnConditionCheckFailure::AllOld);
    Ok(match write {
        Write::Put(item) => {
            let (text, names, values) = Expr::parts(cond);
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(old)
                .build()
                .map_err(StoreError::Request)?;
            TransactWriteItem::builder().put(put).build()
        }
        Write::Delete(key) => {
            let (text, names, values) = Expr::parts(cond);
            let del = Delete::builder()
                .table_name(table)
                .set_key(Some(key))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(old)
                .build()
                .map_err(StoreError::Request)?;
            TransactWriteItem::builder().delete(del).build()
        }
        Write::Update { key, update } => {
            let (names, values) = Expr::merged(&update, cond.as_ref());
            let upd = Update::builder()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(update.text)
                .set_condition_expression(cond.map(|c| c.text))
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(old)
                .build()
                .map_err(StoreError::Request)?;
            TransactWriteItem::builder().update(upd).build()
        }
    })
}

/// What a transient cancellation tells the next attempt.
#[derive(Debug, Default)]
struct Retry {
    /// Back off first (a conflict or throttling); a renumbering goes again at once.
    wait: bool,
    /// Throttling made it wait (else only conflicts did: the backoff stays short).
    throttled: bool,
    /// An anchor already carried this number.
    raise: Option<u64>,
    /// The sequence item as it is now (its condition failed).
    sequence: Option<Item>,
    /// Another transaction held the sequence item: number on another one.
    switch: bool,
    /// Counter shards another transaction held (indexes of their ops): move other ones.
    recount: Vec<usize>,
}

/// What a failed TransactWriteItems call means. `Ok` when every reason is transient (a
/// conflict, throttling, a sequence number taken by another writer, an anchor numbered past this
/// attempt): the caller retries as `Retry` says. A failed condition becomes the error its item's
/// role stands for; a failure that is not a cancellation is an SDK error.
fn cancellation_meaning(
    ops: &[Op],
    roles: &[Role],
    numbers: Option<&Numbers>,
    err: SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<Retry, StoreError> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
        err.as_service_error()
    else {
        return Err(StoreError::sdk(err));
    };
    let mut retry = Retry::default();
    let mut transient = false;
    let mut missing = Vec::new();
    let mut moved = Vec::new();
    let mut roles_moved = Vec::new();
    let mut unexpected = None;
    let mut failed = Vec::new();
    for (i, reason) in cancel.cancellation_reasons().iter().enumerate() {
        if reason.code() == Some("ConditionalCheckFailed") {
            // An anchor that carries this attempt's number or a later one: number again above
            // it, whatever else its condition says (the next attempt checks that again).
            let past = ops
                .get(i)
                .filter(|op| op.anchor && numbers.is_some())
                .and_then(|_| reason.item())
                .and_then(|item| super::get_n(item, ORDER));
            if let (Some(past), Some(nums)) = (past, numbers) {
                if past >= nums.first {
                    retry.raise = Some(retry.raise.unwrap_or(0).max(past));
                    transient = true;
                    continue;
                }
            }
            failed.push(i);
        }
        match (reason.code(), roles.get(i)) {
            (Some("ConditionalCheckFailed"), Some(Role::Sequence)) => {
                transient = true;
                if let Some(item) = reason.item() {
                    retry.sequence = Some(item.clone());
                }
            }
            // Only the sequence item was in another writer's way: another one is free now, no
            // need to wait.
            (Some("TransactionConflict"), Some(Role::Sequence)) => {
                transient = true;
                retry.switch = true;
            }
            // Likewise a counter shard: any other one counts the same.
            (Some("TransactionConflict"), Some(Role::Counter)) => {
                transient = true;
                retry.recount.push(i);
            }
            (Some("TransactionConflict"), _) => {
                transient = true;
                retry.wait = true;
            }
            (
                Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"),
                _,
            ) => {
                transient = true;
                retry.wait = true;
                retry.throttled = true;
            }
            _ => {}
        }
    }
    // A condition that failed for its own reason outweighs any renumbering.
    for i in failed {
        match roles.get(i) {
            Some(Role::Guard(what)) => return Err(StoreError::Conflict(what.clone())),
            Some(Role::Member(id)) => missing.push(id.clone()),
            Some(Role::Edge(id)) => moved.push(id.clone()),
            Some(Role::Resource) => return Err(StoreError::VersionMismatch),
            Some(Role::Sequence) => {}
            Some(Role::Roles(id)) => roles_moved.push(id.clone()),
            Some(Role::Settings) => return Err(StoreError::SettingsMoved),
            _ => {
                unexpected = Some(i);
                break;
            }
        }
    }
    if let Some(item) = unexpected {
        return Err(StoreError::UnexpectedCondition {
            item,
            source: Box::new(err),
        });
    }
    if !missing.is_empty() {
        return Err(StoreError::MissingMembers(missing));
    }
    if !moved.is_empty() {
        return Err(StoreError::EdgesMoved(moved));
    }
    if !roles_moved.is_empty() {
        return Err(StoreError::RolesMoved(roles_moved));
    }
    if !transient {
        return Err(StoreError::sdk(err));
    }
    Ok(retry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{get_s, key};

    /// The counter shard op `i` writes now.
    fn shard_of(tx: &Tx, i: usize) -> String {
        match &tx.ops[i].write {
            Write::Update { key, .. } => get_s(key, keys::SK).unwrap().to_string(),
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn counts_merge_into_the_write_of_their_item_and_sum_up() {
        let store = Store::local("http://127.0.0.1:9", "t", "tok");
        let mut tx = Tx::new(&store);
        let at = |sk: &str| key("DIR#d".to_string(), sk.to_string());
        let bump = Expr::new("SET #m = :now ADD #v :one");
        tx.update(at("GSLOT#g#1"), bump, None, Role::Resource)
            .unwrap();
        tx.add_count(at("GSLOT#g#1"), "members", 1).unwrap();
        tx.add_count(at("GSLOT#g#1"), "members", 1).unwrap();
        tx.add_count(at("UGROUPS#u"), "groups", -1).unwrap();
        tx.delete(at("UGROUPS#x"), None, Role::Other).unwrap();
        tx.add_count(at("UGROUPS#x"), "groups", -1).unwrap();
        // The slot's update, the new count's own update, the deleted count.
        assert_eq!(tx.ops.len(), 3);
        let update = |i: usize| match &tx.ops[i].write {
            Write::Update { update, .. } => update.clone(),
            _ => unreachable!(),
        };
        assert_eq!(
            update(0).text(),
            "SET #m = :now ADD #cnt_members :cnt_members, #v :one"
        );
        assert_eq!(update(0).values[":cnt_members"], crate::store::n(2));
        assert_eq!(update(1).text(), "ADD #cnt_groups :cnt_groups");
        assert_eq!(update(1).values[":cnt_groups"], crate::store::n(-1));
        assert!(tx.ops[1].cond.is_none());
        assert!(matches!(tx.ops[2].write, Write::Delete(_)));
        // A second write of an item is refused here, not by DynamoDB.
        let again = tx.update(at("GSLOT#g#1"), Expr::new("ADD #v :one"), None, Role::Other);
        assert!(matches!(again, Err(StoreError::Bug(_))), "{again:?}");
    }

    #[tokio::test]
    async fn a_counter_that_met_another_moves_to_a_shard_no_other_op_writes() {
        let store = Store::local("http://127.0.0.1:9", "t", "tok");
        let mut tx = Tx::new(&store);
        // Every shard but the last two is written by an op of this transaction.
        for shard in 0..keys::COUNTER_SHARDS - 2 {
            let k = key("DIR#d".to_string(), keys::counter_sk_of_shard(shard));
            tx.update(k, Expr::new("ADD #c :one"), None, Role::Counter)
                .unwrap();
        }
        let mut seen = vec![shard_of(&tx, 0)];
        for _ in 0..20 {
            tx.move_to_free_counter(0);
            let now = shard_of(&tx, 0);
            // Never the shard it met, never one another op writes.
            assert_ne!(Some(&now), seen.last());
            assert!((1..tx.ops.len()).all(|j| shard_of(&tx, j) != now), "{now}");
            seen.push(now);
        }
        // Only the shards no other op writes were ever taken: the two free ones and the one it
        // left.
        let allowed =
            [0, keys::COUNTER_SHARDS - 2, keys::COUNTER_SHARDS - 1].map(keys::counter_sk_of_shard);
        assert!(seen.iter().all(|sk| allowed.contains(sk)), "{seen:?}");
    }
}
