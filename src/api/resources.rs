//! /Users and /Groups over HTTP: parse the request, call the service, render the answer (2.0 or
//! 1.1, with the projection the client asked for). No orchestration lives here.

use lambda_http::http::Method;
use serde_json::{json, Value};

use super::request::{ScimRequest, Version};
use super::response::ScimResponse;
use super::App;
use crate::scim::change::{self, Outcome};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::list::{list_response, ListQuery, Projection};
use crate::scim::patch::PatchRequest;
use crate::scim::resource;
use crate::scim::schema::ResourceKind;
use crate::scim::v1;
use crate::service::write::{etag_matches, Change, Updated, Written};
use crate::service::Record;
use crate::service::{listing, Reference};

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
            list(app, kind, req, ListQuery::from_query(req.query_pairs())?).await
        }
        (&Method::POST, Some(".search")) => {
            list(app, kind, req, ListQuery::from_search(&req.json()?)?).await
        }
        (&Method::POST, None) => create(app, kind, req).await,
        (&Method::GET, Some(id)) => get(app, kind, req, id).await,
        (&Method::PUT, Some(id)) => {
            let outcome = outcome(kind, req)?;
            update(app, kind, req, id, Change::Replace(&outcome)).await
        }
        (&Method::PATCH, Some(id)) => {
            let raw = req.json()?;
            let ops = match req.version {
                Version::V2 => PatchRequest::parse(&raw, kind)?,
                Version::V1 => v1::patch_from_v1(kind, &raw)?,
            };
            update(app, kind, req, id, Change::Patch(&ops)).await
        }
        (&Method::DELETE, Some(id)) => {
            let dir = &req.directory;
            app.service
                .delete(dir, kind, id, req.header("if-match"))
                .await?;
            Ok(ScimResponse::empty(204))
        }
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

/// The request body (1.1 bodies translated first) as the resource it asks for.
fn outcome(kind: ResourceKind, req: &ScimRequest) -> Result<Outcome, ScimError> {
    let v = req.json()?;
    let v = match req.version {
        Version::V2 => v,
        Version::V1 => v1::resource_from_v1(kind, v),
    };
    change::replace(kind, &v)
}

pub(super) fn location(req: &ScimRequest, kind: ResourceKind, id: &str) -> String {
    format!("{}/{}/{}", req.base_url, kind.endpoint(), id)
}

async fn create(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let (record, members) = app
        .service
        .create(&req.directory, kind, outcome(kind, req)?)
        .await?;
    let refs: Vec<Reference> = members
        .into_iter()
        .map(|id| Reference { id, display: None })
        .collect();
    let out = render(req, kind, &record, Some(&refs), &projection(req));
    Ok(ScimResponse::json(201, out)
        .with_etag(record.meta.etag())
        .with_location(location(req, kind, &record.id)))
}

async fn get(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
) -> Result<ScimResponse, ScimError> {
    let record = app.service.get(&req.directory, kind, id).await?;
    if let Some(tags) = req.header("if-none-match") {
        if etag_matches(tags, &record.meta) {
            return Ok(ScimResponse::empty(304).with_etag(record.meta.etag()));
        }
    }
    respond(app, kind, req, &record, Refs::Read).await
}

async fn update(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    id: &str,
    change: Change<'_>,
) -> Result<ScimResponse, ScimError> {
    let is_patch = matches!(change, Change::Patch(_));
    let proj = projection(req);
    let Updated {
        written,
        members,
        groups,
    } = app
        .service
        .update(
            &req.directory,
            kind,
            id,
            change,
            req.header("if-match"),
            &proj,
        )
        .await?;
    // Group PATCHes answer 204 (RFC 7644 §3.5.2 allows it) so a PATCH to a 50,000-member group
    // never serializes the group; a client asking for attributes gets 200 with them.
    if is_patch
        && kind == ResourceKind::Group
        && proj.attributes.is_empty()
        && proj.excluded.is_empty()
    {
        let r = ScimResponse::empty(204);
        return Ok(match written {
            Written::Record(rec) => r.with_etag(rec.meta.etag()),
            Written::MembersOnly => r,
        });
    }
    let record = match written {
        Written::Record(r) => *r,
        Written::MembersOnly => app.service.get(&req.directory, kind, id).await?,
    };
    // A user's groups read beside the write, or a group's members as the write left them.
    let members = members.map(|ids| {
        let refs = ids.into_iter().map(|id| Reference { id, display: None });
        Refs::Beside(Ok(refs.collect()))
    });
    let refs = groups.map(Refs::Beside).or(members);
    respond(app, kind, req, &record, refs.unwrap_or(Refs::AfterWrite)).await
}

/// Where an answer's references come from.
enum Refs {
    /// Read now, for a read: too many fails the request.
    Read,
    /// Read now, after a write: too many are left out rather than failing the request (the
    /// write already happened).
    AfterWrite,
    /// Read beside the write (a user's groups, `Service::update`); too many are left out.
    Beside(Result<Vec<Reference>, ScimError>),
}

/// 200 with one resource as the request's projection asks, and its ETag.
async fn respond(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    record: &Record,
    refs: Refs,
) -> Result<ScimResponse, ScimError> {
    let proj = projection(req);
    let written = !matches!(refs, Refs::Read);
    let read = match refs {
        Refs::Beside(Ok(groups)) => Ok(vec![Some(groups)]),
        Refs::Beside(Err(e)) if e.scim_type == Some(ScimType::TooMany) => Err(e),
        // The read beside the write failed; the write committed: read them again.
        Refs::Beside(Err(_)) | Refs::Read | Refs::AfterWrite => {
            app.service
                .references_shown(&req.directory, kind, &[record], &proj, true)
                .await
        }
    };
    let refs = match read {
        Err(e) if written && e.scim_type == Some(ScimType::TooMany) => vec![None],
        other => other?,
    };
    let refs = refs.into_iter().next().flatten();
    let out = render(req, kind, record, refs.as_deref(), &proj);
    Ok(ScimResponse::json(200, out).with_etag(record.meta.etag()))
}

async fn list(
    app: &App,
    kind: ResourceKind,
    req: &ScimRequest,
    q: ListQuery,
) -> Result<ScimResponse, ScimError> {
    let page = listing::list(&app.service, &req.directory, kind, &q).await?;
    let resources: Vec<Value> = page
        .records
        .iter()
        .zip(&page.refs)
        .map(|(r, refs)| render(req, kind, r, refs.as_deref(), &q.projection))
        .collect();
    let mut body = list_response(
        page.total.unwrap_or(0) as usize,
        page.start_index.unwrap_or(1),
        resources,
    );
    if let Some(o) = body.as_object_mut() {
        if page.total.is_none() {
            o.remove("totalResults");
        }
        if page.start_index.is_none() {
            o.remove("startIndex");
        }
    }
    if let Some(c) = page.next_cursor {
        body["nextCursor"] = json!(c);
    }
    Ok(ScimResponse::json(
        200,
        match req.version {
            Version::V2 => body,
            Version::V1 => v1::list_to_v1(body),
        },
    ))
}

/// POST `/.search` at the root (RFC 7644 §3.4.3).
pub async fn search_all(
    app: &App,
    req: &ScimRequest,
    q: ListQuery,
) -> Result<ScimResponse, ScimError> {
    let (total, found) = listing::search_all(&app.service, &req.directory, &q).await?;
    let resources = found
        .iter()
        .map(|(kind, r, refs)| render(req, *kind, r, refs.as_deref(), &q.projection))
        .collect();
    Ok(ScimResponse::json(
        200,
        list_response(total, q.start_index, resources),
    ))
}

/// References as the SCIM attribute shows them: a group's `members`, a user's `groups`.
fn reference_values(req: &ScimRequest, kind: ResourceKind, refs: &[Reference]) -> Vec<Value> {
    refs.iter()
        .map(|r| match kind {
            ResourceKind::Group => json!({
                "value": r.id,
                "$ref": location(req, ResourceKind::User, &r.id),
                "type": "User",
            }),
            ResourceKind::User => json!({
                "value": r.id,
                "$ref": location(req, ResourceKind::Group, &r.id),
                "display": r.display,
                "type": "direct",
            }),
        })
        .collect()
}

fn render(
    req: &ScimRequest,
    kind: ResourceKind,
    r: &Record,
    refs: Option<&[Reference]>,
    proj: &Projection,
) -> Value {
    let full = resource::render(
        kind,
        &r.id,
        &r.body,
        &r.meta,
        &location(req, kind, &r.id),
        refs.map(|refs| reference_values(req, kind, refs)),
    );
    let projected = proj.apply(kind, full);
    match req.version {
        Version::V2 => projected,
        Version::V1 => v1::resource_to_v1(kind, projected),
    }
}
