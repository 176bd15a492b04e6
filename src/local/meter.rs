//! A metering layer in front of any DynamoDB endpoint: an HTTP proxy on loopback that forwards each
//! DynamoDB call unchanged except that it asks for `ReturnConsumedCapacity: TOTAL`, and records per
//! call the operation, the items read and written, and the read/write request units as DynamoDB
//! itself reports them (`ConsumedCapacity`, not estimates). The benchmark's per-operation table and
//! the test suite's cost budgets both read it, so a change that adds a round trip or reads more
//! items shows up as a number, whatever the store code looks like.
//!
//! It sits outside the SDK on purpose: it sees exactly the requests that leave the process
//! (retries included), and the store needs no instrumentation of its own.
//!
//! It is also the fault layer of the tests ([`Fault`]): it can cut a request off at its Nth
//! DynamoDB call as if the Lambda died there (with or without that call's write landing), throttle
//! calls, and cancel transactions with `TransactionConflict` — the failures the emulator itself
//! never produces.
//!
//! And it can model DynamoDB ([`DynamoModel`], off unless asked for: [`MeterBuilder::model`],
//! [`Meter::set_model`], or `SCIM_DYNAMODB_MODEL_MS` where a binary reads it): a latency per call
//! and DynamoDB's transaction conflict rules between calls in flight at once, so that contention
//! behaves locally as it would in AWS (`model.rs`).

mod model;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use super::reply;
use crate::store::capacity;
use serde_json::Value;

pub use model::{BadModelSetting, DynamoModel, DEFAULT_LATENCY, ENV_MODEL_MS};

/// One DynamoDB call as it crossed the wire.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Call {
    /// `GetItem`, `Query`, `TransactWriteItems`, ...
    pub operation: String,
    pub status: u16,
    /// Items returned or evaluated (Query/Scan: `ScannedCount`), plus transaction condition checks.
    pub items_read: u64,
    /// Items put, updated or deleted.
    pub items_written: u64,
    pub read_units: f64,
    pub write_units: f64,
    /// DynamoDB's error code when the call failed (`TransactionCanceledException`,
    /// `ConditionalCheckFailedException`, `TransactionConflictException`, ...).
    pub error: Option<String>,
    /// A cancelled transaction's reasons, one per item (`None`, `ConditionalCheckFailed`,
    /// `TransactionConflict`, ...).
    pub reasons: Vec<String>,
    /// How long the model held the call before DynamoDB saw it (zero without a model).
    pub delay: Duration,
    /// When the call reached the meter and when its answer left it.
    pub span: Option<(Instant, Instant)>,
}

/// The calls of one stretch of work (see [`Meter::take`]).
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub calls: Vec<Call>,
}

impl Usage {
    /// The calls made (each one a round trip to DynamoDB).
    pub fn round_trips(&self) -> usize {
        self.calls.len()
    }
    /// The round trips a request waited for one after another: the longest chain of calls each
    /// of which started after the one before it had answered. Calls made side by side count once
    /// (a call without a recorded span counts as one of its own).
    pub fn in_sequence(&self) -> usize {
        let mut spans: Vec<(Instant, Instant)> = self.calls.iter().filter_map(|c| c.span).collect();
        let unspanned = self.calls.len() - spans.len();
        spans.sort();
        // chain[i]: the longest chain ending with call i.
        let mut chain: Vec<usize> = Vec::with_capacity(spans.len());
        for (i, (start, _)) in spans.iter().enumerate() {
            let before = (0..i)
                .filter(|&j| spans[j].1 <= *start)
                .map(|j| chain[j])
                .max()
                .unwrap_or(0);
            chain.push(before + 1);
        }
        chain.into_iter().max().unwrap_or(0) + unspanned
    }
    pub fn items_read(&self) -> u64 {
        self.calls.iter().map(|c| c.items_read).sum()
    }
    pub fn items_written(&self) -> u64 {
        self.calls.iter().map(|c| c.items_written).sum()
    }
    pub fn read_units(&self) -> f64 {
        self.calls.iter().map(|c| c.read_units).sum()
    }
    pub fn write_units(&self) -> f64 {
        self.calls.iter().map(|c| c.write_units).sum()
    }
    /// The operations in call order, e.g. `["GetItem", "TransactWriteItems"]`.
    pub fn operations(&self) -> Vec<&str> {
        self.calls.iter().map(|c| c.operation.as_str()).collect()
    }
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls ({} round trips in sequence) {:?}, {} items read, {} written, {:.1} RRU, {:.1} WRU",
            self.round_trips(),
            self.in_sequence(),
            self.operations(),
            self.items_read(),
            self.items_written(),
            self.read_units(),
            self.write_units()
        )
    }
}

/// What the meter does with the `ClientRequestToken` the SDK puts on every TransactWriteItems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyTokens {
    /// Pass them on: the emulator then replays a retried transaction as DynamoDB does.
    Forward,
    /// Drop them (the benchmark only). dynoxide 3.2 keeps every token for 10 minutes and scans
    /// that whole cache on each transaction, so under a sustained import every transaction costs
    /// time in proportion to the transactions of the last 10 minutes (measured: an import slowed
    /// from 3 to 8 ms per user over 80,000 users). DynamoDB has no such cost, and the benchmark's
    /// requests are never retried against the emulator, so the benchmark measures without it.
    Drop,
}

/// A failure the meter injects, counted from [`Meter::inject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// From call number `at` (1-based) on, every call fails as if the process had died there.
    /// `delivered`: call `at` reaches DynamoDB first (its write lands, its answer is lost).
    Crash { at: usize, delivered: bool },
    /// Calls `at .. at + count` answer `ThrottlingException` (the SDK retries those).
    Throttle { at: usize, count: usize },
    /// Every call is throttled (transactions are cancelled for throttling) until cleared.
    ThrottleAll,
    /// Every `every`-th TransactWriteItems is cancelled with `TransactionConflict`, as DynamoDB
    /// does when another transaction holds one of its items.
    Conflicts { every: usize },
}

#[derive(Debug, Default)]
struct Faults {
    fault: Option<Fault>,
    calls: usize,
    transactions: usize,
}

/// What the meter does with one call.
enum Action {
    Forward,
    /// Forward, then answer as a crash would (the write landed, the caller never hears).
    ForwardThenCrash,
    Answer(u16, Value),
}

const ERROR_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";

/// The proxy: point a `Store` at [`Meter::endpoint`] instead of the real endpoint.
pub struct Meter {
    endpoint: String,
    calls: Mutex<Vec<Call>>,
    tokens: IdempotencyTokens,
    faults: Mutex<Faults>,
    model: Mutex<Option<DynamoModel>>,
    in_flight: Arc<model::InFlight>,
    keep_calls: bool,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// How a [`Meter`] starts: [`Meter::builder`].
pub struct MeterBuilder {
    upstream: String,
    tokens: IdempotencyTokens,
    model: Option<DynamoModel>,
    keep_calls: bool,
}

impl MeterBuilder {
    /// What to do with transactions' idempotency tokens (default: forward them).
    pub fn tokens(mut self, tokens: IdempotencyTokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// Models DynamoDB's latency and transaction conflicts (default: no model).
    pub fn model(mut self, model: DynamoModel) -> Self {
        self.model = Some(model);
        self
    }

    /// Whether each call is kept for [`Meter::take`] (default: yes). A long-running server that
    /// only wants the model says no, or the record would grow with every call.
    pub fn keep_calls(mut self, keep: bool) -> Self {
        self.keep_calls = keep;
        self
    }

    /// Starts the proxy on an ephemeral loopback port.
    pub async fn start(self) -> std::io::Result<Arc<Meter>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let meter = Arc::new(Meter {
            endpoint: format!("http://{}", listener.local_addr()?),
            calls: Mutex::new(Vec::new()),
            tokens: self.tokens,
            faults: Mutex::default(),
            model: Mutex::new(self.model),
            in_flight: Arc::default(),
            keep_calls: self.keep_calls,
        });
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let upstream: Arc<str> = self.upstream.trim_end_matches('/').into();
        let m = Arc::clone(&meter);
        tokio::spawn(super::serve_http(
            listener,
            Arc::new(move |req| {
                let (m, client, upstream) = (Arc::clone(&m), client.clone(), Arc::clone(&upstream));
                async move { m.forward(&client, &upstream, req).await }
            }),
        ));
        Ok(meter)
    }
}

impl Meter {
    /// A meter forwarding to `upstream` (`http://host:port`).
    pub fn builder(upstream: &str) -> MeterBuilder {
        MeterBuilder {
            upstream: upstream.to_string(),
            tokens: IdempotencyTokens::Forward,
            model: None,
            keep_calls: true,
        }
    }

    /// Starts a meter without a model, forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, tokens: IdempotencyTokens) -> std::io::Result<Arc<Meter>> {
        Meter::builder(upstream).tokens(tokens).start().await
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Turns the DynamoDB model on (or off, `None`) for the calls that arrive from now on.
    pub fn set_model(&self, model: Option<DynamoModel>) {
        *self
            .model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = model;
    }

    pub fn model(&self) -> Option<DynamoModel> {
        *self
            .model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Items that calls in flight hold under the model right now (a test waits for a call to be
    /// in flight with it).
    pub fn items_in_flight(&self) -> usize {
        self.in_flight.held()
    }

    /// Injects `fault` (replacing any other), counting calls from now.
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut f) = self.faults.lock() {
            *f = Faults {
                fault: Some(fault),
                ..Faults::default()
            };
        }
    }

    /// Stops injecting faults.
    pub fn clear(&self) {
        if let Ok(mut f) = self.faults.lock() {
            *f = Faults::default();
        }
    }

    fn action(&self, operation: &str, request: &Value) -> Action {
        let Ok(mut f) = self.faults.lock() else {
            return Action::Forward;
        };
        f.calls += 1;
        let is_tx = operation == "TransactWriteItems";
        if is_tx {
            f.transactions += 1;
        }
        let crash = || {
            Action::Answer(
                400,
                error_body("InjectedCrash", "the process died here (injected)"),
            )
        };
        let throttle = || {
            Action::Answer(
                400,
                error_body(
                    "ThrottlingException",
                    "Rate of requests exceeds the allowed throughput.",
                ),
            )
        };
        let cancel = |code: &str| {
            let n = request["TransactItems"].as_array().map_or(1, Vec::len);
            Action::Answer(400, cancellation(&vec![code; n]))
        };
        match f.fault {
            None => Action::Forward,
            Some(Fault::Crash { at, delivered }) => match f.calls.cmp(&at) {
                std::cmp::Ordering::Less => Action::Forward,
                std::cmp::Ordering::Equal if delivered => Action::ForwardThenCrash,
                _ => crash(),
            },
            Some(Fault::Throttle { at, count }) if (at..at + count).contains(&f.calls) => {
                throttle()
            }
            Some(Fault::Throttle { .. }) => Action::Forward,
            Some(Fault::ThrottleAll) if is_tx => cancel("ThrottlingError"),
            Some(Fault::ThrottleAll) => throttle(),
            Some(Fault::Conflicts { every }) if is_tx && f.transactions % every.max(1) == 0 => {
                cancel("TransactionConflict")
            }
            Some(Fault::Conflicts { .. }) => Action::Forward,
        }
    }

    /// The calls recorded since the last `take`.
    pub fn take(&self) -> Usage {
        let calls = self
            .calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        Usage { calls }
    }

    async fn forward(
        &self,
        client: &HttpClient,
        upstream: &str,
        req: hyper::Request<Incoming>,
    ) -> hyper::Response<Full<Bytes>> {
        let started = Instant::now();
        let (mut parts, body) = req.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return reply(400, None, Bytes::from_static(b"unreadable request body"));
        };
        let operation = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_string();
        let mut request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let body = match request.as_object_mut() {
            Some(obj) if capacity::reports_capacity(&operation) => {
                obj.entry("ReturnConsumedCapacity")
                    .or_insert_with(|| Value::String("TOTAL".into()));
                if self.tokens == IdempotencyTokens::Drop {
                    obj.remove("ClientRequestToken");
                }
                Bytes::from(request.to_string())
            }
            _ => body,
        };
        let action = self.action(&operation, &request);
        if let Action::Answer(status, body) = &action {
            self.record(account(&operation, *status, &request, body), started);
            let bytes = Bytes::from(body.to_string());
            return reply(*status, Some("application/x-amz-json-1.0"), bytes);
        }
        if operation == "CreateTable" {
            let table = request["TableName"].as_str().unwrap_or("");
            self.in_flight.learn_schema(table, &request["KeySchema"]);
        }
        // Under the model: hold the call as long as DynamoDB would take, its items registered
        // meanwhile (`model.rs`: that is the window in which DynamoDB's calls conflict). The
        // emulator's own time is not DynamoDB's: the items are free again once the call goes on.
        let delay = match self.model() {
            None => Duration::ZERO,
            Some(model) => {
                for table in self.in_flight.tables_to_describe(&operation, &request) {
                    self.describe(client, upstream, &parts.headers, &table)
                        .await;
                }
                match self.in_flight.admit(&operation, &request) {
                    model::Admission::Refuse(body) => {
                        tokio::time::sleep(model.latency).await;
                        let mut call = account(&operation, 400, &request, &body);
                        call.delay = model.latency;
                        self.record(call, started);
                        let bytes = Bytes::from(body.to_string());
                        return reply(400, Some("application/x-amz-json-1.0"), bytes);
                    }
                    model::Admission::Proceed(hold) => {
                        let delay = model.hold_for(&operation);
                        // Not even a timer tick at 0 ms (tokio's timer rounds up to 1 ms).
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        drop(hold);
                        delay
                    }
                }
            }
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let Ok(uri) = format!("{upstream}{path}").parse() else {
            return reply(502, None, Bytes::from_static(b"bad upstream"));
        };
        parts.uri = uri;
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
        parts.headers.remove(hyper::header::HOST);
        let resp = match client
            .request(hyper::Request::from_parts(parts, Full::new(body)))
            .await
        {
            Ok(r) => r,
            Err(e) => return reply(502, None, Bytes::from(format!("upstream: {e}"))),
        };
        let (mut parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let response: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut call = account(&operation, parts.status.as_u16(), &request, &response);
        call.delay = delay;
        self.record(call, started);
        if let Action::ForwardThenCrash = action {
            let crash = error_body(
                "InjectedCrash",
                "the process died after this call (injected)",
            );
            return reply(
                400,
                Some("application/x-amz-json-1.0"),
                Bytes::from(crash.to_string()),
            );
        }
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
        hyper::Response::from_parts(parts, Full::new(body))
    }
}

impl Meter {
    /// Learns `table`'s key attributes from the emulator (the model names a whole item written by
    /// its key). The call is the meter's own: it is not recorded. The caller's signature headers
    /// go with it: the emulator checks that they are there, not what they sign.
    async fn describe(
        &self,
        client: &HttpClient,
        upstream: &str,
        headers: &hyper::HeaderMap,
        table: &str,
    ) {
        let mut req = hyper::Request::post(format!("{upstream}/"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "DynamoDB_20120810.DescribeTable");
        for name in ["authorization", "x-amz-date"] {
            if let Some(v) = headers.get(name) {
                req = req.header(name, v);
            }
        }
        let body = Full::new(Bytes::from(
            serde_json::json!({ "TableName": table }).to_string(),
        ));
        let Ok(req) = req.body(body) else { return };
        let Ok(resp) = client.request(req).await else {
            return;
        };
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let described: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.in_flight
            .learn_schema(table, &described["Table"]["KeySchema"]);
    }

    fn record(&self, mut call: Call, started: Instant) {
        if !self.keep_calls {
            return;
        }
        call.span = Some((started, Instant::now()));
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }
}

/// A DynamoDB error answer as the service sends it.
fn error_body(kind: &str, message: &str) -> Value {
    serde_json::json!({"__type": format!("{ERROR_PREFIX}{kind}"), "message": message})
}

/// DynamoDB's answer to a cancelled transaction: one reason per item, in the request's order,
/// and the same list in the message (what SDKs other than Java's show).
fn cancellation(codes: &[&str]) -> Value {
    let mut body = error_body(
        "TransactionCanceledException",
        &format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
    );
    body["CancellationReasons"] = codes
        .iter()
        .map(|code| match *code {
            "TransactionConflict" => serde_json::json!({"Code": code,
                "Message": "Transaction is ongoing for the item"}),
            _ => serde_json::json!({"Code": code}),
        })
        .collect();
    body
}

fn len(v: &Value) -> u64 {
    v.as_array().map_or(0, |a| a.len() as u64)
}

fn sum_lens(v: &Value) -> u64 {
    v.as_object().map_or(0, |m| m.values().map(len).sum())
}

/// What one call read, wrote and consumed, from its request and DynamoDB's answer.
fn account(op: &str, status: u16, request: &Value, response: &Value) -> Call {
    let mut call = Call {
        operation: op.to_string(),
        status,
        ..Call::default()
    };
    (call.read_units, call.write_units) = capacity::units(op, response);
    if status != 200 {
        call.error = response["__type"]
            .as_str()
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string());
        call.reasons = response["CancellationReasons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["Code"].as_str().unwrap_or("None").to_string())
            .collect();
        return call;
    }
    match op {
        "GetItem" => call.items_read = u64::from(response.get("Item").is_some()),
        "Query" | "Scan" => call.items_read = response["ScannedCount"].as_u64().unwrap_or(0),
        "BatchGetItem" => call.items_read = sum_lens(&response["Responses"]),
        "TransactGetItems" => {
            call.items_read = response["Responses"]
                .as_array()
                .map_or(0, |r| r.iter().filter(|i| i.get("Item").is_some()).count())
                as u64
        }
        "PutItem" | "UpdateItem" | "DeleteItem" => call.items_written = 1,
        "BatchWriteItem" => {
            call.items_written = sum_lens(&request["RequestItems"])
                .saturating_sub(sum_lens(&response["UnprocessedItems"]))
        }
        "TransactWriteItems" => {
            let items = request["TransactItems"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            let checks = items
                .iter()
                .filter(|i| i.get("ConditionCheck").is_some())
                .count() as u64;
            call.items_read = checks;
            call.items_written = items.len() as u64 - checks;
        }
        _ => {}
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transaction_counts_condition_checks_as_reads_and_the_rest_as_writes() {
        let req = json!({"TransactItems": [{"Put": {}}, {"ConditionCheck": {}}, {"Delete": {}}]});
        let resp = json!({"ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 6.0,
            "ReadCapacityUnits": 2.0, "WriteCapacityUnits": 4.0}]});
        let c = account("TransactWriteItems", 200, &req, &resp);
        assert_eq!((c.items_read, c.items_written), (1, 2));
        assert_eq!((c.read_units, c.write_units), (2.0, 4.0));
    }

    #[test]
    fn batch_write_does_not_count_unprocessed_items() {
        let req = json!({"RequestItems": {"t": [{}, {}, {}]}});
        let resp = json!({"UnprocessedItems": {"t": [{}]}});
        assert_eq!(account("BatchWriteItem", 200, &req, &resp).items_written, 2);
    }

    #[test]
    fn query_reads_what_it_scanned_and_a_failed_call_counts_nothing() {
        let resp =
            json!({"Count": 1, "ScannedCount": 7, "ConsumedCapacity": {"CapacityUnits": 1.5}});
        let c = account("Query", 200, &json!({}), &resp);
        assert_eq!((c.items_read, c.read_units), (7, 1.5));
        let c = account("PutItem", 400, &json!({}), &json!({}));
        assert_eq!((c.items_written, c.write_units), (0, 0.0));
    }

    /// Calls side by side count once in sequence; a call after another's answer counts again.
    #[test]
    fn round_trips_in_sequence_count_calls_side_by_side_once() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let call = |from: u64, to: u64| Call {
            span: Some((at(from), at(to))),
            ..Call::default()
        };
        let usage = |calls: Vec<Call>| Usage { calls }.in_sequence();
        assert_eq!(usage(vec![]), 0);
        // A read beside a Query, then a transaction beside a BatchGet that needed the Query.
        let beside = vec![call(0, 10), call(1, 9), call(10, 30), call(9, 20)];
        assert_eq!(usage(beside), 2);
        // The same four one after another.
        let sequential = vec![call(0, 10), call(10, 20), call(20, 30), call(30, 40)];
        assert_eq!(usage(sequential), 4);
        // A call with no span (a `Call` built by hand) counts alone.
        assert_eq!(usage(vec![call(0, 10), Call::default()]), 2);
    }
}
