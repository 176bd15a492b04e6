//! The portal's HTML, from compile-time templates (`maud`): every `(value)` spliced into a page
//! is escaped, so a name an IdP sent is text, never markup; nothing here uses `PreEscaped`.
//! The pages carry no inline script or style (the Content-Security-Policy forbids both): the one
//! script and the stylesheets are files under `/portal/assets/` (`super::assets`), and what the
//! script needs to know rides in `data-` attributes.

mod activity;
mod attributes;
mod credentials;
mod lists;
mod notice;
mod roles;
mod setup;

pub use activity::activity;
pub use attributes::attributes;
pub use credentials::credentials;
pub use lists::{groups, user, users};
pub use notice::{notice, open_page, Notice};
pub use roles::{roles, Outcome, Search};
pub use setup::{choose_provider, setup, status_name, status_words, Revealed};

use maud::{html, Markup, DOCTYPE};

pub use crate::api::web::{copyable, when, when_millis};

use super::brand::Brand;
use crate::roles::RoleCatalogue;
use crate::service::directory_reads::NormalisedUser;
use crate::service::portal::PortalSession;

/// The catalogue of pages shown without a session, or of a stack that declares no roles.
pub static NO_ROLES: RoleCatalogue = RoleCatalogue {
    roles: Vec::new(),
    default: None,
};

/// The tab a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Setup,
    Users,
    Groups,
    Roles,
    Attributes,
    Credentials,
    Activity,
    None,
}

/// What every page's frame needs.
pub struct Frame<'a> {
    /// The path the portal's routes start with (`/portal`, or `/stage/portal`).
    pub root: &'a str,
    pub brand: &'a Brand,
    pub session: Option<&'a PortalSession>,
    /// The application's roles: with any, the Roles tab is shown and users show their role.
    pub roles: &'a RoleCatalogue,
    /// Whether the application declares custom attribute keys (the Attributes tab).
    pub attributes: bool,
}

impl Frame<'_> {
    pub fn href(&self, path: &str) -> String {
        format!("{}/{path}", self.root)
    }

    fn csrf(&self) -> &str {
        self.session.map(PortalSession::csrf).unwrap_or_default()
    }

    /// A POST form to `path` with the session's CSRF token, wrapping `body`.
    pub fn form(&self, path: &str, id: Option<&str>, body: Markup) -> Markup {
        html! {
            form method="post" action=(self.href(path)) id=[id] {
                input type="hidden" name="csrf" value=(self.csrf());
                (body)
            }
        }
    }

    /// The whole page.
    pub fn page(&self, title: &str, tab: Tab, main: Markup) -> Markup {
        let app = self.session.and_then(PortalSession::app_name);
        let home = self.session.and_then(PortalSession::return_url);
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (title) " · " (self.brand.product) }
                    link rel="stylesheet" href=(self.href(&super::assets::CSS.to_string()));
                    link rel="stylesheet" href=(self.href(&super::assets::BRAND_CSS.to_string()));
                    script src=(self.href(&super::assets::JS.to_string())) defer {}
                }
                body data-root=(self.root)
                    data-directory=[self.session.map(PortalSession::directory_id)]
                    data-embed-origin=[self.session.and_then(PortalSession::embed_origin)]
                    data-session-expires=[self.session.map(PortalSession::expires_at_millis)] {
                    header.bar {
                        @let brand = html! {
                            @if let Some(logo) = &self.brand.logo_url {
                                img.logo src=(logo) alt="";
                            }
                            span.product { (self.brand.product) }
                        };
                        @match home {
                            Some(url) => a.brand href=(url) target=[self.top()] title="Back to the application" { (brand) },
                            None => span.brand { (brand) },
                        }
                        @if let Some(app) = app {
                            span.app { "for " (app) }
                        }
                    }
                    @if self.session.is_some() && tab != Tab::None {
                        nav.tabs aria-label="Portal" {
                            (self.tab("setup", "Setup", tab == Tab::Setup))
                            (self.tab("users", "Users", tab == Tab::Users))
                            (self.tab("groups", "Groups", tab == Tab::Groups))
                            @if self.has_roles() {
                                (self.tab("roles", "Roles", tab == Tab::Roles))
                            }
                            @if self.attributes {
                                (self.tab("attributes", "Attributes", tab == Tab::Attributes))
                            }
                            (self.tab("credentials", "Credentials", tab == Tab::Credentials))
                            (self.tab("activity", "Activity", tab == Tab::Activity))
                        }
                    }
                    main { (main) }
                    p.live-region.visually-hidden aria-live="polite" id="announce" {}
                }
            }
        }
    }

    /// Links out of the portal (back to the application, `success_url`) leave the frame when
    /// the portal is embedded.
    pub fn top(&self) -> Option<&'static str> {
        self.session
            .and_then(PortalSession::embed_origin)
            .map(|_| "_top")
    }

    /// Whether the application declares roles (the Roles tab, a user's role).
    pub fn has_roles(&self) -> bool {
        !self.roles.roles.is_empty()
    }

    /// A user's role by its name (the slug if the catalogue no longer declares it), or "—".
    pub fn role_of(&self, u: &NormalisedUser) -> String {
        match &u.role {
            Some(r) => self.roles.name(&r.slug).unwrap_or(&r.slug).to_string(),
            None => "—".into(),
        }
    }

    fn tab(&self, path: &str, label: &str, current: bool) -> Markup {
        html! {
            a href=(self.href(path)) aria-current=[current.then_some("page")] { (label) }
        }
    }
}
