//! Group membership ops. Memberships are one store item per (group, user) edge (`store::members`), never a
//! list in the group body, so PATCH turns every op on `members` into a [`MemberChange`] for the
//! store instead of editing JSON. Only shapes the store can carry out without reading the
//! membership list are accepted: whole lists, listed ids, and `value eq` filters.

use serde_json::Value;

use super::{MemberChange, OpKind};
use crate::scim::error::ScimError;
use crate::scim::filter::eval::get_ci;
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::PatchPath;
use crate::scim::resource::{too_many_members, MAX_MEMBERS_PER_REQUEST};

/// What an op on Group `members` asks of the store. RFC 7644 §3.5.2 plus the IdPs' shapes:
/// Okta replaces the full list and removes with `members[value eq "id"]`; Entra removes with
/// `{"path":"members","value":[{"value":"id"}]}` (Entra SCIM tutorial, group PATCH examples).
pub(super) fn member_change(
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

pub(super) fn check_members_path(op: OpKind, path: &PatchPath) -> Result<(), ScimError> {
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
    if items.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(too_many_members(items.len()));
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let id = match item {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
            _ => None,
        };
        match id {
            Some(id) if !id.is_empty() => {
                if seen.insert(id) {
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
            ids.extend(member_filter_ids(b)?);
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(id.clone()));
            Ok(ids)
        }
        _ => Err(ScimError::invalid_filter(format!(
            "members can only be selected by value eq \"<id>\" (or several joined by or), not [{f}]"
        ))),
    }
}
