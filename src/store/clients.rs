//! OAuth 2.0 clients of a directory (the client-credentials grant, `api/oauth.rs`), in the tokens
//! table under `client#{client_id}`: the directory, the SHA-256 of the secret (secrets are 256
//! random bits, so a plain hash is safe; the secret itself is shown once and never stored), and
//! an optional expiry. The `by-directory` index lists them with the tokens (told apart by `kind`).

use super::keys::TOKEN_HASH;
use super::{get_n, get_s, n, s, Item, Store, StoreError};

const KIND: &str = "client";

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClientRecord {
    pub client_id: String,
    pub directory_id: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub created_at: String,
    pub expires_at_millis: Option<i64>,
}

impl ClientRecord {
    pub fn is_live(&self, now_millis: i64) -> bool {
        self.expires_at_millis.is_none_or(|e| now_millis < e)
    }
}

fn client_key(client_id: &str) -> String {
    format!("client#{client_id}")
}

impl Store {
    pub async fn put_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(TOKEN_HASH.into(), s(client_key(&c.client_id)));
        item.insert("kind".into(), s(KIND));
        item.insert("client_id".into(), s(&c.client_id));
        item.insert("directory_id".into(), s(&c.directory_id));
        item.insert("secret_hash".into(), s(&c.secret_hash));
        item.insert("created_at".into(), s(&c.created_at));
        if let Some(e) = c.expires_at_millis {
            item.insert("expires_at_millis".into(), n(e));
            item.insert("ttl".into(), n(e / 1000 + 86_400));
        }
        self.put_secret(item, true).await
    }

    pub async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let item = self.get_secret(&client_key(client_id)).await?;
        Ok(item.as_ref().and_then(client_from_item))
    }

    /// A directory's OAuth clients, oldest first.
    pub async fn list_clients(&self, directory: &str) -> Result<Vec<ClientRecord>, StoreError> {
        let items = self.secrets_of(directory).await?;
        Ok(items.iter().filter_map(client_from_item).collect())
    }

    pub async fn delete_client(&self, client_id: &str) -> Result<(), StoreError> {
        self.delete_secret(&client_key(client_id)).await
    }
}

fn client_from_item(item: &Item) -> Option<ClientRecord> {
    (get_s(item, "kind") == Some(KIND)).then_some(())?;
    Some(ClientRecord {
        client_id: get_s(item, "client_id")?.into(),
        directory_id: get_s(item, "directory_id")?.into(),
        secret_hash: get_s(item, "secret_hash")?.into(),
        created_at: get_s(item, "created_at").unwrap_or_default().into(),
        expires_at_millis: get_n(item, "expires_at_millis").map(|v| v as i64),
    })
}
