//! How long a request's store work may take, and the backoff between retries inside it.
//!
//! The API layer runs each request inside [`within`]; every retry in the store (transaction
//! conflicts, throttled transactions, unprocessed batch items) sleeps with full-jitter exponential
//! backoff only while the deadline leaves room, and then gives up with `StoreError::Unavailable`,
//! which the client sees as `503` with `Retry-After` (Okta and Entra retry those). The budget
//! leaves room under the Lambda timeout (29 s) and API Gateway's 30 s for the answer itself.
//! Work outside a request (scimctl, the cleanup function) gets a fresh budget per call.

use std::future::Future;
use std::time::{Duration, Instant};

use super::StoreError;

/// A request's store budget.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(20);
/// First backoff step; each retry doubles the cap, up to `MAX_STEP`.
const BASE_STEP: Duration = Duration::from_millis(10);
/// The longest wait before the first retry of a transaction that met another on an item.
const YIELD_FIRST: Duration = Duration::from_millis(50);
/// The shortest cap of a conflict's wait: about one transaction's time on DynamoDB.
const YIELD_FLOOR: Duration = Duration::from_millis(10);
const MAX_STEP: Duration = Duration::from_millis(1_000);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `f` with a deadline `budget` from now.
pub async fn within<F: Future>(budget: Duration, f: F) -> F::Output {
    at(Instant::now() + budget, f).await
}

/// Runs `f` with an explicit deadline (for tasks spawned by a request: task-locals do not follow).
pub async fn at<F: Future>(deadline: Instant, f: F) -> F::Output {
    DEADLINE.scope(deadline, f).await
}

/// The current deadline (a fresh budget when none was set).
pub fn current() -> Instant {
    DEADLINE
        .try_with(|d| *d)
        .unwrap_or_else(|_| Instant::now() + REQUEST_BUDGET)
}

/// Whether the deadline has passed.
pub fn passed() -> bool {
    Instant::now() >= current()
}

/// The most retry number `attempt` waits: `BASE_STEP · 2^attempt`, at most `MAX_STEP`.
fn step(attempt: u32) -> Duration {
    BASE_STEP.saturating_mul(1 << attempt.min(10)).min(MAX_STEP)
}

/// The most a transaction waits before its `attempt`-th retry (1-based) after it met another
/// on an item: `YIELD_FIRST / attempt`, at least `YIELD_FLOOR`. The wait shrinks as the writer
/// loses again, so the writers of one item that lost most retry soonest: a queue's order, kept
/// without one, between processes that cannot coordinate (Lambda instances).
fn yield_step(attempt: u32) -> Duration {
    (YIELD_FIRST / attempt.max(1)).max(YIELD_FLOOR)
}

/// Sleeps before retry number `attempt` (1-based): a random wait up to `BASE_STEP · 2^attempt`
/// (capped), so parallel writers spread out. Returns false, without sleeping, when that wait
/// would pass the deadline: the caller gives up.
pub async fn backoff(attempt: u32) -> bool {
    backoff_within(step(attempt)).await
}

/// A random wait up to `most`, unless it would pass the deadline (then false at once).
async fn backoff_within(most: Duration) -> bool {
    let wait = most.mul_f64(random_fraction());
    if Instant::now() + wait >= current() {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// One more retry of `what`: counts the attempt and sleeps as [`backoff`] does, or gives up with
/// `Unavailable` (503) when the deadline leaves no room. Every retry loop of a request ends here
/// or in [`retry_after_conflict`].
pub async fn retry(attempt: &mut u32, what: &'static str) -> Result<(), StoreError> {
    *attempt += 1;
    within_deadline(backoff(*attempt).await, *attempt, what)
}

/// As [`retry`], for a transaction that met another on an item (not throttled): the other is
/// committing now, so the wait is short, and shorter with each conflict in a row
/// ([`yield_step`]).
pub async fn retry_after_conflict(attempt: &mut u32, what: &'static str) -> Result<(), StoreError> {
    *attempt += 1;
    within_deadline(backoff_within(yield_step(*attempt)).await, *attempt, what)
}

fn within_deadline(slept: bool, attempts: u32, what: &'static str) -> Result<(), StoreError> {
    if slept {
        Ok(())
    } else {
        Err(StoreError::OutOfTime { what, attempts })
    }
}

/// Gives up with `Unavailable` when the deadline has passed (a retry that goes again at once).
pub fn check(what: &'static str) -> Result<(), StoreError> {
    if passed() {
        return Err(StoreError::OutOfTime { what, attempts: 0 });
    }
    Ok(())
}

/// A random number below `n` (spreading writers over items; not for secrets).
pub(crate) fn random_below(n: usize) -> usize {
    ((random_fraction() * n as f64) as usize).min(n.saturating_sub(1))
}

fn random_fraction() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(step(1), Duration::from_millis(20));
        assert!((1..40).all(|a| step(a) <= MAX_STEP));
        assert_eq!(step(30), MAX_STEP);
    }

    #[test]
    fn a_conflict_waits_less_each_time_it_loses_again() {
        assert_eq!(yield_step(1), YIELD_FIRST);
        assert_eq!(yield_step(2), YIELD_FIRST / 2);
        assert!((1..40).all(|a| yield_step(a + 1) <= yield_step(a)));
        assert_eq!(yield_step(1_000), YIELD_FLOOR);
    }

    #[tokio::test]
    async fn a_retry_after_a_conflict_gives_up_at_the_deadline() {
        let mut attempt = 0;
        let gave_up = within(Duration::from_millis(1), async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            retry_after_conflict(&mut attempt, "test").await
        })
        .await;
        assert!(matches!(
            gave_up,
            Err(StoreError::OutOfTime { attempts: 1, .. })
        ));
    }

    #[tokio::test]
    async fn backoff_refuses_to_sleep_past_the_deadline() {
        let gave_up = within(Duration::from_millis(1), async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            !backoff(8).await
        })
        .await;
        assert!(gave_up);
        assert!(within(Duration::from_secs(5), backoff(1)).await);
    }
}
