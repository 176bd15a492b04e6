//! Query parameters of list and search requests (RFC 7644 §3.4.2, §3.4.3), the ListResponse body,
//! and attribute projection (`attributes` / `excludedAttributes`, §3.9) for every response.

use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::schema::{self, ResourceKind, Returned};

/// RFC 7644 §3.4.2.4: servers may cap `count`; ServiceProviderConfig announces this maximum.
pub const MAX_COUNT: usize = 1000;
/// Page size when a client gives no `count`.
pub const DEFAULT_COUNT: usize = 100;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    /// 1-based (RFC 7644 §3.4.2.4); values below 1 are treated as 1.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// RFC 9865: present (even empty) asks for cursor paging; empty means the first page.
    pub cursor: Option<String>,
}

/// `attributes` / `excludedAttributes`, lower-cased full paths (`name.givenName`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl ListQuery {
    /// From URL query pairs (already percent-decoded). Unknown parameters are ignored.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ScimError> {
        let mut q = ListQuery {
            start_index: 1,
            count: DEFAULT_COUNT,
            ..Default::default()
        };
        let mut attributes = None;
        let mut excluded = None;
        for (k, v) in pairs {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(v.to_string()).filter(|f| !f.trim().is_empty()),
                "startindex" => q.start_index = parse_int(k, v)?.max(1) as usize,
                "count" => q.count = parse_int(k, v)?.clamp(0, MAX_COUNT as i64) as usize,
                "attributes" => attributes = Some(v.to_string()),
                "excludedattributes" => excluded = Some(v.to_string()),
                "sortby" => q.sort_by = Some(v.to_string()).filter(|s| !s.is_empty()),
                "sortorder" => q.descending = v.eq_ignore_ascii_case("descending"),
                "cursor" => q.cursor = Some(v.to_string()),
                _ => {}
            }
        }
        q.projection = Projection::parse(attributes.as_deref(), excluded.as_deref());
        Ok(q)
    }

    /// From a POST `.search` body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a search request must be a JSON object"))?;
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        let pairs: Vec<(String, String)> = obj
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
            .filter_map(|(k, v)| text(v).map(|t| (k.clone(), t)))
            .collect();
        Self::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

fn parse_int(name: &str, v: &str) -> Result<i64, ScimError> {
    v.trim().parse::<i64>().map_err(|_| {
        ScimError::invalid_value(format!("\"{name}\" must be an integer, got \"{v}\""))
    })
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        let split = |s: Option<&str>| -> Vec<String> {
            s.map(|s| {
                s.split(',')
                    .map(|a| a.trim().to_ascii_lowercase())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default()
        };
        Projection {
            attributes: split(attributes),
            excluded: split(excluded),
        }
    }

    /// True when the response may leave out the top-level attribute `name` (lets the API skip
    /// reading members or groups the client excluded).
    pub fn skips(&self, kind: ResourceKind, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let full = format!("{}:{name}", kind.core().id.to_ascii_lowercase());
        let named = |list: &[String]| {
            list.iter()
                .any(|a| *a == name || *a == full || a.starts_with(&format!("{name}.")))
        };
        if !self.attributes.is_empty() {
            return !named(&self.attributes);
        }
        self.excluded.iter().any(|a| *a == name || *a == full)
    }

    /// True when `attributes` names `name` (or one of its sub-attributes) explicitly.
    pub fn requests(&self, kind: ResourceKind, name: &str) -> bool {
        !self.attributes.is_empty() && !self.skips(kind, name)
    }

    /// Applies the projection to a rendered resource. `returned: always` attributes (`id`,
    /// `schemas`) are never removed (RFC 7643 §7).
    pub fn apply(&self, kind: ResourceKind, resource: Value) -> Value {
        if self.attributes.is_empty() && self.excluded.is_empty() {
            return resource;
        }
        let Value::Object(obj) = resource else {
            return resource;
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if k == "schemas" || k == "id" {
                out.insert(k, v);
                continue;
            }
            let ext = kind.extension(&k).map(|e| e.id.to_ascii_lowercase());
            let prefix = ext.unwrap_or_default();
            let v = match &v {
                Value::Object(sub) if !prefix.is_empty() => {
                    let kept: Map<String, Value> = sub
                        .iter()
                        .filter(|(sk, _)| {
                            self.keeps(kind, &format!("{prefix}:{}", sk.to_ascii_lowercase()), None)
                        })
                        .map(|(a, b)| (a.clone(), b.clone()))
                        .collect();
                    if kept.is_empty() && !self.keeps(kind, &prefix, None) {
                        continue;
                    }
                    Value::Object(kept)
                }
                _ => {
                    let lower = k.to_ascii_lowercase();
                    if !self.keeps(kind, &lower, Some(&v)) {
                        continue;
                    }
                    self.sub_filter(&lower, v)
                }
            };
            out.insert(k, v);
        }
        Value::Object(out)
    }

    fn keeps(&self, kind: ResourceKind, name: &str, _value: Option<&Value>) -> bool {
        let core = kind.core().id.to_ascii_lowercase();
        let qualified = format!("{core}:{name}");
        let always = schema::find(schema::COMMON_ATTRIBUTES, name)
            .is_some_and(|a| a.returned == Returned::Always);
        if always {
            return true;
        }
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(|a| {
                let a = a.strip_prefix(&format!("{core}:")).unwrap_or(a);
                a == name
                    || a.starts_with(&format!("{name}."))
                    || name.starts_with(&format!("{a}:"))
                    || *a == qualified
            });
        }
        // Excluding an extension URN excludes every attribute under it.
        !self.excluded.iter().any(|a| {
            let a = a.strip_prefix(&format!("{core}:")).unwrap_or(a);
            a == name || name.starts_with(&format!("{a}:"))
        })
    }

    /// `attributes=name.givenName` keeps only that sub-attribute of `name`;
    /// `excludedAttributes=name.givenName` drops only it.
    fn sub_filter(&self, name: &str, v: Value) -> Value {
        let subs_of = |list: &[String]| -> Vec<String> {
            list.iter()
                .filter_map(|a| a.strip_prefix(&format!("{name}.")).map(str::to_string))
                .collect()
        };
        let wanted = subs_of(&self.attributes);
        let dropped = subs_of(&self.excluded);
        let whole = self.attributes.iter().any(|a| a == name);
        let pick = |o: &Map<String, Value>| -> Map<String, Value> {
            o.iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    (whole || wanted.is_empty() || wanted.contains(&k)) && !dropped.contains(&k)
                })
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect()
        };
        match v {
            Value::Object(o) => Value::Object(pick(&o)),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|i| match i {
                        Value::Object(o) => Value::Object(pick(&o)),
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

/// The RFC 7644 §3.4.2 ListResponse.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, ScimError> {
        ListQuery::from_query(pairs.iter().copied())
    }

    #[test]
    fn defaults_and_clamps() {
        let got = q(&[("startIndex", "0"), ("count", "5000")]).unwrap();
        assert_eq!(got.start_index, 1);
        assert_eq!(got.count, MAX_COUNT);
        assert_eq!(q(&[]).unwrap().count, DEFAULT_COUNT);
        assert_eq!(q(&[("count", "-3")]).unwrap().count, 0);
    }

    #[test]
    fn non_numeric_start_index_is_invalid_value() {
        assert_eq!(q(&[("startIndex", "x")]).unwrap_err().status, 400);
    }

    #[test]
    fn search_body_maps_to_query() {
        let got = ListQuery::from_search(&json!({
            "schemas": [schema::SEARCH_REQUEST], "filter": "userName eq \"a\"",
            "startIndex": 2, "count": 10, "attributes": ["userName", "emails"]
        }))
        .unwrap();
        assert_eq!(got.filter.as_deref(), Some("userName eq \"a\""));
        assert_eq!((got.start_index, got.count), (2, 10));
        assert_eq!(got.projection.attributes, vec!["username", "emails"]);
    }

    #[test]
    fn excluded_members_are_dropped_and_id_kept() {
        let p = Projection::parse(None, Some("members"));
        let out = p.apply(
            ResourceKind::Group,
            json!({"schemas": [], "id": "1", "displayName": "g", "members": [{"value": "u"}]}),
        );
        assert_eq!(out, json!({"schemas": [], "id": "1", "displayName": "g"}));
        assert!(p.skips(ResourceKind::Group, "members"));
    }

    #[test]
    fn attributes_keep_only_named_and_always_returned() {
        let p = Projection::parse(Some("userName,name.givenName"), None);
        let out = p.apply(
            ResourceKind::User,
            json!({"schemas": [], "id": "1", "userName": "a", "active": true,
                   "name": {"givenName": "A", "familyName": "B"}}),
        );
        assert_eq!(
            out,
            json!({"schemas": [], "id": "1", "userName": "a", "name": {"givenName": "A"}})
        );
    }

    #[test]
    fn extension_attributes_project_by_urn() {
        let urn = schema::ENTERPRISE_USER;
        let p = Projection::parse(Some(&format!("{urn}:department")), None);
        let out = p.apply(
            ResourceKind::User,
            json!({"id": "1", "userName": "a", urn: {"department": "x", "costCenter": "y"}}),
        );
        assert_eq!(out, json!({"id": "1", urn: {"department": "x"}}));
    }

    #[test]
    fn excluding_an_extension_urn_drops_the_extension() {
        let urn = schema::ENTERPRISE_USER;
        let p = Projection::parse(None, Some(urn));
        let out = p.apply(
            ResourceKind::User,
            json!({"id": "1", "userName": "a", urn: {"department": "x"}}),
        );
        assert_eq!(out, json!({"id": "1", "userName": "a"}));
    }

    #[test]
    fn list_response_counts_are_integers() {
        let body = list_response(3, 1, vec![json!({}), json!({})]);
        assert_eq!(body["totalResults"], json!(3));
        assert_eq!(body["itemsPerPage"], json!(2));
    }
}
