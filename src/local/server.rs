//! The one-port local server: routes the paths template.yaml declares (same route table) to the
//! same handlers the Lambdas run, so a SCIM client — or an IdP through a tunnel — can talk to a
//! local build. Tests start it in-process on an ephemeral port.
//!
//! The management routes (`/manage/`, IAM-authorised in AWS) are the one part locked down here:
//! a loopback port is reachable from more than the developer's terminal. A tunnel or port
//! forward (which we suggest for testing with a real IdP) relays the whole port; any web page the
//! developer opens can send a form post to it (CSRF) or, after DNS rebinding, read answers from it
//! under its own host name. So `/manage/` answers only a request that
//! - came straight to the socket: no `Forwarded`, `X-Forwarded-*`, `X-Real-IP` or `Via` header,
//!   which a proxy or tunnel adds (RFC 7239; RFC 9110 §7.6.3);
//! - names a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) in `Host`: a rebound name does not
//!   pass (the defence the DNS-rebinding literature and dev servers use);
//! - is not cross-site: an `Origin` must be this server's own loopback origin, a `Sec-Fetch-Site`
//!   must be `same-origin` or `none`;
//! - carries the management key as a bearer token (`management_key.rs`);
//! - sends a write's body as `Content-Type: application/json`: a type an HTML form or a "simple"
//!   fetch cannot send without a CORS preflight, which this server never grants.
//!
//! SCIM routes stay reachable through a tunnel: that is how an IdP is tested against a local build.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::Method;
use tokio::net::TcpListener;

use crate::api::{self, routes, App, ScimResponse, Version, MAX_BODY_BYTES};
use crate::function::Function;
use crate::management_key::{is_loopback_host, ManagementKey};
use crate::scim::error::ScimError;

/// Headers a proxy or tunnel adds: their presence means the request did not come from this host.
const FORWARDING_HEADERS: &[&str] = &[
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "via",
];

/// Serves until the process ends (each connection on its own task). The management routes are
/// served only when `management` holds their key and `listener` is on a loopback address.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    management: Option<ManagementKey>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let management = management.filter(|_| addr.ip().is_loopback()).map(|key| {
        Arc::new(Management {
            key,
            port: addr.port(),
        })
    });
    super::serve_http(
        listener,
        Arc::new(move |req| {
            let app = Arc::clone(&app);
            let management = management.clone();
            async move { dispatch(&app, req, management.as_deref()).await }
        }),
    )
    .await
}

/// What a management request must show: the key, and this server's port (its own origin).
struct Management {
    key: ManagementKey,
    port: u16,
}

/// Why a management request was refused.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the management API does not answer through a proxy or tunnel (the request carries {0}); call it on this host")]
    Forwarded(&'static str),
    #[error("the management API answers only requests addressed to localhost, 127.0.0.1 or [::1] (Host header)")]
    NotLoopbackHost,
    #[error("the management API does not answer cross-site requests (Origin or Sec-Fetch-Site)")]
    CrossSite,
    #[error("the management API needs \"Authorization: Bearer <management key>\" (scim-local prints the key at start)")]
    NoKey,
    #[error("send the body as \"Content-Type: application/json\"")]
    NotJson,
}

impl Refused {
    fn status(&self) -> u16 {
        match self {
            Refused::Forwarded(_) | Refused::NotLoopbackHost | Refused::CrossSite => 403,
            Refused::NoKey => 401,
            Refused::NotJson => 415,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Refused::Forwarded(_) | Refused::NotLoopbackHost | Refused::CrossSite => "forbidden",
            Refused::NoKey => "unauthorized",
            Refused::NotJson => "unsupported_media_type",
        }
    }

    /// The management API's error shape (`{"error", "message"}`, as `api/manage/` answers).
    fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let body = serde_json::json!({"error": self.code(), "message": self.to_string()});
        let mut r = super::reply(
            self.status(),
            Some("application/json"),
            Bytes::from(body.to_string()),
        );
        if let Refused::NoKey = self {
            // RFC 6750 §3: a 401 names the scheme it wants.
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Bearer realm=\"scim-local management\""),
            );
        }
        r
    }
}

impl Management {
    /// Whether `parts` may reach the management API (see the module header), checked in the
    /// order that tells a caller the most useful thing first.
    fn admit(&self, parts: &Parts) -> Result<(), Refused> {
        let header = |name: &str| parts.headers.get(name).map(|v| v.to_str().unwrap_or(""));
        if let Some(name) = FORWARDING_HEADERS
            .iter()
            .find(|n| parts.headers.contains_key(**n))
        {
            return Err(Refused::Forwarded(name));
        }
        // An absolute-form request target names the host too (RFC 9112 §3.2.2); both must agree
        // on a loopback name.
        let authority_ok = parts
            .uri
            .authority()
            .is_none_or(|a| is_loopback_host(a.host()));
        if !authority_ok || !header("host").is_some_and(|h| is_loopback_host(host_of(h))) {
            return Err(Refused::NotLoopbackHost);
        }
        if header("origin").is_some_and(|o| !self.is_own_origin(o))
            || header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none")
        {
            return Err(Refused::CrossSite);
        }
        let presented = header("authorization")
            .and_then(|a| {
                a.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            })
            .map(|(_, key)| key.trim());
        if !presented.is_some_and(|k| self.key.matches(k)) {
            return Err(Refused::NoKey);
        }
        let writes = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
        let json = header("content-type").is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
        // A form or text body is what a cross-site page can send without a preflight; an empty
        // body carries nothing (POST .../tokens takes one), and a method the route does not take
        // is the API's to answer (405).
        let has_body = header("content-length").is_some_and(|l| l.trim() != "0")
            || header("transfer-encoding").is_some();
        let operation = crate::api::manage::takes(&parts.method, parts.uri.path());
        if writes && !json && has_body && operation {
            return Err(Refused::NotJson);
        }
        Ok(())
    }

    /// `http://` + a loopback host + this server's port (RFC 6454 §6.1 serialisation); `null`
    /// (sandboxed frames, `file:` pages) is not.
    fn is_own_origin(&self, origin: &str) -> bool {
        let Some(rest) = origin.strip_prefix("http://") else {
            return false;
        };
        let host = host_of(rest);
        let port = rest[host.len()..]
            .strip_prefix(":")
            .map_or(Some(80), |p| p.parse::<u16>().ok());
        is_loopback_host(host) && port == Some(self.port)
    }
}

/// The host part of a `Host` value or origin authority (`[::1]:8080` -> `[::1]`).
fn host_of(authority: &str) -> &str {
    match authority.find(']') {
        Some(end) if authority.starts_with('[') => &authority[..=end],
        _ => authority.split(':').next().unwrap_or(authority),
    }
}

async fn dispatch(
    app: &App,
    req: hyper::Request<Incoming>,
    management: Option<&Management>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let version = if parts.uri.path().contains("/scim/v1/") {
        Version::V1
    } else {
        Version::V2
    };
    let family = routes::route(parts.uri.path())
        .filter(|f| management.is_some() || *f != Function::Management);
    let Some(family) = family else {
        let e = ScimError::not_found(format!("no route for {}", parts.uri.path()));
        return to_hyper(ScimResponse::error(version, &e).into_http());
    };
    if let (Function::Management, Some(m)) = (family, management) {
        if let Err(refused) = m.admit(&parts) {
            tracing::warn!(path = %parts.uri.path(), reason = %refused, "management request refused");
            return refused.into_response();
        }
    }
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
