//! Pages that say one thing: a link that expired or is not valid, a session that ended, a
//! refused form, a failure; and the page that opens a setup link.

use maud::{html, Markup};

use super::{Frame, Tab};

/// A message page.
pub struct Notice<'a> {
    pub title: &'a str,
    pub body: &'a str,
}

pub fn notice(frame: &Frame, n: &Notice) -> Markup {
    let main = html! {
        div.notice role="alert" {
            h1 { (n.title) }
            p { (n.body) }
        }
    };
    frame.page(n.title, Tab::None, main)
}

/// `GET /portal/open`: the link's secret is in the fragment, which only the page's script can
/// read (`assets/portal.js` posts it to `/portal/open` and follows the answer).
pub fn open_page(frame: &Frame) -> Markup {
    let main = html! {
        div.notice id="opening" data-open-url=(frame.href("open")) {
            h1 { "Opening your setup link…" }
            noscript { p { "This page needs JavaScript to open the link." } }
        }
    };
    frame.page("Opening your setup link", Tab::None, main)
}
