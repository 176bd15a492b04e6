//! The portal's static files, embedded in the binary: one script, one stylesheet (and the
//! brand's, `brand::Brand::css`). Their URLs carry a hash of their content, so a browser may
//! keep them for a year and a new build is fetched at once.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

pub const JS_BODY: &str = include_str!("assets/portal.js");
pub const CSS_BODY: &str = include_str!("assets/portal.css");

/// Paths under the portal's root, with the content hash.
pub static JS: Versioned = Versioned("portal.js");
pub static CSS: Versioned = Versioned("portal.css");
pub static BRAND_CSS: Versioned = Versioned("brand.css");

/// An asset's file name.
pub struct Versioned(pub &'static str);

impl std::fmt::Display for Versioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "assets/{}?v={}", self.0, version())
    }
}

/// One hash over every asset and the brand (a change to either changes every URL).
fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(JS_BODY);
        h.update(CSS_BODY);
        h.update(super::brand::Brand::get().css());
        h.finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The body and content type of the asset `name`.
pub fn get(name: &str) -> Option<(String, &'static str)> {
    match name {
        "portal.js" => Some((JS_BODY.into(), "text/javascript; charset=utf-8")),
        "portal.css" => Some((CSS_BODY.into(), "text/css; charset=utf-8")),
        "brand.css" => Some((super::brand::Brand::get().css(), "text/css; charset=utf-8")),
        _ => None,
    }
}
