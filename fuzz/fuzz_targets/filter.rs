//! A `filter=` query parameter (RFC 7644 §3.4.2.2): parse for each kind, plan, evaluate,
//! and print-then-reparse.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scim_lambda_fuzz::check_filter(data));
