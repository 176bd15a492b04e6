//! Admin Portal setup links (`service/portal_links.rs`), in the tokens table under
//! `portal_link#{sha256 of the secret}`: the directory, the expiry and the options the application
//! chose (where to send the admin back, which origin may frame the portal, its own name). Like a
//! token, only the SHA-256 of the secret is kept (256 random bits, so a plain hash is safe); the
//! link is shown once, when made. The `by-directory` index lists a directory's links with its
//! other credentials (told apart by `kind`); DynamoDB TTL removes a link at its expiry, and the
//! reads check `expires_at_millis` themselves because TTL deletion is lazy.

use super::keys::{self, TOKEN_HASH};
use super::{get_n, get_s, n, s, Item, Store, StoreError};

const KIND: &str = "portal_link";

#[derive(Debug, Clone, PartialEq)]
pub struct PortalLinkRecord {
    pub link_id: String,
    /// SHA-256 (hex) of the link's secret.
    pub secret_hash: String,
    pub directory_id: String,
    pub created_at: String,
    /// Milliseconds since the epoch after which the link opens nothing.
    pub expires_at_millis: i64,
    pub return_url: Option<String>,
    pub success_url: Option<String>,
    pub embed_origin: Option<String>,
    pub app_name: Option<String>,
}

impl PortalLinkRecord {
    pub fn is_live(&self, now_millis: i64) -> bool {
        now_millis < self.expires_at_millis
    }
}

impl Store {
    pub async fn put_portal_link(&self, l: &PortalLinkRecord) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(TOKEN_HASH.into(), s(keys::portal_link_key(&l.secret_hash)));
        item.insert("kind".into(), s(KIND));
        item.insert("link_id".into(), s(&l.link_id));
        item.insert("secret_hash".into(), s(&l.secret_hash));
        item.insert("directory_id".into(), s(&l.directory_id));
        item.insert("created_at".into(), s(&l.created_at));
        item.insert("expires_at_millis".into(), n(l.expires_at_millis));
        item.insert("ttl".into(), n((l.expires_at_millis + 999) / 1000));
        for (name, value) in [
            ("return_url", &l.return_url),
            ("success_url", &l.success_url),
            ("embed_origin", &l.embed_origin),
            ("app_name", &l.app_name),
        ] {
            if let Some(v) = value {
                item.insert(name.into(), s(v));
            }
        }
        self.put_secret(item, true).await
    }

    /// A directory's setup links, oldest first (expired ones too, until TTL removes them).
    pub async fn list_portal_links(
        &self,
        directory: &str,
    ) -> Result<Vec<PortalLinkRecord>, StoreError> {
        let items = self.secrets_of(directory).await?;
        Ok(items.iter().filter_map(portal_link_from_item).collect())
    }

    pub async fn delete_portal_link(&self, secret_hash: &str) -> Result<(), StoreError> {
        self.delete_secret(&keys::portal_link_key(secret_hash))
            .await
    }
}

pub(super) fn portal_link_from_item(item: &Item) -> Option<PortalLinkRecord> {
    (get_s(item, "kind") == Some(KIND)).then_some(())?;
    let text = |name| get_s(item, name).map(str::to_string);
    Some(PortalLinkRecord {
        link_id: text("link_id")?,
        secret_hash: text("secret_hash")?,
        directory_id: text("directory_id")?,
        created_at: text("created_at").unwrap_or_default(),
        expires_at_millis: get_n(item, "expires_at_millis")? as i64,
        return_url: text("return_url"),
        success_url: text("success_url"),
        embed_origin: text("embed_origin"),
        app_name: text("app_name"),
    })
}

impl Store {
    /// The setup link whose secret hashes to `secret_hash` (expired ones too, until TTL removes
    /// them: the portal tells an expired link from an unknown one).
    pub async fn get_portal_link(
        &self,
        secret_hash: &str,
    ) -> Result<Option<PortalLinkRecord>, StoreError> {
        let item = self.get_secret(&keys::portal_link_key(secret_hash)).await?;
        Ok(item.as_ref().and_then(portal_link_from_item))
    }
}
