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
//! (DESIGN), so every op on `members` becomes a [`MemberChange`] and the store applies them in
//! order. `apply` is all-or-nothing: on error the resource is left exactly as it was.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::eval::{get_ci, key_ci};
use super::filter::{matches_element, AttrPath, CompareOp, Filter};
use super::path::{parse_path_lenient, PatchPath};
use super::schema::{find, AttrDef, AttrType, Mutability, ResourceKind};

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
        let ops = ops
            .iter()
            .enumerate()
            .map(|(i, op)| parse_op(op, kind).map_err(|e| at_op(i, e)))
            .collect::<Result<_, _>>()?;
        Ok(PatchRequest { ops })
    }
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
                "unknown op {s:?}; expected \"add\", \"replace\" or \"remove\""
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
}

/// Where an op writes: the container (`None` = the resource itself, else the extension URN key)
/// and the top-level attribute in it. `def` is None under an extension the schema does not know.
struct Target {
    urn: Option<String>,
    name: String,
    def: Option<&'static AttrDef>,
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
                    for (key, v) in attrs {
                        self.apply_pathless_attr(op.op, key, v)?;
                    }
                    Ok(())
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
        ) && !is_members(self.kind, &path.attr)
        {
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

    /// The spelling under which the resource's `schemas` lists `urn`, if it does.
    fn listed_schema(&self, urn: &str) -> Option<String> {
        let Some(Value::Array(schemas)) = get_ci(&self.doc, "schemas") else {
            return None;
        };
        schemas
            .iter()
            .filter_map(Value::as_str)
            .find(|s| s.eq_ignore_ascii_case(urn))
            .map(str::to_owned)
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
                ScimError::invalid_path(format!("unknown attribute \"{}\"", path.attr))
            })?;
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
                    ScimError::invalid_path(format!("unknown attribute \"{}\"", path.attr))
                })?;
            if top.mutability == Mutability::WriteOnly {
                // `password`: accepted so IdPs that push it succeed, never stored (DESIGN).
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
        // DESIGN: password is accepted and never stored, whatever path brought it in.
        while let Some(k) = key_ci(&self.doc, "password") {
            self.doc.shift_remove(&k);
        }
        // A known extension written by this PATCH must be declared in `schemas` (RFC 7643 §3).
        let present: Vec<&str> = self
            .kind
            .extensions()
            .iter()
            .map(|e| e.id)
            .filter(|urn| matches!(get_ci(&self.doc, urn), Some(Value::Object(m)) if !m.is_empty()))
            .collect();
        if let Some(Value::Array(schemas)) =
            key_ci(&self.doc, "schemas").and_then(|k| self.doc.get_mut(&k))
        {
            for urn in present {
                let listed = schemas
                    .iter()
                    .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
                if !listed {
                    schemas.push(Value::String(urn.to_owned()));
                }
            }
        }
    }
}

/// Sets (`Some`) or removes (`None`) `key`, replacing any differently-cased spelling of it.
fn put_ci(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(existing) = key_ci(map, key) {
        if existing != key || value.is_none() {
            map.shift_remove(&existing);
        }
    }
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

/// One add/replace/remove on one attribute: computes its new value from the old.
struct Edit<'a> {
    op: OpKind,
    target: &'a Target,
    filter: Option<&'a Filter>,
    sub: Option<&'a str>,
    value: Option<&'a Value>,
    kind: ResourceKind,
}

impl Edit<'_> {
    fn name(&self) -> &str {
        &self.target.name
    }

    fn def(&self) -> Option<&'static AttrDef> {
        self.target.def
    }

    fn value(&self) -> Value {
        self.value.cloned().unwrap_or(Value::Null)
    }

    fn sub_def(&self) -> Option<&'static AttrDef> {
        self.def().zip(self.sub).and_then(|(d, s)| find(d.sub, s))
    }

    fn multi(&self, old: &Option<Value>) -> bool {
        match self.def() {
            Some(d) => d.multi,
            None => matches!(old, Some(Value::Array(_))),
        }
    }

    fn run(&self, old: Option<Value>) -> Result<Option<Value>, ScimError> {
        match (self.filter, self.sub) {
            (None, None) => self.whole(old),
            (None, Some(sub)) => self.sub_attribute(old, sub),
            (Some(filter), _) => self.filtered(old, filter),
        }
    }

    /// `path: "emails"`, `"active"`, `"name"`, `"urn:...:manager"` (RFC 7644 §3.5.2.1-3).
    fn whole(&self, old: Option<Value>) -> Result<Option<Value>, ScimError> {
        let multi = self.multi(&old);
        if self.op == OpKind::Remove {
            return Ok(match self.value {
                // Entra's `{"op":"Remove","path":"members","value":[{"value":"id"}]}` shape,
                // honoured for every multi-valued attribute: remove only the listed values.
                Some(v) if multi && !v.is_null() => remove_listed(old, v),
                _ => None,
            });
        }
        let v = coerce_attr(self.def(), self.value(), self.name())?;
        if is_unassigned(&v) {
            // RFC 7643 §2.5: null and [] mean "unassigned": replace clears, add adds nothing.
            return Ok(if self.op == OpKind::Replace {
                None
            } else {
                old
            });
        }
        if multi {
            let incoming = match v {
                Value::Array(items) => items,
                other => vec![other],
            };
            let mut items = match (self.op, old) {
                (OpKind::Add, Some(Value::Array(items))) => items,
                (OpKind::Add, Some(other)) if !other.is_null() => vec![other],
                _ => Vec::new(),
            };
            let mut touched = Vec::new();
            for item in incoming {
                // RFC 7644 §3.5.2.1: values already present are not added twice.
                match items.iter().position(|x| *x == item) {
                    Some(i) => touched.push(i),
                    None => {
                        items.push(item);
                        touched.push(items.len() - 1);
                    }
                }
            }
            enforce_single_primary(self.def(), &mut items, &touched);
            return Ok(non_empty_array(items));
        }
        match (self.def(), v) {
            // RFC 7644 §3.5.2.1/3: a complex value updates the sub-attributes it names and leaves
            // the others. A reference (manager) is replaced whole instead: its `displayName` and
            // `$ref` describe the old `value` and must not outlive it.
            (Some(d), Value::Object(incoming)) if d.ty == AttrType::Complex && !is_reference(d) => {
                let mut obj = match old {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                for (k, sv) in incoming {
                    let sv = (!sv.is_null()).then_some(sv);
                    put_ci(&mut obj, &k, sv);
                }
                Ok(non_empty_object(obj))
            }
            (_, v) => Ok(Some(v)),
        }
    }

    /// `path: "name.givenName"`, `"urn:...:manager.value"`, or `"emails.value"` (no filter).
    fn sub_attribute(&self, old: Option<Value>, sub: &str) -> Result<Option<Value>, ScimError> {
        let new_sub = match self.op {
            OpKind::Remove => None,
            _ => {
                let v = coerce_sub(self.sub_def(), self.value(), self.name(), sub)?;
                (!v.is_null()).then_some(v)
            }
        };
        if self.multi(&old) {
            let mut items = match old {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            if items.is_empty() {
                if let Some(v) = new_sub {
                    let mut el = Map::new();
                    el.insert(sub.to_owned(), v);
                    items.push(Value::Object(el));
                }
            } else {
                for item in items.iter_mut() {
                    if let Value::Object(o) = item {
                        put_ci(o, sub, new_sub.clone());
                    }
                }
                drop_empty_elements(&mut items);
            }
            return Ok(non_empty_array(items));
        }
        // An empty `manager.value` clears the manager (Entra clears it with an empty value).
        if self.op != OpKind::Remove
            && new_sub.as_ref().is_none_or(is_blank)
            && sub == "value"
            && self.def().is_some_and(is_reference)
        {
            return Ok(None);
        }
        let mut obj = match old {
            Some(Value::Object(o)) => o,
            _ => Map::new(),
        };
        put_ci(&mut obj, sub, new_sub);
        Ok(non_empty_object(obj))
    }

    /// `path: "emails[type eq \"work\"]"` or `"emails[type eq \"work\"].value"`.
    fn filtered(&self, old: Option<Value>, filter: &Filter) -> Result<Option<Value>, ScimError> {
        let single = matches!(old, Some(Value::Object(_))) && !self.multi(&old);
        let mut items = match old {
            Some(Value::Array(items)) => items,
            Some(o @ Value::Object(_)) => vec![o],
            _ => Vec::new(),
        };
        let parent = AttrPath {
            urn: self.target.urn.clone(),
            attr: self.target.name.clone(),
            sub: None,
        };
        let matched: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_object() && matches_element(filter, e, self.kind, &parent))
            .map(|(i, _)| i)
            .collect();

        let mut touched = matched.clone();
        match (self.op, self.sub) {
            (OpKind::Remove, None) => remove_indices(&mut items, &matched),
            (OpKind::Remove, Some(sub)) => {
                for &i in &matched {
                    if let Some(Value::Object(o)) = items.get_mut(i) {
                        put_ci(o, sub, None);
                    }
                }
                drop_empty_elements(&mut items);
            }
            (_, None) => {
                let v = coerce_element(self.def(), self.value(), self.name())?;
                let Value::Object(incoming) = v else {
                    // null: nothing to add; replace with nothing removes the matches.
                    if self.op == OpKind::Replace {
                        remove_indices(&mut items, &matched);
                    }
                    return Ok(self.rebuild(items, single));
                };
                if matched.is_empty() {
                    let mut el = self.element_from_filter(filter)?;
                    for (k, sv) in incoming {
                        put_ci(&mut el, &k, (!sv.is_null()).then_some(sv));
                    }
                    items.push(Value::Object(el));
                    touched = vec![items.len() - 1];
                } else {
                    for &i in &matched {
                        if let Some(Value::Object(o)) = items.get_mut(i) {
                            for (k, sv) in &incoming {
                                put_ci(o, k, (!sv.is_null()).then(|| sv.clone()));
                            }
                        }
                    }
                }
            }
            (_, Some(sub)) => {
                let v = coerce_sub(self.sub_def(), self.value(), self.name(), sub)?;
                let v = (!v.is_null()).then_some(v);
                if matched.is_empty() {
                    let Some(v) = v else {
                        return Ok(self.rebuild(items, single));
                    };
                    // Entra sends `add emails[type eq "work"].value` for a user with no work
                    // email, and Microsoft's answer is to create the element (Microsoft Q&A
                    // 120490, "Patch request in SCIM with Azure AD"); Entra does the same with
                    // `replace`. The filter's eq constraints become the new element's values.
                    let mut el = self.element_from_filter(filter)?;
                    put_ci(&mut el, sub, Some(v));
                    items.push(Value::Object(el));
                    touched = vec![items.len() - 1];
                } else {
                    for &i in &matched {
                        if let Some(Value::Object(o)) = items.get_mut(i) {
                            put_ci(o, sub, v.clone());
                        }
                    }
                    drop_empty_elements(&mut items);
                }
            }
        }
        if self.op != OpKind::Remove {
            enforce_single_primary(self.def(), &mut items, &touched);
        }
        Ok(self.rebuild(items, single))
    }

    fn rebuild(&self, items: Vec<Value>, single: bool) -> Option<Value> {
        if single {
            items.into_iter().next().and_then(|v| match v {
                Value::Object(o) => non_empty_object(o),
                _ => None,
            })
        } else {
            non_empty_array(items)
        }
    }

    /// The element an unmatched `[a eq x and b eq y]` filter describes. RFC 7644 §3.5.2.3
    /// makes an unmatched filter `noTarget`; creating is only sound when the filter pins the
    /// element down by equality, so anything else still is noTarget.
    fn element_from_filter(&self, filter: &Filter) -> Result<Map<String, Value>, ScimError> {
        let mut pairs = Vec::new();
        if !eq_constraints(filter, &mut pairs) {
            return Err(ScimError::no_target(format!(
                "no value of \"{}\" matches [{filter}]",
                self.name()
            )));
        }
        let mut el = Map::new();
        for (k, v) in pairs {
            el.insert(k, v);
        }
        match coerce_element(self.def(), Value::Object(el), self.name())? {
            Value::Object(o) => Ok(o),
            _ => Ok(Map::new()),
        }
    }
}

/// Collects the `sub eq value` pairs of a filter that is only such comparisons joined by `and`.
fn eq_constraints(f: &Filter, out: &mut Vec<(String, Value)>) -> bool {
    match f {
        Filter::And(a, b) => eq_constraints(a, out) && eq_constraints(b, out),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() && !value.is_null() => {
            out.push((path.attr.clone(), value.clone()));
            true
        }
        _ => false,
    }
}

fn remove_indices(items: &mut Vec<Value>, indices: &[usize]) {
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        !indices.contains(&(i - 1))
    });
}

/// Removes the elements of `old` that `listed` names: elements with a `value` match on it
/// (that is how SCIM identifies a multi-valued element), others on equality.
fn remove_listed(old: Option<Value>, listed: &Value) -> Option<Value> {
    let listed: Vec<&Value> = match listed {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let Some(Value::Array(mut items)) = old else {
        return old;
    };
    let same = |a: &Value, b: &Value| match (a, b) {
        (Value::Object(x), Value::Object(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(xv), Some(yv)) => xv == yv,
            _ => a == b,
        },
        _ => a == b,
    };
    items.retain(|item| !listed.iter().any(|l| same(item, l)));
    non_empty_array(items)
}

/// RFC 7643 §2.4: "primary" is true for at most one value. When an op sets it on a value, the
/// value the op touched last keeps it and the others are set to false.
fn enforce_single_primary(def: Option<&AttrDef>, items: &mut [Value], touched: &[usize]) {
    let Some(primary) = def.and_then(|d| find(d.sub, "primary")) else {
        return;
    };
    let is_primary =
        |v: &Value| v.as_object().and_then(|o| get_ci(o, primary.name)) == Some(&Value::Bool(true));
    let primaries: Vec<usize> = (0..items.len())
        .filter(|&i| is_primary(&items[i]))
        .collect();
    if primaries.len() < 2 {
        return;
    }
    let keep = touched
        .iter()
        .rev()
        .find(|i| primaries.contains(i))
        .or(primaries.last())
        .copied();
    for i in primaries {
        if Some(i) != keep {
            if let Some(Value::Object(o)) = items.get_mut(i) {
                put_ci(o, primary.name, Some(Value::Bool(false)));
            }
        }
    }
}

fn drop_empty_elements(items: &mut Vec<Value>) {
    items.retain(|v| !matches!(v, Value::Object(o) if o.is_empty()));
}

fn non_empty_array(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

fn non_empty_object(obj: Map<String, Value>) -> Option<Value> {
    (!obj.is_empty()).then_some(Value::Object(obj))
}

/// RFC 7643 §2.5: null and the empty array are "unassigned".
fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A single-valued complex attribute with a `value` sub-attribute refers to another resource
/// (enterprise `manager`): it is set whole, and may be given as the bare id.
fn is_reference(d: &AttrDef) -> bool {
    d.ty == AttrType::Complex && !d.multi && find(d.sub, "value").is_some()
}

fn bool_str(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Brings an incoming value into the schema's shape: booleans from Entra's `"True"`/`"False"`,
/// a bare id for a reference, one object for a multi-valued attribute, canonical sub-attribute
/// names, read-only sub-attributes dropped (RFC 7643 §2.2: ignored). `def` None (unknown
/// extension): kept as sent.
fn coerce_attr(def: Option<&AttrDef>, v: Value, name: &str) -> Result<Value, ScimError> {
    let Some(d) = def else {
        return Ok(v);
    };
    if !d.multi {
        return coerce_value(d, v, name);
    }
    let items = match v {
        Value::Null => return Ok(Value::Null),
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let item = coerce_value(d, item, name)?;
        if !item.is_null() {
            out.push(item);
        }
    }
    Ok(Value::Array(out))
}

/// One element of a multi-valued complex attribute (`emails[...]` values, filter-built elements).
fn coerce_element(def: Option<&AttrDef>, v: Value, name: &str) -> Result<Value, ScimError> {
    match (def, v) {
        (_, Value::Null) => Ok(Value::Null),
        (Some(d), v) => coerce_value(d, v, name),
        (None, v @ Value::Object(_)) => Ok(v),
        (None, _) => Err(ScimError::invalid_value(format!(
            "the value for \"{name}[...]\" must be an object"
        ))),
    }
}

fn coerce_sub(
    sub_def: Option<&AttrDef>,
    v: Value,
    name: &str,
    sub: &str,
) -> Result<Value, ScimError> {
    match sub_def {
        Some(d) => coerce_value(d, v, &format!("{name}.{sub}")),
        None => Ok(v),
    }
}

/// One value of attribute `d` (one element, if `d` is multi-valued).
fn coerce_value(d: &AttrDef, v: Value, name: &str) -> Result<Value, ScimError> {
    if v.is_null() {
        return Ok(v);
    }
    match d.ty {
        AttrType::Complex => {
            let v = match v {
                // Entra: `{"op":"Add","path":"...:manager","value":"<id>"}`.
                Value::String(id) if is_reference(d) => {
                    if id.is_empty() {
                        return Ok(Value::Null);
                    }
                    let mut m = Map::new();
                    m.insert("value".to_owned(), Value::String(id));
                    Value::Object(m)
                }
                v => v,
            };
            let Value::Object(m) = v else {
                return Err(ScimError::invalid_value(format!(
                    "\"{name}\" is a complex attribute; its value must be an object, not {}",
                    json_kind(&v)
                )));
            };
            let mut out = Map::new();
            for (k, sv) in m {
                match find(d.sub, &k) {
                    Some(sd) if sd.mutability == Mutability::ReadOnly => {}
                    Some(sd) => {
                        let sv = coerce_value(sd, sv, &format!("{name}.{}", sd.name))?;
                        out.insert(sd.name.to_owned(), sv);
                    }
                    // Sub-attributes the schema does not name are kept as sent (lenient).
                    None => {
                        out.insert(k, sv);
                    }
                }
            }
            // An empty reference (`{"value": ""}`) means "no manager".
            if is_reference(d) && get_ci(&out, "value").is_none_or(is_blank) {
                return Ok(Value::Null);
            }
            Ok(Value::Object(out))
        }
        // Entra sends `"True"`/`"False"` for `active` and `primary` (Entra SCIM compatibility
        // page); anything else for a boolean is a client error, not something to store.
        AttrType::Boolean => match &v {
            Value::Bool(_) => Ok(v),
            Value::String(s) => bool_str(s).map(Value::Bool).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "\"{name}\" is a boolean; {v} is not true or false"
                ))
            }),
            _ => Err(ScimError::invalid_value(format!(
                "\"{name}\" is a boolean; {v} is not true or false"
            ))),
        },
        _ => match v {
            Value::Array(_) | Value::Object(_) => Err(ScimError::invalid_value(format!(
                "\"{name}\" takes a single value, not {}",
                json_kind(&v)
            ))),
            v => Ok(v),
        },
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What an op on Group `members` asks of the store. RFC 7644 §3.5.2 plus the IdPs' shapes:
/// Okta replaces the full list and removes with `members[value eq "id"]`; Entra removes with
/// `{"path":"members","value":[{"value":"id"}]}` (Entra SCIM tutorial, group PATCH examples).
fn member_change(
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<Option<MemberChange>, ScimError> {
    check_members_path(op, path)?;
    if let Some(f) = &path.filter {
        return Ok(Some(MemberChange::Remove(member_filter_ids(f)?)));
    }
    Ok(match (op, value) {
        (OpKind::Remove, None | Some(Value::Null)) => Some(MemberChange::RemoveAll),
        (OpKind::Remove, Some(v)) => {
            let ids = member_ids(v)?;
            (!ids.is_empty()).then_some(MemberChange::Remove(ids))
        }
        (OpKind::Add, v) => {
            let ids = member_ids(v.unwrap_or(&Value::Null))?;
            (!ids.is_empty()).then_some(MemberChange::Add(ids))
        }
        (OpKind::Replace, None | Some(Value::Null)) => Some(MemberChange::RemoveAll),
        (OpKind::Replace, Some(v)) => Some(MemberChange::Replace(member_ids(v)?)),
    })
}

fn check_members_path(op: OpKind, path: &PatchPath) -> Result<(), ScimError> {
    if let Some(sub) = path.target_sub() {
        return Err(ScimError::invalid_path(format!(
            "\"members.{sub}\" cannot be patched; add or remove whole members"
        )));
    }
    if let Some(f) = &path.filter {
        if op != OpKind::Remove {
            return Err(ScimError::invalid_path(format!(
                "{} cannot target members[...]; {} \"members\" with a list of {{\"value\": id}}",
                op.as_str(),
                op.as_str()
            )));
        }
        member_filter_ids(f)?;
    }
    Ok(())
}

/// Ids from `[{"value": id}, ...]`, one such object, or bare id strings (lenient).
fn member_ids(v: &Value) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut ids: Vec<String> = Vec::new();
    for item in items {
        let id = match item {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
            _ => None,
        };
        match id {
            Some(id) if !id.is_empty() => {
                if !ids.iter().any(|x| x == id) {
                    ids.push(id.to_owned());
                }
            }
            _ => {
                return Err(ScimError::invalid_value(
                    "each member needs a non-empty string \"value\": the member's id",
                ))
            }
        }
    }
    Ok(ids)
}

/// `members[value eq "a"]` or `members[value eq "a" or value eq "b"]`: the ids to remove.
/// Anything else would need the store to evaluate a filter over memberships, which it cannot.
fn member_filter_ids(f: &Filter) -> Result<Vec<String>, ScimError> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(id),
        } if path.attr == "value" && path.urn.is_none() && path.sub.is_none() => {
            if id.is_empty() {
                return Err(ScimError::invalid_value("a member id cannot be empty"));
            }
            Ok(vec![id.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = member_filter_ids(a)?;
            for id in member_filter_ids(b)? {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(ids)
        }
        _ => Err(ScimError::invalid_filter(format!(
            "members can only be selected by value eq \"<id>\" (or several joined by or), not [{f}]"
        ))),
    }
}

#[cfg(test)]
mod tests;
