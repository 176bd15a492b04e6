//! The console's HTML, from compile-time templates (`maud`) that escape every spliced value: a
//! user name an IdP sent is text, never markup. Same look and script as the Admin Portal
//! (`api::web::assets`), no inline script or style; forms carry the run's CSRF token.

mod directories;
mod directory;

pub use directories::{created, directories, new_directory, Row};
pub use directory::{
    attributes, credentials, events, groups, overview, requests, roles, users, webhook,
    AttributesPage, Revealed,
};

use maud::{html, Markup, DOCTYPE};

use crate::api::web::assets;
use crate::provider::Provider;

/// What every page's frame needs.
pub struct Frame<'a> {
    /// The management API the console works on (shown in the bar).
    pub api: &'a str,
    /// Whether calls are signed with AWS credentials (a deployed stack).
    pub signed: bool,
    pub csrf: &'a str,
}

impl Frame<'_> {
    /// A POST form to `action` carrying the CSRF token, wrapping `body`.
    pub fn form(&self, action: &str, id: Option<&str>, body: Markup) -> Markup {
        html! {
            form method="post" action=(action) id=[id] {
                input type="hidden" name="csrf" value=(self.csrf);
                (body)
            }
        }
    }

    /// The whole page; `nav`: the directory tabs, if the page is one directory's.
    pub fn page(&self, title: &str, nav: Option<Markup>, main: Markup) -> Markup {
        let v = assets::version(&[assets::JS_BODY, assets::CSS_BODY, assets::CONSOLE_CSS_BODY]);
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " · SCIM console" }
                    link rel="stylesheet" href=(format!("/assets/portal.css?v={v}"));
                    link rel="stylesheet" href=(format!("/assets/console.css?v={v}"));
                    script src=(format!("/assets/portal.js?v={v}")) defer {}
                }
                body {
                    header.bar {
                        a.brand href="/" { span.product { "SCIM console" } }
                        span.where {
                            "Management API " code { (self.api) }
                            @if self.signed { " (signed with your AWS credentials)" }
                        }
                    }
                    nav.tabs aria-label="Console" {
                        a href="/" { "Directories" }
                        a href="/directories/new" { "Add directory" }
                    }
                    @if let Some(nav) = nav { (nav) }
                    main { (main) }
                    p.live-region.visually-hidden aria-live="polite" id="announce" {}
                }
            }
        }
    }
}

/// A message page.
pub fn notice(frame: &Frame, title: &str, body: &str) -> Markup {
    frame.page(
        title,
        None,
        html! {
            div.notice role="alert" {
                h1 { (title) }
                p { (body) }
            }
        },
    )
}

/// A directory's status as a badge (`data-status` for the stylesheet and the tests).
pub fn status(s: &str) -> Markup {
    let label = match s {
        "pending" => "Pending",
        "linked" => "Linked",
        "invalid_credentials" => "No valid token",
        "deleting" => "Deleting",
        other => other,
    };
    html! { span.status data-status=(s) { (label) } }
}

/// A provider's product name (`okta` → Okta), or what the API said if it is not one we know.
pub fn provider_name(p: Option<&str>) -> String {
    match p {
        None => "Not chosen yet".into(),
        Some(n) => {
            Provider::from_name(n).map_or_else(|| n.to_string(), |p| p.product_name().into())
        }
    }
}

/// `/directories/{id}` with the id escaped as one path segment.
pub fn dir_href(id: &str, rest: &str) -> String {
    let d = crate::management_client::segment(id);
    if rest.is_empty() {
        format!("/directories/{d}")
    } else {
        format!("/directories/{d}/{rest}")
    }
}
