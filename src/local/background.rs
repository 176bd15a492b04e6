//! What AWS runs off the request path, run locally by `scim-local`: in AWS the table's stream
//! and the webhook queue trigger these (`CleanupFunction`, `WebhookFunction`); a local server has
//! neither, so this loop runs them a few times a second, with the same code:
//! - webhook deliveries (`service::webhooks`): order, signing and retries as in AWS;
//! - directory deletes the management API started (`service::cleanup`): the data goes once the
//!   token grace has passed since the delete began.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::function::Function;
use crate::service::webhooks::target::UrlPolicy;
use crate::service::webhooks::Deliverer;
use crate::store::directories::DELETING;
use crate::store::Store;
use crate::telemetry::chain;

/// Runs until the process ends, every `every`; a directory's data goes `grace` after this loop
/// first sees it being deleted (`auth::CACHE_TTL` in `scim-local`: no cached token can write
/// behind the delete).
pub async fn run(store: Store, every: Duration, grace: Duration) {
    let deliverer = match Deliverer::new(store.clone(), UrlPolicy::Local) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::error!(error = %chain(&e), "webhook deliveries are off");
            None
        }
    };
    // When this loop first saw each directory being deleted.
    let mut deleting: HashMap<String, Instant> = HashMap::new();
    loop {
        match store.list_directories().await {
            Ok(dirs) => {
                for d in dirs {
                    if let Some(deliverer) = &deliverer {
                        if let Err(e) = deliverer.deliver(&d.id).await {
                            tracing::warn!(directory = %d.id, error = %chain(&e), "webhook delivery failed; retrying");
                        }
                    }
                    if d.status == DELETING {
                        let since = *deleting.entry(d.id.clone()).or_insert_with(Instant::now);
                        if since.elapsed() >= grace {
                            let delete = store.delete_directory(&d.id, Duration::ZERO);
                            match crate::store::caller::scope(Function::Cleanup.name(), delete)
                                .await
                            {
                                Ok(items) => {
                                    tracing::info!(directory = %d.id, items, "directory deleted")
                                }
                                Err(e) => {
                                    tracing::warn!(directory = %d.id, error = %chain(&e), "directory delete continues")
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %chain(&e), "could not list directories"),
        }
        tokio::time::sleep(every).await;
    }
}
