//! SCIM 1.1 ⇄ 2.0 codec. Both versions share one store, so 1.1 requests are translated to 2.0 on
//! the way in and responses back on the way out. What differs (SCIM 1.1 core schema §3, §9; Okta's
//! SCIM 1.1 reference): schema URNs, the list envelope, the error shape (`Errors`), and PATCH,
//! which in 1.1 is a partial resource — multi-valued attributes are merged, an element with
//! `"operation": "delete"` is removed, and `meta.attributes` lists attributes to clear.

use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::patch::PatchRequest;
use super::schema::{self, ResourceKind};

pub const CORE_V1: &str = "urn:scim:schemas:core:1.0";
pub const ENTERPRISE_V1: &str = "urn:scim:schemas:extension:enterprise:1.0";

/// A 1.1 resource body as its 2.0 equivalent.
pub fn resource_from_v1(kind: ResourceKind, v: Value) -> Value {
    let mut v = map_keys(kind, v);
    // A create/replace body lists members; `operation` only has meaning in PATCH.
    if let Some(o) = v.as_object_mut() {
        if let Some(m) = o.remove("members") {
            o.insert("members".into(), strip_operation(m));
        }
    }
    v
}

/// 1.1 schema URNs and the 1.1 enterprise extension key as their 2.0 names.
fn map_keys(kind: ResourceKind, v: Value) -> Value {
    let Value::Object(obj) = v else { return v };
    let mut out = Map::new();
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("schemas") {
            let urns: Vec<Value> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|u| json!(urn_from_v1(kind, u)))
                .collect();
            out.insert("schemas".into(), Value::Array(urns));
        } else if k.eq_ignore_ascii_case(ENTERPRISE_V1) {
            out.insert(schema::ENTERPRISE_USER.into(), v);
        } else {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

fn strip_operation(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|i| !is_delete(i))
                .map(|mut i| {
                    if let Some(o) = i.as_object_mut() {
                        o.remove("operation");
                    }
                    i
                })
                .collect(),
        ),
        other => other,
    }
}

fn is_delete(item: &Value) -> bool {
    item.get("operation")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("delete"))
}

fn urn_from_v1(kind: ResourceKind, urn: &str) -> String {
    if urn.eq_ignore_ascii_case(CORE_V1) {
        kind.core().id.to_string()
    } else if urn.eq_ignore_ascii_case(ENTERPRISE_V1) {
        schema::ENTERPRISE_USER.to_string()
    } else {
        urn.to_string()
    }
}

/// A 2.0 resource as SCIM 1.1 presents it.
pub fn resource_to_v1(_kind: ResourceKind, v: Value) -> Value {
    let Value::Object(obj) = v else { return v };
    let mut out = Map::new();
    for (k, v) in obj {
        if k == "schemas" {
            let mut urns = vec![json!(CORE_V1)];
            for u in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                if u == schema::ENTERPRISE_USER {
                    urns.push(json!(ENTERPRISE_V1));
                } else if !u.starts_with("urn:ietf:params:scim:schemas:core:2.0:") {
                    urns.push(json!(u));
                }
            }
            out.insert(k, Value::Array(urns));
        } else if k == schema::ENTERPRISE_USER {
            out.insert(ENTERPRISE_V1.into(), v);
        } else {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// The 1.1 list envelope (same counters, 1.1 schema URN).
pub fn list_to_v1(mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.insert("schemas".into(), json!([CORE_V1]));
    }
    body
}

/// A 1.1 partial-resource PATCH as 2.0 operations.
pub fn patch_from_v1(kind: ResourceKind, body: &Value) -> Result<PatchRequest, ScimError> {
    let body = map_keys(kind, body.clone());
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a SCIM 1.1 PATCH body must be a JSON object"))?;
    let mut ops = Vec::new();
    // meta.attributes: attributes to remove (SCIM 1.1 protocol §3.3.2).
    if let Some(attrs) = obj
        .get("meta")
        .and_then(|m| m.get("attributes"))
        .and_then(Value::as_array)
    {
        for a in attrs.iter().filter_map(Value::as_str) {
            ops.push(json!({"op": "remove", "path": a}));
        }
    }
    for (k, v) in obj {
        let lower = k.to_ascii_lowercase();
        if ["schemas", "id", "meta"].contains(&lower.as_str()) {
            continue;
        }
        if let Some(ext) = kind.extension(k) {
            for (sk, sv) in v.as_object().into_iter().flatten() {
                ops.push(json!({"op": "replace", "path": format!("{}:{sk}", ext.id), "value": sv}));
            }
            continue;
        }
        let multi = kind
            .resolve(None, k, None)
            .is_some_and(|(_, def)| def.multi);
        match v {
            Value::Array(items) if multi => {
                let (deletes, adds): (Vec<&Value>, Vec<&Value>) =
                    items.iter().partition(|i| is_delete(i));
                for d in deletes {
                    let value = d.get("value").and_then(Value::as_str).unwrap_or_default();
                    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
                    ops.push(
                        json!({"op": "remove", "path": format!("{k}[value eq \"{escaped}\"]")}),
                    );
                }
                if !adds.is_empty() {
                    ops.push(json!({"op": "add", "path": k, "value": strip_operation(Value::Array(adds.into_iter().cloned().collect()))}));
                }
            }
            _ => ops.push(json!({"op": "replace", "path": k, "value": v})),
        }
    }
    PatchRequest::parse(
        &json!({"schemas": [schema::PATCH_OP], "Operations": ops}),
        kind,
    )
}
