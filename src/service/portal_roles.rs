//! The Admin Portal's Roles step: the customer's IT admin picks which of their own groups give
//! each of the application's roles, in priority order, and saves (`roles::put_assignments`, the
//! use case the management API and `scimctl roles assign` call).
//!
//! The admin edits a [`Draft`] — the assignments in priority order and the directory's own
//! default — that travels with the page's form: adding a group found by name, moving one up or
//! down, removing one. Nothing is stored until Save, so ten edits re-resolve users once, not ten
//! times. A draft is only a request's values: its group ids are looked up in the session's
//! directory (another directory's id is not found there and saving it is refused, 400), and it
//! is saved for the session's directory only.
//!
//! DynamoDB round trips for the page (budget in tests/it/portal.rs): the session (GetItem), the
//! catalogue (this process's copy, `roles::cached_catalogue`: none while warm), the directory's
//! map (GetItem), the names of the draft's groups (BatchGetItem; none for an empty draft), and a
//! page of the directory's groups by name (`directory_reads::search_groups`: the directory, the
//! name guards, the groups) — 6, whatever the directory's size.

use std::sync::Arc;

use super::directory_reads::{self, NormalisedGroup, ResourcePage};
use super::management::ManagementError;
use super::portal::{note, PortalError, PortalSession};
use super::roles::{self, PutAssignments, RoleAssignments, SyncStatus};
use super::Service;
use crate::roles::{Assignment, RoleCatalogue, RoleMap, MAX_ASSIGNMENTS};
use crate::scim::resource::is_id;
use crate::scim::schema::ResourceKind;

/// A directory's map as the IT admin is editing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Highest priority first.
    pub assignments: Vec<Assignment>,
    /// The directory's own default (`None`: the application's).
    pub default: Option<String>,
}

impl From<&RoleMap> for Draft {
    fn from(m: &RoleMap) -> Self {
        Draft {
            assignments: m.assignments.clone(),
            default: m.default.clone(),
        }
    }
}

/// One change to a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// `role` for the group: appended (lowest priority), or in place if it is listed already.
    Add {
        group_id: String,
        role: String,
    },
    /// Moves the assignment at this position (0 = highest) one up.
    Up(usize),
    Down(usize),
    Remove(usize),
}

/// Why an edit was not made (the page says it; the draft is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Draft {
    pub fn apply(&mut self, edit: Edit) -> Result<(), Refused> {
        let a = &mut self.assignments;
        match edit {
            Edit::Add { group_id, role } => {
                if let Some(listed) = a.iter_mut().find(|x| x.group_id == group_id) {
                    listed.role = role;
                } else if a.len() >= MAX_ASSIGNMENTS {
                    return Err(Refused(format!(
                        "At most {MAX_ASSIGNMENTS} groups can give roles: remove one first."
                    )));
                } else {
                    a.push(Assignment { group_id, role });
                }
            }
            Edit::Up(i) if i > 0 && i < a.len() => a.swap(i - 1, i),
            Edit::Down(i) if i + 1 < a.len() => a.swap(i, i + 1),
            Edit::Remove(i) if i < a.len() => {
                a.remove(i);
            }
            // A position past either end (a page older than the draft): nothing to move.
            Edit::Up(_) | Edit::Down(_) | Edit::Remove(_) => {}
        }
        Ok(())
    }
}

/// An assignment of the draft as the page shows it.
#[derive(Debug, Clone)]
pub struct DraftRow {
    pub group_id: String,
    /// The group's name; `None` when it is not a group of this directory (deleted, or an id
    /// from elsewhere): saving is refused until it is removed.
    pub group_name: Option<String>,
    pub role: String,
}

/// What the Roles page shows.
#[derive(Debug, Clone)]
pub struct RolesView {
    pub catalogue: Arc<RoleCatalogue>,
    pub rows: Vec<DraftRow>,
    pub default: Option<String>,
    /// Whether the draft is the saved map (else the page says there are unsaved changes).
    pub saved: bool,
    /// A page of the directory's groups whose name starts with the search.
    pub groups: ResourcePage<NormalisedGroup>,
}

impl RolesView {
    /// The role a listed group gives, if it is in the draft.
    pub fn role_of(&self, group_id: &str) -> Option<&str> {
        self.rows
            .iter()
            .find(|r| r.group_id == group_id)
            .map(|r| r.role.as_str())
    }
}

/// The Roles page: `draft` (the saved map when `None`) with its groups' names, and a page of the
/// directory's groups whose name starts with `q`.
pub async fn view(
    svc: &Service,
    s: &PortalSession,
    draft: Option<Draft>,
    q: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<RolesView, PortalError> {
    let dir = s.directory_id();
    let catalogue = roles::cached_catalogue(svc).await?;
    if catalogue.roles.is_empty() {
        return Err(PortalError::NoRoles);
    }
    let drafted = async {
        let saved = Draft::from(&svc.store.read_settings(dir).await?.roles);
        let draft = draft.unwrap_or_else(|| saved.clone());
        // Only well-formed ids are looked up (a key is built from each); the rest are not found.
        let ids: Vec<String> = draft
            .assignments
            .iter()
            .map(|a| a.group_id.clone())
            .filter(|id| is_id(id))
            .collect();
        let found = svc.store.get_many(dir, ResourceKind::Group, &ids).await?;
        Ok::<_, PortalError>((saved, draft, found))
    };
    let search = async {
        let prefix = q.unwrap_or("");
        match directory_reads::search_groups(svc, dir, prefix, after, limit).await {
            // A cursor of another search (the admin typed a new name, then pressed a move):
            // the first page of this one.
            Err(ManagementError::Scim(e)) if e.status == 400 && after.is_some() => {
                directory_reads::search_groups(svc, dir, prefix, None, limit).await
            }
            other => other,
        }
        .map_err(PortalError::from)
    };
    let ((saved, draft, found), groups) = tokio::try_join!(drafted, search)?;
    let rows = draft
        .assignments
        .iter()
        .map(|a| DraftRow {
            group_name: found.iter().find(|g| g.id == a.group_id).map(|g| {
                g.body
                    .get("displayName")
                    .and_then(|n| n.as_str())
                    .unwrap_or(&g.id)
                    .to_string()
            }),
            group_id: a.group_id.clone(),
            role: a.role.clone(),
        })
        .collect();
    Ok(RolesView {
        catalogue,
        rows,
        saved: draft == saved,
        default: draft.default,
        groups,
    })
}

/// Saves `draft` as the session's directory's map, re-resolves the users it changes (one
/// `dsync.user.updated` each) and records it in the portal activity (`roles_assigned`).
pub async fn save(
    svc: &Service,
    s: &PortalSession,
    draft: Draft,
) -> Result<RoleAssignments, PortalError> {
    let put = PutAssignments {
        assignments: draft.assignments,
        default: draft.default,
    };
    let saved = match roles::put_assignments(svc, s.directory_id(), put).await {
        Err(ManagementError::Deleting(_)) => return Err(PortalError::SessionEnded),
        other => other?,
    };
    let pending = if saved.sync.state == SyncStatus::Pending {
        "; pending"
    } else {
        ""
    };
    let subject = format!(
        "{} group assignments; {} users updated{pending}",
        saved.assignments.len(),
        saved.sync.users_updated
    );
    note(svc, s, "roles_assigned", Some(&subject)).await?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(groups: &[&str]) -> Draft {
        Draft {
            assignments: groups
                .iter()
                .map(|g| Assignment {
                    group_id: g.to_string(),
                    role: "member".into(),
                })
                .collect(),
            default: None,
        }
    }

    fn order(d: &Draft) -> Vec<&str> {
        d.assignments.iter().map(|a| a.group_id.as_str()).collect()
    }

    #[test]
    fn groups_move_up_and_down_and_out_and_past_the_ends_nothing_moves() {
        let mut d = draft(&["a", "b", "c"]);
        d.apply(Edit::Up(2)).unwrap();
        assert_eq!(order(&d), ["a", "c", "b"]);
        d.apply(Edit::Down(0)).unwrap();
        assert_eq!(order(&d), ["c", "a", "b"]);
        d.apply(Edit::Up(0)).unwrap();
        d.apply(Edit::Down(2)).unwrap();
        d.apply(Edit::Remove(9)).unwrap();
        assert_eq!(order(&d), ["c", "a", "b"]);
        d.apply(Edit::Remove(1)).unwrap();
        assert_eq!(order(&d), ["c", "b"]);
    }

    #[test]
    fn adding_appends_a_new_group_and_changes_a_listed_ones_role_in_place() {
        let mut d = draft(&["a", "b"]);
        let add = |g: &str, r: &str| Edit::Add {
            group_id: g.into(),
            role: r.into(),
        };
        d.apply(add("c", "admin")).unwrap();
        assert_eq!(order(&d), ["a", "b", "c"]);
        d.apply(add("a", "admin")).unwrap();
        assert_eq!(order(&d), ["a", "b", "c"]);
        assert_eq!(d.assignments[0].role, "admin");
        let mut full = draft(&[]);
        for i in 0..MAX_ASSIGNMENTS {
            full.apply(add(&i.to_string(), "member")).unwrap();
        }
        assert!(full.apply(add("one-more", "member")).is_err());
    }
}
