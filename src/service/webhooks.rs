//! Webhook deliveries: a directory's events, in sequence order, POSTed to the URL the
//! application registered, signed per Standard Webhooks (<https://www.standardwebhooks.com/>):
//!
//! - `webhook-id`: the event id (the same on every retry: consumers dedupe on it);
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with
//!   the base64-decoded part of the secret after `whsec_`. While a replaced secret is still in
//!   its overlap (24 h, `store::webhooks::ROTATION_OVERLAP_MS`) the header carries one
//!   signature per secret, space-separated, which the specification allows so that receivers
//!   can rotate without a gap; a receiver accepts the delivery if any one verifies.
//!
//! Order: one deliverer per directory at a time (a lease on the directory's delivery state);
//! it reads the Events API after its cursor and moves the cursor after each 2xx, so event `n+1`
//! is never sent before `n` was accepted. The lease is renewed before every attempt and every
//! state write is conditional on it: a deliverer that lost it (it ran out and another took
//! over, or a resume cleared it) sends nothing more and starts again from the stored cursor.
//!
//! What one receiver can cost (see docs/webhooks.md):
//! - one attempt: the whole exchange (connect, TLS, headers, and up to [`MAX_RESPONSE_BYTES`]
//!   of body) within the attempt timeout (10 s); a 2xx status is the acceptance, so a body
//!   that trickles or never ends is cut off, not waited for;
//! - one call: a few attempts with backoff (1 s, 4 s), within the invocation's budget; then
//!   the call fails and its trigger is retried later — in AWS the webhook queue's visibility
//!   timeout (5 min), for `maxReceiveCount` (300) receives (about 25 hours) before the message
//!   goes to the dead-letter queue. A batch's directories are served concurrently, so a slow
//!   receiver delays only its own directory.
//! - an event its receiver keeps refusing with a 4xx (413, 400, 422...; not 408 or 429, which
//!   say "later") for longer than the park time (1 h, `SCIM_WEBHOOK_PARK_AFTER_SECS`) is parked —
//!   listed in the delivery state and skipped — so the events after it flow again; the
//!   application resumes from any sequence number once its receiver is fixed.
//! - `410 Gone` disables the webhook (the receiver says it is gone for good) until it is
//!   registered again or resumed.
//!
//! Delivery is at least once: an answer lost after the receiver took the event means it comes
//! again, with the same id. A failed attempt logs the host (never the URL, whose path or query
//! may hold a receiver's secret) and the failure's class (never the socket error, which would
//! tell whoever registered the URL what is listening where), and emits the
//! `WebhookDeliveryFailures` metric (`metrics`).

pub mod connect;
pub mod target;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use sha2::Sha256;

use crate::clock;
use crate::events::Event;
use crate::function::Function;
use crate::store::webhooks::{DeliveryState, Parked, Webhook};
use crate::store::{caller, Store, StoreError};
use connect::{HttpsClient, Lookup, ResolveError};
use target::{UrlError, UrlPolicy, WebhookUrl};

pub const SECRET_PREFIX: &str = "whsec_";
/// How long one deliverer holds a directory (renewed before every attempt). Longer than one
/// attempt, so a live deliverer never loses it between renewals.
const LEASE: Duration = Duration::from_secs(60);
/// Attempts of one event within one call, and the waits between them.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(4)];
/// One attempt's whole exchange: connect, TLS, request, response head and (bounded) body.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Response body bytes read after a 2xx (so the connection can be reused); more is not read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// An attempt is not started with less time than this left in the budget.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);
/// A call's budget when its caller has no deadline (the local server, `scimctl`).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);
/// How long an event may be refused (4xx) before it is parked.
pub const DEFAULT_PARK_AFTER: Duration = Duration::from_secs(3600);
/// Environment variable overriding [`DEFAULT_PARK_AFTER`], in seconds.
pub const ENV_PARK_AFTER_SECS: &str = "SCIM_WEBHOOK_PARK_AFTER_SECS";
/// Directories of one batch served at once.
pub const MAX_CONCURRENT_DIRECTORIES: usize = 8;
/// Events read per Events API page.
const PAGE: usize = 100;

/// A new signing secret: `whsec_` + base64 of 32 random bytes (shown once to the application).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("OS random number generator unavailable");
    format!("{SECRET_PREFIX}{}", B64.encode(bytes))
}

/// One `v1,` signature of a delivery.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = B64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per live secret, space-separated.
pub fn signature_header(hook: &Webhook, id: &str, timestamp: i64, body: &str) -> String {
    hook.signing_secrets(timestamp.saturating_mul(1000))
        .into_iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What went wrong with one attempt, by class: what `last_error`, the log and the metric say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("no complete answer within the attempt timeout")]
    Timeout,
    #[error("could not connect (TCP or TLS)")]
    Connect,
    #[error("the webhook host did not resolve")]
    Resolve,
    #[error("the connection failed during the exchange")]
    Exchange,
    #[error("{0}")]
    Url(UrlError),
}

impl Failure {
    /// A short, stable name for logs and the metric line.
    pub fn class(&self) -> &'static str {
        match self {
            Failure::Status(s) if *s >= 500 => "http_5xx",
            Failure::Status(s) if *s >= 400 => "http_4xx",
            Failure::Status(_) => "http_other",
            Failure::Timeout => "timeout",
            Failure::Connect => "connect",
            Failure::Resolve => "dns",
            Failure::Exchange => "exchange",
            Failure::Url(_) => "url_refused",
        }
    }

    /// The receiver refused this event (not "later", not "down"): it may be parked.
    fn is_refusal(&self) -> bool {
        matches!(self, Failure::Status(s) if (400..500).contains(s) && ![408, 410, 429].contains(s))
    }

    /// What the client's error chain says happened, without its text.
    fn of(e: &hyper_util::client::legacy::Error) -> Failure {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(r) = s.downcast_ref::<ResolveError>() {
                return match r {
                    ResolveError::NotFound(_) => Failure::Resolve,
                    ResolveError::Refused(u) => Failure::Url(u.clone()),
                };
            }
            source = s.source();
        }
        if e.is_connect() {
            Failure::Connect
        } else {
            Failure::Exchange
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event {sequence} was not accepted: {why}")]
    Refused { sequence: u64, why: Failure },
    #[error("the invocation's time ran out with events left to deliver")]
    OutOfTime,
    #[error("a delivery task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// How one event's attempts ended.
enum Outcome {
    Delivered,
    Failed(Failure),
    LeaseLost,
    OutOfTime,
}

/// How a drain under one lease ended.
enum Drained {
    /// Nothing left (or the webhook is disabled).
    Done,
    /// The lease went to someone else (or was cleared): start over from the stored cursor.
    LeaseLost,
}

/// Where a drain goes after an event failed.
enum Next {
    /// The event was parked: go on with the next one.
    Parked,
    Stop(Drained),
}

/// Delivers directories' events to their webhooks. Build once per process.
pub struct Deliverer {
    store: Store,
    client: HttpsClient,
    policy: UrlPolicy,
    /// This process's lease holder name.
    holder: String,
    backoff: Vec<Duration>,
    attempt_timeout: Duration,
    park_after: Duration,
}

impl Deliverer {
    /// Fails only when the system has no CA certificates to verify endpoints with.
    pub fn new(store: Store, policy: UrlPolicy) -> std::io::Result<Self> {
        Deliverer::with_lookup(store, policy, connect::system_lookup())
    }

    /// As `new`, resolving host names with `lookup` (tests: a name table).
    pub fn with_lookup(store: Store, policy: UrlPolicy, lookup: Lookup) -> std::io::Result<Self> {
        let park_after = std::env::var(ENV_PARK_AFTER_SECS)
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(DEFAULT_PARK_AFTER, Duration::from_secs);
        Ok(Deliverer {
            store,
            client: connect::client(policy, lookup)?,
            policy,
            holder: uuid::Uuid::now_v7().to_string(),
            backoff: BACKOFF.to_vec(),
            attempt_timeout: ATTEMPT_TIMEOUT,
            park_after,
        })
    }

    /// Waits between attempts of one event (tests shorten them).
    pub fn with_backoff(mut self, waits: Vec<Duration>) -> Self {
        self.backoff = waits;
        self
    }

    /// One attempt's time bound (tests shorten it).
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How long a refused event blocks its directory before it is parked.
    pub fn with_park_after(mut self, after: Duration) -> Self {
        self.park_after = after;
        self
    }

    /// Sends every event of `dir` not yet delivered, in order, within [`DEFAULT_BUDGET`].
    pub async fn deliver(&self, dir: &str) -> Result<usize, DeliveryError> {
        self.deliver_until(dir, Instant::now() + DEFAULT_BUDGET)
            .await
    }

    /// Sends every event of `dir` not yet delivered, in order, starting no attempt that could
    /// outlast `deadline`. Returns how many were sent; 0 when the directory has no webhook, it
    /// is disabled, or another deliverer holds it (that one sends them).
    pub async fn deliver_until(
        &self,
        dir: &str,
        deadline: Instant,
    ) -> Result<usize, DeliveryError> {
        caller::scope(
            Function::Webhooks.name(),
            self.deliver_within(dir, deadline),
        )
        .await
    }

    async fn deliver_within(&self, dir: &str, deadline: Instant) -> Result<usize, DeliveryError> {
        let Some(hook) = self.store.get_webhook(dir).await? else {
            return Ok(0);
        };
        let mut sent = 0;
        // Re-checked after the lease ends: an event committed while this deliverer was finishing
        // may have had its trigger skipped because the lease was held.
        loop {
            let lease = clock::now_millis() as u64 + LEASE.as_millis() as u64;
            if !self
                .store
                .lease_deliveries(dir, &self.holder, lease)
                .await?
            {
                return Ok(sent);
            }
            let result = self.drain(dir, &hook, deadline, &mut sent).await;
            self.store.release_deliveries(dir, &self.holder).await?;
            match result? {
                Drained::LeaseLost => continue,
                Drained::Done => {}
            }
            let state = self.store.delivery_state(dir).await?;
            if state.disabled.is_some()
                || self
                    .store
                    .events(dir, state.delivered, 1, &[])
                    .await?
                    .data
                    .is_empty()
            {
                return Ok(sent);
            }
        }
    }

    /// Delivers the directories of one batch concurrently (at most
    /// [`MAX_CONCURRENT_DIRECTORIES`] at once), each within `deadline`.
    pub async fn deliver_all(
        self: &Arc<Self>,
        directories: Vec<String>,
        deadline: Instant,
    ) -> Vec<(String, Result<usize, DeliveryError>)> {
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_DIRECTORIES));
        let tasks: Vec<_> = directories
            .into_iter()
            .map(|dir| {
                let (me, permits) = (Arc::clone(self), Arc::clone(&permits));
                let d = dir.clone();
                let task = tokio::spawn(caller::inherit(async move {
                    let _permit = permits.acquire_owned().await;
                    me.deliver_until(&d, deadline).await
                }));
                (dir, task)
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for (dir, task) in tasks {
            out.push((
                dir,
                task.await.unwrap_or_else(|e| Err(DeliveryError::Task(e))),
            ));
        }
        out
    }

    async fn drain(
        &self,
        dir: &str,
        hook: &Webhook,
        deadline: Instant,
        sent: &mut usize,
    ) -> Result<Drained, DeliveryError> {
        let mut state = self.store.delivery_state(dir).await?;
        if let Some(why) = &state.disabled {
            tracing::info!(directory = %dir, why = %why, "webhook disabled; not delivering");
            return Ok(Drained::Done);
        }
        let mut cursor = state.delivered;
        loop {
            let page = self.store.events(dir, cursor, PAGE, &[]).await?;
            if page.data.is_empty() {
                return Ok(Drained::Done);
            }
            for event in &page.data {
                let failure = match self.send(dir, hook, event, deadline).await? {
                    Outcome::Delivered => {
                        if !self
                            .store
                            .record_delivery(dir, &self.holder, event.sequence)
                            .await?
                        {
                            return Ok(Drained::LeaseLost);
                        }
                        cursor = event.sequence;
                        *sent += 1;
                        continue;
                    }
                    Outcome::LeaseLost => return Ok(Drained::LeaseLost),
                    Outcome::OutOfTime => return Err(DeliveryError::OutOfTime),
                    Outcome::Failed(f) => f,
                };
                match self.after_failure(dir, &mut state, event, failure).await? {
                    Next::Parked => cursor = event.sequence,
                    Next::Stop(drained) => return Ok(drained),
                }
            }
        }
    }

    /// Records that `event` failed, by what the failure says: a 410 disables the webhook; a
    /// refusal lasting `park_after` parks the event (the drain goes on past it); anything else is
    /// stored as the directory's failure and ends this call with `Refused`, to be retried. A
    /// state write that finds the lease gone stops the drain with `LeaseLost`.
    async fn after_failure(
        &self,
        dir: &str,
        state: &mut DeliveryState,
        event: &Event,
        failure: Failure,
    ) -> Result<Next, DeliveryError> {
        let now = clock::now_millis();
        let since = match state.failing {
            Some((seq, since)) if seq == event.sequence => since,
            _ => now,
        };
        let held = if failure == Failure::Status(410) {
            let held = self
                .store
                .disable_deliveries(dir, &self.holder, "the endpoint answered 410 Gone")
                .await?;
            tracing::warn!(directory = %dir, "webhook disabled: the endpoint answered 410 Gone");
            if held {
                return Ok(Next::Stop(Drained::Done));
            }
            false
        } else if failure.is_refusal()
            && now.saturating_sub(since) >= self.park_after.as_millis() as i64
        {
            state.parked.push(Parked {
                sequence: event.sequence,
                event_id: event.id.clone(),
                error: failure.to_string(),
                parked_at: clock::format_rfc3339(now),
            });
            if self
                .store
                .park_event(dir, &self.holder, &state.parked)
                .await?
            {
                tracing::warn!(directory = %dir, sequence = event.sequence, error = %failure, "webhook event parked");
                state.failing = None;
                return Ok(Next::Parked);
            }
            false
        } else {
            self.store
                .record_failure(
                    dir,
                    &self.holder,
                    event.sequence,
                    since,
                    &failure.to_string(),
                )
                .await?
        };
        if !held {
            return Ok(Next::Stop(Drained::LeaseLost));
        }
        Err(DeliveryError::Refused {
            sequence: event.sequence,
            why: failure,
        })
    }

    /// POSTs one event, retrying with backoff while the lease and the budget last.
    async fn send(
        &self,
        dir: &str,
        hook: &Webhook,
        event: &Event,
        deadline: Instant,
    ) -> Result<Outcome, DeliveryError> {
        // Checked on every delivery: a URL stored before a rule existed is not trusted.
        let target = match WebhookUrl::parse(&hook.url, self.policy) {
            Ok(t) => t,
            Err(e) => return Ok(Outcome::Failed(Failure::Url(e))),
        };
        let body = serde_json::to_string(event).unwrap_or_default();
        let mut last = None;
        for attempt in 0..=self.backoff.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = if attempt > 0 {
                self.backoff[attempt - 1]
            } else {
                Duration::ZERO
            };
            if left < wait + MIN_ATTEMPT {
                break;
            }
            tokio::time::sleep(wait).await;
            let lease = clock::now_millis() as u64 + LEASE.as_millis() as u64;
            if !self
                .store
                .renew_deliveries(dir, &self.holder, lease)
                .await?
            {
                return Ok(Outcome::LeaseLost);
            }
            let timeout = self
                .attempt_timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            let failure = match self.attempt(hook, &target, event, &body, timeout).await {
                Ok(()) => return Ok(Outcome::Delivered),
                Err(f) => f,
            };
            crate::metrics::emit_webhook_failure(failure.class());
            tracing::warn!(directory = %dir, host = %target.host_str(), sequence = event.sequence, attempt, class = failure.class(), error = %failure, "webhook delivery failed");
            // Neither a 410 nor a refused URL changes in a few seconds: no retry in this call.
            let final_here = matches!(failure, Failure::Status(410) | Failure::Url(_));
            last = Some(failure);
            if final_here {
                break;
            }
        }
        Ok(last.map_or(Outcome::OutOfTime, Outcome::Failed))
    }

    /// One POST, its whole exchange within `timeout`.
    async fn attempt(
        &self,
        hook: &Webhook,
        target: &WebhookUrl,
        event: &Event,
        body: &str,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let started = Instant::now();
        let timestamp = clock::now_millis() / 1000;
        let request = hyper::Request::post(target.as_str())
            .header("content-type", "application/json")
            .header("user-agent", "scim-lambda-webhooks")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature_header(hook, &event.id, timestamp, body),
            )
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| Failure::Url(UrlError::Invalid))?;
        let response = match tokio::time::timeout(timeout, self.client.request(request)).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Err(e)) => return Err(Failure::of(&e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if !status.is_success() {
            // The body is not read: dropping it closes the connection.
            return Err(Failure::Status(status.as_u16()));
        }
        // The 2xx is the acceptance. Read (and discard) a bounded body within what is left of
        // the attempt so the connection can be reused; a body that is longer or slower is cut
        // off by dropping the connection, and the event still counts as delivered.
        let left = timeout.saturating_sub(started.elapsed());
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES);
        let _ = tokio::time::timeout(left, body.collect()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference vector (standard-webhooks/standard-webhooks, the
    /// libraries' shared test: `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp 1614265330,
    /// `{"test": 2432232314}`).
    #[test]
    fn signature_matches_the_standard_webhooks_reference() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_prefixed_and_random() {
        let s = new_secret();
        assert!(s.starts_with(SECRET_PREFIX));
        assert_eq!(B64.decode(&s[SECRET_PREFIX.len()..]).unwrap().len(), 32);
        assert_ne!(s, new_secret());
    }
}
