//! SCIM responses: status, JSON body, and the headers every response carries
//! (`Content-Type: application/scim+json`, `ETag`, `Location`, `WWW-Authenticate` on 401).
//! Error bodies take the RFC 7644 §3.12 shape for 2.0 and the `Errors` array for 1.1.

use lambda_http::http::header::{CONTENT_TYPE, ETAG, LOCATION, WWW_AUTHENTICATE};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

use super::request::Version;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema;

pub const SCIM_JSON: &str = "application/scim+json";

#[derive(Debug)]
pub struct ScimResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub challenge: bool,
}

impl ScimResponse {
    pub fn json(status: u16, body: Value) -> Self {
        ScimResponse {
            status,
            body: Some(body),
            etag: None,
            location: None,
            challenge: false,
        }
    }

    pub fn empty(status: u16) -> Self {
        ScimResponse {
            status,
            body: None,
            etag: None,
            location: None,
            challenge: false,
        }
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn error(version: Version, e: &ScimError) -> Self {
        let body = match version {
            Version::V2 => {
                let mut b = json!({
                    "schemas": [schema::ERROR],
                    "status": e.status.to_string(),
                    "detail": e.detail,
                });
                if let Some(t) = e.scim_type {
                    b["scimType"] = json!(t.as_str());
                }
                b
            }
            // SCIM 1.1 core §12 error shape (what Okta's 1.1 app parses).
            Version::V1 => json!({
                "Errors": [{"description": e.detail, "code": e.status.to_string()}]
            }),
        };
        let mut r = ScimResponse::json(e.status, body);
        r.challenge = e.status == 401;
        r
    }

    /// This response, or a SCIM 400 `tooMany` when its body would not fit Lambda's 6 MB response
    /// limit (API Gateway would answer a bare 5xx). The body is measured as it will be written.
    pub fn bounded(self, version: Version) -> Self {
        let size = self
            .body
            .as_ref()
            .map_or(0, crate::scim::resource::json_len);
        if size <= MAX_RESPONSE_BYTES {
            return self;
        }
        let e = ScimError::bad(
            ScimType::TooMany,
            format!(
                "the response would be {size} bytes, more than the {MAX_RESPONSE_BYTES} a response may \
                 be; ask for fewer resources (count), fewer attributes (attributes, or \
                 excludedAttributes=members), or page with cursor"
            ),
        );
        ScimResponse::error(version, &e)
    }

    pub fn into_http(self) -> Response<Body> {
        let mut b = Response::builder()
            .status(self.status)
            .header(CONTENT_TYPE, SCIM_JSON);
        if let Some(etag) = &self.etag {
            b = b.header(ETAG, etag);
        }
        if let Some(loc) = &self.location {
            b = b.header(LOCATION, loc);
        }
        if self.challenge {
            b = b.header(WWW_AUTHENTICATE, "Bearer realm=\"scim\"");
        }
        if self.status == 503 {
            // Okta and Entra retry 503s; say when (seconds, RFC 9110 §10.2.3).
            b = b.header("retry-after", "2");
        }
        let body = match self.body {
            Some(v) => Body::Text(v.to_string()),
            None => Body::Empty,
        };
        b.body(body).unwrap_or_else(|_| {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

/// Lambda's response limit is 6 MB for the whole event, in which the body is a JSON string (its
/// quotes escaped): bodies stay under 5 MiB.
pub const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;
