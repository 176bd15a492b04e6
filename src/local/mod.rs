//! Local running, behind the `local` feature (never in a Lambda binary): the embedded DynamoDB
//! emulator (`embedded`), a metering layer in front of any DynamoDB endpoint that counts round
//! trips, items and capacity units per operation (`meter`), the one-port server that routes
//! template.yaml's paths to the real handlers (`server`), and the demo directory `scim-local`
//! prints on every start (`demo`).

pub mod demo;
pub mod embedded;
pub mod meter;
pub mod runtime_api;
pub mod server;

pub use server::serve;
