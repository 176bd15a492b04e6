//! The Lambda function binary, shared by all ten functions (template.yaml): each names the
//! function it is in `SCIM_FAMILY` (`crate::function::Function`). One binary: `sam build` links
//! (and LTO-optimises) it once. All logic lives in the library.

use scim_lambda::api;
use scim_lambda::function::Function;
use scim_lambda::workers;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Boxed: several runtime loops in one async main would nest past the compiler's query depth.
    match Function::from_env()? {
        Function::Cleanup => Box::pin(workers::run_cleanup()).await,
        Function::Publisher => Box::pin(workers::run_publisher()).await,
        Function::Webhooks => Box::pin(workers::run_webhooks()).await,
        Function::RequestLog => Box::pin(workers::run_request_log()).await,
        http => Box::pin(api::lambda::run(http)).await,
    }
}
