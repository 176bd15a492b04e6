//! Custom attributes, pure: the keys an application declares once per stack
//! ([`AttributeCatalogue`]), the SCIM attribute path each directory maps to them
//! ([`AttributeMap`]), and what a user's `custom_attributes` is under that map
//! ([`AttributeMap::render`]). No I/O: the store keeps the catalogue and each directory's map
//! (in its settings item, so a write pins the map it rendered with); `events::normal` renders.
//!
//! Rules (docs/custom-attributes.md):
//! - Until the stack declares a key, every directory keeps the fixed flattening users have always
//!   carried ([`flattened`]): the enterprise extension under snake_case names, every other
//!   extension attribute under `"{urn}:{attribute}"`.
//! - Once keys are declared, `custom_attributes` holds declared keys only: each key a directory
//!   maps takes the value at its path; a declared key the directory does not map takes its
//!   enterprise default ([`DEFAULTS`]: `cost_center` ← `…enterprise:2.0:User:costCenter`, …) when
//!   it has one; a key whose path holds nothing (or `null`) is left out.
//! - A path is a SCIM attribute path (RFC 7644 §3.10, with §3.5.2's value filter): `title`,
//!   `name.givenName`, `addresses[type eq "work"].locality`, an enterprise attribute, or an
//!   attribute under any extension URN an IdP sends (Okta's `…:okta:1.0:User:costCode`). The
//!   project's filter parser reads it ([`crate::scim::path`]); a path through a multi-valued
//!   attribute takes the first element its filter matches, or without a filter the `primary`
//!   element, else the first.
//!
//! The map a directory renders with is computed when it is saved (the directory's mappings plus
//! the defaults of the declared keys it leaves unmapped), and computed again for every directory
//! when the catalogue changes, so rendering never needs the catalogue.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scim::filter::eval::get_ci;
use crate::scim::filter::lexer::clip;
use crate::scim::filter::{matches_element, AttrPath};
use crate::scim::path::{parse_path_lenient, PatchPath};
use crate::scim::schema::{ResourceKind, ENTERPRISE_USER};

/// At most this many keys per stack (and so mappings per directory): a directory's map travels
/// in its settings item and is applied to every user write and read.
pub const MAX_KEYS: usize = 100;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest path, in bytes (the filter parser's own cap is far above what a mapping needs).
pub const MAX_PATH_LEN: usize = 512;

/// The enterprise extension's defaults: a declared key of one of these names that a directory
/// does not map takes this path (RFC 7643 §4.3). Without declared keys, the flattening gives
/// the same names. (`manager.displayName` is read-only there and not kept from a request, so
/// it has no default.)
pub const DEFAULTS: &[(&str, &str)] = &[
    ("employee_number", "employeeNumber"),
    ("cost_center", "costCenter"),
    ("organization", "organization"),
    ("division", "division"),
    ("department", "department"),
    ("manager_id", "manager.value"),
];

/// The default path of `key`, if it has one.
pub fn default_path(key: &str) -> Option<String> {
    DEFAULTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, attr)| format!("{ENTERPRISE_USER}:{attr}"))
}

/// A key the application declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    /// What users carry in `custom_attributes` (`cost_center`): snake_case — a lower-case
    /// letter, then lower-case letters, digits or single `_` — at most 64 characters.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The stack's custom attribute keys (`PUT /manage/custom-attributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AttributeCatalogue {
    pub attributes: Vec<AttributeDef>,
}

/// One declared key and the SCIM attribute path it takes its value from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub key: String,
    /// `title`, `name.givenName`, `addresses[type eq "work"].locality`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter`, or any extension
    /// URN and attribute (`urn:ietf:params:scim:schemas:extension:okta:1.0:User:costCode`).
    pub path: String,
}

/// Where an effective mapping comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The directory maps the key.
    Directory,
    /// The enterprise default of a declared key the directory does not map.
    Default,
}

/// A mapping in force: the directory's, or a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Effective {
    pub key: String,
    pub path: String,
    pub source: Source,
}

/// Why a catalogue or a mapping is refused (a 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// A SCIM attribute path, parsed once, that picks a value out of a user's body.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributePath(PatchPath);

impl AttributePath {
    /// Parses `text` as a User attribute path. Extension URNs this server does not know are
    /// taken as written (an IdP's own extension); core and enterprise names must exist.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_PATH_LEN {
            return Err(format!("longer than {MAX_PATH_LEN} bytes"));
        }
        let p = parse_path_lenient(text, ResourceKind::User).map_err(|e| e.detail)?;
        if p.attr.urn.is_none() && matches!(p.attr.attr.as_str(), "groups" | "password") {
            // `groups` is the server's (never in the stored body), `password` is never stored.
            return Err(format!("\"{}\" is not kept on the user", p.attr.attr));
        }
        Ok(AttributePath(p))
    }

    /// The value this path names in `body` (`None`: absent or `null`).
    pub fn select(&self, body: &Map<String, Value>) -> Option<Value> {
        let attr = &self.0.attr;
        let container = match &attr.urn {
            Some(urn) => get_ci(body, urn)?.as_object()?,
            None => body,
        };
        let top = get_ci(container, &attr.attr)?;
        let sub = self.0.target_sub();
        let element = match (&self.0.filter, top) {
            (Some(filter), top) => {
                let one = std::slice::from_ref(top);
                let items = top.as_array().map_or(one, Vec::as_slice);
                let parent = AttrPath {
                    sub: None,
                    ..attr.clone()
                };
                items.iter().find(|e| {
                    e.is_object() && matches_element(filter, e, ResourceKind::User, &parent)
                })?
            }
            (None, Value::Array(items)) if sub.is_some() => items
                .iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| items.first())?,
            (None, top) => top,
        };
        let value = match sub {
            Some(s) => get_ci(element.as_object()?, s)?,
            None => element,
        };
        (!value.is_null()).then(|| value.clone())
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A directory's custom attribute map, as its settings item keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredMap", into = "StoredMap")]
pub struct AttributeMap {
    /// The directory's own mappings, paths in canonical form.
    mappings: Vec<Mapping>,
    /// What renders: `None` while the stack declares no key (the fixed flattening).
    effective: Option<Vec<Effective>>,
    /// `effective`, parsed.
    compiled: Vec<(String, AttributePath)>,
}

#[derive(Serialize, Deserialize)]
struct StoredMap {
    #[serde(default)]
    mappings: Vec<Mapping>,
    #[serde(default)]
    effective: Option<Vec<Effective>>,
}

impl From<StoredMap> for AttributeMap {
    fn from(s: StoredMap) -> Self {
        AttributeMap::new(s.mappings, s.effective)
    }
}

impl From<AttributeMap> for StoredMap {
    fn from(m: AttributeMap) -> Self {
        StoredMap {
            mappings: m.mappings,
            effective: m.effective,
        }
    }
}

impl AttributeMap {
    fn new(mappings: Vec<Mapping>, effective: Option<Vec<Effective>>) -> Self {
        let compiled = effective
            .iter()
            .flatten()
            .filter_map(|e| match AttributePath::parse(&e.path) {
                Ok(p) => Some((e.key.clone(), p)),
                // Saved paths were parsed before they were saved: only a parser that became
                // stricter since gets here, and one key missing beats a directory that
                // cannot write.
                Err(why) => {
                    tracing::warn!(key = %e.key, path = %e.path, %why, "a saved custom attribute path no longer parses; left out");
                    None
                }
            })
            .collect();
        AttributeMap {
            mappings,
            effective,
            compiled,
        }
    }

    /// The directory's own mappings.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// The mappings in force (`None`: the flattening).
    pub fn effective(&self) -> Option<&[Effective]> {
        self.effective.as_deref()
    }

    /// A user's `custom_attributes` under this map.
    pub fn render(&self, body: &Map<String, Value>) -> Map<String, Value> {
        if self.effective.is_none() {
            return flattened(body);
        }
        let mut out = Map::new();
        for (key, path) in &self.compiled {
            if let Some(v) = path.select(body) {
                out.insert(key.clone(), v);
            }
        }
        out
    }
}

impl AttributeCatalogue {
    /// Whether any key is declared (else every directory flattens).
    pub fn is_declared(&self) -> bool {
        !self.attributes.is_empty()
    }

    pub fn declares(&self, key: &str) -> bool {
        self.attributes.iter().any(|a| a.key == key)
    }

    /// Checks keys, descriptions and the limits.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.attributes.len() > MAX_KEYS {
            return Err(Invalid(format!("at most {MAX_KEYS} custom attributes")));
        }
        let mut seen = BTreeSet::new();
        for (i, a) in self.attributes.iter().enumerate() {
            if !valid_key(&a.key) {
                return Err(Invalid(format!(
                    "attributes[{i}].key {:?}: use snake_case (a lower-case letter, then lower-case letters, digits or single '_'), at most {MAX_KEY_LEN} characters",
                    a.key
                )));
            }
            if !seen.insert(a.key.as_str()) {
                return Err(Invalid(format!(
                    "attributes[{i}].key {:?} is declared twice",
                    a.key
                )));
            }
            if a.description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 1000)
            {
                return Err(Invalid(format!(
                    "attributes[{i}] ({}): description is over 1000 characters",
                    a.key
                )));
            }
        }
        Ok(())
    }

    /// A directory's map from its own `mappings`: each key declared and mapped once, each path
    /// parsed (and kept in canonical form), the defaults of the unmapped declared keys added.
    pub fn complete(&self, mappings: Vec<Mapping>) -> Result<AttributeMap, Invalid> {
        if !self.is_declared() && !mappings.is_empty() {
            return Err(Invalid(
                "declare the stack's custom attributes first (PUT /manage/custom-attributes)"
                    .into(),
            ));
        }
        if mappings.len() > MAX_KEYS {
            return Err(Invalid(format!("at most {MAX_KEYS} mappings")));
        }
        let mut seen = BTreeSet::new();
        let mut canonical = Vec::with_capacity(mappings.len());
        for (i, m) in mappings.into_iter().enumerate() {
            if !self.declares(&m.key) {
                return Err(Invalid(format!(
                    "mappings[{i}].key {:?} is not a declared custom attribute (PUT /manage/custom-attributes)",
                    m.key
                )));
            }
            if !seen.insert(m.key.clone()) {
                return Err(Invalid(format!(
                    "mappings[{i}].key {:?} is mapped twice (map each key to one path)",
                    m.key
                )));
            }
            let path = AttributePath::parse(&m.path)
                .map_err(|why| Invalid(format!("mappings[{i}].path {:?}: {why}", clip(&m.path))))?;
            canonical.push(Mapping {
                key: m.key,
                path: path.to_string(),
            });
        }
        Ok(self.effective_map(canonical))
    }

    /// The map of a directory whose own `mappings` were saved under an earlier catalogue: the
    /// mappings of keys no longer declared are kept but not rendered.
    pub fn recompute(&self, map: &AttributeMap) -> AttributeMap {
        self.effective_map(map.mappings.clone())
    }

    fn effective_map(&self, mappings: Vec<Mapping>) -> AttributeMap {
        if !self.is_declared() {
            return AttributeMap::new(mappings, None);
        }
        let mut effective = Vec::new();
        for a in &self.attributes {
            if let Some(m) = mappings.iter().find(|m| m.key == a.key) {
                effective.push(Effective {
                    key: a.key.clone(),
                    path: m.path.clone(),
                    source: Source::Directory,
                });
            } else if let Some(path) = default_path(&a.key) {
                effective.push(Effective {
                    key: a.key.clone(),
                    path,
                    source: Source::Default,
                });
            }
        }
        AttributeMap::new(mappings, Some(effective))
    }
}

fn valid_key(k: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&k.len())
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && !k.ends_with('_')
        && !k.contains("__")
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The fixed flattening (what every user carried before keys could be declared, and still does
/// while none are): the enterprise extension under snake_case names (`manager` as `manager_id`
/// and `manager_name`), every other extension attribute under `"{urn}:{attribute}"` (the
/// attribute's full SCIM path, so names from two IdPs never collide).
pub fn flattened(body: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (urn, ext) in body {
        let Some(ext) = ext.as_object().filter(|_| urn.starts_with("urn:")) else {
            continue;
        };
        for (attr, value) in ext {
            if urn.eq_ignore_ascii_case(ENTERPRISE_USER) {
                if attr == "manager" {
                    for (sub, name) in [("value", "manager_id"), ("displayName", "manager_name")] {
                        if let Some(v) = value.get(sub) {
                            out.insert(name.into(), v.clone());
                        }
                    }
                } else {
                    out.insert(snake_case(attr), value.clone());
                }
            } else {
                out.insert(format!("{urn}:{attr}"), value.clone());
            }
        }
    }
    out
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OKTA: &str = "urn:ietf:params:scim:schemas:extension:okta:1.0:User";

    fn catalogue(keys: &[&str]) -> AttributeCatalogue {
        AttributeCatalogue {
            attributes: keys
                .iter()
                .map(|k| AttributeDef {
                    key: k.to_string(),
                    description: None,
                })
                .collect(),
        }
    }

    fn mapping(key: &str, path: &str) -> Mapping {
        Mapping {
            key: key.into(),
            path: path.into(),
        }
    }

    /// An Okta user with the enterprise extension and Okta's own.
    fn okta_user() -> Map<String, Value> {
        json!({
            "userName": "ada@example.com",
            "title": "Engineer",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "home@example.com", "type": "home"},
                       {"value": "ada@example.com", "type": "work", "primary": true}],
            "addresses": [{"type": "home", "locality": "London"},
                          {"type": "work", "locality": "Cambridge"}],
            ENTERPRISE_USER: {"costCenter": "R&D", "department": "Engineering",
                              "manager": {"value": "m1", "displayName": "Babbage"}},
            OKTA: {"costCode": "CC-7"}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn path(s: &str) -> AttributePath {
        AttributePath::parse(s).unwrap()
    }

    #[test]
    fn paths_select_core_sub_filtered_enterprise_and_any_extension_values() {
        let u = okta_user();
        assert_eq!(path("title").select(&u), Some(json!("Engineer")));
        assert_eq!(path("name.givenName").select(&u), Some(json!("Ada")));
        let work = path(r#"addresses[type eq "work"].locality"#);
        assert_eq!(work.select(&u), Some(json!("Cambridge")));
        // Without a filter: the primary element, else the first.
        assert_eq!(
            path("emails.value").select(&u),
            Some(json!("ada@example.com"))
        );
        assert_eq!(path("addresses.locality").select(&u), Some(json!("London")));
        let cc = format!("{ENTERPRISE_USER}:costCenter");
        assert_eq!(path(&cc).select(&u), Some(json!("R&D")));
        let mgr = format!("{ENTERPRISE_USER}:manager.displayName");
        assert_eq!(path(&mgr).select(&u), Some(json!("Babbage")));
        assert_eq!(
            path(&format!("{OKTA}:costCode")).select(&u),
            Some(json!("CC-7"))
        );
        // Names are matched as SCIM matches them: case-insensitively.
        assert_eq!(path("NAME.GIVENNAME").select(&u), Some(json!("Ada")));
        assert_eq!(
            path(r#"addresses[type eq "other"].locality"#).select(&u),
            None
        );
        assert_eq!(path("nickName").select(&u), None);
    }

    #[test]
    fn unparsable_and_unknown_paths_are_refused_with_the_reason() {
        assert!(AttributePath::parse(r#"addresses[type eq "work""#).is_err());
        assert!(AttributePath::parse("nope")
            .unwrap_err()
            .contains("unknown attribute"));
        assert!(AttributePath::parse("name.nope").is_err());
        assert!(AttributePath::parse("groups").is_err());
        assert!(AttributePath::parse("password").is_err());
        assert!(AttributePath::parse("").is_err());
    }

    #[test]
    fn declared_keys_take_the_directory_path_else_the_enterprise_default() {
        let c = catalogue(&["cost_center", "department", "city", "cost_code", "badge"]);
        let map = c
            .complete(vec![
                mapping("city", r#"addresses[type eq "work"].locality"#),
                mapping("cost_code", &format!("{OKTA}:costCode")),
            ])
            .unwrap();
        let got = map.render(&okta_user());
        assert_eq!(
            Value::Object(got),
            json!({"cost_center": "R&D", "department": "Engineering",
                   "city": "Cambridge", "cost_code": "CC-7"})
        );
        let sources: Vec<_> = map
            .effective()
            .unwrap()
            .iter()
            .map(|e| (e.key.as_str(), e.source))
            .collect();
        assert_eq!(
            sources,
            [
                ("cost_center", Source::Default),
                ("department", Source::Default),
                ("city", Source::Directory),
                ("cost_code", Source::Directory)
            ]
        );
        // A directory's own path wins over the default.
        let own = c.complete(vec![mapping("department", "title")]).unwrap();
        assert_eq!(own.render(&okta_user())["department"], "Engineer");
    }

    #[test]
    fn nothing_declared_keeps_the_fixed_flattening() {
        let got = AttributeMap::default().render(&okta_user());
        assert_eq!(got["cost_center"], "R&D");
        assert_eq!(got["manager_id"], "m1");
        assert_eq!(got["manager_name"], "Babbage");
        assert_eq!(got[&format!("{OKTA}:costCode")], "CC-7");
        assert!(catalogue(&[])
            .complete(vec![mapping("x", "title")])
            .is_err());
    }

    #[test]
    fn bad_catalogues_and_mappings_are_refused_with_the_reason() {
        for bad in ["Cost", "cost-center", "_x", "x_", "a__b", "9a", ""] {
            assert!(catalogue(&[bad]).validate().is_err(), "{bad}");
        }
        assert!(catalogue(&[&"a".repeat(65)]).validate().is_err());
        assert!(catalogue(&["a", "a"])
            .validate()
            .unwrap_err()
            .0
            .contains("twice"));
        let many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(catalogue(&many).validate().is_err());
        let c = catalogue(&["city"]);
        let e = c.complete(vec![mapping("town", "title")]).unwrap_err();
        assert!(e.0.contains("not a declared"), "{e}");
        let e = c
            .complete(vec![mapping("city", "addresses[type eq")])
            .unwrap_err();
        assert!(e.0.starts_with("mappings[0].path"), "{e}");
        let twice = vec![mapping("city", "title"), mapping("city", "nickName")];
        assert!(c.complete(twice).unwrap_err().0.contains("twice"));
    }

    #[test]
    fn a_saved_map_reads_back_as_it_was_saved() {
        let c = catalogue(&["city", "cost_center"]);
        let map = c
            .complete(vec![mapping(
                "city",
                r#"ADDRESSES[TYPE EQ "work"].Locality"#,
            )])
            .unwrap();
        assert_eq!(
            map.mappings()[0].path,
            r#"addresses[type eq "work"].locality"#
        );
        let text = serde_json::to_string(&map).unwrap();
        let back: AttributeMap = serde_json::from_str(&text).unwrap();
        assert_eq!(back, map);
        assert_eq!(back.render(&okta_user())["city"], "Cambridge");
    }
}
