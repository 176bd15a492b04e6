//! The `path` of a PATCH operation (RFC 7644 §3.5.2): parse strictly and leniently for each
//! kind, and print-then-reparse.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scim_lambda_fuzz::check_path(data));
