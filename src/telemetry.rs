//! Structured JSON logs on stdout (CloudWatch in Lambda), filtered by `RUST_LOG` (default `info`).
//! Request logs carry ids, method, path, status, latency and User-Agent — never a token, a body or
//! a query string (filters hold e-mail addresses).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same format to any writer (tests capture it to check what a log line holds).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}
