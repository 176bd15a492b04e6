//! Reading the hourly request aggregates of a directory (`REQSTAT#{yyyy-mm-ddThh}`,
//! `keys::request_stat_sk`): how many SCIM requests of each status class an hour saw, and when
//! the last success and the last failure were. The request-log writer keeps them
//! (`Store::count_requests`, `request_log.rs`: one UpdateItem per directory, hour and batch);
//! directory health reads them here. They carry no directory in any metric: health is a read of the directory's own
//! partition, and alarms stay directory-free.

use super::{get_n, get_s, keys, s, Store, StoreError};

/// Counter attribute: requests answered 2xx in the hour.
pub const C2XX: &str = "c2xx";
/// Counter attribute: requests answered 4xx in the hour.
pub const C4XX: &str = "c4xx";
/// Counter attribute: requests answered 5xx in the hour.
pub const C5XX: &str = "c5xx";
/// The latest 2xx of the hour (RFC 3339).
pub const LAST_SUCCESS_AT: &str = "last_success_at";
/// The latest 4xx or 5xx of the hour (RFC 3339).
pub const LAST_FAILURE_AT: &str = "last_failure_at";

/// Hours the health read covers: the current (partial) hour and the 24 before it.
pub const HOURS_READ: i64 = 25;

/// One hour's aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourStats {
    /// The UTC hour, `yyyy-mm-ddThh`.
    pub hour: String,
    pub c2xx: u64,
    pub c4xx: u64,
    pub c5xx: u64,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
}

/// The UTC hour holding `at_millis`, `yyyy-mm-ddThh`, as the writer names hours
/// (`service::request_log`): the first 13 characters of the fixed-width RFC 3339 form.
pub fn hour_of(at_millis: i64) -> String {
    crate::clock::format_rfc3339(at_millis)[..13].to_string()
}

impl Store {
    /// The aggregates of the `HOURS_READ` hours up to the one holding `now_ms`, oldest first:
    /// one Query of at most 25 small items (an hour without requests has none).
    pub async fn request_stats(
        &self,
        dir: &str,
        now_ms: i64,
    ) -> Result<Vec<HourStats>, StoreError> {
        let from = keys::request_stat_sk(&hour_of(now_ms - (HOURS_READ - 1) * 3_600_000));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
            .expression_attribute_values(":a", s(from))
            .expression_attribute_values(":b", s(keys::request_stat_sk(&hour_of(now_ms))))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| {
                let keys::SortKey::RequestStat(hour) = keys::SortKey::parse(get_s(i, keys::SK)?)?
                else {
                    return None;
                };
                Some(HourStats {
                    hour,
                    c2xx: get_n(i, C2XX).unwrap_or(0),
                    c4xx: get_n(i, C4XX).unwrap_or(0),
                    c5xx: get_n(i, C5XX).unwrap_or(0),
                    last_success_at: get_s(i, LAST_SUCCESS_AT).map(str::to_string),
                    last_failure_at: get_s(i, LAST_FAILURE_AT).map(str::to_string),
                })
            })
            .collect())
    }
}
