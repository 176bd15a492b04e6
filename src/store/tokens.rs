//! The tokens table: one item per live token, keyed by the token's SHA-256, naming its directory.
//! A GSI (`by-directory`) lists a directory's tokens for the admin CLI; the request path only ever
//! does a GetItem by hash. Two kinds: bearer tokens an admin issues, and short-lived access tokens
//! the OAuth token endpoint issues to a client (`client_id` set); both are checked the same way.
//! The same table holds the OAuth clients (`clients.rs`) and webhook registrations.
//!
//! Access tokens name their directory under `ACCESS_DIRECTORY`, not `directory_id`, so they stay
//! out of the `by-directory` index: a client that fetches a token per request would otherwise
//! grow every listing of the directory's credentials (`GET /manage/directories`) without bound.
//! Nothing needs to list them: each one is checked against its client's live list
//! (`clients.rs`), and TTL removes it at its expiry.

use aws_sdk_dynamodb::types::AttributeValue;

use super::clients::client_from_item;
use super::keys::{TOKENS_BY_DIRECTORY, TOKEN_HASH};
use super::portal_links::portal_link_from_item;
use super::{get_n, get_s, n, s, Item, Store, StoreError};

/// The directory of an access token (outside the `by-directory` index; see above).
const ACCESS_DIRECTORY: &str = "access_directory_id";

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct TokenRecord {
    pub token_id: String,
    #[serde(skip)]
    pub hash: String,
    pub directory_id: String,
    pub created_at: String,
    /// Milliseconds since the epoch after which the token is refused.
    pub expires_at_millis: Option<i64>,
    /// The OAuth client an access token was issued to (none for a bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl TokenRecord {
    pub fn is_live(&self, now_millis: i64) -> bool {
        self.expires_at_millis.is_none_or(|e| now_millis < e)
    }

    /// The credential a use of this token counts for (`Directory::last_used`): its OAuth client
    /// for an access token (access tokens are not listed; their client is), else the token.
    pub fn used_as(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.token_id)
    }
}

impl Store {
    pub async fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(TOKEN_HASH.into(), s(&t.hash));
        item.insert("token_id".into(), s(&t.token_id));
        item.insert("created_at".into(), s(&t.created_at));
        let directory = match &t.client_id {
            Some(c) => {
                item.insert("client_id".into(), s(c));
                ACCESS_DIRECTORY
            }
            None => "directory_id",
        };
        item.insert(directory.into(), s(&t.directory_id));
        if let Some(e) = t.expires_at_millis {
            item.insert("expires_at_millis".into(), n(e));
            // DynamoDB TTL (seconds) removes an access token at its expiry and a bearer token
            // a day after (its listing shows it expired meanwhile); the request path checks
            // `expires_at_millis` itself because TTL deletion is lazy.
            let grace = if t.client_id.is_some() { 0 } else { 86_400 };
            item.insert("ttl".into(), n((e + 999) / 1000 + grace));
        }
        self.put_secret(item, true).await
    }

    pub async fn get_token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .get_secret(hash)
            .await?
            .as_ref()
            .and_then(token_from_item))
    }

    /// Puts an item of the tokens table (`new_only`: refused if its key exists).
    pub(crate) async fn put_secret(&self, item: Item, new_only: bool) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tokens_table)
            .set_item(Some(item));
        if new_only {
            put = put.condition_expression("attribute_not_exists(token_hash)");
        }
        put.send().await.map_err(StoreError::sdk)?;
        Ok(())
    }

    /// The tokens-table item under `key`, read strongly consistently.
    pub(crate) async fn get_secret(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens_table)
            .key(TOKEN_HASH, AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(out.item)
    }

    /// A directory's bearer tokens, oldest first (access tokens are not listed; see above).
    pub async fn list_tokens(&self, directory: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let items = self.secrets_of(directory).await?;
        Ok(items.iter().filter_map(token_from_item).collect())
    }

    /// A directory's bearer and access tokens and its OAuth clients, from one read.
    pub async fn credentials_of(
        &self,
        directory: &str,
    ) -> Result<(Vec<TokenRecord>, Vec<super::clients::ClientRecord>), StoreError> {
        let items = self.secrets_of(directory).await?;
        let clients = items.iter().filter_map(client_from_item).collect();
        Ok((items.iter().filter_map(token_from_item).collect(), clients))
    }

    /// Every tokens-table item of a directory (tokens, OAuth clients, the webhook registration),
    /// oldest first, through the `by-directory` index.
    pub(crate) async fn secrets_of(&self, directory: &str) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tokens_table)
            .index_name(TOKENS_BY_DIRECTORY)
            .key_condition_expression("directory_id = :d")
            .expression_attribute_values(":d", s(directory));
        self.query_all(query).await
    }

    /// Deletes every credential of a directory: bearer tokens, OAuth clients (an access token
    /// dies with its client) and Admin Portal setup links.
    pub async fn revoke_credentials(&self, directory: &str) -> Result<(), StoreError> {
        // One read of the directory's credentials, each deleted under its own key.
        for item in self.secrets_of(directory).await? {
            if let Some(c) = client_from_item(&item) {
                self.delete_client(&c.client_id).await?;
            } else if let Some(l) = portal_link_from_item(&item) {
                self.delete_portal_link(&l.secret_hash).await?;
            } else if let Some(p) = super::portal_sessions::session_from_listed(&item) {
                self.delete_portal_session(&p.secret_hash).await?;
            } else if let Some(t) = token_from_item(&item) {
                self.delete_token(&t.hash).await?;
            }
        }
        Ok(())
    }

    pub async fn delete_token(&self, hash: &str) -> Result<(), StoreError> {
        self.delete_secret(hash).await
    }

    /// Deletes the tokens-table item under `key` (nothing if absent).
    pub(crate) async fn delete_secret(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tokens_table)
            .key(TOKEN_HASH, AttributeValue::S(key.into()))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }
}

fn token_from_item(item: &Item) -> Option<TokenRecord> {
    Some(TokenRecord {
        token_id: get_s(item, "token_id")?.to_string(),
        hash: get_s(item, TOKEN_HASH)?.to_string(),
        directory_id: get_s(item, "directory_id")
            .or_else(|| get_s(item, ACCESS_DIRECTORY))?
            .to_string(),
        created_at: get_s(item, "created_at").unwrap_or_default().to_string(),
        expires_at_millis: get_n(item, "expires_at_millis").map(|v| v as i64),
        client_id: get_s(item, "client_id").map(str::to_string),
    })
}
