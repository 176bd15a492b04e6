//! Discovery: ServiceProviderConfig, Schemas, ResourceTypes (RFC 7644 §4), the SCIM 1.1
//! `/ServiceProviderConfigs`, and the endpoints we answer with 501 (`/Me`, `/Bulk`).
//! ServiceProviderConfig is truthful: it announces only what the server does.

use lambda_http::http::Method;
use serde_json::{json, Value};

use super::request::{ScimRequest, Version};
use super::response::ScimResponse;
use super::{resources, App};
use crate::scim::cursor::CURSOR_TIMEOUT_SECS;
use crate::scim::error::ScimError;
use crate::scim::list::{list_response, ListQuery, DEFAULT_COUNT, MAX_COUNT};
use crate::scim::schema::{self, ResourceKind};
use crate::scim::v1;

const DOCS: &str = "https://github.com/scim-lambda/scim-lambda#readme";
const LIMITS_DOCS: &str = "https://github.com/scim-lambda/scim-lambda#request-bounds";

pub async fn serve(app: &App, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
    let first = req.segments.first().map(String::as_str).unwrap_or_default();
    let id = req.segments.get(1).map(String::as_str);
    if req.segments.len() > 2 {
        return Err(ScimError::not_found("no such discovery path"));
    }
    match (first, &req.method) {
        ("Me", _) => {
            return Err(ScimError::not_implemented(
                "/Me is not supported: tokens authenticate an IdP, not a user (RFC 7644 §3.11)",
            ))
        }
        ("Bulk", _) => {
            return Err(ScimError::not_implemented(
                "/Bulk is not supported; ServiceProviderConfig announces bulk.supported=false",
            ))
        }
        (".search", &Method::POST) if req.version == Version::V2 && id.is_none() => {
            let q = ListQuery::from_search(&req.json()?)?;
            return resources::search_all(app, req, q).await;
        }
        (_, &Method::GET) => {}
        (_, m) => {
            return Err(ScimError::method_not_allowed(format!(
                "{m} is not supported on /{first}"
            )))
        }
    }
    let body = match (req.version, first, id) {
        (Version::V2, "ServiceProviderConfig", None) => service_provider_config(req),
        (Version::V1, "ServiceProviderConfigs", None) => service_provider_config_v1(),
        (_, "Schemas", None) => {
            let all: Vec<Value> = schema::all_schemas()
                .iter()
                .map(|s| schema_json(req, s))
                .collect();
            list(req, all)
        }
        (_, "Schemas", Some(id)) => schema::all_schemas()
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id) || v1_schema_id(s.id).eq_ignore_ascii_case(id))
            .map(|s| schema_json(req, s))
            .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))?,
        (Version::V2, "ResourceTypes", None) => list(
            req,
            [ResourceKind::User, ResourceKind::Group]
                .iter()
                .map(|k| resource_type(req, *k))
                .collect(),
        ),
        (Version::V2, "ResourceTypes", Some(id)) => [ResourceKind::User, ResourceKind::Group]
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(id))
            .map(|k| resource_type(req, k))
            .ok_or_else(|| ScimError::not_found(format!("no resource type {id}")))?,
        _ => {
            return Err(ScimError::not_found(format!(
                "no discovery endpoint /{first}"
            )))
        }
    };
    Ok(ScimResponse::json(200, body))
}

fn list(req: &ScimRequest, items: Vec<Value>) -> Value {
    let body = list_response(items.len(), 1, items);
    match req.version {
        Version::V2 => body,
        Version::V1 => v1::list_to_v1(body),
    }
}

fn v1_schema_id(id: &str) -> &'static str {
    match id {
        schema::ENTERPRISE_USER => v1::ENTERPRISE_V1,
        _ => v1::CORE_V1,
    }
}

fn schema_json(req: &ScimRequest, s: &schema::SchemaDef) -> Value {
    let mut v = s.to_json(&format!("{}/Schemas/{}", req.base_url, s.id));
    if req.version == Version::V1 {
        v["id"] = json!(v1_schema_id(s.id));
        v["schemas"] = json!([v1::CORE_V1]);
    }
    v
}

fn auth_scheme() -> Value {
    json!({
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "Authentication with a per-directory bearer token issued by scimctl",
        "specUri": "https://www.rfc-editor.org/info/rfc6750",
        "documentationUri": DOCS,
        "primary": true,
    })
}

/// What both SCIM versions' configuration documents announce.
fn features() -> serde_json::Map<String, Value> {
    let v = json!({
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [auth_scheme()],
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn service_provider_config(req: &ScimRequest) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("schemas".into(), json!([schema::SERVICE_PROVIDER_CONFIG]));
    // The limits RFC 7643 §5 has no attribute for (read budgets, body and response sizes) are
    // documented where this points.
    m.insert("documentationUri".into(), json!(LIMITS_DOCS));
    m.extend(features());
    // RFC 9865 §4: both methods; index stays the default so RFC 7644 clients see no change.
    m.insert(
        "pagination".into(),
        json!({
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT,
            "maxPageSize": MAX_COUNT,
            "cursorTimeout": CURSOR_TIMEOUT_SECS,
        }),
    );
    m.insert(
        "meta".into(),
        json!({
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", req.base_url),
        }),
    );
    Value::Object(m)
}

/// SCIM 1.1 core schema §5 shape (what Okta's SCIM 1.1 app reads).
fn service_provider_config_v1() -> Value {
    let mut m = serde_json::Map::new();
    m.insert("schemas".into(), json!([v1::CORE_V1]));
    m.insert("documentationUrl".into(), json!(DOCS));
    m.extend(features());
    m.insert("xmlDataFormat".into(), json!({"supported": false}));
    Value::Object(m)
}

fn resource_type(req: &ScimRequest, kind: ResourceKind) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    json!({
        "schemas": [schema::RESOURCE_TYPE],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": kind.core().description,
        "schema": kind.core().id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", req.base_url, kind.name()),
        },
    })
}
