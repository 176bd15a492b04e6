//! The route table: which function (`crate::function`) serves which path. template.yaml declares the same set (a test
//! compares them) and the local server uses it to dispatch, so local runs route like API Gateway.

pub use crate::function::Function;

/// The routes of the functions that serve HTTP, by path template.
pub const ROUTES: &[(Function, &str)] = &[
    (Function::Users, "/scim/v2/{directoryId}/Users"),
    (Function::Users, "/scim/v2/{directoryId}/Users/{id}"),
    (Function::Users, "/scim/v1/{directoryId}/Users"),
    (Function::Users, "/scim/v1/{directoryId}/Users/{id}"),
    (Function::Groups, "/scim/v2/{directoryId}/Groups"),
    (Function::Groups, "/scim/v2/{directoryId}/Groups/{id}"),
    (Function::Groups, "/scim/v1/{directoryId}/Groups"),
    (Function::Groups, "/scim/v1/{directoryId}/Groups/{id}"),
    (
        Function::Discovery,
        "/scim/v2/{directoryId}/ServiceProviderConfig",
    ),
    (Function::Discovery, "/scim/v2/{directoryId}/Schemas"),
    (Function::Discovery, "/scim/v2/{directoryId}/Schemas/{id}"),
    (Function::Discovery, "/scim/v2/{directoryId}/ResourceTypes"),
    (
        Function::Discovery,
        "/scim/v2/{directoryId}/ResourceTypes/{id}",
    ),
    (Function::Discovery, "/scim/v2/{directoryId}/Me"),
    (Function::Discovery, "/scim/v2/{directoryId}/Bulk"),
    (Function::Discovery, "/scim/v2/{directoryId}/.search"),
    (
        Function::Discovery,
        "/scim/v1/{directoryId}/ServiceProviderConfigs",
    ),
    (Function::Discovery, "/scim/v1/{directoryId}/Schemas"),
    (Function::Discovery, "/scim/v1/{directoryId}/Schemas/{id}"),
    (Function::Management, "/manage/directories"),
    (Function::Management, "/manage/openapi.json"),
    (Function::Management, "/manage/directories/{directoryId}"),
    (
        Function::Management,
        "/manage/directories/{directoryId}/tokens",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/tokens/{id}",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/users",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/users/{id}",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/groups",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/groups/{id}",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/events",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/webhook",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/clients",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/clients/{id}",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/auth",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/portal-links",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/portal-links/{id}",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/portal-activity",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/requests",
    ),
    (Function::Management, "/manage/roles"),
    (
        Function::Management,
        "/manage/directories/{directoryId}/role-assignments",
    ),
    (Function::Management, "/manage/custom-attributes"),
    (
        Function::Management,
        "/manage/directories/{directoryId}/custom-attributes",
    ),
    (
        Function::Management,
        "/manage/directories/{directoryId}/custom-attributes/preview",
    ),
    (Function::Token, "/oauth2/{directoryId}/token"),
    (Function::Portal, "/portal"),
    (Function::Portal, "/portal/{proxy+}"),
];

/// The SCIM resource endpoint names as RFC 7644 §3.2 and §4 spell them (and SCIM 1.1's
/// `ServiceProviderConfigs`). Clients vary in case: some IdP tooling and test suites send
/// `/users` or `/serviceproviderconfig`, and the RFC does not say the names are case-sensitive,
/// so these segments (and only these) are matched without regard to ASCII case.
pub const ENDPOINT_NAMES: &[&str] = &[
    "Users",
    "Groups",
    "Schemas",
    "ResourceTypes",
    "ServiceProviderConfig",
    "ServiceProviderConfigs",
];

/// The canonical spelling of a resource endpoint name sent in any ASCII case (`users` ->
/// `Users`), or `None` when `segment` names no SCIM endpoint.
pub fn canonical_endpoint(segment: &str) -> Option<&'static str> {
    ENDPOINT_NAMES
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(segment))
}

/// The routes template.yaml declares: every route of `ROUTES`, and for each SCIM route with an
/// endpoint name, its all-lower-case spelling too. API Gateway matches paths case-sensitively,
/// and clients send either the RFC's spelling or lower case (`/users`); other mixtures of case
/// work only locally.
pub fn api_gateway_routes() -> Vec<(Function, String)> {
    let mut out: Vec<(Function, String)> =
        ROUTES.iter().map(|(f, p)| (*f, p.to_string())).collect();
    for (function, path) in ROUTES {
        let lower = path
            .split('/')
            .map(|seg| match canonical_endpoint(seg) {
                Some(name) if name == seg => seg.to_ascii_lowercase(),
                _ => seg.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        if path.starts_with("/scim/") && lower != *path {
            out.push((*function, lower));
        }
    }
    out
}

/// The function whose route template matches `path` (segment by segment; `{x}` matches one
/// non-empty segment; a SCIM endpoint name in any case), as API Gateway would pick it once
/// template.yaml declares the lower-case spellings too.
pub fn route(path: &str) -> Option<Function> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES.iter().find_map(|(function, template)| {
        let t: Vec<&str> = template.split('/').collect();
        // `{proxy+}` (API Gateway's greedy variable) takes one segment or more.
        if let Some(fixed) = template.strip_suffix("/{proxy+}") {
            let taken = path
                .strip_prefix(fixed)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| !rest.is_empty());
            return taken.then_some(*function);
        }
        let same = t.len() == segs.len()
            && t.iter().zip(&segs).all(|(a, b)| {
                (a.starts_with('{') && !b.is_empty())
                    || a == b
                    || (template.starts_with("/scim/")
                        && canonical_endpoint(a) == Some(a)
                        && a.eq_ignore_ascii_case(b))
            });
        same.then_some(*function)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_pick_the_function() {
        assert_eq!(route("/scim/v2/d1/Users"), Some(Function::Users));
        assert_eq!(route("/scim/v2/d1/Users/abc"), Some(Function::Users));
        assert_eq!(route("/scim/v1/d1/Groups/abc"), Some(Function::Groups));
        assert_eq!(
            route("/scim/v2/d1/Schemas/urn:x:y"),
            Some(Function::Discovery)
        );
        assert_eq!(route("/scim/v2/d1/Nope"), None);
        assert_eq!(route("/scim/v2//Users"), None);
        assert_eq!(route("/oauth2/d1/token"), Some(Function::Token));
        // Only the exact token path is the token endpoint's.
        assert_eq!(route("/scim/v2/d1/Users/oauth2/token"), None);
        assert_eq!(route("/scim/v2/d1/Users/token"), Some(Function::Users));
        assert_eq!(route("/oauth2/d1/x/token"), None);
        assert_eq!(route("/portal"), Some(Function::Portal));
        assert_eq!(route("/portal/setup"), Some(Function::Portal));
        assert_eq!(route("/portal/users/u1"), Some(Function::Portal));
        assert_eq!(route("/portalx/setup"), None);
    }

    #[test]
    fn scim_endpoint_names_match_in_any_case_and_nothing_else_does() {
        assert_eq!(route("/scim/v2/d1/users"), Some(Function::Users));
        assert_eq!(route("/scim/v1/d1/USERS/abc"), Some(Function::Users));
        assert_eq!(route("/scim/v2/d1/groups/abc"), Some(Function::Groups));
        for p in [
            "/scim/v2/d1/schemas",
            "/scim/v2/d1/resourcetypes/User",
            "/scim/v2/d1/serviceproviderconfig",
            "/scim/v1/d1/serviceproviderconfigs",
        ] {
            assert_eq!(route(p), Some(Function::Discovery), "{p}");
        }
        // The version's own name only, and the fixed segments stay exact.
        assert_eq!(route("/scim/v2/d1/serviceproviderconfigs"), None);
        assert_eq!(route("/SCIM/v2/d1/Users"), None);
        assert_eq!(route("/manage/directories/d1/Users"), None);
    }
}
