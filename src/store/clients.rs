//! OAuth 2.0 clients of a directory (the client-credentials grant, `api/oauth.rs`), in the tokens
//! table under `client#{client_id}`: the directory, the SHA-256 of the secret (secrets are 256
//! random bits, so a plain hash is safe; the secret itself is shown once and never stored), and
//! an optional expiry. The `by-directory` index lists them with the tokens (told apart by `kind`).
//!
//! A client also holds the hashes of its live access tokens (`access_tokens`, oldest first, at
//! most `MAX_ACCESS_TOKENS`), and an access token is accepted only while its client lists it
//! (`auth.rs`). So revoking a client (deleting this item), turning client credentials off or
//! deleting the directory stops every access token at once, without listing them; a token minted
//! while its client is revoked cannot outlive it (the append is conditional on the client still
//! being there with the same secret); and a client that asks for a token per request keeps only
//! its newest `MAX_ACCESS_TOKENS`.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::keys::{self, TOKEN_HASH};
use super::{get_n, get_s, is_condition_failure, n, s, Item, Store, StoreError};

const KIND: &str = "client";
const ACCESS_TOKENS: &str = "access_tokens";
/// Live access tokens one client holds at most; issuing another retires the oldest. IdPs keep
/// one token until it expires (an hour): ten leaves room for overlapping workers.
pub const MAX_ACCESS_TOKENS: usize = 10;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ClientRecord {
    pub client_id: String,
    pub directory_id: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub created_at: String,
    pub expires_at_millis: Option<i64>,
    /// Hashes of the live access tokens issued to the client, oldest first.
    #[serde(skip)]
    pub access_tokens: Vec<String>,
}

impl ClientRecord {
    pub fn is_live(&self, now_millis: i64) -> bool {
        self.expires_at_millis.is_none_or(|e| now_millis < e)
    }
}

impl Store {
    pub async fn put_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(TOKEN_HASH.into(), s(keys::client_key(&c.client_id)));
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
        let item = self.get_secret(&keys::client_key(client_id)).await?;
        Ok(item.as_ref().and_then(client_from_item))
    }

    /// A directory's OAuth clients, oldest first.
    pub async fn list_clients(&self, directory: &str) -> Result<Vec<ClientRecord>, StoreError> {
        let items = self.secrets_of(directory).await?;
        Ok(items.iter().filter_map(client_from_item).collect())
    }

    pub async fn delete_client(&self, client_id: &str) -> Result<(), StoreError> {
        self.delete_secret(&keys::client_key(client_id)).await
    }

    /// Adds an access token's hash to the client's live list, on condition the client is still
    /// there with the secret that was checked. `Ok(None)`: it is not (revoked or rotated
    /// meanwhile; the token must not be handed out). `Ok(Some(evicted))`: the hashes that fell
    /// off the list beyond `MAX_ACCESS_TOKENS` (refused from now on; their items can go).
    pub async fn add_access_token(
        &self,
        client: &ClientRecord,
        token_hash: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tokens_table)
            .key(TOKEN_HASH, s(keys::client_key(&client.client_id)))
            .update_expression("SET #t = list_append(if_not_exists(#t, :empty), :new)")
            .condition_expression("attribute_exists(#k) AND secret_hash = :secret")
            .expression_attribute_names("#t", ACCESS_TOKENS)
            .expression_attribute_names("#k", TOKEN_HASH)
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":new", AttributeValue::L(vec![s(token_hash)]))
            .expression_attribute_values(":secret", s(&client.secret_hash))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let live = match out {
            Ok(out) => out
                .attributes
                .as_ref()
                .map(access_tokens)
                .unwrap_or_default(),
            Err(e) if is_condition_failure(&e) => return Ok(None),
            Err(e) => return Err(StoreError::sdk(e)),
        };
        let excess = live.len().saturating_sub(MAX_ACCESS_TOKENS);
        if excess == 0 {
            return Ok(Some(vec![]));
        }
        let evicted = live[..excess].to_vec();
        // Drops the oldest, on condition they are still the oldest: a concurrent issuance that
        // trimmed first has done the same work, and this one is then a no-op.
        let remove = (0..excess)
            .map(|i| format!("#t[{i}]"))
            .collect::<Vec<_>>()
            .join(", ");
        let trimmed = self
            .client
            .update_item()
            .table_name(&self.tokens_table)
            .key(TOKEN_HASH, s(keys::client_key(&client.client_id)))
            .update_expression(format!("REMOVE {remove}"))
            .condition_expression("#t[0] = :oldest")
            .expression_attribute_names("#t", ACCESS_TOKENS)
            .expression_attribute_values(":oldest", s(&evicted[0]))
            .send()
            .await;
        match trimmed {
            Ok(_) => Ok(Some(evicted)),
            Err(e) if is_condition_failure(&e) => Ok(Some(vec![])),
            Err(e) => Err(StoreError::sdk(e)),
        }
    }
}

fn access_tokens(item: &Item) -> Vec<String> {
    item.get(ACCESS_TOKENS)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

pub(super) fn client_from_item(item: &Item) -> Option<ClientRecord> {
    (get_s(item, "kind") == Some(KIND)).then_some(())?;
    Some(ClientRecord {
        client_id: get_s(item, "client_id")?.into(),
        directory_id: get_s(item, "directory_id")?.into(),
        secret_hash: get_s(item, "secret_hash")?.into(),
        created_at: get_s(item, "created_at").unwrap_or_default().into(),
        expires_at_millis: get_n(item, "expires_at_millis").map(|v| v as i64),
        access_tokens: access_tokens(item),
    })
}
