//! A PATCH (2.0 PatchOp and 1.1 partial resource) or POST/PUT body as JSON bytes: parse,
//! apply to a stored user and group, normalise.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scim_lambda_fuzz::check_patch(data));
