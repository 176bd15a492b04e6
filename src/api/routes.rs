//! The route table: which function serves which path. template.yaml declares the same set (a test
//! compares them) and the local server uses it to dispatch, so local runs route like API Gateway.

/// A Lambda function, i.e. a SCIM resource family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Users,
    Groups,
    Discovery,
    /// The application's management API (`manage.rs`), behind IAM.
    Management,
    /// The OAuth token endpoint (`oauth.rs`): a function of its own, so an anonymous client
    /// hammering it can neither hold the SCIM functions' concurrency nor reach a role that
    /// writes anything but access tokens.
    Token,
}

/// Environment variable naming the family a function serves (template.yaml sets it per function).
pub const ENV_FAMILY: &str = "SCIM_FAMILY";

#[derive(Debug, thiserror::Error)]
#[error("{ENV_FAMILY} must be users, groups, discovery, management or token (got {0:?})")]
pub struct UnknownFamily(String);

impl Family {
    /// The family named by `SCIM_FAMILY`.
    pub fn from_env() -> Result<Family, UnknownFamily> {
        let name = std::env::var(ENV_FAMILY).unwrap_or_default();
        Family::from_name(&name).ok_or(UnknownFamily(name))
    }

    pub fn from_name(name: &str) -> Option<Family> {
        [
            Family::Users,
            Family::Groups,
            Family::Discovery,
            Family::Management,
            Family::Token,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// The `SCIM_FAMILY` name (and the metrics' `Family` dimension).
    pub fn name(self) -> &'static str {
        match self {
            Family::Users => "users",
            Family::Groups => "groups",
            Family::Discovery => "discovery",
            Family::Management => "management",
            Family::Token => "token",
        }
    }

    /// The logical id of the function in template.yaml.
    pub fn function(self) -> &'static str {
        match self {
            Family::Users => "UsersFunction",
            Family::Groups => "GroupsFunction",
            Family::Discovery => "DiscoveryFunction",
            Family::Management => "ManagementFunction",
            Family::Token => "TokenFunction",
        }
    }
}

pub const ROUTES: &[(Family, &str)] = &[
    (Family::Users, "/scim/v2/{directoryId}/Users"),
    (Family::Users, "/scim/v2/{directoryId}/Users/{id}"),
    (Family::Users, "/scim/v1/{directoryId}/Users"),
    (Family::Users, "/scim/v1/{directoryId}/Users/{id}"),
    (Family::Groups, "/scim/v2/{directoryId}/Groups"),
    (Family::Groups, "/scim/v2/{directoryId}/Groups/{id}"),
    (Family::Groups, "/scim/v1/{directoryId}/Groups"),
    (Family::Groups, "/scim/v1/{directoryId}/Groups/{id}"),
    (
        Family::Discovery,
        "/scim/v2/{directoryId}/ServiceProviderConfig",
    ),
    (Family::Discovery, "/scim/v2/{directoryId}/Schemas"),
    (Family::Discovery, "/scim/v2/{directoryId}/Schemas/{id}"),
    (Family::Discovery, "/scim/v2/{directoryId}/ResourceTypes"),
    (
        Family::Discovery,
        "/scim/v2/{directoryId}/ResourceTypes/{id}",
    ),
    (Family::Discovery, "/scim/v2/{directoryId}/Me"),
    (Family::Discovery, "/scim/v2/{directoryId}/Bulk"),
    (Family::Discovery, "/scim/v2/{directoryId}/.search"),
    (
        Family::Discovery,
        "/scim/v1/{directoryId}/ServiceProviderConfigs",
    ),
    (Family::Discovery, "/scim/v1/{directoryId}/Schemas"),
    (Family::Discovery, "/scim/v1/{directoryId}/Schemas/{id}"),
    (Family::Management, "/manage/directories"),
    (Family::Management, "/manage/directories/{directoryId}"),
    (
        Family::Management,
        "/manage/directories/{directoryId}/tokens",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/tokens/{id}",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/users",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/users/{id}",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/groups",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/groups/{id}",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/events",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/webhook",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/clients",
    ),
    (
        Family::Management,
        "/manage/directories/{directoryId}/clients/{id}",
    ),
    (Family::Management, "/manage/directories/{directoryId}/auth"),
    (Family::Token, "/oauth2/{directoryId}/token"),
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
pub fn api_gateway_routes() -> Vec<(Family, String)> {
    let mut out: Vec<(Family, String)> = ROUTES.iter().map(|(f, p)| (*f, p.to_string())).collect();
    for (family, path) in ROUTES {
        let lower = path
            .split('/')
            .map(|seg| match canonical_endpoint(seg) {
                Some(name) if name == seg => seg.to_ascii_lowercase(),
                _ => seg.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        if path.starts_with("/scim/") && lower != *path {
            out.push((*family, lower));
        }
    }
    out
}

/// The family whose route template matches `path` (segment by segment; `{x}` matches one
/// non-empty segment; a SCIM endpoint name in any case), as API Gateway would pick it once
/// template.yaml declares the lower-case spellings too.
pub fn route(path: &str) -> Option<Family> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES.iter().find_map(|(family, template)| {
        let t: Vec<&str> = template.split('/').collect();
        let same = t.len() == segs.len()
            && t.iter().zip(&segs).all(|(a, b)| {
                (a.starts_with('{') && !b.is_empty())
                    || a == b
                    || (template.starts_with("/scim/")
                        && canonical_endpoint(a) == Some(a)
                        && a.eq_ignore_ascii_case(b))
            });
        same.then_some(*family)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_pick_the_family() {
        assert_eq!(route("/scim/v2/d1/Users"), Some(Family::Users));
        assert_eq!(route("/scim/v2/d1/Users/abc"), Some(Family::Users));
        assert_eq!(route("/scim/v1/d1/Groups/abc"), Some(Family::Groups));
        assert_eq!(
            route("/scim/v2/d1/Schemas/urn:x:y"),
            Some(Family::Discovery)
        );
        assert_eq!(route("/scim/v2/d1/Nope"), None);
        assert_eq!(route("/scim/v2//Users"), None);
        assert_eq!(route("/oauth2/d1/token"), Some(Family::Token));
        // Only the exact token path is the token endpoint's.
        assert_eq!(route("/scim/v2/d1/Users/oauth2/token"), None);
        assert_eq!(route("/scim/v2/d1/Users/token"), Some(Family::Users));
        assert_eq!(route("/oauth2/d1/x/token"), None);
    }

    #[test]
    fn scim_endpoint_names_match_in_any_case_and_nothing_else_does() {
        assert_eq!(route("/scim/v2/d1/users"), Some(Family::Users));
        assert_eq!(route("/scim/v1/d1/USERS/abc"), Some(Family::Users));
        assert_eq!(route("/scim/v2/d1/groups/abc"), Some(Family::Groups));
        for p in [
            "/scim/v2/d1/schemas",
            "/scim/v2/d1/resourcetypes/User",
            "/scim/v2/d1/serviceproviderconfig",
            "/scim/v1/d1/serviceproviderconfigs",
        ] {
            assert_eq!(route(p), Some(Family::Discovery), "{p}");
        }
        // The version's own name only, and the fixed segments stay exact.
        assert_eq!(route("/scim/v2/d1/serviceproviderconfigs"), None);
        assert_eq!(route("/SCIM/v2/d1/Users"), None);
        assert_eq!(route("/manage/directories/d1/Users"), None);
    }
}
