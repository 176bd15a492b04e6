//! `scimctl`'s way to a management API over HTTP (its commands with `SCIM_MANAGEMENT_URL`, and
//! `scimctl console`), in one of two ways, chosen by the URL:
//! - `http://127.0.0.1:8080/manage` (a running `scim-local`): the management key
//!   (`management_key.rs`), sent to a loopback host only, so the key never leaves the machine;
//! - `https://…/manage` (a deployed stack's `ManagementApiBase`): SigV4 for `execute-api`, the
//!   signature API Gateway's `AWS_IAM` authorizer checks, with the operator's credentials from
//!   aws-config's default chain (environment, profile, instance role). The region is the
//!   one in an `execute-api` host name, else the configured one (a custom domain names none).
//!
//! Without `SCIM_MANAGEMENT_URL`, `scimctl` works on the tables directly and needs neither.

use std::path::Path;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Method;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::management_key::{
    is_loopback_host, KeyFileError, ManagementKey, DEFAULT_KEY_FILE, ENV_MANAGEMENT_KEY,
};

/// The management API's base URL: scim-local's (`http://127.0.0.1:8080/manage`) or a stack's
/// `ManagementApiBase`; set, `scimctl` uses it.
pub const ENV_MANAGEMENT_URL: &str = "SCIM_MANAGEMENT_URL";
/// The service name API Gateway's IAM authorizer expects in the credential scope.
pub const SIGV4_SERVICE: &str = "execute-api";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{ENV_MANAGEMENT_URL} must be scim-local's management API on this machine (http://127.0.0.1:8080/manage) or a deployed stack's ManagementApiBase (https://…/manage); got {0:?}")]
    BadUrl(String),
    #[error("no management key: set {ENV_MANAGEMENT_KEY} to the key scim-local printed, or run scimctl where scim-local keeps {DEFAULT_KEY_FILE}")]
    NoKey,
    #[error("{ENV_MANAGEMENT_KEY} is not a management key (scim_mk_ + 64 hex)")]
    BadKey,
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("no AWS credentials to sign with: set AWS_PROFILE or the AWS_* variables (with IAM Identity Center: eval \"$(aws configure export-credentials --format env)\")")]
    NoCredentials,
    #[error("the AWS credentials could not be loaded")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    #[error("no AWS region to sign for: set AWS_REGION (the stack's region)")]
    NoRegion,
    #[error("the request could not be signed")]
    Signing(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("no CA certificates on this machine to check the management API's TLS certificate")]
    Tls(#[source] std::io::Error),
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

impl ClientError {
    /// The HTTP status the API answered, when it answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How a request proves who sends it.
enum Auth {
    /// scim-local: `Authorization: Bearer scim_mk_…`, over plain HTTP to a loopback host.
    Key(ManagementKey),
    /// A deployed stack: SigV4 for `execute-api` in `region`, over HTTPS.
    SigV4 {
        credentials: SharedCredentialsProvider,
        region: String,
    },
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client of one management API.
pub struct ManagementClient {
    base: String,
    auth: Auth,
    http: HttpsClient,
}

impl ManagementClient {
    /// The client for `base`: a loopback `http` URL takes the key from `SCIM_MANAGEMENT_KEY`,
    /// else from scim-local's default key file in the current directory (where `cargo local`
    /// keeps it); an `https` URL signs with the default AWS credential chain.
    pub async fn from_env(base: &str) -> Result<ManagementClient, ClientError> {
        match Target::of(base)? {
            Target::Local => {
                let key = match std::env::var(ENV_MANAGEMENT_KEY) {
                    Ok(k) if !k.is_empty() => {
                        ManagementKey::parse(&k).ok_or(ClientError::BadKey)?
                    }
                    _ => ManagementKey::read(Path::new(DEFAULT_KEY_FILE))?
                        .ok_or(ClientError::NoKey)?,
                };
                ManagementClient::new(base, key)
            }
            Target::Aws { region } => {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let credentials = config
                    .credentials_provider()
                    .ok_or(ClientError::NoCredentials)?;
                let region = region
                    .or_else(|| config.region().map(|r| r.to_string()))
                    .ok_or(ClientError::NoRegion)?;
                ManagementClient::signed(base, credentials, region)
            }
        }
    }

    /// scim-local's API at `base` (a loopback `http` URL), with its key.
    pub fn new(base: &str, key: ManagementKey) -> Result<ManagementClient, ClientError> {
        if !matches!(Target::of(base)?, Target::Local) {
            return Err(ClientError::BadUrl(base.into()));
        }
        Ok(ManagementClient {
            base: base.trim_end_matches('/').to_string(),
            auth: Auth::Key(key),
            http: https_client()?,
        })
    }

    /// A stack's API at `base` (an `https` URL), signed with `credentials` for `region`.
    pub fn signed(
        base: &str,
        credentials: SharedCredentialsProvider,
        region: String,
    ) -> Result<ManagementClient, ClientError> {
        if !matches!(Target::of(base)?, Target::Aws { .. }) {
            return Err(ClientError::BadUrl(base.into()));
        }
        Ok(ManagementClient {
            base: base.trim_end_matches('/').to_string(),
            auth: Auth::SigV4 {
                credentials,
                region,
            },
            http: https_client()?,
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
        let bytes = body
            .as_ref()
            .map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let mut headers: Vec<(String, String)> = Vec::new();
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        match &self.auth {
            Auth::Key(key) => {
                headers.push(("authorization".into(), format!("Bearer {}", key.as_str())));
            }
            Auth::SigV4 {
                credentials,
                region,
            } => {
                let creds = credentials
                    .provide_credentials()
                    .await
                    .map_err(ClientError::Credentials)?;
                let signed = sigv4_headers(
                    method.as_str(),
                    &url,
                    &headers,
                    &bytes,
                    &creds,
                    region,
                    SystemTime::now(),
                )?;
                headers.extend(signed);
            }
        }
        let mut req = hyper::Request::builder().method(method).uri(&url);
        for (name, value) in &headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = req
            .body(Full::new(bytes))
            .map_err(|_| ClientError::BadUrl(url.clone()))?;
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
            // The API's own errors are `{error, message}`; API Gateway's IAM refusals are
            // `{message}` ("Missing Authentication Token", "... not authorized ...").
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

    /// Where the calls go (for what `scimctl console` prints).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Whether calls are signed with AWS credentials (a deployed stack).
    pub fn is_signed(&self) -> bool {
        matches!(self.auth, Auth::SigV4 { .. })
    }
}

/// What a management URL names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// scim-local on this machine (`http`, loopback host).
    Local,
    /// A deployed stack (`https`), with the region its `execute-api` host names, if it does.
    Aws { region: Option<String> },
}

impl Target {
    fn of(base: &str) -> Result<Target, ClientError> {
        let bad = || ClientError::BadUrl(base.into());
        let url = url::Url::parse(base).map_err(|_| bad())?;
        let host = url.host_str().ok_or_else(bad)?;
        match url.scheme() {
            "http" if is_loopback_host(host) => Ok(Target::Local),
            "https" if url.username().is_empty() && url.password().is_none() => Ok(Target::Aws {
                region: execute_api_region(host),
            }),
            _ => Err(bad()),
        }
    }
}

/// `{api-id}.execute-api.{region}.amazonaws.com[.cn]`'s region.
fn execute_api_region(host: &str) -> Option<String> {
    let mut labels = host.split('.');
    let (_, service, region) = (labels.next()?, labels.next()?, labels.next()?);
    (service == SIGV4_SERVICE && labels.next() == Some("amazonaws")).then(|| region.to_string())
}

/// The headers SigV4 adds to a request (`x-amz-date`, `authorization`, and
/// `x-amz-security-token` with temporary credentials), signing the host, `headers` and `body`
/// as of `at`. Pure, so a known answer can pin it (the tests below, checked against botocore).
pub fn sigv4_headers(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    at: SystemTime,
) -> Result<Vec<(String, String)>, ClientError> {
    let scope = Scope {
        region,
        service: SIGV4_SERVICE,
    };
    sigv4(method, url, headers, body, credentials, scope, at)
}

/// A credential scope's region and service.
#[derive(Clone, Copy)]
struct Scope<'a> {
    region: &'a str,
    service: &'a str,
}

fn sigv4(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    credentials: &Credentials,
    scope: Scope<'_>,
    at: SystemTime,
) -> Result<Vec<(String, String)>, ClientError> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ClientError::Signing(Box::new(e)))?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| ClientError::Signing(Box::new(e)))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| ClientError::Signing(Box::new(e)))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// HTTPS with the system's CA roots (rustls on ring, as the webhook client), plain HTTP for
/// scim-local. Without CA roots only the local API is reachable.
fn https_client() -> Result<HttpsClient, ClientError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let tls = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(tls) => tls,
        Err(e) => return Err(ClientError::Tls(e)),
    };
    Ok(Client::builder(TokioExecutor::new())
        .build(tls.https_or_http().enable_http1().wrap_connector(http)))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-08-30T12:36:00Z, the time of AWS's published SigV4 test suite.
    fn suite_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160)
    }

    fn suite_credentials(session_token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(str::to_string),
            None,
            "test",
        )
    }

    fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }

    // The expected signatures below were computed independently with botocore 1.43
    // (`SigV4Auth(Credentials(...), service, "us-east-1").add_auth(AWSRequest(...))` with its
    // clock patched to the suite's time); the first is also AWS's published `get-vanilla` case.

    #[test]
    fn sigv4_matches_the_published_get_vanilla_vector() {
        let scope = Scope {
            region: "us-east-1",
            service: "service",
        };
        let h = sigv4(
            "GET",
            "https://example.amazonaws.com/",
            &[],
            b"",
            &suite_credentials(None),
            scope,
            suite_time(),
        )
        .unwrap();
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn a_get_to_execute_api_signs_its_double_encoded_path_and_query() {
        let h = sigv4_headers(
            "GET",
            "https://abc123defg.execute-api.us-east-1.amazonaws.com/manage/directories/dir_01%20x/users?limit=50&after=u_1",
            &[],
            b"",
            &suite_credentials(None),
            "us-east-1",
            suite_time(),
        )
        .unwrap();
        assert_eq!(header(&h, "x-amz-date"), "20150830T123600Z");
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=72ad0a09bf513a2d9df2b7dd14138a18f25062ab81e60bf221ab95e15ee52dc5"
        );
    }

    #[test]
    fn a_json_post_with_temporary_credentials_signs_its_body_type_and_session_token() {
        let h = sigv4_headers(
            "POST",
            "https://abc123defg.execute-api.us-east-1.amazonaws.com/manage/directories",
            &[("content-type".into(), "application/json".into())],
            br#"{"name":"Acme Corp","provider":"okta"}"#,
            &suite_credentials(Some("FQoGZXIvYXdzEXAMPLETOKEN")),
            "us-east-1",
            suite_time(),
        )
        .unwrap();
        assert_eq!(
            header(&h, "x-amz-security-token"),
            "FQoGZXIvYXdzEXAMPLETOKEN"
        );
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
             Signature=225f3af98124f3a7b77ddc722f23c8a69acc8b621d27ebd8a6332c8bef4f4bac"
        );
    }

    #[test]
    fn the_url_says_whether_to_use_the_key_or_sign() {
        assert_eq!(
            Target::of("http://127.0.0.1:8080/manage").unwrap(),
            Target::Local
        );
        assert_eq!(
            Target::of("https://abc123.execute-api.eu-west-1.amazonaws.com/manage").unwrap(),
            Target::Aws {
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            Target::of("https://scim.example.com/manage").unwrap(),
            Target::Aws { region: None }
        );
        // The key never travels to another machine, nor in clear text.
        for bad in [
            "http://scim.example.com/manage",
            "http://10.0.0.5:8080/manage",
            "https://user:pw@scim.example.com/manage",
            "ftp://127.0.0.1/manage",
            "not a url",
        ] {
            assert!(
                matches!(Target::of(bad), Err(ClientError::BadUrl(_))),
                "{bad}"
            );
        }
    }
}
