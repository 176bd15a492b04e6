//! A loopback Lambda Runtime API (the `/2018-06-01/runtime/...` endpoints the Lambda service serves
//! to a custom runtime), so the real function binaries can be started and invoked without Docker:
//! the nearest thing to `sam local invoke` on our machines. It measures what the Lambda service
//! reports: init duration (process start to the first `next`) and each invocation's duration.
//!
//! Protocol (AWS Lambda developer guide, "Using the Lambda runtime API for custom runtimes"):
//! `GET .../invocation/next` blocks until there is an event and answers it with the request id in
//! `Lambda-Runtime-Aws-Request-Id`; the runtime answers with `POST .../invocation/{id}/response`
//! or `.../{id}/error`; `POST .../init/error` reports a failed init.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use tokio::sync::{oneshot, Notify};

use super::reply;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered to one invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The response document (for API Gateway: `{"statusCode": ..., "body": ...}`).
    pub response: serde_json::Value,
    /// `false` when the runtime posted to `/error`.
    pub ok: bool,
    /// From handing the event to the runtime until its answer arrived.
    pub duration: Duration,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    waiting: HashMap<String, oneshot::Sender<(bool, Bytes)>>,
    first_next: Option<Instant>,
    init_error: Option<String>,
}

/// The emulator: one per function process.
pub struct RuntimeApi {
    address: String,
    state: Mutex<State>,
    ready: Notify,
    next_called: Notify,
    counter: std::sync::atomic::AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the function did not ask for an event within {0:?}")]
    NoNext(Duration),
    #[error("the function reported an init error: {0}")]
    Init(String),
    #[error("the function did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the function answered with a body that is not JSON: {0}")]
    NotJson(String),
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Arc<RuntimeApi>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api = Arc::new(RuntimeApi {
            address: listener.local_addr()?.to_string(),
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            next_called: Notify::new(),
            counter: Default::default(),
        });
        let a = Arc::clone(&api);
        tokio::spawn(super::serve_http(
            listener,
            Arc::new(move |req| {
                let a = Arc::clone(&a);
                async move { a.serve(req).await }
            }),
        ));
        Ok(api)
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A command that starts `binary` as a function process of this API, with the environment
    /// Lambda gives a `provided.al2023` function.
    pub fn command(&self, binary: &std::path::Path, function: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(binary);
        cmd.env("AWS_LAMBDA_RUNTIME_API", &self.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Waits for the first `next` (the end of the function's init) and returns when it came.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Instant, RuntimeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.next_called.notified();
            {
                let s = self.state.lock().expect("runtime state");
                if let Some(e) = &s.init_error {
                    return Err(RuntimeError::Init(e.clone()));
                }
                if let Some(t) = s.first_next {
                    return Ok(t);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(RuntimeError::NoNext(timeout));
            }
        }
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: &str, timeout: Duration) -> Result<Invocation, RuntimeError> {
        let id = format!(
            "req-{}",
            self.counter
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.state.lock().expect("runtime state");
            s.queue.push_back((id.clone(), event.to_string()));
            s.waiting.insert(id, tx);
        }
        self.ready.notify_one();
        let start = Instant::now();
        let (ok, body) = tokio::time::timeout(timeout, rx)
            .await
            .map_err(|_| RuntimeError::Timeout(timeout))?
            .map_err(|_| RuntimeError::Timeout(timeout))?;
        let duration = start.elapsed();
        let response = serde_json::from_slice(&body)
            .map_err(|_| RuntimeError::NotJson(String::from_utf8_lossy(&body).into()))?;
        Ok(Invocation {
            response,
            ok,
            duration,
        })
    }

    async fn serve(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return reply(404, None, Bytes::new());
        };
        if rest == "/invocation/next" {
            return self.next().await;
        }
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if rest == "/init/error" {
            let mut s = self.state.lock().expect("runtime state");
            s.init_error = Some(String::from_utf8_lossy(&body).into());
            drop(s);
            self.next_called.notify_waiters();
            return reply(202, None, Bytes::new());
        }
        let answer = rest
            .strip_prefix("/invocation/")
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(id, kind)| match kind {
                "response" => Some((id, true)),
                "error" => Some((id, false)),
                _ => None,
            });
        let Some((id, ok)) = answer else {
            return reply(404, None, Bytes::new());
        };
        let waiter = self.state.lock().expect("runtime state").waiting.remove(id);
        match waiter {
            Some(tx) => {
                let _ = tx.send((ok, body));
                reply(202, None, Bytes::new())
            }
            None => reply(400, None, Bytes::new()),
        }
    }

    /// Long-polls for the next event, as the Lambda service does.
    async fn next(&self) -> hyper::Response<Full<Bytes>> {
        loop {
            let notified = self.ready.notified();
            {
                let mut s = self.state.lock().expect("runtime state");
                if s.first_next.is_none() {
                    s.first_next = Some(Instant::now());
                    self.next_called.notify_waiters();
                }
                if let Some((id, event)) = s.queue.pop_front() {
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_millis()
                        + 29_000;
                    let mut r = reply(200, Some("application/json"), Bytes::from(event));
                    let h = r.headers_mut();
                    let set = |h: &mut hyper::HeaderMap, k: &'static str, v: String| {
                        if let Ok(v) = v.parse() {
                            h.insert(k, v);
                        }
                    };
                    set(h, "lambda-runtime-aws-request-id", id);
                    set(h, "lambda-runtime-deadline-ms", deadline.to_string());
                    set(
                        h,
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:000000000000:function:local".into(),
                    );
                    set(h, "lambda-runtime-trace-id", "Root=1-local".into());
                    return r;
                }
            }
            notified.await;
        }
    }
}

/// Peak resident set size of a process (`VmHWM`), in KiB; Linux only.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
