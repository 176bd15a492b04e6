//! The stack's branding on every portal page: a product name, a logo and an accent colour
//! (template parameters `PortalProductName`, `PortalLogoUrl`, `PortalAccentColor`, passed as
//! `SCIM_PORTAL_PRODUCT_NAME`, `SCIM_PORTAL_LOGO_URL`, `SCIM_PORTAL_ACCENT`). The logo must be
//! an https URL (its origin joins the CSP's `img-src`); the colour a `#rrggbb` value, served in
//! a stylesheet of its own (`brand.css`) because the CSP allows no inline style.

use std::sync::OnceLock;

pub const ENV_PRODUCT_NAME: &str = "SCIM_PORTAL_PRODUCT_NAME";
pub const ENV_LOGO_URL: &str = "SCIM_PORTAL_LOGO_URL";
pub const ENV_ACCENT: &str = "SCIM_PORTAL_ACCENT";
const DEFAULT_PRODUCT: &str = "Directory sync";
const DEFAULT_ACCENT: &str = "#3554d1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub product: String,
    pub logo_url: Option<String>,
    /// The logo's origin, for `img-src`.
    pub logo_origin: Option<String>,
    pub accent: String,
}

impl Brand {
    /// From the environment, read once per process; a value that does not fit is left out
    /// (logged), never put on a page.
    pub fn get() -> &'static Brand {
        static BRAND: OnceLock<Brand> = OnceLock::new();
        BRAND.get_or_init(|| {
            let var = |name| {
                std::env::var(name)
                    .ok()
                    .filter(|v: &String| !v.trim().is_empty())
            };
            Brand::new(var(ENV_PRODUCT_NAME), var(ENV_LOGO_URL), var(ENV_ACCENT))
        })
    }

    pub fn new(product: Option<String>, logo: Option<String>, accent: Option<String>) -> Brand {
        let product = product
            .map(|p| {
                p.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(80)
                    .collect()
            })
            .unwrap_or_else(|| DEFAULT_PRODUCT.into());
        let logo = logo.and_then(|l| {
            let u = url::Url::parse(l.trim())
                .ok()
                .filter(|u| u.scheme() == "https" && u.host_str().is_some());
            if u.is_none() {
                tracing::warn!(variable = ENV_LOGO_URL, "not an https URL; no logo shown");
            }
            u
        });
        let accent = accent
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| {
                let fits = a.len() == 7
                    && a.starts_with('#')
                    && a[1..].chars().all(|c| c.is_ascii_hexdigit());
                if !fits {
                    tracing::warn!(
                        variable = ENV_ACCENT,
                        "not a #rrggbb colour; the default is used"
                    );
                }
                fits
            })
            .unwrap_or_else(|| DEFAULT_ACCENT.into());
        Brand {
            product,
            logo_origin: logo.as_ref().map(|u| u.origin().ascii_serialization()),
            logo_url: logo.map(String::from),
            accent,
        }
    }

    /// `brand.css`: the accent as custom properties the main stylesheet uses.
    pub fn css(&self) -> String {
        format!(":root{{--accent:{};}}\n", self.accent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_logos_and_hex_colours_are_taken() {
        let b = Brand::new(
            Some("Acme Sync".into()),
            Some("https://cdn.example.com/logo.svg".into()),
            Some("#FF0080".into()),
        );
        assert_eq!(b.logo_origin.as_deref(), Some("https://cdn.example.com"));
        assert_eq!(b.css(), ":root{--accent:#ff0080;}\n");
        let b = Brand::new(
            None,
            Some("javascript:alert(1)".into()),
            Some("red;}body{x".into()),
        );
        assert_eq!((b.logo_url, b.accent.as_str()), (None, DEFAULT_ACCENT));
        assert_eq!(b.product, DEFAULT_PRODUCT);
    }
}
