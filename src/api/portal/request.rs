//! A portal HTTP request parsed once into what it asks (`PortalRequest`), with the session
//! cookie and, for a form, its fields. Forms are `application/x-www-form-urlencoded`; each
//! carries the session's CSRF token (checked by `super::handle` before any state changes).

use lambda_http::http::Method;
use lambda_http::Request;

use crate::api::request::{parse_form, percent_decode, query_pairs, route_path};
use crate::api::web::attributes::MappingForm;
use crate::provider::Provider;
use crate::roles::{Assignment, MAX_ASSIGNMENTS};
use crate::service::portal_roles::{Draft, Edit};

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
    /// `GET /portal/roles?q=&after=`: the saved group → role assignments and a page of groups.
    Roles(ListParams),
    /// `POST /portal/roles`: the draft the form carries, edited, searched in, or saved.
    EditRoles(RolesForm),
    /// `GET /portal/attributes`: the custom attribute keys and where this directory's values
    /// come from.
    Attributes,
    /// `POST /portal/attributes`: the paths the form carries, previewed or saved.
    EditAttributes(MappingForm),
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

/// The Roles form: the draft it carries (one `a` field `role:group_id` per assignment, highest
/// priority first, and `default`), the group search (`q`, and `at`: the page shown) and the
/// button pressed (`op`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolesForm {
    pub draft: Draft,
    /// The group search and the page to show.
    pub search: ListParams,
    /// The role the Add buttons give (`give`).
    pub give: Option<String>,
    pub action: RolesAction,
}

/// What the Roles form's button asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolesAction {
    /// Search, or another page of groups: the draft as it is.
    Show,
    Edit(Edit),
    Save,
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
                | PortalRequest::EditRoles(_)
                | PortalRequest::EditAttributes(_)
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
        (["roles"], true, _) => R::Roles(list()),
        (["roles"], _, true) => R::EditRoles(roles_form(&form)?),
        (["attributes"], true, _) => R::Attributes,
        (["attributes"], _, true) => {
            R::EditAttributes(MappingForm::parse(&form).map_err(Unparsed::BadForm)?)
        }
        (["credentials"], true, _) => R::Credentials,
        (["activity"], true, _) => R::Activity {
            all: param("all").is_some(),
            after: param("after"),
        },
        (["assets", name], true, _) => R::Asset(name.to_string()),
        (["open"] | ["provider"] | ["roles"] | ["attributes"], _, _) => {
            return Err(Unparsed::Method("GET, POST"))
        }
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

/// The Roles form's fields as a `RolesForm`.
fn roles_form(form: &[(String, String)]) -> Result<RolesForm, Unparsed> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut assignments = Vec::new();
    for (_, v) in form.iter().filter(|(k, _)| k == "a") {
        // A role slug has no ':' (`crate::roles`), so the first one ends it.
        let (role, group_id) = v
            .split_once(':')
            .ok_or(Unparsed::BadForm("an assignment is not role:group"))?;
        assignments.push(Assignment {
            group_id: group_id.to_string(),
            role: role.to_string(),
        });
    }
    if assignments.len() > MAX_ASSIGNMENTS {
        return Err(Unparsed::BadForm("at most 100 groups can give roles"));
    }
    let draft = Draft {
        assignments,
        default: field("default"),
    };
    let give = field("give");
    let op = field("op").unwrap_or_else(|| "search".into());
    let position = |n: &str| {
        n.parse::<usize>()
            .map_err(|_| Unparsed::BadForm("that button could not be read"))
    };
    let mut search = ListParams {
        q: field("q"),
        after: field("at"),
    };
    let action = match op.split_once(':') {
        None if op == "search" => {
            search.after = None;
            RolesAction::Show
        }
        None if op == "save" => RolesAction::Save,
        Some(("page", cursor)) => {
            search.after = Some(cursor.to_string()).filter(|c| !c.is_empty());
            RolesAction::Show
        }
        Some(("add", group_id)) => RolesAction::Edit(Edit::Add {
            group_id: group_id.to_string(),
            role: give
                .clone()
                .ok_or(Unparsed::BadForm("choose the role to give first"))?,
        }),
        Some(("up", i)) => RolesAction::Edit(Edit::Up(position(i)?)),
        Some(("down", i)) => RolesAction::Edit(Edit::Down(position(i)?)),
        Some(("remove", i)) => RolesAction::Edit(Edit::Remove(position(i)?)),
        _ => return Err(Unparsed::BadForm("that button could not be read")),
    };
    Ok(RolesForm {
        draft,
        search,
        give,
        action,
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
    fn the_roles_form_carries_its_draft_in_order_and_the_button_pressed() {
        let g1 = "0b5a5bd4-36a4-4a38-9a51-1b27f3e0a0c1";
        let g2 = "5d7c2a90-0a57-4c0e-a5f8-6f0e6b7f2c11";
        let body = format!(
            "csrf=t&a=admin%3A{g1}&a=member%3A{g2}&default=&q=eng&at=c1&give=admin&op=up%3A1"
        );
        let p = parse(&request("POST", "https://h/portal/roles", &body)).unwrap();
        assert!(p.request.changes_state());
        let PortalRequest::EditRoles(f) = p.request else {
            panic!("{:?}", p.request)
        };
        let order: Vec<(&str, &str)> = f
            .draft
            .assignments
            .iter()
            .map(|a| (a.role.as_str(), a.group_id.as_str()))
            .collect();
        assert_eq!(order, [("admin", g1), ("member", g2)]);
        assert_eq!(f.draft.default, None);
        assert_eq!(f.action, RolesAction::Edit(Edit::Up(1)));
        assert_eq!(f.search.after.as_deref(), Some("c1"), "the same page");
        let add = format!("csrf=t&give=admin&op=add%3A{g2}&at=c1");
        let p = parse(&request("POST", "https://h/portal/roles", &add)).unwrap();
        let PortalRequest::EditRoles(f) = p.request else {
            panic!()
        };
        assert_eq!(
            f.action,
            RolesAction::Edit(Edit::Add {
                group_id: g2.into(),
                role: "admin".into()
            })
        );
        let search = parse(&request("POST", "https://h/portal/roles", "q=x&at=c1")).unwrap();
        let PortalRequest::EditRoles(f) = search.request else {
            panic!()
        };
        assert_eq!((f.action, f.search.after), (RolesAction::Show, None));
        for bad in ["a=admin", "op=up%3Ax", "op=add%3Ag", "op=launch"] {
            let r = parse(&request("POST", "https://h/portal/roles", bad));
            assert!(matches!(r, Err(Unparsed::BadForm(_))), "{bad}");
        }
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
