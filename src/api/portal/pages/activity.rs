//! The Activity tab: the directory's SCIM requests as its IdP sent them, failures first, each
//! failure with what to change in the IdP. Everything shown came from the IdP or was answered
//! to it (redacted before it was stored, `request_log::redact`), so all of it is text.

use maud::{html, Markup};

use super::{when, Frame, Tab};
use crate::request_log::RequestRecord;
use crate::service::portal::what_to_change;
use crate::service::request_log::RequestPage;

pub fn activity(
    frame: &Frame,
    failures: &RequestPage,
    all: &RequestPage,
    all_only: bool,
) -> Markup {
    let main = html! {
        h1 { "Activity" }
        p.lead { "What your IdP sent and what it was answered, newest first. Passwords and tokens are removed before anything is kept." }
        @if !all_only {
            h2 { "Failures" }
            @if failures.data.is_empty() {
                p.empty id="no-failures" { "No failed requests." }
            } @else {
                ol.requests id="failures" {
                    @for r in &failures.data { (request(r, true)) }
                }
            }
        }
        h2 { "All requests" }
        @if all.data.is_empty() {
            p.empty { "No requests yet: they appear here as your IdP sends them." }
        } @else {
            ol.requests id="requests" {
                @for r in &all.data { (request(r, false)) }
            }
        }
        @if let Some(after) = &all.list_metadata.after {
            nav.pager aria-label="Pages" {
                a rel="next" href=(format!("{}?all=1&after={}", frame.href("activity"), after)) { "Older requests" }
            }
        }
    };
    frame.page("Activity", Tab::Activity, main)
}

fn request(r: &RequestRecord, explain: bool) -> Markup {
    let failed = r.status >= 400;
    html! {
        li.request.failed[failed] {
            p.line {
                strong.status { (r.status) } " "
                code { (r.method) " " (r.path) @if let Some(q) = &r.query { "?" (q) } }
                " " span.when { (when(&r.at)) }
                @if let Some(idp) = &r.idp { " · " span.idp { (idp) } }
            }
            @if let Some(detail) = &r.detail { p.detail { (detail) } }
            @if explain && failed { p.explanation { (what_to_change(r.status)) } }
            @if r.request_body.is_some() || r.response_body.is_some() {
                details {
                    summary { "Bodies" }
                    @if let Some(b) = &r.request_body { h4 { "Request" } pre { (b) } }
                    @if let Some(b) = &r.response_body { h4 { "Response" } pre { (b) } }
                }
            }
        }
    }
}
