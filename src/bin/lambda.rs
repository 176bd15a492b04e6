//! The Lambda function binary, shared by every function (template.yaml): each function names what
//! it serves in `SCIM_FAMILY` (`users`, `groups`, `discovery`, or `cleanup` for the stream-fed
//! group clean-up). One binary: `sam build` links (and LTO-optimises) it once. All logic lives in
//! the library.

use scim_lambda::api::{lambda, routes::ENV_FAMILY, Family};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    if std::env::var(ENV_FAMILY).as_deref() == Ok(lambda::CLEANUP) {
        // Boxed: two runtime loops in one async main would nest past the compiler's query depth.
        return Box::pin(lambda::run_cleanup()).await;
    }
    Box::pin(lambda::run(Family::from_env()?)).await
}
