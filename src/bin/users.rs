//! Lambda function for SCIM /Users (2.0 and 1.1). All logic lives in the library.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    scim_lambda::api::lambda::run(scim_lambda::api::Family::Users).await
}
