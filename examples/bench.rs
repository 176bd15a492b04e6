//! The performance suite (`infra/bench.sh`): a directory the size of a real
//! customer, built and read through the HTTP API exactly as the IdPs do, on the embedded DynamoDB
//! emulator behind the meter (DynamoDB's own `ConsumedCapacity`, not estimates).
//!
//! 1. Okta's import: for each user `GET /Users?filter=userName eq "..."` (a miss), then `POST /Users`
//!    with core + enterprise attributes, `--concurrency` users at a time.
//! 2. One group grown to `--group` members by PATCH adds of 100 members (Okta group push).
//! 3. Every IdP operation measured `--samples` times at `--checkpoint` users and again at `--users`:
//!    round trips, items read and written, read/write request units, p50/p99 latency.
//! 4. A full import read (Entra and Okta): every user in pages of `count=100`.
//!
//! Prints markdown tables (docs/benchmark.md quotes them) and the process's peak RSS: server, emulator
//! and client share this one process. Latencies are on the emulator, on a shared machine: compare
//! ratios and medians, not absolute milliseconds.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use scim_lambda::api::App;
use scim_lambda::local::meter::{Meter, Usage};
use scim_lambda::local::{embedded, runtime_api};
use serde_json::{json, Value};
use support::{filter_user_name, okta_user, user_name, Idp, Stack};

#[derive(Parser, Clone)]
#[command(about = "SCIM performance suite on the embedded DynamoDB")]
struct Args {
    /// Users in the directory at the end of the run.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Directory size of the first measurement.
    #[arg(long, default_value_t = 1_000)]
    checkpoint: usize,
    /// Members of the big group at the end of the run.
    #[arg(long, default_value_t = 50_000)]
    group: usize,
    /// Requests measured per operation and directory size.
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Users imported in parallel (each: lookup, then create).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The emulator's SQLite file (recreated); `--memory` keeps it in memory instead.
    #[arg(long, default_value = ".local/bench.sqlite")]
    data: std::path::PathBuf,
    #[arg(long)]
    memory: bool,
}

/// Okta's import of users `range`: lookup (a miss), then create; `concurrency` at a time.
async fn import(idp: &Idp, range: std::ops::Range<usize>, concurrency: usize) -> Vec<String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(range.start));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (idp, next, end) = (idp.clone(), Arc::clone(&next), range.end);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= end {
                    return ids;
                }
                let name = user_name(i);
                let found = idp.expect("GET", &filter_user_name(&name), None, 200).await;
                assert_eq!(found["totalResults"], 0, "{name} already exists");
                let created = idp
                    .expect("POST", "/Users", Some(&okta_user(&name, i)), 201)
                    .await;
                ids.push((i, created["id"].as_str().expect("id").to_string()));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("import task"));
    }
    all.sort();
    all.into_iter().map(|(_, id)| id).collect()
}

/// Okta group push: members added 100 per PATCH.
async fn add_members(idp: &Idp, group: &str, users: &[String]) {
    for chunk in users.chunks(100) {
        let add = support::add_members(chunk);
        let (status, v) = idp
            .send("PATCH", &format!("/Groups/{group}"), Some(&add))
            .await;
        assert!(status == 200 || status == 204, "add members: {status} {v}");
    }
}

/// One operation's samples: what each request cost and how long it took.
#[derive(Default)]
struct Samples {
    usage: Vec<Usage>,
    millis: Vec<f64>,
}

impl Samples {
    fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
        v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
        v[v.len() / 2]
    }
    fn trips(&self) -> usize {
        Self::median(self.usage.iter().map(Usage::round_trips).collect())
    }
    fn read(&self) -> u64 {
        Self::median(self.usage.iter().map(Usage::items_read).collect())
    }
    fn written(&self) -> u64 {
        Self::median(self.usage.iter().map(Usage::items_written).collect())
    }
    fn rru(&self) -> f64 {
        Self::median(self.usage.iter().map(Usage::read_units).collect())
    }
    fn wru(&self) -> f64 {
        Self::median(self.usage.iter().map(Usage::write_units).collect())
    }
    fn max_trips(&self) -> usize {
        self.usage.iter().map(Usage::round_trips).max().unwrap_or(0)
    }
    fn percentile(&self, p: f64) -> f64 {
        support::percentile(&self.millis, p)
    }
}

struct Bench {
    idp: Idp,
    meter: Arc<Meter>,
}

impl Bench {
    /// Sends one request and records its DynamoDB usage and latency under `samples`.
    async fn measure(
        &self,
        samples: &mut Samples,
        method: &str,
        path: &str,
        body: Option<&Value>,
        want: u16,
    ) -> Value {
        self.meter.take();
        let t = Instant::now();
        let v = self.idp.expect(method, path, body, want).await;
        samples.millis.push(t.elapsed().as_secs_f64() * 1000.0);
        samples.usage.push(self.meter.take());
        v
    }
}

const OPERATIONS: &[&str] = &[
    "lookup userName eq (hit)",
    "lookup userName eq (miss)",
    "create user",
    "get user",
    "replace user (PUT)",
    "patch user",
    "deactivate user",
    "create group",
    "add one member",
    "remove one member",
    "get group, excludedAttributes=members",
    "list page (count=100)",
    "delete user",
    "delete group",
];

/// Every IdP operation `n` times on a directory of `users` users with the big group `group`.
/// `members`: how many of `users` (from the first) are in `group`; `get user` reads one of them, so
/// that each size reads a user with one group.
async fn measure_operations(
    b: &Bench,
    users: &[String],
    members: usize,
    group: &str,
    n: usize,
    tag: &str,
) -> Vec<Samples> {
    let mut s: Vec<Samples> = OPERATIONS.iter().map(|_| Samples::default()).collect();
    let step = (users.len() / n).max(1);
    for k in 0..n {
        let i = (k * step) % users.len();
        let existing = &users[(k * (members / n).max(1)) % members.max(1)];
        let name = user_name(i);
        let found = b
            .measure(&mut s[0], "GET", &filter_user_name(&name), None, 200)
            .await;
        assert_eq!(found["totalResults"], 1);
        b.measure(
            &mut s[1],
            "GET",
            &filter_user_name(&format!("absent-{tag}-{k}@example.com")),
            None,
            200,
        )
        .await;
        let new_name = format!("new-{tag}-{k}@example.com");
        let created = b
            .measure(
                &mut s[2],
                "POST",
                "/Users",
                Some(&okta_user(&new_name, 900_000 + k)),
                201,
            )
            .await;
        let id = created["id"].as_str().expect("id").to_string();
        b.measure(&mut s[3], "GET", &format!("/Users/{existing}"), None, 200)
            .await;
        let mut replaced = okta_user(&new_name, 900_000 + k);
        replaced["title"] = json!("Staff Engineer");
        b.measure(
            &mut s[4],
            "PUT",
            &format!("/Users/{id}"),
            Some(&replaced),
            200,
        )
        .await;
        let patch = support::rename("Patched");
        b.measure(
            &mut s[5],
            "PATCH",
            &format!("/Users/{id}"),
            Some(&patch),
            200,
        )
        .await;
        let deactivate = support::deactivate();
        b.measure(
            &mut s[6],
            "PATCH",
            &format!("/Users/{id}"),
            Some(&deactivate),
            200,
        )
        .await;
        let g = b
            .measure(
                &mut s[7],
                "POST",
                "/Groups",
                Some(&support::group(&format!("group-{tag}-{k}"))),
                201,
            )
            .await;
        let gid = g["id"].as_str().expect("id").to_string();
        let add = support::add_members(&[&id]);
        b.measure(
            &mut s[8],
            "PATCH",
            &format!("/Groups/{group}"),
            Some(&add),
            204,
        )
        .await;
        let remove = json!({"schemas": [support::PATCH_OP],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]});
        b.measure(
            &mut s[9],
            "PATCH",
            &format!("/Groups/{group}"),
            Some(&remove),
            204,
        )
        .await;
        b.measure(
            &mut s[10],
            "GET",
            &format!("/Groups/{group}?excludedAttributes=members"),
            None,
            200,
        )
        .await;
        let pages = users.len().div_ceil(100);
        let start = (k % pages) * 100 + 1;
        b.measure(
            &mut s[11],
            "GET",
            &format!("/Users?startIndex={start}&count=100"),
            None,
            200,
        )
        .await;
        b.measure(&mut s[12], "DELETE", &format!("/Users/{id}"), None, 204)
            .await;
        b.measure(&mut s[13], "DELETE", &format!("/Groups/{gid}"), None, 204)
            .await;
    }
    s
}

fn print_operations(size: usize, s: &[Samples]) {
    println!(
        "\n#### Per operation at {size} users (median of {} requests each)\n",
        s[0].millis.len()
    );
    println!(
        "| operation | round trips | items read | items written | RRU | WRU | p50 ms | p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, x) in OPERATIONS.iter().zip(s) {
        let trips = if x.max_trips() != x.trips() {
            format!("{} (max {})", x.trips(), x.max_trips())
        } else {
            x.trips().to_string()
        };
        println!(
            "| {name} | {trips} | {} | {} | {:.1} | {:.1} | {:.2} | {:.2} |",
            x.read(),
            x.written(),
            x.rru(),
            x.wru(),
            x.percentile(0.5),
            x.percentile(0.99)
        );
    }
}

/// Flat cost: round trips and request units at the large size within 10% of the small size's.
fn print_flatness(small: usize, large: usize, a: &[Samples], b: &[Samples]) {
    println!("\n#### Cost at {large} users against {small} users\n");
    println!("| operation | round trips | RRU | WRU | p50 latency | within 10% |");
    println!("|---|---:|---:|---:|---:|---|");
    let ratio = |x: f64, y: f64| {
        if x == 0.0 && y == 0.0 {
            1.0
        } else if x == 0.0 {
            f64::INFINITY
        } else {
            y / x
        }
    };
    for (name, (x, y)) in OPERATIONS.iter().zip(a.iter().zip(b)) {
        let r = [
            ratio(x.trips() as f64, y.trips() as f64),
            ratio(x.rru(), y.rru()),
            ratio(x.wru(), y.wru()),
        ];
        let flat = r.iter().all(|v| (0.9..=1.1).contains(v));
        println!(
            "| {name} | {:.2}x | {:.2}x | {:.2}x | {:.2}x | {} |",
            r[0],
            r[1],
            r[2],
            ratio(x.percentile(0.5), y.percentile(0.5)),
            if flat { "yes" } else { "NO" }
        );
    }
}

/// The operations too big for one transaction, each timed against API Gateway's 30 s: replacing
/// the big group's member list with another of the same size (half of it new), deleting a user who
/// is in 1,000 groups, and deleting the big group. The replace goes through the service entry
/// point the PUT handler calls (a 50,000-member body is over the HTTP layer's 1 MiB body limit).
async fn large_operations(
    bench: &Bench,
    app: &App,
    directory: &str,
    users: &[String],
    group: &str,
    size: usize,
) {
    use scim_lambda::scim::change::{Members, Outcome};
    use scim_lambda::scim::schema::ResourceKind;
    use scim_lambda::service::write::Change;
    println!("\n#### Operations larger than one transaction (budget: 20 s of store work, API Gateway: 30 s)\n");
    println!("| operation | wall time | DynamoDB round trips | RRU | WRU | answer |");
    println!("|---|---:|---:|---:|---:|---|");
    let row = |name: &str, t: Duration, u: &Usage, answer: &str| {
        println!(
            "| {name} | {:.1} s | {} | {:.0} | {:.0} | {answer} |",
            t.as_secs_f64(),
            u.round_trips(),
            u.read_units(),
            u.write_units()
        );
    };
    let shift = size / 2;
    let wanted: Vec<String> = users.iter().skip(shift).take(size).cloned().collect();
    let outcome = Outcome {
        body: serde_json::from_value(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Everyone"}),
        )
        .unwrap_or_default(),
        members: Members::Set(wanted.clone()),
    };
    bench.meter.take();
    let t = Instant::now();
    let r = scim_lambda::store::deadline::within(
        scim_lambda::store::deadline::REQUEST_BUDGET,
        app.service.update(
            directory,
            ResourceKind::Group,
            group,
            Change::Replace(&outcome),
            None,
            &Default::default(),
        ),
    )
    .await;
    row(
        &format!(
            "replace a {size}-member list ({} out, {} in)",
            shift.min(wanted.len()),
            shift.min(wanted.len())
        ),
        t.elapsed(),
        &bench.meter.take(),
        if r.is_ok() {
            "200"
        } else {
            "503 (retry finishes)"
        },
    );

    let member = &users[users.len() - 1];
    let t = Instant::now();
    for i in 0..1_000 {
        bench
            .idp
            .expect(
                "POST",
                "/Groups",
                Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("team-{i}"), "members": [{"value": member}]})),
                201,
            )
            .await;
    }
    eprintln!(
        "  1,000 groups created in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    bench.meter.take();
    let t = Instant::now();
    let (status, _) = bench
        .idp
        .send("DELETE", &format!("/Users/{member}"), None)
        .await;
    row(
        "delete a user in 1,000 groups",
        t.elapsed(),
        &bench.meter.take(),
        &status.to_string(),
    );

    let t = Instant::now();
    let (status, _) = bench
        .idp
        .send("DELETE", &format!("/Groups/{group}"), None)
        .await;
    let answered = t.elapsed();
    row(
        &format!("delete the {size}-member group"),
        answered,
        &bench.meter.take(),
        &status.to_string(),
    );
    let t = Instant::now();
    let left = app.store().clean_up_group(directory, group).await;
    println!(
        "\nafter the group delete answered: clean-up left for the clean-up function: {} ({:.1} s to finish here)",
        matches!(left, Ok(true)),
        t.elapsed().as_secs_f64()
    );
}

fn peak_rss_mib() -> f64 {
    runtime_api::peak_rss_kib(std::process::id()).unwrap_or(0) as f64 / 1024.0
}

#[tokio::main]
async fn main() -> Result<(), support::Error> {
    let args = Args::parse();
    assert!(
        args.checkpoint <= args.users && args.group <= args.users,
        "checkpoint and group must not exceed users"
    );
    let storage = if args.memory {
        embedded::Storage::Memory
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", args.data.display()));
        }
        embedded::Storage::File(args.data.clone())
    };
    let stack = Stack::start(&storage, None).await?;
    let (directory, idp) = stack.directory("bench").await?;
    let (app, meter) = (Arc::clone(&stack.app), Arc::clone(&stack.meter));
    let bench = Bench {
        idp: idp.clone(),
        meter: Arc::clone(&meter),
    };
    let run = Instant::now();
    println!(
        "## SCIM benchmark: {} users, a {}-member group, {} samples per operation, store {}\n",
        args.users,
        args.group,
        args.samples,
        if args.memory {
            "in memory".to_string()
        } else {
            args.data.display().to_string()
        }
    );

    let t = Instant::now();
    let mut users = import(&idp, 0..args.checkpoint, args.concurrency).await;
    let group = idp
        .expect("POST", "/Groups", Some(&support::group("Everyone")), 201)
        .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let first_members = args.checkpoint.min(args.group);
    add_members(&idp, &group, &users[..first_members]).await;
    println!(
        "imported {} users and added {first_members} members in {:.1} s",
        users.len(),
        t.elapsed().as_secs_f64()
    );
    meter.take();
    let small =
        measure_operations(&bench, &users, first_members, &group, args.samples, "small").await;
    print_operations(args.checkpoint, &small);

    let t = Instant::now();
    meter.take();
    let mut done = args.checkpoint;
    let step = 10_000;
    while done < args.users {
        let end = (done + step).min(args.users);
        users.extend(import(&idp, done..end, args.concurrency).await);
        done = end;
        eprintln!(
            "  {done} users, {:.0} s, {:.0} users/s, peak RSS {:.0} MiB",
            t.elapsed().as_secs_f64(),
            (done - args.checkpoint) as f64 / t.elapsed().as_secs_f64(),
            peak_rss_mib()
        );
    }
    let imported = t.elapsed();
    let import_usage = meter.take();
    let n = (args.users - args.checkpoint).max(1) as f64;
    let t = Instant::now();
    add_members(&idp, &group, &users[first_members..args.group]).await;
    let grown = t.elapsed();
    let add_usage = meter.take();

    println!("\n#### Building the directory\n");
    println!("| step | wall time | per item | DynamoDB round trips per item | RRU per item | WRU per item |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| Okta import of {} users (lookup + create, {} in parallel) | {:.0} s | {:.2} ms | {:.2} | {:.2} | {:.2} |",
        args.users - args.checkpoint, args.concurrency, imported.as_secs_f64(),
        imported.as_secs_f64() * 1000.0 / n, import_usage.round_trips() as f64 / n,
        import_usage.read_units() / n, import_usage.write_units() / n
    );
    let m = (args.group - first_members).max(1) as f64;
    println!(
        "| group grown to {} members, PATCH adds of 100 | {:.0} s | {:.2} ms | {:.2} | {:.2} | {:.2} |",
        args.group, grown.as_secs_f64(), grown.as_secs_f64() * 1000.0 / m,
        add_usage.round_trips() as f64 / m, add_usage.read_units() / m, add_usage.write_units() / m
    );

    let large = measure_operations(&bench, &users, args.group, &group, args.samples, "large").await;
    print_operations(args.users, &large);
    print_flatness(args.checkpoint, args.users, &small, &large);

    // A full import read, as Entra and Okta page: startIndex + count=100 to the end.
    let t = Instant::now();
    let mut pages = Samples::default();
    let mut start = 1;
    loop {
        let page = bench
            .measure(
                &mut pages,
                "GET",
                &format!("/Users?startIndex={start}&count=100"),
                None,
                200,
            )
            .await;
        let got = page["Resources"].as_array().map_or(0, Vec::len);
        start += got;
        if got < 100 {
            break;
        }
    }
    assert_eq!(start - 1, args.users, "the import read every user once");
    println!(
        "\nfull read of {} users in {} pages of 100: {:.0} s; per page: median {} round trips, {} items read, {:.1} RRU, p50 {:.1} ms, p99 {:.1} ms",
        start - 1, pages.millis.len(), t.elapsed().as_secs_f64(), pages.trips(), pages.read(), pages.rru(),
        pages.percentile(0.5), pages.percentile(0.99)
    );
    large_operations(&bench, &app, &directory, &users, &group, args.group).await;
    println!(
        "\npeak RSS (server + emulator + client, one process): {:.0} MiB; whole run {:.0} s",
        peak_rss_mib(),
        run.elapsed().as_secs_f64()
    );
    Ok(())
}
