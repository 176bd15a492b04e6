//! The AWS SDK configuration of the Lambda functions (DynamoDB and EventBridge clients), read
//! straight from the variables Lambda sets, instead of through aws-config's default provider
//! chain.
//!
//! Lambda sets `AWS_REGION` and the execution role's `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` in every function's environment ("Defined
//! runtime environment variables",
//! <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>),
//! and these functions run on `provided.al2023` without SnapStart, whose functions get their
//! credentials another way. The chain would stop at those same variables; what it carries beside
//! them (profile files, SSO, web identity and role assumption through STS and its XML protocol,
//! the container and instance metadata services) can never be reached in Lambda. The Lambda
//! binary now names none of it, so fat LTO leaves it out (docs/cold-start.md: what that saved).
//! `scimctl` and `scim-local` keep aws-config's chain (`Store::from_env`): operators use
//! profiles and SSO.
//!
//! Endpoint overrides are honoured as aws-config honours them (`AWS_ENDPOINT_URL_<SERVICE>`, then
//! `AWS_ENDPOINT_URL`, neither under `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`): the event
//! fixtures and the cold-start benchmark run this binary against a local emulator that way
//! (`local::runtime_api`).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region, SharedCredentialsProvider};

/// The DynamoDB client's configuration, as `Store::from_lambda_env` completes it (interceptor,
/// timeouts).
pub fn dynamodb() -> aws_sdk_dynamodb::config::Builder {
    let lookup = |name: &str| std::env::var(name).ok();
    let mut conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region(lookup))
        .credentials_provider(credentials())
        .http_client(crate::store::http_client());
    conf.set_endpoint_url(endpoint_url("DYNAMODB", lookup));
    conf
}

/// The EventBridge client's configuration (the publisher function).
pub fn eventbridge() -> aws_sdk_eventbridge::config::Builder {
    let lookup = |name: &str| std::env::var(name).ok();
    let mut conf = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(region(lookup))
        .credentials_provider(credentials())
        .http_client(crate::store::http_client());
    conf.set_endpoint_url(endpoint_url("EVENTBRIDGE", lookup));
    conf
}

/// `AWS_REGION`, or `AWS_DEFAULT_REGION` (Lambda sets both): the first two steps of aws-config's
/// region chain, the rest of which (profile, instance metadata) Lambda never needs.
fn region(var: impl Fn(&str) -> Option<String>) -> Option<Region> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| var(name).filter(|r| !r.trim().is_empty()))
        .map(Region::new)
}

/// The execution role's session credentials, read from the environment when the SDK first
/// signs (and cached by its identity cache), as the first step of aws-config's chain reads them.
fn credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new())
}

/// The endpoint of the service whose environment-variable name is `service`
/// (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_EVENTBRIDGE`), else the global
/// `AWS_ENDPOINT_URL`, else none (the SDK resolves the region's endpoint). An empty variable
/// counts as unset.
fn endpoint_url(service: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    [
        format!("AWS_ENDPOINT_URL_{service}"),
        "AWS_ENDPOINT_URL".into(),
    ]
    .iter()
    .find_map(|name| var(name).filter(|url| !url.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_service_endpoint_comes_before_the_global_one() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://global"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb"),
        ];
        assert_eq!(
            endpoint_url("DYNAMODB", env(&vars)).as_deref(),
            Some("http://dynamodb")
        );
        assert_eq!(
            endpoint_url("EVENTBRIDGE", env(&vars)).as_deref(),
            Some("http://global")
        );
    }

    #[test]
    fn no_endpoint_variable_leaves_the_regions_endpoint() {
        assert_eq!(endpoint_url("DYNAMODB", env(&[])), None);
        assert_eq!(
            endpoint_url("DYNAMODB", env(&[("AWS_ENDPOINT_URL_DYNAMODB", "")])),
            None
        );
    }

    #[test]
    fn configured_endpoints_can_be_ignored() {
        let vars = [
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb"),
        ];
        assert_eq!(endpoint_url("DYNAMODB", env(&vars)), None);
    }

    #[test]
    fn the_region_is_aws_region_then_aws_default_region() {
        let both = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ];
        assert_eq!(region(env(&both)), Some(Region::new("eu-west-1")));
        let default = [("AWS_DEFAULT_REGION", "us-east-1")];
        assert_eq!(region(env(&default)), Some(Region::new("us-east-1")));
        assert_eq!(region(env(&[])), None);
    }
}
