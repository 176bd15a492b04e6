//! A console HTTP request parsed once into what it asks (`ConsoleRequest`), with the session
//! cookie, the URL's one-time `?token=` and, for a form, its CSRF field. Forms are
//! `application/x-www-form-urlencoded`; every POST changes state and must carry the CSRF token.

use lambda_http::http::Method;
use lambda_http::Request;

use crate::api::request::{parse_form, percent_decode, query_pairs, route_path};
use crate::api::web::attributes::MappingForm;
use crate::provider::Provider;

/// The session cookie's name.
pub const COOKIE: &str = "scim_console";

/// The request log's filters (passed to `GET …/requests` as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    /// `2xx`, `4xx` or `5xx`.
    pub status: Option<String>,
    pub method: Option<String>,
    /// `Users` or `Groups`.
    pub resource: Option<String>,
    pub after: Option<String>,
}

/// What a console request asks; `String`s are directory, token or client ids from the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleRequest {
    /// `GET /`: every directory.
    Directories,
    /// `GET /directories/new`: the form.
    NewDirectory,
    /// `POST /directories`.
    CreateDirectory {
        name: String,
        provider: Option<Provider>,
    },
    /// `GET /directories/{id}`: status, counts, endpoints, health, setup links.
    Directory(String),
    /// `GET /directories/{id}/users?after=`.
    Users(String, Option<String>),
    /// `GET /directories/{id}/groups?after=`.
    Groups(String, Option<String>),
    /// `GET /directories/{id}/events?after=`.
    Events(String, u64),
    /// `GET /directories/{id}/requests?status=&method=&resource=&after=`.
    Requests(String, RequestFilter),
    /// `GET /directories/{id}/webhook`.
    Webhook(String),
    /// `GET /directories/{id}/roles`: the application's roles and this directory's assignments.
    Roles(String),
    /// `GET /directories/{id}/attributes`: the custom attribute keys and the directory's mapping.
    Attributes(String),
    /// `POST /directories/{id}/attributes`: the form's paths, previewed or saved.
    EditAttributes(String, MappingForm),
    /// `GET /directories/{id}/credentials`.
    Credentials(String),
    /// `POST /directories/{id}/tokens`.
    IssueToken(String),
    /// `POST /directories/{id}/tokens/{token_id}/revoke`.
    RevokeToken(String, String),
    /// `POST /directories/{id}/clients`.
    CreateClient(String),
    /// `POST /directories/{id}/clients/{client_id}/revoke`.
    RevokeClient(String, String),
    /// `POST /directories/{id}/portal-links`: a setup link for the customer's IT admin.
    CreatePortalLink(String),
    /// `GET /assets/{name}`.
    Asset(String),
}

/// Why a request was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unparsed {
    NotFound,
    /// The route exists, not with this method.
    Method(&'static str),
    BadForm(&'static str),
}

/// A parsed request with what the checks need.
#[derive(Debug)]
pub struct Parsed {
    pub request: ConsoleRequest,
    pub cookie: Option<String>,
    /// `?token=`: the secret in the URL `scimctl console` printed.
    pub token: Option<String>,
    pub csrf: Option<String>,
}

impl ConsoleRequest {
    /// Whether it changes state (and so must carry the CSRF token).
    pub fn changes_state(&self) -> bool {
        use ConsoleRequest as R;
        matches!(
            self,
            R::CreateDirectory { .. }
                | R::IssueToken(_)
                | R::RevokeToken(..)
                | R::CreateClient(_)
                | R::RevokeClient(..)
                | R::CreatePortalLink(_)
                | R::EditAttributes(..)
        )
    }
}

pub fn parse(req: &Request) -> Result<Parsed, Unparsed> {
    let path = route_path(req).trim_matches('/');
    let segs: Vec<String> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').map(percent_decode).collect()
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let form = if req.method() == Method::POST {
        parse_form(std::str::from_utf8(req.body()).unwrap_or(""))
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let query = query_pairs(req);
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    use ConsoleRequest as R;
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    let post = req.method() == Method::POST;
    let id = |s: &str| s.to_string();
    let request = match (segs.as_slice(), get, post) {
        ([], true, _) => R::Directories,
        (["directories", "new"], true, _) => R::NewDirectory,
        (["directories"], true, _) => R::Directories,
        (["directories"], _, true) => {
            let name = field("name")
                .filter(|n| !n.is_empty())
                .ok_or(Unparsed::BadForm("give the directory a name"))?;
            let provider = match field("provider").as_deref() {
                None | Some("") => None,
                Some(p) => Some(Provider::from_name(p).ok_or(Unparsed::BadForm(
                    "choose one of the identity providers listed",
                ))?),
            };
            R::CreateDirectory { name, provider }
        }
        (["directories", d], true, _) => R::Directory(id(d)),
        (["directories", d, "users"], true, _) => R::Users(id(d), param("after")),
        (["directories", d, "groups"], true, _) => R::Groups(id(d), param("after")),
        (["directories", d, "events"], true, _) => R::Events(
            id(d),
            param("after").and_then(|a| a.parse().ok()).unwrap_or(0),
        ),
        (["directories", d, "requests"], true, _) => R::Requests(
            id(d),
            RequestFilter {
                status: param("status").filter(|s| matches!(s.as_str(), "2xx" | "4xx" | "5xx")),
                method: param("method").map(|m| m.to_ascii_uppercase()),
                resource: param("resource").filter(|r| matches!(r.as_str(), "Users" | "Groups")),
                after: param("after"),
            },
        ),
        (["directories", d, "webhook"], true, _) => R::Webhook(id(d)),
        (["directories", d, "roles"], true, _) => R::Roles(id(d)),
        (["directories", d, "attributes"], true, _) => R::Attributes(id(d)),
        (["directories", d, "attributes"], _, true) => {
            R::EditAttributes(id(d), MappingForm::parse(&form).map_err(Unparsed::BadForm)?)
        }
        (["directories", d, "credentials"], true, _) => R::Credentials(id(d)),
        (["directories", d, "tokens"], _, true) => R::IssueToken(id(d)),
        (["directories", d, "tokens", t, "revoke"], _, true) => R::RevokeToken(id(d), id(t)),
        (["directories", d, "clients"], _, true) => R::CreateClient(id(d)),
        (["directories", d, "clients", c, "revoke"], _, true) => R::RevokeClient(id(d), id(c)),
        (["directories", d, "portal-links"], _, true) => R::CreatePortalLink(id(d)),
        (["assets", name], true, _) => R::Asset(id(name)),
        (["directories"] | ["directories", _, "attributes"], _, _) => {
            return Err(Unparsed::Method("GET, POST"))
        }
        ([] | ["assets", _] | ["directories", _], _, _)
        | (["directories", _, "users" | "groups" | "events" | "requests"], _, _)
        | (["directories", _, "webhook" | "credentials" | "roles"], _, _) => {
            return Err(Unparsed::Method("GET"))
        }
        (["directories", _, "tokens" | "clients" | "portal-links"], _, _)
        | (["directories", _, "tokens" | "clients", _, "revoke"], _, _) => {
            return Err(Unparsed::Method("POST"))
        }
        _ => return Err(Unparsed::NotFound),
    };
    Ok(Parsed {
        request,
        cookie: crate::api::web::cookie(req, COOKIE),
        token: param("token"),
        csrf: field("csrf"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", "scim_console=s1")
            .body(lambda_http::Body::from(body))
            .expect("request")
    }

    #[test]
    fn pages_and_forms_parse_into_requests() {
        let p = parse(&request("GET", "http://127.0.0.1:1/?token=abc", "")).unwrap();
        assert_eq!(p.request, ConsoleRequest::Directories);
        assert_eq!(
            (p.token.as_deref(), p.cookie.as_deref()),
            (Some("abc"), Some("s1"))
        );
        let p = parse(&request(
            "POST",
            "http://127.0.0.1:1/directories",
            "name=Acme+Corp&provider=entra&csrf=c",
        ))
        .unwrap();
        assert_eq!(
            p.request,
            ConsoleRequest::CreateDirectory {
                name: "Acme Corp".into(),
                provider: Some(Provider::Entra)
            }
        );
        assert!(p.request.changes_state());
        assert_eq!(p.csrf.as_deref(), Some("c"));
        let p = parse(&request(
            "GET",
            "http://127.0.0.1:1/directories/d%2F1/requests?status=4xx&method=post&resource=Nope",
            "",
        ))
        .unwrap();
        let ConsoleRequest::Requests(d, f) = p.request else {
            panic!("{:?}", p.request)
        };
        assert_eq!(d, "d/1");
        assert_eq!(
            (f.status.as_deref(), f.method.as_deref(), f.resource),
            (Some("4xx"), Some("POST"), None)
        );
    }

    #[test]
    fn a_form_without_a_name_or_with_an_unknown_provider_is_refused() {
        let bad = parse(&request("POST", "http://h/directories", "name=+&csrf=c"));
        assert!(matches!(bad, Err(Unparsed::BadForm(_))));
        let bad = parse(&request(
            "POST",
            "http://h/directories",
            "name=A&provider=azure",
        ));
        assert!(matches!(bad, Err(Unparsed::BadForm(_))));
        assert_eq!(
            parse(&request("GET", "http://h/directories/d/tokens", "")).err(),
            Some(Unparsed::Method("POST"))
        );
        assert_eq!(
            parse(&request("DELETE", "http://h/directories/d", "")).err(),
            Some(Unparsed::Method("GET"))
        );
        assert_eq!(
            parse(&request("GET", "http://h/nope", "")).err(),
            Some(Unparsed::NotFound)
        );
    }
}
