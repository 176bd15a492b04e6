//! The Lambda function binary, shared by every function (template.yaml): each function names what
//! it serves in `SCIM_FAMILY` (`users`, `groups`, `discovery`, `management`; `cleanup` and
//! `publisher` on the table's stream; `webhooks` on the webhook queue). One binary: `sam build` links (and LTO-optimises) it once. All logic lives in
//! the library.

use scim_lambda::api::{lambda, routes::ENV_FAMILY, Family};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Boxed: several runtime loops in one async main would nest past the compiler's query depth.
    match std::env::var(ENV_FAMILY).as_deref() {
        Ok(lambda::CLEANUP) => return Box::pin(lambda::run_cleanup()).await,
        Ok(lambda::PUBLISHER) => return Box::pin(lambda::run_publisher()).await,
        Ok(lambda::WEBHOOKS) => return Box::pin(lambda::run_webhooks()).await,
        _ => {}
    }
    Box::pin(lambda::run(Family::from_env()?)).await
}
