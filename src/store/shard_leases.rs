//! Which sequence shard a numbering transaction of this process takes, and what this process
//! last committed on it (issue 21).
//!
//! Writers of one directory that pick the same shard meet on DynamoDB: one commits, the other is
//! refused and numbers again — a whole transaction spent. A process that runs many requests at
//! once (`scim-local`, a benchmark) would meet itself that way: with 32 writers on 16 shards,
//! more than one retry per write. So inside one process a writer **leases** a shard for its
//! transaction: it takes a shard no other writer of this process holds (from a random one on),
//! or, when all are held, waits its turn on one, and the writer before it hands over the number
//! it committed there. The shard's condition is unchanged (it still must hold what this writer
//! numbers from), so a lease only saves refusals, it never makes a number: another process moving
//! the shard meanwhile refuses the transaction as before, and a number taken from the hand-over
//! is one this process saw committed, which only raises the next one (the order argument of
//! `outbox.rs` needs numbers above what was read, never below). In a Lambda function, which runs
//! one request at a time, every shard is free and the hand-over is a number that only raises.
//!
//! The process also keeps the highest number it handed out per directory, committed or not (a
//! block's range once it has committed: raised before, it would number this process's writes
//! above the range and refuse the block), and numbers every write above it: writes of one
//! process that overlap on a user or group item (parallel member adds to one group) are then
//! numbered in the order they started, which is almost always the order they commit in, so the
//! anchor (`outbox.rs`) seldom refuses one. Numbers above it are still numbers above what was
//! read: only higher, never a new order.
//!
//! A benchmark of what DynamoDB and Lambda would do (the throughput benchmark's model rows) turns
//! this off with [`hand_over_in_process`]: there each request runs in a process of its own.
//!
//! One entry per directory written by this process (16 small locks and a number): entries stay
//! for the process's life.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{Mutex as Turn, OwnedMutexGuard};

use super::deadline;
use super::outbox::SHARDS;

static ON: AtomicBool = AtomicBool::new(true);

/// Whether writers of this process lease shards and number above each other (on unless turned
/// off): off, every writer behaves as the only one in its process, as in a Lambda function.
pub fn hand_over_in_process(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// What this process last committed on one shard (`None`: nothing yet).
type Desk = Arc<Turn<Option<u64>>>;
/// Every directory's desks and highest number handed out, by (table, directory).
type Desks = Mutex<HashMap<(String, String), Directory>>;

#[derive(Clone)]
struct Directory {
    desks: Vec<Desk>,
    high: Arc<AtomicU64>,
}

/// A shard held by one writer of this process until it is dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    pub index: usize,
    guard: OwnedMutexGuard<Option<u64>>,
}

impl Lease {
    /// The last number this process committed on the shard.
    pub(crate) fn handed_over(&self) -> Option<u64> {
        *self.guard
    }
    /// The shard now holds `seq`: this writer committed it, or a refusal said so. Set, not
    /// raised: what a refusal hands back is the shard as it is, later than any hand-over before
    /// it (a shard only moves up), so a number this process kept for a table that is no longer
    /// the one it writes (recreated, another emulator) is corrected by the first refusal.
    pub(crate) fn hand_over(&mut self, seq: u64) {
        *self.guard = Some(seq);
    }
}

fn directory(table: &str, dir: &str) -> Directory {
    static ALL: OnceLock<Desks> = OnceLock::new();
    let mut all = ALL
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    all.entry((table.to_string(), dir.to_string()))
        .or_insert_with(|| Directory {
            desks: (0..SHARDS).map(|_| Arc::new(Turn::new(None))).collect(),
            high: Arc::new(AtomicU64::new(0)),
        })
        .clone()
}

/// The highest number of `dir` this process has handed out (0: none).
pub(crate) fn high(table: &str, dir: &str) -> Arc<AtomicU64> {
    directory(table, dir).high
}

/// This process hands out numbers up to `last`.
pub(crate) fn handing_out(high: &AtomicU64, last: u64) {
    high.fetch_max(last, Ordering::Relaxed);
}

/// Where the next number of this process starts above (0 when writers do not hand over).
pub(crate) fn above(high: &AtomicU64) -> u64 {
    if on() {
        high.load(Ordering::Relaxed)
    } else {
        0
    }
}

/// Leases a shard of `dir` among `open` (the shards that take numbers): a free one if there is
/// one, else a turn on a random one. `None` when the request's deadline passes first: the
/// caller numbers on a random shard without a lease, as a writer of another process would.
pub(crate) async fn lease(table: &str, dir: &str, open: &[usize]) -> Option<Lease> {
    if open.is_empty() || !on() {
        return None;
    }
    let desks = directory(table, dir).desks;
    let start = deadline::random_below(open.len());
    for k in 0..open.len() {
        let index = open[(start + k) % open.len()];
        if let Ok(guard) = desks[index].clone().try_lock_owned() {
            return Some(Lease { index, guard });
        }
    }
    let index = open[start];
    let wait = desks[index].clone().lock_owned();
    let at = tokio::time::Instant::from_std(deadline::current());
    let guard = tokio::time::timeout_at(at, wait).await.ok()?;
    Some(Lease { index, guard })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writers_of_one_process_take_distinct_shards_then_wait_their_turn() {
        let open: Vec<usize> = (0..SHARDS).collect();
        let mut held = Vec::new();
        for _ in 0..SHARDS {
            held.push(lease("t", "distinct", &open).await.unwrap());
        }
        let mut taken: Vec<usize> = held.iter().map(|l| l.index).collect();
        taken.sort();
        assert_eq!(
            taken, open,
            "each of the first writers has a shard of its own"
        );
        // The next one waits for a shard, and gets the number committed on it.
        held[3].hand_over(42);
        let index = held[3].index;
        let only = [index];
        let next = tokio::spawn(async move { lease("t", "distinct", &only).await });
        tokio::task::yield_now().await;
        assert!(!next.is_finished());
        held.remove(3);
        let next = next.await.unwrap().unwrap();
        assert_eq!((next.index, next.handed_over()), (index, Some(42)));
    }

    #[test]
    fn the_high_number_only_rises() {
        let high = high("t", "high");
        handing_out(&high, 30);
        handing_out(&high, 20);
        assert_eq!(above(&high), 30);
    }

    #[tokio::test]
    async fn a_refusal_corrects_a_number_kept_too_high() {
        let mut l = lease("t", "corrected", &[0]).await.unwrap();
        l.hand_over(10);
        drop(l);
        // The shard holds 7 (the table was made again): the refusal says so, and it sticks.
        let mut l = lease("t", "corrected", &[0]).await.unwrap();
        assert_eq!(l.handed_over(), Some(10));
        l.hand_over(7);
        drop(l);
        let l = lease("t", "corrected", &[0]).await.unwrap();
        assert_eq!(l.handed_over(), Some(7));
    }
}
