//! The SCIM protocol core: schemas, resources, filters, PATCH, paging, errors and the 1.1 codec.
//! Pure code — no AWS, no HTTP, no I/O — so every rule is unit-tested in isolation.

pub mod change;
pub mod coerce;
pub mod cursor;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod sort;
pub mod v1;
