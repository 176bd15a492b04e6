//! The one-port local server: routes the paths template.yaml declares (same route table) to the
//! same handlers the Lambdas run, so a SCIM client — or an IdP through a tunnel — can talk to a
//! local build. Tests start it in-process on an ephemeral port.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use tokio::net::TcpListener;

use crate::api::{self, routes, App, ScimResponse, Version, MAX_BODY_BYTES};
use crate::scim::error::ScimError;

/// Serves until the process ends (each connection on its own task). The management routes
/// (`/manage/`, IAM-authorised in AWS) are served only when `listener` is on a loopback address:
/// locally nothing authenticates them.
pub async fn serve(listener: TcpListener, app: Arc<App>) -> std::io::Result<()> {
    let management = listener.local_addr()?.ip().is_loopback();
    super::serve_http(
        listener,
        Arc::new(move |req| {
            let app = Arc::clone(&app);
            async move { dispatch(&app, req, management).await }
        }),
    )
    .await
}

async fn dispatch(
    app: &App,
    req: hyper::Request<Incoming>,
    management: bool,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let version = if parts.uri.path().contains("/scim/v1/") {
        Version::V1
    } else {
        Version::V2
    };
    let family =
        routes::route(parts.uri.path()).filter(|f| management || *f != routes::Family::Management);
    let Some(family) = family else {
        let e = ScimError::not_found(format!("no route for {}", parts.uri.path()));
        return to_hyper(ScimResponse::error(version, &e).into_http());
    };
    let bytes = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e = ScimError::payload_too_large(format!(
                "request body is larger than {MAX_BODY_BYTES} bytes"
            ));
            return to_hyper(ScimResponse::error(version, &e).into_http());
        }
    };
    let req =
        lambda_http::http::Request::from_parts(parts, lambda_http::Body::from(bytes.to_vec()));
    to_hyper(api::handle(app, family, req).await)
}

fn to_hyper(resp: lambda_http::Response<lambda_http::Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}
