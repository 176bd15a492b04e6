//! A write as a pure function of what is stored: what a create, a replace or a PATCH turns a
//! resource into — the normalised body plus the change to a group's members — with no I/O. The
//! service layer loads, calls one of these, and writes the result; the fuzz harness calls the same
//! functions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::patch::{self, MemberChange, PatchRequest};
use super::resource;
use super::schema::ResourceKind;

/// The resource a write produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The normalised body (no id, meta or members).
    pub body: Map<String, Value>,
    pub members: Members,
}

/// What a write does to a group's members.
#[derive(Debug, Clone, PartialEq)]
pub enum Members {
    /// Nothing (users; a group body without `members` on PATCH).
    Keep,
    /// Exactly these (create, PUT).
    Set(Vec<String>),
    /// PATCH operations in order.
    Edit(Vec<MemberChange>),
}

impl Members {
    /// Whether turning this into edge changes needs the group's current members.
    pub fn needs_current(&self) -> bool {
        match self {
            Members::Keep => false,
            Members::Set(_) => true,
            Members::Edit(changes) => changes
                .iter()
                .any(|c| matches!(c, MemberChange::Replace(_) | MemberChange::RemoveAll)),
        }
    }

    /// (to add, to remove). `current` is the group's members when `needs_current`, else ignored:
    /// without it, removes are sent for every id named (deleting an absent edge is harmless).
    pub fn delta(&self, current: &[String]) -> (Vec<String>, Vec<String>) {
        let changes: &[MemberChange] = match self {
            Members::Keep => return (Vec::new(), Vec::new()),
            Members::Set(ids) => &[MemberChange::Replace(ids.clone())],
            Members::Edit(changes) => changes,
        };
        let needs_current = self.needs_current();
        let current: BTreeSet<&str> = if needs_current {
            current.iter().map(String::as_str).collect()
        } else {
            BTreeSet::new()
        };
        // id → wanted membership after all changes.
        let mut wanted: BTreeMap<&str, bool> = BTreeMap::new();
        let set_all = |wanted: &mut BTreeMap<&str, bool>, v: bool| {
            for w in wanted.values_mut() {
                *w = v;
            }
        };
        for id in &current {
            wanted.insert(id, true);
        }
        for change in changes {
            match change {
                MemberChange::Add(ids) => ids.iter().for_each(|i| {
                    wanted.insert(i, true);
                }),
                MemberChange::Remove(ids) => ids.iter().for_each(|i| {
                    wanted.insert(i, false);
                }),
                MemberChange::RemoveAll => set_all(&mut wanted, false),
                MemberChange::Replace(ids) => {
                    set_all(&mut wanted, false);
                    ids.iter().for_each(|i| {
                        wanted.insert(i, true);
                    });
                }
            }
        }
        let add = wanted
            .iter()
            .filter(|(id, w)| **w && !current.contains(*id))
            .map(|(id, _)| id.to_string())
            .collect();
        let remove = wanted
            .iter()
            .filter(|(id, w)| !**w && (!needs_current || current.contains(*id)))
            .map(|(id, _)| id.to_string())
            .collect();
        (add, remove)
    }
}

/// A POST or PUT body (2.0 form) as the resource it asks for.
pub fn replace(kind: ResourceKind, body: &Value) -> Result<Outcome, ScimError> {
    let incoming = resource::incoming(kind, body)?;
    Ok(Outcome {
        body: incoming.body,
        members: match (kind, incoming.members) {
            (ResourceKind::Group, Some(ids)) => Members::Set(ids),
            // PUT replaces: a group body without `members` has none (RFC 7644 §3.5.1).
            (ResourceKind::Group, None) => Members::Set(Vec::new()),
            (ResourceKind::User, _) => Members::Keep,
        },
    })
}

/// A PATCH applied to a stored body: the operations run on the body (with `id`, which paths may
/// name), and the result is normalised like a PUT body.
pub fn patch(
    kind: ResourceKind,
    id: &str,
    stored: &Map<String, Value>,
    ops: &PatchRequest,
) -> Result<Outcome, ScimError> {
    let mut doc = Value::Object(stored.clone());
    doc["id"] = json!(id);
    let changes = patch::apply(&mut doc, ops, kind)?;
    let incoming = resource::incoming(kind, &doc)?;
    Ok(Outcome {
        body: incoming.body,
        members: if changes.is_empty() {
            Members::Keep
        } else {
            Members::Edit(changes)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adds_and_removes_need_no_current_members() {
        let m = Members::Edit(vec![
            MemberChange::Add(ids(&["a", "b"])),
            MemberChange::Remove(ids(&["b", "c"])),
        ]);
        assert!(!m.needs_current());
        assert_eq!(m.delta(&[]), (ids(&["a"]), ids(&["b", "c"])));
    }

    #[test]
    fn replace_and_remove_all_are_relative_to_current() {
        let cur = ids(&["a", "b"]);
        let m = Members::Edit(vec![
            MemberChange::RemoveAll,
            MemberChange::Add(ids(&["b", "d"])),
        ]);
        assert_eq!(m.delta(&cur), (ids(&["d"]), ids(&["a"])));
        assert_eq!(
            Members::Set(ids(&["c"])).delta(&cur),
            (ids(&["c"]), ids(&["a", "b"]))
        );
        assert_eq!(Members::Keep.delta(&cur), (vec![], vec![]));
    }
}
