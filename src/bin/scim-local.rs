//! `scim-local --port PORT`: every route of template.yaml on one local port, backed by the DynamoDB
//! endpoint the environment names (`AWS_ENDPOINT_URL_DYNAMODB`, `SCIM_TABLE`, ...).

use std::sync::Arc;

use clap::Parser;
use scim_lambda::api::{App, ENV_PUBLIC_URL};
use scim_lambda::store::Store;

#[derive(Parser)]
#[command(about = "Serve the SCIM endpoint locally on one port")]
struct Args {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    scim_lambda::telemetry::init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let public = std::env::var(ENV_PUBLIC_URL)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("http://{addr}"));
    let app = App::new(Store::from_env().await, Some(public.clone()));
    eprintln!("scim-local listening on {public}");
    scim_lambda::local::serve(listener, Arc::new(app)).await
}
