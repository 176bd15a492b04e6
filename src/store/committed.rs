//! The sequence numbers of the events a request committed, for its request-log record. A
//! task-local list (like `caller` and `deadline`) that `Tx::commit_numbered` appends to when a
//! transaction carrying events commits: the one place that knows every number for certain (a
//! cancelled transaction wrote nothing; a retried one is numbered afresh). The list is a side
//! channel and not a return value because a request's events come from several transactions
//! deep in the store (a create, the edge transactions of a large member change running in
//! parallel tasks, a delete's clean-up), none of which the service's answers should have to
//! carry. Work outside a [`scope`] notes nothing.

use std::future::Future;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static COMMITTED: Arc<Mutex<Vec<u64>>>;
}

/// Runs `f`; returns its output and the sequence numbers of the events it committed, ascending.
pub async fn scope<F: Future>(f: F) -> (F::Output, Vec<u64>) {
    let list = Arc::new(Mutex::new(Vec::new()));
    // Boxed, as `caller::scope` is: a request's future is large.
    let out = COMMITTED.scope(Arc::clone(&list), Box::pin(f)).await;
    let mut numbers = list.lock().map(|l| l.clone()).unwrap_or_default();
    numbers.sort_unstable();
    numbers.dedup();
    (out, numbers)
}

/// Notes numbers a commit wrote events at (nothing outside a scope).
pub(crate) fn note(numbers: impl IntoIterator<Item = u64>) {
    let _ = COMMITTED.try_with(|list| {
        if let Ok(mut l) = list.lock() {
            l.extend(numbers);
        }
    });
}

/// `f`, noting into the current task's list (for futures handed to `tokio::spawn`, which do not
/// inherit task-locals).
pub fn inherit<F: Future>(f: F) -> impl Future<Output = F::Output> {
    let list = COMMITTED.try_with(Arc::clone).ok();
    async move {
        match list {
            Some(list) => COMMITTED.scope(list, Box::pin(f)).await,
            None => f.await,
        }
    }
}
