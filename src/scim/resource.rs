//! Resource bodies: turning what a client sends into what we store, and what we store into what a
//! client sees.
//!
//! Stored body = the client's attributes with canonical names, each value brought into shape by
//! the one rule set in `coerce.rs`, and nothing the server owns: `id`, `meta`, `groups` (User) and
//! `members` (Group; memberships are separate items) are dropped, and `password` is never kept (we
//! are not a credential store). Unknown attributes and unknown extension URNs are kept as sent.

use serde_json::{json, Map, Value};

use super::coerce::{check_count, coerce_attr};
use super::error::ScimError;
use super::schema::{self, Mutability, ResourceKind};

/// Longest value we accept for an attribute that becomes part of a DynamoDB key (sort keys are
/// limited to 1 KiB); far above anything an IdP sends.
pub const MAX_KEYED_VALUE: usize = 512;
/// Most members one request may name (a body or one PATCH operation). A 6 MB body holds about
/// 120,000 bare ids; 50,000 is the largest group we measure (docs/benchmark.md).
pub const MAX_MEMBERS_PER_REQUEST: usize = 50_000;

pub fn too_many_members(n: usize) -> ScimError {
    ScimError::invalid_value(format!(
        "{n} members in one request; at most {MAX_MEMBERS_PER_REQUEST} (send the rest in further PATCH adds)"
    ))
}

/// Largest stored body: a DynamoDB item holds at most 400 KB, and the item carries keys and meta
/// besides the body.
pub const MAX_RESOURCE_BYTES: usize = 256 * 1024;

/// Most elements a multi-valued attribute may have (each indexed email is an item in the write).
pub use super::coerce::MAX_MULTI_VALUES;

/// A client's create/replace body, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub body: Map<String, Value>,
    /// Group only: the member ids the body listed (`None` when `members` was absent).
    pub members: Option<Vec<String>>,
}

/// What the server adds around a stored body.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub created: String,
    pub last_modified: String,
    pub version: u64,
}

impl Meta {
    /// The ETag (RFC 7644 §3.14): weak, since two representations of one version may differ in
    /// attribute projection.
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// Values of a body that the store indexes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexValues {
    pub user_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub emails: Vec<String>,
}

impl IndexValues {
    /// The name that must be unique in the directory: userName (User) or displayName (Group).
    pub fn unique_name(&self) -> Option<&String> {
        self.user_name.as_ref().or(self.display_name.as_ref())
    }
}

/// Parses and normalises a POST/PUT body.
pub fn incoming(kind: ResourceKind, body: &Value) -> Result<Incoming, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    let mut out = Map::new();
    let mut members = None;
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert("schemas".into(), schemas_value(kind, value)?);
            continue;
        }
        if let Some(ext) = kind.extension(key) {
            let sub = value.as_object().ok_or_else(|| {
                ScimError::invalid_value(format!("\"{}\" must be an object", ext.id))
            })?;
            let mut ext_out = Map::new();
            for (k, v) in sub {
                let def = schema::find(ext.attributes, k);
                let name = def.map_or(k.as_str(), |d| d.name);
                let v = coerce_attr(def, v.clone(), name)?;
                if !v.is_null() {
                    ext_out.insert(name.into(), v);
                }
            }
            if !ext_out.is_empty() {
                out.insert(ext.id.into(), Value::Object(ext_out));
            }
            continue;
        }
        match kind.resolve(None, key, None) {
            Some((_, def)) if kind == ResourceKind::Group && def.name == "members" => {
                members = Some(member_ids(value)?);
            }
            Some((_, def)) if server_owned(def.mutability) => {}
            Some((_, def)) => {
                let v = coerce_attr(Some(def), value.clone(), def.name)?;
                if !v.is_null() {
                    out.insert(def.name.into(), v);
                }
            }
            None => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(Incoming {
        body: finish(kind, out)?,
        members,
    })
}

/// The body a PATCH left of a stored body. Its values were coerced as each operation set them
/// (`coerce.rs`), so this only drops what the server owns (`id`, which paths may name),
/// applies the defaults and checks what every write checks.
pub fn patched(kind: ResourceKind, doc: Value) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(mut obj) = doc else {
        return Err(ScimError::internal());
    };
    obj.retain(|key, _| match kind.resolve(None, key, None) {
        Some((_, def)) => {
            !(server_owned(def.mutability) || kind == ResourceKind::Group && def.name == "members")
        }
        None => true,
    });
    finish(kind, obj)
}

/// Server-owned (id, meta, groups) and write-only (password) attributes: IdPs echo them back on
/// PUT (Okta) or send them on create; RFC 7644 §3.5.1 says read-only values "SHALL be ignored".
fn server_owned(m: Mutability) -> bool {
    m == Mutability::ReadOnly || m == Mutability::WriteOnly
}

/// What every stored body gets: a user is active unless the client says otherwise (PUT without
/// `active` re-activates, as Okta's and Ping's full-replace updates expect), `schemas` names what
/// the body holds, and the checks of `validate`.
fn finish(
    kind: ResourceKind,
    mut out: Map<String, Value>,
) -> Result<Map<String, Value>, ScimError> {
    if kind == ResourceKind::User && !out.contains_key("active") {
        out.insert("active".into(), Value::Bool(true));
    }
    ensure_schemas(kind, &mut out);
    validate(kind, &out)?;
    Ok(out)
}

/// `schemas` must list the core schema; we add it if a lenient client forgot, and keep every other
/// URN the client declared (unknown extensions are kept, not rejected).
fn schemas_value(kind: ResourceKind, value: &Value) -> Result<Value, ScimError> {
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("\"schemas\" must be an array of URNs"))?;
    let mut urns: Vec<Value> = Vec::new();
    for v in list {
        let urn = v
            .as_str()
            .ok_or_else(|| ScimError::invalid_value("\"schemas\" must be an array of URNs"))?;
        let other = match kind {
            ResourceKind::User => ResourceKind::Group,
            ResourceKind::Group => ResourceKind::User,
        };
        // RFC 7643 §3: `schemas` names the resource's own schemas; a User body declaring the
        // Group schema (or the reverse) is not a User. Unknown URNs stay accepted (IdPs send them).
        if urn.eq_ignore_ascii_case(other.core().id) {
            return Err(ScimError::invalid_value(format!(
                "\"schemas\" lists {urn}, the schema of a {}, not of a {}",
                other.name(),
                kind.name()
            )));
        }
        let canonical = if urn.eq_ignore_ascii_case(kind.core().id) {
            kind.core().id
        } else {
            kind.extension(urn).map(|s| s.id).unwrap_or(urn)
        };
        if !urns.iter().any(|u| u == canonical) {
            urns.push(json!(canonical));
        }
    }
    Ok(Value::Array(urns))
}

/// Makes `schemas` name the core schema and every extension whose attributes are present.
pub fn ensure_schemas(kind: ResourceKind, body: &mut Map<String, Value>) {
    let mut urns: Vec<Value> = match body.remove("schemas") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let core = kind.core().id;
    // SCIM 1.1 schema URNs never belong in a stored 2.0 body (the 1.1 codec maps them).
    urns.retain(|u| {
        u.as_str()
            .is_some_and(|s| !s.starts_with("urn:scim:schemas:"))
    });
    if !urns.iter().any(|u| u == core) {
        urns.insert(0, json!(core));
    }
    for ext in kind.extensions() {
        let present = body.contains_key(ext.id);
        let listed = urns.iter().any(|u| u == ext.id);
        if present && !listed {
            urns.push(json!(ext.id));
        } else if !present && listed {
            urns.retain(|u| u != ext.id);
        }
    }
    let mut ordered = Map::new();
    ordered.insert("schemas".into(), Value::Array(urns));
    ordered.extend(std::mem::take(body));
    *body = ordered;
}

/// Required attributes and key-length limits, checked on every write (create, PUT and PATCH).
pub fn validate(kind: ResourceKind, body: &Map<String, Value>) -> Result<(), ScimError> {
    let required = match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    };
    match body.get(required) {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => {
            return Err(ScimError::invalid_value(format!(
                "\"{required}\" is required and must be a non-empty string"
            )))
        }
    }
    // As stored: `{`, `}`, and per attribute its quoted (escaped) name, `:`, the value, `,`.
    let size: usize = 2 + body
        .iter()
        .map(|(k, v)| json_len(&Value::String(k.clone())) + 2 + json_len(v))
        .sum::<usize>();
    if size > MAX_RESOURCE_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the {} is {size} bytes; a resource may be at most {MAX_RESOURCE_BYTES}",
            kind.name()
        )));
    }
    for (key, value) in body {
        if let (Some((_, def)), Value::Array(items)) = (kind.resolve(None, key, None), value) {
            if def.multi {
                check_count(items.len(), def.name)?;
            }
        }
    }
    let idx = index_values(kind, body);
    let keyed = idx
        .user_name
        .iter()
        .chain(&idx.display_name)
        .chain(&idx.external_id)
        .chain(&idx.emails);
    if let Some(long) = keyed.into_iter().find(|v| key_len(v) > MAX_KEYED_VALUE) {
        return Err(ScimError::invalid_value(format!(
            "value \"{}...\" is longer than {MAX_KEYED_VALUE} bytes (as stored in a key)",
            long.chars().take(20).collect::<String>()
        )));
    }
    Ok(())
}

/// The serialised length of `v`, without building the string.
pub fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// The bytes `value` takes inside a DynamoDB key: the store escapes `%` and `#` as three bytes
/// each (`store::keys`), and folds names (`fold_case`), which can change their length.
pub fn key_len(value: &str) -> usize {
    let escaped = |v: &str| v.len() + 2 * v.bytes().filter(|b| *b == b'%' || *b == b'#').count();
    escaped(value).max(escaped(&super::filter::eval::fold_case(value)))
}

/// Whether `id` can be one of ours (a UUID: we mint every id). Anything else names nothing and is
/// answered without a read — and never reaches a key.
pub fn is_id(id: &str) -> bool {
    id.len() <= 45 && uuid::Uuid::try_parse(id).is_ok()
}

/// The member ids of a Group body's `members` attribute.
pub fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a.as_slice(),
        other => std::slice::from_ref(other),
    };
    if items.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(too_many_members(items.len()));
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let id = item
            .get("value")
            .and_then(Value::as_str)
            .or_else(|| item.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "each member needs a non-empty \"value\" (a user id), got {item}"
                ))
            })?;
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// The values the store keeps index items for.
pub fn index_values(kind: ResourceKind, body: &Map<String, Value>) -> IndexValues {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let mut emails: Vec<String> = Vec::new();
    if kind == ResourceKind::User {
        for e in body
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = e.get("value").and_then(Value::as_str) {
                let v = super::filter::eval::fold_case(v);
                if !v.is_empty() && !emails.contains(&v) {
                    emails.push(v);
                }
            }
        }
    }
    IndexValues {
        user_name: (kind == ResourceKind::User)
            .then(|| text("userName"))
            .flatten(),
        display_name: (kind == ResourceKind::Group)
            .then(|| text("displayName"))
            .flatten(),
        external_id: text("externalId").filter(|s| !s.is_empty()),
        emails,
    }
}

/// The full SCIM 2.0 representation: body + `id` + `meta` (+ `groups`/`members` when given).
pub fn render(
    kind: ResourceKind,
    id: &str,
    body: &Map<String, Value>,
    meta: &Meta,
    location: &str,
    references: Option<Vec<Value>>,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "schemas".into(),
        body.get("schemas")
            .cloned()
            .unwrap_or_else(|| json!([kind.core().id])),
    );
    out.insert("id".into(), json!(id));
    for (k, v) in body {
        if k != "schemas" {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(refs) = references {
        let key = match kind {
            ResourceKind::User => "groups",
            ResourceKind::Group => "members",
        };
        if !refs.is_empty() {
            out.insert(key.into(), Value::Array(refs));
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": meta.created,
            "lastModified": meta.last_modified,
            "location": location,
            "version": meta.etag(),
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(v: Value) -> Result<Incoming, ScimError> {
        incoming(ResourceKind::User, &v)
    }

    #[test]
    fn password_and_read_only_attributes_are_dropped() {
        let got = user(json!({
            "userName": "a", "password": "s3cret", "id": "x", "meta": {"version": "1"},
            "groups": [{"value": "g"}]
        }))
        .unwrap();
        assert_eq!(
            Value::Object(got.body),
            json!({"schemas": [schema::CORE_USER], "userName": "a", "active": true})
        );
    }

    #[test]
    fn entra_string_booleans_are_coerced() {
        let got = user(json!({"userName": "a", "active": "False",
            "emails": [{"value": "a@x", "primary": "True"}]}))
        .unwrap();
        assert_eq!(got.body["active"], json!(false));
        assert_eq!(got.body["emails"][0]["primary"], json!(true));
    }

    #[test]
    fn non_boolean_string_for_active_is_invalid_value() {
        let err = user(json!({"userName": "a", "active": "maybe"})).unwrap_err();
        assert_eq!(
            err.scim_type,
            Some(super::super::error::ScimType::InvalidValue)
        );
    }

    #[test]
    fn attribute_names_are_canonicalised() {
        let got = user(json!({"USERNAME": "a", "Name": {"GivenName": "A"}})).unwrap();
        assert_eq!(got.body["userName"], json!("a"));
        assert_eq!(got.body["name"]["givenName"], json!("A"));
    }

    #[test]
    fn missing_user_name_is_rejected() {
        let err = user(json!({"displayName": "x"})).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("userName"));
    }

    #[test]
    fn unknown_extension_is_kept_and_listed() {
        let got = user(json!({
            "schemas": [schema::CORE_USER, "urn:example:custom:1.0"],
            "userName": "a", "urn:example:custom:1.0": {"tier": "gold"}
        }))
        .unwrap();
        assert_eq!(got.body["urn:example:custom:1.0"]["tier"], json!("gold"));
        assert_eq!(
            got.body["schemas"],
            json!([schema::CORE_USER, "urn:example:custom:1.0"])
        );
    }

    #[test]
    fn enterprise_extension_is_listed_when_present_and_manager_string_accepted() {
        let got =
            user(json!({"userName": "a", schema::ENTERPRISE_USER: {"manager": "m1"}})).unwrap();
        assert_eq!(
            got.body[schema::ENTERPRISE_USER]["manager"],
            json!({"value": "m1"})
        );
        assert_eq!(
            got.body["schemas"],
            json!([schema::CORE_USER, schema::ENTERPRISE_USER])
        );
    }

    #[test]
    fn group_members_are_extracted_not_stored() {
        let got = incoming(
            ResourceKind::Group,
            &json!({"displayName": "g", "members": [{"value": "u1"}, {"value": "u1"}, {"value": "u2"}]}),
        )
        .unwrap();
        assert!(!got.body.contains_key("members"));
        assert_eq!(got.members, Some(vec!["u1".to_string(), "u2".to_string()]));
    }

    #[test]
    fn index_values_fold_emails() {
        let got = user(json!({"userName": "A", "externalId": "E",
            "emails": [{"value": "A@X.com"}, {"value": "a@x.com"}]}))
        .unwrap();
        let idx = index_values(ResourceKind::User, &got.body);
        assert_eq!(idx.emails, vec!["a@x.com"]);
        assert_eq!(idx.external_id.as_deref(), Some("E"));
    }

    #[test]
    fn overlong_keyed_value_is_rejected() {
        let err = user(json!({"userName": "x".repeat(600)})).unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn render_adds_id_meta_and_etag() {
        let got = user(json!({"userName": "a"})).unwrap();
        let meta = Meta {
            created: "c".into(),
            last_modified: "m".into(),
            version: 3,
        };
        let out = render(
            ResourceKind::User,
            "id1",
            &got.body,
            &meta,
            "https://x/Users/id1",
            None,
        );
        assert_eq!(out["id"], json!("id1"));
        assert_eq!(out["meta"]["version"], json!("W/\"3\""));
        assert_eq!(out["meta"]["resourceType"], json!("User"));
    }
}
