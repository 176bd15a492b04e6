//! Local running, behind the `local` feature (never in a Lambda binary): the embedded DynamoDB
//! emulator (`embedded`), a metering layer in front of any DynamoDB endpoint that counts round
//! trips, items and capacity units per operation (`meter`), the one-port server that routes
//! template.yaml's paths to the real handlers (`server`), and the demo directory `scim-local`
//! prints on every start (`demo`).

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
