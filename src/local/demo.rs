//! The demo directory `scim-local` serves. The first start of a store creates it (with a token);
//! later starts print the same directory and token again, so an IdP or `curl` configured once keeps
//! working across restarts. The plaintext token is kept beside the local data (the store itself
//! holds only its SHA-256, as in production); if that file is missing or no longer matches the
//! store, a new demo directory is created.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::auth;
use crate::clock;
use crate::service::directories::{self, DirectoryView};
use crate::service::{ManagementError, PublicUrl, Service};

/// The demo directory and its token.
pub struct Demo {
    pub directory: DirectoryView,
    pub token: String,
}

/// What is kept beside the local data: the demo directory's id and plaintext token.
#[derive(Serialize, Deserialize)]
struct Saved {
    id: String,
    token: String,
}

/// The demo directory and whether it was created by this call.
pub async fn ensure(
    svc: &Service,
    base: &PublicUrl,
    state: Option<&Path>,
) -> Result<(Demo, bool), ManagementError> {
    if let Some(saved) = state.and_then(read) {
        if still_valid(svc, &saved).await? {
            let shown = directories::show(svc, base, &saved.id).await?;
            let demo = Demo {
                directory: shown.directory,
                token: saved.token,
            };
            return Ok((demo, false));
        }
    }
    let created = directories::create(svc, base, "demo", None, None).await?;
    if let Some(path) = state {
        let saved = Saved {
            id: created.directory.id.clone(),
            token: created.token.clone(),
        };
        let text = serde_json::to_string(&saved).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            tracing::warn!(path = %path.display(), error = %crate::telemetry::chain(&e), "cannot save the demo token");
        }
    }
    let demo = Demo {
        directory: created.directory,
        token: created.token,
    };
    Ok((demo, true))
}

fn read(path: &Path) -> Option<Saved> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The saved token still opens the saved directory in this store.
async fn still_valid(svc: &Service, saved: &Saved) -> Result<bool, ManagementError> {
    let record = svc.store.get_token(&auth::hash_token(&saved.token)).await?;
    Ok(
        record.is_some_and(|t| t.directory_id == saved.id && t.is_live(clock::now_millis()))
            && svc.store.get_directory(&saved.id).await?.is_some(),
    )
}
