//! `scimctl`'s way to a running `scim-local`: its management API over HTTP, with the management
//! key (`management_key.rs`). Without `SCIM_MANAGEMENT_URL`, `scimctl` works on the tables
//! directly (AWS, or any DynamoDB endpoint) and needs no key; in AWS the management API wants
//! SigV4, which this client does not speak, so it is for local use and refuses any host that is
//! not loopback (the key never leaves the machine).

use std::path::Path;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Method;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::management_key::{
    is_loopback_host, KeyFileError, ManagementKey, DEFAULT_KEY_FILE, ENV_MANAGEMENT_KEY,
};

/// The management API's base URL (`http://127.0.0.1:8080/manage`); set, `scimctl` uses it.
pub const ENV_MANAGEMENT_URL: &str = "SCIM_MANAGEMENT_URL";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{ENV_MANAGEMENT_URL} must be scim-local's management API on this machine, e.g. http://127.0.0.1:8080/manage (got {0:?})")]
    NotLocal(String),
    #[error("no management key: set {ENV_MANAGEMENT_KEY} to the key scim-local printed, or run scimctl where scim-local keeps {DEFAULT_KEY_FILE}")]
    NoKey,
    #[error("{ENV_MANAGEMENT_KEY} is not a management key (scim_mk_ + 64 hex)")]
    BadKey,
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("cannot reach the management API at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("the management API's answer was cut off: {0}")]
    Body(#[source] hyper::Error),
    #[error("the management API's answer is not what was asked for")]
    Unexpected(#[source] serde_json::Error),
    #[error("{status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

/// A client of one `scim-local`'s management API.
pub struct ManagementClient {
    base: String,
    key: ManagementKey,
    http: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl ManagementClient {
    /// The client for `base`, with the key from `SCIM_MANAGEMENT_KEY`, else from scim-local's
    /// default key file in the current directory (where `cargo local` keeps it).
    pub fn from_env(base: &str) -> Result<ManagementClient, ClientError> {
        let key = match std::env::var(ENV_MANAGEMENT_KEY) {
            Ok(k) if !k.is_empty() => ManagementKey::parse(&k).ok_or(ClientError::BadKey)?,
            _ => ManagementKey::read(Path::new(DEFAULT_KEY_FILE))?.ok_or(ClientError::NoKey)?,
        };
        ManagementClient::new(base, key)
    }

    pub fn new(base: &str, key: ManagementKey) -> Result<ManagementClient, ClientError> {
        let uri: hyper::Uri = base
            .parse()
            .map_err(|_| ClientError::NotLocal(base.into()))?;
        let local = uri.scheme_str() == Some("http") && uri.host().is_some_and(is_loopback_host);
        if !local {
            return Err(ClientError::NotLocal(base.into()));
        }
        Ok(ManagementClient {
            base: base.trim_end_matches('/').to_string(),
            key,
            http: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// `method` on `path` (under `/manage`, e.g. `/directories`) with an optional JSON body:
    /// the answer's JSON, or the API's error as `Refused`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.key.as_str()));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let req = req
            .body(Full::new(bytes))
            .map_err(|_| ClientError::NotLocal(url.clone()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(ClientError::Body)?
            .to_bytes();
        let answer: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if status >= 400 {
            let text = |k: &str| answer[k].as_str().unwrap_or_default().to_string();
            return Err(ClientError::Refused {
                status,
                code: text("error"),
                message: text("message"),
            });
        }
        Ok(answer)
    }

    /// `call`, with the answer read as the service's typed value (`EventsPage`, ...).
    pub async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        serde_json::from_value(self.call(method, path, body).await?)
            .map_err(ClientError::Unexpected)
    }
}

/// `s` as one path segment (RFC 3986 §3.3: everything but unreserved characters escaped), so an
/// id typed on the command line cannot become another path.
pub fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
