//! The identity providers a directory can be set up for, by the names their consoles use. The
//! IT admin picks one in the Admin Portal (or the application names it when it creates the
//! directory); the choice is recorded on the directory and decides which set-up steps the portal
//! shows (`api::portal`, from `guides`), which SCIM base URL they carry (1.1 for Okta's SCIM 1.1
//! app) and whether OAuth client credentials are offered.
//!
//! Pure vocabulary: nothing of AWS, HTTP or storage.

pub mod guides;

use serde::{Deserialize, Serialize};

/// An identity provider (the SCIM client that provisions a directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Okta, with an app integration (or the SCIM 2.0 test app): SCIM 2.0.
    Okta,
    /// Okta's catalog app "SCIM 1.1 Test App (OAuth Bearer Token)": SCIM 1.1.
    OktaScim11,
    /// Microsoft Entra ID (formerly Azure AD) enterprise application provisioning.
    Entra,
    /// PingFederate's SCIM outbound provisioning connector.
    Pingfederate,
    /// PingOne provisioning (SCIM outbound connection).
    Pingone,
    /// OneLogin's SCIM provisioner app.
    Onelogin,
    /// JumpCloud's custom SCIM application.
    Jumpcloud,
    /// Any other SCIM 2.0 or 1.1 client.
    Other,
}

/// The SCIM protocol version a provider speaks to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V2,
    V1,
}

impl Provider {
    pub const ALL: [Provider; 8] = [
        Provider::Okta,
        Provider::OktaScim11,
        Provider::Entra,
        Provider::Pingfederate,
        Provider::Pingone,
        Provider::Onelogin,
        Provider::Jumpcloud,
        Provider::Other,
    ];

    /// The stored and wire name (`okta_scim11`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Okta => "okta",
            Provider::OktaScim11 => "okta_scim11",
            Provider::Entra => "entra",
            Provider::Pingfederate => "pingfederate",
            Provider::Pingone => "pingone",
            Provider::Onelogin => "onelogin",
            Provider::Jumpcloud => "jumpcloud",
            Provider::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The product's name, as the IT admin knows it.
    pub fn product_name(self) -> &'static str {
        match self {
            Provider::Okta => "Okta (SCIM 2.0)",
            Provider::OktaScim11 => "Okta SCIM 1.1 Test App (OAuth Bearer Token)",
            Provider::Entra => "Microsoft Entra ID",
            Provider::Pingfederate => "PingFederate",
            Provider::Pingone => "PingOne",
            Provider::Onelogin => "OneLogin",
            Provider::Jumpcloud => "JumpCloud",
            Provider::Other => "Other SCIM 2.0 / 1.1 client",
        }
    }

    /// The protocol whose base URL the provider's steps carry.
    pub fn protocol(self) -> Protocol {
        match self {
            Provider::OktaScim11 => Protocol::V1,
            _ => Protocol::V2,
        }
    }

    /// Whether the provider can authenticate with OAuth 2.0 client credentials (a token endpoint,
    /// client id and secret) instead of a long-lived bearer token. PingOne and PingFederate
    /// document an OAuth 2 client-credentials option for their SCIM connectors; Entra's
    /// provisioning UI takes a secret token, and its OAuth client-credentials grant is
    /// documented for gallery apps, so it is offered as the second choice there.
    pub fn offers_client_credentials(self) -> bool {
        matches!(
            self,
            Provider::Pingone | Provider::Pingfederate | Provider::Entra
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for p in Provider::ALL {
            assert_eq!(Provider::from_name(p.name()), Some(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.name())
            );
        }
        assert_eq!(Provider::from_name("azure"), None);
    }
}
