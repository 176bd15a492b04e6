//! The request log's items in the directory's partition (`keys.rs`): one item per request
//! (`REQ#{millis}#{request id}`, the record's JSON in `record` and the attributes the read's
//! filters test: `status`, `method`, `resource`, `resource_id`) and one counter item per hour
//! (`REQSTAT#{yyyy-mm-ddThh}`: `c2xx`, `c4xx`, `c5xx`, `last_success_at`, `last_failure_at`).
//! Both carry a TTL. Written only off the request path (`service::request_log`); read newest
//! first by a Query on the time range, never a Scan.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::{get_s, key, keys, n, s, Item, Store, StoreError};
use crate::request_log::{RequestFilter, RequestRecord};

const RECORD: &str = "record";
const STATUS: &str = "status";
const METHOD: &str = "method";
const RESOURCE: &str = "resource";
const RESOURCE_ID: &str = "resource_id";
const TTL: &str = "ttl";
/// Items one read evaluates per Query page (before its filter): a page of records is at most
/// about 8 MB this way, DynamoDB cuts it at 1 MB anyway.
const EVALUATED_PER_PAGE: i32 = 200;
/// Query pages one read walks at most: a filter matching nothing in 30 days of records answers
/// an empty page with a cursor, not a timeout.
const PAGES_PER_READ: usize = 10;

/// What one batch adds to an hour's counters of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub c2xx: u64,
    pub c4xx: u64,
    pub c5xx: u64,
    /// The latest `at` of a success (below 400) in the batch.
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
}

/// A page of a directory's records, newest first.
#[derive(Debug, Clone, Default)]
pub struct StoredPage {
    pub records: Vec<RequestRecord>,
    /// The sort key to continue after (older records), if the read stopped before the range's
    /// end.
    pub next: Option<String>,
}

impl Store {
    /// The item of one record, expiring at `expires` (seconds since the epoch).
    pub fn request_log_item(&self, r: &RequestRecord, expires: u64) -> Result<Item, StoreError> {
        let json = serde_json::to_string(r).map_err(|source| StoreError::Json {
            what: "a request log record",
            source,
        })?;
        let mut item = key(
            keys::directory_pk(&r.directory_id),
            keys::request_log_sk(r.at_millis(), &r.id),
        );
        item.insert(RECORD.into(), s(json));
        item.insert(STATUS.into(), n(r.status));
        item.insert(METHOD.into(), s(r.method.clone()));
        item.insert(RESOURCE.into(), s(r.resource.as_str()));
        if let Some(id) = &r.resource_id {
            item.insert(RESOURCE_ID.into(), s(id.clone()));
        }
        item.insert(TTL.into(), n(expires));
        Ok(item)
    }

    /// Puts record items with BatchWriteItem, 25 a call, retrying unprocessed items with backoff
    /// (`batch_write`). A retried put writes the same item again: idempotent.
    pub async fn put_request_log(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let writes = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(StoreError::Request)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(writes).await
    }

    /// Adds a batch's counts to the hour's counter item (created on first use), in one
    /// UpdateItem. The latest times are SET: batches of one directory arrive in order (one log
    /// stream per function instance), so a later batch holds later times.
    pub async fn count_requests(
        &self,
        dir: &str,
        hour: &str,
        counts: &HourCounts,
        expires: u64,
    ) -> Result<(), StoreError> {
        let mut update = String::from("ADD c2xx :a, c4xx :b, c5xx :c SET #ttl = :ttl");
        let mut q = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::directory_pk(dir)))
            .key(keys::SK, s(keys::request_stat_sk(hour)))
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":a", n(counts.c2xx))
            .expression_attribute_values(":b", n(counts.c4xx))
            .expression_attribute_values(":c", n(counts.c5xx))
            .expression_attribute_values(":ttl", n(expires));
        if let Some(at) = &counts.last_success_at {
            update.push_str(", last_success_at = :ls");
            q = q.expression_attribute_values(":ls", s(at.clone()));
        }
        if let Some(at) = &counts.last_failure_at {
            update.push_str(", last_failure_at = :lf");
            q = q.expression_attribute_values(":lf", s(at.clone()));
        }
        q.update_expression(update)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Records of `dir` matching `filter`, newest first, at most `limit`, continuing after the
    /// sort key `after` when given.
    pub async fn request_log(
        &self,
        dir: &str,
        filter: &RequestFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<StoredPage, StoreError> {
        let pk = keys::directory_pk(dir);
        let low = keys::request_log_time_prefix(filter.since.unwrap_or(0));
        let high = match filter.until {
            // Every record of the `until` millisecond sorts below the next one's prefix.
            Some(until) => keys::request_log_time_prefix(until.saturating_add(1)),
            None => format!("{}~", keys::REQUEST_LOG_PREFIX),
        };
        let mut start = match after {
            // A cursor at or below the range's start: nothing older is in it.
            Some(a) if a <= low.as_str() => return Ok(StoredPage::default()),
            Some(a) if a < high.as_str() => Some(key(pk.clone(), a.to_string())),
            _ => None,
        };
        let expression = filter_expression(filter);
        let mut page = StoredPage::default();
        for _ in 0..PAGES_PER_READ {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":low", s(low.clone()))
                .expression_attribute_values(":high", s(high.clone()))
                .scan_index_forward(false)
                .limit(EVALUATED_PER_PAGE)
                .set_exclusive_start_key(start.take());
            if let Some((text, names, values)) = &expression {
                q = q.filter_expression(text);
                for (placeholder, name) in names {
                    q = q.expression_attribute_names(*placeholder, *name);
                }
                for (placeholder, v) in values {
                    q = q.expression_attribute_values(placeholder, v.clone());
                }
            }
            let out = q.send().await.map_err(StoreError::sdk)?;
            for item in out.items.unwrap_or_default() {
                if page.records.len() == limit {
                    // Stopped inside this page: continue after the last record returned.
                    page.next = page
                        .records
                        .last()
                        .map(|r| keys::request_log_sk(r.at_millis(), &r.id));
                    return Ok(page);
                }
                page.records.push(record_of(&self.table, &item)?);
            }
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(page),
            }
            if page.records.len() == limit {
                break;
            }
        }
        page.next = start
            .as_ref()
            .and_then(|k| get_s(k, keys::SK))
            .map(str::to_string);
        Ok(page)
    }
}

/// An expression's text and placeholders.
type Expression = (
    String,
    Vec<(&'static str, &'static str)>,
    Vec<(String, aws_sdk_dynamodb::types::AttributeValue)>,
);

/// The filter's expression, names and values; `None` when it filters nothing but time.
fn filter_expression(f: &RequestFilter) -> Option<Expression> {
    let mut parts = Vec::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    if !f.statuses.is_empty() {
        let mut classes = Vec::new();
        for (i, c) in f.statuses.iter().enumerate() {
            let (lo, hi) = c.range();
            classes.push(format!("#status BETWEEN :s{i}lo AND :s{i}hi"));
            values.push((format!(":s{i}lo"), n(lo)));
            values.push((format!(":s{i}hi"), n(hi)));
        }
        parts.push(format!("({})", classes.join(" OR ")));
        names.push(("#status", STATUS));
    }
    if let Some(m) = &f.method {
        parts.push("#method = :method".to_string());
        names.push(("#method", METHOD));
        values.push((":method".into(), s(m.clone())));
    }
    if let Some(r) = f.resource {
        parts.push("#resource = :resource".to_string());
        names.push(("#resource", RESOURCE));
        values.push((":resource".into(), s(r.as_str())));
    }
    if let Some(id) = &f.resource_id {
        parts.push("#resource_id = :resource_id".to_string());
        names.push(("#resource_id", RESOURCE_ID));
        values.push((":resource_id".into(), s(id.clone())));
    }
    (!parts.is_empty()).then(|| (parts.join(" AND "), names, values))
}

fn record_of(table: &str, item: &Item) -> Result<RequestRecord, StoreError> {
    let text = get_s(item, RECORD).unwrap_or_default();
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        at: super::ItemKey::of(table, item),
        problem: "a request log record that is not a record's JSON",
        source: Some(e),
    })
}
