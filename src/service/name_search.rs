//! Search by name, for the Admin Portal's and the console's Users and Groups tabs: the visible
//! resources whose userName (users) or displayName (groups) starts with what a person typed,
//! case-insensitively, in name order, a page at a time.
//!
//! It reads the name guards as an index (`store/names.rs`): one Query for the page's names, one
//! BatchGetItem for their resources — never the whole directory, so a page costs the same at
//! 100,000 users as at 10. Visibility is the SCIM reads' (`service::visible`): a group still
//! being created is skipped, as `listing::after` skips it. A resource renamed between the two
//! reads no longer matches its guard and is skipped too, so a page is always in name order.
//!
//! The cursor is the folded name of the last result. It is only ever used after the folded
//! query as a prefix (a cursor from another search is refused, `invalidCursor`), so a client's
//! cursor cannot move the Query outside the directory's guards of that kind.

use std::collections::HashMap;

use super::{visible, ManagementError, Record, Service};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::eval::fold_case;
use crate::scim::resource::{index_values, key_len, MAX_KEYED_VALUE};
use crate::scim::schema::ResourceKind;

/// Most results one search page holds: one BatchGetItem (100 keys) reads them all.
pub const MAX_SEARCH_PAGE: usize = 100;
/// Most name guards one page reads past invisible resources before it answers a short page
/// with a cursor (groups still being created are rare and short-lived; this bounds the worst).
const GUARD_BUDGET: usize = 1_000;

/// Up to `limit` visible resources of `kind` whose unique name starts with `query`, after the
/// cursor `after`, in name order; and the cursor of the next page (`None`: the last page).
pub(crate) async fn search(
    svc: &Service,
    dir: &str,
    kind: ResourceKind,
    query: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Record>, Option<String>), ManagementError> {
    let limit = limit.clamp(1, MAX_SEARCH_PAGE);
    // No stored name is longer than a key may hold (`resource::check_keyed`): nothing matches.
    if key_len(query) > MAX_KEYED_VALUE {
        return Ok((vec![], None));
    }
    let folded = fold_case(query);
    let mut start = match after {
        None => None,
        Some(a) if a.starts_with(&folded) && key_len(a) <= MAX_KEYED_VALUE => Some(a.to_string()),
        Some(_) => {
            return Err(ManagementError::Scim(ScimError::bad(
                ScimType::InvalidCursor,
                "\"after\" is not a cursor of this search; start again without it",
            )))
        }
    };
    let mut found: Vec<(String, Record)> = Vec::new();
    let mut read = 0;
    loop {
        let want = limit - found.len();
        // One guard past the page says whether another page follows, without reading its resource.
        let (guards, more) = svc
            .store
            .names_starting(dir, kind, query, start.as_deref(), want + 1)
            .await?;
        let page = &guards[..want.min(guards.len())];
        let more = more || guards.len() > want;
        let ids: Vec<String> = page.iter().map(|g| g.id.clone()).collect();
        let mut records: HashMap<String, Record> = svc
            .store
            .get_many(dir, kind, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        for g in page {
            let shown = records.remove(&g.id).filter(|r| {
                visible(r)
                    && index_values(kind, &r.body)
                        .unique_name()
                        .is_some_and(|n| fold_case(n) == g.folded)
            });
            if let Some(r) = shown {
                found.push((g.folded.clone(), r));
            }
        }
        read += page.len();
        start = page.last().map(|g| g.folded.clone()).or(start);
        if !more || page.is_empty() {
            return Ok((found.into_iter().map(|(_, r)| r).collect(), None));
        }
        if found.len() == limit {
            let next = found.last().map(|(name, _)| name.clone());
            return Ok((found.into_iter().map(|(_, r)| r).collect(), next));
        }
        if read >= GUARD_BUDGET {
            return Ok((found.into_iter().map(|(_, r)| r).collect(), start));
        }
    }
}
