//! Expected HTTP status of every API Gateway fixture in events/ (see tests/it/events.rs).
//!
//! Every fixture targets directory `01890000-0000-7000-8000-000000000001` and, except
//! `users-unauthorized.json`, authenticates with the token
//! `scim_sk_0123456789abcdef...` (64 hex chars). The test seeds, before each event: user A
//! `...0a` (`alice@example.com`), user B `...0b` (`bob@example.com`, deleted by
//! `users-delete.json`), group G `...0c` (`Engineering`) and group H `...0d` (deleted by
//! `groups-delete.json`). The `*-rest.json` fixtures are REST API (payload 1.0) events with
//! the stage (`prod`) in the path; all others are HTTP API (payload 2.0) events. The
//! `manage-*.json` fixtures are management API calls as API Gateway passes them after its
//! `AWS_IAM` authorizer (`requestContext.authorizer.iam`). `oauth-token.json` is PingFederate's
//! token request (HTTP Basic, comma-separated scope) for the seeded OAuth client.

/// (file name, function, expected status)
pub const EXPECTED: &[(&str, &str, u16)] = &[
    ("users-create.json", "users", 201),
    ("users-get.json", "users", 200),
    ("users-get-rest.json", "users", 200),
    ("users-list.json", "users", 200),
    ("users-filter.json", "users", 200),
    ("users-replace.json", "users", 200),
    ("users-patch.json", "users", 200),
    ("users-delete.json", "users", 204),
    ("users-unauthorized.json", "users", 401),
    ("users-create-v1.json", "users", 201),
    ("groups-create.json", "groups", 201),
    ("groups-get.json", "groups", 200),
    ("groups-list.json", "groups", 200),
    ("groups-filter.json", "groups", 200),
    ("groups-replace.json", "groups", 200),
    ("groups-patch.json", "groups", 204),
    ("groups-delete.json", "groups", 204),
    ("discovery-serviceproviderconfig.json", "discovery", 200),
    (
        "discovery-serviceproviderconfig-rest.json",
        "discovery",
        200,
    ),
    ("discovery-schemas.json", "discovery", 200),
    ("discovery-schema.json", "discovery", 200),
    ("discovery-resourcetypes.json", "discovery", 200),
    ("discovery-resourcetype.json", "discovery", 200),
    ("discovery-serviceproviderconfigs-v1.json", "discovery", 200),
    ("manage-directories-create.json", "management", 201),
    ("manage-directory-show.json", "management", 200),
    ("manage-users-list.json", "management", 200),
    ("manage-events.json", "management", 200),
    ("oauth-token.json", "token", 200),
];
