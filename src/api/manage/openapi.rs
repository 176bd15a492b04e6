//! The management API described: an OpenAPI 3.1 document generated from the same typed requests
//! (`request.rs`) and answers (the service's view types) the API parses and renders, so it
//! cannot drift from them. The test command regenerates it and compares it with the committed
//! `docs/openapi.json` (`tests/it/openapi.rs`), which the management function serves at
//! `GET /manage/openapi.json`, validates it with a real validator and fuzzes a local server
//! against it (schemathesis). Generation needs `schemars`, so it exists under the `local`
//! feature only; the Lambda binary carries just the committed file.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::request::{
    NewCredential, NewDirectory, ResumeDeliveries, WebhookTarget, DEFAULT_PAGE, MAX_PAGE,
    MAX_SEQUENCE,
};
use super::ErrorAnswer;
use crate::custom_attributes::AttributeCatalogue;
use crate::roles::RoleCatalogue;
use crate::service::credentials::{
    AuthMethodsSet, ClientRevoked, ClientView, CreatedClient, IssuedToken, Listed, TokenRevoked,
    TokenView,
};
use crate::service::custom_attributes::{DirectoryAttributes, Preview, PutMappings};
use crate::service::directories::{
    AuthMethods, CreatedDirectory, DirectoryDeleting, DirectoryDetail, DirectoryView,
};
use crate::service::directory_reads::{NormalisedGroup, NormalisedUser, ResourcePage};
use crate::service::event_reads::EventsPage;
use crate::service::portal_links::{
    CreatedPortalLink, NewPortalLink, PortalLinkRevoked, PortalLinkView,
};
use crate::service::request_log::RequestPage;
use crate::service::roles::{PutAssignments, RoleAssignments};
use crate::service::webhook_registrations::{RegisteredWebhook, WebhookDeleted, WebhookView};

/// One operation: how it is called and what it answers.
struct Operation {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    query: &'static [Query],
    body: Option<Value>,
    status: u16,
    answer: Value,
}

#[derive(Clone, Copy)]
enum Query {
    /// `after` of the users and groups reads: the last id of the previous page.
    AfterId,
    /// `after` of the Events API: the last sequence number read.
    AfterSequence,
    Limit,
    /// `event=a,b`: only these event types.
    EventTypes,
    /// The request log's filters and its opaque `after`.
    StatusClasses,
    Method,
    Resource,
    ResourceId,
    Since,
    Until,
    AfterCursor,
}

/// Schemas of what the API takes in (as it parses them) and gives out (as it renders them).
struct Schemas {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Schemas {
    fn new() -> Self {
        let settings = |contract| {
            let mut s = SchemaSettings::draft2020_12();
            s.definitions_path = "/components/schemas".into();
            s.contract = contract;
            s
        };
        let mut requests = settings(Contract::Deserialize);
        // Request bodies are small: inline, so their names never clash with the answers'.
        requests.inline_subschemas = true;
        Schemas {
            requests: requests.into_generator(),
            answers: settings(Contract::Serialize).into_generator(),
        }
    }
    fn request<T: JsonSchema>(&mut self) -> Option<Value> {
        Some(self.requests.subschema_for::<T>().to_value())
    }
    fn answer<T: JsonSchema>(&mut self) -> Value {
        self.answers.subschema_for::<T>().to_value()
    }
}

fn operations(s: &mut Schemas) -> Vec<Operation> {
    use Query::*;
    const DIR: &str = "/manage/directories/{directoryId}";
    let op = |method, path, id, summary, status, answer: Value| Operation {
        method,
        path,
        id,
        summary,
        query: &[],
        body: None,
        status,
        answer,
    };
    vec![
        op("get", "/manage/directories", "listDirectories", "Every directory, with its status and SCIM URLs", 200, s.answer::<Vec<DirectoryView>>()),
        Operation { body: s.request::<NewDirectory>(), ..op("post", "/manage/directories", "createDirectory", "Create a directory and its first bearer token (shown once)", 201, s.answer::<CreatedDirectory>()) },
        op("get", DIR, "showDirectory", "A directory: status, URLs, authentication methods, health (counts, requests, webhook delivery)", 200, s.answer::<DirectoryDetail>()),
        op("delete", DIR, "deleteDirectory", "Revoke a directory's credentials and delete its data (after the token grace)", 202, s.answer::<DirectoryDeleting>()),
        op("get", "/manage/directories/{directoryId}/tokens", "listTokens", "The directory's bearer tokens (no secrets)", 200, s.answer::<Vec<Listed<TokenView>>>()),
        Operation { body: s.request::<NewCredential>(), ..op("post", "/manage/directories/{directoryId}/tokens", "issueToken", "Issue a bearer token (shown once)", 201, s.answer::<IssuedToken>()) },
        op("delete", "/manage/directories/{directoryId}/tokens/{id}", "revokeToken", "Revoke a bearer token", 200, s.answer::<TokenRevoked>()),
        op("get", "/manage/directories/{directoryId}/clients", "listClients", "The directory's OAuth clients (no secrets)", 200, s.answer::<Vec<Listed<ClientView>>>()),
        Operation { body: s.request::<NewCredential>(), ..op("post", "/manage/directories/{directoryId}/clients", "createClient", "Create an OAuth client (the secret is shown once)", 201, s.answer::<CreatedClient>()) },
        op("delete", "/manage/directories/{directoryId}/clients/{id}", "revokeClient", "Revoke an OAuth client and its access tokens", 200, s.answer::<ClientRevoked>()),
        op("get", "/manage/directories/{directoryId}/portal-links", "listPortalLinks", "The directory's live Admin Portal setup links (no secrets)", 200, s.answer::<Vec<PortalLinkView>>()),
        Operation { body: s.request::<NewPortalLink>(), ..op("post", "/manage/directories/{directoryId}/portal-links", "createPortalLink", "Make an Admin Portal setup link for the customer's IT admin (the URL is shown once)", 201, s.answer::<CreatedPortalLink>()) },
        op("delete", "/manage/directories/{directoryId}/portal-links/{id}", "revokePortalLink", "Revoke a setup link", 200, s.answer::<PortalLinkRevoked>()),
        op("get", "/manage/directories/{directoryId}/portal-activity", "listPortalActivity", "What the customer's IT admin did in the Admin Portal (links opened, provider chosen, credentials revealed, rotated or revoked), newest first, at most 100, kept 90 days", 200, s.answer::<Vec<crate::service::portal::PortalActivity>>()),
        Operation { body: s.request::<AuthMethods>(), ..op("put", "/manage/directories/{directoryId}/auth", "setAuthMethods", "Choose bearer tokens, client credentials or both; turning one off revokes its credentials", 200, s.answer::<AuthMethodsSet>()) },
        Operation { query: &[AfterId, Limit], ..op("get", "/manage/directories/{directoryId}/users", "listUsers", "Normalised users, in creation order", 200, s.answer::<ResourcePage<NormalisedUser>>()) },
        op("get", "/manage/directories/{directoryId}/users/{id}", "getUser", "One normalised user", 200, s.answer::<NormalisedUser>()),
        Operation { query: &[AfterId, Limit], ..op("get", "/manage/directories/{directoryId}/groups", "listGroups", "Normalised groups, in creation order", 200, s.answer::<ResourcePage<NormalisedGroup>>()) },
        op("get", "/manage/directories/{directoryId}/groups/{id}", "getGroup", "One normalised group", 200, s.answer::<NormalisedGroup>()),
        Operation { query: &[AfterSequence, Limit, EventTypes], ..op("get", "/manage/directories/{directoryId}/events", "listEvents", "The directory's events after a sequence number, in order", 200, s.answer::<EventsPage>()) },
        Operation { query: &[StatusClasses, Method, Resource, ResourceId, Since, Until, AfterCursor, Limit], ..op("get", "/manage/directories/{directoryId}/requests", "listRequests", "The SCIM request log: every request to the directory's URLs (and refused token requests), newest first, redacted, kept RequestLogRetentionDays (docs/request-log.md)", 200, s.answer::<RequestPage>()) },
        op("get", "/manage/directories/{directoryId}/webhook", "showWebhook", "The webhook registration and its delivery state (null: none)", 200, s.answer::<Option<WebhookView>>()),
        Operation { body: s.request::<WebhookTarget>(), ..op("put", "/manage/directories/{directoryId}/webhook", "setWebhook", "Register (or re-register) the webhook; the signing secret is shown once", 200, s.answer::<RegisteredWebhook>()) },
        Operation { body: s.request::<ResumeDeliveries>(), ..op("patch", "/manage/directories/{directoryId}/webhook", "resumeWebhook", "Deliver again from a sequence number on (parked events; after a 410)", 200, s.answer::<Option<WebhookView>>()) },
        op("delete", "/manage/directories/{directoryId}/webhook", "deleteWebhook", "Remove the webhook registration", 200, s.answer::<WebhookDeleted>()),
        op("get", "/manage/roles", "showRoles", "The stack's roles and default role", 200, s.answer::<RoleCatalogue>()),
        Operation { body: s.request::<RoleCatalogue>(), ..op("put", "/manage/roles", "putRoles", "Declare the stack's roles (slugs are what users carry) and the default for users in no mapped group", 200, s.answer::<RoleCatalogue>()) },
        op("get", "/manage/directories/{directoryId}/role-assignments", "showRoleAssignments", "The directory's group → role assignments in priority order", 200, s.answer::<RoleAssignments>()),
        Operation { body: s.request::<PutAssignments>(), ..op("put", "/manage/directories/{directoryId}/role-assignments", "putRoleAssignments", "Map groups to roles in priority order (first match wins); users whose role changes get one dsync.user.updated each", 200, s.answer::<RoleAssignments>()) },
        op("get", "/manage/custom-attributes", "showCustomAttributes", "The stack's custom attribute keys", 200, s.answer::<AttributeCatalogue>()),
        Operation { body: s.request::<AttributeCatalogue>(), ..op("put", "/manage/custom-attributes", "putCustomAttributes", "Declare the stack's custom attribute keys (snake_case, at most 100); every directory's mapping is recomputed; a key a directory maps cannot be removed", 200, s.answer::<AttributeCatalogue>()) },
        op("get", "/manage/directories/{directoryId}/custom-attributes", "showAttributeMapping", "The directory's SCIM attribute paths → custom attribute keys, and the mappings in force (its own and the enterprise defaults)", 200, s.answer::<DirectoryAttributes>()),
        Operation { body: s.request::<PutMappings>(), ..op("put", "/manage/directories/{directoryId}/custom-attributes", "putAttributeMapping", "Map SCIM attribute paths (core, sub-attribute, value filter, enterprise or any extension URN) to declared keys; reads use it at once, events from each user's next change (docs/custom-attributes.md)", 200, s.answer::<DirectoryAttributes>()) },
        Operation { body: s.request::<PutMappings>(), ..op("post", "/manage/directories/{directoryId}/custom-attributes/preview", "previewAttributeMapping", "What a candidate mapping makes of the directory's 10 newest users, beside what they carry now; nothing is saved", 200, s.answer::<Preview>()) },
        op("get", "/manage/openapi.json", "openApi", "This document", 200, json!({"type": "object"})),
    ]
}

fn query_parameter(q: Query) -> Value {
    let (name, description, schema) = match q {
        Query::AfterId => (
            "after",
            "The last id of the previous page (its list_metadata.after)",
            json!({"type": "string"}),
        ),
        Query::AfterSequence => (
            "after",
            "The last sequence number read (0: from the start)",
            json!({"type": "integer", "minimum": 0, "maximum": MAX_SEQUENCE}),
        ),
        Query::Limit => (
            "limit",
            "Items per page",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE}),
        ),
        Query::EventTypes => (
            "event",
            "Only these event types, comma-separated (e.g. dsync.user.created,dsync.user.deleted)",
            json!({"type": "string"}),
        ),
        Query::StatusClasses => (
            "status",
            "Only these status classes, comma-separated: 2xx (2xx and 3xx), 4xx, 5xx",
            json!({"type": "string", "pattern": "^[245]xx(,[245]xx)*$"}),
        ),
        Query::Method => (
            "method",
            "Only this HTTP method",
            json!({"type": "string", "pattern": "^[A-Za-z]{1,10}$"}),
        ),
        Query::Resource => (
            "resource",
            "Only requests about Users, Groups or other (discovery, token endpoint)",
            json!({"enum": ["Users", "Groups", "other"]}),
        ),
        Query::ResourceId => (
            "resource_id",
            "Only requests naming this resource id in their path",
            json!({"type": "string", "minLength": 1, "maxLength": 200}),
        ),
        Query::Since => (
            "since",
            "From this UTC time on (e.g. 2026-12-04T10:00:00Z)",
            json!({"type": "string", "format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{3})?Z$"}),
        ),
        Query::Until => (
            "until",
            "Up to this UTC time",
            json!({"type": "string", "format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{3})?Z$"}),
        ),
        Query::AfterCursor => (
            "after",
            "The previous page's list_metadata.after (older records)",
            json!({"type": "string"}),
        ),
    };
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}))
        .collect()
}

/// The error answers every operation may give, and when.
fn errors(op: &Operation) -> Map<String, Value> {
    let error = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}}});
    let mut out = Map::new();
    let mut add = |status: &str, why: &str| {
        let mut e = error.clone();
        e["description"] = json!(why);
        out.insert(status.into(), e);
    };
    if op.id == "openApi" {
        return out;
    }
    add("400", "The request is malformed (body, query or path)");
    add("401", "No or a wrong management key (scim-local only)");
    add(
        "403",
        "A forbidden caller: cross-site, through a proxy, or a rebound Host (scim-local); in AWS, \
         API Gateway answers an unsigned or unauthorised call with 403 and a body of its own",
    );
    add("404", "No such directory, user, group, credential or route");
    add("409", "The request conflicts with the directory's state (a limit, a disabled authentication method)");
    if op.body.is_some() {
        add("415", "The body is not application/json (scim-local)");
    }
    add(
        "429",
        "Throttled by API Gateway (ManagementThrottleRateLimit, in AWS; a body of its own); retry",
    );
    add(
        "503",
        "The store is busy or unreachable; retry (Retry-After)",
    );
    out
}

/// The OpenAPI 3.1 document of the management API.
pub fn document() -> Value {
    let mut s = Schemas::new();
    let ops = operations(&mut s);
    let mut paths = Map::new();
    for op in &ops {
        let mut parameters = path_parameters(op.path);
        parameters.extend(op.query.iter().map(|q| query_parameter(*q)));
        let mut responses = errors(op);
        responses.insert(
            op.status.to_string(),
            json!({"description": op.summary, "content": {"application/json": {"schema": op.answer}}}),
        );
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = &op.body {
            // POST .../tokens, .../clients and .../portal-links also take an empty body.
            let required = !matches!(op.id, "issueToken" | "createClient" | "createPortalLink");
            operation["requestBody"] =
                json!({"required": required, "content": {"application/json": {"schema": body}}});
        }
        let path = paths.entry(op.path).or_insert_with(|| json!({}));
        path[op.method] = operation;
    }
    let mut components = s.answers.take_definitions(true);
    components.insert(
        "ErrorAnswer".into(),
        s.answers.subschema_for::<ErrorAnswer>().to_value(),
    );
    components.extend(s.answers.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "scim-lambda management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Directories, credentials, normalised users and groups, events and webhooks of a scim-lambda deployment (docs/management-api.md). In AWS every call is signed with SigV4 (IAM, execute-api:Invoke); scim-local takes its printed management key as a bearer token.",
        },
        "servers": [{"url": "{base}", "variables": {"base": {"default": "http://127.0.0.1:8080", "description": "The stack's ManagementApiBase without /manage, or scim-local"}}}],
        "security": [{"sigv4": []}, {"localKey": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "description": "AWS Signature Version 4 (IAM authorisation of API Gateway)"},
                "localKey": {"type": "http", "scheme": "bearer", "description": "scim-local's management key"},
            },
        },
    })
}
