//! Checks attribute names against the schema table and rewrites them to canonical spelling.
//!
//! RFC 7643 §2.1 makes attribute names case-insensitive, so `USERNAME`, `name.FamilyName`
//! (Microsoft) and `urn:ietf:params:scim:schemas:core:2.0:User:userName` all mean `userName`.
//! Resolving once, right after parsing, means nothing downstream (evaluation, the index planner,
//! PATCH) compares names case-insensitively or strips URNs again. The rules that need an
//! attribute's type — no `gt` on booleans, dateTime literals must be dateTimes — are checked here
//! too, because this is where the type is known.

use serde_json::Value;

use super::datetime::parse_rfc3339;
use super::lexer::clip;
use super::{AttrPath, CompareOp, Filter};
use crate::scim::schema::{find, AttrDef, AttrType, ResourceKind};

/// A name resolved against the schema: the canonical path and the definitions it points at.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The top-level attribute (`emails` for `emails.value`).
    pub top: &'static AttrDef,
    /// The attribute the path ends at (`value` for `emails.value`, else `top`).
    pub leaf: &'static AttrDef,
}

/// Resolves a path as written to its canonical form. `None` if the schema does not know it.
///
/// Beyond `ResourceKind::resolve`: an extension URN only admits that extension's own attributes
/// (the table would otherwise accept `urn:...:enterprise:2.0:User:id` via the common attributes),
/// and an unqualified name that no core attribute has but exactly one extension does resolves to
/// that extension — lenient, and unambiguous by construction.
pub fn canonical(kind: ResourceKind, path: &AttrPath) -> Option<(AttrPath, Resolved)> {
    let urn = path.urn.as_deref();
    let (schema, top) = match kind.resolve(urn, &path.attr, None) {
        Some((Some(ext), top)) => {
            find(ext.attributes, &path.attr)?;
            (Some(ext), top)
        }
        Some(found) => found,
        None if urn.is_none() => {
            let mut hits = kind
                .extensions()
                .iter()
                .filter_map(|ext| find(ext.attributes, &path.attr).map(|a| (Some(*ext), a)));
            let hit = hits.next()?;
            if hits.next().is_some() {
                return None;
            }
            hit
        }
        None => return None,
    };
    let leaf = match &path.sub {
        None => top,
        Some(s) => find(top.sub, s)?,
    };
    Some((
        AttrPath {
            urn: schema.map(|s| s.id.to_owned()),
            attr: top.name.to_owned(),
            sub: path.sub.as_ref().map(|_| leaf.name.to_owned()),
        },
        Resolved { top, leaf },
    ))
}

/// Resolves a name used inside `parent[...]`: a bare sub-attribute name of `parent`.
pub fn canonical_sub(
    kind: ResourceKind,
    parent: &AttrPath,
    inner: &AttrPath,
) -> Option<(AttrPath, &'static AttrDef)> {
    if inner.urn.is_some() || inner.sub.is_some() {
        return None;
    }
    let (_, def) = kind.resolve(parent.urn.as_deref(), &parent.attr, Some(&inner.attr))?;
    Some((AttrPath::new(def.name), def))
}

/// Where a path is being resolved: the resource itself, or one element inside `parent[...]`.
enum Scope<'a> {
    Resource,
    Element(&'a AttrPath),
}

/// Resolves every name of a parsed filter; the error is the detail of a 400 `invalidFilter`.
pub fn resolve_filter(mut f: Filter, kind: ResourceKind) -> Result<Filter, String> {
    resolve_in(&mut f, kind, &Scope::Resource)?;
    Ok(f)
}

/// Resolves the filter of a PATCH value path (`emails[type eq "work"]`), relative to `parent`.
pub fn resolve_element_filter(
    mut f: Filter,
    kind: ResourceKind,
    parent: &AttrPath,
) -> Result<Filter, String> {
    resolve_in(&mut f, kind, &Scope::Element(parent))?;
    Ok(f)
}

/// Walks the tree in place. Kept tiny on purpose: it recurses once per `and`/`or`, so its stack
/// frame is multiplied by the filter's length; the real work happens in non-recursive helpers.
fn resolve_in(f: &mut Filter, kind: ResourceKind, scope: &Scope) -> Result<(), String> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            resolve_in(a, kind, scope)?;
            resolve_in(b, kind, scope)
        }
        Filter::Not(a) => resolve_in(a, kind, scope),
        Filter::ValuePath { .. } => resolve_value_path(f, kind, scope),
        Filter::Compare { .. } | Filter::Present(_) => resolve_leaf(f, kind, scope),
    }
}

#[inline(never)]
fn resolve_leaf(f: &mut Filter, kind: ResourceKind, scope: &Scope) -> Result<(), String> {
    match f {
        Filter::Compare { path, op, value } => {
            let (canon, leaf) = resolve_operand(kind, scope, path, true)?;
            check_comparison(&canon, leaf, *op, value)?;
            *path = canon;
        }
        Filter::Present(path) => *path = resolve_operand(kind, scope, path, false)?.0,
        _ => {}
    }
    Ok(())
}

#[inline(never)]
fn resolve_value_path(f: &mut Filter, kind: ResourceKind, scope: &Scope) -> Result<(), String> {
    let Filter::ValuePath { path, filter } = f else {
        return Ok(());
    };
    if let Scope::Element(_) = scope {
        // The parser already refuses this; kept so a hand-built AST cannot slip through.
        return Err(format!("\"{path}\": a [filter] cannot be nested"));
    }
    let (canon, r) = canonical(kind, path).ok_or_else(|| unknown(path))?;
    if r.top.ty != AttrType::Complex || canon.sub.is_some() {
        return Err(format!(
            "\"{canon}\" has no sub-attributes, so it cannot take a [filter]"
        ));
    }
    resolve_in(filter, kind, &Scope::Element(&canon))?;
    *path = canon;
    Ok(())
}

fn unknown(path: &AttrPath) -> String {
    format!("unknown attribute \"{}\"", clip(&path.to_string()))
}

/// Resolves one comparison or presence operand, applying the aliases:
/// - `email` on Users means `emails.value`: PingOne's default user-lookup filter template is
///   `email Co "%s"` (PingOne SCIM outbound provisioning docs).
/// - A comparison on a complex attribute that has a `value` sub-attribute (`emails`, `members`,
///   `manager`) compares that sub-attribute, as RFC 7644 §3.4.2.2's `emails co "example.com"`
///   example and Entra's `members eq "id"` expect.
fn resolve_operand(
    kind: ResourceKind,
    scope: &Scope,
    path: &AttrPath,
    comparing: bool,
) -> Result<(AttrPath, &'static AttrDef), String> {
    match scope {
        Scope::Element(parent) => canonical_sub(kind, parent, path).ok_or_else(|| {
            format!(
                "unknown attribute \"{}\"",
                clip(&format!("{parent}.{path}"))
            )
        }),
        Scope::Resource => {
            let is_core_urn = path
                .urn
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(kind.core().id));
            let aliased;
            let path = if kind == ResourceKind::User
                && is_core_urn
                && path.sub.is_none()
                && path.attr.eq_ignore_ascii_case("email")
            {
                aliased = AttrPath::with_sub("emails", "value");
                &aliased
            } else {
                path
            };
            let (mut canon, r) = canonical(kind, path).ok_or_else(|| unknown(path))?;
            let mut leaf = r.leaf;
            if comparing && canon.sub.is_none() && r.top.ty == AttrType::Complex {
                let value = find(r.top.sub, "value").ok_or_else(|| {
                    format!(
                        "cannot compare the complex attribute \"{canon}\"; compare one of its sub-attributes instead"
                    )
                })?;
                canon.sub = Some(value.name.to_owned());
                leaf = value;
            }
            Ok((canon, leaf))
        }
    }
}

/// RFC 7644 §3.4.2.2: gt/ge/lt/le on boolean or binary attributes "SHALL" be invalidFilter.
/// Ordering against `true`/`false`/`null` has no meaning either, and a dateTime compared with
/// something that is not a dateTime is a client bug worth a clear 400 rather than no results.
fn check_comparison(
    path: &AttrPath,
    def: &AttrDef,
    op: CompareOp,
    value: &Value,
) -> Result<(), String> {
    if op.is_ordering() {
        if matches!(def.ty, AttrType::Boolean | AttrType::Binary) {
            return Err(format!(
                "\"{path}\" is a {} attribute; {op} is not defined for it",
                if def.ty == AttrType::Boolean {
                    "boolean"
                } else {
                    "binary"
                }
            ));
        }
        if matches!(value, Value::Bool(_) | Value::Null) {
            return Err(format!(
                "{op} needs a string or number to compare \"{path}\" with, found {value}"
            ));
        }
    }
    if def.ty == AttrType::DateTime && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    {
        if let Value::String(s) = value {
            if parse_rfc3339(s).is_none() {
                return Err(format!(
                    "\"{path}\" is a dateTime; {value} is not an RFC 3339 timestamp like \"2025-01-01T00:00:00Z\""
                ));
            }
        }
    }
    Ok(())
}
