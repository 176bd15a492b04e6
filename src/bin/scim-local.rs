//! `scim-local`: every route of template.yaml on one local port, served by the same handlers the
//! Lambdas run. The store is the embedded DynamoDB emulator (a SQLite file under `.local/` by
//! default, `--memory` for a throwaway one) unless `--endpoint` / `AWS_ENDPOINT_URL_DYNAMODB` names
//! another (DynamoDB Local, LocalStack, AWS); `SCIM_DYNAMODB_MODEL_MS` puts the meter's DynamoDB
//! model (latency per call, transaction conflicts) in front of the embedded one. Prints the demo
//! directory's URLs and token, and the key of the local management API (`management_key.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use scim_lambda::api::{App, ENV_PUBLIC_URL};
use scim_lambda::local::meter::{DynamoModel, Meter, ENV_MODEL_MS};
use scim_lambda::local::{background, demo, embedded};
use scim_lambda::management_client::ENV_MANAGEMENT_URL;
use scim_lambda::management_key::{ManagementKey, DEFAULT_KEY_FILE, ENV_MANAGEMENT_KEY};
use scim_lambda::service::portal_links::{self, NewPortalLink, PortalLinkOptions};
use scim_lambda::service::request_log::Pipeline;
use scim_lambda::service::webhooks::target::UrlPolicy;
use scim_lambda::service::{PublicUrl, Service};
use scim_lambda::store::{self, Store};

#[derive(Parser)]
#[command(about = "Serve the SCIM endpoint locally on one port")]
struct Args {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The embedded store's SQLite file (kept across restarts).
    #[arg(long, default_value = ".local/scim-local.sqlite")]
    data: PathBuf,
    /// Keep the embedded store in memory: everything is gone when the server stops.
    #[arg(long, conflicts_with = "endpoint")]
    memory: bool,
    /// Use this DynamoDB endpoint instead of the embedded store (credentials and region from the
    /// standard AWS environment).
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    endpoint: Option<String>,
}

/// The store, where the demo token is kept, how the store is described, and the embedded
/// emulator's endpoint (for scimctl while this server runs) when there is one.
async fn open_store(
    args: &Args,
) -> Result<(Store, Option<PathBuf>, String, Option<String>), Box<dyn std::error::Error>> {
    if let Some(e) = &args.endpoint {
        return Ok((
            Store::from_env_at(Some(e)).await,
            Some(PathBuf::from(".local/demo-endpoint.json")),
            format!("DynamoDB at {e}"),
            None,
        ));
    }
    let (storage, state, backing) = if args.memory {
        (
            embedded::Storage::Memory,
            None,
            "embedded, in memory".into(),
        )
    } else {
        (
            embedded::Storage::File(args.data.clone()),
            Some(args.data.with_extension("demo.json")),
            format!("embedded, {}", args.data.display()),
        )
    };
    let endpoint = embedded::start(&storage).await?;
    // SCIM_DYNAMODB_MODEL_MS: DynamoDB's latency and transaction conflicts in front of the
    // emulator (docs/throughput.md), so contention shows here as it would in AWS.
    let (store_endpoint, backing) = match DynamoModel::from_env()? {
        None => (endpoint.clone(), backing),
        Some(model) => {
            let meter = Meter::builder(&endpoint)
                .model(model)
                .keep_calls(false)
                .start()
                .await?;
            let described = format!(
                "{backing}, DynamoDB model: {} ms per call, transaction conflicts ({ENV_MODEL_MS})",
                model.latency.as_secs_f64() * 1000.0
            );
            (meter.endpoint().to_string(), described)
        }
    };
    let (table, tokens) = store::table_names_from_env();
    let store = Store::local(&store_endpoint, &table, &tokens);
    Ok((store, state, backing, Some(endpoint)))
}

fn print_demo(demo: &demo::Demo, created: bool, backing: &str) {
    let (d, token) = (&demo.directory, &demo.token);
    println!("store:            {backing}");
    println!(
        "demo directory:   {} ({})",
        d.id,
        if created { "created" } else { "existing" }
    );
    println!("SCIM 2.0 base URL: {}", d.scim_v2_url);
    println!("SCIM 1.1 base URL: {}", d.scim_v1_url);
    println!("Bearer token:      {token}");
    println!(
        "try: curl -H 'Authorization: Bearer {token}' {}/Users",
        d.scim_v2_url
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    scim_lambda::telemetry::init();
    let args = Args::parse();
    let (store, state, backing, embedded_endpoint) = open_store(&args).await?;
    store.create_tables().await?;

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let public = std::env::var(ENV_PUBLIC_URL)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("http://{addr}"));
    // A local server may send webhooks to a receiver on this machine (`UrlPolicy::Local`).
    let mut app = App::new(store.clone(), Some(public.clone()));
    app.webhook_urls = UrlPolicy::Local;
    // The request log, written off the request path as in AWS (docs/request-log.md).
    app.request_log = Some(Pipeline::start(
        Service::new(store.clone()),
        std::time::Duration::from_millis(200),
    ));
    let (demo, created) =
        demo::ensure(&app.service, &PublicUrl::new(&public), state.as_deref()).await?;
    print_demo(&demo, created, &backing);
    // A fresh setup link at every start: what an application would hand its customer's IT admin.
    let options = PortalLinkOptions::try_from(NewPortalLink {
        expires_in_minutes: Some(24 * 60),
        ..Default::default()
    })?;
    let link = portal_links::create_link(
        &app.service,
        &PublicUrl::new(&public),
        &demo.directory.id,
        options,
    )
    .await?;
    println!(
        "Admin Portal:      {} (setup link for the demo directory; open it in a browser, valid 24 h)",
        link.url
    );
    if let Some(e) = &embedded_endpoint {
        println!(
            "scimctl here:      export AWS_ENDPOINT_URL_DYNAMODB={e} AWS_REGION=us-east-1 \
             AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local SCIM_PUBLIC_URL={public}"
        );
    }
    // The management API's key lives beside the demo token, so it too survives restarts (a
    // throwaway store gets a throwaway key); with another endpoint, where scimctl looks first.
    let key_file = match (&args.endpoint, args.memory) {
        (Some(_), _) => Some(PathBuf::from(DEFAULT_KEY_FILE)),
        (None, true) => None,
        (None, false) => Some(args.data.with_extension("management-key")),
    };
    let management = if addr.ip().is_loopback() {
        let key = match &key_file {
            Some(path) => ManagementKey::load_or_create(path).unwrap_or_else(|e| {
                tracing::warn!(error = %scim_lambda::telemetry::chain(&e), "the management key is for this run only");
                ManagementKey::generate()
            }),
            None => ManagementKey::generate(),
        };
        println!("management API:    {public}/manage/directories (loopback only; in AWS it is IAM-authorised)");
        println!("management key:    {}", key.as_str());
        match key_file.as_deref().filter(|p| *p == Path::new(DEFAULT_KEY_FILE)) {
            Some(path) => println!(
                "scimctl via API:   export {ENV_MANAGEMENT_URL}={public}/manage  (the key is read from {})",
                path.display()
            ),
            None => println!(
                "scimctl via API:   export {ENV_MANAGEMENT_URL}={public}/manage {ENV_MANAGEMENT_KEY}={}",
                key.as_str()
            ),
        }
        Some(key)
    } else {
        println!("management API:    off (not on a loopback address; in AWS it is IAM-authorised)");
        None
    };
    // What AWS runs off the request path: webhook deliveries, the data of deleted directories.
    tokio::spawn(background::run(
        store.clone(),
        std::time::Duration::from_millis(200),
        scim_lambda::auth::CACHE_TTL,
    ));
    eprintln!("scim-local listening on {public}");
    scim_lambda::local::serve(listener, Arc::new(app), management).await?;
    Ok(())
}
