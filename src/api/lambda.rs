//! The Lambda runtime loops of the function binary: build the SDK client and app once (outside the
//! handler, so warm invocations reuse connections and the token cache), then serve HTTP events —
//! or, for the clean-up function, the directory table's stream.

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
            Ok::<_, lambda_http::Error>(())
        }
    }))
    .await
}
