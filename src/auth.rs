//! Bearer tokens: their format, hashing, and the check every SCIM request passes.
//!
//! A token is `scim_sk_` + 64 hex characters (256 bits from the OS CSPRNG); the prefix lets secret
//! scanners spot a leaked one. Only its SHA-256 is stored (tokens table, keyed by the hash), so a
//! table dump reveals no usable credential. A token is valid only for the directory its row names:
//! directory A's token on B's URL is answered exactly like a wrong token (401), so probing cannot
//! tell which directories exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::scim::cursor::constant_time_eq;
use crate::store::tokens::TokenRecord;
use crate::store::{Store, StoreError};

pub const TOKEN_PREFIX: &str = "scim_sk_";
/// Access tokens from the OAuth token endpoint (`api/oauth.rs`): checked like bearer tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "scim_at_";
/// OAuth client ids and secrets.
pub const CLIENT_ID_PREFIX: &str = "scim_client_";
pub const CLIENT_SECRET_PREFIX: &str = "scim_cs_";
/// The secret of an Admin Portal setup link (`service/portal_links.rs`).
pub const PORTAL_LINK_PREFIX: &str = "scim_pl_";
/// The local management API's key (`management_key.rs`; scim-local only, never in AWS).
pub const MANAGEMENT_KEY_PREFIX: &str = "scim_mk_";

/// How long a warm Lambda trusts a token lookup. Revocation takes effect within this window.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A new random token (shown once, never stored).
pub fn new_token() -> String {
    random_with(TOKEN_PREFIX, 32)
}

/// `prefix` + hex of `n` random bytes.
pub fn random_with(prefix: &str, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // getrandom only fails if the OS has no entropy source at all; nothing sensible can continue.
    getrandom::getrandom(&mut bytes).expect("OS random number generator unavailable");
    format!("{prefix}{}", hex(&bytes))
}

/// Hex SHA-256 of a token: the tokens table key.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A short public handle for a token (for `token list` / `token revoke`), derived from the hash.
pub fn token_id(hash: &str) -> String {
    format!("tok_{}", &hash[..12.min(hash.len())])
}

/// A portal setup link's public handle (for listing and revoking), derived from its hash.
pub fn portal_link_id(hash: &str) -> String {
    format!("pl_{}", &hash[..12.min(hash.len())])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `token` can be one of ours (`scim_sk_` or `scim_at_` + 64 lowercase hex). Anything
/// else is refused before any read, so random strings cost no DynamoDB call.
pub fn well_formed(token: &str) -> bool {
    [TOKEN_PREFIX, ACCESS_TOKEN_PREFIX]
        .iter()
        .any(|p| token.strip_prefix(p).is_some_and(|rest| is_hex(rest, 64)))
}

/// `s` is exactly `len` lowercase hex digits.
pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The token from an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Entries each of the two caches holds at most.
const CACHE_ENTRIES: usize = 1_000;

/// Verifies tokens against the tokens table, with a short per-process cache. Tokens found and
/// tokens not found are cached apart: a flood of made-up tokens fills (and flushes) only the
/// second, never evicting the tokens that work.
pub struct Authenticator {
    store: Store,
    cache: Mutex<Caches>,
}

/// How long an access token from the token endpoint lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Why the token endpoint refuses (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("this directory does not accept client credentials")]
    UnauthorizedClient,
    #[error("grant_type {0:?} is not supported; use client_credentials")]
    UnsupportedGrantType(String),
    #[error("the token endpoint takes POST only")]
    MethodNotAllowed,
    #[error("try again: {0}")]
    Unavailable(String),
    #[error("no token endpoint here; it is POST /oauth2/{{directoryId}}/token")]
    NotFound,
}

impl OAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::MethodNotAllowed | OAuthError::NotFound => {
                "invalid_request"
            }
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::Unavailable(_) => "temporarily_unavailable",
        }
    }
    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidClient => 401,
            OAuthError::MethodNotAllowed => 405,
            OAuthError::NotFound => 404,
            OAuthError::Unavailable(_) => 503,
            _ => 400,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %crate::telemetry::chain(&e), "token endpoint store failure");
        OAuthError::Unavailable("the store is unavailable".into())
    }
}

#[derive(Default)]
struct Caches {
    found: HashMap<String, (Instant, TokenRecord)>,
    missing: HashMap<String, Instant>,
}

impl Caches {
    /// `Some(record)` / `Some(None)` when a fresh answer is cached, `None` when not.
    fn get(&self, hash: &str) -> Option<Option<TokenRecord>> {
        let fresh = |at: &Instant| at.elapsed() < CACHE_TTL;
        if let Some((_, r)) = self.found.get(hash).filter(|(at, _)| fresh(at)) {
            return Some(Some(r.clone()));
        }
        self.missing.get(hash).filter(|at| fresh(at)).map(|_| None)
    }

    fn put(&mut self, hash: String, record: Option<TokenRecord>) {
        let now = Instant::now();
        match record {
            Some(r) => {
                if self.found.len() >= CACHE_ENTRIES {
                    self.found.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                }
                if self.found.len() < CACHE_ENTRIES {
                    self.found.insert(hash, (now, r));
                }
            }
            None => {
                if self.missing.len() >= CACHE_ENTRIES {
                    self.missing.clear();
                }
                self.missing.insert(hash, now);
            }
        }
    }
}

impl Authenticator {
    pub fn new(store: Store) -> Self {
        Authenticator {
            store,
            cache: Mutex::default(),
        }
    }

    /// The client-credentials grant: checks the client of `directory` and issues an access
    /// token. Returns the token and its lifetime in seconds. A failed authentication is answered
    /// at once (`api/oauth.rs` says why).
    pub async fn issue_access_token(
        &self,
        directory: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<(String, u64), OAuthError> {
        let now = crate::clock::now_millis();
        let known = client_id.starts_with(CLIENT_ID_PREFIX)
            && secret.starts_with(CLIENT_SECRET_PREFIX)
            && client_id.len() <= 64;
        let client = if known {
            self.store.get_client(client_id).await?
        } else {
            None
        };
        let Some(client) = client.filter(|c| {
            c.directory_id == directory
                && c.is_live(now)
                && constant_time_eq(c.secret_hash.as_bytes(), hash_token(secret).as_bytes())
        }) else {
            return Err(OAuthError::InvalidClient);
        };
        let d = self.store.get_directory(directory).await?;
        if !d.is_some_and(|d| d.auth_methods.client_credentials) {
            return Err(OAuthError::UnauthorizedClient);
        }
        let token = random_with(ACCESS_TOKEN_PREFIX, 32);
        let hash = hash_token(&token);
        // A token never outlives its client's expiry.
        let expires = (now + ACCESS_TOKEN_TTL.as_millis() as i64)
            .min(client.expires_at_millis.unwrap_or(i64::MAX));
        let record = TokenRecord {
            token_id: token_id(&hash),
            hash: hash.clone(),
            directory_id: directory.into(),
            created_at: crate::clock::now_rfc3339(),
            expires_at_millis: Some(expires),
            client_id: Some(client_id.into()),
        };
        self.store.put_token(&record).await?;
        let Some(evicted) = self.store.add_access_token(&client, &hash).await? else {
            // Revoked (or its secret rotated) between the check and now: the token is refused
            // by its check anyway; it is not handed out.
            self.store.delete_token(&hash).await?;
            return Err(OAuthError::InvalidClient);
        };
        for old in evicted {
            // Already refused (no longer on the client's list); the items are only tidied.
            if let Err(e) = self.store.delete_token(&old).await {
                tracing::warn!(error = %crate::telemetry::chain(&e), "could not delete a retired access token");
            }
        }
        let lifetime = ((expires - now).max(0) as u64).div_ceil(1000);
        Ok((token, lifetime))
    }

    /// True when `token` is live and belongs to `directory`.
    pub async fn allows(
        &self,
        token: &str,
        directory: &str,
        now_millis: i64,
    ) -> Result<bool, StoreError> {
        if !well_formed(token) {
            return Ok(false);
        }
        let hash = hash_token(token);
        let cached = self.cache.lock().ok().and_then(|c| c.get(&hash));
        let record = match cached {
            Some(r) => r,
            None => {
                let mut r = self.store.get_token(&hash).await?;
                // An access token is good only while its client is live and still lists it;
                // the answer is cached with the token, so revoking a client holds within the
                // same `CACHE_TTL`.
                if let Some(t) = r.as_ref().filter(|t| t.client_id.is_some()) {
                    let id = t.client_id.as_deref().unwrap_or_default();
                    let listed = self.store.get_client(id).await?.is_some_and(|c| {
                        c.directory_id == t.directory_id
                            && c.is_live(now_millis)
                            && c.access_tokens.contains(&hash)
                    });
                    if !listed {
                        r = None;
                    }
                }
                let used = r
                    .as_ref()
                    .filter(|r| r.directory_id == directory && r.is_live(now_millis))
                    .map(|r| r.used_as().to_string());
                if let Some(used) = used {
                    // The directory's last request time, and its first request links it
                    // (`dsync.activated`): once per lookup, not per request. The same write
                    // answers with the directory as it was, so a token of a directory being
                    // deleted, or of a method turned off, is refused even if its revocation
                    // (which lists credentials through an eventually consistent index) missed
                    // it. The same write notes the credential's last use (the portal's
                    // Credentials tab). A failure here must not fail the request; the next
                    // lookup tries again.
                    match self.store.record_request(directory, &used).await {
                        Ok(entry) => {
                            let kind_on = |d: &crate::store::directories::Directory| match r {
                                Some(TokenRecord {
                                    client_id: Some(_), ..
                                }) => d.auth_methods.client_credentials,
                                _ => d.auth_methods.bearer,
                            };
                            let admitted = entry.as_ref().is_some_and(|d| {
                                d.status != crate::store::directories::DELETING && kind_on(d)
                            });
                            if !admitted {
                                r = None;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(%directory, error = %crate::telemetry::chain(&e), "could not record the request");
                        }
                    }
                }
                if let Ok(mut c) = self.cache.lock() {
                    c.put(hash, r.clone());
                }
                r
            }
        };
        Ok(record.is_some_and(|r| r.directory_id == directory && r.is_live(now_millis)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_256_bit_hex() {
        let t = new_token();
        assert!(t.starts_with(TOKEN_PREFIX));
        assert_eq!(t.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(t, new_token());
    }

    #[test]
    fn only_our_token_format_is_looked_up() {
        assert!(well_formed(&new_token()));
        assert!(!well_formed("scim_sk_abc"));
        assert!(!well_formed(&new_token().to_uppercase()));
        assert!(!well_formed(&format!("{}x", new_token())));
        assert!(!well_formed("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
