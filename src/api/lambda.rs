//! The Lambda runtime loops of the function binary: build the SDK client and app once (outside the
//! handler, so warm invocations reuse connections and the token cache), then serve HTTP events —
//! or the directory table's stream (clean-up, publisher), or the webhook queue.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};

use super::{handle, App, Family};

pub async fn run(family: Family) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = Arc::new(App::from_env().await);
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle(&app, family, req).await) }
    }))
    .await
}

/// `SCIM_FAMILY=cleanup`: the stream-fed clean-up function (`service::cleanup`).
pub const CLEANUP: &str = "cleanup";

pub async fn run_cleanup() -> Result<(), lambda_http::Error> {
    use crate::service::cleanup;
    use lambda_http::lambda_runtime::{self, LambdaEvent};
    crate::telemetry::init();
    let store = Arc::new(crate::store::Store::from_env().await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let store = Arc::clone(&store);
        async move {
            for c in cleanup::clean_ups(&event.payload) {
                // An error fails the batch: the event source mapping retries it (bisecting).
                cleanup::finish(&store, &c).await?;
            }
            for d in cleanup::directory_deletes(&event.payload) {
                cleanup::finish_directory_delete(&store, &d).await?;
            }
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}

/// `SCIM_FAMILY=publisher`: the stream-fed publisher (`service::publisher`).
pub const PUBLISHER: &str = "publisher";

pub async fn run_publisher() -> Result<(), lambda_http::Error> {
    use crate::service::publisher;
    use lambda_http::lambda_runtime::{self, LambdaEvent};
    crate::telemetry::init();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::store::http_client())
        .load()
        .await;
    let client = Arc::new(aws_sdk_eventbridge::Client::new(&config));
    let bus = Arc::new(std::env::var(publisher::ENV_BUS).unwrap_or_else(|_| "default".into()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (client, bus) = (Arc::clone(&client), Arc::clone(&bus));
        async move {
            let events = publisher::events_in(&event.payload);
            publisher::publish(&client, &bus, &events).await?;
            tracing::info!(events = events.len(), "published");
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}

/// `SCIM_FAMILY=webhooks`: delivers to webhooks, triggered by the webhook queue (one message per
/// event on the bus). Each message names a directory; a directory whose delivery fails has its
/// messages reported failed, so the queue retries them after its visibility timeout.
pub const WEBHOOKS: &str = "webhooks";

pub async fn run_webhooks() -> Result<(), lambda_http::Error> {
    use crate::service::webhooks::{target::UrlPolicy, Deliverer};
    use lambda_http::lambda_runtime::{self, LambdaEvent};
    crate::telemetry::init();
    let store = crate::store::Store::from_env().await;
    let deliverer = Arc::new(Deliverer::new(store, UrlPolicy::Aws)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let deliverer = Arc::clone(&deliverer);
        async move {
            let mut by_directory: std::collections::BTreeMap<String, Vec<String>> =
                std::collections::BTreeMap::new();
            for (message, directory) in webhook_triggers(&event.payload) {
                by_directory.entry(directory).or_default().push(message);
            }
            let deadline = budget_until(event.context.deadline);
            let directories = by_directory.keys().cloned().collect();
            let mut failures = Vec::new();
            for (directory, result) in deliverer.deliver_all(directories, deadline).await {
                if let Err(e) = result {
                    tracing::warn!(%directory, error = %e, "webhook delivery will be retried");
                    failures.extend(by_directory.remove(&directory).unwrap_or_default());
                }
            }
            let failed: Vec<serde_json::Value> = failures
                .into_iter()
                .map(|id| serde_json::json!({"itemIdentifier": id}))
                .collect();
            Ok::<_, lambda_http::Error>(serde_json::json!({"batchItemFailures": failed}))
        }
    }))
    .await
}

/// Time kept back from the invocation's deadline to record state and answer the batch.
pub const WEBHOOK_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// When a webhook invocation stops starting attempts: its deadline (Unix ms, from the Runtime
/// API's `Lambda-Runtime-Deadline-Ms`) less [`WEBHOOK_MARGIN`].
pub fn budget_until(deadline_ms: u64) -> std::time::Instant {
    let left = deadline_ms.saturating_sub(crate::clock::now_millis().max(0) as u64);
    std::time::Instant::now()
        + std::time::Duration::from_millis(left).saturating_sub(WEBHOOK_MARGIN)
}

/// (message id, directory id) of each SQS message carrying an EventBridge event of ours.
pub fn webhook_triggers(sqs_event: &serde_json::Value) -> Vec<(String, String)> {
    sqs_event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let id = r["messageId"].as_str()?.to_string();
            let body: serde_json::Value = serde_json::from_str(r["body"].as_str()?).ok()?;
            let dir = body["detail"]["directory_id"].as_str()?.to_string();
            Some((id, dir))
        })
        .collect()
}
