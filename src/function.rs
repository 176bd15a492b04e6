//! The ten Lambda functions of the stack, named as one set. They run one binary
//! (`src/bin/lambda.rs`); template.yaml tells each which it is in `SCIM_FAMILY`. Six serve HTTP
//! routes (`api::routes`): the SCIM Users, Groups and discovery endpoints, the OAuth token
//! endpoint, the management API and the Admin Portal. Four are fed by AWS rather than by clients
//! (`workers`): clean-up and publisher on the directory table's stream, webhooks on the webhook
//! queue, the request log on a CloudWatch Logs subscription. Each is its own function so that it
//! holds only the IAM permissions it uses and its own concurrency (template.yaml;
//! `tests/it/iam.rs` proves the permissions).

/// Environment variable naming the function a process serves. (Called `SCIM_FAMILY` since the
/// first three functions were the SCIM resource families; deployed stacks set it by that name.)
pub const ENV_FUNCTION: &str = "SCIM_FAMILY";

/// One Lambda function of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// SCIM `/Users`.
    Users,
    /// SCIM `/Groups`.
    Groups,
    /// SCIM discovery: ServiceProviderConfig, Schemas, ResourceTypes (and the refusals of `/Me`,
    /// `/Bulk`, `/.search`).
    Discovery,
    /// The OAuth token endpoint (`api::oauth`): a function of its own, so an anonymous client
    /// hammering it can neither hold the SCIM functions' concurrency nor reach a role that
    /// writes anything but access tokens.
    Token,
    /// The application's management API (`api::manage`), behind IAM.
    Management,
    /// The Admin Portal (`api::portal`): the pages a customer's IT admin opens from a setup link.
    /// Public, like the SCIM routes; its role reads the directory and writes only credentials,
    /// sessions and the portal's activity record.
    Portal,
    /// Finishes large group deletes and directory deletes (the table's stream).
    Cleanup,
    /// Puts every committed event on the EventBridge bus (the table's stream).
    Publisher,
    /// Delivers events to webhooks (the webhook queue).
    Webhooks,
    /// Stores the SCIM request log (`service::request_log`): fed the record lines of the SCIM and
    /// token functions by a CloudWatch Logs subscription filter on their log groups.
    RequestLog,
}

#[derive(Debug, thiserror::Error)]
#[error("{ENV_FUNCTION} must name a function (users, groups, discovery, token, management, portal, cleanup, publisher, webhooks or request_log; got {0:?})")]
pub struct UnknownFunction(String);

impl Function {
    pub const ALL: [Function; 10] = [
        Function::Users,
        Function::Groups,
        Function::Discovery,
        Function::Token,
        Function::Management,
        Function::Portal,
        Function::Cleanup,
        Function::Publisher,
        Function::Webhooks,
        Function::RequestLog,
    ];

    /// The function named by `SCIM_FAMILY`.
    pub fn from_env() -> Result<Function, UnknownFunction> {
        let name = std::env::var(ENV_FUNCTION).unwrap_or_default();
        Function::from_name(&name).ok_or(UnknownFunction(name))
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `SCIM_FAMILY` name; also the metrics' `Family` dimension and the name DynamoDB calls
    /// are recorded under (`store::caller`).
    pub fn name(self) -> &'static str {
        match self {
            Function::Users => "users",
            Function::Groups => "groups",
            Function::Discovery => "discovery",
            Function::Token => "token",
            Function::Management => "management",
            Function::Portal => "portal",
            Function::Cleanup => "cleanup",
            Function::Publisher => "publisher",
            Function::Webhooks => "webhooks",
            Function::RequestLog => "request_log",
        }
    }

    /// The logical id of the function in template.yaml.
    pub fn logical_id(self) -> &'static str {
        match self {
            Function::Users => "UsersFunction",
            Function::Groups => "GroupsFunction",
            Function::Discovery => "DiscoveryFunction",
            Function::Token => "TokenFunction",
            Function::Management => "ManagementFunction",
            Function::Portal => "PortalFunction",
            Function::Cleanup => "CleanupFunction",
            Function::Publisher => "PublisherFunction",
            Function::Webhooks => "WebhookFunction",
            Function::RequestLog => "RequestLogFunction",
        }
    }

    /// Whether API Gateway routes HTTP requests to it (`api::routes::ROUTES`).
    pub fn serves_http(self) -> bool {
        !matches!(
            self,
            Function::Cleanup | Function::Publisher | Function::Webhooks | Function::RequestLog
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_found_by_its_name() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert_eq!(Function::from_name("scim"), None);
    }

    #[test]
    fn only_the_workers_serve_no_routes() {
        for (f, _) in crate::api::routes::ROUTES {
            assert!(f.serves_http(), "{f:?}");
        }
        let http: Vec<Function> = Function::ALL
            .into_iter()
            .filter(|f| f.serves_http())
            .collect();
        for f in http {
            assert!(
                crate::api::routes::ROUTES.iter().any(|(g, _)| *g == f),
                "{f:?} serves no route"
            );
        }
    }
}
