//! A directory's credentials: bearer tokens an admin issues, OAuth 2.0 clients (client
//! credentials, RFC 6749 §4.4; their access tokens come from the token endpoint, `api/oauth.rs`)
//! and which of the two methods the directory accepts.
//!
//! At most `MAX_LIVE_TOKENS` live tokens and as many live clients per directory: the current one
//! and its replacement while an admin rotates. Secrets are shown once, when made; the store keeps
//! only their SHA-256 (`auth.rs`). Each is listed with its last use, which the request path notes
//! on the directory's registry entry (`store/directories.rs`) and a revocation forgets.

use serde::Serialize;

use super::management::{
    directory, writable_directory, ManagementError, PublicUrl, MAX_LIVE_TOKENS,
};
use super::Service;
use crate::auth;
use crate::clock;
use crate::store::clients::ClientRecord;
use crate::store::directories::{AuthMethods, Directory};
use crate::store::tokens::TokenRecord;

const DAY_MS: i64 = 86_400_000;

/// A bearer token as listed (never its secret or hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct TokenView {
    pub token_id: String,
    pub directory_id: String,
    pub created_at: String,
    /// Milliseconds since the epoch after which the token is refused.
    pub expires_at_millis: Option<i64>,
    /// The OAuth client an access token was issued to (none for a bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// When the token last authenticated a SCIM request (RFC 3339); `null`: never. Noted when a
    /// Lambda looks the token up, which it then caches for 30 s (`auth::CACHE_TTL`): uses within
    /// that window do not move it.
    pub last_used_at: Option<String>,
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> Self {
        TokenView {
            token_id: t.token_id.clone(),
            directory_id: t.directory_id.clone(),
            created_at: t.created_at.clone(),
            expires_at_millis: t.expires_at_millis,
            client_id: t.client_id.clone(),
            last_used_at: None,
        }
    }
}

/// An OAuth client as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ClientView {
    pub client_id: String,
    pub directory_id: String,
    pub created_at: String,
    pub expires_at_millis: Option<i64>,
    /// When one of the client's access tokens last authenticated a SCIM request (RFC 3339, as
    /// for a token); `null`: never.
    pub last_used_at: Option<String>,
}

impl From<&ClientRecord> for ClientView {
    fn from(c: &ClientRecord) -> Self {
        ClientView {
            client_id: c.client_id.clone(),
            directory_id: c.directory_id.clone(),
            created_at: c.created_at.clone(),
            expires_at_millis: c.expires_at_millis,
            last_used_at: None,
        }
    }
}

/// A listed credential and whether it is live (not expired).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct Listed<T> {
    #[serde(flatten)]
    pub credential: T,
    pub live: bool,
}

/// A new bearer token: its secret, shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct IssuedToken {
    #[serde(flatten)]
    pub record: TokenView,
    pub token: String,
}

/// A new OAuth client: its secret, shown this once, and where to exchange it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    pub client_secret: String,
    pub token_endpoint: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct TokenRevoked {
    pub revoked: String,
    pub directory_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct ClientRevoked {
    pub revoked: String,
    pub directory_id: String,
    pub access_tokens_revoked: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "local", derive(schemars::JsonSchema))]
pub struct AuthMethodsSet {
    pub directory_id: String,
    pub auth_methods: AuthMethods,
    pub credentials_revoked: usize,
}

fn expiry(now: i64, expires_in_days: Option<u32>) -> Option<i64> {
    expires_in_days.map(|d| now + i64::from(d) * DAY_MS)
}

/// Issues a bearer token (refused while `MAX_LIVE_TOKENS` live ones exist).
pub async fn issue_token(
    svc: &Service,
    dir: &str,
    expires_in_days: Option<u32>,
) -> Result<IssuedToken, ManagementError> {
    if !writable_directory(svc, dir).await?.auth_methods.bearer {
        return Err(ManagementError::MethodOff(dir.into(), "bearer tokens"));
    }
    let now = clock::now_millis();
    let tokens = svc.store.list_tokens(dir).await?;
    if tokens.iter().filter(|t| t.is_live(now)).count() >= MAX_LIVE_TOKENS {
        return Err(ManagementError::TooManyTokens(dir.into()));
    }
    let (token, record) = new_token(svc, dir, expires_in_days).await?;
    Ok(IssuedToken {
        record: (&record).into(),
        token,
    })
}

/// Makes and stores a bearer token; the caller has checked the directory and the limits.
pub(crate) async fn new_token(
    svc: &Service,
    dir: &str,
    expires_in_days: Option<u32>,
) -> Result<(String, TokenRecord), ManagementError> {
    let token = auth::new_token();
    let hash = auth::hash_token(&token);
    let record = TokenRecord {
        token_id: auth::token_id(&hash),
        hash,
        directory_id: dir.to_string(),
        created_at: clock::now_rfc3339(),
        expires_at_millis: expiry(clock::now_millis(), expires_in_days),
        client_id: None,
    };
    svc.store.put_token(&record).await?;
    Ok((token, record))
}

/// A token as listed, with its last use from the directory's registry entry.
pub(crate) fn token_view(t: &TokenRecord, d: &Directory) -> TokenView {
    TokenView {
        last_used_at: d.last_used_at(&t.token_id),
        ..t.into()
    }
}

pub async fn list_tokens(
    svc: &Service,
    dir: &str,
) -> Result<Vec<Listed<TokenView>>, ManagementError> {
    let d = directory(svc, dir).await?;
    let now = clock::now_millis();
    let tokens = svc.store.list_tokens(dir).await?;
    Ok(tokens
        .iter()
        .map(|t| Listed {
            credential: token_view(t, &d),
            live: t.is_live(now),
        })
        .collect())
}

pub async fn revoke_token(
    svc: &Service,
    dir: &str,
    token_id: &str,
) -> Result<TokenRevoked, ManagementError> {
    let t = svc
        .store
        .list_tokens(dir)
        .await?
        .into_iter()
        .find(|t| t.token_id == token_id)
        .ok_or_else(|| ManagementError::NoToken(token_id.into(), dir.into()))?;
    svc.store.delete_token(&t.hash).await?;
    svc.store.forget_last_use(dir, token_id).await?;
    Ok(TokenRevoked {
        revoked: token_id.into(),
        directory_id: dir.into(),
    })
}

/// Creates an OAuth client (client credentials) for the directory; the secret is shown once.
pub async fn create_client(
    svc: &Service,
    base: &PublicUrl,
    dir: &str,
    expires_in_days: Option<u32>,
) -> Result<CreatedClient, ManagementError> {
    if !writable_directory(svc, dir)
        .await?
        .auth_methods
        .client_credentials
    {
        return Err(ManagementError::MethodOff(dir.into(), "client credentials"));
    }
    let now = clock::now_millis();
    let clients = svc.store.list_clients(dir).await?;
    if clients.iter().filter(|c| c.is_live(now)).count() >= MAX_LIVE_TOKENS {
        return Err(ManagementError::TooManyClients(dir.into()));
    }
    let secret = auth::random_with(auth::CLIENT_SECRET_PREFIX, 32);
    let client = ClientRecord {
        client_id: auth::random_with(auth::CLIENT_ID_PREFIX, 12),
        directory_id: dir.into(),
        secret_hash: auth::hash_token(&secret),
        created_at: clock::now_rfc3339(),
        expires_at_millis: expiry(now, expires_in_days),
        access_tokens: vec![],
    };
    svc.store.put_client(&client).await?;
    Ok(CreatedClient {
        client: (&client).into(),
        client_secret: secret,
        token_endpoint: base.token_endpoint(dir),
    })
}

pub async fn list_clients(
    svc: &Service,
    dir: &str,
) -> Result<Vec<Listed<ClientView>>, ManagementError> {
    let d = directory(svc, dir).await?;
    let now = clock::now_millis();
    let clients = svc.store.list_clients(dir).await?;
    Ok(clients.iter().map(|c| listed_client(c, &d, now)).collect())
}

fn listed_client(c: &ClientRecord, d: &Directory, now: i64) -> Listed<ClientView> {
    Listed {
        credential: ClientView {
            last_used_at: d.last_used_at(&c.client_id),
            ..c.into()
        },
        live: c.is_live(now),
    }
}

/// The bearer tokens and OAuth clients of the directory `d` (as read by the caller), from one
/// read of its credentials.
pub async fn all_of(
    svc: &Service,
    d: &Directory,
) -> Result<(Vec<Listed<TokenView>>, Vec<Listed<ClientView>>), ManagementError> {
    let now = clock::now_millis();
    let (tokens, clients) = svc.store.credentials_of(&d.id).await?;
    let tokens = tokens
        .iter()
        .map(|t| Listed {
            credential: token_view(t, d),
            live: t.is_live(now),
        })
        .collect();
    let clients = clients.iter().map(|c| listed_client(c, d, now)).collect();
    Ok((tokens, clients))
}

/// Revokes a client and so every access token issued to it (each is checked against its
/// client: effective within the token cache's 30 s).
pub async fn revoke_client(
    svc: &Service,
    dir: &str,
    client_id: &str,
) -> Result<ClientRevoked, ManagementError> {
    let found = svc.store.get_client(client_id).await?;
    let Some(client) = found.filter(|c| c.directory_id == dir) else {
        return Err(ManagementError::NoClient(client_id.into(), dir.into()));
    };
    svc.store.delete_client(client_id).await?;
    svc.store.forget_last_use(dir, client_id).await?;
    for hash in &client.access_tokens {
        // Already refused with the client gone; the items are only tidied.
        svc.store.delete_token(hash).await?;
    }
    Ok(ClientRevoked {
        revoked: client_id.into(),
        directory_id: dir.into(),
        access_tokens_revoked: client.access_tokens.len(),
    })
}

/// Chooses how the directory's SCIM clients authenticate. Turning a method off revokes its
/// credentials (bearer tokens; clients and their access tokens).
pub async fn set_auth_methods(
    svc: &Service,
    dir: &str,
    methods: AuthMethods,
) -> Result<AuthMethodsSet, ManagementError> {
    writable_directory(svc, dir).await?;
    if !methods.bearer && !methods.client_credentials {
        return Err(ManagementError::NoAuthMethod);
    }
    svc.store.set_auth_methods(dir, methods).await?;
    let mut revoked = 0;
    if !methods.bearer {
        for t in svc.store.list_tokens(dir).await? {
            svc.store.delete_token(&t.hash).await?;
            svc.store.forget_last_use(dir, &t.token_id).await?;
            revoked += 1;
        }
    }
    if !methods.client_credentials {
        for c in svc.store.list_clients(dir).await? {
            svc.store.delete_client(&c.client_id).await?;
            svc.store.forget_last_use(dir, &c.client_id).await?;
            revoked += 1;
        }
    }
    Ok(AuthMethodsSet {
        directory_id: dir.into(),
        auth_methods: methods,
        credentials_revoked: revoked,
    })
}
