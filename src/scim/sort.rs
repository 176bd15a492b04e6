//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3): which value of a resource to sort on and how values
//! compare. Strings follow the attribute's `caseExact`; resources without a value sort last in
//! either order; ties keep id (creation) order, so pages are stable.

use std::cmp::Ordering;

use serde_json::Value;

use super::error::ScimError;
use super::filter::eval::{fold_case, get_ci};
use super::path::parse_path;
use super::schema::{ResourceKind, ENTERPRISE_USER};

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    urn: Option<String>,
    attr: String,
    sub: Option<String>,
    case_exact: bool,
    pub descending: bool,
}

impl SortKey {
    pub fn parse(sort_by: &str, descending: bool, kind: ResourceKind) -> Result<Self, ScimError> {
        let path = parse_path(sort_by, kind)
            .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.detail)))?;
        if path.filter.is_some() {
            return Err(ScimError::invalid_value(
                "sortBy must name an attribute, not a value filter",
            ));
        }
        let sub = path.target_sub().map(str::to_string);
        let (_, def) = kind
            .resolve(path.attr.urn.as_deref(), &path.attr.attr, sub.as_deref())
            .ok_or_else(|| {
                ScimError::invalid_value(format!("sortBy: unknown attribute \"{sort_by}\""))
            })?;
        Ok(SortKey {
            urn: path.attr.urn.clone(),
            attr: path.attr.attr.clone(),
            sub,
            case_exact: def.case_exact,
            descending,
        })
    }

    /// A stable text form for cursor scoping.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}:{}.{}:{}",
            self.urn.as_deref().unwrap_or(""),
            self.attr,
            self.sub.as_deref().unwrap_or(""),
            if self.descending { "desc" } else { "asc" }
        )
    }

    /// The value of a rendered resource to sort on. Multi-valued: the primary element, else the
    /// first (RFC 7644 §3.4.2.3).
    pub fn value(&self, resource: &Value) -> Option<Value> {
        let mut v = resource.as_object()?;
        if let Some(urn) = &self.urn {
            if urn.eq_ignore_ascii_case(ENTERPRISE_USER) || urn.starts_with("urn:") {
                v = get_ci(v, urn)?.as_object()?;
            }
        }
        let mut top = get_ci(v, &self.attr)?.clone();
        if let Value::Array(items) = &top {
            let primary = items
                .iter()
                .find(|i| i.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first())?;
            top = primary.clone();
        }
        let leaf = match (&self.sub, &top) {
            (Some(sub), Value::Object(o)) => get_ci(o, sub)?.clone(),
            (None, Value::Object(o)) => get_ci(o, "value")?.clone(),
            (_, other) => other.clone(),
        };
        (!leaf.is_null()).then_some(leaf)
    }

    pub fn compare(&self, a: &Option<Value>, b: &Option<Value>) -> Ordering {
        match (a, b) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = self.compare_values(x, y);
                if self.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    }

    fn compare_values(&self, x: &Value, y: &Value) -> Ordering {
        match (x, y) {
            (Value::String(a), Value::String(b)) if self.case_exact => a.cmp(b),
            (Value::String(a), Value::String(b)) => fold_case(a).cmp(&fold_case(b)),
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (a, b) => a.to_string().cmp(&b.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sorted(key: &str, desc: bool, mut items: Vec<Value>) -> Vec<Value> {
        let k = SortKey::parse(key, desc, ResourceKind::User).unwrap();
        items.sort_by(|a, b| k.compare(&k.value(a), &k.value(b)));
        items
    }

    #[test]
    fn user_name_sorts_case_insensitively_and_missing_last() {
        let got = sorted(
            "userName",
            false,
            vec![
                json!({"userName": "b"}),
                json!({}),
                json!({"userName": "A"}),
            ],
        );
        assert_eq!(
            got,
            vec![
                json!({"userName": "A"}),
                json!({"userName": "b"}),
                json!({})
            ]
        );
        let got = sorted(
            "username",
            true,
            vec![
                json!({"userName": "A"}),
                json!({}),
                json!({"userName": "b"}),
            ],
        );
        assert_eq!(
            got,
            vec![
                json!({"userName": "b"}),
                json!({"userName": "A"}),
                json!({})
            ]
        );
    }

    #[test]
    fn multi_valued_sorts_on_the_primary_value() {
        let a = json!({"emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]});
        let b = json!({"emails": [{"value": "m@x"}]});
        assert_eq!(
            sorted("emails", false, vec![b.clone(), a.clone()]),
            vec![a, b]
        );
    }

    #[test]
    fn sub_attribute_and_extension_paths() {
        let a = json!({"name": {"familyName": "Zed"}});
        let b = json!({"name": {"familyName": "Abe"}});
        assert_eq!(
            sorted("name.familyName", false, vec![a.clone(), b.clone()]),
            vec![b, a]
        );
        let urn = ENTERPRISE_USER;
        let x = json!({urn: {"employeeNumber": "2"}});
        let y = json!({urn: {"employeeNumber": "1"}});
        assert_eq!(
            sorted(
                &format!("{urn}:employeeNumber"),
                false,
                vec![x.clone(), y.clone()]
            ),
            vec![y, x]
        );
    }

    #[test]
    fn unknown_sort_attribute_is_400() {
        assert_eq!(
            SortKey::parse("nope", false, ResourceKind::User)
                .unwrap_err()
                .status,
            400
        );
    }
}
