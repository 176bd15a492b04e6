//! The deliverer's HTTP client: it connects only to addresses the URL policy allows, and to
//! exactly the addresses it checked.
//!
//! hyper's connector resolves a host name through a pluggable resolver and connects to what
//! that returns, so the check lives in the resolver ([`CheckedResolver`]): it looks the name
//! up once, refuses the name if *any* address is refused (a rebinding name that mixes a public
//! and a private answer gets nowhere), and returns the checked addresses for the connector to
//! use — no second lookup that could answer differently. An IP-literal host never reaches a
//! resolver (the connector connects to it directly), which is why `WebhookUrl::parse` checks
//! those, on every delivery.
//!
//! Limits: response headers are read into at most [`MAX_HEADER_BYTES`] (hyper's read buffer),
//! connecting takes at most [`CONNECT_TIMEOUT`], and the deliverer bounds the rest.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::target::{check_address, UrlError, UrlPolicy};

/// Largest response head (status line and headers) read; hyper's smallest allowed buffer is 8 KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest wait for a TCP connection (the TLS handshake counts against the attempt's time).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Looks a host name up (the system resolver, or a test's table).
pub type Lookup = Arc<dyn Fn(String) -> BoxFuture<std::io::Result<Vec<IpAddr>>> + Send + Sync>;

/// The system resolver (`getaddrinfo`, through tokio).
pub fn system_lookup() -> Lookup {
    Arc::new(|name: String| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// Why a host name gave no address to connect to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the webhook host did not resolve")]
    NotFound(#[source] std::io::Error),
    #[error(transparent)]
    Refused(UrlError),
}

/// A resolver that returns only addresses the policy allows (see the module header).
#[derive(Clone)]
pub struct CheckedResolver {
    policy: UrlPolicy,
    lookup: Lookup,
}

impl CheckedResolver {
    pub fn new(policy: UrlPolicy, lookup: Lookup) -> Self {
        CheckedResolver { policy, lookup }
    }

    /// The checked addresses of `name` (port 0: the connector sets the URL's).
    pub async fn resolve(&self, name: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        // Loopback only through the exact name `localhost` on a local server (`target`).
        let loopback = self.policy == UrlPolicy::Local && name.eq_ignore_ascii_case("localhost");
        let ips = (self.lookup)(name.to_string())
            .await
            .map_err(ResolveError::NotFound)?;
        if ips.is_empty() {
            return Err(ResolveError::NotFound(std::io::ErrorKind::NotFound.into()));
        }
        for ip in &ips {
            check_address(*ip, loopback).map_err(ResolveError::Refused)?;
        }
        Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect())
    }
}

impl tower_service::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = BoxFuture<Result<Self::Response, ResolveError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ResolveError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.resolve(name.as_str()).await?.into_iter()) })
    }
}

pub type HttpsClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>, Full<Bytes>>;

/// The delivery client for `policy`. Fails only when the system has no CA certificates.
pub fn client(policy: UrlPolicy, lookup: Lookup) -> std::io::Result<HttpsClient> {
    let mut http = HttpConnector::new_with_resolver(CheckedResolver::new(policy, lookup));
    // The TLS layer handles `https`; it needs the TCP layer to accept that scheme.
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let tls = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?;
    let https = match policy {
        // In AWS a plain-http URL never passes the policy; the connector refuses one too.
        UrlPolicy::Aws => tls.https_only().enable_http1().wrap_connector(http),
        UrlPolicy::Local => tls.https_or_http().enable_http1().wrap_connector(http),
    };
    Ok(Client::builder(TokioExecutor::new())
        .http1_max_buf_size(MAX_HEADER_BYTES)
        .build(https))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::webhooks::target::AddressClass;

    fn table(ips: &'static [&'static str]) -> Lookup {
        Arc::new(move |_| {
            Box::pin(async move { Ok(ips.iter().map(|i| i.parse().unwrap()).collect()) })
        })
    }

    #[tokio::test]
    async fn a_name_with_any_forbidden_address_is_refused() {
        let r = CheckedResolver::new(UrlPolicy::Aws, table(&["93.184.215.14", "169.254.169.254"]));
        match r.resolve("rebind.example.com").await {
            Err(ResolveError::Refused(UrlError::Address(AddressClass::LinkLocal))) => {}
            other => panic!("{other:?}"),
        }
        let r = CheckedResolver::new(UrlPolicy::Aws, table(&["fd00:ec2::254"]));
        assert!(matches!(
            r.resolve("imds.example.com").await,
            Err(ResolveError::Refused(UrlError::Address(
                AddressClass::UniqueLocal
            )))
        ));
    }

    #[tokio::test]
    async fn the_checked_addresses_are_the_ones_returned() {
        let r = CheckedResolver::new(UrlPolicy::Aws, table(&["93.184.215.14", "2606:2800::1"]));
        let got = r.resolve("hooks.example.com").await.unwrap();
        assert_eq!(
            got,
            vec![
                "93.184.215.14:0".parse::<SocketAddr>().unwrap(),
                "[2606:2800::1]:0".parse().unwrap()
            ]
        );
    }

    #[tokio::test]
    async fn loopback_only_for_localhost_on_a_local_server() {
        let lo = table(&["127.0.0.1"]);
        let local = CheckedResolver::new(UrlPolicy::Local, lo.clone());
        assert!(local.resolve("localhost").await.is_ok());
        // A public name that answers loopback (`localtest.me` style) is refused even locally.
        assert!(local.resolve("localhost.attacker.example").await.is_err());
        let aws = CheckedResolver::new(UrlPolicy::Aws, lo);
        assert!(aws.resolve("localhost").await.is_err());
    }
}
