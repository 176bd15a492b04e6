//! Serverless SCIM endpoint: AWS Lambda + DynamoDB.
//!
//! Request path: API Gateway → a thin binary (`src/bin`) → `api` (HTTP ⇄ typed SCIM requests,
//! auth, routing) → `scim` (pure protocol: schemas, filters, PATCH, paging, errors) and `store`
//! (DynamoDB single table + hashed tokens). Imports go downward only: `scim` knows nothing of AWS or
//! HTTP, `store` nothing of HTTP.

pub mod admin;
pub mod api;
pub mod auth;
pub mod clock;
pub mod events;
pub mod function;
#[cfg(feature = "local")]
pub mod local;
pub mod management_client;
pub mod management_key;
pub mod metrics;
pub mod scim;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod workers;
