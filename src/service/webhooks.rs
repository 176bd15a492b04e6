//! Webhook deliveries: a directory's events, in sequence order, POSTed to the URL the
//! application registered, signed per Standard Webhooks (<https://www.standardwebhooks.com/>):
//!
//! - `webhook-id`: the event id (the same on every retry: consumers dedupe on it);
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with
//!   the base64-decoded part of the secret after `whsec_`.
//!
//! Order: one deliverer per directory at a time (a lease on the directory's delivery state);
//! it reads the Events API after its cursor and moves the cursor after each 2xx, so event `n+1`
//! is never sent before `n` was accepted. A failing endpoint is retried here a few times with
//! backoff (1 s, 4 s); then the call fails and its trigger is retried later — in AWS the
//! webhook queue's visibility timeout (5 min), for `maxReceiveCount` (300) receives: about 25
//! hours before the message goes to the dead-letter queue. Delivery is at least once: an
//! answer lost after the receiver took the event means it comes again, with the same id.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

use crate::clock;
use crate::store::outbox::Event;
use crate::store::webhooks::Webhook;
use crate::store::{Store, StoreError};

pub const SECRET_PREFIX: &str = "whsec_";
/// How long one deliverer holds a directory (extended after every delivery).
const LEASE_MS: u64 = 60_000;
/// Attempts of one event within one call, and the waits between them.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(4)];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Events read per Events API page.
const PAGE: usize = 100;

/// A new signing secret: `whsec_` + base64 of 32 random bytes (shown once to the application).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("OS random number generator unavailable");
    format!("{SECRET_PREFIX}{}", B64.encode(bytes))
}

/// The `webhook-signature` header value for one delivery.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = B64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("event {sequence} was not accepted: {why}")]
    Refused { sequence: u64, why: String },
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Delivers directories' events to their webhooks. Build once per process.
pub struct Deliverer {
    store: Store,
    client: HttpsClient,
    /// This process's lease holder name.
    holder: String,
    backoff: Vec<Duration>,
}

impl Deliverer {
    /// Fails only when the system has no CA certificates to verify endpoints with.
    pub fn new(store: Store) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Deliverer {
            store,
            client: Client::builder(TokioExecutor::new()).build(https),
            holder: uuid::Uuid::now_v7().to_string(),
            backoff: BACKOFF.to_vec(),
        })
    }

    /// Waits between attempts of one event (tests shorten them).
    pub fn with_backoff(mut self, waits: Vec<Duration>) -> Self {
        self.backoff = waits;
        self
    }

    /// Sends every event of `dir` not yet delivered, in order. Returns how many were sent; 0 when
    /// the directory has no webhook or another deliverer holds it (that one sends them).
    pub async fn deliver(&self, dir: &str) -> Result<usize, DeliveryError> {
        let Some(hook) = self.store.get_webhook(dir).await? else {
            return Ok(0);
        };
        let mut sent = 0;
        // Re-checked after the lease ends: an event committed while this deliverer was finishing
        // may have had its trigger skipped because the lease was held.
        loop {
            let lease = clock::now_millis() as u64 + LEASE_MS;
            if !self
                .store
                .lease_deliveries(dir, &self.holder, lease)
                .await?
            {
                return Ok(sent);
            }
            let result = self.drain(dir, &hook).await;
            self.store.release_deliveries(dir, &self.holder).await?;
            sent += result?;
            let cursor = self.store.delivery_state(dir).await?.delivered;
            if self
                .store
                .events(dir, cursor, 1, &[])
                .await?
                .data
                .is_empty()
            {
                return Ok(sent);
            }
        }
    }

    async fn drain(&self, dir: &str, hook: &Webhook) -> Result<usize, DeliveryError> {
        let mut cursor = self.store.delivery_state(dir).await?.delivered;
        let mut sent = 0;
        loop {
            let page = self.store.events(dir, cursor, PAGE, &[]).await?;
            if page.data.is_empty() {
                return Ok(sent);
            }
            for event in &page.data {
                if let Err(why) = self.send(hook, event).await {
                    self.store
                        .record_delivery(dir, &self.holder, cursor, Some(&why))
                        .await?;
                    return Err(DeliveryError::Refused {
                        sequence: event.sequence,
                        why,
                    });
                }
                cursor = event.sequence;
                sent += 1;
                if !self
                    .store
                    .record_delivery(dir, &self.holder, cursor, None)
                    .await?
                {
                    // The lease ran out and another deliverer took over from the cursor.
                    return Ok(sent);
                }
                let lease = clock::now_millis() as u64 + LEASE_MS;
                self.store
                    .lease_deliveries(dir, &self.holder, lease)
                    .await?;
            }
        }
    }

    /// POSTs one event, retrying with backoff; the error says what the last attempt got.
    async fn send(&self, hook: &Webhook, event: &Event) -> Result<(), String> {
        let body = serde_json::to_string(event).unwrap_or_default();
        let mut last = String::new();
        for attempt in 0..=self.backoff.len() {
            if attempt > 0 {
                tokio::time::sleep(self.backoff[attempt - 1]).await;
            }
            let timestamp = clock::now_millis() / 1000;
            let request = hyper::Request::post(&hook.url)
                .header("content-type", "application/json")
                .header("user-agent", "scim-lambda-webhooks")
                .header("webhook-id", &event.id)
                .header("webhook-timestamp", timestamp.to_string())
                .header(
                    "webhook-signature",
                    sign(&hook.secret, &event.id, timestamp, &body),
                )
                .body(Full::new(Bytes::from(body.clone())));
            let request = match request {
                Ok(r) => r,
                Err(e) => return Err(format!("the webhook URL cannot be used: {e}")),
            };
            match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request)).await {
                Ok(Ok(resp)) if resp.status().is_success() => {
                    // Read the answer so the connection can be reused.
                    let _ = resp.into_body().collect().await;
                    return Ok(());
                }
                Ok(Ok(resp)) => last = format!("HTTP {}", resp.status().as_u16()),
                Ok(Err(e)) => last = format!("request failed: {e}"),
                Err(_) => last = format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs()),
            }
            tracing::warn!(url = %hook.url, sequence = event.sequence, attempt, error = %last, "webhook delivery failed");
        }
        Err(last)
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
