//! The functions AWS feeds rather than clients: their Lambda runtime loops. Each builds its
//! clients once (outside the handler, so warm invocations reuse connections), decodes its input
//! into typed values ([`records`]) and calls one service function:
//! - clean-up (`Function::Cleanup`, the directory table's stream): finishes large group deletes
//!   and directory deletes (`service::cleanup`);
//! - publisher (`Function::Publisher`, the same stream): puts every committed event on the
//!   EventBridge bus (`service::publisher`);
//! - webhooks (`Function::Webhooks`, the webhook queue): delivers to webhooks
//!   (`service::webhooks`), answering which messages failed so only those are retried;
//! - request log (`Function::RequestLog`, a CloudWatch Logs subscription on the SCIM and token
//!   functions' log groups): stores the records their log lines carry
//!   (`service::request_log`).

pub mod records;

use std::sync::Arc;

use aws_lambda_events::cloudwatch_logs::LogsEvent;
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::service_fn;

/// `Function::Cleanup`: the stream-fed clean-up function (`service::cleanup`).
pub async fn run_cleanup() -> Result<(), lambda_http::Error> {
    use crate::service::cleanup;
    crate::telemetry::init();
    let store = Arc::new(crate::store::Store::from_lambda_env());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let store = Arc::clone(&store);
        async move {
            for c in records::clean_ups(&event.payload) {
                // An error fails the batch: the event source mapping retries it (bisecting).
                cleanup::finish(&store, &c).await?;
            }
            for m in records::role_syncs(&event.payload) {
                cleanup::finish_role_sync(&store, &m).await?;
            }
            for d in records::directory_deletes(&event.payload) {
                cleanup::finish_directory_delete(&store, &d).await?;
            }
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}

/// `Function::Publisher`: the stream-fed publisher (`service::publisher`).
pub async fn run_publisher() -> Result<(), lambda_http::Error> {
    use crate::service::publisher;
    crate::telemetry::init();
    let client = Arc::new(aws_sdk_eventbridge::Client::from_conf(
        crate::aws_env::eventbridge().build(),
    ));
    let bus = Arc::new(std::env::var(publisher::ENV_BUS).unwrap_or_else(|_| "default".into()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let (client, bus) = (Arc::clone(&client), Arc::clone(&bus));
        async move {
            let events = records::events(&event.payload);
            publisher::publish(&client, &bus, &events).await?;
            tracing::info!(events = events.len(), "published");
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}

/// `Function::Webhooks`: delivers to webhooks, triggered by the webhook queue (one message per
/// event on the bus). Each message names a directory; a directory whose delivery fails has its
/// messages reported failed (partial batch response, `ReportBatchItemFailures`), so the queue
/// retries them after its visibility timeout.
pub async fn run_webhooks() -> Result<(), lambda_http::Error> {
    use crate::service::webhooks::{target::UrlPolicy, Deliverer};
    crate::telemetry::init();
    let store = crate::store::Store::from_lambda_env();
    let deliverer = Arc::new(Deliverer::new(store, UrlPolicy::Aws)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let deliverer = Arc::clone(&deliverer);
        async move {
            let mut by_directory: std::collections::BTreeMap<String, Vec<String>> =
                std::collections::BTreeMap::new();
            for t in records::webhook_triggers(&event.payload) {
                by_directory
                    .entry(t.directory)
                    .or_default()
                    .push(t.message_id);
            }
            let deadline = budget_until(event.context.deadline);
            let directories = by_directory.keys().cloned().collect();
            let mut response = SqsBatchResponse::default();
            for (directory, result) in deliverer.deliver_all(directories, deadline).await {
                if let Err(e) = result {
                    tracing::warn!(%directory, error = %e, "webhook delivery will be retried");
                    for id in by_directory.remove(&directory).unwrap_or_default() {
                        response.add_failure(id);
                    }
                }
            }
            Ok::<_, lambda_http::Error>(response)
        }
    }))
    .await
}

/// `Function::RequestLog`: stores the SCIM request log, fed by the CloudWatch Logs subscription
/// filters on the SCIM and token functions' log groups (template.yaml), which invoke it
/// asynchronously. An error makes Lambda retry the whole payload (twice, then its on-failure
/// queue), so only a store failure is one: a line that is not a record would fail every retry
/// alike, and is skipped ([`records::request_records`]). A retried payload writes its records
/// again under the same keys (time and request id): the log holds each once.
pub async fn run_request_log() -> Result<(), lambda_http::Error> {
    use crate::service::Service;
    crate::telemetry::init();
    let svc = Arc::new(Service::new(crate::store::Store::from_lambda_env()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<LogsEvent>| {
        let svc = Arc::clone(&svc);
        async move {
            record_logs(&svc, &event.payload).await?;
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}

/// The request-log function's handler: the records one subscription payload carries, stored
/// (`service::request_log::record`, under that function's caller scope). Separate from its
/// runtime loop so a test hands it a payload built as CloudWatch Logs builds one.
pub async fn record_logs(
    svc: &crate::service::Service,
    event: &LogsEvent,
) -> Result<crate::service::request_log::Recorded, crate::store::StoreError> {
    let data = &event.aws_logs.data;
    let records = records::request_records(data);
    let events = data.log_events.len();
    match crate::service::request_log::record(svc, records).await {
        Ok(done) => {
            tracing::info!(log_group = %data.log_group, events, stored = done.stored, dropped = done.dropped, "request log batch stored");
            Ok(done)
        }
        Err(e) => {
            tracing::error!(log_group = %data.log_group, events, error = %crate::telemetry::chain(&e), "request log batch not stored; Lambda retries it");
            Err(e)
        }
    }
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
