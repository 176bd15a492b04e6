//! What every server-rendered page of ours shares — the Admin Portal's (`api::portal`, the
//! customer's IT admin) and the operator console's (`api::console`, the SaaS team, served by
//! `scimctl console`): the stylesheet and the one script (`assets`), the answer builders, the
//! security headers, the session cookie's reading, the CSRF comparison and the small template
//! pieces both use (a value with a copy button, a time as a person reads it, the custom attribute
//! mapping form and its preview: `attributes`).
//!
//! The safety rules live here so the two sites cannot drift apart: pages come from `maud`
//! templates that escape every spliced value (nothing uses `PreEscaped`), so a name an IdP sent
//! is text; the Content-Security-Policy allows no inline script or style and no third-party
//! origin but what the caller names (the portal's brand logo); every page is `no-store`.

pub mod assets;
pub mod attributes;

use lambda_http::http::{header, HeaderMap, StatusCode};
use lambda_http::{Body, Request, Response};
use maud::{html, Markup};

/// An HTML page answer.
pub fn html(status: StatusCode, page: Markup) -> Response<Body> {
    let mut r = Response::new(Body::from(page.into_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A JSON answer (the pages' script reads these).
pub fn json_answer(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// `303 See Other` to `location` (after a form post: a reload does not post again).
pub fn see_other(location: &str) -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = header::HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// An embedded asset (`assets::get`) with a year's cache lifetime: its URL carries the content's
/// hash. `None`: no such asset.
pub fn asset_answer(found: Option<(String, &'static str)>) -> Response<Body> {
    let Some((body, content_type)) = found else {
        let mut r = Response::new(Body::Empty);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let mut r = Response::new(Body::from(body));
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}

/// The sources a page may use beyond its own origin.
pub struct Policy<'a> {
    /// `img-src` besides `'self'` (the portal's brand logo origin).
    pub img_origin: Option<&'a str>,
    /// The one origin that may frame the page (`frame-ancestors`); `None`: no one.
    pub frame_ancestor: Option<&'a str>,
}

impl Policy<'_> {
    /// The Content-Security-Policy: own scripts and styles only (no inline ones, no eval), no
    /// plugin or third-party origin, forms post to this origin only.
    pub fn csp(&self) -> String {
        let img = match self.img_origin {
            Some(o) => format!("'self' {o}"),
            None => "'self'".into(),
        };
        let ancestors = self.frame_ancestor.unwrap_or("'none'");
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; connect-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
        )
    }
}

/// The headers every page answer carries: the CSP, `nosniff`, `Referrer-Policy: no-referrer`
/// (no URL of ours leaves in a `Referer`), `X-Frame-Options: DENY` unless an origin may frame it,
/// and `no-store` unless the answer set its own cache lifetime (an asset).
pub fn secure(headers: &mut HeaderMap, policy: &Policy<'_>) {
    let cached = headers.contains_key(header::CACHE_CONTROL);
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = header::HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &policy.csp());
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    if policy.frame_ancestor.is_none() {
        set(header::X_FRAME_OPTIONS, "DENY");
    }
    if !cached {
        set(header::CACHE_CONTROL, "no-store");
    }
}

/// The value of cookie `name` (RFC 6265 §5.4: `name=value` pairs separated by `; `).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_string())
}

/// Whether a form's CSRF field is the session's token (compared in constant time).
pub fn csrf_matches(sent: Option<&str>, expected: &str) -> bool {
    sent.is_some_and(|t| crate::scim::cursor::constant_time_eq(t.as_bytes(), expected.as_bytes()))
}

/// Whether the browser says the request came from the site's own pages. Fetch Metadata first:
/// `Sec-Fetch-Site` must be one of `sites`. Without it (an older browser), an `Origin`, when
/// sent, must satisfy `own_origin`. Under `Referrer-Policy: no-referrer` Chromium sends
/// `Origin: null` with a same-origin form post, so `null` proves nothing either way and the
/// CSRF token decides.
pub fn from_own_pages(req: &Request, sites: &[&str], own_origin: impl Fn(&str) -> bool) -> bool {
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    match h("sec-fetch-site") {
        Some(site) => sites.contains(&site),
        None => h("origin").is_none_or(|o| o == "null" || own_origin(o)),
    }
}

/// A value with a copy button: `code` carries `data-value` (what the value is) for scripts and
/// tests; the button copies the code's text (`assets/portal.js`).
pub fn copyable(id: &str, kind: &str, value: &str, label: &str) -> Markup {
    html! {
        span.copyable {
            code id=(id) data-value=(kind) { (value) }
            button.copy type="button" data-copy=(id) aria-label=(format!("Copy {label}")) { "Copy" }
        }
    }
}

/// An RFC 3339 time as a person reads it (`2026-12-05 18:04 UTC`).
pub fn when(rfc3339: &str) -> String {
    let t = rfc3339.replace('T', " ");
    match t.get(..16) {
        Some(minutes) => format!("{minutes} UTC"),
        None => t,
    }
}

/// Milliseconds since the epoch as `when` shows them.
pub fn when_millis(millis: i64) -> String {
    when(&crate::clock::format_rfc3339(millis))
}

/// `1 user`, `3 users`.
pub fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_code_and_names_the_framing_origin_only() {
        let none = Policy {
            img_origin: None,
            frame_ancestor: None,
        };
        let csp = none.csp();
        assert!(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        let framed = Policy {
            img_origin: Some("https://cdn.example.com"),
            frame_ancestor: Some("https://app.example.com"),
        };
        let csp = framed.csp();
        assert!(csp.contains("img-src 'self' https://cdn.example.com;"));
        assert!(csp.ends_with("frame-ancestors https://app.example.com"));
        let mut h = HeaderMap::new();
        secure(&mut h, &framed);
        assert!(!h.contains_key(header::X_FRAME_OPTIONS));
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_csrf_field_must_be_present_and_equal() {
        assert!(csrf_matches(Some("abc"), "abc"));
        assert!(!csrf_matches(Some("abd"), "abc"));
        assert!(!csrf_matches(None, "abc"));
        assert!(!csrf_matches(Some(""), "abc"));
    }
}
