//! A management API request, parsed once (as mini-redis parses a frame into a `Command`): the
//! route, its path parameters, query and JSON body become one `ManageRequest` value, and
//! `super::dispatch` makes the one service call it names. Bodies and queries are plain serde
//! structs, so the API's shape can be described from them; the hand-written checks keep the
//! answers' wording (`"name" is required`, ...).

use lambda_http::http::Method;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{fail, Failure};
use crate::api::request::{percent_decode, query_pairs, route_path};
use crate::custom_attributes::AttributeCatalogue;
use crate::provider::Provider;
use crate::request_log::{RequestFilter, Resource, StatusClass};
use crate::roles::RoleCatalogue;
use crate::service::custom_attributes::PutMappings;
use crate::service::directories::AuthMethods;
use crate::service::portal_links::{NewPortalLink, PortalLinkOptions};
use crate::service::request_log::RequestCursor;
use crate::service::roles::PutAssignments;

/// Most items one page of users, groups or events returns.
pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 10;
/// The largest sequence number the API takes: 2^53 - 1, the largest integer every JSON reader
/// holds exactly (RFC 8259 §6). A directory's sequence never comes near it.
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;
/// The longest lifetime a credential can be given: a hundred years (none: no expiry).
pub const MAX_EXPIRY_DAYS: u32 = 36_500;

/// `POST /manage/directories`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct NewDirectory {
    /// A name for people (the customer's); not blank.
    #[cfg_attr(feature = "local", schemars(length(min = 1), pattern(r"[^\s\u0085]")))]
    pub name: String,
    /// Lifetime of the first token, in days (none: no expiry).
    #[cfg_attr(feature = "local", schemars(range(min = 1, max = 36500)))]
    pub expires_in_days: Option<u32>,
    /// The identity provider it is set up for (the IT admin can choose it in the Admin Portal
    /// instead).
    pub provider: Option<Provider>,
}

/// `POST .../tokens` and `POST .../clients` (the body may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct NewCredential {
    /// Lifetime in days (none: no expiry).
    #[cfg_attr(feature = "local", schemars(range(min = 1, max = 36500)))]
    pub expires_in_days: Option<u32>,
}

/// `PUT .../webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct WebhookTarget {
    pub url: String,
}

/// `PATCH .../webhook`: deliver again from a sequence number on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ResumeDeliveries {
    /// The first sequence number to deliver again.
    #[cfg_attr(feature = "local", schemars(range(min = 1, max = 9007199254740991u64)))]
    pub resume_from_sequence: u64,
}

/// `?after=&limit=` of the users and groups reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct PageQuery {
    pub after: Option<String>,
    pub limit: usize,
}

/// `?after=&limit=&event=` of the Events API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct EventsQuery {
    pub after: u64,
    pub limit: usize,
    /// Only these event types (`event=a,b`); empty: all.
    pub types: Vec<String>,
}

/// `?status=&method=&resource=&resource_id=&since=&until=&after=&limit=` of the request log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestsQuery {
    pub filter: RequestFilter,
    pub after: Option<RequestCursor>,
    pub limit: usize,
}

/// Every route of the management API (template.yaml's `/manage/...`), with what it carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ManageRequest {
    /// `GET /manage/openapi.json`: this API's description (`openapi.rs`).
    OpenApi,
    ListDirectories,
    CreateDirectory(NewDirectory),
    /// `GET /manage/roles`: the stack's roles.
    ShowRoles,
    /// `PUT /manage/roles`.
    PutRoles(RoleCatalogue),
    /// `GET /manage/custom-attributes`: the stack's custom attribute keys.
    ShowCustomAttributes,
    /// `PUT /manage/custom-attributes`.
    PutCustomAttributes(AttributeCatalogue),
    /// A route under `/manage/directories/{directory}`.
    Directory {
        directory: String,
        request: DirectoryRequest,
    },
}

/// What a request asks of one directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DirectoryRequest {
    Show,
    /// Marks the directory `deleting`; the clean-up function deletes its data after the grace.
    Delete,
    ListTokens,
    IssueToken(NewCredential),
    RevokeToken {
        token_id: String,
    },
    ListClients,
    CreateClient(NewCredential),
    RevokeClient {
        client_id: String,
    },
    SetAuthMethods(AuthMethods),
    ListPortalLinks,
    /// What the customer's IT admin did in the Admin Portal.
    PortalActivity,
    CreatePortalLink(PortalLinkOptions),
    RevokePortalLink {
        link_id: String,
    },
    ListUsers(PageQuery),
    ListGroups(PageQuery),
    GetUser {
        id: String,
    },
    GetGroup {
        id: String,
    },
    ListEvents(EventsQuery),
    /// The SCIM request log, newest first.
    ListRequests(RequestsQuery),
    ShowRoleAssignments,
    PutRoleAssignments(PutAssignments),
    /// The directory's SCIM attribute paths → custom attribute keys.
    ShowAttributeMapping,
    PutAttributeMapping(PutMappings),
    /// What a candidate mapping makes of the newest users (nothing saved).
    PreviewAttributeMapping(PutMappings),
    ShowWebhook,
    SetWebhook(WebhookTarget),
    DeleteWebhook,
    /// On the webhook's own route (no API Gateway route of its own).
    ResumeWebhook(ResumeDeliveries),
}

/// The methods a route takes (`segs`: the path after `/manage`, decoded); `None`: no such route.
/// A known route asked with another method answers 405 with `Allow` (RFC 9110 §15.5.6).
pub fn allowed_methods(segs: &[&str]) -> Option<&'static [Method]> {
    const GET: &[Method] = &[Method::GET];
    Some(match segs {
        ["openapi.json"] => GET,
        ["roles" | "custom-attributes"] => &[Method::GET, Method::PUT],
        ["directories", _, "role-assignments" | "custom-attributes"] => &[Method::GET, Method::PUT],
        ["directories", _, "custom-attributes", "preview"] => &[Method::POST],
        ["directories"] => &[Method::GET, Method::POST],
        ["directories", _] => &[Method::GET, Method::DELETE],
        ["directories", _, "tokens" | "clients" | "portal-links"] => &[Method::GET, Method::POST],
        ["directories", _, "tokens" | "clients" | "portal-links", _] => &[Method::DELETE],
        ["directories", _, "auth"] => &[Method::PUT],
        ["directories", _, "users" | "groups" | "events" | "portal-activity" | "requests"] => GET,
        ["directories", _, "users" | "groups", _] => GET,
        ["directories", _, "webhook"] => &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
        _ => return None,
    })
}

/// Whether `method` on `path` (from `/manage` on) is one of the API's operations.
pub fn takes(method: &Method, path: &str) -> bool {
    let segs: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(2)
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    allowed_methods(&segs).is_some_and(|m| m.contains(method))
}

/// The path from `/manage` on (a stage or base path in front is dropped), without a trailing `/`.
pub fn manage_path(req: &Request) -> &str {
    let path = route_path(req);
    path.find("/manage")
        .map_or(path, |i| &path[i..])
        .trim_end_matches('/')
}

impl ManageRequest {
    pub fn parse(req: &Request) -> Result<ManageRequest, Failure> {
        let path = manage_path(req);
        let segs: Vec<String> = path.split('/').skip(2).map(percent_decode).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = req.method();
        let no_route = || match allowed_methods(&segs) {
            Some(allowed) => {
                let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                let mut f = fail(
                    405,
                    "method_not_allowed",
                    format!("{path} takes {}", allow.join(", ")),
                );
                f.allow = Some(allow.join(", "));
                f
            }
            None => fail(404, "not_found", format!("no route {m} {path}")),
        };
        match (m, segs.as_slice()) {
            (&Method::GET, ["openapi.json"]) => Ok(ManageRequest::OpenApi),
            (&Method::GET, ["directories"]) => Ok(ManageRequest::ListDirectories),
            (&Method::GET, ["roles"]) => Ok(ManageRequest::ShowRoles),
            (&Method::PUT, ["roles"]) => Ok(ManageRequest::PutRoles(typed_body(req)?)),
            (&Method::GET, ["custom-attributes"]) => Ok(ManageRequest::ShowCustomAttributes),
            (&Method::PUT, ["custom-attributes"]) => {
                Ok(ManageRequest::PutCustomAttributes(typed_body(req)?))
            }
            (&Method::POST, ["directories"]) => {
                let body = json_body(req)?;
                let name = body["name"]
                    .as_str()
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| fail(400, "invalid_request", "\"name\" is required"))?;
                Ok(ManageRequest::CreateDirectory(NewDirectory {
                    name: name.to_string(),
                    expires_in_days: expiry(&body)?,
                    provider: provider(&body)?,
                }))
            }
            (_, ["directories", d, rest @ ..]) => match DirectoryRequest::parse(req, rest)? {
                Some(request) => Ok(ManageRequest::Directory {
                    directory: d.to_string(),
                    request,
                }),
                None => Err(no_route()),
            },
            _ => Err(no_route()),
        }
    }
}

impl DirectoryRequest {
    /// The route after `/manage/directories/{d}`; `None`: no such route.
    fn parse(req: &Request, rest: &[&str]) -> Result<Option<DirectoryRequest>, Failure> {
        use DirectoryRequest as R;
        Ok(Some(match (req.method(), rest) {
            (&Method::GET, []) => R::Show,
            (&Method::DELETE, []) => R::Delete,
            (&Method::GET, ["tokens"]) => R::ListTokens,
            (&Method::POST, ["tokens"]) => R::IssueToken(new_credential(req)?),
            (&Method::DELETE, ["tokens", t]) => R::RevokeToken {
                token_id: t.to_string(),
            },
            (&Method::GET, ["clients"]) => R::ListClients,
            (&Method::POST, ["clients"]) => R::CreateClient(new_credential(req)?),
            (&Method::DELETE, ["clients", c]) => R::RevokeClient {
                client_id: c.to_string(),
            },
            (&Method::GET, ["portal-links"]) => R::ListPortalLinks,
            (&Method::GET, ["portal-activity"]) => R::PortalActivity,
            (&Method::POST, ["portal-links"]) => R::CreatePortalLink(portal_link(req)?),
            (&Method::DELETE, ["portal-links", l]) => R::RevokePortalLink {
                link_id: l.to_string(),
            },
            (&Method::PUT, ["auth"]) => R::SetAuthMethods(auth_methods(&json_body(req)?)?),
            (&Method::GET, ["users"]) => R::ListUsers(page_query(req)?),
            (&Method::GET, ["groups"]) => R::ListGroups(page_query(req)?),
            (&Method::GET, ["users", id]) => R::GetUser { id: id.to_string() },
            (&Method::GET, ["groups", id]) => R::GetGroup { id: id.to_string() },
            (&Method::GET, ["events"]) => R::ListEvents(events_query(req)?),
            (&Method::GET, ["requests"]) => R::ListRequests(requests_query(req)?),
            (&Method::GET, ["role-assignments"]) => R::ShowRoleAssignments,
            (&Method::PUT, ["role-assignments"]) => R::PutRoleAssignments(typed_body(req)?),
            (&Method::GET, ["custom-attributes"]) => R::ShowAttributeMapping,
            (&Method::PUT, ["custom-attributes"]) => R::PutAttributeMapping(typed_body(req)?),
            (&Method::POST, ["custom-attributes", "preview"]) => {
                R::PreviewAttributeMapping(typed_body(req)?)
            }
            (&Method::GET, ["webhook"]) => R::ShowWebhook,
            (&Method::DELETE, ["webhook"]) => R::DeleteWebhook,
            (&Method::PUT, ["webhook"]) => R::SetWebhook(webhook_target(&json_body(req)?)?),
            (&Method::PATCH, ["webhook"]) => R::ResumeWebhook(resume(&json_body(req)?)?),
            _ => return Ok(None),
        }))
    }
}

/// A JSON body read into its typed request; what does not fit is a 400 naming why.
fn typed_body<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, Failure> {
    serde_json::from_value(json_body(req)?).map_err(|e| {
        fail(
            400,
            "invalid_request",
            format!("the body does not fit: {e}"),
        )
    })
}

fn webhook_target(body: &Value) -> Result<WebhookTarget, Failure> {
    let url = body["url"]
        .as_str()
        .ok_or_else(|| fail(400, "invalid_request", "\"url\" is required"))?;
    Ok(WebhookTarget { url: url.into() })
}

fn resume(body: &Value) -> Result<ResumeDeliveries, Failure> {
    let from = whole_number(&body["resume_from_sequence"])
        .filter(|n| (1..=MAX_SEQUENCE).contains(n))
        .ok_or_else(|| {
            fail(
                400,
                "invalid_request",
                "\"resume_from_sequence\" (a positive integer) is required",
            )
        })?;
    Ok(ResumeDeliveries {
        resume_from_sequence: from,
    })
}

/// `"provider"`: one of the names `Provider` knows, or absent.
fn provider(body: &Value) -> Result<Option<Provider>, Failure> {
    match body.get("provider") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(Provider::from_name)
            .map(Some)
            .ok_or_else(|| {
                let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
                fail(
                    400,
                    "invalid_request",
                    format!("\"provider\" must be one of: {}", names.join(", ")),
                )
            }),
    }
}

/// A query parameter (names are exact: this API defines them).
fn query(req: &Request, name: &str) -> Option<String> {
    query_pairs(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn page_query(req: &Request) -> Result<PageQuery, Failure> {
    Ok(PageQuery {
        after: query(req, "after"),
        limit: page_size(query(req, "limit"))?,
    })
}

fn events_query(req: &Request) -> Result<EventsQuery, Failure> {
    let after = match query(req, "after") {
        None => 0,
        Some(a) => a
            .parse()
            .ok()
            .filter(|n| *n <= MAX_SEQUENCE)
            .ok_or_else(|| {
                fail(
                    400,
                    "invalid_request",
                    "\"after\" must be a sequence number",
                )
            })?,
    };
    let types = query(req, "event")
        .map(|e| {
            e.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(EventsQuery {
        after,
        limit: page_size(query(req, "limit"))?,
        types,
    })
}

fn requests_query(req: &Request) -> Result<RequestsQuery, Failure> {
    let invalid = |m: &str| fail(400, "invalid_request", m);
    let statuses = match query(req, "status") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|c| StatusClass::from_name(c.trim()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                invalid("\"status\" must be 2xx, 4xx or 5xx (or several, comma-separated)")
            })?,
    };
    let method = match query(req, "method") {
        None => None,
        Some(m) if !m.is_empty() && m.len() <= 10 && m.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(m.to_ascii_uppercase())
        }
        Some(_) => {
            return Err(invalid(
                "\"method\" must be an HTTP method (GET, POST, ...)",
            ))
        }
    };
    let resource = match query(req, "resource") {
        None => None,
        Some(r) => Some(
            Resource::from_name(&r)
                .ok_or_else(|| invalid("\"resource\" must be Users, Groups or other"))?,
        ),
    };
    let resource_id = match query(req, "resource_id") {
        Some(id) if id.is_empty() || id.len() > 200 => {
            return Err(invalid("\"resource_id\" must be 1 to 200 characters"))
        }
        other => other,
    };
    let time = |name: &str| match query(req, name) {
        None => Ok(None),
        Some(t) => crate::clock::parse_rfc3339(&t).map(Some).ok_or_else(|| {
            fail(
                400,
                "invalid_request",
                format!("\"{name}\" must be a UTC time like 2026-12-04T10:00:00Z"),
            )
        }),
    };
    let after = match query(req, "after") {
        None => None,
        Some(a) => Some(
            RequestCursor::parse(&a)
                .ok_or_else(|| invalid("\"after\" must be a list_metadata.after this API gave"))?,
        ),
    };
    Ok(RequestsQuery {
        filter: RequestFilter {
            statuses,
            method,
            resource,
            resource_id,
            since: time("since")?,
            until: time("until")?,
        },
        after,
        limit: page_size(query(req, "limit"))?,
    })
}

fn auth_methods(body: &Value) -> Result<AuthMethods, Failure> {
    let flag = |name: &str| {
        body[name].as_bool().ok_or_else(|| {
            fail(
                400,
                "invalid_request",
                format!("\"{name}\" must be true or false"),
            )
        })
    };
    Ok(AuthMethods {
        bearer: flag("bearer")?,
        client_credentials: flag("client_credentials")?,
    })
}

fn page_size(limit: Option<String>) -> Result<usize, Failure> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                fail(
                    400,
                    "invalid_request",
                    format!("\"limit\" must be 1 to {MAX_PAGE}"),
                )
            }),
    }
}

fn new_credential(req: &Request) -> Result<NewCredential, Failure> {
    if req.body().as_ref().is_empty() {
        return Ok(NewCredential::default());
    }
    Ok(NewCredential {
        expires_in_days: expiry(&json_body(req)?)?,
    })
}

/// The options of a new setup link (an empty body: every default), checked.
fn portal_link(req: &Request) -> Result<PortalLinkOptions, Failure> {
    let invalid = |m: String| fail(400, "invalid_request", m);
    let raw = if req.body().as_ref().is_empty() {
        NewPortalLink::default()
    } else {
        let body = json_body(req)?;
        let text = |name: &str| match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("\"{name}\" must be a string"))),
        };
        let minutes = match body.get("expires_in_minutes") {
            None | Some(Value::Null) => None,
            // Out of range, it is refused with the range below.
            Some(v) => Some(
                whole_number(v)
                    .map(|m| u32::try_from(m).unwrap_or(u32::MAX))
                    .unwrap_or(0),
            ),
        };
        NewPortalLink {
            expires_in_minutes: minutes,
            return_url: text("return_url")?,
            success_url: text("success_url")?,
            embed_origin: text("embed_origin")?,
            app_name: text("app_name")?,
        }
    };
    PortalLinkOptions::try_from(raw).map_err(|e| invalid(e.to_string()))
}

fn expiry(body: &Value) -> Result<Option<u32>, Failure> {
    match body.get("expires_in_days") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => whole_number(v)
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| (1..=MAX_EXPIRY_DAYS).contains(d))
            .map(Some)
            .ok_or_else(|| {
                fail(
                    400,
                    "invalid_request",
                    "\"expires_in_days\" must be a whole number of days, 1 to 36500",
                )
            }),
    }
}

/// A JSON number that is a whole non-negative integer: `2` and `2.0` alike (JSON Schema's
/// `integer` is any number with a zero fractional part).
fn whole_number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=MAX_SEQUENCE as f64).contains(f))
            .map(|f| f as u64)
    })
}

fn json_body(req: &Request) -> Result<Value, Failure> {
    serde_json::from_slice::<Value>(req.body().as_ref())
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| fail(400, "invalid_request", "the body must be a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn request(method: &str, uri: &str, body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::Text(body.into()))
            .expect("a valid test request")
    }

    #[test]
    fn a_route_behind_a_stage_parses_with_its_decoded_ids() {
        let r = request(
            "DELETE",
            "https://h/prod/manage/directories/d%2D1/tokens/tok_1/",
            "",
        );
        assert_eq!(
            ManageRequest::parse(&r).unwrap(),
            ManageRequest::Directory {
                directory: "d-1".into(),
                request: DirectoryRequest::RevokeToken {
                    token_id: "tok_1".into()
                },
            }
        );
    }

    #[test]
    fn the_application_pages_users_with_after_and_limit() {
        let r = request(
            "GET",
            "https://h/manage/directories/d/users?after=u1&limit=5",
            "",
        );
        assert_eq!(
            ManageRequest::parse(&r).unwrap(),
            ManageRequest::Directory {
                directory: "d".into(),
                request: DirectoryRequest::ListUsers(PageQuery {
                    after: Some("u1".into()),
                    limit: 5,
                }),
            }
        );
        let r = request("GET", "https://h/manage/directories/d/users?limit=101", "");
        assert_eq!(ManageRequest::parse(&r).unwrap_err().status, 400);
    }

    #[test]
    fn the_request_log_is_filtered_by_what_the_query_names() {
        let r = request(
            "GET",
            "https://h/manage/directories/d/requests?status=4xx,5xx&method=patch&resource=Users&resource_id=u1&since=2026-12-04T10:00:00Z&limit=5",
            "",
        );
        let ManageRequest::Directory {
            request: DirectoryRequest::ListRequests(q),
            ..
        } = ManageRequest::parse(&r).unwrap()
        else {
            panic!("not a request log read")
        };
        assert_eq!(
            q.filter,
            RequestFilter {
                statuses: vec![StatusClass::ClientError, StatusClass::ServerError],
                method: Some("PATCH".into()),
                resource: Some(Resource::Users),
                resource_id: Some("u1".into()),
                since: crate::clock::parse_rfc3339("2026-12-04T10:00:00Z"),
                until: None,
            }
        );
        assert_eq!((q.limit, q.after), (5, None));
    }

    #[test]
    fn a_directory_without_a_name_or_an_unknown_route_is_refused() {
        let r = request("POST", "https://h/manage/directories", r#"{"name": " "}"#);
        assert_eq!(ManageRequest::parse(&r).unwrap_err().status, 400);
        let r = request("POST", "https://h/manage/directories/d/webhook", "{}");
        let f = ManageRequest::parse(&r).unwrap_err();
        assert_eq!((f.status, f.code), (405, "method_not_allowed"));
        assert_eq!(f.allow.as_deref(), Some("GET, PUT, PATCH, DELETE"));
        let r = request(
            "GET",
            "https://h/manage/directories/d/requests?status=3xx",
            "",
        );
        assert_eq!(ManageRequest::parse(&r).unwrap_err().status, 400);
        let r = request(
            "GET",
            "https://h/manage/directories/d/requests?after=bm9wZQ",
            "",
        );
        assert_eq!(ManageRequest::parse(&r).unwrap_err().status, 400);
        let r = request("GET", "https://h/manage/directories/d/elsewhere", "");
        let f = ManageRequest::parse(&r).unwrap_err();
        assert_eq!((f.status, f.code), (404, "not_found"));
    }
}
