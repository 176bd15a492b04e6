//! Webhook deliveries against a local receiver: signed (checked here with the Standard Webhooks
//! algorithm written out independently), in sequence order, retried, and resumable; the stream →
//! publisher path on the emulator's own stream; and the end-to-end latency figure.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use scim_lambda::service::webhooks::target::{AddressClass, UrlError, UrlPolicy};
use scim_lambda::service::webhooks::{Deliverer, DeliveryError, Failure};
use scim_lambda::store::keys;
use serde_json::{json, Value};

use crate::support::Scim;

/// What the receiver got: (webhook-id, webhook-timestamp, webhook-signature, body, when).
type Got = (String, String, String, String, Instant);

/// A local HTTP receiver: `got` is every request, `connections` every TCP connection accepted.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    connections: Arc<AtomicUsize>,
}

type Answer = Arc<dyn Fn(usize, String) -> Pin<Box<dyn Future<Output = u16> + Send>> + Send + Sync>;

/// Answers 500 to the first `fail` requests, then 204.
async fn receiver(fail: usize) -> Receiver {
    receiver_answering(move |n, _| async move {
        if n <= fail {
            500
        } else {
            204
        }
    })
    .await
}

/// Answers the `n`th request (1-based), whose body is given, with the status `answer` returns.
async fn receiver_answering<F, Fut>(answer: F) -> Receiver
where
    F: Fn(usize, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = u16> + Send + 'static,
{
    let answer: Answer = Arc::new(move |n, body| Box::pin(answer(n, body)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/scim", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(0usize));
    let (g, c) = (Arc::clone(&got), Arc::clone(&connections));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let (g, seen, answer) = (Arc::clone(&g), Arc::clone(&seen), Arc::clone(&answer));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (g, seen, answer) =
                            (Arc::clone(&g), Arc::clone(&seen), Arc::clone(&answer));
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
                            g.lock()
                                .unwrap()
                                .push((id, ts, sig, body.clone(), Instant::now()));
                            let n = {
                                let mut s = seen.lock().unwrap();
                                *s += 1;
                                *s
                            };
                            let status = answer(n, body).await;
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
    Receiver {
        url,
        got,
        connections,
    }
}

/// A receiver written on the socket: it reads each POST, answers `200` and then sends a chunked
/// body that never ends, `chunk` bytes every `every`. Returns its URL and the requests it read.
async fn streaming_receiver(chunk: usize, every: Duration) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/scim", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&requests);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let r = Arc::clone(&r);
            tokio::spawn(async move {
                // The request: its head, then content-length bytes of body.
                let mut buf = Vec::new();
                let mut part = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut part).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&part[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = stream.read(&mut part).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&part[..n]);
                }
                r.fetch_add(1, Ordering::SeqCst);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let data = format!("{chunk:x}\r\n{}\r\n", "x".repeat(chunk));
                while stream.write_all(data.as_bytes()).await.is_ok() {
                    tokio::time::sleep(every).await;
                }
            });
        }
    });
    (url, requests)
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
    Deliverer::new(s.app.store().clone(), UrlPolicy::Local)
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
    let stream: aws_lambda_events::dynamodb::Event =
        serde_json::from_value(json!({ "Records": records })).unwrap();
    let published = scim_lambda::workers::records::events(&stream);
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
        let batch: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(message).unwrap();
        assert_eq!(
            scim_lambda::workers::records::webhook_triggers(&batch),
            vec![scim_lambda::workers::records::WebhookTrigger {
                message_id: "m1".into(),
                directory: s.directory.clone()
            }]
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

/// A test server whose directory has had its first SCIM request (which adds the directory's
/// activation event), so that a webhook registered next gets only the test's own events.
async fn started() -> Scim {
    let s = Scim::start().await;
    s.user("before@example.com").await;
    s
}

async fn webhook_state(s: &Scim) -> Value {
    let r = s
        .manage(
            "GET",
            &format!("/directories/{}/webhook", s.directory),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn sequence_of(got: &Got) -> u64 {
    serde_json::from_str::<Value>(&got.3).unwrap()["sequence"]
        .as_u64()
        .unwrap()
}

/// A receiver that always answers 413 to one event (too big for it) blocks the directory only
/// for the park time: then that event is parked (listed on `GET …/webhook`), the events after
/// it flow, and once the receiver is fixed the application resumes from the parked sequence.
#[tokio::test]
async fn an_event_refused_past_the_park_time_is_parked_and_can_be_resumed() {
    let s = started().await;
    let fixed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = Arc::clone(&fixed);
    let rx = receiver_answering(move |_, body| {
        let refuse = body.contains("huge@example.com") && !f.load(Ordering::SeqCst);
        async move {
            if refuse {
                413
            } else {
                204
            }
        }
    })
    .await;
    register(&s, &rx.url).await;
    s.user("huge@example.com").await;
    s.user("after@example.com").await;
    let d = deliverer(&s).with_park_after(Duration::from_millis(300));

    // Refused, and not yet for long: nothing moves and nothing is parked.
    match d.deliver(&s.directory).await {
        Err(DeliveryError::Refused { why, .. }) => assert_eq!(why, Failure::Status(413)),
        other => panic!("{other:?}"),
    }
    let state = webhook_state(&s).await;
    assert_eq!(state["delivery"]["last_error"], "HTTP 413");
    assert_eq!(state["delivery"]["parked"], json!([]));
    let blocked = state["delivery"]["delivered"].as_u64().unwrap();
    // The two users' created events: numbers increase, not necessarily by one.
    let next: Vec<u64> = s
        .app
        .store()
        .events(&s.directory, blocked, 2, &[])
        .await
        .unwrap()
        .data
        .iter()
        .map(|e| e.sequence)
        .collect();
    let (huge, after) = (next[0], next[1]);

    // Past the park time the refused event is set aside and the next one is delivered.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(d.deliver(&s.directory).await.unwrap(), 1);
    let state = webhook_state(&s).await;
    let parked = state["delivery"]["parked"].as_array().unwrap().clone();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0]["sequence"].as_u64(), Some(huge));
    assert_eq!(parked[0]["error"], "HTTP 413");
    assert_eq!(state["delivery"]["delivered"].as_u64(), Some(after));
    let accepted: Vec<u64> = rx.got.lock().unwrap().iter().map(sequence_of).collect();
    assert_eq!(accepted.last(), Some(&after));

    // Bad resumes are 400s; a good one sends the parked event and what follows again.
    let sref = &s;
    let resume = move |body: Value| {
        let path = format!("/directories/{}/webhook", sref.directory);
        async move { sref.manage("PATCH", &path, Some(body)).await }
    };
    for bad in [
        json!({}),
        json!({"resume_from_sequence": 0}),
        json!({"resume_from_sequence": "x"}),
    ] {
        assert_eq!(resume(bad.clone()).await.status, 400, "{bad}");
    }
    // Well formed, but past the directory's next event: the state refuses it.
    let r = resume(json!({"resume_from_sequence": after + 1_000})).await;
    assert_eq!(r.status, 409, "{}", r.body);
    fixed.store(true, Ordering::SeqCst);
    let r = resume(json!({"resume_from_sequence": huge})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["delivery"]["parked"], json!([]));
    assert_eq!(r.body["delivery"]["delivered"].as_u64(), Some(huge - 1));
    let before = rx.got.lock().unwrap().len();
    assert!(d.deliver(&s.directory).await.unwrap() >= 2);
    let again: Vec<u64> = rx.got.lock().unwrap()[before..]
        .iter()
        .map(sequence_of)
        .collect();
    assert_eq!(again, [huge, after]);
}

/// 410 Gone: the receiver says it is gone for good. The webhook is disabled at once (no retry,
/// no trigger retried), shown on `GET …/webhook`, and registering it again turns it back on.
#[tokio::test]
async fn gone_disables_the_webhook_until_it_is_registered_again() {
    let s = started().await;
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let g = Arc::clone(&gone);
    let rx = receiver_answering(move |_, _| {
        let status = if g.load(Ordering::SeqCst) { 410 } else { 204 };
        async move { status }
    })
    .await;
    register(&s, &rx.url).await;
    s.user("gone@example.com").await;
    let d = deliverer(&s);
    assert_eq!(d.deliver(&s.directory).await.unwrap(), 0);
    assert_eq!(rx.got.lock().unwrap().len(), 1, "410 is not retried");
    let state = webhook_state(&s).await;
    assert_eq!(
        state["delivery"]["disabled"],
        "the endpoint answered 410 Gone"
    );
    // Disabled: new events are not sent.
    s.user("later@example.com").await;
    assert_eq!(d.deliver(&s.directory).await.unwrap(), 0);
    assert_eq!(rx.got.lock().unwrap().len(), 1);

    gone.store(false, Ordering::SeqCst);
    register(&s, &rx.url).await;
    assert_eq!(webhook_state(&s).await["delivery"]["disabled"], Value::Null);
    assert!(d.deliver(&s.directory).await.unwrap() >= 2);
}

/// A receiver that answers 2xx and then trickles its body, or streams one without end, no
/// longer holds the deliverer: the 2xx is the acceptance, and the body read is bounded by the
/// attempt's time and by `MAX_RESPONSE_BYTES`.
#[tokio::test]
async fn a_trickling_or_endless_response_body_is_cut_off() {
    let s = started().await;
    // One byte every 50 ms: cut by the attempt's time (400 ms here).
    let (url, requests) = streaming_receiver(1, Duration::from_millis(50)).await;
    register(&s, &url).await;
    s.user("t1@example.com").await;
    s.user("t2@example.com").await;
    let d = deliverer(&s).with_attempt_timeout(Duration::from_millis(400));
    let started = Instant::now();
    let sent = tokio::time::timeout(Duration::from_secs(10), d.deliver(&s.directory))
        .await
        .expect("the deliverer waited for the body")
        .unwrap();
    assert_eq!(sent, 2);
    assert_eq!(requests.load(Ordering::SeqCst), 2, "no retries after a 2xx");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // 16 KiB every millisecond: cut by the byte bound long before the (30 s) attempt time.
    let (url, requests) = streaming_receiver(16 * 1024, Duration::from_millis(1)).await;
    register(&s, &url).await;
    s.user("t3@example.com").await;
    let d = deliverer(&s).with_attempt_timeout(Duration::from_secs(30));
    let started = Instant::now();
    let sent = tokio::time::timeout(Duration::from_secs(20), d.deliver(&s.directory))
        .await
        .expect("the deliverer read the endless body")
        .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A receiver that never answers costs one invocation at most its budget, not the attempt
/// timeout times the retries.
#[tokio::test]
async fn an_invocation_budget_bounds_a_silent_receiver() {
    let s = started().await;
    let rx = receiver_answering(|_, _| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        204
    })
    .await;
    register(&s, &rx.url).await;
    s.user("silent@example.com").await;
    let d = Deliverer::new(s.app.store().clone(), UrlPolicy::Local).unwrap();
    let started = Instant::now();
    let result = d
        .deliver_until(&s.directory, Instant::now() + Duration::from_millis(2500))
        .await;
    assert!(
        matches!(
            result,
            Err(DeliveryError::Refused {
                why: Failure::Timeout,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// One slow receiver does not hold up the other directories of the same batch.
#[tokio::test]
async fn a_slow_receiver_does_not_delay_other_directories() {
    let s = started().await;
    let slow = receiver_answering(|_, _| async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        204
    })
    .await;
    register(&s, &slow.url).await;
    s.user("slow@example.com").await;
    // A second directory of the same store, with a fast receiver.
    let other = scim_lambda::service::directories::create(s.svc(), &s.base, "other", None, None)
        .await
        .unwrap();
    let (dir2, token2) = (other.directory.id.as_str(), other.token.as_str());
    let fast = receiver(0).await;
    let local = scim_lambda::service::webhooks::target::UrlPolicy::Local;
    scim_lambda::service::webhook_registrations::register(s.svc(), dir2, &fast.url, local)
        .await
        .unwrap();
    let r = s
        .raw(
            "POST",
            &format!("/scim/v2/{dir2}/Users"),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "fast@example.com"}).to_string()),
            &[("authorization", &format!("Bearer {token2}"))],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let d = Arc::new(deliverer(&s));
    let started = Instant::now();
    let results = d
        .deliver_all(
            vec![s.directory.clone(), dir2.to_string()],
            Instant::now() + Duration::from_secs(30),
        )
        .await;
    // The first directory's user; the second's activation and user.
    let sent: Vec<usize> = results.iter().map(|(_, r)| *r.as_ref().unwrap()).collect();
    assert_eq!(sent, [1, 2], "{results:?}");
    let fast_at = fast.got.lock().unwrap()[0].4;
    assert!(
        fast_at.duration_since(started) < Duration::from_secs(1),
        "the fast receiver waited"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

/// A deliverer that lost its lease (it ran out and another deliverer took it) sends nothing
/// more — not even the retry of the attempt in flight.
#[tokio::test]
async fn a_deliverer_that_lost_its_lease_stops_sending() {
    let s = started().await;
    let store = s.app.store().clone();
    let dir = s.directory.clone();
    let rx = receiver_answering(move |n, _| {
        let (store, dir) = (store.clone(), dir.clone());
        async move {
            if n == 1 {
                // Another deliverer takes the directory over while this attempt is in flight.
                store
                    .client()
                    .update_item()
                    .table_name(store.table())
                    .key(keys::PK, AttributeValue::S(keys::directory_pk(&dir)))
                    .key(keys::SK, AttributeValue::S("WEBHOOK".into()))
                    .update_expression("SET holder = :other, lease_until = :far")
                    .expression_attribute_values(":other", AttributeValue::S("other".into()))
                    .expression_attribute_values(":far", AttributeValue::N(i64::MAX.to_string()))
                    .send()
                    .await
                    .unwrap();
            }
            500
        }
    })
    .await;
    register(&s, &rx.url).await;
    s.user("lease@example.com").await;
    s.user("lease2@example.com").await;
    let sent = deliverer(&s).deliver(&s.directory).await.unwrap();
    assert_eq!(sent, 0);
    assert_eq!(
        rx.got.lock().unwrap().len(),
        1,
        "sent after the lease was lost"
    );
}

/// Re-registering rotates the secret without a gap: for 24 h each delivery carries a signature
/// under the new secret and one under the replaced one (Standard Webhooks: several `v1,`
/// signatures, space-separated), so a receiver that still has the old secret verifies too.
#[tokio::test]
async fn a_rotated_secret_keeps_signing_next_to_the_new_one_for_a_day() {
    let s = started().await;
    let rx = receiver(0).await;
    let old = register(&s, &rx.url).await;
    let new = register(&s, &rx.url).await;
    assert_ne!(old, new);
    let state = webhook_state(&s).await;
    assert!(state["previous_secret_expires_at"].is_string(), "{state}");
    s.user("rotate@example.com").await;
    let d = deliverer(&s);
    assert_eq!(d.deliver(&s.directory).await.unwrap(), 1);
    let (id, ts, sig, body, _) = rx.got.lock().unwrap()[0].clone();
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    assert!(verifies(&new, &id, &ts, &body, &sig));
    assert!(verifies(&old, &id, &ts, &body, &sig));

    // Once the overlap is over, only the new secret signs.
    let store = s.app.store();
    let mut hook = store.get_webhook(&s.directory).await.unwrap().unwrap();
    hook.previous_secret = hook.previous_secret.map(|(p, _)| (p, 0));
    store.put_webhook(&hook).await.unwrap();
    s.user("rotated@example.com").await;
    assert_eq!(d.deliver(&s.directory).await.unwrap(), 1);
    let (id, ts, sig, body, _) = rx.got.lock().unwrap()[1].clone();
    assert_eq!(sig.split(' ').count(), 1, "{sig}");
    assert!(verifies(&new, &id, &ts, &body, &sig));
    assert!(!verifies(&old, &id, &ts, &body, &sig));
    assert!(webhook_state(&s).await["previous_secret_expires_at"].is_null());
}

/// Registration refuses URLs that reach what they should not: with the deployed (AWS) policy
/// every loopback URL, and on a local server the look-alikes of the loopback hosts.
#[tokio::test]
async fn hostile_webhook_urls_are_refused_at_registration() {
    let s = started().await;
    let aws = scim_lambda::service::webhooks::target::UrlPolicy::Aws;
    for url in [
        "http://127.0.0.1@attacker.example/",
        "http://localhost.attacker.example/",
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.1/",
        "http://hooks.example.com/",
    ] {
        let registered =
            scim_lambda::service::webhook_registrations::register(s.svc(), &s.directory, url, aws);
        match registered.await {
            Err(scim_lambda::service::ManagementError::WebhookUrl(_)) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
    // The local server (the tests' management API) answers the look-alikes 400 too.
    for url in [
        "http://127.0.0.1@attacker.example/",
        "http://localhost.attacker.example/",
        "http://127.0.0.2:9001/",
    ] {
        let r = s
            .manage(
                "PUT",
                &format!("/directories/{}/webhook", s.directory),
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
    }
    assert_eq!(webhook_state(&s).await, Value::Null);
}

/// The deliverer connects to the address its resolver checked: a name whose address is
/// refused gets no connection at all (here a name that resolves to the receiver's loopback
/// address, with the AWS policy), and a name that is allowed is reached through that resolver.
#[tokio::test]
async fn deliveries_connect_only_to_checked_addresses() {
    let s = started().await;
    let rx = receiver(0).await;
    let port = rx
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let a = Arc::clone(&asked);
    let lookup: scim_lambda::service::webhooks::connect::Lookup = Arc::new(move |name: String| {
        a.lock().unwrap().push(name);
        Box::pin(async { Ok(vec!["127.0.0.1".parse().unwrap()]) })
    });
    let store = s.app.store().clone();
    s.user("checked@example.com").await;

    // Stored as a URL registered before the rules (or by hand): refused when delivered.
    let hook = |url: String| scim_lambda::store::webhooks::Webhook {
        directory_id: s.directory.clone(),
        url,
        secret: scim_lambda::service::webhooks::new_secret(),
        previous_secret: None,
        created_at: "2026-12-01T00:00:00.000Z".into(),
    };
    store
        .put_webhook(&hook(format!("https://rebound.example.com:{port}/hooks")))
        .await
        .unwrap();
    let aws = Deliverer::with_lookup(store.clone(), UrlPolicy::Aws, Arc::clone(&lookup)).unwrap();
    match aws.deliver(&s.directory).await {
        Err(DeliveryError::Refused { why, .. }) => {
            assert_eq!(why, Failure::Url(UrlError::Address(AddressClass::Loopback)))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rx.connections.load(Ordering::SeqCst), 0);
    assert_eq!(asked.lock().unwrap().as_slice(), ["rebound.example.com"]);
    let state = store.delivery_state(&s.directory).await.unwrap();
    assert_eq!(
        state.last_error.as_deref(),
        Some("the webhook host is a loopback address, which webhooks may not reach")
    );

    // Userinfo stored by hand is refused before any lookup or connection.
    store
        .put_webhook(&hook(format!("http://127.0.0.1:{port}@attacker.example/")))
        .await
        .unwrap();
    let local =
        Deliverer::with_lookup(store.clone(), UrlPolicy::Local, Arc::clone(&lookup)).unwrap();
    assert!(local.deliver(&s.directory).await.is_err());
    assert_eq!(rx.connections.load(Ordering::SeqCst), 0);
    assert_eq!(asked.lock().unwrap().len(), 1);

    // Locally, `localhost` resolves through the checked resolver and is reached.
    store
        .put_webhook(&hook(format!("http://localhost:{port}/hooks")))
        .await
        .unwrap();
    // Stored by hand, the cursor is 0: the directory's three events (activation, two users).
    assert_eq!(local.deliver(&s.directory).await.unwrap(), 3);
    assert_eq!(
        asked.lock().unwrap().as_slice(),
        ["rebound.example.com", "localhost"]
    );
    assert_eq!(rx.got.lock().unwrap().len(), 3);
}

/// `last_error` names the class of a network failure, never the socket error (which would tell
/// whoever registered the URL what listens where).
#[tokio::test]
async fn last_error_is_a_failure_class_not_a_socket_error() {
    let s = started().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    register(&s, &format!("http://127.0.0.1:{port}/hooks")).await;
    s.user("refused@example.com").await;
    assert!(deliverer(&s).deliver(&s.directory).await.is_err());
    let state = webhook_state(&s).await;
    assert_eq!(
        state["delivery"]["last_error"],
        "could not connect (TCP or TLS)"
    );
}

/// Registrations live in a table of their own (its KMS key is only the management and webhook
/// roles'): the tokens table holds none. A directory delete lets the registration expire a day
/// later (TTL), so `dsync.deleted` can still be delivered and the clean-up function never needs
/// the webhooks table.
#[tokio::test]
async fn registrations_have_a_table_of_their_own_and_expire_after_a_directory_delete() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = Scim::start().await;
    register(&s, "http://127.0.0.1:9/hook").await;
    let hook = format!("/directories/{}/webhook", s.directory);
    assert_eq!(s.manage("DELETE", &hook, None).await.status, 200);
    let shown = s.manage("GET", &hook, None).await.body;
    assert!(shown.get("url").is_none_or(|u| u.is_null()), "{shown}");
    register(&s, "http://127.0.0.1:9/hook").await;
    let store = s.app.store();
    let scan = |table: String| async move {
        store
            .client()
            .scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    };
    let tokens = scan(store.tokens_table().to_string()).await;
    assert!(tokens.iter().all(|i| !format!("{i:?}").contains("whsec_")));
    let r = s
        .manage("DELETE", &format!("/directories/{}", s.directory), None)
        .await;
    assert!(r.status < 300, "{}", r.body);
    let hooks = scan(store.webhooks_table().to_string()).await;
    assert_eq!(hooks.len(), 1);
    let ttl: i64 = match &hooks[0]["ttl"] {
        AttributeValue::N(n) => n.parse().unwrap(),
        other => panic!("{other:?}"),
    };
    let now = scim_lambda::clock::now_millis() / 1000;
    assert!(
        (now + 86_000..=now + 86_500).contains(&ttl),
        "{ttl} vs {now}"
    );
}

/// After a directory's data is deleted, a trigger still in the queue (SQS retries a failing
/// directory for a day) finds the registration, which lives a day longer: it must resume from
/// the cursor — sending only what was not delivered — never start over and send the history.
#[tokio::test]
async fn a_late_trigger_after_a_directory_delete_does_not_send_the_history_again() {
    let s = Scim::start().await;
    let rx = receiver(0).await;
    register(&s, &rx.url).await;
    s.user("ada@example.com").await;
    s.user("grace@example.com").await;
    let d = deliverer(&s);
    assert!(d.deliver(&s.directory).await.unwrap() >= 2);
    let r = s
        .manage("DELETE", &format!("/directories/{}", s.directory), None)
        .await;
    assert!(r.status < 300, "{}", r.body);
    // The clean-up function deletes the data (what it would do after the token grace).
    s.app
        .store()
        .delete_directory(&s.directory, Duration::ZERO)
        .await
        .unwrap();
    let before = rx.got.lock().unwrap().len();
    let sent = d.deliver(&s.directory).await.unwrap();
    let got = rx.got.lock().unwrap().clone();
    let names: Vec<String> = got[before..]
        .iter()
        .map(|g| serde_json::from_str::<Value>(&g.3).unwrap()["event"].to_string())
        .collect();
    assert_eq!(sent, 1, "{names:?}");
    assert_eq!(names, ["\"dsync.deleted\""]);
}

/// Upgrading: a registration an earlier version kept in the tokens table (`webhook#{dir}`, its
/// secret in clear) is moved into the webhooks table by the one-off migration, the old item goes,
/// and deliveries sign with the same secret; running it again moves nothing.
#[tokio::test]
async fn the_upgrade_moves_old_registrations_out_of_the_tokens_table() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use scim_lambda::service::webhook_registrations;
    let s = Scim::start().await;
    let store = s.app.store();
    let rx = receiver(0).await;
    let secret = scim_lambda::service::webhooks::new_secret();
    store
        .client()
        .put_item()
        .table_name(store.tokens_table())
        .item("token_hash", A::S(format!("webhook#{}", s.directory)))
        .item("directory_id", A::S(s.directory.clone()))
        .item("url", A::S(rx.url.clone()))
        .item("secret", A::S(secret.clone()))
        .item("created_at", A::S("2026-11-01T00:00:00Z".into()))
        .send()
        .await
        .unwrap();
    store.start_deliveries_at(&s.directory, 0).await.unwrap();
    let svc = scim_lambda::service::Service::new(store.clone());
    let done = webhook_registrations::migrate(&svc).await.unwrap();
    assert_eq!(done.moved, vec![s.directory.clone()]);
    let moved = store.get_webhook(&s.directory).await.unwrap().unwrap();
    assert_eq!(
        (moved.url.as_str(), moved.secret.as_str()),
        (rx.url.as_str(), secret.as_str())
    );
    let old = store
        .client()
        .get_item()
        .table_name(store.tokens_table())
        .key("token_hash", A::S(format!("webhook#{}", s.directory)))
        .send()
        .await
        .unwrap();
    assert!(
        old.item.is_none(),
        "the clear-text secret is gone from the tokens table"
    );
    assert!(webhook_registrations::migrate(&svc)
        .await
        .unwrap()
        .moved
        .is_empty());
    s.user("ada@example.com").await;
    assert!(deliverer(&s).deliver(&s.directory).await.unwrap() >= 1);
    let got = rx.got.lock().unwrap().clone();
    let (id, ts, body, sig) = (&got[0].0, &got[0].1, &got[0].3, &got[0].2);
    assert!(verifies(&secret, id, ts, body, sig));
}

/// Two re-registrations at once: each replaces the registration it read, so the one that lands
/// last keeps the other's secret signing beside its own, and no secret a receiver was given is
/// dropped.
#[tokio::test]
async fn concurrent_re_registrations_keep_both_secrets_signing() {
    let s = Scim::start().await;
    let first = register(&s, "http://127.0.0.1:9/a").await;
    let (a, b) = tokio::join!(
        register(&s, "http://127.0.0.1:9/b"),
        register(&s, "http://127.0.0.1:9/c")
    );
    let hook = s
        .app
        .store()
        .get_webhook(&s.directory)
        .await
        .unwrap()
        .unwrap();
    let previous = hook.previous_secret.map(|(p, _)| p).unwrap();
    let pair = [hook.secret.as_str(), previous.as_str()];
    assert!(
        pair.contains(&a.as_str()) && pair.contains(&b.as_str()),
        "{pair:?}"
    );
    assert!(!pair.contains(&first.as_str()));
}
