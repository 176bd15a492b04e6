//! Admin Portal setup links: the application asks for one and hands it to its customer's IT admin,
//! who opens it to configure their IdP (`service/portal.rs` exchanges it for a session). A link is a URL
//! carrying a 256-bit secret, shown once; the store keeps only its SHA-256 (`store/portal_links.rs`),
//! as for tokens. It opens exactly one directory, expires (7 days by default, at most 30, as
//! WorkOS's shared links and Scalekit's do) and can be revoked.
//!
//! The options arrive as a `NewPortalLink` (the request body, as sent) and are parsed once into
//! `PortalLinkOptions` (checked URLs and origin, a bounded lifetime), by the API and `scimctl` alike.

use serde::{Deserialize, Serialize};

use super::management::{directory, writable_directory, ManagementError, PublicUrl};
use super::Service;
use crate::auth;
use crate::clock;
use crate::management_key::is_loopback_host;
use crate::store::portal_links::PortalLinkRecord;

const MINUTE_MS: i64 = 60_000;
/// A link's lifetime when none is asked for: a week, long enough for an e-mail to be read.
pub const DEFAULT_EXPIRY_MINUTES: u32 = 7 * 24 * 60;
/// The longest lifetime a link can be given: 30 days.
pub const MAX_EXPIRY_MINUTES: u32 = 30 * 24 * 60;
/// The longest `app_name`, in characters.
pub const MAX_APP_NAME: usize = 100;
/// The longest URL or origin taken (browsers and CDNs cut near here).
const MAX_URL: usize = 2048;

/// `POST .../portal-links` (every field optional; the body may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct NewPortalLink {
    /// Lifetime in minutes (default 10080, a week; at most 43200, 30 days).
    #[cfg_attr(feature = "local", schemars(range(min = 1, max = 43200)))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_minutes: Option<u32>,
    /// Where the portal's logo leads back to: an absolute https URL (http only for loopback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Where the admin is sent once set-up is done: an absolute https URL (http only for
    /// loopback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    /// The one origin (`https://app.example.com`, no path) that may frame the portal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_origin: Option<String>,
    /// The application's name, shown on the portal's pages.
    #[cfg_attr(feature = "local", schemars(length(min = 1, max = 100)))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
}

/// A link's options, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortalLinkOptions {
    pub expires_in_minutes: u32,
    pub return_url: Option<String>,
    pub success_url: Option<String>,
    pub embed_origin: Option<String>,
    pub app_name: Option<String>,
}

/// Why a link's options were refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalLinkError {
    #[error("\"expires_in_minutes\" must be a whole number of minutes, 1 to {MAX_EXPIRY_MINUTES} (30 days)")]
    Expiry,
    #[error("\"{0}\" must be an absolute https URL (http only for localhost)")]
    Url(&'static str),
    #[error("\"embed_origin\" must be an origin: https://host[:port], without a path")]
    Origin,
    #[error("\"app_name\" must be 1 to {MAX_APP_NAME} characters, without control characters")]
    AppName,
}

impl TryFrom<NewPortalLink> for PortalLinkOptions {
    type Error = PortalLinkError;

    fn try_from(n: NewPortalLink) -> Result<Self, PortalLinkError> {
        let expires_in_minutes = n.expires_in_minutes.unwrap_or(DEFAULT_EXPIRY_MINUTES);
        if !(1..=MAX_EXPIRY_MINUTES).contains(&expires_in_minutes) {
            return Err(PortalLinkError::Expiry);
        }
        let url = |field, v: Option<String>| {
            v.map(|u| web_url(&u).map(|_| u).ok_or(PortalLinkError::Url(field)))
                .transpose()
        };
        let embed_origin = n
            .embed_origin
            .map(|o| origin(&o).ok_or(PortalLinkError::Origin))
            .transpose()?;
        let app_name = n
            .app_name
            .map(|a| {
                let a = a.trim().to_string();
                let fits = (1..=MAX_APP_NAME).contains(&a.chars().count())
                    && !a.chars().any(char::is_control);
                fits.then_some(a).ok_or(PortalLinkError::AppName)
            })
            .transpose()?;
        Ok(PortalLinkOptions {
            expires_in_minutes,
            return_url: url("return_url", n.return_url)?,
            success_url: url("success_url", n.success_url)?,
            embed_origin,
            app_name,
        })
    }
}

/// An absolute URL a browser may be sent to: https, or http to a loopback host (a developer's
/// own machine); no user name or password in it (a link that shows one is a phishing shape).
fn web_url(raw: &str) -> Option<url::Url> {
    if raw.len() > MAX_URL {
        return None;
    }
    let u = url::Url::parse(raw).ok()?;
    let host = u.host_str()?;
    let scheme_fits = match u.scheme() {
        "https" => true,
        "http" => is_loopback_host(host),
        _ => false,
    };
    (scheme_fits && u.username().is_empty() && u.password().is_none()).then_some(u)
}

/// `scheme://host[:port]` as browsers serialise an origin (RFC 6454 §6.1), for `frame-ancestors`
/// and `postMessage`; a trailing `/` is taken, any other path, query or fragment is not.
pub fn origin(raw: &str) -> Option<String> {
    let u = web_url(raw)?;
    let bare = u.path() == "/" && u.query().is_none() && u.fragment().is_none();
    bare.then(|| u.origin().ascii_serialization())
}

/// A setup link as listed (never its secret or hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct PortalLinkView {
    /// `pl_` and the start of the secret's hash: what revoking takes.
    pub id: String,
    pub directory_id: String,
    pub created_at: String,
    /// When the link stops opening the portal (RFC 3339, UTC).
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
}

impl From<&PortalLinkRecord> for PortalLinkView {
    fn from(l: &PortalLinkRecord) -> Self {
        PortalLinkView {
            id: l.link_id.clone(),
            directory_id: l.directory_id.clone(),
            created_at: l.created_at.clone(),
            expires_at: clock::format_rfc3339(l.expires_at_millis),
            return_url: l.return_url.clone(),
            success_url: l.success_url.clone(),
            embed_origin: l.embed_origin.clone(),
            app_name: l.app_name.clone(),
        }
    }
}

/// A new setup link: its URL, which carries the secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct CreatedPortalLink {
    #[serde(flatten)]
    pub link: PortalLinkView,
    /// The link to hand to the customer's IT admin (shown once; keep it like a password).
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct PortalLinkRevoked {
    pub revoked: String,
    pub directory_id: String,
}

/// Makes a setup link for the directory (refused while it is being deleted).
pub async fn create_link(
    svc: &Service,
    base: &PublicUrl,
    dir: &str,
    options: PortalLinkOptions,
) -> Result<CreatedPortalLink, ManagementError> {
    writable_directory(svc, dir).await?;
    let secret = auth::random_with(auth::PORTAL_LINK_PREFIX, 32);
    let secret_hash = auth::hash_token(&secret);
    let now = clock::now_millis();
    let record = PortalLinkRecord {
        link_id: auth::portal_link_id(&secret_hash),
        secret_hash,
        directory_id: dir.into(),
        created_at: clock::format_rfc3339(now),
        expires_at_millis: now + i64::from(options.expires_in_minutes) * MINUTE_MS,
        return_url: options.return_url,
        success_url: options.success_url,
        embed_origin: options.embed_origin,
        app_name: options.app_name,
    };
    svc.store.put_portal_link(&record).await?;
    Ok(CreatedPortalLink {
        link: (&record).into(),
        url: base.portal_link(&secret, record.embed_origin.as_deref()),
    })
}

/// The directory's live setup links, oldest first.
pub async fn list_links(svc: &Service, dir: &str) -> Result<Vec<PortalLinkView>, ManagementError> {
    directory(svc, dir).await?;
    let now = clock::now_millis();
    let links = svc.store.list_portal_links(dir).await?;
    Ok(links
        .iter()
        .filter(|l| l.is_live(now))
        .map(Into::into)
        .collect())
}

/// Revokes a setup link: it opens nothing from now on.
pub async fn revoke_link(
    svc: &Service,
    dir: &str,
    link_id: &str,
) -> Result<PortalLinkRevoked, ManagementError> {
    let link = svc
        .store
        .list_portal_links(dir)
        .await?
        .into_iter()
        .find(|l| l.link_id == link_id)
        .ok_or_else(|| ManagementError::NoPortalLink(link_id.into(), dir.into()))?;
    svc.store.delete_portal_link(&link.secret_hash).await?;
    // The sessions it opened end with it.
    for session in svc.store.list_portal_sessions(dir).await? {
        if session.link_id == link.link_id {
            svc.store
                .delete_portal_session(&session.secret_hash)
                .await?;
        }
    }
    Ok(PortalLinkRevoked {
        revoked: link_id.into(),
        directory_id: dir.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(n: NewPortalLink) -> Result<PortalLinkOptions, PortalLinkError> {
        n.try_into()
    }

    #[test]
    fn urls_are_absolute_https_or_loopback_http() {
        for ok in [
            "https://app.example.com/settings?x=1",
            "http://localhost:3000/done",
            "http://127.0.0.1/done",
            "http://[::1]:8080/",
        ] {
            let n = NewPortalLink {
                return_url: Some(ok.into()),
                ..Default::default()
            };
            assert!(options(n).is_ok(), "{ok}");
        }
        for bad in [
            "/relative",
            "http://app.example.com/",
            "javascript:alert(1)",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            let n = NewPortalLink {
                success_url: Some(bad.into()),
                ..Default::default()
            };
            assert_eq!(
                options(n),
                Err(PortalLinkError::Url("success_url")),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_embed_origin_has_no_path() {
        for (raw, want) in [
            ("https://app.example.com", "https://app.example.com"),
            (
                "https://App.Example.com:8443/",
                "https://app.example.com:8443",
            ),
            ("http://localhost:3000", "http://localhost:3000"),
        ] {
            let n = NewPortalLink {
                embed_origin: Some(raw.into()),
                ..Default::default()
            };
            assert_eq!(options(n).unwrap().embed_origin.as_deref(), Some(want));
        }
        for bad in [
            "https://app.example.com/admin",
            "https://app.example.com?x",
            "https://app.example.com/#",
            "http://app.example.com",
            "app.example.com",
        ] {
            let n = NewPortalLink {
                embed_origin: Some(bad.into()),
                ..Default::default()
            };
            assert_eq!(options(n), Err(PortalLinkError::Origin), "{bad}");
        }
    }

    #[test]
    fn the_lifetime_defaults_to_a_week_and_is_at_most_30_days() {
        assert_eq!(
            options(NewPortalLink::default())
                .unwrap()
                .expires_in_minutes,
            10_080
        );
        for bad in [0, MAX_EXPIRY_MINUTES + 1] {
            let n = NewPortalLink {
                expires_in_minutes: Some(bad),
                ..Default::default()
            };
            assert_eq!(options(n), Err(PortalLinkError::Expiry));
        }
        let long = NewPortalLink {
            app_name: Some("x".repeat(101)),
            ..Default::default()
        };
        assert_eq!(options(long), Err(PortalLinkError::AppName));
    }
}
