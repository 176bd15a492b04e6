//! Serverless SCIM endpoint: AWS Lambda + DynamoDB, with the events, webhooks and management API
//! a SaaS application needs to learn what its customers' identity providers changed.
//!
//! One binary (`src/bin/lambda.rs`) runs as ten Lambda functions ([`function::Function`]):
//! SCIM Users, Groups and discovery, the OAuth token endpoint, the management API and the Admin
//! Portal serve HTTP
//! through API Gateway ([`api`]); clean-up and publisher read the directory table's stream,
//! webhooks reads the webhook queue and the request log a CloudWatch Logs subscription
//! ([`workers`]). `scimctl` and `scim-local` (the one-port local
//! server, feature `local`) use the same library.
//!
//! The request path: API Gateway → [`api`] (HTTP ⇄ typed requests, auth, routing) → [`service`]
//! (every use case: the write pipeline, listing, directories, credentials, webhooks) → [`store`]
//! (DynamoDB single table, tokens and webhooks tables), which commits each change with its
//! [`events`] in one transaction. Imports go downward only: [`scim`] (the protocol) and
//! [`events`] (the event catalogue, envelope and payloads) are pure — nothing of AWS, HTTP or
//! I/O; [`store`] knows nothing of HTTP; [`workers`] decode AWS event payloads and call the
//! service, as [`api`] does for HTTP.

/// The local binaries' allocator (Cargo.toml says why; the Lambda binary keeps the system's).
#[cfg(feature = "local")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod api;
pub mod auth;
pub mod aws_env;
pub mod clock;
pub mod custom_attributes;
pub mod events;
pub mod function;
#[cfg(feature = "local")]
pub mod local;
pub mod management_client;
pub mod management_key;
pub mod metrics;
pub mod provider;
pub mod request_log;
pub mod roles;
pub mod scim;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod workers;
