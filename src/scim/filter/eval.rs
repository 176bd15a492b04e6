//! Evaluates a [`Filter`] against a resource body (`serde_json::Value`), RFC 7644 §3.4.2.2.
//!
//! Body layout: core attributes are top-level keys, extension attributes live under their schema
//! URN (`{"urn:...:enterprise:2.0:User": {"employeeNumber": "1"}}`). Keys are matched
//! case-insensitively because bodies are written by IdPs (RFC 7643 §2.1).
//!
//! Semantics chosen where the RFC leaves room, so that filters answer what IdPs actually ask:
//! - a multi-valued attribute matches if *any* value does; `ne` is the negation of `eq`, so a
//!   missing attribute is `ne` anything and `eq null` matches missing or null;
//! - string comparison follows the attribute's `caseExact` (userName no, id and externalId yes);
//! - dateTimes compare as instants, numbers numerically, a number never equals a string;
//! - a boolean equals the strings "true"/"false" in any case (Entra writes `"True"`).
//!
//! Evaluation never fails: a shape the schema does not expect simply does not match.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::datetime::parse_rfc3339;
use super::{AttrPath, CompareOp, Filter};
use crate::scim::schema::{AttrDef, AttrType, ResourceKind};

/// Does `resource` satisfy `filter`? Paths in `filter` are resolved against `kind`'s schema for
/// their case and type rules.
pub fn matches(filter: &Filter, resource: &Value, kind: ResourceKind) -> bool {
    eval(filter, resource, kind, None)
}

/// Does one element of the multi-valued attribute `parent` satisfy `filter`, whose paths name
/// sub-attributes of `parent`? (The inside of `emails[type eq "work"]`; used by PATCH too.)
pub fn matches_element(
    filter: &Filter,
    element: &Value,
    kind: ResourceKind,
    parent: &AttrPath,
) -> bool {
    eval(filter, element, kind, Some(parent))
}

/// The case folding used for non-caseExact strings: Unicode canonical caseless matching (NFD,
/// full case folding of CaseFolding.txt, recomposed to NFC), so `"ΟΔΥΣΣΕΥΣ"` and `"οδυσσευσ"`
/// (final sigma), or NFC `é` and NFD `é`, are one name. The store folds userName, displayName
/// and emails the same way, so `userName eq` and the uniqueness guard agree (one rule
/// everywhere). The tables come from the `caseless` and `unicode-normalization` crates pinned by
/// Cargo.lock, not from the toolchain; docs/behaviour.md says how a change is migrated.
pub fn fold_case(s: &str) -> String {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfd().default_case_fold().nfc().collect()
}

/// The value under `key`, matching the key case-insensitively; an exact match wins.
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The key actually used in `map` for `key` (compared case-insensitively; exact match wins).
pub fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    if map.contains_key(key) {
        return Some(key.to_owned());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Recurses once per `and`/`or`/`not`, so it stays small; leaves are evaluated out of line.
fn eval(f: &Filter, obj: &Value, kind: ResourceKind, parent: Option<&AttrPath>) -> bool {
    match f {
        Filter::And(a, b) => eval(a, obj, kind, parent) && eval(b, obj, kind, parent),
        Filter::Or(a, b) => eval(a, obj, kind, parent) || eval(b, obj, kind, parent),
        Filter::Not(a) => !eval(a, obj, kind, parent),
        Filter::ValuePath { path, filter } => {
            parent.is_none() && eval_value_path(path, filter, obj, kind)
        }
        Filter::Compare { .. } | Filter::Present(_) => eval_leaf(f, obj, kind, parent),
    }
}

#[inline(never)]
fn eval_leaf(f: &Filter, obj: &Value, kind: ResourceKind, parent: Option<&AttrPath>) -> bool {
    match f {
        Filter::Compare { path, op, value } => {
            let def = definition(kind, path, parent);
            compare(&candidates(obj, path, parent), *op, value, def)
        }
        Filter::Present(path) => candidates(obj, path, parent).iter().any(|v| is_present(v)),
        _ => false,
    }
}

#[inline(never)]
fn eval_value_path(path: &AttrPath, filter: &Filter, obj: &Value, kind: ResourceKind) -> bool {
    let whole = AttrPath {
        sub: None,
        ..path.clone()
    };
    candidates(obj, &whole, None)
        .iter()
        .any(|e| e.is_object() && eval(filter, e, kind, Some(path)))
}

fn definition(
    kind: ResourceKind,
    path: &AttrPath,
    parent: Option<&AttrPath>,
) -> Option<&'static AttrDef> {
    let found = match parent {
        Some(p) => kind.resolve(p.urn.as_deref(), &p.attr, Some(&path.attr)),
        None => kind.resolve(path.urn.as_deref(), &path.attr, path.sub.as_deref()),
    };
    found.map(|(_, def)| def)
}

/// Every value `path` reaches in `obj`, arrays flattened (`emails.value` over all emails).
fn candidates<'a>(obj: &'a Value, path: &AttrPath, parent: Option<&AttrPath>) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let Value::Object(map) = obj else {
        return out;
    };
    if parent.is_some() {
        if path.urn.is_none() && path.sub.is_none() {
            flatten_into(get_ci(map, &path.attr), &mut out);
        }
        return out;
    }
    let container = match &path.urn {
        Some(urn) => get_ci(map, urn).and_then(Value::as_object),
        None => Some(map),
    };
    let top = container.and_then(|c| get_ci(c, &path.attr));
    match (&path.sub, top) {
        (None, top) => flatten_into(top, &mut out),
        (Some(sub), Some(Value::Array(items))) => {
            for item in items {
                if let Value::Object(o) = item {
                    flatten_into(get_ci(o, sub), &mut out);
                }
            }
        }
        (Some(sub), Some(Value::Object(o))) => flatten_into(get_ci(o, sub), &mut out),
        _ => {}
    }
    out
}

fn flatten_into<'a>(v: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    match v {
        Some(Value::Array(items)) => out.extend(items.iter()),
        Some(v) => out.push(v),
        None => {}
    }
}

/// RFC 7644 `pr`: "has a non-empty value, or ... contains a non-empty node for complex
/// attributes". Null, "", [] and {} (or objects of only those) are not present.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare(cands: &[&Value], op: CompareOp, value: &Value, def: Option<&AttrDef>) -> bool {
    match op {
        CompareOp::Ne => !compare(cands, CompareOp::Eq, value, def),
        CompareOp::Eq if value.is_null() => cands.iter().all(|c| c.is_null()),
        _ => cands.iter().any(|c| compare_one(c, op, value, def)),
    }
}

fn compare_one(actual: &Value, op: CompareOp, wanted: &Value, def: Option<&AttrDef>) -> bool {
    let ty = def.map(|d| d.ty);
    match (actual, wanted) {
        (Value::String(a), Value::String(b)) => {
            if ty == Some(AttrType::Boolean) {
                if let (Some(x), Some(y)) = (lenient_bool(a), lenient_bool(b)) {
                    return op == CompareOp::Eq && x == y;
                }
            }
            if ty == Some(AttrType::DateTime) && op_is_order_or_eq(op) {
                if let (Some(x), Some(y)) = (parse_rfc3339(a), parse_rfc3339(b)) {
                    return ordering_satisfies(op, x.cmp(&y));
                }
            }
            compare_strings(a, b, op, def.is_some_and(|d| d.case_exact))
        }
        (Value::Number(a), Value::Number(b)) => {
            op_is_order_or_eq(op)
                && compare_numbers(a, b).is_some_and(|o| ordering_satisfies(op, o))
        }
        (Value::Bool(a), Value::Bool(b)) => op == CompareOp::Eq && a == b,
        (Value::Bool(a), Value::String(s)) | (Value::String(s), Value::Bool(a)) => {
            op == CompareOp::Eq && lenient_bool(s) == Some(*a)
        }
        _ => false,
    }
}

fn op_is_order_or_eq(op: CompareOp) -> bool {
    op == CompareOp::Eq || op.is_ordering()
}

/// `"true"`/`"false"` in any case, as Entra writes booleans (`"True"`).
pub fn lenient_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn ordering_satisfies(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        _ => false,
    }
}

fn compare_strings(a: &str, b: &str, op: CompareOp, case_exact: bool) -> bool {
    let (a, b) = if case_exact {
        (a.to_owned(), b.to_owned())
    } else {
        (fold_case(a), fold_case(b))
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        // RFC 7644 §3.4.2.2: strings order lexicographically (after the case rule).
        _ => ordering_satisfies(op, a.cmp(&b)),
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}
