//! The SCIM request log, off the request path: [`record`] stores a batch of records (what the
//! HTTP edge emitted, `crate::request_log`) and moves the directories' hourly counters; [`list`]
//! reads a directory's records newest first; [`Pipeline`] is the in-process feed `scim-local` and
//! the tests run (in AWS, a CloudWatch Logs subscription on the SCIM functions' log groups feeds
//! a function that decodes each log event with `RequestRecord::from_log_line` and calls
//! [`record`]). See docs/request-log.md.
//!
//! Cost: a record is one item of at most about 40 KB (two 16 KB bodies, JSON-escaped once), put
//! by BatchWriteItem 25 at a time; each batch adds one UpdateItem per directory and hour it
//! holds. The request itself makes no DynamoDB call for its record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::directory_reads::ListMetadata;
use super::management::{directory, ManagementError};
use super::{caller, Service};
use crate::clock;
use crate::function::Function;
use crate::provider::Provider;
use crate::request_log::{RequestFilter, RequestRecord, StatusClass};
use crate::store::keys;
use crate::store::request_log::HourCounts;
use crate::store::StoreError;
use crate::telemetry::chain;

/// Environment variable: days a record is kept (template parameter `RequestLogRetentionDays`).
pub const ENV_RETENTION_DAYS: &str = "SCIM_REQUEST_LOG_DAYS";
pub const DEFAULT_RETENTION_DAYS: u64 = 30;
/// How long an hour's counters are kept: the health view reads the last 24 hours.
pub const COUNTERS_TTL_SECS: u64 = 2 * 86_400;
/// Records one BatchWriteItem call takes (DynamoDB's limit), and what the pipeline gathers
/// before it writes without waiting for its timer.
pub const BATCH: usize = 25;
/// DynamoDB's item limit is 400 KB; a bounded record is about a tenth of it. Anything larger
/// (a record from a future version, say) is dropped and logged rather than failing the batch.
const MAX_ITEM_BYTES: usize = 350_000;
/// Records waiting in the pipeline's channel at most: past it, new ones are dropped (and
/// logged), the request never waits.
const QUEUE: usize = 10_000;

/// What one [`record`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub stored: usize,
    /// Records of directories that do not exist (a 401 to a made-up id) or too large to store.
    pub dropped: usize,
}

/// Stores `records`: one item each (TTL: the retention after the request), BatchWriteItem 25 a
/// call with unprocessed items retried with backoff, then one UpdateItem per directory and hour
/// for the counters. Records of a directory that does not exist are dropped: a request with any
/// made-up directory id must not create items. Idempotent per record (its key is its time and
/// request id), so a batch retried after a failure writes each record once; the counters of a
/// retried batch count it twice.
pub async fn record(svc: &Service, records: Vec<RequestRecord>) -> Result<Recorded, StoreError> {
    // The request-log function's calls (the IAM proof holds them against its role), whichever
    // feed runs it: the CloudWatch-fed function, or the local pipeline standing for it.
    caller::scope(Function::RequestLog.name(), store_records(svc, records)).await
}

async fn store_records(svc: &Service, records: Vec<RequestRecord>) -> Result<Recorded, StoreError> {
    let days = retention_days();
    let mut done = Recorded::default();
    let mut items = Vec::with_capacity(records.len());
    let mut hours: BTreeMap<(String, String), HourCounts> = BTreeMap::new();
    for r in records {
        if !known_directory(svc, &r.directory_id).await? {
            done.dropped += 1;
            continue;
        }
        let r = r.bounded();
        let at_secs = (r.at_millis() / 1000).max(0) as u64;
        let item = svc.store.request_log_item(&r, at_secs + days * 86_400)?;
        let size: usize = item.iter().map(|(k, v)| k.len() + value_len(v)).sum();
        if size > MAX_ITEM_BYTES {
            tracing::warn!(directory = %r.directory_id, size, "request log record too large; dropped");
            done.dropped += 1;
            continue;
        }
        items.push(item);
        let hour = clock::format_rfc3339(r.at_millis())[..13].to_string();
        let counts = hours.entry((r.directory_id.clone(), hour)).or_default();
        let latest = |slot: &mut Option<String>| {
            if slot.as_deref().is_none_or(|at| at < r.at.as_str()) {
                *slot = Some(r.at.clone());
            }
        };
        match StatusClass::of(r.status) {
            StatusClass::Success => {
                counts.c2xx += 1;
                latest(&mut counts.last_success_at);
            }
            StatusClass::ClientError => {
                counts.c4xx += 1;
                latest(&mut counts.last_failure_at);
            }
            StatusClass::ServerError => {
                counts.c5xx += 1;
                latest(&mut counts.last_failure_at);
            }
        }
    }
    done.stored = items.len();
    svc.store.put_request_log(items).await?;
    for ((dir, hour), counts) in hours {
        let expires = clock::parse_rfc3339(&format!("{hour}:00:00Z")).unwrap_or(0) / 1000;
        svc.store
            .count_requests(
                &dir,
                &hour,
                &counts,
                expires.max(0) as u64 + COUNTERS_TTL_SECS,
            )
            .await?;
    }
    Ok(done)
}

fn value_len(v: &aws_sdk_dynamodb::types::AttributeValue) -> usize {
    v.as_s()
        .map(String::len)
        .or_else(|_| v.as_n().map(String::len))
        .unwrap_or(0)
}

/// `SCIM_REQUEST_LOG_DAYS`, else 30.
fn retention_days() -> u64 {
    std::env::var(ENV_RETENTION_DAYS)
        .ok()
        .and_then(|d| d.parse().ok())
        .filter(|d| *d > 0)
        .unwrap_or(DEFAULT_RETENTION_DAYS)
}

/// Whether a directory exists, remembered for a while (a writer sees the same few directories
/// in batch after batch): 10 minutes when it does, one when it does not.
async fn known_directory(svc: &Service, dir: &str) -> Result<bool, StoreError> {
    static SEEN: Mutex<Option<HashMap<String, (bool, Instant)>>> = Mutex::new(None);
    let fresh = |(exists, at): (bool, Instant)| {
        let ttl = if exists { 600 } else { 60 };
        (at.elapsed() < Duration::from_secs(ttl)).then_some(exists)
    };
    let cached = SEEN
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(dir).copied()))
        .and_then(fresh);
    if let Some(exists) = cached {
        return Ok(exists);
    }
    let exists = svc.store.get_directory(dir).await?.is_some();
    if let Ok(mut m) = SEEN.lock() {
        let m = m.get_or_insert_with(HashMap::new);
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(dir.to_string(), (exists, Instant::now()));
    }
    Ok(exists)
}

/// Where a read continues: opaque to clients (the sort key of the last record read, in
/// base64url), checked when it is parsed so that no string a client sends reaches a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestCursor(String);

impl RequestCursor {
    pub fn parse(text: &str) -> Option<RequestCursor> {
        let sk = String::from_utf8(B64.decode(text).ok()?).ok()?;
        keys::SortKey::parse(&sk)
            .filter(|k| matches!(k, keys::SortKey::RequestLog { .. }))
            .map(|_| RequestCursor(sk))
    }

    fn encode(sk: &str) -> String {
        B64.encode(sk)
    }
}

/// A page of a directory's request log, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RequestPage {
    pub data: Vec<RequestRecord>,
    /// The provider the directory is set up for (each record's `idp` is what its user agent
    /// says).
    pub provider: Option<Provider>,
    /// `after`: pass it to read older records; `null` at the end.
    pub list_metadata: ListMetadata,
}

/// Records of `dir` matching `filter`, newest first, at most `limit`, after `after`.
pub async fn list(
    svc: &Service,
    dir: &str,
    filter: &RequestFilter,
    after: Option<&RequestCursor>,
    limit: usize,
) -> Result<RequestPage, ManagementError> {
    let d = directory(svc, dir).await?;
    let page = svc
        .store
        .request_log(dir, filter, after.map(|c| c.0.as_str()), limit)
        .await?;
    Ok(RequestPage {
        data: page.records,
        provider: d.provider,
        list_metadata: ListMetadata {
            after: page.next.as_deref().map(RequestCursor::encode),
        },
    })
}

enum Message {
    Record(Box<RequestRecord>),
    Flush(oneshot::Sender<()>),
}

/// The in-process request log feed (`scim-local`, tests): the edge hands each record over a
/// channel without waiting; one task writes them with [`record`], every `every` or as soon as
/// [`BATCH`] are waiting. [`Pipeline::flush`] returns once everything sent before it is written,
/// so a test reads the log without sleeping.
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::Sender<Message>,
}

impl Pipeline {
    /// Starts the writer task (on the current Tokio runtime).
    pub fn start(svc: Service, every: Duration) -> Pipeline {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(svc, rx, every));
        Pipeline { tx }
    }

    /// Hands a record to the writer; never waits (a full queue drops it, logged).
    pub fn send(&self, r: RequestRecord) {
        if self.tx.try_send(Message::Record(Box::new(r))).is_err() {
            tracing::warn!("request log queue full or closed; a record was dropped");
        }
    }

    /// Waits until every record sent before this call is written (or failed, logged).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn run(svc: Service, mut rx: mpsc::Receiver<Message>, every: Duration) {
    let mut batch = Vec::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(Message::Record(r)) => {
                    batch.push(*r);
                    if batch.len() >= BATCH {
                        write(&svc, &mut batch).await;
                    }
                }
                Some(Message::Flush(done)) => {
                    write(&svc, &mut batch).await;
                    let _ = done.send(());
                }
                None => {
                    write(&svc, &mut batch).await;
                    return;
                }
            },
            _ = tick.tick() => write(&svc, &mut batch).await,
        }
    }
}

/// Writes what waits; a failure is logged and the batch given up (the log is a diagnostic: it
/// must never hold memory or requests hostage).
async fn write(svc: &Service, batch: &mut Vec<RequestRecord>) {
    if batch.is_empty() {
        return;
    }
    let records = std::mem::take(batch);
    let count = records.len();
    if let Err(e) = record(svc, records).await {
        tracing::warn!(count, error = %chain(&e), "request log batch not written");
    }
}
