//! The name guards read as an index: users by userName, groups by displayName, in (folded) name
//! order, for "search by name" screens.
//!
//! The guards (`UNAME#` / `GNAME#` + folded name, `keys.rs`) exist to make names unique; because
//! DynamoDB keeps a partition's items sorted by sort key, they are also an index of the names in
//! order. A search by name prefix is one Query on `begins_with(sk, guard prefix + folded query)`:
//! it reads only the guards that match, whatever the directory's size, and never the resources
//! themselves (the caller fetches those by id).

use super::keys;
use super::resources::ID;
use super::{get_s, Store, StoreError};
use crate::scim::schema::ResourceKind;

/// A name guard: the folded name and the id owning it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// The name as folded into the guard's key (`fold_case`).
    pub folded: String,
    pub id: String,
}

impl Store {
    /// Up to `limit` name guards of `kind` whose name starts with `query` (case-insensitively),
    /// in name order, after the folded name `after`; and whether more may follow.
    ///
    /// One Query with `Limit`, following `LastEvaluatedKey` only when a 1 MB page ends before
    /// `limit` guards (at ~100 bytes a guard, a page holds ~10,000: a search page of up to 100
    /// is one round trip). `after` must start with the folded query (a cursor from a page of the
    /// same search): a start key outside the key condition is refused by DynamoDB, and a cursor
    /// must never move a Query outside its prefix, so that is refused here before any call.
    pub async fn names_starting(
        &self,
        dir: &str,
        kind: ResourceKind,
        query: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<NameEntry>, bool), StoreError> {
        let prefix = keys::name_search_prefix(kind, query);
        let start = after.map(|a| keys::name_guard_sk(kind, a));
        if start.as_ref().is_some_and(|s| !s.starts_with(&prefix)) {
            return Err(StoreError::Bug("a name search resumed outside its prefix"));
        }
        // Freed guards (no owner, `mutate.rs`) are read and passed: read on until `limit` names
        // or the end of the prefix.
        let mut entries = Vec::new();
        if limit == 0 {
            return Ok((entries, true));
        }
        let mut start = start;
        loop {
            let want = limit - entries.len();
            let (items, more) = self.query_prefix(dir, &prefix, start, want, false).await?;
            let last = items
                .last()
                .and_then(|i| get_s(i, keys::SK))
                .map(str::to_string);
            entries.extend(items.iter().filter_map(|i| {
                Some(NameEntry {
                    folded: keys::name_from_guard_sk(kind, get_s(i, keys::SK)?)?,
                    id: get_s(i, ID)?.to_string(),
                })
            }));
            match last {
                Some(sk) if more && entries.len() < limit => start = Some(sk),
                _ => return Ok((entries, more)),
            }
        }
    }
}
