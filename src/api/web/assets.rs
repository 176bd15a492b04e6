//! The static files both sites serve, embedded in the binary: one script (copy buttons; the
//! portal's link opening and live status) and one stylesheet, and the console's few extra rules.
//! Their URLs carry a hash of their content (`version`), so a browser may keep them for a year
//! and a new build is fetched at once.

use sha2::{Digest, Sha256};

pub const JS_BODY: &str = include_str!("assets/portal.js");
pub const CSS_BODY: &str = include_str!("assets/portal.css");
pub const CONSOLE_CSS_BODY: &str = include_str!("assets/console.css");

pub const JS_TYPE: &str = "text/javascript; charset=utf-8";
pub const CSS_TYPE: &str = "text/css; charset=utf-8";

/// The first 12 hex digits of SHA-256 over `parts`: an asset URL's `?v=`.
pub fn version(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}
