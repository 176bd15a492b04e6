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

const BASE_URL: Part = Part::Value(Value::BaseUrl);
const BEARER_TOKEN: Part = Part::Value(Value::BearerToken);
const TOKEN_ENDPOINT: Part = Part::Value(Value::TokenEndpoint);
const CLIENT_ID: Part = Part::Value(Value::ClientId);
const CLIENT_SECRET: Part = Part::Value(Value::ClientSecret);

/// The guide of a provider.
pub fn guide(provider: Provider) -> &'static Guide {
    GUIDES
        .iter()
        .find(|g| g.provider == provider)
        .unwrap_or(&GUIDES[GUIDES.len() - 1])
}

/// The steps as a numbered Markdown list, the form `docs/idp-*.md` carry between their
/// `portal-steps` markers: console labels in bold, literals and our values as code, each value as
/// its placeholder in the provider's protocol (the docs are for every directory, the portal for one).
pub fn markdown(guide: &Guide) -> String {
    let protocol = guide.provider.protocol();
    let mut out = String::new();
    for (n, step) in guide.steps.iter().enumerate() {
        let number = format!("{}. ", n + 1);
        out.push_str(&number);
        out.push_str(&inline(step.line, protocol));
        out.push('\n');
        // A sub-point belongs to its step when indented to the step's text (CommonMark 5.2).
        let indent = " ".repeat(number.len());
        for point in step.points {
            out.push_str(&indent);
            out.push_str("- ");
            out.push_str(&inline(point, protocol));
            out.push('\n');
        }
    }
    out
}

fn inline(parts: &[Part], protocol: Protocol) -> String {
    parts
        .iter()
        .map(|part| match *part {
            Part::Text(text) => text.to_string(),
            Part::Ui(label) => format!("**{label}**"),
            Part::Literal(literal) => code(literal),
            Part::Value(value) => code(value.placeholder(protocol)),
        })
        .collect()
}

/// An inline code span; a literal holding a backtick needs a longer fence (CommonMark 6.1).
fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// The step every provider's guide ends on: what the Admin Portal shows when the IdP connects.
const WATCH: &[Part] = &[
    T("The Admin Portal's status turns "),
    U("Linked"),
    T(" on the first request from the IdP, and lists the users as they arrive."),
];

static GUIDES: &[Guide] = &[
    // Okta's SCIM 2.0 guide for an app integration built with the App Integration Wizard:
    // developer.okta.com/docs/guides/scim-provisioning-integration-connect, and docs/idp-okta.md.
    Guide {
        provider: Provider::Okta,
        intro: "Your own Okta app integration with SCIM provisioning (recommended). \
                Okta creates, updates and deactivates users and pushes groups over SCIM 2.0.",
        steps: &[
            Step {
                line: &[
                    T("In the Okta Admin Console, go to "),
                    U("Applications → Applications → Create App Integration"),
                    T(", pick your sign-in method ("),
                    U("SAML 2.0"),
                    T(" or "),
                    U("SWA"),
                    T(") and finish the wizard."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("On the app's "),
                    U("General"),
                    T(" tab, "),
                    U("App Settings → Edit"),
                    T(": set "),
                    U("Provisioning"),
                    T(" to "),
                    U("SCIM"),
                    T(" and "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Provisioning → Integration → Edit"), T(":")],
                points: &[
                    &[U("SCIM connector base URL"), T(": "), BASE_URL],
                    &[U("Unique identifier field for users"), T(": "), L("userName")],
                    &[
                        U("Supported provisioning actions"),
                        T(": "),
                        U("Import New Users and Profile Updates"),
                        T(", "),
                        U("Push New Users"),
                        T(", "),
                        U("Push Profile Updates"),
                        T(", "),
                        U("Push Groups"),
                    ],
                    &[U("Authentication Mode"), T(": "), U("HTTP Header")],
                    &[
                        U("Authorization"),
                        T(": "),
                        BEARER_TOKEN,
                        T(" (type "),
                        L("Bearer"),
                        T(" and a space before it if Okta does not show "),
                        L("Bearer"),
                        T(" in front of the field)"),
                    ],
                ],
            },
            Step {
                line: &[
                    U("Test Connector Configuration"),
                    T(", then "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Provisioning → To App → Edit"),
                    T(": enable "),
                    U("Create Users"),
                    T(", "),
                    U("Update User Attributes"),
                    T(" and "),
                    U("Deactivate Users"),
                    T("; leave "),
                    U("Sync Password"),
                    T(" off. "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Assignments"),
                    T(" tab: assign the people and groups to provision."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Push Groups"),
                    T(" tab → "),
                    U("Push Groups → Find groups by name"),
                    T(": push the groups whose members the application should see."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-okta.md",
    },
    // Okta's catalog app, the way WorkOS's "Okta SCIM v1.1" guide walks it (seed 003) and
    // developer.okta.com/docs/api/openapi/okta-scim/guides/scim-11 specifies its requests.
    Guide {
        provider: Provider::OktaScim11,
        intro: "Okta's catalog app for SCIM 1.1 (development and older set-ups). \
                It speaks SCIM 1.1, so its base URL is the /scim/v1/ one.",
        steps: &[
            Step {
                line: &[
                    T("In the Okta Admin Console, go to "),
                    U("Applications → Applications → Browse App Catalog"),
                    T(", search "),
                    U("SCIM 1.1 Test App (OAuth Bearer Token)"),
                    T(", "),
                    U("Add Integration"),
                    T(", name it and finish with "),
                    U("Done"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Provisioning"),
                    T(" tab → "),
                    U("Configure API Integration"),
                    T(", tick "),
                    U("Enable API integration"),
                    T(":"),
                ],
                points: &[
                    &[U("SCIM 1.1 Base URL"), T(": "), BASE_URL],
                    &[
                        U("OAuth Bearer Token"),
                        T(": "),
                        BEARER_TOKEN,
                        T(" (the token only: Okta adds "),
                        L("Bearer"),
                        T(")"),
                    ],
                ],
            },
            Step {
                line: &[
                    U("Test API Credentials"),
                    T(", then "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Provisioning → To App → Edit"),
                    T(": enable "),
                    U("Create Users"),
                    T(", "),
                    U("Update User Attributes"),
                    T(" and "),
                    U("Deactivate Users"),
                    T(". "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Assignments"),
                    T(" tab → "),
                    U("Assign → Assign to People"),
                    T(": pick the users, "),
                    U("Assign"),
                    T(", "),
                    U("Save and Go Back"),
                    T(" for each, then "),
                    U("Done"),
                    T(". Okta looks each user up by "),
                    L("userName"),
                    T(" first and links the one it finds."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Push Groups"),
                    T(" tab → "),
                    U("Push Groups → Find groups by name"),
                    T(": pick a group, keep "),
                    U("Push group memberships immediately"),
                    T(" ticked, "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-okta.md",
    },
    // learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
    // (non-gallery app, "Test Connection", matching attributes), and docs/idp-entra.md.
    Guide {
        provider: Provider::Entra,
        intro: "A non-gallery enterprise application with automatic provisioning. \
                Entra speaks SCIM 2.0 and runs a cycle about every 40 minutes.",
        steps: &[
            Step {
                line: &[
                    T("In the Microsoft Entra admin center (as at least an "),
                    U("Application Administrator"),
                    T("): "),
                    U("Entra ID → Enterprise apps → New application → Create your own application"),
                    T(". Name it, choose "),
                    U("Integrate any other application you don't find in the gallery (Non-gallery)"),
                    T(", "),
                    U("Create"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("In the app, "),
                    U("Provisioning"),
                    T(" → "),
                    U("New configuration"),
                    T(" (older tenants: "),
                    U("Get started"),
                    T(", "),
                    U("Provisioning Mode"),
                    T(": "),
                    U("Automatic"),
                    T(")."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Admin Credentials"), T(":")],
                points: &[
                    &[U("Tenant URL"), T(": "), BASE_URL],
                    &[
                        T("Optional: append "),
                        L("?aadOptscim062020"),
                        T(" to the Tenant URL for Entra's RFC-compliant PATCH requests (both forms are accepted)"),
                    ],
                    &[
                        U("Secret Token"),
                        T(": "),
                        BEARER_TOKEN,
                        T(" (never leave it empty)"),
                    ],
                ],
            },
            Step {
                line: &[
                    T("Or, where "),
                    U("Authentication Method"),
                    T(" offers "),
                    U("OAuth2 Client Credentials Grant"),
                    T(", use client credentials instead of the Secret Token:"),
                ],
                points: &[
                    &[U("Token Endpoint"), T(": "), TOKEN_ENDPOINT],
                    &[U("Client Identifier"), T(": "), CLIENT_ID],
                    &[U("Client Secret"), T(": "), CLIENT_SECRET],
                ],
            },
            Step {
                line: &[
                    U("Test Connection"),
                    T(", then "),
                    U("Create"),
                    T(" (or "),
                    U("Save"),
                    T(")."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Mappings"), T(":")],
                points: &[
                    &[
                        U("Provision Microsoft Entra ID Users"),
                        T(": keep "),
                        L("userName"),
                        T(" ← "),
                        L("userPrincipalName"),
                        T(" as "),
                        U("Matching precedence"),
                        T(" 1"),
                    ],
                    &[
                        U("Provision Microsoft Entra ID Groups"),
                        T(": matched on "),
                        L("displayName"),
                        T("; set "),
                        U("Enabled"),
                        T(" to "),
                        U("No"),
                        T(" if the application should not get groups"),
                    ],
                    &[
                        U("Target Object Actions"),
                        T(": "),
                        U("Create"),
                        T(", "),
                        U("Update"),
                        T(", "),
                        U("Delete"),
                    ],
                ],
            },
            Step {
                line: &[
                    U("Settings → Scope"),
                    T(": "),
                    U("Sync only assigned users and groups"),
                    T("; then "),
                    U("Users and groups"),
                    T(" (left menu): assign the people and groups to provision."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Start provisioning"),
                    T(" on the "),
                    U("Overview"),
                    T(" page (older UI: "),
                    U("Provisioning Status"),
                    T(" "),
                    U("On"),
                    T(", "),
                    U("Save"),
                    T("). "),
                    U("Provisioning logs"),
                    T(" show each cycle."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-entra.md",
    },
    // The SCIM Connector in an SP connection, as WorkOS's PingFederate guide walks it (seed 000)
    // and Ping's settings reference names the fields (docs/idp-pingfederate.md cites it).
    Guide {
        provider: Provider::Pingfederate,
        intro: "An SP connection with PingFederate's SCIM Connector (SCIM Provisioner), \
                provisioning users and groups from a data store over SCIM 2.0.",
        steps: &[
            Step {
                line: &[
                    T("Install the SCIM Connector on every PingFederate node (Ping's install guide) and restart PingFederate."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Applications → Integration → SP Connections → Create Connection"),
                    T(": "),
                    U("Use a template for this connection"),
                    T(", "),
                    U("SCIM Connector"),
                    T("; connection type "),
                    U("Outbound Provisioning"),
                    T("; name it; "),
                    U("Configure Provisioning"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[T("On the "), U("Target"), T(" page:")],
                points: &[
                    &[U("SCIM URL"), T(": "), BASE_URL],
                    &[U("SCIM Version"), T(": "), U("2.0")],
                    &[
                        U("Authentication Method"),
                        T(": "),
                        U("OAuth 2 Bearer Token"),
                        T("; "),
                        U("Access Token"),
                        T(": "),
                        BEARER_TOKEN,
                    ],
                    &[
                        U("Unique User Identifier"),
                        T(": "),
                        L("userName"),
                        T(", and leave "),
                        U("Filter Expression"),
                        T(" empty"),
                    ],
                ],
            },
            Step {
                line: &[
                    T("Or, with client credentials: set "),
                    U("Authentication Method"),
                    T(" to "),
                    U("OAuth 2 Client Credentials"),
                    T(" and fill in:"),
                ],
                points: &[
                    &[U("Token Request Endpoint"), T(": "), TOKEN_ENDPOINT],
                    &[U("Client ID"), T(": "), CLIENT_ID],
                    &[U("Client Secret"), T(": "), CLIENT_SECRET],
                ],
            },
            Step {
                line: &[
                    T("Still on the "),
                    U("Target"),
                    T(" page, "),
                    U("Provisioning Options"),
                    T(": tick "),
                    U("User Create"),
                    T(", "),
                    U("User Update"),
                    T(", "),
                    U("User Disable / Delete"),
                    T("; "),
                    U("Remove User Action"),
                    T(": "),
                    U("Disable"),
                    T(" (or "),
                    U("Delete"),
                    T(")."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Manage Channels → Create"),
                    T(": name the channel, pick the "),
                    U("Active Data Store"),
                    T(", set the "),
                    U("Source Location"),
                    T(" (base DN, and a group DN or filter of the users), and in "),
                    U("Attribute Mapping"),
                    T(" map "),
                    L("userName"),
                    T(" to a stable login attribute (e.g. "),
                    L("sAMAccountName"),
                    T(" or "),
                    L("mail"),
                    T(")."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("On the channel's "),
                    U("Activation & Summary"),
                    T(", set "),
                    U("Channel Status"),
                    T(" to "),
                    U("Active"),
                    T(", "),
                    U("Done"),
                    T("; on the connection's "),
                    U("Activation & Summary"),
                    T(", turn provisioning on and "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-pingfederate.md",
    },
    // Ping's "Creating a SCIM connection" (seed 002: every field label) and the Scalekit
    // PingIdentity guide's order of steps (seeds 001 and 004).
    Guide {
        provider: Provider::Pingone,
        intro: "A SCIM Outbound provisioning connection in PingOne, and a rule that \
                sends users and groups through it.",
        steps: &[
            Step {
                line: &[
                    T("In the PingOne admin console, "),
                    U("Integrations → Provisioning"),
                    T(", click "),
                    U("+"),
                    T(" → "),
                    U("New Connection"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("On the "),
                    U("Identity Store"),
                    T(" line, "),
                    U("Select"),
                    T("; on the "),
                    U("SCIM Outbound"),
                    T(" tile, "),
                    U("Select"),
                    T(", "),
                    U("Next"),
                    T("; name the connection, "),
                    U("Next"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Configure Authentication"), T(":")],
                points: &[
                    &[U("SCIM Base URL"), T(": "), BASE_URL],
                    &[
                        U("Users Resource"),
                        T(": "),
                        L("/Users"),
                        T("; "),
                        U("Groups Resource"),
                        T(": "),
                        L("/Groups"),
                    ],
                    &[U("SCIM Version"), T(": "), U("2.0")],
                    &[
                        U("Authentication Method"),
                        T(": "),
                        U("OAuth 2 Bearer Token"),
                        T("; "),
                        U("OAuth Access Token"),
                        T(": "),
                        BEARER_TOKEN,
                        T("; "),
                        U("Auth Type Header"),
                        T(": "),
                        U("Bearer"),
                    ],
                ],
            },
            Step {
                line: &[
                    T("Or, with client credentials: set "),
                    U("Authentication Method"),
                    T(" to "),
                    U("OAuth 2 Client Credentials"),
                    T(" (keep "),
                    U("Auth Type Header"),
                    T(" "),
                    U("Bearer"),
                    T(") and fill in:"),
                ],
                points: &[
                    &[U("OAuth Token Request"), T(": "), TOKEN_ENDPOINT],
                    &[U("OAuth Client ID"), T(": "), CLIENT_ID],
                    &[U("OAuth Client Secret"), T(": "), CLIENT_SECRET],
                ],
            },
            Step {
                line: &[
                    U("Test connection"),
                    T(" (it must succeed), then "),
                    U("Next"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Configure Preferences"), T(", then "), U("Save"), T(":")],
                points: &[
                    &[
                        U("User Identifier"),
                        T(": "),
                        L("userName"),
                        T("; "),
                        U("User filter expression"),
                        T(": "),
                        L("userName eq \"%s\""),
                    ],
                    &[U("Group Membership Handling"), T(": "), U("Merge")],
                    &[
                        T("On: "),
                        U("Allow Users to be Created"),
                        T(", "),
                        U("Allow Users to be Updated"),
                        T(", "),
                        U("Allow Users to be Disabled"),
                    ],
                    &[U("Remove Action"), T(": "), U("Disable"), T(" (or "), U("Delete"), T(")")],
                ],
            },
            Step {
                line: &[T("Turn the connection on with the toggle at the top of its details panel.")],
                points: &[],
            },
            Step {
                line: &[
                    U("+"),
                    T(" → "),
                    U("New Rule"),
                    T(": source "),
                    U("PingOne"),
                    T(", this connection, a name; choose the users (population or group filter) and the groups to provision, check the attribute mapping, and enable the rule."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-pingone.md",
    },
    // developers.onelogin.com/scim (create and test a SCIM app) and docs/idp-onelogin.md.
    Guide {
        provider: Provider::Onelogin,
        intro: "OneLogin's SCIM Provisioner connector (SCIM v2). Outbound provisioning \
                needs a OneLogin plan that includes it.",
        steps: &[
            Step {
                line: &[
                    T("In the OneLogin admin console, "),
                    U("Applications → Applications → Add App"),
                    T(", search "),
                    L("SCIM Provisioner"),
                    T(", pick "),
                    U("SCIM Provisioner with SAML (SCIM v2 Enterprise)"),
                    T(" (or "),
                    U("SCIM Provisioner with SAML (SCIM v2 Enterprise, SCIM2 PATCH for Groups)"),
                    T(" to push groups), name it, "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Configuration"), T(" tab:")],
                points: &[
                    &[U("SCIM Base URL"), T(": "), BASE_URL],
                    &[
                        U("SCIM Bearer Token"),
                        T(": "),
                        BEARER_TOKEN,
                        T(" (the token only)"),
                    ],
                    &[
                        U("SCIM JSON Template"),
                        T(": keep the default; "),
                        U("Custom Headers"),
                        T(": empty"),
                    ],
                ],
            },
            Step {
                line: &[
                    U("API Connection"),
                    T(" → "),
                    U("Enable"),
                    T(" (OneLogin tests the connection), then "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("Parameters"),
                    T(" tab: "),
                    U("scimusername"),
                    T(" becomes "),
                    L("userName"),
                    T(", the unique key users are matched on (set it to "),
                    U("Email"),
                    T(" if people sign in with their email). To push groups, open "),
                    U("Groups"),
                    T(" and tick "),
                    U("Include in User Provisioning"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Provisioning"), T(" tab, then "), U("Save"), T(":")],
                points: &[
                    &[T("tick "), U("Enable provisioning")],
                    &[
                        T("under "),
                        U("Require admin approval before this action is performed"),
                        T(", untick "),
                        U("Create user"),
                        T(", "),
                        U("Delete user"),
                        T(", "),
                        U("Update user"),
                    ],
                    &[
                        T("when users are deleted in OneLogin: "),
                        U("Suspend"),
                        T(" (kept inactive) or "),
                        U("Delete"),
                    ],
                ],
            },
            Step {
                line: &[
                    U("Access"),
                    T(" tab: pick the "),
                    U("Roles"),
                    T(" that grant the app, and give those roles to the users; "),
                    U("Users → Provisioning"),
                    T(" shows each task."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-onelogin.md",
    },
    // jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-scim-
    // identity-management-integration, and docs/idp-jumpcloud.md.
    Guide {
        provider: Provider::Jumpcloud,
        intro: "The Identity Management (SCIM) tab of a JumpCloud SSO application: \
                the one your people already sign in with, or a new custom one.",
        steps: &[
            Step {
                line: &[
                    T("In the JumpCloud admin console, "),
                    U("SSO Applications"),
                    T(" (older consoles: "),
                    U("SSO"),
                    T(") → "),
                    U("+ Add New Application"),
                    T(", choose a custom application ("),
                    U("Custom SAML App"),
                    T("), name it and save; or open your existing SSO application."),
                ],
                points: &[],
            },
            Step {
                line: &[U("Identity Management"), T(" tab:")],
                points: &[
                    &[U("SCIM Version"), T(": "), U("SCIM 2.0")],
                    &[U("Base URL"), T(": "), BASE_URL],
                    &[U("Token Key"), T(": "), BEARER_TOKEN],
                    &[
                        U("Test User Email"),
                        T(": an address no user of this directory has"),
                    ],
                    &[
                        T("tick "),
                        U("Enable management of User Groups and Group Membership in this application"),
                        T(" to sync groups"),
                    ],
                ],
            },
            Step {
                line: &[
                    U("Test Connection"),
                    T(" (JumpCloud creates and deletes a test user and group), then "),
                    U("Activate"),
                    T(" and "),
                    U("Save"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("Check the attribute mapping on the tab: "),
                    L("userName"),
                    T(" is the unique key users are matched on; keep its source stable."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    U("User Groups"),
                    T(" tab: bind the groups whose members get the application, "),
                    U("Save"),
                    T(". Unbinding a user deactivates it here."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/idp-jumpcloud.md",
    },
    // RFC 7644 (protocol) and RFC 6750 (bearer tokens): what any client needs.
    Guide {
        provider: Provider::Other,
        intro: "Any SCIM 2.0 or SCIM 1.1 client can provision this directory.",
        steps: &[
            Step {
                line: &[
                    T("Set the client's SCIM base URL to "),
                    BASE_URL,
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
                    L("Bearer"),
                    T(" followed by a space and "),
                    BEARER_TOKEN,
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("Match users on "),
                    L("userName"),
                    T(" (unique, compared case-insensitively) and groups on "),
                    L("displayName"),
                    T("."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("Test the connection: "),
                    L("GET /Users?count=1"),
                    T(" answers "),
                    L("200"),
                    T("; a "),
                    L("401"),
                    T(" means the token is wrong, a "),
                    L("404"),
                    T(" the URL."),
                ],
                points: &[],
            },
            Step {
                line: &[
                    T("Enable create, update and deactivate ("),
                    L("active: false"),
                    T(") of users, and pushing groups with their members; then assign the users and groups to provision."),
                ],
                points: &[],
            },
            Step {
                line: WATCH,
                points: &[],
            },
        ],
        docs_page: "docs/behaviour.md",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn values(guide: &Guide) -> Vec<Value> {
        guide
            .steps
            .iter()
            .flat_map(|s| std::iter::once(s.line).chain(s.points.iter().copied()))
            .flatten()
            .filter_map(|part| match part {
                Part::Value(v) => Some(*v),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_provider_has_its_own_guide() {
        for p in Provider::ALL {
            assert_eq!(guide(p).provider, p, "{p:?} falls back to another guide");
        }
        assert_eq!(GUIDES.len(), Provider::ALL.len());
    }

    #[test]
    fn every_guide_is_five_to_nine_steps() {
        for p in Provider::ALL {
            let n = guide(p).steps.len();
            assert!((5..=9).contains(&n), "{p:?} has {n} steps");
        }
    }

    #[test]
    fn every_guide_shows_the_base_url_and_a_credential() {
        for p in Provider::ALL {
            let shown = values(guide(p));
            assert!(shown.contains(&Value::BaseUrl), "{p:?} has no base URL");
            let client_credentials = [Value::TokenEndpoint, Value::ClientId, Value::ClientSecret]
                .iter()
                .all(|v| shown.contains(v));
            assert!(
                shown.contains(&Value::BearerToken) || client_credentials,
                "{p:?} shows no way to authenticate"
            );
        }
    }

    #[test]
    fn client_credentials_are_offered_exactly_where_the_idp_takes_them() {
        for p in Provider::ALL {
            let shown = values(guide(p));
            for v in [Value::TokenEndpoint, Value::ClientId, Value::ClientSecret] {
                assert_eq!(
                    shown.contains(&v),
                    p.offers_client_credentials(),
                    "{p:?} and {v:?}"
                );
            }
        }
    }

    #[test]
    fn okta_scim11_docs_show_the_v1_base_url() {
        let docs = markdown(guide(Provider::OktaScim11));
        assert!(
            docs.contains("`https://{api}/scim/v1/{directoryId}`"),
            "{docs}"
        );
        assert!(!docs.contains("/scim/v2/"), "{docs}");
        let docs = markdown(guide(Provider::Okta));
        assert!(
            docs.contains("`https://{api}/scim/v2/{directoryId}`"),
            "{docs}"
        );
    }

    #[test]
    fn entra_names_its_flag_as_the_tenant_url_suffix() {
        let docs = markdown(guide(Provider::Entra));
        assert!(docs.contains("`?aadOptscim062020`"), "{docs}");
    }

    #[test]
    fn markdown_numbers_the_steps_and_nests_their_points() {
        let docs = markdown(guide(Provider::Entra));
        let lines: Vec<&str> = docs.lines().collect();
        assert!(lines[0].starts_with("1. In the Microsoft Entra admin center"));
        assert!(lines.contains(&"3. **Admin Credentials**:"));
        assert!(lines.contains(&"   - **Tenant URL**: `https://{api}/scim/v2/{directoryId}`"));
        assert!(lines.contains(&"   - **Secret Token**: `scim_sk_…` (never leave it empty)"));
    }

    #[test]
    fn a_literal_with_a_backtick_keeps_its_code_span() {
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("userName"), "`userName`");
    }
}
