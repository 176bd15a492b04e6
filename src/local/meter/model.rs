//! The meter's model of DynamoDB: what the emulator cannot show about contention (issue 21).
//!
//! dynoxide answers in microseconds and runs one transaction at a time, so two writers of one
//! directory never overlap on it and never cancel each other. On DynamoDB a call takes
//! milliseconds and concurrent transactions on one item do cancel each other. With a model on,
//! the meter therefore
//! 1. holds every call for a latency before forwarding it, and
//! 2. registers the items each write touches (table and primary key) for that whole hold, and
//!    refuses a call that meets a registered item the way DynamoDB's conflict rules say it is
//!    refused.
//!
//! The window is the modelled latency alone: on DynamoDB that is the time a call is in flight.
//! The emulator's own time (one SQLite writer, this machine's load) is not DynamoDB's and holds
//! nothing; the emulator serialises the calls it gets anyway, and evaluates their conditions then.
//! So at 0 ms the model adds neither latency nor conflicts: the emulator as it is.
//!
//! **Latency.** AWS publishes DynamoDB as "single-digit millisecond performance at any scale"
//! (<https://aws.amazon.com/dynamodb/>), and its troubleshooting guide says that for most atomic
//! operations such as GetItem and PutItem the average latency is in single-digit milliseconds
//! (<https://repost.aws/knowledge-center/dynamodb-high-latency>). The default, 5 ms, is the middle
//! of that range. A transaction is held twice as long: the developer guide's "Capacity management
//! for transactions" explains that DynamoDB performs two underlying reads or writes of every item
//! of a transaction, one to prepare it and one to commit it
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html>).
//!
//! **Conflicts**, from the developer guide's "Transaction conflict handling in DynamoDB" (same
//! page), with the call that arrives second refused and the one already in flight going on:
//! - a PutItem, UpdateItem or DeleteItem on an item that an in-flight TransactWriteItems includes
//!   fails with `TransactionConflictException`;
//! - a TransactWriteItems with an item that is part of another in-flight TransactWriteItems is
//!   cancelled (`TransactionCanceledException`, reason `TransactionConflict` at that item's
//!   index, `None` at the others, as DynamoDB lists them in `CancellationReasons`);
//! - a TransactGetItems with an item that an in-flight TransactWriteItems, BatchWriteItem,
//!   PutItem, UpdateItem or DeleteItem is writing is cancelled the same way;
//! - a TransactWriteItems with an item that an in-flight PutItem, UpdateItem or DeleteItem is
//!   writing is cancelled too (issue 21's rule: the guide lists the other direction, and its
//!   isolation section makes transactions and standard writes serializable, so one must give way;
//!   as in the rules above, the later arrival does);
//! - GetItem never conflicts ("both operations can succeed"), nor do Query, Scan and BatchGetItem
//!   (read-committed). Two standard writes of one item do not conflict (DynamoDB orders them), and
//!   a BatchWriteItem meeting a transaction is not modelled (the guide does not say what happens).
//!
//! A refused call holds nothing, but its answer still takes one latency (a round trip). The model
//! is meant for the emulator: a real DynamoDB behind the meter has conflicts of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};

/// Environment variable: turns the model on with this many milliseconds per DynamoDB call
/// (`5`, `0.5`), `default` for [`DEFAULT_LATENCY`], `off` or unset for no model.
pub const ENV_MODEL_MS: &str = "SCIM_DYNAMODB_MODEL_MS";

/// DynamoDB's published average for single-item calls is single-digit milliseconds: the middle.
pub const DEFAULT_LATENCY: Duration = Duration::from_millis(5);

/// The model's settings (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoModel {
    /// How long a call is held before the emulator sees it (a transaction: twice this).
    pub latency: Duration,
}

impl Default for DynamoModel {
    fn default() -> Self {
        DynamoModel {
            latency: DEFAULT_LATENCY,
        }
    }
}

/// A value of [`ENV_MODEL_MS`] that means nothing.
#[derive(Debug, thiserror::Error)]
#[error("{ENV_MODEL_MS}={0:?}: expected milliseconds per DynamoDB call (e.g. 5), `default` (5) or `off`")]
pub struct BadModelSetting(pub String);

impl DynamoModel {
    pub fn with_latency(latency: Duration) -> Self {
        DynamoModel { latency }
    }

    /// The model [`ENV_MODEL_MS`] asks for, if any.
    pub fn from_env() -> Result<Option<Self>, BadModelSetting> {
        Self::parse(&std::env::var(ENV_MODEL_MS).unwrap_or_default())
    }

    /// Reads a setting as [`ENV_MODEL_MS`] takes it.
    pub fn parse(setting: &str) -> Result<Option<Self>, BadModelSetting> {
        match setting.trim() {
            "" | "off" => Ok(None),
            "default" | "on" => Ok(Some(Self::default())),
            ms => match ms.parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..=60_000.0).contains(&v) => Ok(Some(
                    Self::with_latency(Duration::from_secs_f64(v / 1000.0)),
                )),
                _ => Err(BadModelSetting(setting.to_string())),
            },
        }
    }

    /// How long `operation` is held: a transaction prepares and then commits (two steps).
    pub(super) fn hold_for(&self, operation: &str) -> Duration {
        match operation {
            "TransactWriteItems" | "TransactGetItems" => self.latency * 2,
            _ => self.latency,
        }
    }
}

/// How a call touches the items it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// TransactWriteItems (condition checks included: they are part of the transaction).
    TransactionWrite,
    /// PutItem, UpdateItem, DeleteItem.
    Write,
    /// BatchWriteItem: only a TransactGetItems meets it.
    BatchWrite,
    /// TransactGetItems.
    TransactionRead,
}

impl Access {
    fn of(operation: &str) -> Option<Access> {
        Some(match operation {
            "TransactWriteItems" => Access::TransactionWrite,
            "PutItem" | "UpdateItem" | "DeleteItem" => Access::Write,
            "BatchWriteItem" => Access::BatchWrite,
            "TransactGetItems" => Access::TransactionRead,
            _ => return None,
        })
    }
}

/// One item as DynamoDB identifies it: its table and its primary key (attributes in name order).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ItemId {
    table: String,
    key: String,
}

/// The in-flight calls holding one item.
#[derive(Debug, Default, Clone, Copy)]
struct Holders {
    transactions: u32,
    writes: u32,
    batch_writes: u32,
}

impl Holders {
    /// The count of `access`'s holders (reads hold nothing).
    fn count(&mut self, access: Access) -> Option<&mut u32> {
        match access {
            Access::TransactionWrite => Some(&mut self.transactions),
            Access::Write => Some(&mut self.writes),
            Access::BatchWrite => Some(&mut self.batch_writes),
            Access::TransactionRead => None,
        }
    }

    /// Whether a call of `access` arriving now is refused for this item.
    fn refuse(&self, access: Access) -> bool {
        match access {
            Access::TransactionWrite => self.transactions > 0 || self.writes > 0,
            Access::Write => self.transactions > 0,
            Access::BatchWrite => false,
            Access::TransactionRead => {
                self.transactions > 0 || self.writes > 0 || self.batch_writes > 0
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.transactions == 0 && self.writes == 0 && self.batch_writes == 0
    }
}

/// The items in-flight calls hold, and the key attributes of each table seen so far.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    items: Mutex<HashMap<ItemId, Holders>>,
    schemas: Mutex<HashMap<String, Vec<String>>>,
}

/// What the model does with a call that arrives.
pub(super) enum Admission {
    /// Forward it after the latency; its items stay registered while `Hold` lives.
    Proceed(Hold),
    /// Answer this DynamoDB error (after one latency) without forwarding.
    Refuse(Value),
}

/// The items one admitted call holds; dropping it releases them (when its latency has passed,
/// or when the call is abandoned: the client hung up).
pub(super) struct Hold {
    inflight: Arc<InFlight>,
    access: Option<Access>,
    items: Vec<ItemId>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let Some(access) = self.access else { return };
        let mut held = lock(&self.inflight.items);
        for item in self.items.drain(..) {
            if let Some(h) = held.get_mut(&item) {
                if let Some(n) = h.count(access) {
                    *n = n.saturating_sub(1);
                }
                if h.is_empty() {
                    held.remove(&item);
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A key map's identity: its attributes in name order.
fn key_string(key: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&String, &Value)> = key.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    serde_json::to_string(&pairs).unwrap_or_default()
}

/// Where a request names one item: a `Key`, or a whole `Item` (whose key needs the schema).
enum Named<'a> {
    Key(&'a str, &'a Map<String, Value>),
    Item(&'a str, &'a Map<String, Value>),
    Unknown,
}

/// The items a request names, in its own order (a transaction's reasons follow that order).
fn named<'a>(operation: &str, request: &'a Value) -> Vec<Named<'a>> {
    let table = |v: &'a Value| v["TableName"].as_str().unwrap_or("");
    let one = |v: &'a Value| match (v["Key"].as_object(), v["Item"].as_object()) {
        (Some(k), _) => Named::Key(table(v), k),
        (None, Some(i)) => Named::Item(table(v), i),
        _ => Named::Unknown,
    };
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => vec![one(request)],
        "TransactWriteItems" | "TransactGetItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                entry
                    .as_object()
                    .and_then(|o| o.values().next())
                    .map_or(Named::Unknown, one)
            })
            .collect(),
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(t, writes)| {
                writes.as_array().into_iter().flatten().map(move |w| {
                    match (
                        w["PutRequest"]["Item"].as_object(),
                        w["DeleteRequest"]["Key"].as_object(),
                    ) {
                        (Some(i), _) => Named::Item(t, i),
                        (None, Some(k)) => Named::Key(t, k),
                        _ => Named::Unknown,
                    }
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl InFlight {
    /// Tables that `request` writes whole items to and whose key attributes are not known yet
    /// (the meter asks the emulator's DescribeTable for them).
    pub(super) fn tables_to_describe(&self, operation: &str, request: &Value) -> Vec<String> {
        if Access::of(operation).is_none() {
            return Vec::new();
        }
        let known = lock(&self.schemas);
        let mut out: Vec<String> = named(operation, request)
            .into_iter()
            .filter_map(|n| match n {
                Named::Item(t, _) if !known.contains_key(t) => Some(t.to_string()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Notes `table`'s key attributes (from DescribeTable's or CreateTable's `KeySchema`).
    pub(super) fn learn_schema(&self, table: &str, key_schema: &Value) {
        let names: Vec<String> = key_schema
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["AttributeName"].as_str().map(str::to_string))
            .collect();
        if !names.is_empty() {
            lock(&self.schemas).insert(table.to_string(), names);
        }
    }

    /// The items currently held by in-flight calls.
    pub(super) fn held(&self) -> usize {
        lock(&self.items).len()
    }

    fn identify(&self, n: &Named<'_>) -> Option<ItemId> {
        let (table, key) = match n {
            Named::Key(t, k) => (*t, key_string(k)),
            Named::Item(t, item) => {
                let schemas = lock(&self.schemas);
                let names = schemas.get(*t)?;
                let key: Map<String, Value> = names
                    .iter()
                    .filter_map(|a| item.get(a).map(|v| (a.clone(), v.clone())))
                    .collect();
                (*t, key_string(&key))
            }
            Named::Unknown => return None,
        };
        Some(ItemId {
            table: table.to_string(),
            key,
        })
    }

    /// Admits `request` or refuses it by the conflict rules (module header). An admitted write
    /// holds its items until the returned `Hold` is dropped.
    pub(super) fn admit(self: &Arc<Self>, operation: &str, request: &Value) -> Admission {
        let Some(access) = Access::of(operation) else {
            return Admission::Proceed(Hold {
                inflight: Arc::clone(self),
                access: None,
                items: Vec::new(),
            });
        };
        let ids: Vec<Option<ItemId>> = named(operation, request)
            .iter()
            .map(|n| self.identify(n))
            .collect();
        let mut held = lock(&self.items);
        let refused: Vec<bool> = ids
            .iter()
            .map(|id| {
                id.as_ref()
                    .and_then(|id| held.get(id))
                    .is_some_and(|h| h.refuse(access))
            })
            .collect();
        if refused.iter().any(|r| *r) {
            return Admission::Refuse(match access {
                Access::Write => super::error_body(
                    "TransactionConflictException",
                    "Transaction is ongoing for the item",
                ),
                _ => super::cancellation(
                    &refused
                        .iter()
                        .map(|r| if *r { "TransactionConflict" } else { "None" })
                        .collect::<Vec<_>>(),
                ),
            });
        }
        let items: Vec<ItemId> = match access {
            Access::TransactionRead => Vec::new(),
            _ => ids.into_iter().flatten().collect(),
        };
        for item in &items {
            if let Some(n) = held.entry(item.clone()).or_default().count(access) {
                *n += 1;
            }
        }
        Admission::Proceed(Hold {
            inflight: Arc::clone(self),
            access: Some(access),
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tx(keys: &[&str]) -> Value {
        let items: Vec<Value> = keys
            .iter()
            .map(|k| json!({"Update": {"TableName": "t", "Key": {"pk": {"S": k}}}}))
            .collect();
        json!({ "TransactItems": items })
    }

    fn reasons(body: &Value) -> Vec<&str> {
        body["CancellationReasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["Code"].as_str())
            .collect()
    }

    #[test]
    fn the_second_transaction_on_an_item_is_cancelled_at_that_item_only() {
        let m = Arc::new(InFlight::default());
        let Admission::Proceed(first) = m.admit("TransactWriteItems", &tx(&["a", "b"])) else {
            panic!("the first transaction goes on");
        };
        let Admission::Refuse(body) = m.admit("TransactWriteItems", &tx(&["c", "b"])) else {
            panic!("the second is cancelled");
        };
        assert_eq!(reasons(&body), ["None", "TransactionConflict"]);
        assert!(matches!(
            m.admit("TransactWriteItems", &tx(&["c"])),
            Admission::Proceed(_)
        ));
        drop(first);
        assert!(matches!(
            m.admit("TransactWriteItems", &tx(&["b"])),
            Admission::Proceed(_)
        ));
    }

    #[test]
    fn a_put_item_names_its_item_by_the_table_key_schema() {
        let m = Arc::new(InFlight::default());
        let put = json!({"TableName": "t", "Item": {"pk": {"S": "a"}, "v": {"N": "1"}}});
        assert_eq!(m.tables_to_describe("PutItem", &put), ["t"]);
        m.learn_schema("t", &json!([{"AttributeName": "pk", "KeyType": "HASH"}]));
        assert!(m.tables_to_describe("PutItem", &put).is_empty());
        let _tx = m.admit("TransactWriteItems", &tx(&["a"]));
        let Admission::Refuse(body) = m.admit("PutItem", &put) else {
            panic!("a put on a transaction's item is refused");
        };
        assert!(body["__type"]
            .as_str()
            .is_some_and(|t| t.ends_with("#TransactionConflictException")));
    }

    #[test]
    fn reads_and_two_standard_writes_never_conflict() {
        let m = Arc::new(InFlight::default());
        let update = json!({"TableName": "t", "Key": {"pk": {"S": "a"}}});
        let _w = m.admit("UpdateItem", &update);
        assert!(matches!(
            m.admit("UpdateItem", &update),
            Admission::Proceed(_)
        ));
        assert!(matches!(m.admit("GetItem", &update), Admission::Proceed(_)));
        let get =
            json!({"TransactItems": [{"Get": {"TableName": "t", "Key": {"pk": {"S": "a"}}}}]});
        assert!(matches!(
            m.admit("TransactGetItems", &get),
            Admission::Refuse(_)
        ));
    }

    #[test]
    fn the_setting_reads_milliseconds_default_and_off() {
        assert_eq!(DynamoModel::parse("").unwrap(), None);
        assert_eq!(DynamoModel::parse("off").unwrap(), None);
        assert_eq!(
            DynamoModel::parse("default").unwrap(),
            Some(DynamoModel::default())
        );
        assert_eq!(
            DynamoModel::parse("0.5").unwrap().map(|m| m.latency),
            Some(Duration::from_micros(500))
        );
        assert!(DynamoModel::parse("fast").is_err());
        assert_eq!(
            DynamoModel::default().hold_for("TransactWriteItems"),
            DEFAULT_LATENCY * 2
        );
    }
}
