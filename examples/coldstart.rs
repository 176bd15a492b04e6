//! Lambda cold start and size, measured the way the Lambda service sees it (`infra/coldstart.sh`):
//! each binary is started under a loopback Runtime API (`local::runtime_api`) against the embedded
//! DynamoDB, `--runs` times. Reported per binary: file size, init duration (process start to the
//! first `next`), the first invocation, a warm invocation (median of `--warm`), and peak RSS —
//! beside a hello-world `lambda_http` binary built in the same run, the baseline the targets are
//! ratios of.
//!
//! `coldstart NAME=PATH...`; NAME is `users`, `groups`, `discovery` (the function binary, started
//! with that `SCIM_FAMILY`, as template.yaml does) or `hello`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use scim_lambda::local::embedded;
use scim_lambda::local::runtime_api::{peak_rss_kib, RuntimeApi};
use scim_lambda::service::{directories, PublicUrl, Service};
use scim_lambda::store::{Store, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE};

#[derive(Parser)]
struct Args {
    /// Cold starts per binary.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Warm invocations per cold start.
    #[arg(long, default_value_t = 20)]
    warm: usize,
    /// NAME=PATH of each binary.
    #[arg(required = true)]
    binaries: Vec<String>,
}

/// The fixture each function is invoked with (events/), pointed at the benchmark's directory.
fn event(name: &str, directory: &str, token: &str) -> String {
    let file = match name {
        "users" => "users-filter.json",
        "groups" => "groups-list.json",
        _ => "discovery-serviceproviderconfig.json",
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/").to_string() + file;
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .replace("01890000-0000-7000-8000-000000000001", directory)
        .replace(
            "scim_sk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            token,
        )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    v[v.len() / 2]
}

struct Figures {
    name: String,
    size: u64,
    init: f64,
    first: f64,
    warm: f64,
    rss_kib: u64,
}

async fn measure(name: &str, path: &PathBuf, endpoint: &str, event: &str, args: &Args) -> Figures {
    let (mut init, mut first, mut warm, mut rss) = (vec![], vec![], vec![], 0);
    for _ in 0..args.runs {
        let api = RuntimeApi::start().await.expect("runtime api");
        let started = Instant::now();
        let mut child = api
            .command(path, name)
            .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("SCIM_TABLE", DEFAULT_TABLE)
            .env("SCIM_TOKENS_TABLE", DEFAULT_TOKENS_TABLE)
            .env("RUST_LOG", "warn")
            .env("SCIM_FAMILY", name)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ready = api.wait_ready(Duration::from_secs(30)).await.expect("init");
        init.push((ready - started).as_secs_f64() * 1000.0);
        let answer = api
            .invoke(event, Duration::from_secs(30))
            .await
            .expect("first invocation");
        assert!(
            answer.ok && answer.response["statusCode"] == 200,
            "{name}: {}",
            answer.response
        );
        first.push(answer.duration.as_secs_f64() * 1000.0);
        let mut w = vec![];
        for _ in 0..args.warm {
            let answer = api
                .invoke(event, Duration::from_secs(30))
                .await
                .expect("warm");
            w.push(answer.duration.as_secs_f64() * 1000.0);
        }
        warm.push(median(w));
        if let Some(pid) = child.id() {
            rss = rss.max(peak_rss_kib(pid).unwrap_or(0));
        }
        let _ = child.kill().await;
    }
    Figures {
        name: name.to_string(),
        size: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        init: median(init),
        first: median(first),
        warm: median(warm),
        rss_kib: rss,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let endpoint = embedded::start(&embedded::Storage::Memory).await?;
    let store = Store::local(&endpoint, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
    store.create_tables().await?;
    let svc = Service::new(store);
    let base = PublicUrl::new("http://coldstart");
    let d = directories::create(&svc, &base, "coldstart", None, None).await?;
    let (dir, token) = (d.directory.id.as_str(), d.token.as_str());
    let mut all = Vec::new();
    for spec in &args.binaries {
        let (name, path) = spec.split_once('=').ok_or("NAME=PATH expected")?;
        let path = PathBuf::from(path);
        all.push(measure(name, &path, &endpoint, &event(name, dir, token), &args).await);
    }
    let hello = all.iter().find(|f| f.name == "hello").map(|f| f.init);
    println!(
        "\n| binary | size | init p50 | init / hello | first invocation p50 | warm invocation p50 | peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for f in &all {
        println!(
            "| {} | {:.1} MB | {:.1} ms | {} | {:.1} ms | {:.2} ms | {:.1} MiB |",
            f.name,
            f.size as f64 / 1_000_000.0,
            f.init,
            hello.map_or("-".into(), |h| format!("{:.2}x", f.init / h)),
            f.first,
            f.warm,
            f.rss_kib as f64 / 1024.0
        );
    }
    println!(
        "\n({} cold starts per binary, {} warm invocations each; medians)",
        args.runs, args.warm
    );
    Ok(())
}
