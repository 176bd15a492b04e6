//! The Events API: a directory's events in sequence order, after a number the reader keeps, as
//! the outbox committed them (each in the transaction of its change, `store/outbox.rs`).

use serde::{Deserialize, Serialize};

use super::management::ManagementError;
use super::Service;

pub use crate::events::Event;

/// A page of events and where the next read starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct EventsPage {
    pub data: Vec<Event>,
    /// Pass as `after` to read on: the last number this read covered (returned or filtered out).
    pub after: u64,
    /// Whether events past `after` are readable now.
    pub has_more: bool,
}

/// Events of a directory after sequence number `after`, at most `limit`, only of `types` when
/// any are named.
pub async fn read(
    svc: &Service,
    dir: &str,
    after: u64,
    limit: usize,
    types: &[String],
) -> Result<EventsPage, ManagementError> {
    let page = svc.store.events(dir, after, limit, types).await?;
    Ok(EventsPage {
        data: page.data,
        after: page.after,
        has_more: page.has_more,
    })
}
