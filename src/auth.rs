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

use crate::store::tokens::TokenRecord;
use crate::store::{Store, StoreError};

pub const TOKEN_PREFIX: &str = "scim_sk_";

/// How long a warm Lambda trusts a token lookup. Revocation takes effect within this window.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A new random token (shown once, never stored).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // getrandom only fails if the OS has no entropy source at all; nothing sensible can continue.
    getrandom::getrandom(&mut bytes).expect("OS random number generator unavailable");
    format!("{TOKEN_PREFIX}{}", hex(&bytes))
}

/// Hex SHA-256 of a token: the tokens table key.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A short public handle for a token (for `token list` / `token revoke`), derived from the hash.
pub fn token_id(hash: &str) -> String {
    format!("tok_{}", &hash[..12.min(hash.len())])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token from an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies tokens against the tokens table, with a short per-process cache.
pub struct Authenticator {
    store: Store,
    cache: Mutex<HashMap<String, (Instant, Option<TokenRecord>)>>,
}

impl Authenticator {
    pub fn new(store: Store) -> Self {
        Authenticator {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// True when `token` is live and belongs to `directory`.
    pub async fn allows(
        &self,
        token: &str,
        directory: &str,
        now_millis: i64,
    ) -> Result<bool, StoreError> {
        let hash = hash_token(token);
        let cached = self.cache.lock().ok().and_then(|c| {
            c.get(&hash)
                .filter(|(at, _)| at.elapsed() < CACHE_TTL)
                .map(|(_, r)| r.clone())
        });
        let record = match cached {
            Some(r) => r,
            None => {
                let r = self.store.get_token(&hash).await?;
                if let Ok(mut c) = self.cache.lock() {
                    if c.len() > 1000 {
                        c.clear();
                    }
                    c.insert(hash, (Instant::now(), r.clone()));
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
