//! Admin Portal sessions and the portal's activity record.
//!
//! A session is what a setup link is exchanged for (`service/portal.rs`): a 256-bit cookie
//! secret, kept in the tokens table only as its SHA-256 under `portal_session#{hash}`, with the
//! directory it opens, the link's options (so a page needs one read for both) and the CSRF token
//! of the session's forms. TTL removes it at its expiry; reads check the expiry themselves.
//!
//! The activity record (links opened, provider chosen, credentials revealed, rotated or revoked)
//! lives in the directory's own partition (`PORTAL#{millis}#{nonce}`), so deleting the directory
//! deletes it; it expires after `ACTIVITY_DAYS`.

use super::keys::{self, TOKEN_HASH};
use super::{get_n, get_s, key, n, s, Item, Store, StoreError};

const KIND: &str = "portal_session";
/// How long the portal's activity record is kept.
pub const ACTIVITY_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq)]
pub struct PortalSessionRecord {
    /// SHA-256 (hex) of the cookie's secret.
    pub secret_hash: String,
    pub directory_id: String,
    /// The setup link it was opened with.
    pub link_id: String,
    pub created_at: String,
    pub expires_at_millis: i64,
    /// The token every form of the session carries (CSRF).
    pub csrf: String,
    pub return_url: Option<String>,
    pub success_url: Option<String>,
    pub embed_origin: Option<String>,
    pub app_name: Option<String>,
}

impl PortalSessionRecord {
    pub fn is_live(&self, now_millis: i64) -> bool {
        now_millis < self.expires_at_millis
    }
}

/// One thing that happened in the portal.
#[derive(Debug, Clone, PartialEq)]
pub struct PortalActivityRecord {
    pub at_millis: i64,
    pub action: String,
    pub link_id: String,
    /// What it concerned (a token id, a client id, a provider), if anything.
    pub subject: Option<String>,
}

impl Store {
    pub async fn put_portal_session(&self, p: &PortalSessionRecord) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(
            TOKEN_HASH.into(),
            s(keys::portal_session_key(&p.secret_hash)),
        );
        item.insert("kind".into(), s(KIND));
        item.insert("directory_id".into(), s(&p.directory_id));
        item.insert("link_id".into(), s(&p.link_id));
        item.insert("created_at".into(), s(&p.created_at));
        item.insert("expires_at_millis".into(), n(p.expires_at_millis));
        item.insert("ttl".into(), n((p.expires_at_millis + 999) / 1000));
        item.insert("csrf".into(), s(&p.csrf));
        for (name, value) in [
            ("return_url", &p.return_url),
            ("success_url", &p.success_url),
            ("embed_origin", &p.embed_origin),
            ("app_name", &p.app_name),
        ] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        self.put_secret(item, true).await
    }

    pub async fn get_portal_session(
        &self,
        secret_hash: &str,
    ) -> Result<Option<PortalSessionRecord>, StoreError> {
        let item = self
            .get_secret(&keys::portal_session_key(secret_hash))
            .await?;
        Ok(item
            .as_ref()
            .and_then(|i| session_from_item(i, secret_hash)))
    }

    /// Notes what happened in the portal (one PutItem; kept `ACTIVITY_DAYS`).
    pub async fn record_portal_activity(
        &self,
        dir: &str,
        a: &PortalActivityRecord,
    ) -> Result<(), StoreError> {
        let nonce = crate::auth::random_with("", 6);
        let mut item = key(
            keys::directory_pk(dir),
            keys::portal_activity_sk(a.at_millis, &nonce),
        );
        item.insert("action".into(), s(&a.action));
        item.insert("link_id".into(), s(&a.link_id));
        if let Some(subject) = &a.subject {
            item.insert("subject".into(), s(subject));
        }
        item.insert("at_millis".into(), n(a.at_millis));
        item.insert("ttl".into(), n(a.at_millis / 1000 + ACTIVITY_DAYS * 86_400));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// The directory's most recent portal activity, newest first (one Query).
    pub async fn portal_activity(
        &self,
        dir: &str,
        limit: i32,
    ) -> Result<Vec<PortalActivityRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(keys::directory_pk(dir)))
            .expression_attribute_values(":prefix", s(keys::portal_activity_prefix()))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| {
                Some(PortalActivityRecord {
                    at_millis: get_n(i, "at_millis")? as i64,
                    action: get_s(i, "action")?.to_string(),
                    link_id: get_s(i, "link_id").unwrap_or_default().to_string(),
                    subject: get_s(i, "subject").map(str::to_string),
                })
            })
            .collect())
    }
}

impl Store {
    /// The directory's live and expired sessions (from the listing of its credentials).
    pub async fn list_portal_sessions(
        &self,
        dir: &str,
    ) -> Result<Vec<PortalSessionRecord>, StoreError> {
        let items = self.secrets_of(dir).await?;
        Ok(items.iter().filter_map(session_from_listed).collect())
    }

    pub async fn delete_portal_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        self.delete_secret(&keys::portal_session_key(secret_hash))
            .await
    }
}

/// A session from an item listed by directory (its key carries the hash).
pub(super) fn session_from_listed(item: &Item) -> Option<PortalSessionRecord> {
    let hash = get_s(item, TOKEN_HASH)?.strip_prefix("portal_session#")?;
    session_from_item(item, hash)
}

fn session_from_item(item: &Item, secret_hash: &str) -> Option<PortalSessionRecord> {
    (get_s(item, "kind") == Some(KIND)).then_some(())?;
    let text = |name| get_s(item, name).map(str::to_string);
    Some(PortalSessionRecord {
        secret_hash: secret_hash.to_string(),
        directory_id: text("directory_id")?,
        link_id: text("link_id").unwrap_or_default(),
        created_at: text("created_at").unwrap_or_default(),
        expires_at_millis: get_n(item, "expires_at_millis")? as i64,
        csrf: text("csrf")?,
        return_url: text("return_url"),
        success_url: text("success_url"),
        embed_origin: text("embed_origin"),
        app_name: text("app_name"),
    })
}
