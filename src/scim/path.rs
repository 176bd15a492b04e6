//! PATCH `path` values (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`), parsed and
//! resolved against the schema table.
//!
//! A path shares its grammar with filters (§3.10 attribute notation plus the `[...]` value
//! filter), so this module reuses the filter lexer and parser and only adds the path shape and
//! the `invalidPath` error type. Names come out canonical, exactly as in filters.
//!
//! One leniency needs the resource and therefore lives in the PATCH engine: a path under an
//! extension URN this server does not know is legal when the resource lists that URN in its
//! `schemas`. [`parse_path_lenient`] keeps such paths as written so the engine can decide.

use std::fmt;

use crate::scim::error::ScimError;
use crate::scim::filter::lexer::clip;
use crate::scim::filter::resolve::{canonical, resolve_element_filter};
use crate::scim::filter::{parser, AttrPath, Filter};
use crate::scim::schema::{AttrType, ResourceKind};

#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// URN + top-level attribute + the sub-attribute when there is no filter (`name.givenName`).
    pub attr: AttrPath,
    /// The value filter of `emails[type eq "work"]`, with paths relative to one element.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]` (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    /// The sub-attribute the path ends at, however it was written.
    pub fn target_sub(&self) -> Option<&str> {
        self.sub.as_deref().or(self.attr.sub.as_deref())
    }

    /// True when the path is under an extension URN that `kind` does not declare (only
    /// [`parse_path_lenient`] returns such paths; their names are kept as written).
    pub fn is_unknown_extension(&self, kind: ResourceKind) -> bool {
        is_unknown_extension(kind, &self.attr)
    }
}

pub(crate) fn is_unknown_extension(kind: ResourceKind, attr: &AttrPath) -> bool {
    attr.urn
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(kind.core().id) && kind.extension(u).is_none())
}

/// Parses and resolves a PATCH path; errors are 400 `invalidPath`, unknown attributes included.
pub fn parse_path(input: &str, kind: ResourceKind) -> Result<PatchPath, ScimError> {
    let path = parse_path_lenient(input, kind)?;
    if path.is_unknown_extension(kind) {
        return Err(ScimError::invalid_path(format!(
            "unknown attribute \"{}\"",
            clip(&path.attr.to_string())
        )));
    }
    Ok(path)
}

/// Like [`parse_path`], except that a path under an extension URN unknown to the schema table is
/// returned unresolved instead of rejected (see the module docs).
pub fn parse_path_lenient(input: &str, kind: ResourceKind) -> Result<PatchPath, ScimError> {
    let raw = parser::parse_path(input).map_err(|e| ScimError::invalid_path(e.to_string()))?;
    if is_unknown_extension(kind, &raw.attr) {
        return Ok(PatchPath {
            attr: raw.attr,
            filter: raw.filter,
            sub: raw.sub,
        });
    }
    let unknown = |p: &dyn fmt::Display| {
        ScimError::invalid_path(format!("unknown attribute \"{}\"", clip(&p.to_string())))
    };
    let (attr, resolved) = canonical(kind, &raw.attr).ok_or_else(|| unknown(&raw.attr))?;
    let filter = match raw.filter {
        None => None,
        Some(f) => {
            if resolved.top.ty != AttrType::Complex {
                return Err(ScimError::invalid_path(format!(
                    "\"{attr}\" has no sub-attributes, so it cannot take a [filter]"
                )));
            }
            Some(resolve_element_filter(f, kind, &attr).map_err(ScimError::invalid_path)?)
        }
    };
    let sub = match raw.sub {
        None => None,
        Some(s) => {
            let (_, def) = kind
                .resolve(attr.urn.as_deref(), &attr.attr, Some(&s))
                .ok_or_else(|| unknown(&format!("{attr}.{s}")))?;
            Some(def.name.to_owned())
        }
    };
    Ok(PatchPath { attr, filter, sub })
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::ENTERPRISE_USER;

    const USER: ResourceKind = ResourceKind::User;

    fn path(s: &str) -> PatchPath {
        parse_path(s, USER).unwrap()
    }

    #[test]
    fn sub_attribute_path() {
        assert_eq!(
            path("name.givenName"),
            PatchPath {
                attr: AttrPath::with_sub("name", "givenName"),
                filter: None,
                sub: None
            }
        );
    }

    #[test]
    fn value_path_with_sub_attribute() {
        let p = path(r#"emails[type eq "work"].value"#);
        assert_eq!(p.attr, AttrPath::new("emails"));
        assert_eq!(
            p.filter,
            Some(Filter::equals(AttrPath::new("type"), "work"))
        );
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert_eq!(p.target_sub(), Some("value"));
    }

    #[test]
    fn members_value_path() {
        let p = parse_path(r#"members[value eq "id-1"]"#, ResourceKind::Group).unwrap();
        assert_eq!(p.attr, AttrPath::new("members"));
        assert_eq!(
            p.filter,
            Some(Filter::equals(AttrPath::new("value"), "id-1"))
        );
        assert_eq!(p.sub, None);
    }

    #[test]
    fn extension_paths_keep_canonical_urn() {
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
        assert_eq!(p.attr.urn.as_deref(), Some(ENTERPRISE_USER));
        assert_eq!(p.attr.attr, "manager");
        let p = path("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Manager.Value");
        assert_eq!(p.attr.urn.as_deref(), Some(ENTERPRISE_USER));
        assert_eq!(p.attr.sub.as_deref(), Some("value"));
    }

    #[test]
    fn core_urn_prefix_is_dropped() {
        let p = path("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName");
        assert_eq!(p.attr, AttrPath::with_sub("name", "familyName"));
    }

    #[test]
    fn names_are_canonicalised() {
        assert_eq!(
            path("NAME.FAMILYNAME").attr,
            AttrPath::with_sub("name", "familyName")
        );
        let p = path(r#"Emails[TYPE Eq "work"].VALUE"#);
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
    }

    #[test]
    fn unknown_attribute_is_invalid_path() {
        let e = parse_path("foo", USER).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert_eq!(e.detail, "unknown attribute \"foo\"");
        assert!(parse_path("name.nope", USER).is_err());
        assert!(parse_path(r#"emails[nope eq "x"]"#, USER).is_err());
        assert!(parse_path(r#"emails[type eq "x"].nope"#, USER).is_err());
        assert!(parse_path(r#"userName[type eq "x"]"#, USER).is_err());
        assert!(parse_path("members", USER).is_err());
    }

    #[test]
    fn syntax_errors_are_invalid_path_with_position() {
        let e = parse_path(r#"emails[type eq "work""#, USER).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert!(e.detail.starts_with("at character 22:"), "{}", e.detail);
    }

    #[test]
    fn unknown_extension_is_rejected_strictly_and_kept_leniently() {
        let s = "urn:example:custom:2.0:User:badge";
        assert_eq!(
            parse_path(s, USER).unwrap_err().scim_type,
            Some(ScimType::InvalidPath)
        );
        let p = parse_path_lenient(s, USER).unwrap();
        assert!(p.is_unknown_extension(USER));
        assert_eq!(p.attr.attr, "badge");
    }
}
