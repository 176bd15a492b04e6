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

/// Whether `token` can be one of ours (`scim_sk_` + 64 lowercase hex). Anything else is refused
/// before any read, so random strings cost no DynamoDB call.
pub fn well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
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
                let r = self.store.get_token(&hash).await?;
                if let Ok(mut c) = self.cache.lock() {
                    c.put(hash, r.clone());
                }
                if r.as_ref()
                    .is_some_and(|r| r.directory_id == directory && r.is_live(now_millis))
                {
                    // The directory's last request time, and its first request links it
                    // (`dsync.activated`): once per lookup, not per request. A failure here
                    // must not fail the request; the next lookup tries again.
                    if let Err(e) = self.store.record_request(directory).await {
                        tracing::warn!(%directory, error = %e, "could not record the request");
                    }
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
