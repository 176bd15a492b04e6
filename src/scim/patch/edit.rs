//! One add/replace/remove on one attribute of a resource body: given the attribute's old value,
//! compute its new one. Covers the three target shapes of RFC 7644 §3.5.2 — the whole attribute,
//! a sub-attribute (`name.givenName`), and the elements a value filter selects
//! (`emails[type eq "work"]`, optionally `.value`) — for add, replace and remove alike.
//!
//! Working on owned values (old in, new out) keeps borrowing simple and makes "remove the
//! attribute when nothing is left" (RFC 7643 §2.5: empty means unassigned) one rule at the end.

use serde_json::{Map, Value};

use super::{OpKind, Target};
use crate::scim::coerce::{
    check_count, coerce_attr, coerce_element, coerce_sub, is_blank, is_reference,
};
use crate::scim::error::ScimError;
use crate::scim::filter::eval::{get_ci, key_ci};
use crate::scim::filter::{matches_element, AttrPath, CompareOp, Filter};
use crate::scim::schema::{find, AttrDef, AttrType, ResourceKind};

/// Sets (`Some`) or removes (`None`) `key`, replacing any differently-cased spelling of it.
pub(super) fn put_ci(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
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
pub(super) struct Edit<'a> {
    pub(super) op: OpKind,
    pub(super) target: &'a Target,
    pub(super) filter: Option<&'a Filter>,
    pub(super) sub: Option<&'a str>,
    pub(super) value: Option<&'a Value>,
    pub(super) kind: ResourceKind,
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

    pub(super) fn run(&self, old: Option<Value>) -> Result<Option<Value>, ScimError> {
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
            // Checked at each add, so a list never grows past the cap within one PATCH.
            check_count(items.len(), self.name())?;
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
        // A reference without its `value` is no reference: removing or emptying
        // `manager.value` clears the whole manager (Entra clears it with an empty value).
        if new_sub.as_ref().is_none_or(is_blank)
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

        let set = match (self.op, self.sub) {
            (OpKind::Remove, sub) => {
                remove_from_matched(&mut items, &matched, sub);
                None
            }
            (_, None) => self.set_matched(&mut items, matched, filter)?,
            (_, Some(sub)) => self.set_matched_sub(&mut items, matched, filter, sub)?,
        };
        if let Some(touched) = set {
            enforce_single_primary(self.def(), &mut items, &touched);
        }
        Ok(self.rebuild(items, single))
    }

    /// Add or replace of whole elements: the value's sub-attributes go into every matched
    /// element, or into a new one built from the filter when none matched. Returns the elements
    /// set (`None`: nothing was set).
    fn set_matched(
        &self,
        items: &mut Vec<Value>,
        matched: Vec<usize>,
        filter: &Filter,
    ) -> Result<Option<Vec<usize>>, ScimError> {
        let v = coerce_element(self.def(), self.value(), self.name())?;
        let Value::Object(incoming) = v else {
            // null: nothing to add; replace with nothing removes the matches.
            if self.op == OpKind::Replace {
                remove_indices(items, &matched);
            }
            return Ok(None);
        };
        if matched.is_empty() {
            let mut el = self.element_from_filter(filter)?;
            for (k, sv) in incoming {
                put_ci(&mut el, &k, (!sv.is_null()).then_some(sv));
            }
            items.push(Value::Object(el));
            return Ok(Some(vec![items.len() - 1]));
        }
        for &i in &matched {
            if let Some(Value::Object(o)) = items.get_mut(i) {
                for (k, sv) in &incoming {
                    put_ci(o, k, (!sv.is_null()).then(|| sv.clone()));
                }
            }
        }
        Ok(Some(matched))
    }

    /// Add or replace of one sub-attribute (`emails[type eq "work"].value`) of the matched
    /// elements. Returns the elements set (`None`: nothing was set).
    fn set_matched_sub(
        &self,
        items: &mut Vec<Value>,
        matched: Vec<usize>,
        filter: &Filter,
        sub: &str,
    ) -> Result<Option<Vec<usize>>, ScimError> {
        let v = coerce_sub(self.sub_def(), self.value(), self.name(), sub)?;
        let v = (!v.is_null()).then_some(v);
        if matched.is_empty() {
            let Some(v) = v else {
                return Ok(None);
            };
            // Entra sends `add emails[type eq "work"].value` for a user with no work
            // email, and Microsoft's answer is to create the element (Microsoft Q&A
            // 120490, "Patch request in SCIM with Azure AD"); Entra does the same with
            // `replace`. The filter's eq constraints become the new element's values.
            let mut el = self.element_from_filter(filter)?;
            put_ci(&mut el, sub, Some(v));
            items.push(Value::Object(el));
            return Ok(Some(vec![items.len() - 1]));
        }
        for &i in &matched {
            if let Some(Value::Object(o)) = items.get_mut(i) {
                put_ci(o, sub, v.clone());
            }
        }
        drop_empty_elements(items);
        Ok(Some(matched))
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

/// Remove on a filter: the matched elements, or (with a sub-attribute) that sub-attribute of
/// each, dropping elements left empty.
fn remove_from_matched(items: &mut Vec<Value>, matched: &[usize], sub: Option<&str>) {
    let Some(sub) = sub else {
        remove_indices(items, matched);
        return;
    };
    for &i in matched {
        if let Some(Value::Object(o)) = items.get_mut(i) {
            put_ci(o, sub, None);
        }
    }
    drop_empty_elements(items);
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
