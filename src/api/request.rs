//! A SCIM request parsed out of HTTP: protocol version, directory, the resource path after the
//! directory, decoded query pairs, headers and body. Routing works on the path segments after
//! `/scim/{v1|v2}/{directoryId}`, so a REST API stage (`/prod/...`) or a custom-domain base path in
//! front changes nothing.

use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use super::routes;
use crate::scim::error::ScimError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SCIM 1.1 (Okta's SCIM 1.1 app, Ping in 1.1 mode).
    V1,
    V2,
}

impl Version {
    pub fn segment(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        }
    }
}

#[derive(Debug)]
pub struct ScimRequest {
    pub method: Method,
    pub version: Version,
    pub directory: String,
    /// Path segments after the directory, percent-decoded (`["Users", "123"]`).
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `https://host[/stage]/scim/v2/{directoryId}`: what `meta.location` starts with.
    pub base_url: String,
}

impl ScimRequest {
    pub fn parse(req: &Request, public_url: Option<&str>) -> Result<Self, ScimError> {
        let path = route_path(req);
        let segs: Vec<&str> = path.split('/').collect();
        let at = segs
            .iter()
            .position(|s| *s == "scim")
            .ok_or_else(|| ScimError::not_found(format!("no SCIM endpoint at {path}")))?;
        let version = match segs.get(at + 1) {
            Some(&"v2") => Version::V2,
            Some(&"v1") => Version::V1,
            _ => return Err(ScimError::not_found(format!("no SCIM endpoint at {path}"))),
        };
        let directory = segs
            .get(at + 2)
            .map(|d| percent_decode(d))
            // Directory ids are ours (UUIDs or slugs); anything else cannot name a directory and
            // must not reach a header (Location) or a key.
            .filter(|d| {
                !d.is_empty()
                    && d.len() <= 64
                    && d.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .ok_or_else(|| ScimError::not_found("the URL names no valid directory"))?;
        let mut segments: Vec<String> = segs[at + 3..]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s))
            .collect();
        // `/users` is `/Users`: the handlers see the RFC's spelling whatever case the client sent.
        if let Some(first) = segments.first_mut() {
            if let Some(name) = routes::canonical_endpoint(first) {
                *first = name.to_string();
            }
        }
        let query = query_pairs(req);
        let base_url = format!(
            "{}/scim/{}/{directory}",
            public_base(req, public_url, "/scim/"),
            version.segment()
        );
        Ok(ScimRequest {
            method: req.method().clone(),
            version,
            directory,
            segments,
            query,
            headers: req.headers().clone(),
            body: req.body().as_ref().to_vec(),
            base_url,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON: malformed JSON is 400 invalidSyntax (RFC 7644 §3.12).
    pub fn json(&self) -> Result<Value, ScimError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ScimError::invalid_syntax("the request body is empty"));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
        })
    }
}

/// The path a route is read from: API Gateway's raw path when there is one (it has no stage in
/// front), else the URI's (a local server, a test).
pub fn route_path(req: &Request) -> &str {
    let raw = req.raw_http_path();
    if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    }
}

/// `scheme://host[/stage]`, what every URL this service prints starts with (SCIM `meta.location`,
/// the management API's directory URLs): `SCIM_PUBLIC_URL` when set, else this request's host
/// and whatever precedes `route` (`/scim/`, `/manage`) in its URI path — the REST API stage or a
/// custom domain's base path mapping, which the raw path leaves out.
pub fn public_base(req: &Request, public_url: Option<&str>, route: &str) -> String {
    if let Some(u) = public_url {
        return u.to_string();
    }
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let scheme = h("x-forwarded-proto").unwrap_or("https");
    let host = h("host").unwrap_or("localhost");
    let full = req.uri().path();
    let prefix = full.find(route).map_or("", |i| &full[..i]);
    format!("{scheme}://{host}{prefix}")
}

/// The decoded query pairs of a request (from the URI, else from the Lambda event's parameters).
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> = req.uri().query().map(parse_query).unwrap_or_default();
    if query.is_empty() {
        let params = req.query_string_parameters();
        for (k, v) in params.iter() {
            query.push((k.to_string(), v.to_string()));
        }
    }
    query
}

/// The pairs of an `application/x-www-form-urlencoded` body (the same encoding as a query).
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    parse_query(body.trim())
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Percent-decoding; invalid escapes are kept literally (a lenient reading of a client's URL).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_filters_in_query_strings() {
        assert_eq!(
            parse_query("filter=userName%20eq%20%22a%40b.com%22&count=2"),
            vec![
                ("filter".into(), "userName eq \"a@b.com\"".into()),
                ("count".into(), "2".into())
            ]
        );
        assert_eq!(percent_decode("a+b%2"), "a+b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn printed_urls_keep_the_stage_in_front_of_each_route() {
        let req = lambda_http::http::Request::builder()
            .uri("https://ignored/prod/manage/directories")
            .header("host", "api.example.com")
            .body(lambda_http::Body::Empty)
            .expect("a valid test request");
        assert_eq!(
            public_base(&req, None, "/manage"),
            "https://api.example.com/prod"
        );
        assert_eq!(
            public_base(&req, Some("https://scim.example.com"), "/manage"),
            "https://scim.example.com"
        );
    }
}
