//! What the SCIM request log costs per million SCIM requests (docs/request-log.md, "Cost"),
//! computed from what this code really writes: an IdP's requests are served by the Lambda
//! handlers (no in-process pipeline, as in AWS), the record lines they print are measured, put
//! in a CloudWatch Logs subscription payload (gzip, base64) and stored by the request-log
//! function's handler against the embedded DynamoDB, whose consumed capacity the meter reads.
//! Prices are us-east-1 list prices at the time of writing; the writer's duration is a model
//! (DynamoDB round trips of `--call-ms` each), since only AWS can time it.
//!
//! `cargo run --features local --example log_cost [-- --batches 1,10,100 --call-ms 10]`

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use clap::Parser;
use lambda_http::{Body, Request};
use scim_lambda::api::App;
use scim_lambda::function::Function;
use scim_lambda::local::embedded;
use scim_lambda::local::meter::{IdempotencyTokens, Meter};
use scim_lambda::request_log::RequestRecord;
use scim_lambda::service::{directories, PublicUrl, Service};
use scim_lambda::store::{Store, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE};
use serde_json::{json, Value};

/// DynamoDB on-demand, per million write request units (https://aws.amazon.com/dynamodb/pricing/).
const DYNAMODB_PER_MILLION_WRU: f64 = 0.625;
/// DynamoDB standard table class storage, per GB-month.
const DYNAMODB_PER_GB_MONTH: f64 = 0.25;
/// CloudWatch Logs, Standard class ingestion, per GB (https://aws.amazon.com/cloudwatch/pricing/).
const LOGS_PER_GB: f64 = 0.50;
/// Lambda on arm64, per GB-second and per million requests (https://aws.amazon.com/lambda/pricing/).
const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
/// The request-log function's memory (template.yaml Globals MemorySize), in GB.
const WRITER_MEMORY_GB: f64 = 0.25;

#[derive(Parser)]
struct Args {
    /// Records per invocation of the writer to price (CloudWatch Logs batches a log stream's
    /// lines: one per invocation when requests trickle in, hundreds under an import).
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    batches: Vec<usize>,
    /// Assumed time of one DynamoDB round trip from Lambda, in ms.
    #[arg(long, default_value_t = 10.0)]
    call_ms: f64,
    /// Assumed time of an invocation outside its DynamoDB calls (decode, parse), in ms.
    #[arg(long, default_value_t = 2.0)]
    base_ms: f64,
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn request(method: &str, path: &str, token: &str, body: Option<Value>) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
        .expect("a valid request")
}

/// An Okta-style provisioning run: look up, create, read, update, deactivate users; create a
/// group and push its members; a conflict, a missing user and a wrong token among them.
async fn provision(app: &App, dir: &str, token: &str) -> Vec<(Function, u16)> {
    let v2 = |p: &str| format!("/scim/v2/{dir}{p}");
    let user = |i: usize| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@example.com"), "active": true,
        "name": {"givenName": "Ada", "familyName": format!("Lovelace{i}")},
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "externalId": format!("00u{i:017}"), "password": "Tr0ub4dor&3"})
    };
    let mut served = Vec::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let filter = format!("/Users?filter=userName%20eq%20%22user{i}%40example.com%22");
        for (f, req) in [
            (Function::Users, request("GET", &v2(&filter), token, None)),
            (
                Function::Users,
                request("POST", &v2("/Users"), token, Some(user(i))),
            ),
        ] {
            let resp = scim_lambda::api::handle(app, f, req).await;
            served.push((f, resp.status().as_u16()));
            if resp.status() == 201 {
                let body: Value = match resp.body() {
                    Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
                    Body::Binary(b) => serde_json::from_slice(b).unwrap_or_default(),
                    _ => Value::Null,
                };
                ids.extend(body["id"].as_str().map(str::to_string));
            }
        }
    }
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let mut rest = vec![
        (
            Function::Users,
            request("POST", &v2("/Users"), token, Some(user(0))),
        ),
        (
            Function::Users,
            request(
                "GET",
                &v2("/Users/0190a0b0-0000-7000-8000-000000000000"),
                token,
                None,
            ),
        ),
        (
            Function::Users,
            request("GET", &v2("/Users"), "scim_sk_00000000deadbeef", None),
        ),
        (
            Function::Groups,
            request(
                "POST",
                &v2("/Groups"),
                token,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Engineering", "members": members}),
                ),
            ),
        ),
        (
            Function::Discovery,
            request("GET", &v2("/ServiceProviderConfig"), token, None),
        ),
    ];
    for id in ids.iter().take(5) {
        rest.push((
            Function::Users,
            request("GET", &v2(&format!("/Users/{id}")), token, None),
        ));
        rest.push((
            Function::Users,
            request(
                "PATCH",
                &v2(&format!("/Users/{id}")),
                token,
                Some(deactivate.clone()),
            ),
        ));
    }
    for (f, req) in rest {
        let resp = scim_lambda::api::handle(app, f, req).await;
        served.push((f, resp.status().as_u16()));
    }
    served
}

fn payload(lines: &[&str]) -> aws_lambda_events::cloudwatch_logs::LogsEvent {
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"id": i.to_string(), "timestamp": 0, "message": l}))
        .collect();
    let data = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012",
        "logGroup": "UsersLogs", "logStream": "s", "subscriptionFilters": ["f"],
        "logEvents": events});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).expect("gzip");
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
    serde_json::from_str(&json!({"awslogs": {"data": data}}).to_string()).expect("a payload")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let captured = Captured::default();
    let writer = captured.clone();
    scim_lambda::telemetry::init_with_writer(move || writer.clone());

    let upstream = embedded::start(&embedded::Storage::Memory).await?;
    let meter = Meter::start(&upstream, IdempotencyTokens::Drop).await?;
    let store = Store::local(meter.endpoint(), DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
    store.create_tables().await?;
    let svc = Service::new(store.clone());
    let base = PublicUrl::new("https://api.example.com");
    let d = directories::create(&svc, &base, "cost", None, None).await?;
    let app = App::new(store, None);
    let start = captured.0.lock().expect("capture").len();
    let served = provision(&app, &d.directory.id, &d.token).await;

    let text = String::from_utf8(captured.0.lock().expect("capture")[start..].to_vec())?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| RequestRecord::from_log_line(l).is_some())
        .collect();
    assert_eq!(lines.len(), served.len(), "one record line per request");
    let line_bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mean_line = line_bytes as f64 / lines.len() as f64;

    // Every record in one payload, as under load. Its directory lookup (a GetItem the writer
    // then caches for 10 minutes) is a read, negligible and not priced; the counter update is
    // priced per batch below.
    meter.take();
    let done = scim_lambda::workers::record_logs(&svc, &payload(&lines)).await?;
    assert_eq!(done.stored, lines.len());
    let usage = meter.take();
    let put: f64 = usage
        .calls
        .iter()
        .filter(|c| c.operation == "BatchWriteItem")
        .map(|c| c.write_units)
        .sum();
    let counters: f64 = usage
        .calls
        .iter()
        .filter(|c| c.operation == "UpdateItem")
        .map(|c| c.write_units)
        .sum();
    let wru_per_record = put / lines.len() as f64;
    let items: Vec<f64> = lines
        .iter()
        .filter_map(|l| RequestRecord::from_log_line(l))
        .map(|r| serde_json::to_string(&r).map_or(0, |j| j.len()) as f64)
        .collect();
    let mean_record = items.iter().sum::<f64>() / items.len() as f64;

    let mut statuses: Vec<u16> = served.iter().map(|(_, s)| *s).collect();
    statuses.sort();
    statuses.dedup();
    println!(
        "measured: {} requests (statuses {statuses:?}); record line {mean_line:.0} bytes on average; \
         record JSON {mean_record:.0} bytes; {wru_per_record:.2} WRU per record put \
         ({put} WRU in {} BatchWriteItem calls), {counters} WRU for the hour's counters",
        lines.len(),
        usage.operations().iter().filter(|o| **o == "BatchWriteItem").count(),
    );
    println!(
        "prices: us-east-1 list prices at the time of writing: DynamoDB on-demand ${DYNAMODB_PER_MILLION_WRU}/M WRU, \
         ${DYNAMODB_PER_GB_MONTH}/GB-month; CloudWatch Logs ingestion ${LOGS_PER_GB}/GB; Lambda arm64 \
         ${LAMBDA_PER_GB_SECOND}/GB-s + ${LAMBDA_PER_MILLION_REQUESTS}/M requests at {} MB; writer time \
         {} ms + {} ms per DynamoDB call (assumed)",
        (WRITER_MEMORY_GB * 1024.0) as u32,
        args.base_ms,
        args.call_ms
    );
    println!();
    println!("per million SCIM requests (each logged):");
    println!(
        "| records per invocation | WRU (records + counters) | DynamoDB $ | Logs GB | Logs $ | writer invocations | writer GB-s | Lambda $ | total $ |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &batch in &args.batches {
        let batch = batch.max(1) as f64;
        let wru = 1e6 * (wru_per_record + 1.0 / batch);
        let dynamodb = wru / 1e6 * DYNAMODB_PER_MILLION_WRU;
        let logs_gb = 1e6 * mean_line / 1e9;
        let logs = logs_gb * LOGS_PER_GB;
        let invocations = 1e6 / batch;
        // One GetItem per new directory is cached away; per invocation: the puts (25 a call)
        // and one counter update.
        let calls = (batch / 25.0).ceil() + 1.0;
        let ms = (args.base_ms + calls * args.call_ms).ceil();
        let gb_s = invocations * ms / 1000.0 * WRITER_MEMORY_GB;
        let lambda = gb_s * LAMBDA_PER_GB_SECOND + invocations / 1e6 * LAMBDA_PER_MILLION_REQUESTS;
        println!(
            "| {batch} | {wru:.0} | {dynamodb:.2} | {logs_gb:.2} | {logs:.2} | {invocations:.0} | {gb_s:.0} | {lambda:.2} | {:.2} |",
            dynamodb + logs + lambda
        );
    }
    let stored_gb = 1e6 * mean_record / 1e9;
    println!();
    println!(
        "storage: a million records hold about {stored_gb:.2} GB in the table while kept \
         (${:.2} per month at RequestLogRetentionDays 30), and the same lines in the SCIM \
         functions' log groups for LogRetentionDays",
        stored_gb * DYNAMODB_PER_GB_MONTH
    );
    Ok(())
}
