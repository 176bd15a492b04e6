//! The key that opens `scim-local`'s management API. In AWS the `/manage/` routes sit behind IAM
//! (SigV4); locally nothing would authenticate them, and "only on loopback" is not enough: a
//! tunnel, a port forward or any web page the developer opens (CSRF, DNS rebinding) reaches a
//! loopback port too. So `scim-local` requires this key as `Authorization: Bearer <key>` on every
//! `/manage/` request (the other checks, on Host, Origin and forwarding headers, are the server's:
//! `local/server.rs`).
//!
//! The key is `scim_mk_` + 64 hex characters (256 bits from the OS CSPRNG, like a SCIM token; the
//! prefix lets secret scanners spot a leaked one). It is kept in a file beside the local data
//! (`.local/scim-local.management-key`, owner-only on Unix) so that it survives restarts like the
//! demo token, and so that `scimctl` on the same machine finds it without being told.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::auth::{self, MANAGEMENT_KEY_PREFIX};
use crate::scim::cursor::constant_time_eq;

/// Where `scim-local` keeps the key with its default `--data` (and where `scimctl` looks).
pub const DEFAULT_KEY_FILE: &str = ".local/scim-local.management-key";
/// The key, when `scimctl` should not read the file (another `--data`, `--memory`).
pub const ENV_MANAGEMENT_KEY: &str = "SCIM_MANAGEMENT_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the management key at {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot save the management key at {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A management key. `Debug` does not print it.
#[derive(Clone)]
pub struct ManagementKey {
    key: String,
    /// What a presented key is compared with: equal-length digests, compared in constant time,
    /// so neither the length nor a common prefix of a guess shows in the answer's timing.
    digest: [u8; 32],
}

impl std::fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManagementKey(…)")
    }
}

impl ManagementKey {
    /// A new random key.
    pub fn generate() -> ManagementKey {
        ManagementKey::from_valid(auth::random_with(MANAGEMENT_KEY_PREFIX, 32))
    }

    /// `text` as a key, if it has the key's form (`scim_mk_` + 64 lowercase hex).
    pub fn parse(text: &str) -> Option<ManagementKey> {
        let hex = text.trim().strip_prefix(MANAGEMENT_KEY_PREFIX)?;
        let valid = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| ManagementKey::from_valid(text.trim().to_string()))
    }

    fn from_valid(key: String) -> ManagementKey {
        let digest = Sha256::digest(key.as_bytes()).into();
        ManagementKey { key, digest }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Whether `presented` is this key (constant time).
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(&Sha256::digest(presented.as_bytes()), &self.digest)
    }

    /// The key saved at `path`, or `None` when there is no file or it holds no key.
    pub fn read(path: &Path) -> Result<Option<ManagementKey>, KeyFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(ManagementKey::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyFileError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The key saved at `path`; the first time (or when the file holds no valid key) a new one,
    /// saved there readable by its owner only.
    pub fn load_or_create(path: &Path) -> Result<ManagementKey, KeyFileError> {
        if let Some(key) = ManagementKey::read(path)? {
            // A file made by hand or an older version may be readable by others: owner only.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let owner_only = std::fs::Permissions::from_mode(0o600);
                std::fs::set_permissions(path, owner_only).map_err(|source| {
                    KeyFileError::Write {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
            }
            return Ok(key);
        }
        let key = ManagementKey::generate();
        key.save(path).map_err(|source| KeyFileError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(key)
    }

    fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        writeln!(file, "{}", self.key)
    }
}

/// Whether `host` (a `Host` or URL host: `localhost`, `127.0.0.1`, `[::1]`) names this machine.
/// Only the literal name `localhost` counts: a DNS name that resolves to loopback may be rebound.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_256_random_bits_behind_its_prefix_and_matches_only_itself() {
        let key = ManagementKey::generate();
        assert!(key.as_str().starts_with("scim_mk_"));
        assert_eq!(key.as_str().len(), "scim_mk_".len() + 64);
        assert!(key.matches(key.as_str()));
        assert!(!key.matches(ManagementKey::generate().as_str()));
        assert!(!key.matches(""));
        assert!(!key.matches(&key.as_str()[..20]));
        assert!(ManagementKey::parse(key.as_str()).is_some());
        assert!(ManagementKey::parse("scim_mk_short").is_none());
        assert!(!format!("{key:?}").contains(key.as_str()));
    }
}
