//! A portal HTTP request parsed once into what it asks (`PortalRequest`), with the session
//! cookie and, for a form, its fields. Forms are `application/x-www-form-urlencoded`; each
//! carries the session's CSRF token (checked by `super::handle` before any state changes).

use lambda_http::http::Method;
use lambda_http::Request;

use crate::api::request::{parse_form, percent_decode, query_pairs, route_path};
use crate::provider::Provider;

/// The session cookie's name.
pub const COOKIE: &str = "scim_portal";

/// What a portal request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalRequest {
    /// `GET /portal/open[?embed=origin]`: the page that reads the link's secret from the
    /// fragment; an embedded link names the origin that may frame it.
    OpenPage { embed: Option<String> },
    /// `POST /portal/open`: the secret, exchanged for a session.
    Open { secret: String },
    /// `GET /portal`: to the setup page.
    Home,
    /// `GET /portal/provider`.
    ChooseProvider,
    /// `POST /portal/provider`.
    SetProvider(Provider),
    /// `GET /portal/setup`.
    Setup,
    /// `POST /portal/tokens`: reveal a new bearer token.
    RevealToken,
    /// `POST /portal/clients`: make OAuth client credentials.
    CreateClient,
    /// `POST /portal/tokens/{id}/revoke`.
    RevokeToken(String),
    /// `POST /portal/clients/{id}/revoke`.
    RevokeClient(String),
    /// `GET /portal/status` (JSON).
    Status,
    /// `GET /portal/users?q=&after=`.
    Users(ListParams),
    /// `GET /portal/users/{id}`.
    User(String),
    /// `GET /portal/groups?q=&after=`.
    Groups(ListParams),
    /// `GET /portal/credentials`.
    Credentials,
    /// `GET /portal/activity[?all=1&after=]`: failures first, then every request.
    Activity { all: bool, after: Option<String> },
    /// `GET /portal/assets/{name}`.
    Asset(String),
}

/// A list page's search and position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// A name prefix.
    pub q: Option<String>,
    pub after: Option<String>,
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
    pub request: PortalRequest,
    pub cookie: Option<String>,
    /// The form's `csrf` field (state-changing requests).
    pub csrf: Option<String>,
}

impl PortalRequest {
    /// Whether it changes state (and so must carry the CSRF token).
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            PortalRequest::SetProvider(_)
                | PortalRequest::RevealToken
                | PortalRequest::CreateClient
                | PortalRequest::RevokeToken(_)
                | PortalRequest::RevokeClient(_)
        )
    }
}

pub fn parse(req: &Request) -> Result<Parsed, Unparsed> {
    let path = route_path(req);
    let at = path.find("/portal").ok_or(Unparsed::NotFound)?;
    let rest = path[at + "/portal".len()..].trim_matches('/');
    let segs: Vec<String> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').map(percent_decode).collect()
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let body = std::str::from_utf8(req.body()).unwrap_or("");
    let form = if req.method() == Method::POST {
        parse_form(body)
    } else {
        Vec::new()
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let query = query_pairs(req);
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let list = || ListParams {
        q: param("q"),
        after: param("after"),
    };
    use PortalRequest as R;
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    let post = req.method() == Method::POST;
    let request = match (segs.as_slice(), get, post) {
        (["open"], true, _) => R::OpenPage {
            embed: param("embed"),
        },
        (["open"], _, true) => R::Open {
            secret: body.trim().to_string(),
        },
        ([], true, _) => R::Home,
        (["provider"], true, _) => R::ChooseProvider,
        (["provider"], _, true) => R::SetProvider(
            field("provider")
                .as_deref()
                .and_then(Provider::from_name)
                .ok_or(Unparsed::BadForm(
                    "choose one of the identity providers listed",
                ))?,
        ),
        (["setup"], true, _) => R::Setup,
        (["tokens"], _, true) => R::RevealToken,
        (["clients"], _, true) => R::CreateClient,
        (["tokens", id, "revoke"], _, true) => R::RevokeToken(id.to_string()),
        (["clients", id, "revoke"], _, true) => R::RevokeClient(id.to_string()),
        (["status"], true, _) => R::Status,
        (["users"], true, _) => R::Users(list()),
        (["users", id], true, _) => R::User(id.to_string()),
        (["groups"], true, _) => R::Groups(list()),
        (["credentials"], true, _) => R::Credentials,
        (["activity"], true, _) => R::Activity {
            all: param("all").is_some(),
            after: param("after"),
        },
        (["assets", name], true, _) => R::Asset(name.to_string()),
        (["open"] | ["provider"], _, _) => return Err(Unparsed::Method("GET, POST")),
        ([] | ["setup"] | ["status"] | ["users"] | ["users", _] | ["groups"], _, _)
        | (["credentials"] | ["activity"] | ["assets", _], _, _) => {
            return Err(Unparsed::Method("GET"))
        }
        (["tokens"] | ["clients"] | [_, _, "revoke"], _, _) => {
            return Err(Unparsed::Method("POST"))
        }
        _ => return Err(Unparsed::NotFound),
    };
    Ok(Parsed {
        request,
        cookie: crate::api::web::cookie(req, COOKIE),
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
            .header("cookie", "other=1; scim_portal=scim_ps_abc")
            .body(lambda_http::Body::from(body))
            .expect("request")
    }

    #[test]
    fn pages_and_forms_parse_into_requests() {
        let p = parse(&request("GET", "https://h/portal/users?q=ad&after=x", "")).unwrap();
        assert_eq!(
            p.request,
            PortalRequest::Users(ListParams {
                q: Some("ad".into()),
                after: Some("x".into())
            })
        );
        assert_eq!(p.cookie.as_deref(), Some("scim_ps_abc"));
        let p = parse(&request(
            "POST",
            "https://h/prod/portal/provider",
            "provider=okta_scim11&csrf=t",
        ))
        .unwrap();
        assert_eq!(p.request, PortalRequest::SetProvider(Provider::OktaScim11));
        assert_eq!(p.csrf.as_deref(), Some("t"));
        assert!(p.request.changes_state());
    }

    #[test]
    fn unknown_providers_routes_and_methods_are_refused() {
        let bad = parse(&request(
            "POST",
            "https://h/portal/provider",
            "provider=azure",
        ));
        assert!(matches!(bad, Err(Unparsed::BadForm(_))));
        let bad = parse(&request("GET", "https://h/portal/nope", ""));
        assert_eq!(bad.err(), Some(Unparsed::NotFound));
        let bad = parse(&request("DELETE", "https://h/portal/setup", ""));
        assert_eq!(bad.err(), Some(Unparsed::Method("GET")));
        let bad = parse(&request("GET", "https://h/portal/tokens", ""));
        assert_eq!(bad.err(), Some(Unparsed::Method("POST")));
    }
}
