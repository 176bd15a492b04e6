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

/// The most retry number `attempt` waits: `BASE_STEP · 2^attempt`, at most `cap`.
fn step(attempt: u32, cap: Duration) -> Duration {
    BASE_STEP.saturating_mul(1 << attempt.min(10)).min(cap)
}

/// Sleeps before retry number `attempt` (1-based): a random wait up to `BASE_STEP · 2^attempt`
/// (capped), so parallel writers spread out. Returns false, without sleeping, when that wait
/// would pass the deadline: the caller gives up.
pub async fn backoff(attempt: u32) -> bool {
    backoff_within(attempt, MAX_STEP).await
}

/// As [`backoff`], with the wait at most `cap`.
async fn backoff_within(attempt: u32, cap: Duration) -> bool {
    let wait = step(attempt, cap).mul_f64(random_fraction());
    if Instant::now() + wait >= current() {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

/// One more retry of `what`: counts the attempt and sleeps as [`backoff`] does, or gives up with
/// `Unavailable` (503) when the deadline leaves no room. Every retry loop of a request ends here.
pub async fn retry(attempt: &mut u32, what: &'static str) -> Result<(), StoreError> {
    retry_capped(attempt, MAX_STEP, what).await
}

/// As [`retry`], with the wait at most `cap` rather than `MAX_STEP`.
pub async fn retry_capped(
    attempt: &mut u32,
    cap: Duration,
    what: &'static str,
) -> Result<(), StoreError> {
    *attempt += 1;
    if backoff_within(*attempt, cap).await {
        Ok(())
    } else {
        Err(StoreError::OutOfTime {
            what,
            attempts: *attempt,
        })
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
    fn a_capped_retry_never_waits_past_its_cap() {
        let cap = Duration::from_millis(100);
        assert_eq!(step(1, cap), Duration::from_millis(20));
        assert!((1..40).all(|a| step(a, cap) <= cap));
        assert_eq!(step(30, MAX_STEP), MAX_STEP);
    }

    #[tokio::test]
    async fn a_capped_retry_gives_up_at_the_deadline() {
        let mut attempt = 0;
        let gave_up = within(Duration::from_millis(1), async {
            tokio::time::sleep(Duration::from_millis(2)).await;
            retry_capped(&mut attempt, Duration::from_millis(100), "test").await
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
