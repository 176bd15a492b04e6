//! RFC 9865 cursors: opaque, tamper-evident page tokens.
//!
//! A cursor carries where the next page starts (the last id served), the query it belongs to (a
//! hash of directory, resource type, filter and sort) and when it expires, signed with HMAC-SHA-256
//! under a per-directory secret. A cursor from another directory or query, an edited cursor, and an
//! expired one are refused (`invalidCursor` / `expiredCursor`, RFC 9865 §2.1). The encoding is
//! base64url without padding, so it only uses RFC 3986 unreserved characters (RFC 9865 §2).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ScimError, ScimType};

/// How long a cursor stays valid (announced as `cursorTimeout` in ServiceProviderConfig).
pub const CURSOR_TIMEOUT_SECS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Query fingerprint (see `query_hash`).
    #[serde(rename = "q")]
    pub query: String,
    /// The next page starts after this id.
    #[serde(rename = "a")]
    pub after: String,
    /// Expiry, milliseconds since the epoch.
    #[serde(rename = "e")]
    pub expires: i64,
}

/// Fingerprint of everything a cursor is scoped to.
pub fn query_hash(
    directory: &str,
    resource: &str,
    filter: Option<&str>,
    sort: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        directory,
        resource,
        filter.unwrap_or(""),
        sort.unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    base64url(&h.finalize()[..16])
}

impl Cursor {
    pub fn encode(&self, key: &[u8]) -> String {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        let mac = hmac_sha256(key, &payload);
        format!("{}.{}", base64url(&payload), base64url(&mac))
    }

    /// Verifies signature, scope and expiry.
    pub fn decode(
        text: &str,
        key: &[u8],
        query: &str,
        now_millis: i64,
    ) -> Result<Cursor, ScimError> {
        let invalid = || {
            ScimError::bad(
                ScimType::InvalidCursor,
                "the cursor is not one this server issued for this query; start again with an empty cursor",
            )
        };
        let (payload, mac) = text.split_once('.').ok_or_else(invalid)?;
        let payload = unbase64url(payload).ok_or_else(invalid)?;
        let mac = unbase64url(mac).ok_or_else(invalid)?;
        if !constant_time_eq(&mac, &hmac_sha256(key, &payload)) {
            return Err(invalid());
        }
        let cursor: Cursor = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if cursor.query != query {
            return Err(invalid());
        }
        if now_millis > cursor.expires {
            return Err(ScimError::bad(
                ScimType::ExpiredCursor,
                format!("the cursor expired; cursors are valid for {CURSOR_TIMEOUT_SECS} seconds"),
            ));
        }
        Ok(cursor)
    }
}

/// HMAC-SHA-256 (RFC 2104), written out to avoid another dependency for ten lines.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Equality whose time does not depend on where `a` and `b` first differ (secrets, MACs).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn cursor() -> Cursor {
        Cursor {
            query: query_hash("d", "Users", Some("userName sw \"a\""), None),
            after: "id-9".into(),
            expires: 1_000,
        }
    }

    #[test]
    fn round_trips_and_uses_only_unreserved_characters() {
        let text = cursor().encode(KEY);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
        assert_eq!(
            Cursor::decode(&text, KEY, &cursor().query, 999).unwrap(),
            cursor()
        );
    }

    #[test]
    fn tampering_another_key_or_query_is_invalid_cursor() {
        let text = cursor().encode(KEY);
        let mut bytes = text.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(bytes).unwrap();
        for (t, key, q) in [
            (edited.as_str(), KEY, cursor().query),
            (text.as_str(), b"another key".as_slice(), cursor().query),
            (text.as_str(), KEY, query_hash("d", "Users", None, None)),
            ("garbage", KEY, cursor().query),
            ("", KEY, cursor().query),
        ] {
            let err = Cursor::decode(t, key, &q, 0).unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidCursor), "{t}");
        }
    }

    #[test]
    fn an_old_cursor_is_expired_cursor() {
        let err = Cursor::decode(&cursor().encode(KEY), KEY, &cursor().query, 1_001).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::ExpiredCursor));
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..20u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64url(&base64url(&data)).unwrap(), data);
        }
    }
}
