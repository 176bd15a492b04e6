//! The PATCH engine (RFC 7644 §3.5.2): a request body becomes a typed [`PatchRequest`], and
//! [`apply`] turns it into a new resource body plus the membership changes the store must make.
//!
//! The RFC is the baseline; on top of it this accepts the dialects IdPs really send (each rule
//! below cites its source where it departs from the RFC):
//! - `op` in any case, path-less values with dotted and URN-qualified keys (Entra, including its
//!   `aadOptscim062020` mode), `"True"`/`"False"` strings for booleans, `manager` as a bare id;
//! - `add`/`replace` on `emails[type eq "work"].value` creates the element when none matches;
//! - read-only attributes in path-less values (`id`, `meta`, `groups`) are ignored when harmless.
//!
//! Group `members` are never written into the body: memberships are one store item per edge
//! (`store::members`: a 50,000-member list would not fit DynamoDB's 400 KB item), so every op
//! on `members` becomes a [`MemberChange`] and the store applies them in
//! order. `apply` is all-or-nothing: on error the resource is left exactly as it was.

mod edit;
mod members;

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::eval::{get_ci, key_ci};
use super::filter::lexer::clip;
use super::filter::AttrPath;
use super::path::{parse_path_lenient, PatchPath};
use super::schema::{AttrDef, Mutability, ResourceKind};
use edit::{put_ci, Edit};
use members::{check_members_path, member_change};

#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    pub ops: Vec<PatchOp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    /// Case-insensitive: Entra sends `Add`/`Replace`/`Remove` (Entra SCIM compatibility page).
    pub fn from_name(s: &str) -> Option<Self> {
        [OpKind::Add, OpKind::Replace, OpKind::Remove]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// Most operations one PATCH may carry, checked before any is parsed.
pub const MAX_OPERATIONS: usize = 1_000;

/// A change to a Group's membership, for the store to apply in order. Existence of the ids is
/// the store's business.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

impl PatchRequest {
    /// Parses a PatchOp body. `schemas` is not checked: clients omit it or list extra URNs, and
    /// the body's shape already says what it is. An empty `Operations` is valid (Microsoft's
    /// SCIM validator sends one) and changes nothing.
    pub fn parse(body: &Value, kind: ResourceKind) -> Result<Self, ScimError> {
        let Value::Object(body) = body else {
            return Err(ScimError::invalid_syntax(
                "a PATCH body must be a JSON object with an \"Operations\" array",
            ));
        };
        let Some(Value::Array(ops)) = get_ci(body, "Operations") else {
            return Err(ScimError::invalid_syntax(
                "\"Operations\" must be an array of operations (RFC 7644 §3.5.2)",
            ));
        };
        if ops.len() > MAX_OPERATIONS {
            return Err(ScimError::invalid_value(format!(
                "{} operations in one PATCH; at most {MAX_OPERATIONS}",
                ops.len()
            )));
        }
        let mut parsed = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            for op in expand_extension_path(op, kind) {
                parsed.push(parse_op(&op, kind).map_err(|e| at_op(i, e))?);
            }
        }
        Ok(PatchRequest { ops: parsed })
    }
}

/// A `path` that is a whole extension schema URN (scim2-tester sends
/// `"path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`): the extension is one
/// complex attribute stored under its URN (RFC 7643 §3.3), so add/replace merge the given
/// sub-attributes (RFC 7644 §3.5.2.1, §3.5.2.3) — the same as a path-less value keyed by the URN —
/// and remove clears every attribute of the extension (§3.5.2.2).
fn expand_extension_path(op: &Value, kind: ResourceKind) -> Vec<Value> {
    let ext = op
        .as_object()
        .and_then(|o| get_ci(o, "path"))
        .and_then(Value::as_str)
        .and_then(|p| kind.extension(p.trim()));
    let (Some(ext), Some(o)) = (ext, op.as_object()) else {
        return vec![op.clone()];
    };
    let name = get_ci(o, "op").and_then(Value::as_str).unwrap_or_default();
    if name.eq_ignore_ascii_case("remove") {
        return ext
            .attributes
            .iter()
            .map(|a| serde_json::json!({"op": "remove", "path": format!("{}:{}", ext.id, a.name)}))
            .collect();
    }
    let mut out = serde_json::Map::new();
    out.insert("op".into(), Value::String(name.to_string()));
    if let Some(v) = get_ci(o, "value") {
        // A client serialising the extension as a resource fragment includes its `schemas`.
        let mut v = v.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("schemas"));
        }
        out.insert("value".into(), serde_json::json!({ ext.id: v }));
    }
    vec![Value::Object(out)]
}

fn at_op(i: usize, e: ScimError) -> ScimError {
    ScimError {
        detail: format!("Operations[{i}]: {}", e.detail),
        ..e
    }
}

fn parse_op(op: &Value, kind: ResourceKind) -> Result<PatchOp, ScimError> {
    let Value::Object(o) = op else {
        return Err(ScimError::invalid_syntax(
            "an operation must be a JSON object",
        ));
    };
    let op_kind = match get_ci(o, "op") {
        Some(Value::String(s)) => OpKind::from_name(s).ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "unknown op {:?}; expected \"add\", \"replace\" or \"remove\"",
                clip(s)
            ))
        })?,
        _ => {
            return Err(ScimError::invalid_syntax(
                "\"op\" must be \"add\", \"replace\" or \"remove\"",
            ))
        }
    };
    let path = match get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_path_lenient(s, kind)?),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(o, "value").cloned();
    match (op_kind, &path, &value) {
        (OpKind::Remove, None, _) => {
            return Err(ScimError::no_target(
                "remove needs a \"path\" (RFC 7644 §3.5.2.2)",
            ))
        }
        (OpKind::Add | OpKind::Replace, _, None) => {
            return Err(ScimError::invalid_syntax(format!(
                "{} needs a \"value\"",
                op_kind.as_str()
            )))
        }
        (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => {
            return Err(pathless_not_object(op_kind))
        }
        _ => {}
    }
    if let Some(p) = &path {
        check_explicit_path(kind, op_kind, p)?;
    }
    Ok(PatchOp {
        op: op_kind,
        path,
        value,
    })
}

fn pathless_not_object(op: OpKind) -> ScimError {
    ScimError::invalid_value(format!(
        "without a \"path\", the value of {} must be an object of attributes (RFC 7644 §3.5.2)",
        op.as_str()
    ))
}

fn is_members(kind: ResourceKind, attr: &AttrPath) -> bool {
    kind == ResourceKind::Group && attr.urn.is_none() && attr.attr == "members"
}

/// The resource-independent rules for an explicit `path`: read-only and immutable targets are a
/// 400 mutability (RFC 7644 §3.5.2: "mutability"), and `members` paths must be ones the store can
/// carry out.
fn check_explicit_path(kind: ResourceKind, op: OpKind, p: &PatchPath) -> Result<(), ScimError> {
    if is_members(kind, &p.attr) {
        return check_members_path(op, p);
    }
    match target_mutability(kind, p) {
        Some(m @ (Mutability::ReadOnly | Mutability::Immutable)) => {
            Err(ScimError::mutability(format!(
                "\"{}\" is {} and cannot be changed",
                p.attr,
                if m == Mutability::ReadOnly {
                    "readOnly"
                } else {
                    "immutable"
                }
            )))
        }
        _ => Ok(()),
    }
}

/// The most restrictive mutability along the path (top attribute, then sub-attribute).
fn target_mutability(kind: ResourceKind, p: &PatchPath) -> Option<Mutability> {
    if p.is_unknown_extension(kind) {
        return None;
    }
    let urn = p.attr.urn.as_deref();
    let (_, top) = kind.resolve(urn, &p.attr.attr, None)?;
    if top.mutability != Mutability::ReadWrite {
        return Some(top.mutability);
    }
    let sub = p.target_sub()?;
    let (_, def) = kind.resolve(urn, &p.attr.attr, Some(sub))?;
    Some(def.mutability)
}

/// Applies the operations in order to `resource` (a JSON object). For Groups, `members` never
/// lives in `resource`: every op on members becomes a [`MemberChange`] (in order) instead.
/// On error `resource` is unchanged. The result never contains `password`.
pub fn apply(
    resource: &mut Value,
    req: &PatchRequest,
    kind: ResourceKind,
) -> Result<Vec<MemberChange>, ScimError> {
    let Value::Object(current) = resource else {
        // Resource bodies are ours, never client input: a non-object is a server bug.
        return Err(ScimError::internal());
    };
    let mut patcher = Patcher {
        doc: current.clone(),
        kind,
        changes: Vec::new(),
        declared: Vec::new(),
    };
    for (i, op) in req.ops.iter().enumerate() {
        patcher.apply_op(op).map_err(|e| at_op(i, e))?;
    }
    patcher.finish();
    *resource = Value::Object(patcher.doc);
    Ok(patcher.changes)
}

struct Patcher {
    doc: Map<String, Value>,
    kind: ResourceKind,
    changes: Vec<MemberChange>,
    /// URNs the path-less value being applied lists in its own `schemas`.
    declared: Vec<String>,
}

/// Where an op writes: the container (`None` = the resource itself, else the extension URN key)
/// and the top-level attribute in it. `def` is None under an extension the schema does not know.
pub(super) struct Target {
    pub(super) urn: Option<String>,
    pub(super) name: String,
    pub(super) def: Option<&'static AttrDef>,
}

impl Patcher {
    fn apply_op(&mut self, op: &PatchOp) -> Result<(), ScimError> {
        match (&op.path, op.op) {
            (Some(path), _) => {
                check_explicit_path(self.kind, op.op, path)?;
                self.apply_path(op.op, path, op.value.as_ref())
            }
            (None, OpKind::Remove) => Err(ScimError::no_target(
                "remove needs a \"path\" (RFC 7644 §3.5.2.2)",
            )),
            (None, _) => match &op.value {
                Some(Value::Object(attrs)) => {
                    // A path-less value may declare its own extensions in `schemas`.
                    self.declared = match get_ci(attrs, "schemas") {
                        Some(Value::Array(urns)) => urns
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                        _ => Vec::new(),
                    };
                    let result = attrs
                        .iter()
                        .try_for_each(|(key, v)| self.apply_pathless_attr(op.op, key, v));
                    self.declared.clear();
                    result
                }
                _ => Err(pathless_not_object(op.op)),
            },
        }
    }

    /// One key of a path-less add/replace value, applied as if it were the path (RFC 7644
    /// §3.5.2.1/§3.5.2.3). Keys may be dotted or URN-qualified — Entra's `aadOptscim062020` mode
    /// sends `{"name.givenName": ..., "urn:...:enterprise:2.0:User:employeeNumber": ...}` — or a
    /// whole extension URN whose object value is merged attribute by attribute.
    fn apply_pathless_attr(&mut self, op: OpKind, key: &str, v: &Value) -> Result<(), ScimError> {
        // A full resource representation, as Okta sends for a group rename, carries these.
        if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
            return Ok(());
        }
        if key.eq_ignore_ascii_case("id") {
            return self.check_same_id(v);
        }
        if let Some(urn) = self.whole_schema_key(key) {
            return self.apply_schema_object(op, &urn, v);
        }
        let path = parse_path_lenient(key, self.kind)?;
        // RFC 7643 §2.2: readOnly values sent by a client "SHALL be ignored" (`groups` on a
        // User, `manager.displayName`); only an explicit path to them is an error.
        if matches!(
            target_mutability(self.kind, &path),
            Some(Mutability::ReadOnly | Mutability::Immutable)
        ) {
            return Ok(());
        }
        self.apply_path(op, &path, Some(v))
    }

    /// `id` in a path-less value is harmless when it is the resource's own id (Okta's group
    /// rename sends `{"id": ..., "displayName": ...}`); any other id would be a change.
    fn check_same_id(&self, v: &Value) -> Result<(), ScimError> {
        let current = get_ci(&self.doc, "id").and_then(Value::as_str);
        match (current, v.as_str()) {
            (Some(cur), Some(new)) if cur == new => Ok(()),
            _ => Err(ScimError::mutability(
                "\"id\" is readOnly and cannot be changed",
            )),
        }
    }

    /// If `key` is a whole schema URN (a known extension, the core schema, or an unknown URN the
    /// resource lists in `schemas`), its canonical spelling.
    fn whole_schema_key(&self, key: &str) -> Option<String> {
        if let Some(ext) = self.kind.extension(key) {
            return Some(ext.id.to_owned());
        }
        if key.eq_ignore_ascii_case(self.kind.core().id) {
            return Some(self.kind.core().id.to_owned());
        }
        self.listed_schema(key)
    }

    /// The spelling under which the resource's `schemas` (or the `schemas` of the path-less
    /// value being applied) lists `urn`, if either does.
    fn listed_schema(&self, urn: &str) -> Option<String> {
        let stored = match get_ci(&self.doc, "schemas") {
            Some(Value::Array(schemas)) => schemas.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        stored
            .into_iter()
            .chain(self.declared.iter().map(String::as_str))
            .find(|s| s.eq_ignore_ascii_case(urn))
            .map(str::to_owned)
    }

    /// Adds `urn` to the resource's `schemas` if it is not listed there yet (RFC 7643 §3: the
    /// schemas array names every extension the resource carries).
    fn declare_schema(&mut self, urn: &str) {
        if let Some(Value::Array(schemas)) =
            key_ci(&self.doc, "schemas").and_then(|k| self.doc.get_mut(&k))
        {
            let listed = schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
            if !listed {
                schemas.push(Value::String(urn.to_owned()));
            }
        }
    }

    fn apply_schema_object(&mut self, op: OpKind, urn: &str, v: &Value) -> Result<(), ScimError> {
        match v {
            Value::Object(attrs) => {
                for (k, sv) in attrs {
                    self.apply_pathless_attr(op, &format!("{urn}:{k}"), sv)?;
                }
                Ok(())
            }
            Value::Null if op == OpKind::Replace && urn != self.kind.core().id => {
                if let Some(k) = key_ci(&self.doc, urn) {
                    self.doc.shift_remove(&k);
                }
                Ok(())
            }
            Value::Null => Ok(()),
            _ => Err(ScimError::invalid_value(format!(
                "the value of \"{urn}\" must be an object of its attributes"
            ))),
        }
    }

    fn apply_path(
        &mut self,
        op: OpKind,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if is_members(self.kind, &path.attr) {
            let change = member_change(op, path, value)?;
            self.changes.extend(change);
            return Ok(());
        }
        let target = if path.is_unknown_extension(self.kind) {
            // Unknown extension URNs are kept when the resource declares them: IdPs send their
            // tenants' custom extensions, and dropping the data would surprise the app.
            let urn = path.attr.urn.as_deref().unwrap_or_default();
            let listed = self.listed_schema(urn).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "unknown attribute \"{}\"",
                    clip(&path.attr.to_string())
                ))
            })?;
            if op != OpKind::Remove {
                self.declare_schema(&listed);
            }
            Target {
                urn: Some(listed),
                name: path.attr.attr.clone(),
                def: None,
            }
        } else {
            let (_, top) = self
                .kind
                .resolve(path.attr.urn.as_deref(), &path.attr.attr, None)
                .ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "unknown attribute \"{}\"",
                        clip(&path.attr.to_string())
                    ))
                })?;
            if top.mutability == Mutability::WriteOnly {
                // `password`: accepted so IdPs that push it succeed, never stored
                // (RFC 7643 §4.1.1: `password` is writeOnly, never returned; we keep no copy at all).
                return Ok(());
            }
            Target {
                urn: path.attr.urn.clone(),
                name: top.name.to_owned(),
                def: Some(top),
            }
        };
        let edit = Edit {
            op,
            target: &target,
            filter: path.filter.as_ref(),
            sub: path.target_sub(),
            value,
            kind: self.kind,
        };
        self.with_container(target.urn.as_deref(), op != OpKind::Remove, |c| {
            let old = get_ci(c, &target.name).cloned();
            let new = edit.run(old)?;
            put_ci(c, &target.name, new);
            Ok(())
        })
    }

    /// Runs `f` on the object that holds the target: the resource, or the extension object
    /// under `urn` (created when `create`, removed when left empty).
    fn with_container(
        &mut self,
        urn: Option<&str>,
        create: bool,
        f: impl FnOnce(&mut Map<String, Value>) -> Result<(), ScimError>,
    ) -> Result<(), ScimError> {
        let Some(urn) = urn else {
            return f(&mut self.doc);
        };
        let mut container = match get_ci(&self.doc, urn) {
            Some(Value::Object(m)) => m.clone(),
            _ if create => Map::new(),
            _ => return Ok(()),
        };
        f(&mut container)?;
        let new = (!container.is_empty()).then_some(Value::Object(container));
        put_ci(&mut self.doc, urn, new);
        Ok(())
    }

    fn finish(&mut self) {
        // `password` is accepted and never stored, whatever path brought it in (RFC 7643 §4.1.1:
        // writeOnly; we keep no copy at all).
        while let Some(k) = key_ci(&self.doc, "password") {
            self.doc.shift_remove(&k);
        }
        // A known extension the resource now carries must be declared in `schemas`.
        for ext in self.kind.extensions() {
            if matches!(get_ci(&self.doc, ext.id), Some(Value::Object(m)) if !m.is_empty()) {
                self.declare_schema(ext.id);
            }
        }
    }
}

#[cfg(test)]
mod tests;
