//! The embedded DynamoDB: dynoxide (a SQLite-backed emulator of the DynamoDB API) served on a
//! loopback port inside this process. The store still talks to it through the AWS SDK over HTTP,
//! exactly as it talks to DynamoDB, so local runs, tests and the benchmark exercise the same
//! request/response path as production (conditional writes, transactions, paging, TTL).
//!
//! Known difference from DynamoDB: one process, one SQLite writer, so it never answers
//! `TransactionConflict` or throttles; those are injected by a layer of our own, not by this one.

use std::path::PathBuf;

/// Where the emulator keeps its data.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A SQLite file: data survives a restart (the `scim-local` default).
    File(PathBuf),
    /// In memory, gone when the process ends (tests, `--memory`, the benchmark).
    Memory,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot open the embedded DynamoDB at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: dynoxide::DynoxideError,
    },
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bind the embedded DynamoDB to loopback: {0}")]
    Bind(#[source] std::io::Error),
}

/// Starts the emulator on an ephemeral loopback port (served by a task of the current Tokio
/// runtime) and returns its endpoint URL, e.g. `http://127.0.0.1:41234`.
pub async fn start(storage: &Storage) -> Result<String, EmbeddedError> {
    let db = match storage {
        Storage::Memory => dynoxide::Database::memory(),
        Storage::File(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::CreateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            dynoxide::Database::new(&path.to_string_lossy())
        }
    }
    .map_err(|source| EmbeddedError::Open {
        path: describe(storage),
        source,
    })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(EmbeddedError::Bind)?;
    let addr = listener.local_addr().map_err(EmbeddedError::Bind)?;
    tokio::spawn(dynoxide::server::serve_on(listener, db));
    Ok(format!("http://{addr}"))
}

fn describe(storage: &Storage) -> String {
    match storage {
        Storage::Memory => ":memory:".into(),
        Storage::File(p) => p.display().to_string(),
    }
}
