//! The references a resource shows: a group's `members` (user ids) and a user's `groups` (group
//! ids with their display names). Edges are read in parallel, a bounded number at a time; a
//! user's edges to groups that no longer exist (or are not created yet) are left out, which is
//! what makes a large group delete invisible while its edges are being removed.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{visible, Service};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::ResourceKind;
use crate::store::{caller, deadline, keys, Record, StoreError};

/// Most group members / user groups one response lists (Lambda's 6 MB response limit).
pub const MAX_INLINE_REFERENCES: usize = 25_000;
/// Edge Queries of one request in flight at once.
const PARALLEL_READS: usize = 16;

/// One reference: the other side's id and, for a user's groups, the group's displayName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub id: String,
    pub display: Option<String>,
}

impl Service {
    /// The references of each record, in order. `TooMany` when they would not fit a response.
    pub async fn references(
        &self,
        dir: &str,
        kind: ResourceKind,
        records: &[&Record],
    ) -> Result<Vec<Vec<Reference>>, ScimError> {
        let mut edges: Vec<Vec<String>> = vec![Vec::new(); records.len()];
        let until = deadline::current();
        let mut tasks = tokio::task::JoinSet::new();
        // Each read stops one past what the response could still take, so a page holding a
        // 50,000-member group reads at most `MAX_INLINE_REFERENCES + 1` of its edges.
        let mut total = 0;
        for (i, r) in records.iter().enumerate() {
            // No edge was ever added to this user: nothing to read.
            if r.never_grouped {
                continue;
            }
            while tasks.len() >= PARALLEL_READS {
                let (i, ids) = joined(tasks.join_next().await)?;
                total += ids.len();
                edges[i] = ids;
            }
            if total > MAX_INLINE_REFERENCES {
                break;
            }
            let limit = MAX_INLINE_REFERENCES + 1 - total;
            let store = self.store.clone();
            let dir = dir.to_string();
            let prefix = match kind {
                ResourceKind::User => keys::member_of_prefix(&r.id),
                ResourceKind::Group => keys::member_prefix(&r.id),
            };
            tasks.spawn(caller::inherit(deadline::at(until, async move {
                (i, store.edge_page(&dir, &prefix, limit).await)
            })));
        }
        while !tasks.is_empty() {
            let (i, ids) = joined(tasks.join_next().await)?;
            total += ids.len();
            edges[i] = ids;
        }
        if total > MAX_INLINE_REFERENCES {
            return Err(too_many(kind, total));
        }
        if kind == ResourceKind::Group {
            return Ok(edges
                .into_iter()
                .map(|ids| {
                    ids.into_iter()
                        .map(|id| Reference { id, display: None })
                        .collect()
                })
                .collect());
        }
        self.with_group_names(dir, edges).await
    }

    /// A user's groups, read by its id alone: a PUT or PATCH of a user reads them beside its
    /// own read and write (`write.rs`), so its answer waits for no round trip after the write.
    /// `TooMany` as [`Service::references`].
    pub async fn groups_of_user(&self, dir: &str, id: &str) -> Result<Vec<Reference>, ScimError> {
        let prefix = keys::member_of_prefix(id);
        let ids = self
            .store
            .edge_page(dir, &prefix, MAX_INLINE_REFERENCES + 1)
            .await?;
        if ids.len() > MAX_INLINE_REFERENCES {
            return Err(too_many(ResourceKind::User, ids.len()));
        }
        let mut named = self.with_group_names(dir, vec![ids]).await?;
        Ok(named.pop().unwrap_or_default())
    }

    /// A user's group edges as references with each group's displayName; edges to groups that
    /// are gone or not created yet are left out.
    async fn with_group_names(
        &self,
        dir: &str,
        edges: Vec<Vec<String>>,
    ) -> Result<Vec<Vec<Reference>>, ScimError> {
        let all: Vec<String> = edges
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: HashMap<String, String> = self
            .store
            .get_many(dir, ResourceKind::Group, &all)
            .await?
            .into_iter()
            .filter(visible)
            .map(|g| {
                let name = g
                    .body
                    .get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (g.id, name)
            })
            .collect();
        Ok(edges
            .into_iter()
            .map(|ids| {
                ids.into_iter()
                    .filter_map(|id| {
                        let display = names.get(&id)?.clone();
                        Some(Reference {
                            id,
                            display: Some(display),
                        })
                    })
                    .collect()
            })
            .collect())
    }
}

/// More references than a response takes (`total` at least).
fn too_many(kind: ResourceKind, total: usize) -> ScimError {
    let attr = match kind {
        ResourceKind::User => "groups",
        ResourceKind::Group => "members",
    };
    ScimError::bad(
        ScimType::TooMany,
        format!(
            "this response would list at least {total} memberships (more than \
             {MAX_INLINE_REFERENCES}); ask with excludedAttributes={attr} or a smaller count"
        ),
    )
}

type Edges = (usize, Result<Vec<String>, StoreError>);

fn joined(
    j: Option<Result<Edges, tokio::task::JoinError>>,
) -> Result<(usize, Vec<String>), ScimError> {
    match j {
        Some(Ok((i, ids))) => Ok((i, ids?)),
        Some(Err(e)) => Err(StoreError::Task(e).into()),
        None => Err(StoreError::Bug("no read task to join").into()),
    }
}
