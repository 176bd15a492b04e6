//! Write throughput per directory (`infra/throughput.sh`, docs/throughput.md; issue 21): how many
//! IdP writes one directory commits per second when an IdP pushes with 1, 8 or 32 parallel
//! writers, and what each write then waits. Measured from outside, through the real HTTP handlers
//! (as `bench.rs` does), on the embedded DynamoDB behind the meter with its DynamoDB model
//! (a latency per call and DynamoDB's transaction conflicts: `src/local/meter/model.rs`) — the
//! emulator alone runs one transaction at a time and would hide the conflicts DynamoDB has.
//!
//! For each model latency (`--latency-ms`; default: the model's default, or `SCIM_DYNAMODB_MODEL_MS`,
//! then 0 ms, where the model adds nothing: the emulator as it is), on one directory and then on `--directories` at once, every workload runs for
//! `--seconds` with each writer count (per directory):
//! - **creates**: `POST /Users` of new users (Okta's body);
//! - **PUTs**: `PUT /Users/{id}` of existing users (a new title each time);
//! - **member adds**: `PATCH /Groups/{id}` adding one user to one group, all writers on one group
//!   (a group push); a group takes `--pool` members, then the next one is created;
//! - **Okta mix**: what Okta sends for a new hire and a leaver: a lookup by userName (a read, not
//!   counted as a write), create, PATCH, add to the directory's "Everyone" group, deactivate.
//!
//! Each row: committed writes per second (2xx answers to writes over the step's wall time, the
//! writes still in flight at its end included), p50/p95/p99 latency of the write requests, retries
//! per committed write (DynamoDB calls the meter saw cancelled or failing a condition:
//! `TransactionCanceledException`, `ConditionalCheckFailedException`,
//! `TransactionConflictException`), DynamoDB calls per committed write, 503s, and any other
//! non-2xx answer (none expected). Client, server, store and emulator share this process and its
//! cores: compare rows with each other, not with a deployment. The model rows stand for Lambda,
//! where each request has a process of its own, so their writers do not hand sequence shards to
//! each other in-process (`store::shard_leases`); the 0 ms rows stand for `scim-local`, one
//! process taking every request, and do.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use scim_lambda::local::embedded;
use scim_lambda::local::meter::{DynamoModel, Usage};
use serde_json::{json, Value};
use support::{okta_user, Idp, Stack};
use tokio::sync::OnceCell;

#[derive(Parser)]
#[command(about = "Committed IdP writes per second on one directory, with parallel writers")]
struct Args {
    /// Seconds each step runs (a step: one latency, workload, writer count, directory count).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Parallel writers per directory.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32])]
    writers: Vec<usize>,
    /// Directories written at once in the second half of each latency.
    #[arg(long, default_value_t = 4)]
    directories: usize,
    /// Model latencies per DynamoDB call, in ms [default: the model's (SCIM_DYNAMODB_MODEL_MS
    /// if set), then 0].
    #[arg(long, value_delimiter = ',')]
    latency_ms: Vec<f64>,
    #[arg(long, value_delimiter = ',', default_values_t = Workload::value_variants().to_vec())]
    workloads: Vec<Workload>,
    /// Users created per directory before the steps (PUT targets, group members).
    #[arg(long, default_value_t = 128)]
    pool: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Creates,
    Puts,
    MemberAdds,
    OktaMix,
}

impl Workload {
    fn label(self) -> &'static str {
        match self {
            Workload::Creates => "creates",
            Workload::Puts => "PUTs",
            Workload::MemberAdds => "member adds",
            Workload::OktaMix => "Okta mix",
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.to_possible_value().expect("no skipped variants");
        f.write_str(v.get_name())
    }
}

/// A user made before the steps.
struct PoolUser {
    id: String,
    name: String,
    number: usize,
}

/// One directory and the state its writers share.
struct Directory {
    idp: Idp,
    number: usize,
    pool: Vec<PoolUser>,
    everyone: String,
    /// Numbers new users and PUT targets.
    next: AtomicUsize,
    /// Numbers member adds: add `n` puts pool user `n % pool` into group `n / pool`.
    adds: AtomicUsize,
    groups: Mutex<Vec<Arc<OnceCell<String>>>>,
}

impl Directory {
    fn new_user(&self) -> (String, usize) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let number = 1_000_000 * (self.number + 1) + n;
        (format!("t{number}@example.com"), number)
    }

    /// Sends until the answer is `want` (an IdP retries a 503): set-up, not measured.
    async fn insist(&self, method: &str, path: &str, body: &Value, want: u16) -> Value {
        loop {
            match self.idp.send(method, path, Some(body)).await {
                (s, v) if s == want => return v,
                (503, _) => continue,
                (s, v) => panic!("{method} {path}: {s} {v}"),
            }
        }
    }

    /// The group of member-add block `block`, created by the first writer that needs it.
    async fn group(&self, block: usize) -> String {
        let cell = {
            let mut groups = self.groups.lock().expect("groups");
            while groups.len() <= block {
                groups.push(Arc::default());
            }
            Arc::clone(&groups[block])
        };
        cell.get_or_init(|| async {
            let body = support::group(&format!("push-{}-{block}", self.number));
            let g = self.insist("POST", "/Groups", &body, 201).await;
            g["id"].as_str().unwrap_or_default().to_string()
        })
        .await
        .clone()
    }

    async fn start(stack: &Stack, number: usize, pool: usize) -> Result<Directory, support::Error> {
        let (_, idp) = stack.directory(&format!("throughput-{number}")).await?;
        let mut d = Directory {
            idp,
            number,
            pool: Vec::new(),
            everyone: String::new(),
            next: AtomicUsize::new(0),
            adds: AtomicUsize::new(0),
            groups: Mutex::default(),
        };
        d.everyone = d
            .insist("POST", "/Groups", &support::group("Everyone"), 201)
            .await["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let d = Arc::new(d);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let d = Arc::clone(&d);
            tasks.spawn(async move {
                let mut made = Vec::new();
                while d.next.load(Ordering::Relaxed) < pool {
                    let (name, number) = d.new_user();
                    let u = d
                        .insist("POST", "/Users", &okta_user(&name, number), 201)
                        .await;
                    let id = u["id"].as_str().unwrap_or_default().to_string();
                    made.push(PoolUser { id, name, number });
                }
                made
            });
        }
        let mut made = Vec::new();
        while let Some(users) = tasks.join_next().await {
            made.extend(users?);
        }
        let mut d = Arc::into_inner(d).expect("set-up tasks ended");
        d.pool = made;
        Ok(d)
    }
}

/// What one writer saw.
#[derive(Default)]
struct Tally {
    millis: Vec<f64>,
    committed: u64,
    unavailable: u64,
    other: u64,
}

impl Tally {
    /// One measured write; its body when it committed.
    async fn write(&mut self, idp: &Idp, method: &str, path: &str, body: &Value) -> Option<Value> {
        let t = Instant::now();
        let (status, v) = idp.send(method, path, Some(body)).await;
        self.millis.push(t.elapsed().as_secs_f64() * 1000.0);
        match status {
            200..=299 => {
                self.committed += 1;
                return Some(v);
            }
            503 => self.unavailable += 1,
            _ => {
                self.other += 1;
                eprintln!("  {method} {path}: {status} {v}");
            }
        }
        None
    }

    fn merge(&mut self, other: Tally) {
        self.millis.extend(other.millis);
        self.committed += other.committed;
        self.unavailable += other.unavailable;
        self.other += other.other;
    }
}

/// One writer: units of `workload` until `stop` (the unit under way finishes).
async fn writer(d: Arc<Directory>, workload: Workload, stop: Instant) -> Tally {
    let mut t = Tally::default();
    let idp = &d.idp;
    while Instant::now() < stop {
        match workload {
            Workload::Creates => {
                let (name, n) = d.new_user();
                t.write(idp, "POST", "/Users", &okta_user(&name, n)).await;
            }
            Workload::Puts => {
                let n = d.next.fetch_add(1, Ordering::Relaxed);
                let u = &d.pool[n % d.pool.len()];
                let mut body = okta_user(&u.name, u.number);
                body["title"] = json!(format!("Engineer {n}"));
                t.write(idp, "PUT", &format!("/Users/{}", u.id), &body)
                    .await;
            }
            Workload::MemberAdds => {
                let n = d.adds.fetch_add(1, Ordering::Relaxed);
                let group = d.group(n / d.pool.len()).await;
                let add = support::add_members(&[&d.pool[n % d.pool.len()].id]);
                t.write(idp, "PATCH", &format!("/Groups/{group}"), &add)
                    .await;
            }
            Workload::OktaMix => {
                let (name, n) = d.new_user();
                let (status, _) = idp
                    .send("GET", &support::filter_user_name(&name), None)
                    .await;
                if status != 200 {
                    t.other += 1;
                    continue;
                }
                let Some(created) = t.write(idp, "POST", "/Users", &okta_user(&name, n)).await
                else {
                    continue;
                };
                let id = created["id"].as_str().unwrap_or_default().to_string();
                let user = format!("/Users/{id}");
                t.write(idp, "PATCH", &user, &support::rename("Renamed"))
                    .await;
                let everyone = format!("/Groups/{}", d.everyone);
                t.write(idp, "PATCH", &everyone, &support::add_members(&[&id]))
                    .await;
                t.write(idp, "PATCH", &user, &support::deactivate()).await;
            }
        }
    }
    t
}

/// Calls that DynamoDB refused for a condition or a conflict: each one is a retry of the store's.
fn retries(usage: &Usage) -> usize {
    usage
        .calls
        .iter()
        .filter(|c| {
            matches!(
                c.error.as_deref(),
                Some(
                    "TransactionCanceledException"
                        | "ConditionalCheckFailedException"
                        | "TransactionConflictException"
                )
            )
        })
        .count()
}

/// Runs one step: `writers` writers on each directory of `dirs`; prints its row.
async fn step(
    stack: &Stack,
    dirs: &[Arc<Directory>],
    workload: Workload,
    writers: usize,
    secs: f64,
) {
    stack.meter.take();
    let start = Instant::now();
    let stop = start + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for d in dirs {
        for _ in 0..writers {
            tasks.spawn(writer(Arc::clone(d), workload, stop));
        }
    }
    let mut t = Tally::default();
    while let Some(w) = tasks.join_next().await {
        t.merge(w.expect("writer"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let usage = stack.meter.take();
    let per_write = |n: usize| n as f64 / t.committed.max(1) as f64;
    let p = |q| support::percentile(&t.millis, q);
    let writers = match dirs.len() {
        1 => writers.to_string(),
        n => format!("{n} × {writers}"),
    };
    println!(
        "| {} | {writers} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {} | {} |",
        workload.label(),
        t.committed as f64 / elapsed,
        p(0.5),
        p(0.95),
        p(0.99),
        per_write(retries(&usage)),
        per_write(usage.round_trips()),
        t.unavailable,
        t.other
    );
    eprintln!(
        "  {} × {writers}: {} writes in {elapsed:.1} s",
        workload.label(),
        t.committed
    );
}

fn describe(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if latency.is_zero() {
        "DynamoDB model at 0 ms per call: the emulator as it is".into()
    } else {
        format!(
            "DynamoDB model at {ms} ms per call (transactions {} ms)",
            ms * 2.0
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), support::Error> {
    let mut args = Args::parse();
    if args.latency_ms.is_empty() {
        let model = DynamoModel::from_env()?.unwrap_or_default();
        args.latency_ms = vec![model.latency.as_secs_f64() * 1000.0, 0.0];
    }
    let run = Instant::now();
    println!(
        "## Write throughput per directory: {} s per step, writers {:?} per directory, 1 and {} directories, {} cores\n",
        args.seconds,
        args.writers,
        args.directories,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    for ms in &args.latency_ms {
        let latency = Duration::from_secs_f64(ms / 1000.0);
        let model = DynamoModel::with_latency(latency);
        // With the model, stand for DynamoDB behind Lambda: one request per process, so no
        // writer hands a sequence shard to another in-process (`store::shard_leases`); at 0 ms,
        // for scim-local: one process taking every request.
        scim_lambda::store::shard_leases::hand_over_in_process(latency.is_zero());
        let stack = Stack::start(&embedded::Storage::Memory, Some(model)).await?;
        let mut dirs = Vec::new();
        for number in 0..args.directories.max(1) {
            dirs.push(Arc::new(Directory::start(&stack, number, args.pool).await?));
        }
        eprintln!("{}: {} directories ready", describe(latency), dirs.len());
        let mut counts = vec![1];
        if args.directories > 1 {
            counts.push(args.directories);
        }
        for n in counts {
            println!(
                "### {} · {n} director{}\n",
                describe(latency),
                if n == 1 { "y" } else { "ies at once" }
            );
            println!("| workload | writers | committed writes/s | p50 ms | p95 ms | p99 ms | retries per write | DynamoDB calls per write | 503s | other errors |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for &workload in &args.workloads {
                for &writers in &args.writers {
                    step(&stack, &dirs[..n], workload, writers, args.seconds).await;
                }
            }
            println!();
        }
    }
    eprintln!("whole run {:.0} s", run.elapsed().as_secs_f64());
    Ok(())
}
