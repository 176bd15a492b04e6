//! GET /Users|/Groups and POST .search: filter, sort, and both paging methods.
//!
//! - Index paging (RFC 7644 §3.4.2.4, `startIndex`/`count`): resources in id (creation) order.
//!   Each full page leaves a page anchor, so the next page resumes after the last id served
//!   instead of re-reading everything before it (an import of 10,000 users in pages of 100 reads
//!   each user once, not 50 times on average).
//! - Cursor paging (RFC 9865, `cursor`): a signed cursor holds the last id served.
//! - `sortBy`: the matching set is read and sorted in memory; pages are slices of it.
//!
//! Filters use an index when the plan has one (`scim::plan`), else a Query over the directory's
//! partition page by page — never a table Scan.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{visible, Reference, Service};
use crate::clock;
use crate::scim::cursor::{query_hash, Cursor, CURSOR_TIMEOUT_SECS};
use crate::scim::error::ScimError;
use crate::scim::filter::{self, Filter};
use crate::scim::list::{ListQuery, Projection};
use crate::scim::plan::{self, Lookup, Plan};
use crate::scim::resource::{self, is_id, key_len, MAX_KEYED_VALUE};
use crate::scim::schema::ResourceKind;
use crate::scim::sort::SortKey;
use crate::store::keys::Index;
use crate::store::paging::Anchor;
use crate::store::Record;

/// Page size when evaluating a filter no index answers.
const PARTITION_PAGE: usize = 500;
/// Most resources one list or search request reads, matching or not, whatever the directory's
/// size: a filter no index answers, a sort, a count of a filtered set, the root `.search`.
/// About 400 read units and a few MB of memory at the worst. Cursor paging returns a short page
/// with `nextCursor` when it runs out; everything else answers 400 `tooMany`.
pub const READ_BUDGET: usize = 2_000;
/// Most keys a `startIndex` without a page anchor skips over (keys only, ~70 bytes each).
/// Sequential paging leaves anchors, so imports never get near it.
pub const SKIP_BUDGET: usize = 10_000;

/// What a list request resolved to, before paging.
struct Query<'a> {
    svc: &'a Service,
    kind: ResourceKind,
    dir: &'a str,
    filter: Option<Filter>,
    /// How the filter is answered (None: no filter), decided once per request.
    plan: Option<Plan>,
    /// The query's fingerprint: scopes cursors and anchors.
    hash: String,
}

/// One page and what the response says about the rest.
pub struct Page {
    pub records: Vec<Record>,
    /// Each record's references, where the projection shows them.
    pub refs: Vec<Option<Vec<Reference>>>,
    pub total: Option<u64>,
    pub start_index: Option<usize>,
    pub next_cursor: Option<String>,
}

/// What a budgeted read found.
struct Matches {
    records: Vec<Record>,
    /// More matches follow the last record.
    more: bool,
    /// The read budget ran out before the matches did: the last id read (resume after it).
    cut: Option<String>,
}

/// GET /Users|/Groups and their `.search`: one page of matches.
pub async fn list(
    svc: &Service,
    dir: &str,
    kind: ResourceKind,
    q: &ListQuery,
) -> Result<Page, ScimError> {
    let filter = q
        .filter
        .as_deref()
        .map(|f| filter::parse(f, kind))
        .transpose()?;
    let sort = q
        .sort_by
        .as_deref()
        .map(|s| SortKey::parse(s, q.descending, kind))
        .transpose()?;
    let hash = query_hash(
        dir,
        kind.endpoint(),
        q.filter.as_deref(),
        sort.as_ref().map(SortKey::fingerprint).as_deref(),
    );
    let query = Query::new(svc, kind, dir, filter, hash);
    let mut page = match (&sort, &q.cursor) {
        (Some(sort), _) => query.sorted(sort, q).await?,
        (None, Some(cursor)) => query.by_cursor(cursor, q.count).await?,
        (None, None) => query.by_index(q.start_index, q.count).await?,
    };
    // A user's `groups` costs one Query per user; lists carry it only when `attributes` asks
    // (GET /Users/{id} always does). IdPs read memberships from /Groups.
    let wanted = match kind {
        ResourceKind::User => q.projection.requests(kind, "groups"),
        ResourceKind::Group => true,
    };
    page.refs = svc
        .references_shown(
            dir,
            kind,
            &page.records.iter().collect::<Vec<_>>(),
            &q.projection,
            wanted,
        )
        .await?;
    Ok(page)
}

/// Visible resources of a kind in id (creation) order after the id `after`, at most `limit`,
/// and whether more follow: the loop of an unfiltered SCIM list, for the management API's reads.
pub async fn after(
    svc: &Service,
    dir: &str,
    kind: ResourceKind,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Record>, bool), ScimError> {
    let m = Query::new(svc, kind, dir, None, String::new())
        .matching(after, Some(limit))
        .await?;
    Ok((m.records, m.more))
}

impl Service {
    /// References of `records` unless the projection leaves them out (`wanted` false: not asked).
    pub async fn references_shown(
        &self,
        dir: &str,
        kind: ResourceKind,
        records: &[&Record],
        proj: &Projection,
        wanted: bool,
    ) -> Result<Vec<Option<Vec<Reference>>>, ScimError> {
        let attr = match kind {
            ResourceKind::User => "groups",
            ResourceKind::Group => "members",
        };
        if !wanted || proj.skips(kind, attr) || records.is_empty() {
            return Ok(vec![None; records.len()]);
        }
        Ok(self
            .references(dir, kind, records)
            .await?
            .into_iter()
            .map(Some)
            .collect())
    }
}

impl<'a> Query<'a> {
    fn new(
        svc: &'a Service,
        kind: ResourceKind,
        dir: &'a str,
        filter: Option<Filter>,
        hash: String,
    ) -> Self {
        let plan = filter.as_ref().map(|f| plan::plan(f, kind));
        Query {
            svc,
            kind,
            dir,
            filter,
            plan,
            hash,
        }
    }

    fn matches(&self, r: &Record) -> bool {
        visible(r)
            && self.filter.as_ref().is_none_or(|f| {
                let v = resource::render(self.kind, &r.id, &r.body, &r.meta, "", None);
                filter::matches(f, &v, self.kind)
            })
    }

    /// Matching records in id order after `after`, at most `want` (all when `None`), reading at
    /// most `READ_BUDGET` resources.
    async fn matching(
        &self,
        after: Option<&str>,
        want: Option<usize>,
    ) -> Result<Matches, ScimError> {
        let store = &self.svc.store;
        let limit = want.map_or(READ_BUDGET + 1, |w| w + 1);
        let mut cut = None;
        let mut found: Vec<Record> = match &self.plan {
            None => {
                let mut out = self.visible_after(after, limit).await?;
                if want.is_none() && out.len() > READ_BUDGET {
                    out.truncate(READ_BUDGET);
                    cut = out.last().map(|r| r.id.clone());
                }
                out
            }
            Some(Plan::Lookups(lookups)) => {
                let ids = self.lookup_ids(lookups).await?;
                let mut ids: Vec<String> = ids
                    .into_iter()
                    .filter(|id| after.is_none_or(|a| id.as_str() > a))
                    .take(READ_BUDGET + 1)
                    .collect();
                if ids.len() > READ_BUDGET {
                    ids.truncate(READ_BUDGET);
                    cut = ids.last().cloned();
                }
                let mut rs = store.get_many(self.dir, self.kind, &ids).await?;
                rs.retain(|r| self.matches(r));
                rs.sort_by(|a, b| a.id.cmp(&b.id));
                rs
            }
            Some(Plan::Partition) => {
                let mut out = Vec::new();
                let mut cursor = after.map(str::to_string);
                let mut read = 0;
                loop {
                    let page_size = PARTITION_PAGE.min(READ_BUDGET - read);
                    let (page, more) = store
                        .list_page(self.dir, self.kind, cursor.as_deref(), page_size)
                        .await?;
                    read += page.len();
                    cursor = page.last().map(|r| r.id.clone());
                    out.extend(page.into_iter().filter(|r| self.matches(r)));
                    if !more || cursor.is_none() || out.len() >= limit {
                        break;
                    }
                    if read >= READ_BUDGET {
                        cut = cursor;
                        break;
                    }
                }
                out
            }
        };
        let want = want.unwrap_or(usize::MAX);
        let more = found.len() > want;
        found.truncate(want);
        if more {
            cut = None;
        }
        Ok(Matches {
            records: found,
            more,
            cut,
        })
    }

    /// Up to `limit` visible resources after `after`, reading on past any group still being
    /// created (invisible), so a page is full and `more` is right whenever more visible
    /// resources follow.
    async fn visible_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, ScimError> {
        let mut out: Vec<Record> = Vec::new();
        let mut cursor = after.map(str::to_string);
        loop {
            let (page, more) = self
                .svc
                .store
                .list_page(self.dir, self.kind, cursor.as_deref(), limit - out.len())
                .await?;
            cursor = page.last().map(|r| r.id.clone());
            out.extend(page.into_iter().filter(visible));
            if !more || cursor.is_none() || out.len() >= limit {
                return Ok(out);
            }
        }
    }

    /// Every match when the budget allows, else 400 `tooMany` saying what to ask instead.
    async fn all_matching(&self, what: &str) -> Result<Vec<Record>, ScimError> {
        let m = self.matching(None, None).await?;
        match m.cut {
            None => Ok(m.records),
            Some(_) => Err(self.over_budget(what)),
        }
    }

    fn over_budget(&self, what: &str) -> ScimError {
        ScimError::bad(
            crate::scim::error::ScimType::TooMany,
            format!(
                "{what} would read more than {READ_BUDGET} {}: filter on an indexed attribute \
                 (id, userName, externalId, emails.value, displayName) or page with cursor \
                 (RFC 9865)",
                self.kind.endpoint()
            ),
        )
    }

    async fn lookup_ids(&self, lookups: &[Lookup]) -> Result<BTreeSet<String>, ScimError> {
        let (store, dir) = (&self.svc.store, self.dir);
        let mut ids = BTreeSet::new();
        for l in lookups {
            // A value that cannot be in a key (too long, or not an id we mint) matches nothing.
            let keyable = match l {
                Lookup::Id(id) => is_id(id),
                Lookup::UserName(v)
                | Lookup::ExternalId(v)
                | Lookup::Email(v)
                | Lookup::DisplayName(v) => key_len(v) <= MAX_KEYED_VALUE,
            };
            if !keyable {
                continue;
            }
            match l {
                Lookup::Id(id) => {
                    ids.insert(id.clone());
                }
                Lookup::UserName(name) => ids.extend(
                    store
                        .id_by_unique_name(dir, ResourceKind::User, name)
                        .await?,
                ),
                Lookup::ExternalId(v) => {
                    let index = match self.kind {
                        ResourceKind::User => Index::UserExternalId,
                        ResourceKind::Group => Index::GroupExternalId,
                    };
                    ids.extend(store.ids_by_index(dir, index, v, READ_BUDGET + 1).await?)
                }
                Lookup::Email(v) => ids.extend(
                    store
                        .ids_by_index(dir, Index::UserEmail, v, READ_BUDGET + 1)
                        .await?,
                ),
                Lookup::DisplayName(v) => {
                    ids.extend(store.id_by_unique_name(dir, ResourceKind::Group, v).await?)
                }
            }
        }
        Ok(ids)
    }

    /// startIndex/count. Unfiltered totals come from the directory's counters; filtered totals are
    /// counted on the first page and carried by the anchors.
    async fn by_index(&self, start: usize, count: usize) -> Result<Page, ScimError> {
        let store = &self.svc.store;
        let skip = start - 1;
        let page = |records, total| Page {
            records,
            refs: Vec::new(),
            total: Some(total),
            start_index: Some(start),
            next_cursor: None,
        };
        if count == 0 && self.filter.is_none() {
            return Ok(page(Vec::new(), store.count(self.dir, self.kind).await?));
        }
        if count == 0 || matches!(self.plan, Some(Plan::Lookups(_))) {
            // Index lookups find a handful of candidates: read them all, slice, no anchor.
            let (records, _, total) = self.slice_of_all(skip, count).await?;
            return Ok(page(records, total));
        }
        let anchor = if skip == 0 {
            None
        } else {
            store.anchor(self.dir, &self.hash, skip).await?
        };
        let (records, more, total) = match (anchor, self.filter.is_some()) {
            (Some(a), _) => {
                let m = self.matching(Some(&a.after), Some(count)).await?;
                if m.cut.is_some() {
                    return Err(self.over_budget("this page"));
                }
                (m.records, m.more, a.total)
            }
            (None, false) => {
                if skip > SKIP_BUDGET {
                    return Err(ScimError::bad(
                        crate::scim::error::ScimType::TooMany,
                        format!(
                            "startIndex={start} without the page before it would skip more than \
                             {SKIP_BUDGET} {}: page from startIndex=1 in order (each page leaves \
                             the next one's starting point), or page with cursor (RFC 9865)",
                            self.kind.endpoint()
                        ),
                    ));
                }
                let total = store.count(self.dir, self.kind).await?;
                let after = if skip == 0 {
                    None
                } else {
                    store.id_at(self.dir, self.kind, skip).await?
                };
                if skip > 0 && after.is_none() {
                    (Vec::new(), false, total)
                } else {
                    let m = self.matching(after.as_deref(), Some(count)).await?;
                    (m.records, m.more, total)
                }
            }
            (None, true) => self.slice_of_all(skip, count).await?,
        };
        // A full page leaves an anchor, also the last one (the importer's next request, past
        // the end, then costs one read).
        if more || records.len() == count {
            if let Some(last) = records.last() {
                store
                    .put_anchor(
                        self.dir,
                        &self.hash,
                        skip + count,
                        &Anchor {
                            after: last.id.clone(),
                            total,
                        },
                    )
                    .await?;
            }
        }
        Ok(page(records, total))
    }

    /// Every match, counted, and the page `skip..skip + count` of them (with whether more follow).
    async fn slice_of_all(
        &self,
        skip: usize,
        count: usize,
    ) -> Result<(Vec<Record>, bool, u64), ScimError> {
        let all = self
            .all_matching("counting the matches of this filter")
            .await?;
        let total = all.len() as u64;
        let more = all.len() > skip + count;
        Ok((
            all.into_iter().skip(skip).take(count).collect(),
            more,
            total,
        ))
    }

    async fn cursor_key(&self) -> Result<Vec<u8>, ScimError> {
        self.svc.cursor_key(self.dir).await
    }

    /// RFC 9865 cursor paging: the cursor names the last id served.
    async fn by_cursor(&self, cursor: &str, count: usize) -> Result<Page, ScimError> {
        let key = self.cursor_key().await?;
        let now = clock::now_millis();
        let after = if cursor.is_empty() {
            None
        } else {
            Some(Cursor::decode(cursor, &key, &self.hash, now)?.after)
        };
        let m = self.matching(after.as_deref(), Some(count.max(1))).await?;
        let (records, more) = (m.records, m.more);
        // Totals are exact where cheap; a filter over the whole partition omits it (RFC 9865 §2).
        let total = match &self.plan {
            None => Some(self.svc.store.count(self.dir, self.kind).await?),
            Some(Plan::Lookups(_)) if after.is_none() && !more && m.cut.is_none() => {
                Some(records.len() as u64)
            }
            _ => None,
        };
        // A page cut short by the read budget continues after the last resource read.
        let resume = match m.cut {
            Some(cut) => Some(cut),
            None => more.then(|| records.last().map(|r| r.id.clone())).flatten(),
        };
        let next_cursor = resume.map(|after| {
            Cursor {
                query: self.hash.clone(),
                after,
                expires: now + CURSOR_TIMEOUT_SECS * 1000,
            }
            .encode(&key)
        });
        Ok(Page {
            records,
            refs: Vec::new(),
            total,
            start_index: None,
            next_cursor,
        })
    }

    /// sortBy: the whole matching set, sorted; index or cursor paging slices it.
    async fn sorted(&self, sort: &SortKey, q: &ListQuery) -> Result<Page, ScimError> {
        let all = self.all_matching("sorting").await?;
        let mut keyed: Vec<(Option<Value>, Record)> = all
            .into_iter()
            .map(|r| {
                let v = resource::render(self.kind, &r.id, &r.body, &r.meta, "", None);
                (sort.value(&v), r)
            })
            .collect();
        keyed.sort_by(|a, b| sort.compare(&a.0, &b.0));
        let total = keyed.len();
        let (offset, cursor_mode) = match &q.cursor {
            None => (q.start_index - 1, false),
            Some(c) if c.is_empty() => (0, true),
            Some(c) => {
                let key = self.cursor_key().await?;
                let after = Cursor::decode(c, &key, &self.hash, clock::now_millis())?.after;
                let offset = after
                    .strip_prefix('#')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        ScimError::bad(
                            crate::scim::error::ScimType::InvalidCursor,
                            "malformed cursor",
                        )
                    })?;
                (offset, true)
            }
        };
        let records: Vec<Record> = keyed
            .into_iter()
            .skip(offset)
            .take(q.count)
            .map(|(_, r)| r)
            .collect();
        let end = offset + records.len();
        let next_cursor = if cursor_mode && end < total {
            let key = self.cursor_key().await?;
            let expires = clock::now_millis() + CURSOR_TIMEOUT_SECS * 1000;
            Some(
                Cursor {
                    query: self.hash.clone(),
                    after: format!("#{end}"),
                    expires,
                }
                .encode(&key),
            )
        } else {
            None
        };
        Ok(Page {
            records,
            refs: Vec::new(),
            total: Some(total as u64),
            start_index: (!cursor_mode).then_some(q.start_index),
            next_cursor,
        })
    }
}

/// POST `/.search` at the root (RFC 7644 §3.4.3): Users then Groups matching the filter, paged by
/// index over the combined list. A filter naming an attribute only one type has searches that type.
pub async fn search_all(
    svc: &Service,
    dir: &str,
    q: &ListQuery,
) -> Result<(usize, Vec<(ResourceKind, Record, Option<Vec<Reference>>)>), ScimError> {
    if q.sort_by.is_some() || q.cursor.is_some() {
        return Err(ScimError::invalid_value(
            "sortBy and cursor are supported on /Users/.search and /Groups/.search, not on the root",
        ));
    }
    let mut found: Vec<(ResourceKind, Record)> = Vec::new();
    let mut first_error = None;
    let mut searched = 0;
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let filter = match q
            .filter
            .as_deref()
            .map(|f| filter::parse(f, kind))
            .transpose()
        {
            Ok(f) => f,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        searched += 1;
        let query = Query::new(svc, kind, dir, filter, String::new());
        let records = query.all_matching("this search").await?;
        found.extend(records.into_iter().map(|r| (kind, r)));
    }
    if searched == 0 {
        return Err(first_error
            .unwrap_or_else(|| ScimError::invalid_filter("the filter matches no resource type")));
    }
    let total = found.len();
    let page: Vec<(ResourceKind, Record)> = found
        .into_iter()
        .skip(q.start_index - 1)
        .take(q.count)
        .collect();
    // References read per kind, in parallel (not one Query after another per result).
    let mut refs: Vec<Option<Vec<Reference>>> = vec![None; page.len()];
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let at: Vec<usize> = (0..page.len()).filter(|i| page[*i].0 == kind).collect();
        let records: Vec<&Record> = at.iter().map(|i| &page[*i].1).collect();
        let got = svc
            .references_shown(dir, kind, &records, &q.projection, true)
            .await?;
        for (i, r) in at.into_iter().zip(got) {
            refs[i] = r;
        }
    }
    let out = page
        .into_iter()
        .zip(refs)
        .map(|((kind, r), refs)| (kind, r, refs))
        .collect();
    Ok((total, out))
}
