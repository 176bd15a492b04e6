//! The Lambda runtime loop of the functions that serve HTTP: build the SDK client and app once
//! (outside the handler, so warm invocations reuse connections and the token cache), then serve
//! API Gateway events.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};

use super::{handle, App};
use crate::function::Function;

pub async fn run(function: Function) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = Arc::new(App::from_env());
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle(&app, function, req).await) }
    }))
    .await
}
