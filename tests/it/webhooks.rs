//! Webhook deliveries against a local receiver: signed (checked here with the Standard Webhooks
//! algorithm written out independently), in sequence order, retried, and resumable; the stream →
//! publisher path on the emulator's own stream; and the end-to-end latency figure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use scim_lambda::service::webhooks::Deliverer;
use serde_json::{json, Value};

use crate::support::Scim;

/// What the receiver got: (webhook-id, webhook-timestamp, webhook-signature, body, when).
type Got = (String, String, String, String, Instant);

/// A local HTTP receiver that answers 500 to the first `fail` requests, then 204.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
}

async fn receiver(fail: usize) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/scim", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let seen = Arc::new(Mutex::new(0usize));
    let g = Arc::clone(&got);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (g, seen) = (Arc::clone(&g), Arc::clone(&seen));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (g, seen) = (Arc::clone(&g), Arc::clone(&seen));
                        async move {
                            let h = |n: &str| {
                                req.headers()
                                    .get(n)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_string()
                            };
                            let (id, ts, sig) = (
                                h("webhook-id"),
                                h("webhook-timestamp"),
                                h("webhook-signature"),
                            );
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let body = String::from_utf8(body.to_vec()).unwrap();
                            g.lock().unwrap().push((id, ts, sig, body, Instant::now()));
                            let n = {
                                let mut s = seen.lock().unwrap();
                                *s += 1;
                                *s
                            };
                            let status = if n <= fail { 500 } else { 204 };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Receiver { url, got }
}

/// The receiver's side of Standard Webhooks: HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed
/// with the base64-decoded secret after `whsec_`, compared with each `v1,` signature.
fn verifies(secret: &str, id: &str, ts: &str, body: &str, header: &str) -> bool {
    let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = B64.encode(mac.finalize().into_bytes());
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

async fn register(s: &Scim, url: &str) -> String {
    let r = s
        .manage(
            "PUT",
            &format!("/directories/{}/webhook", s.directory),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["secret"].as_str().unwrap().to_string()
}

fn deliverer(s: &Scim) -> Deliverer {
    Deliverer::new(s.app.store().clone())
        .unwrap()
        .with_backoff(vec![Duration::from_millis(10), Duration::from_millis(20)])
}

#[tokio::test]
async fn deliveries_are_signed_ordered_retried_and_resumed() {
    let s = Scim::start().await;
    s.user("before@example.com").await;
    let rx = receiver(3).await;
    let secret = register(&s, &rx.url).await;
    // Registered now: earlier events are history (Events API), not deliveries.
    let u = s.user("ada@example.com").await;
    let g = s.group("Eng", &[u.as_str()]).await;
    let d = deliverer(&s);

    // The endpoint fails three times: one call's attempts run out, nothing moves, the failure
    // is recorded; the next call delivers everything in order.
    assert!(d.deliver(&s.directory).await.is_err());
    let state = s.app.store().delivery_state(&s.directory).await.unwrap();
    assert_eq!(state.last_error.as_deref(), Some("HTTP 500"));
    let sent = d.deliver(&s.directory).await.unwrap();
    assert_eq!(sent, 3);
    let got = rx.got.lock().unwrap().clone();
    // 3 failed attempts of the first event, then the three events.
    assert_eq!(got.len(), 6);
    let events: Vec<Value> = got[3..]
        .iter()
        .map(|g| serde_json::from_str(&g.3).unwrap())
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "dsync.user.created",
            "dsync.group.created",
            "dsync.group.user_added"
        ]
    );
    assert!(events
        .windows(2)
        .all(|w| w[0]["sequence"].as_u64() < w[1]["sequence"].as_u64()));
    assert_eq!(events[2]["data"]["group"]["id"], g.as_str());
    // Every attempt is signed, and a retry carries the same id (receivers dedupe on it).
    for (id, ts, sig, body, _) in &got {
        assert!(verifies(&secret, id, ts, body, sig), "{id} {sig}");
        assert!(!verifies(
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            id,
            ts,
            body,
            sig
        ));
    }
    assert_eq!(got[0].0, got[3].0);
    assert_eq!(got[0].0, events[0]["id"].as_str().unwrap());
    // Nothing new: nothing sent; the cursor is the last sequence delivered.
    assert_eq!(d.deliver(&s.directory).await.unwrap(), 0);
    let state = s.app.store().delivery_state(&s.directory).await.unwrap();
    assert_eq!(state.delivered, events[2]["sequence"].as_u64().unwrap());
    assert_eq!(state.last_error, None);
    // A second deliverer (another Lambda) while one holds the lease sends nothing twice.
    s.user("late@example.com").await;
    let other = deliverer(&s);
    let (a, b) = tokio::join!(d.deliver(&s.directory), other.deliver(&s.directory));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(rx.got.lock().unwrap().len(), 7);
}

#[tokio::test]
async fn local_deliveries_arrive_soon_after_the_scim_response() {
    let s = Scim::start().await;
    let rx = receiver(0).await;
    register(&s, &rx.url).await;
    tokio::spawn(scim_lambda::local::background::run(
        s.app.store().clone(),
        Duration::from_millis(20),
        Duration::ZERO,
    ));
    let mut latencies = Vec::new();
    for i in 0..20 {
        let before = rx.got.lock().unwrap().len();
        s.user(&format!("l{i}@example.com")).await;
        let answered = Instant::now();
        let arrived = loop {
            if let Some(g) = rx.got.lock().unwrap().get(before) {
                break g.4;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            assert!(answered.elapsed() < Duration::from_secs(10), "no delivery");
        };
        latencies.push(arrived.saturating_duration_since(answered));
    }
    latencies.sort();
    println!(
        "webhook latency after the SCIM response (local, 20 ms poll): median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    let got = rx.got.lock().unwrap();
    assert_eq!(got.len(), 20);
    let seqs: Vec<u64> = got
        .iter()
        .map(|g| {
            serde_json::from_str::<Value>(&g.3).unwrap()["sequence"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

/// The publisher's input is the table's stream: read it from the emulator (DynamoDB Streams
/// API) after some SCIM traffic and check the publisher turns it into exactly the Events API's
/// events, with the EventBridge entry fields the bus and the webhook rule rely on.
#[tokio::test]
async fn the_stream_carries_every_event_to_the_publisher() {
    let s = Scim::start().await;
    let store = s.app.store();
    store
        .client()
        .update_table()
        .table_name(store.table())
        .stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let before = store.sequence(&s.directory).await.unwrap();
    let u = s.user("s@example.com").await;
    s.group("Streamed", &[u.as_str()]).await;
    s.delete(&format!("/Users/{u}")).await;

    let records = stream_records(&s.endpoint(), store.table()).await;
    let published = scim_lambda::service::publisher::events_in(&json!({"Records": records}));
    let expected = store
        .events(&s.directory, before, 100, &[])
        .await
        .unwrap()
        .data;
    // activated, user created, group created, user added, user deleted.
    assert_eq!(expected.len(), 5);
    assert_eq!(published, expected);
    for e in &published {
        let entry = scim_lambda::service::publisher::entry("bus", e);
        assert_eq!(entry.detail_type(), Some(e.event.as_str()));
        let detail: Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
        assert_eq!(detail["directory_id"], s.directory.as_str());
        // What the webhook function reads from the queue message the rule sends.
        let message = json!({"Records": [{"messageId": "m1", "body": json!({
            "detail-type": e.event, "source": scim_lambda::service::publisher::SOURCE, "detail": detail
        }).to_string()}]});
        assert_eq!(
            scim_lambda::api::lambda::webhook_triggers(&message),
            vec![("m1".to_string(), s.directory.clone())]
        );
    }
}

/// Every record of every shard of the table's stream (DynamoDB Streams JSON API).
async fn stream_records(endpoint: &str, table: &str) -> Vec<Value> {
    let addr: std::net::SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
    let call = |target: &'static str, body: Value| async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = hyper::Request::post("/")
            .header("host", addr.to_string())
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            // The emulator wants a signed-looking request, as DynamoDB does.
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .header("x-amz-date", "20260101T000000Z")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{target}: {}", String::from_utf8_lossy(&bytes));
        v
    };
    let streams = call(
        "DynamoDBStreams_20120810.ListStreams",
        json!({"TableName": table}),
    )
    .await;
    let arn = streams["Streams"][0]["StreamArn"]
        .as_str()
        .unwrap()
        .to_string();
    let desc = call(
        "DynamoDBStreams_20120810.DescribeStream",
        json!({"StreamArn": arn}),
    )
    .await;
    let mut records = Vec::new();
    for shard in desc["StreamDescription"]["Shards"].as_array().unwrap() {
        let it = call(
            "DynamoDBStreams_20120810.GetShardIterator",
            json!({"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await;
        let mut iterator = it["ShardIterator"].clone();
        while iterator.is_string() {
            let page = call(
                "DynamoDBStreams_20120810.GetRecords",
                json!({"ShardIterator": iterator}),
            )
            .await;
            let got = page["Records"].as_array().cloned().unwrap_or_default();
            if got.is_empty() {
                break;
            }
            records.extend(got);
            iterator = page["NextShardIterator"].clone();
        }
    }
    records
}
