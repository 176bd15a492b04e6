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
/// name), each value coerced as it is set; the result is checked like a PUT body.
pub fn patch(
    kind: ResourceKind,
    id: &str,
    stored: &Map<String, Value>,
    ops: &PatchRequest,
) -> Result<Outcome, ScimError> {
    let mut doc = Value::Object(stored.clone());
    doc["id"] = json!(id);
    let changes = patch::apply(&mut doc, ops, kind)?;
    Ok(Outcome {
        body: resource::patched(kind, doc)?,
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
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// The same attribute values sent in a PUT body and in a PATCH replace store the same thing:
    /// one rule set (`coerce.rs`), applied once.
    #[test]
    fn put_and_patch_store_the_same_values() {
        let cases = [
            // read-only sub-attribute (RFC 7643 §4.3 manager.displayName) dropped either way
            (
                ENT,
                json!({"manager": {"value": "m1", "displayName": "Boss"}}),
            ),
            // a reference as a bare id, and `Value` in another case
            (ENT, json!({"manager": "m2"})),
            (ENT, json!({"manager": {"Value": "m3"}})),
            // an empty reference means no manager
            (ENT, json!({"manager": {"value": ""}, "department": "R&D"})),
            // a number where a string belongs keeps its text
            (ENT, json!({"employeeNumber": 42})),
            (
                "",
                json!({"title": 7, "emails": [{"value": "a@x.com", "primary": "True"}]}),
            ),
        ];
        let base = json!({"userName": "u@x.com"});
        for (urn, attrs) in cases {
            let mut put = base.clone();
            let mut ops = Vec::new();
            for (k, v) in attrs.as_object().unwrap() {
                if urn.is_empty() {
                    put[k] = v.clone();
                    ops.push(json!({"op": "replace", "path": k, "value": v}));
                } else {
                    put[urn][k] = v.clone();
                    ops.push(json!({"op": "replace", "path": format!("{urn}:{k}"), "value": v}));
                }
            }
            let put = replace(ResourceKind::User, &put).unwrap().body;
            let stored = replace(ResourceKind::User, &base).unwrap().body;
            let req = PatchRequest::parse(&json!({"Operations": ops}), ResourceKind::User).unwrap();
            let patched = patch(ResourceKind::User, "id1", &stored, &req)
                .unwrap()
                .body;
            assert_eq!(put, patched, "{attrs}");
        }
    }

    #[test]
    fn the_value_cap_holds_for_put_and_for_what_patches_add_up_to() {
        let emails: Vec<Value> = (0..21)
            .map(|i| json!({"value": format!("{i}@x.com")}))
            .collect();
        let put = json!({"userName": "u@x.com", "emails": emails});
        assert!(replace(ResourceKind::User, &put).is_err());
        let mut stored = json!({"userName": "u@x.com", "emails": emails[..20]});
        stored = Value::Object(replace(ResourceKind::User, &stored).unwrap().body);
        let req = PatchRequest::parse(
            &json!({"Operations": [{"op": "add", "path": "emails", "value": [emails[20]]}]}),
            ResourceKind::User,
        )
        .unwrap();
        let err = patch(ResourceKind::User, "id1", stored.as_object().unwrap(), &req).unwrap_err();
        assert_eq!(err.status, 400);
    }

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
