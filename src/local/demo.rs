//! The demo directory `scim-local` serves. The first start of a store creates it (with a token);
//! later starts print the same directory and token again, so an IdP or `curl` configured once keeps
//! working across restarts. The plaintext token is kept beside the local data (the store itself
//! holds only its SHA-256, as in production); if that file is missing or no longer matches the
//! store, a new demo directory is created.

use std::path::Path;

use serde_json::{json, Value};

use crate::admin::{Admin, AdminError};
use crate::auth;
use crate::clock;
use crate::store::Store;

/// The demo directory (`id`, `name`, URLs, `token`) and whether it was created by this call.
pub async fn ensure(
    store: &Store,
    admin: &Admin,
    state: Option<&Path>,
) -> Result<(Value, bool), AdminError> {
    if let Some(saved) = state.and_then(read) {
        if still_valid(store, &saved).await? {
            let mut shown = admin
                .show_directory(saved["id"].as_str().unwrap_or(""))
                .await?;
            shown["token"] = saved["token"].clone();
            return Ok((shown, false));
        }
    }
    let created = admin.create_directory("demo", None).await?;
    if let Some(path) = state {
        let saved = json!({"id": created["id"], "token": created["token"]});
        if let Err(e) = std::fs::write(path, saved.to_string()) {
            tracing::warn!(path = %path.display(), error = %crate::telemetry::chain(&e), "cannot save the demo token");
        }
    }
    Ok((created, true))
}

fn read(path: &Path) -> Option<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (v["id"].is_string() && v["token"].is_string()).then_some(v)
}

/// The saved token still opens the saved directory in this store.
async fn still_valid(store: &Store, saved: &Value) -> Result<bool, AdminError> {
    let (Some(id), Some(token)) = (saved["id"].as_str(), saved["token"].as_str()) else {
        return Ok(false);
    };
    let record = store.get_token(&auth::hash_token(token)).await?;
    Ok(
        record.is_some_and(|t| t.directory_id == id && t.is_live(clock::now_millis()))
            && store.get_directory(id).await?.is_some(),
    )
}
