//! Local webhook deliveries: in AWS the bus → queue → webhook function path triggers them; a
//! local server has no bus, so this loop asks every directory's deliverer to run, a few times a
//! second. The deliverer is the same code (`service::webhooks`): order, signing and retries
//! are the ones AWS runs.

use std::time::Duration;

use crate::service::webhooks::Deliverer;
use crate::store::Store;

/// Runs until the process ends.
pub async fn run(store: Store, every: Duration) {
    let deliverer = match Deliverer::new(store.clone()) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries are off");
            return;
        }
    };
    loop {
        match store.list_directories().await {
            Ok(dirs) => {
                for d in dirs {
                    if let Err(e) = deliverer.deliver(&d.id).await {
                        tracing::warn!(directory = %d.id, error = %e, "webhook delivery failed; retrying");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list directories"),
        }
        tokio::time::sleep(every).await;
    }
}
