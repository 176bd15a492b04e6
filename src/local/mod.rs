//! Local running, behind the `local` feature (never in a Lambda binary): the embedded DynamoDB
//! emulator (`embedded`), a metering layer in front of any DynamoDB endpoint that counts round
//! trips, items and capacity units per operation (`meter`), the one-port server that routes
//! template.yaml's paths to the real handlers (`server`), the demo directory `scim-local`
//! prints on every start (`demo`), and a loopback Lambda Runtime API that runs the real function
//! binary (`runtime_api`), and what AWS runs off the request path (`background`: webhook
//! deliveries, deleted directories' data).

pub mod background;
pub mod demo;
pub mod embedded;
pub mod meter;
pub mod runtime_api;
pub mod server;

pub use server::serve;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};

/// A response with `status`, an optional content type and `body` (the meter's and the Runtime API
/// emulator's own answers).
pub(crate) fn reply(
    status: u16,
    content_type: Option<&'static str>,
    body: Bytes,
) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(body));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    if let Some(ct) = content_type {
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(ct),
        );
    }
    r
}

/// Serves HTTP/1.1 on `listener` until the process ends or accepting fails, each connection on
/// its own task, every request answered by `handler` (the local server, the meter, the Runtime
/// API emulator).
pub(crate) async fn serve_http<H, F>(
    listener: tokio::net::TcpListener,
    handler: Arc<H>,
) -> std::io::Result<()>
where
    H: Fn(hyper::Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let (stream, _) = listener.accept().await?;
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = handler(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}
