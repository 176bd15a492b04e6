//! The Lambda function binary, shared by the three functions (template.yaml): each function names
//! its SCIM resource family in `SCIM_FAMILY` (`users`, `groups`, `discovery`). One binary instead of
//! three identical ones: `sam build` links (and LTO-optimises) it once. All logic lives in the
//! library.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let family = scim_lambda::api::Family::from_env()?;
    scim_lambda::api::lambda::run(family).await
}
