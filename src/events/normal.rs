//! The normalised user and group objects the application sees (event `data`, the management
//! API), beside the raw SCIM resource they come from. One shape whatever the IdP: the field names
//! follow WorkOS Directory Sync so existing consumers port easily.
//!
//! User: `id`, `directory_id`, `idp_id` (externalId), `username`, `email` (the primary e-mail, else
//! the first), `first_name`, `last_name`, `state` (`active` | `inactive`), `custom_attributes`,
//! `raw_attributes` (the SCIM resource as stored), `created_at`, `updated_at`; the management API
//! adds `groups` (`[{id, name}]`). Group: `id`, `directory_id`, `idp_id`, `name`,
//! `raw_attributes`, `created_at`, `updated_at`.
//!
//! `custom_attributes` is what the directory's custom attribute map makes of the body
//! (`crate::custom_attributes`): the keys the application declared, or, while it declares none,
//! the fixed flattening (enterprise extension under snake_case names, other extensions under
//! `"{urn}:{attribute}"`). Events render with the map their write pinned; the management API
//! with the map in force when it reads.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::custom_attributes::AttributeMap;
use crate::roles::Resolved;
use crate::scim::resource::Meta;
use crate::scim::schema::ResourceKind;

/// The normalised user. Field order is the JSON order every consumer has seen since the first
/// event: keep it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: String,
    pub directory_id: String,
    /// The IdP's `externalId`, as sent (`null` when absent).
    pub idp_id: Value,
    pub username: Value,
    pub email: Value,
    pub first_name: Value,
    pub last_name: Value,
    pub state: UserState,
    pub custom_attributes: Map<String, Value>,
    pub raw_attributes: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    /// The highest-priority role of the user's mapped groups, else the default.
    pub role: Option<RoleRef>,
    /// Every role the user's mapped groups give, in priority order.
    pub roles: Vec<RoleRef>,
}

/// A role as users carry it (WorkOS: `{"slug": "admin"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRef {
    pub slug: String,
}

/// `active` as the application sees it: SCIM's `active` coerced where it enters (Entra sends
/// `"False"`); absent means active (RFC 7643 §4.1.1 gives no default; every IdP means active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Active,
    Inactive,
}

/// The normalised group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub id: String,
    pub directory_id: String,
    pub idp_id: Value,
    pub name: Value,
    pub raw_attributes: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// A normalised user or group: the `data` of a created or deleted event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    User(Box<User>),
    Group(Box<Group>),
}

impl Object {
    /// The normalised object of a stored resource; `resolved`: a user's roles, `attributes`: the
    /// directory's custom attribute map (groups have neither).
    pub fn of(
        kind: ResourceKind,
        dir: &str,
        id: &str,
        body: &Map<String, Value>,
        meta: &Meta,
        resolved: &Resolved,
        attributes: &AttributeMap,
    ) -> Self {
        match kind {
            ResourceKind::User => {
                Object::User(Box::new(user(dir, id, body, meta, resolved, attributes)))
            }
            ResourceKind::Group => Object::Group(Box::new(group(dir, id, body, meta))),
        }
    }

    pub fn kind(&self) -> ResourceKind {
        match self {
            Object::User(_) => ResourceKind::User,
            Object::Group(_) => ResourceKind::Group,
        }
    }

    /// The object as JSON (what `previous_attributes` compares and `fit` trims).
    pub fn to_json(&self) -> Value {
        // Plain structs of JSON values and strings: serialising them cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The normalised object of a stored resource, as JSON (the management API's users and groups).
pub fn object(
    kind: ResourceKind,
    dir: &str,
    id: &str,
    body: &Map<String, Value>,
    meta: &Meta,
    resolved: &Resolved,
    attributes: &AttributeMap,
) -> Value {
    Object::of(kind, dir, id, body, meta, resolved, attributes).to_json()
}

fn user(
    dir: &str,
    id: &str,
    body: &Map<String, Value>,
    meta: &Meta,
    resolved: &Resolved,
    attributes: &AttributeMap,
) -> User {
    let role = |slug: &String| RoleRef { slug: slug.clone() };
    let name = body.get("name");
    let part = |k: &str| name.and_then(|n| n.get(k)).cloned().unwrap_or(Value::Null);
    // `active` is coerced to a boolean where it enters (Entra sends "False"); absent means active.
    let active = body.get("active").and_then(Value::as_bool).unwrap_or(true);
    User {
        id: id.into(),
        directory_id: dir.into(),
        idp_id: attribute(body, "externalId"),
        username: attribute(body, "userName"),
        email: primary_email(body),
        first_name: part("givenName"),
        last_name: part("familyName"),
        state: if active {
            UserState::Active
        } else {
            UserState::Inactive
        },
        custom_attributes: attributes.render(body),
        raw_attributes: body.clone(),
        created_at: meta.created.clone(),
        updated_at: meta.last_modified.clone(),
        role: resolved.role.as_ref().map(role),
        roles: resolved.roles.iter().map(role).collect(),
    }
}

fn group(dir: &str, id: &str, body: &Map<String, Value>, meta: &Meta) -> Group {
    Group {
        id: id.into(),
        directory_id: dir.into(),
        idp_id: attribute(body, "externalId"),
        name: attribute(body, "displayName"),
        raw_attributes: body.clone(),
        created_at: meta.created.clone(),
        updated_at: meta.last_modified.clone(),
    }
}

/// A group as membership events name it: no raw attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub id: String,
    pub idp_id: Value,
    pub name: Value,
}

impl GroupSummary {
    pub fn of(id: &str, body: &Map<String, Value>) -> Self {
        GroupSummary {
            id: id.into(),
            idp_id: attribute(body, "externalId"),
            name: attribute(body, "displayName"),
        }
    }
}

fn attribute(body: &Map<String, Value>, name: &str) -> Value {
    body.get(name).cloned().unwrap_or(Value::Null)
}

fn primary_email(body: &Map<String, Value>) -> Value {
    let Some(emails) = body.get("emails").and_then(Value::as_array) else {
        return Value::Null;
    };
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first());
    primary
        .and_then(|e| e.get("value"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// What an update changed, shallowly: for each top-level field of the normalised object whose
/// value differs, its value before (absent fields as `null`). `updated_at` always moves and is
/// left out; `raw_attributes` and `custom_attributes` list only their changed keys.
pub fn previous_attributes(old: &Value, new: &Value) -> Map<String, Value> {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return Map::new();
    };
    let mut out = Map::new();
    for (k, before) in old {
        let after = new.get(k).unwrap_or(&Value::Null);
        if k == "updated_at" || before == after {
            continue;
        }
        if k == "raw_attributes" || k == "custom_attributes" {
            out.insert(k.clone(), Value::Object(changed_keys(before, after)));
        } else {
            out.insert(k.clone(), before.clone());
        }
    }
    out
}

fn changed_keys(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for k in b.keys().chain(a.keys()) {
        let was = b.get(k).unwrap_or(&Value::Null);
        if a.get(k).unwrap_or(&Value::Null) != was && !out.contains_key(k) {
            out.insert(k.clone(), was.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER;
    use serde_json::json;

    fn meta() -> Meta {
        Meta {
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-02T00:00:00Z".into(),
            version: 2,
        }
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn user_fields_come_from_the_scim_attributes() {
        let b = body(json!({
            "userName": "ada@example.com",
            "externalId": "00u1",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "work@example.com"}, {"value": "ada@example.com", "primary": true}],
            "active": false,
            ENTERPRISE_USER: {"employeeNumber": "42", "costCenter": "R&D",
                              "manager": {"value": "m1", "displayName": "Babbage"}},
            "urn:okta:custom:1.0:User": {"shoeSize": 9}
        }));
        let u = object(
            ResourceKind::User,
            "d1",
            "u1",
            &b,
            &meta(),
            &Resolved::default(),
            &AttributeMap::default(),
        );
        assert_eq!(u["username"], "ada@example.com");
        assert_eq!(u["idp_id"], "00u1");
        assert_eq!(u["email"], "ada@example.com");
        assert_eq!(u["first_name"], "Ada");
        assert_eq!(u["last_name"], "Lovelace");
        assert_eq!(u["state"], "inactive");
        assert_eq!(u["directory_id"], "d1");
        let c = &u["custom_attributes"];
        assert_eq!(c["employee_number"], "42");
        assert_eq!(c["cost_center"], "R&D");
        assert_eq!(c["manager_id"], "m1");
        assert_eq!(c["manager_name"], "Babbage");
        assert_eq!(c["urn:okta:custom:1.0:User:shoeSize"], 9);
        assert_eq!(u["raw_attributes"]["userName"], "ada@example.com");
    }

    #[test]
    fn missing_fields_are_null_and_absent_active_is_active() {
        let u = object(
            ResourceKind::User,
            "d",
            "u",
            &body(json!({"userName": "x"})),
            &meta(),
            &Resolved::default(),
            &AttributeMap::default(),
        );
        assert_eq!(u["state"], "active");
        assert_eq!(u["email"], Value::Null);
        assert_eq!(u["first_name"], Value::Null);
        let g = object(
            ResourceKind::Group,
            "d",
            "g",
            &body(json!({"displayName": "Eng"})),
            &meta(),
            &Resolved::default(),
            &AttributeMap::default(),
        );
        assert_eq!(g["name"], "Eng");
        assert_eq!(g["idp_id"], Value::Null);
    }

    #[test]
    fn previous_attributes_are_shallow_and_name_only_what_changed() {
        let old = object(
            ResourceKind::User,
            "d",
            "u",
            &body(json!({"userName": "a", "active": true, "title": "Eng"})),
            &meta(),
            &Resolved::default(),
            &AttributeMap::default(),
        );
        let mut m = meta();
        m.last_modified = "later".into();
        let new = object(
            ResourceKind::User,
            "d",
            "u",
            &body(json!({"userName": "a", "active": false, "nickName": "n"})),
            &m,
            &Resolved::default(),
            &AttributeMap::default(),
        );
        let p = previous_attributes(&old, &new);
        assert_eq!(p["state"], "active");
        assert_eq!(
            p["raw_attributes"],
            json!({"active": true, "title": "Eng", "nickName": null})
        );
        assert!(!p.contains_key("username"));
        assert!(!p.contains_key("updated_at"));
    }
}
