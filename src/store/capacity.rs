//! DynamoDB's consumed capacity, read off the wire: which operations report it, and the read and
//! write units an answer says it used. Shared by the functions' per-request metric (an SDK
//! interceptor asks for `ReturnConsumedCapacity: TOTAL` and adds up the answers) and the local
//! meter.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// Operations that accept `ReturnConsumedCapacity`.
pub fn reports_capacity(op: &str) -> bool {
    matches!(
        op,
        "GetItem"
            | "PutItem"
            | "UpdateItem"
            | "DeleteItem"
            | "Query"
            | "Scan"
            | "BatchGetItem"
            | "BatchWriteItem"
            | "TransactGetItems"
            | "TransactWriteItems"
    )
}

pub fn is_read(op: &str) -> bool {
    matches!(
        op,
        "GetItem" | "Query" | "Scan" | "BatchGetItem" | "TransactGetItems"
    )
}

/// (read units, write units) an answer of `op` reports.
pub fn units(op: &str, response: &Value) -> (f64, f64) {
    let capacity = match &response["ConsumedCapacity"] {
        Value::Array(a) => a.iter().collect::<Vec<_>>(),
        Value::Null => vec![],
        one => vec![one],
    };
    let (mut read, mut write) = (0.0, 0.0);
    for c in capacity {
        let total = c["CapacityUnits"].as_f64().unwrap_or(0.0);
        match (
            c["ReadCapacityUnits"].as_f64(),
            c["WriteCapacityUnits"].as_f64(),
        ) {
            (None, None) if is_read(op) => read += total,
            (None, None) => write += total,
            (r, w) => {
                read += r.unwrap_or(0.0);
                write += w.unwrap_or(0.0);
            }
        }
    }
    (read, write)
}

/// Capacity this process consumed, in thousandths of a unit (read, write): a Lambda process
/// serves one request at a time, so the difference over a request is its own.
pub static READ_MILLIS: AtomicU64 = AtomicU64::new(0);
pub static WRITE_MILLIS: AtomicU64 = AtomicU64::new(0);

/// Adds an answer's units to the process counters.
pub fn record(op: &str, response: &Value) {
    let (r, w) = units(op, response);
    READ_MILLIS.fetch_add((r * 1000.0).round() as u64, Ordering::Relaxed);
    WRITE_MILLIS.fetch_add((w * 1000.0).round() as u64, Ordering::Relaxed);
}

/// The counters now (units).
pub fn consumed() -> (f64, f64) {
    (
        READ_MILLIS.load(Ordering::Relaxed) as f64 / 1000.0,
        WRITE_MILLIS.load(Ordering::Relaxed) as f64 / 1000.0,
    )
}
