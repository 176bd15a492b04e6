//! Structured JSON logs on stdout (CloudWatch in Lambda), filtered by `RUST_LOG` (default `info`):
//! a level, or `target=level` pairs (`info,scim_lambda::store=debug`). Parsed by
//! `tracing_subscriber`'s `Targets`, not `EnvFilter`, whose span-field matching needs the regex
//! engine: about 0.5 MB of the Lambda binary for a feature no one here uses.
//! Request logs carry ids, method, path, status, latency and User-Agent — never a token, a body or
//! a query string (filters hold e-mail addresses).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    init_with_writer(std::io::stdout);
}

/// The same format to any writer (tests capture it to check what a log line holds).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_target(false)
                .with_writer(writer),
        )
        .with(filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
}

/// The filter `RUST_LOG` names; `info` when unset or unreadable (a bad value must not silence
/// the logs).
fn filter(spec: Option<&str>) -> Targets {
    spec.filter(|s| !s.trim().is_empty())
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_levels_and_targets() {
        assert_eq!(filter(None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(
            filter(Some("warn")).default_level(),
            Some(LevelFilter::WARN)
        );
        let t = filter(Some("info,scim_lambda::store=debug"));
        assert!(t.would_enable("scim_lambda::store::tx", &tracing::Level::DEBUG));
        assert!(!t.would_enable("scim_lambda::api", &tracing::Level::DEBUG));
        assert_eq!(filter(Some("")).default_level(), Some(LevelFilter::INFO));
    }
}
