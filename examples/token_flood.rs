//! Failed client authentications at the token endpoint (issue 16, item 1): how many a single
//! Lambda-like handler answers per second and how long each holds it, on the embedded DynamoDB.
//! Three kinds of failure — a made-up client id (no read), a real client with a wrong secret
//! (one GetItem), the same again after many failures (no slow-down builds up) — then the right
//! secret, which must still be answered at once. Prints medians and maxima; a shared machine's
//! figures, so compare them with each other, not with a target.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Parser;
use scim_lambda::api::{handle, App};
use scim_lambda::function::Function;
use scim_lambda::local::embedded;
use scim_lambda::service::{credentials, directories, PublicUrl};
use scim_lambda::store::{Store, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE};

#[derive(Parser)]
struct Args {
    /// Failed requests of each kind.
    #[arg(long, default_value_t = 1_000)]
    requests: usize,
}

fn request(dir: &str, id: &str, secret: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://x/oauth2/{dir}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", B64.encode(format!("{id}:{secret}"))),
        )
        .body(lambda_http::Body::Text(
            "grant_type=client_credentials".into(),
        ))
        .expect("a valid request")
}

async fn run(app: &App, n: usize, req: impl Fn() -> lambda_http::Request) -> (u16, Vec<Duration>) {
    let mut times = Vec::with_capacity(n);
    let mut status = 0;
    for _ in 0..n {
        let started = Instant::now();
        status = handle(app, Function::Token, req()).await.status().as_u16();
        times.push(started.elapsed());
    }
    times.sort();
    (status, times)
}

fn row(name: &str, status: u16, times: &[Duration]) {
    let total: Duration = times.iter().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {status} | {} | {:.0} | {:.2} | {:.2} |",
        times.len(),
        times.len() as f64 / total.as_secs_f64(),
        ms(times[times.len() / 2]),
        ms(*times.last().expect("at least one request")),
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let endpoint = embedded::start(&embedded::Storage::Memory).await?;
    let store = Store::local(&endpoint, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
    store.create_tables().await?;
    let app = App::new(store, None);
    let base = PublicUrl::new("https://scim.example.com");
    let dir = directories::create(&app.service, &base, "flood", None, None)
        .await?
        .directory
        .id;
    let client = credentials::create_client(&app.service, &base, &dir, None).await?;
    let (id, secret) = (client.client.client_id, client.client_secret);
    let n = args.requests.max(1);
    println!("| request | status | requests | answered per second | p50 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let (s, t) = run(&app, n, || request(&dir, "someone", "guess")).await;
    row("made-up client id", s, &t);
    let wrong = "scim_cs_0000000000000000000000000000000000000000000000000000000000000000";
    let (s, t) = run(&app, n, || request(&dir, &id, wrong)).await;
    row("real client, wrong secret", s, &t);
    let (s, t) = run(&app, n, || request(&dir, &id, wrong)).await;
    row("the same, after as many failures", s, &t);
    let (s, t) = run(&app, 1, || request(&dir, &id, &secret)).await;
    row("the right secret, right after", s, &t);
    Ok(())
}
