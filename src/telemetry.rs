//! Structured JSON logs on stdout (CloudWatch in Lambda), filtered by `RUST_LOG` (default `info`):
//! a level, or `target=level` pairs (`info,scim_lambda::store=debug`). Parsed by
//! `tracing_subscriber`'s `Targets`, not `EnvFilter`, whose span-field matching needs the regex
//! engine: about 0.5 MB of the Lambda binary for a feature no one here uses.
//! Request logs carry ids, method, path, status, latency and User-Agent — never a token, a body or
//! a query string (filters hold e-mail addresses). The one exception is the request-log record
//! (`crate::request_log`, target `scim_request_log`), which a Lambda prints for the CloudWatch
//! Logs subscription that stores it: redacted (no token, password or secret), but with bodies.
//! `RUST_LOG` cannot silence it (the log is a feature, not a diagnostic).
//! An error is logged with its whole chain ([`chain`]): a store failure reads "DynamoDB Query
//! failed: service error: ResourceNotFoundException: Requested resource not found", not just its
//! first link.

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
        .with_target(crate::request_log::LOG_TARGET, LevelFilter::INFO)
}

/// An error and every cause under it (`source()`), joined by `: `, for a log field
/// (`error = %telemetry::chain(&e)`). A link whose text repeats the one above it (an error that
/// prints its source and also returns it) is shown once.
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Chain<'a> {
    Chain(error)
}

/// See [`chain`].
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !last.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            next = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("DynamoDB Query failed")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error("service error")]
    struct Middle(#[source] std::io::Error);
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn a_logged_error_shows_every_cause() {
        let e = Outer(Middle(std::io::Error::other(
            "Requested resource not found",
        )));
        assert_eq!(
            chain(&e).to_string(),
            "DynamoDB Query failed: service error: Requested resource not found"
        );
        let e = Repeats(std::io::Error::other("throttled"));
        assert_eq!(chain(&e).to_string(), "throttled");
    }

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
