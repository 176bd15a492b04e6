//! The Lambda runtime loop of the functions that serve HTTP: build the SDK client and app once
//! (outside the handler, so warm invocations reuse connections and the token cache), then serve
//! API Gateway events.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::{service_fn, Body, Request, Response};

use super::{handle, App};
use crate::function::Function;

pub async fn run(function: Function) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = Arc::new(App::from_env());
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(Rendered(handle(&app, function, req).await)) }
    }))
    .await
}

/// An answer handed to API Gateway as `handle` rendered it. lambda_http's `IntoResponse` for a
/// `Response<Body>` would collect the body again and decode every text type through the charset
/// its content type names, with `encoding_rs` and its legacy-encoding tables (about 150 KB of the
/// binary). Every answer here is already UTF-8 text (SCIM and management JSON, HTML, CSS, the
/// script) or empty, so that step could change nothing but the binary's size; an empty body is
/// sent as no body rather than as `""`, which API Gateway answers alike.
struct Rendered(Response<Body>);

impl lambda_http::IntoResponse for Rendered {
    fn into_response(self) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}
