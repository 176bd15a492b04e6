//! Each provider's set-up steps, written once: the Admin Portal renders them as HTML with the
//! directory's values filled in (`api::portal`), and `docs/idp-*.md` carry the same steps as
//! Markdown with placeholders (`markdown`; a test keeps the docs equal to what this module makes).
//!
//! A step is a list of parts: plain text, a label of the IdP's console (menu, tab, field or button,
//! shown in bold) and a value of ours (shown as a copyable value in the portal, a placeholder in
//! the docs).

use super::{Protocol, Provider};

/// A value of the directory the steps fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// The SCIM base URL in the provider's protocol (`/scim/v2/{id}`, or `/scim/v1/{id}`).
    BaseUrl,
    /// A bearer token (revealed once by the portal's Generate token).
    BearerToken,
    /// The directory's OAuth token endpoint.
    TokenEndpoint,
    /// An OAuth client id.
    ClientId,
    /// An OAuth client secret (revealed once).
    ClientSecret,
}

/// A piece of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Text(&'static str),
    /// A label of the IdP's console: a menu, tab, field or button.
    Ui(&'static str),
    /// A value to type or paste (`attribute`, `userName`): literal, not the directory's.
    Literal(&'static str),
    Value(Value),
}

/// One numbered step: a line, and optional sub-points (each a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub line: &'static [Part],
    pub points: &'static [&'static [Part]],
}

/// A provider's guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guide {
    pub provider: Provider,
    /// One or two sentences before the steps.
    pub intro: &'static str,
    pub steps: &'static [Step],
    /// The docs page with the detail (what the IdP sends, known quirks).
    pub docs_page: &'static str,
}

impl Value {
    /// What the docs show in place of the value.
    pub fn placeholder(self, protocol: Protocol) -> &'static str {
        match (self, protocol) {
            (Value::BaseUrl, Protocol::V2) => "https://{api}/scim/v2/{directoryId}",
            (Value::BaseUrl, Protocol::V1) => "https://{api}/scim/v1/{directoryId}",
            (Value::BearerToken, _) => "scim_sk_…",
            (Value::TokenEndpoint, _) => "https://{api}/oauth2/{directoryId}/token",
            (Value::ClientId, _) => "scim_client_…",
            (Value::ClientSecret, _) => "scim_cs_…",
        }
    }
}

use Part::{Literal as L, Text as T, Ui as U};

/// The guide of a provider.
pub fn guide(provider: Provider) -> &'static Guide {
    GUIDES
        .iter()
        .find(|g| g.provider == provider)
        .unwrap_or(&GUIDES[GUIDES.len() - 1])
}

static GUIDES: &[Guide] = &[Guide {
    provider: Provider::Other,
    intro: "Any SCIM 2.0 or SCIM 1.1 client can provision this directory.",
    steps: &[
        Step {
            line: &[
                T("Set the client's SCIM base URL to "),
                Part::Value(Value::BaseUrl),
                T(" (SCIM 1.1 clients: replace "),
                L("/scim/v2/"),
                T(" with "),
                L("/scim/v1/"),
                T(")."),
            ],
            points: &[],
        },
        Step {
            line: &[
                T("Send the token in the "),
                U("Authorization"),
                T(" header as "),
                L("Bearer "),
                Part::Value(Value::BearerToken),
                T("."),
            ],
            points: &[],
        },
    ],
    docs_page: "docs/behaviour.md",
}];
