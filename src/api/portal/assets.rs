//! The portal's static files: the shared script and stylesheet (`api::web::assets`) and the
//! brand's (`brand::Brand::css`). Their URLs carry a hash of their content, so a browser may
//! keep them for a year and a new build is fetched at once.

use std::sync::OnceLock;

use crate::api::web::assets::{version as hash, CSS_BODY, CSS_TYPE, JS_BODY, JS_TYPE};

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
    V.get_or_init(|| hash(&[JS_BODY, CSS_BODY, &super::brand::Brand::get().css()]))
}

/// The body and content type of the asset `name`.
pub fn get(name: &str) -> Option<(String, &'static str)> {
    match name {
        "portal.js" => Some((JS_BODY.into(), JS_TYPE)),
        "portal.css" => Some((CSS_BODY.into(), CSS_TYPE)),
        "brand.css" => Some((super::brand::Brand::get().css(), CSS_TYPE)),
        _ => None,
    }
}
