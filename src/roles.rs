//! Roles from groups, pure: the roles an application declares once per stack ([`RoleCatalogue`]),
//! the groups a directory maps to them in priority order ([`RoleMap`]), and what a user resolves
//! to from the groups it is in ([`Resolved`]). No I/O: the store keeps the catalogue, each
//! directory's map and each user's resolved roles; the write paths call [`RoleMap::resolve`].
//!
//! Resolution (WorkOS's and Scalekit's rule): the map is a list in priority order; a user's
//! `roles` are the roles of every mapped group it is in, in that order, each once; its `role` is
//! the first of them, or the directory's default (else the stack's) when it is in no mapped group.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// At most this many roles per stack, and group assignments per directory: the map is read with
/// every write that may change a role, and kept in one item.
pub const MAX_ROLES: usize = 100;
pub const MAX_ASSIGNMENTS: usize = 100;

/// A role the application declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RoleDef {
    /// Immutable identifier the application checks (`admin`): lower-case letters, digits, `-`,
    /// `_`, 1–64 characters.
    pub slug: String,
    /// What people read (`Admin`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The stack's roles and the default role of a user in no mapped group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct RoleCatalogue {
    pub roles: Vec<RoleDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// One group of a directory mapped to a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Assignment {
    pub group_id: String,
    pub role: String,
}

/// A directory's group → role assignments, first match wins, and its own default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMap {
    pub assignments: Vec<Assignment>,
    /// The directory's own default (`None`: the stack's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The default in force when the map was saved: the directory's, else the stack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_default: Option<String>,
}

/// What a user resolves to: stored on the user item and carried by every normalised user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub role: Option<String>,
    pub roles: Vec<String>,
}

/// Why a catalogue or a map is refused (a 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl RoleMap {
    /// Whether `group` has an assignment: a member change of an unmapped group resolves nothing.
    pub fn maps(&self, group: &str) -> bool {
        self.assignments.iter().any(|a| a.group_id == group)
    }

    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty() && self.effective_default.is_none()
    }

    /// The roles of a user in `groups`.
    pub fn resolve(&self, groups: &BTreeSet<String>) -> Resolved {
        let mut roles: Vec<String> = Vec::new();
        for a in &self.assignments {
            if groups.contains(&a.group_id) && !roles.contains(&a.role) {
                roles.push(a.role.clone());
            }
        }
        Resolved {
            role: roles
                .first()
                .cloned()
                .or_else(|| self.effective_default.clone()),
            roles,
        }
    }

    /// The groups whose members may resolve differently under `other` than under `self`: every
    /// group either maps, unless both the assignments and the default are the same. `None` means
    /// every user (the default changed, which users in no mapped group take).
    pub fn affected_groups(&self, other: &RoleMap) -> Option<BTreeSet<String>> {
        if self.effective_default != other.effective_default {
            return None;
        }
        if self.assignments == other.assignments {
            return Some(BTreeSet::new());
        }
        Some(
            self.assignments
                .iter()
                .chain(&other.assignments)
                .map(|a| a.group_id.clone())
                .collect(),
        )
    }
}

impl RoleCatalogue {
    /// Checks slugs, names, the default, and the limits.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.roles.len() > MAX_ROLES {
            return Err(Invalid(format!("at most {MAX_ROLES} roles")));
        }
        let mut seen = BTreeSet::new();
        for r in &self.roles {
            if !valid_slug(&r.slug) {
                return Err(Invalid(format!(
                    "role slug {:?}: use 1-64 lower-case letters, digits, '-' or '_'",
                    r.slug
                )));
            }
            if !seen.insert(r.slug.as_str()) {
                return Err(Invalid(format!("role slug {:?} is declared twice", r.slug)));
            }
            if r.name.trim().is_empty() || r.name.chars().count() > 200 {
                return Err(Invalid(format!(
                    "role {:?}: name must be 1-200 characters",
                    r.slug
                )));
            }
            if r.description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 1000)
            {
                return Err(Invalid(format!(
                    "role {:?}: description is over 1000 characters",
                    r.slug
                )));
            }
        }
        if let Some(d) = &self.default {
            self.require(d, "default")?;
        }
        Ok(())
    }

    /// The name people read for `slug`, if it is declared.
    pub fn name(&self, slug: &str) -> Option<&str> {
        self.roles
            .iter()
            .find(|r| r.slug == slug)
            .map(|r| r.name.as_str())
    }

    /// `slug` is a declared role.
    pub fn require(&self, slug: &str, what: &str) -> Result<(), Invalid> {
        if self.roles.iter().any(|r| r.slug == slug) {
            Ok(())
        } else {
            Err(Invalid(format!(
                "{what}: {slug:?} is not a declared role (PUT /manage/roles)"
            )))
        }
    }

    /// A directory's map as it is saved: each assignment names a declared role and a group once,
    /// the default is declared, and the effective default is filled in.
    pub fn complete(
        &self,
        assignments: Vec<Assignment>,
        default: Option<String>,
    ) -> Result<RoleMap, Invalid> {
        if assignments.len() > MAX_ASSIGNMENTS {
            return Err(Invalid(format!(
                "at most {MAX_ASSIGNMENTS} group assignments"
            )));
        }
        let mut groups = BTreeSet::new();
        for (i, a) in assignments.iter().enumerate() {
            self.require(&a.role, &format!("assignments[{i}].role"))?;
            if !groups.insert(a.group_id.as_str()) {
                return Err(Invalid(format!(
                    "assignments[{i}]: group {} is assigned twice (the first one wins; list it once)",
                    a.group_id
                )));
            }
        }
        if let Some(d) = &default {
            self.require(d, "default")?;
        }
        let effective_default = default.clone().or_else(|| self.default.clone());
        Ok(RoleMap {
            assignments,
            default,
            effective_default,
        })
    }
}

fn valid_slug(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> RoleCatalogue {
        let role = |slug: &str| RoleDef {
            slug: slug.into(),
            name: slug.to_uppercase(),
            description: None,
        };
        RoleCatalogue {
            roles: vec![role("admin"), role("member"), role("viewer")],
            default: Some("member".into()),
        }
    }

    fn map(pairs: &[(&str, &str)], default: Option<&str>) -> RoleMap {
        let a = pairs
            .iter()
            .map(|(g, r)| Assignment {
                group_id: g.to_string(),
                role: r.to_string(),
            })
            .collect();
        catalogue().complete(a, default.map(String::from)).unwrap()
    }

    fn groups(g: &[&str]) -> BTreeSet<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_mapped_group_in_priority_order_wins() {
        let m = map(&[("g-admins", "admin"), ("g-all", "viewer")], None);
        let r = m.resolve(&groups(&["g-all", "g-admins", "g-other"]));
        assert_eq!(r.role.as_deref(), Some("admin"));
        assert_eq!(r.roles, ["admin", "viewer"]);
        let r = m.resolve(&groups(&["g-all"]));
        assert_eq!(r.role.as_deref(), Some("viewer"));
    }

    #[test]
    fn no_mapped_group_takes_the_directory_default_else_the_stack_default() {
        assert_eq!(
            map(&[], None).resolve(&groups(&["x"])).role.as_deref(),
            Some("member")
        );
        let own = map(&[], Some("viewer"));
        let r = own.resolve(&BTreeSet::new());
        assert_eq!((r.role.as_deref(), r.roles.len()), (Some("viewer"), 0));
        assert_eq!(
            RoleMap::default().resolve(&groups(&["x"])),
            Resolved::default()
        );
    }

    #[test]
    fn two_groups_with_one_role_list_it_once() {
        let m = map(&[("a", "admin"), ("b", "admin")], None);
        assert_eq!(m.resolve(&groups(&["a", "b"])).roles, ["admin"]);
    }

    #[test]
    fn bad_catalogues_and_maps_are_refused_with_the_reason() {
        let mut c = catalogue();
        c.roles[0].slug = "Admin".into();
        assert!(c.validate().unwrap_err().0.contains("lower-case"));
        let mut c = catalogue();
        c.default = Some("owner".into());
        assert!(c.validate().unwrap_err().0.contains("not a declared role"));
        let twice = vec![
            Assignment {
                group_id: "g".into(),
                role: "admin".into(),
            };
            2
        ];
        assert!(catalogue().complete(twice, None).is_err());
        let unknown = vec![Assignment {
            group_id: "g".into(),
            role: "owner".into(),
        }];
        assert!(catalogue().complete(unknown, None).is_err());
    }

    #[test]
    fn affected_groups_are_both_maps_groups_or_everyone_when_the_default_moves() {
        let a = map(&[("g1", "admin")], None);
        let b = map(&[("g2", "admin")], None);
        assert_eq!(a.affected_groups(&b), Some(groups(&["g1", "g2"])));
        assert_eq!(a.affected_groups(&a), Some(BTreeSet::new()));
        assert_eq!(
            a.affected_groups(&map(&[("g1", "admin")], Some("viewer"))),
            None
        );
    }
}
