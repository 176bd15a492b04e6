//! The set-up flow: choose the identity provider, then that provider's steps with this
//! directory's values filled in, the credentials revealed once, and the live connection test
//! (waiting → Linked, the first users, the last failure explained).

use maud::{html, Markup};

use super::{copyable, when, Frame, Tab};
use crate::api::web::count;
use crate::provider::guides::{self, Part, Value};
use crate::provider::{Protocol, Provider};
use crate::service::credentials::{CreatedClient, IssuedToken};
use crate::service::directories::{DirectoryStatus, DirectoryView};
use crate::service::portal::PortalStatus;

/// What a form just revealed (shown on this answer only).
#[derive(Default)]
pub struct Revealed {
    pub token: Option<IssuedToken>,
    pub client: Option<CreatedClient>,
}

/// `GET /portal/provider`: one button per provider.
pub fn choose_provider(frame: &Frame, current: Option<Provider>) -> Markup {
    let main = html! {
        h1 { "Choose your identity provider" }
        p.lead { "Pick the product your organisation signs in with. The next page shows its steps with this directory's values filled in." }
        (frame.form("provider", Some("choose-provider"), html! {
            div.providers role="group" aria-label="Identity providers" {
                @for p in Provider::ALL {
                    button.provider type="submit" name="provider" value=(p.name())
                        aria-pressed=[(current == Some(p)).then_some("true")] {
                        span.name { (p.product_name()) }
                        span.hint { (hint(p)) }
                    }
                }
            }
        }))
    };
    frame.page("Choose your identity provider", Tab::Setup, main)
}

fn hint(p: Provider) -> &'static str {
    match p {
        Provider::Okta => "App integration with SCIM provisioning",
        Provider::OktaScim11 => "Okta's catalog app for SCIM 1.1",
        Provider::Entra => "Enterprise application provisioning",
        Provider::Pingfederate => "SCIM outbound provisioning",
        Provider::Pingone => "SCIM outbound connection",
        Provider::Onelogin => "SCIM provisioner app",
        Provider::Jumpcloud => "Custom SCIM application",
        Provider::Other => "Any client speaking SCIM 2.0 or 1.1",
    }
}

/// `GET /portal/setup` (and the answer of a reveal).
pub fn setup(
    frame: &Frame,
    d: &DirectoryView,
    provider: Provider,
    status: &PortalStatus,
    revealed: &Revealed,
) -> Markup {
    let guide = guides::guide(provider);
    let base_url = match provider.protocol() {
        Protocol::V2 => &d.scim_v2_url,
        Protocol::V1 => &d.scim_v1_url,
    };
    let token = revealed.token.as_ref().map(|t| t.token.as_str());
    let client = revealed.client.as_ref();
    let value = |v: Value| -> Markup {
        match v {
            Value::BaseUrl => copyable("v-base-url", "base_url", base_url, "the base URL"),
            Value::TokenEndpoint => copyable(
                "v-token-endpoint",
                "token_endpoint",
                &d.token_endpoint,
                "the token endpoint",
            ),
            Value::BearerToken => match token {
                Some(t) => copyable("v-token-step", "bearer_token", t, "the token"),
                None => html! { em.placeholder { "the bearer token (Generate token, above)" } },
            },
            Value::ClientId => match client {
                Some(c) => copyable(
                    "v-client-id-step",
                    "client_id",
                    &c.client.client_id,
                    "the client id",
                ),
                None => {
                    html! { em.placeholder { "the client id (Create client credentials, above)" } }
                }
            },
            Value::ClientSecret => match client {
                Some(c) => copyable(
                    "v-client-secret-step",
                    "client_secret",
                    &c.client_secret,
                    "the client secret",
                ),
                None => html! { em.placeholder { "the client secret (shown once, above)" } },
            },
        }
    };
    let parts = |parts: &[Part]| -> Markup {
        html! {
            @for part in parts {
                @match part {
                    Part::Text(t) => (t),
                    Part::Ui(label) => strong.ui { (label) },
                    Part::Literal(l) => code { (l) },
                    Part::Value(v) => (value(*v)),
                }
            }
        }
    };
    let main = html! {
        h1 { "Configure " (provider.product_name()) }
        p.lead { (guide.intro) " "
            a href=(frame.href("provider")) { "Choose another identity provider" } }
        section aria-labelledby="values-title" {
            h2 id="values-title" { "1. Your endpoint and token" }
            dl.values {
                dt { "SCIM base URL (Endpoint)" }
                dd { (copyable("v-base-url-top", "base_url", base_url, "the base URL")) }
                dt { "Bearer token" }
                dd { (token_block(frame, token)) }
                @if provider.offers_client_credentials() {
                    dt { "OAuth client credentials (optional)" }
                    dd { (client_block(frame, d, client)) }
                }
            }
        }
        section aria-labelledby="steps-title" {
            h2 id="steps-title" { "2. In " (provider.product_name()) }
            ol id="steps" {
                @for step in guide.steps {
                    li {
                        (parts(step.line))
                        @if !step.points.is_empty() {
                            ul { @for p in step.points { li { (parts(p)) } } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="test-title" {
            h2 id="test-title" { "3. Test the connection" }
            (status_block(frame, status))
        }
    };
    frame.page(
        &format!("Configure {}", provider.product_name()),
        Tab::Setup,
        main,
    )
}

fn token_block(frame: &Frame, token: Option<&str>) -> Markup {
    match token {
        Some(t) => html! {
            div.reveal role="status" {
                (copyable("v-token", "bearer_token", t, "the token"))
                p.warn { "Copy it now: it is shown this once and cannot be shown again. If it is lost, generate another on the Credentials tab." }
            }
        },
        None => frame.form(
            "tokens",
            Some("generate-token"),
            html! {
                p { "A token is shown once, when it is made; only its hash is kept." }
                button.primary type="submit" { "Generate token" }
            },
        ),
    }
}

fn client_block(frame: &Frame, d: &DirectoryView, client: Option<&CreatedClient>) -> Markup {
    match client {
        Some(c) => html! {
            div.reveal role="status" {
                dl.values {
                    dt { "Token endpoint" }
                    dd { (copyable("v-token-endpoint-top", "token_endpoint", &c.token_endpoint, "the token endpoint")) }
                    dt { "Client id" }
                    dd { (copyable("v-client-id", "client_id", &c.client.client_id, "the client id")) }
                    dt { "Client secret" }
                    dd { (copyable("v-client-secret", "client_secret", &c.client_secret, "the client secret")) }
                }
                p.warn { "Copy the secret now: it is shown this once." }
            }
        },
        None => html! {
            p { "Token endpoint: " code { (d.token_endpoint) } }
            (frame.form("clients", Some("create-client"), html! {
                button type="submit" { "Create client credentials" }
            }))
        },
    }
}

/// The live status: the script (`assets/portal.js`) polls `/portal/status` and rewrites these
/// elements' text; this is what the page shows before its first poll.
pub fn status_block(frame: &Frame, s: &PortalStatus) -> Markup {
    let (label, hint) = status_words(s.status);
    // The script shows it when the status turns Linked.
    let success = frame.session.and_then(|s| s.success_url());
    let linked = s.status == DirectoryStatus::Linked;
    html! {
        div.status-card data-status-url=(frame.href("status")) {
            p {
                span id="status" data-status=(status_name(s.status)) { (label) }
            }
            p id="status-hint" { (hint) }
            p.counts {
                span id="user-count" { (count(s.users, "user")) } " · "
                span id="group-count" { (count(s.groups, "group")) }
            }
            h3 { "First users to arrive" }
            ul id="arrivals" {
                @for name in &s.arrivals { li { (name) } }
            }
            div id="last-error" hidden[s.last_error.is_none()] {
                @if let Some(e) = &s.last_error {
                    h3 { "Last failed request" }
                    p {
                        @if let Some(status) = e.status { strong { (status) } " " }
                        @if let Some(at) = &e.at { "at " (when(at)) }
                    }
                    p.explanation { (e.explanation) }
                    @if let Some(detail) = &e.detail { p.detail { (detail) } }
                }
            }
            a.primary.finish id="finish" href=(success.unwrap_or("#")) target=[frame.top()] hidden[success.is_none() || !linked] { "Finish set-up" }
        }
    }
}

pub fn status_name(s: DirectoryStatus) -> &'static str {
    match s {
        DirectoryStatus::Pending => "pending",
        DirectoryStatus::Linked => "linked",
        DirectoryStatus::InvalidCredentials => "invalid_credentials",
        DirectoryStatus::Deleting => "deleting",
    }
}

/// The status in words, and what to do about it.
pub fn status_words(s: DirectoryStatus) -> (&'static str, &'static str) {
    match s {
        DirectoryStatus::Pending => (
            "Waiting for the first request from your IdP",
            "Save the settings in your IdP and run its connection test or push a user: this page updates by itself.",
        ),
        DirectoryStatus::Linked => (
            "Linked",
            "Your IdP has connected. Users and groups appear here as it sends them.",
        ),
        DirectoryStatus::InvalidCredentials => (
            "No valid token",
            "Every token of this directory was revoked or has expired: generate a token and paste it into your IdP.",
        ),
        DirectoryStatus::Deleting => ("Being deleted", "This directory is being deleted."),
    }
}
