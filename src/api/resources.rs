//! /Users and /Groups: create, read, list/search, replace, patch, delete — the same flow for both
//! kinds, with the kind deciding what the references are (a user's `groups`, a group's `members`).
//!
//! Every write is read → compute → conditional write on the version read. Without `If-Match` a
//! lost race is retried on the fresh version (so concurrent PATCHes both land); with `If-Match` it
//! is the client's 412 (RFC 7644 §3.14).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lambda_http::http::Method;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::request::{ScimRequest, Version};
use super::response::ScimResponse;
use super::{listing, App};
use crate::clock;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::list::{ListQuery, Projection};
use crate::scim::patch::{self, MemberChange, PatchRequest};
use crate::scim::resource::{self, Meta};
use crate::scim::schema::ResourceKind;
use crate::scim::v1;
use crate::store::{Record, StoreError};

/// Most group members / user groups one response lists (Lambda's 6 MB response limit).
pub const MAX_INLINE_REFERENCES: usize = 25_000;
/// How often a write is re-read and retried after losing a race (no If-Match given).
const WRITE_ATTEMPTS: usize = 5;

pub async fn serve(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let id = req.segments.get(1).map(String::as_str);
    if req.segments.len() > 2 {
        return Err(ScimError::not_found("no such resource path"));
    }
    match (&req.method, id) {
        (&Method::GET, None) => {
            let q = ListQuery::from_query(req.query_pairs())?;
            listing::list(app, kind, req, q).await
        }
        (&Method::POST, Some(".search")) => {
            let q = ListQuery::from_search(&req.json()?)?;
            listing::list(app, kind, req, q).await
        }
        (&Method::POST, None) => create(app, kind, req).await,
        (&Method::GET, Some(id)) => get(app, kind, req, id).await,
        (&Method::PUT, Some(id)) => replace(app, kind, req, id).await,
        (&Method::PATCH, Some(id)) => patch(app, kind, req, id).await,
        (&Method::DELETE, Some(id)) => delete(app, kind, req, id).await,
        (m, _) => Err(ScimError::method_not_allowed(format!(
            "{m} is not supported on this path"
        ))),
    }
}

fn projection(req: &ScimRequest) -> Projection {
    Projection::parse(
        req.query_value("attributes"),
        req.query_value("excludedAttributes"),
    )
}

/// The request body as a 2.0 resource (1.1 bodies are translated first).
fn body(kind: ResourceKind, req: &ScimRequest) -> Result<Value, ScimError> {
    let v = req.json()?;
    Ok(match req.version {
        Version::V2 => v,
        Version::V1 => v1::resource_from_v1(kind, v),
    })
}

pub(super) fn location(req: &ScimRequest, kind: ResourceKind, id: &str) -> String {
    format!("{}/{}/{}", req.base_url, kind.endpoint(), id)
}

async fn create(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let incoming = resource::incoming(kind, &body(kind, req)?)?;
    let now = clock::now_rfc3339();
    let record = Record {
        id: Uuid::now_v7().to_string(),
        body: incoming.body,
        meta: Meta {
            created: now.clone(),
            last_modified: now,
            version: 1,
        },
    };
    let members = incoming.members.unwrap_or_default();
    app.store
        .create(&req.directory, kind, &record, &members)
        .await?;
    let refs = match kind {
        ResourceKind::Group => Some(member_refs(req, &members)),
        ResourceKind::User => Some(Vec::new()),
    };
    let out = render(req, kind, &record, refs, &projection(req));
    Ok(ScimResponse::json(201, out)
        .with_etag(record.meta.etag())
        .with_location(location(req, kind, &record.id)))
}

async fn load(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
) -> Result<Record, ScimError> {
    app.store
        .get(&req.directory, kind, id)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("{} {id} not found", kind.name())))
}

async fn get(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    let record = load(app, kind, req, id).await?;
    if let Some(tags) = req.header("if-none-match") {
        if etag_matches(tags, &record.meta) {
            let mut r = ScimResponse::empty(304);
            r.etag = Some(record.meta.etag());
            return Ok(r);
        }
    }
    respond(app, kind, req, &record, false).await
}

/// RFC 7232 list of entity tags; `*` matches any. Weak comparison (the version is what counts).
fn etag_matches(header: &str, meta: &Meta) -> bool {
    let ours = meta.version.to_string();
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == ours)
}

fn check_if_match(req: &ScimRequest, record: &Record) -> Result<(), ScimError> {
    match req.header("if-match") {
        Some(tags) if !etag_matches(tags, &record.meta) => {
            Err(ScimError::precondition_failed(format!(
                "If-Match does not match the current version {}",
                record.meta.etag()
            )))
        }
        _ => Ok(()),
    }
}

async fn replace(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    let incoming = resource::incoming(kind, &body(kind, req)?)?;
    for attempt in 1..=WRITE_ATTEMPTS {
        let old = load(app, kind, req, id).await?;
        check_if_match(req, &old)?;
        let new = next_version(&old, incoming.body.clone());
        let (add, remove) = match kind {
            ResourceKind::Group => {
                let current = app.store.members_of_group(&req.directory, id).await?;
                let wanted = incoming.members.clone().unwrap_or_default();
                diff(&current, &wanted)
            }
            ResourceKind::User => (Vec::new(), Vec::new()),
        };
        match app
            .store
            .replace(&req.directory, kind, &old, &new, &add, &remove)
            .await
        {
            Ok(()) => return respond(app, kind, req, &new, true).await,
            Err(StoreError::VersionMismatch) if retryable(req, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::VersionMismatch.into())
}

fn retryable(req: &ScimRequest, attempt: usize) -> bool {
    req.header("if-match").is_none() && attempt < WRITE_ATTEMPTS
}

fn next_version(old: &Record, body: Map<String, Value>) -> Record {
    Record {
        id: old.id.clone(),
        body,
        meta: Meta {
            created: old.meta.created.clone(),
            last_modified: clock::now_rfc3339(),
            version: old.meta.version + 1,
        },
    }
}

/// (to add, to remove) turning `current` into `wanted`.
fn diff(current: &[String], wanted: &[String]) -> (Vec<String>, Vec<String>) {
    let cur: BTreeSet<&String> = current.iter().collect();
    let want: BTreeSet<&String> = wanted.iter().collect();
    (
        want.difference(&cur).map(|s| s.to_string()).collect(),
        cur.difference(&want).map(|s| s.to_string()).collect(),
    )
}

async fn patch(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    let raw = req.json()?;
    let ops = match req.version {
        Version::V2 => PatchRequest::parse(&raw, kind)?,
        Version::V1 => v1::patch_from_v1(kind, &raw)?,
    };
    for attempt in 1..=WRITE_ATTEMPTS {
        let old = load(app, kind, req, id).await?;
        check_if_match(req, &old)?;
        let mut value = Value::Object(old.body.clone());
        value["id"] = json!(old.id);
        let changes = patch::apply(&mut value, &ops, kind)?;
        let incoming = resource::incoming(kind, &value)?;
        let (add, remove) = member_delta(app, req, id, &changes).await?;
        let unchanged = incoming.body == old.body && add.is_empty() && remove.is_empty();
        let new = if unchanged {
            old.clone()
        } else {
            next_version(&old, incoming.body)
        };
        if !unchanged {
            match app
                .store
                .replace(&req.directory, kind, &old, &new, &add, &remove)
                .await
            {
                Ok(()) => {}
                Err(StoreError::VersionMismatch) if retryable(req, attempt) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let proj = projection(req);
        // Groups answer 204 (RFC 7644 §3.5.2 allows it) so a PATCH to a 50,000-member group never
        // serializes the group; a client asking for attributes gets 200 with them.
        if kind == ResourceKind::Group && proj.attributes.is_empty() && proj.excluded.is_empty() {
            return Ok(ScimResponse::empty(204).with_etag(new.meta.etag()));
        }
        return respond(app, kind, req, &new, true).await;
    }
    Err(StoreError::VersionMismatch.into())
}

/// Folds PATCH member changes (in order) into the edges to add and remove. The current member list
/// is read only when a change is relative to it (replace, remove-all).
async fn member_delta(
    app: &App,
    req: &ScimRequest,
    group: &str,
    changes: &[MemberChange],
) -> Result<(Vec<String>, Vec<String>), ScimError> {
    if changes.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let needs_current = changes
        .iter()
        .any(|c| matches!(c, MemberChange::Replace(_) | MemberChange::RemoveAll));
    let current: BTreeSet<String> = if needs_current {
        app.store
            .members_of_group(&req.directory, group)
            .await?
            .into_iter()
            .collect()
    } else {
        BTreeSet::new()
    };
    // id → wanted membership after all changes.
    let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
    let set_all = |wanted: &mut BTreeMap<String, bool>, v: bool| {
        for id in &current {
            wanted.insert(id.clone(), v);
        }
        for w in wanted.values_mut() {
            *w = v;
        }
    };
    for change in changes {
        match change {
            MemberChange::Add(ids) => ids.iter().for_each(|i| {
                wanted.insert(i.clone(), true);
            }),
            MemberChange::Remove(ids) => ids.iter().for_each(|i| {
                wanted.insert(i.clone(), false);
            }),
            MemberChange::RemoveAll => set_all(&mut wanted, false),
            MemberChange::Replace(ids) => {
                set_all(&mut wanted, false);
                ids.iter().for_each(|i| {
                    wanted.insert(i.clone(), true);
                });
            }
        }
    }
    let add = wanted
        .iter()
        .filter(|(id, w)| **w && !current.contains(*id))
        .map(|(id, _)| id.clone())
        .collect();
    let remove = wanted
        .iter()
        .filter(|(id, w)| !**w && (!needs_current || current.contains(*id)))
        .map(|(id, _)| id.clone())
        .collect();
    Ok((add, remove))
}

async fn delete(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    for attempt in 1..=WRITE_ATTEMPTS {
        let old = load(app, kind, req, id).await?;
        check_if_match(req, &old)?;
        match app.store.delete(&req.directory, kind, &old).await {
            Ok(()) => return Ok(ScimResponse::empty(204)),
            Err(StoreError::VersionMismatch) if retryable(req, attempt) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::VersionMismatch.into())
}

/// 200 with one resource as the request's projection asks, and its ETag. After a write
/// (`written`), references too many to list are left out rather than failing the request: the
/// write already happened.
async fn respond(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    record: &Record,
    written: bool,
) -> Result<ScimResponse, ScimError> {
    let proj = projection(req);
    let refs = match references(app, kind, req, &[record], &proj).await {
        Err(e) if written && e.scim_type == Some(ScimType::TooMany) => vec![None],
        other => other?,
    };
    let out = render(req, kind, record, refs.into_iter().next().flatten(), &proj);
    Ok(ScimResponse::json(200, out).with_etag(record.meta.etag()))
}

/// The `groups` of each user or `members` of each group, unless the projection leaves them out.
pub(super) async fn references(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    records: &[&Record],
    proj: &Projection,
) -> Result<Vec<Option<Vec<Value>>>, ScimError> {
    let attr = match kind {
        ResourceKind::User => "groups",
        ResourceKind::Group => "members",
    };
    if proj.skips(kind, attr) || records.is_empty() {
        return Ok(vec![None; records.len()]);
    }
    let dir = req.directory.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, r) in records.iter().enumerate() {
        let store = app.store.clone();
        let (dir, id) = (dir.clone(), r.id.clone());
        tasks.spawn(async move {
            let ids = match kind {
                ResourceKind::User => store.groups_of_user(&dir, &id).await,
                ResourceKind::Group => store.members_of_group(&dir, &id).await,
            };
            (i, ids)
        });
    }
    let mut edges: Vec<Vec<String>> = vec![Vec::new(); records.len()];
    while let Some(joined) = tasks.join_next().await {
        let (i, ids) = joined.map_err(|e| StoreError::Dynamo(format!("task failed: {e}")))?;
        edges[i] = ids?;
    }
    let total: usize = edges.iter().map(Vec::len).sum();
    if total > MAX_INLINE_REFERENCES {
        // Lambda responses are capped at 6 MB; ~150 bytes a reference.
        return Err(ScimError::bad(
            ScimType::TooMany,
            format!(
                "this response would list {total} memberships (more than {MAX_INLINE_REFERENCES}); \
                 ask with excludedAttributes={attr} or a smaller count"
            ),
        ));
    }
    Ok(match kind {
        ResourceKind::Group => edges
            .iter()
            .map(|ids| Some(member_refs(req, ids)))
            .collect(),
        ResourceKind::User => {
            let all: Vec<String> = edges
                .iter()
                .flatten()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let names: HashMap<String, String> = app
                .store
                .get_many(&req.directory, ResourceKind::Group, &all)
                .await?
                .into_iter()
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
            edges
                .iter()
                .map(|ids| {
                    Some(
                        ids.iter()
                            .filter_map(|g| {
                                let display = names.get(g)?;
                                Some(json!({
                                    "value": g,
                                    "$ref": location(req, ResourceKind::Group, g),
                                    "display": display,
                                    "type": "direct",
                                }))
                            })
                            .collect(),
                    )
                })
                .collect()
        }
    })
}

fn member_refs(req: &ScimRequest, ids: &[String]) -> Vec<Value> {
    ids.iter()
        .map(|u| {
            json!({
                "value": u,
                "$ref": location(req, ResourceKind::User, u),
                "type": "User",
            })
        })
        .collect()
}

pub(super) fn render(
    req: &ScimRequest,
    kind: ResourceKind,
    r: &Record,
    refs: Option<Vec<Value>>,
    proj: &Projection,
) -> Value {
    let full = resource::render(
        kind,
        &r.id,
        &r.body,
        &r.meta,
        &location(req, kind, &r.id),
        refs,
    );
    let projected = proj.apply(kind, full);
    match req.version {
        Version::V2 => projected,
        Version::V1 => v1::resource_to_v1(kind, projected),
    }
}
