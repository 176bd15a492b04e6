//! Redaction: what a request-log record may hold of a body or a query string, decided before the
//! record leaves the process (a log line, a channel, a table — `docs/request-log.md`).
//!
//! - A value whose key (any depth, any case) is `password`, `token`, `access_token`,
//!   `refresh_token`, `client_secret`, `secret`, or contains `password` or `secret`, becomes
//!   `"[redacted]"` — whatever it is (a string, an object, a list).
//! - A SCIM PATCH operation names its attribute in `path` and carries the value in `value`
//!   (RFC 7644 §3.5.2): `{"op": "replace", "path": "password", "value": "…"}` hides its `value`
//!   when the path's attribute (after any schema URN or parent, `urn:…:User:password`) is such a
//!   key. Okta's password sync sends exactly that.
//! - Any string holding one of our secret shapes (`scim_sk_`, `scim_at_`, `scim_cs_`, `scim_pl_`,
//!   `scim_ps_`, `scim_mk_` followed by hex) becomes `"[redacted]"`, under any key.
//! - A form-encoded body (the token endpoint's, RFC 6749 §4.4.2) and a query string are redacted
//!   pair by pair with the same rules. A body that is neither JSON nor a form and names a secret
//!   is not kept at all: nothing could tell where the secret ends.
//!
//! JSON is redacted while it is serialized ([`Redacted`]), so a 5 MB response is never copied to
//! be cleaned: the capped writer keeps the first bytes and counts the rest.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// What a hidden value becomes.
pub const REDACTED: &str = "[redacted]";

/// The prefixes of every secret this service mints (`crate::auth`, the portal's session).
pub const SECRET_PREFIXES: [&str; 6] = [
    "scim_sk_", "scim_at_", "scim_cs_", "scim_pl_", "scim_ps_", "scim_mk_",
];

/// Hex digits after a prefix that make a secret shape (our secrets carry 64; a shorter run is
/// still a secret's start, as in a log line cut short).
const MIN_SECRET_HEX: usize = 8;

/// Whether a value under key `key` is hidden.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    matches!(
        k.as_str(),
        "password" | "token" | "access_token" | "refresh_token" | "client_secret" | "secret"
    ) || k.contains("password")
        || k.contains("secret")
}

/// Whether `text` holds one of our secret shapes anywhere.
pub fn holds_secret(text: &str) -> bool {
    SECRET_PREFIXES.iter().any(|p| {
        text.match_indices(p).any(|(at, _)| {
            text[at + p.len()..]
                .bytes()
                .take_while(u8::is_ascii_hexdigit)
                .count()
                >= MIN_SECRET_HEX
        })
    })
}

/// Whether a PATCH operation's `path` names a secret attribute: its last attribute, after a
/// schema URN (`…:User:password`), a parent (`x.password`) or a filter (`a[b eq 1].password`).
fn path_is_secret(path: &str) -> bool {
    let attr = path.rsplit([':', '.', ']']).next().unwrap_or(path);
    is_secret_key(attr) || is_secret_key(path)
}

/// A JSON value as the log may show it: serializes as the value with every secret hidden.
pub struct Redacted<'a> {
    value: &'a Value,
    hide: bool,
}

impl<'a> Redacted<'a> {
    pub fn new(value: &'a Value) -> Self {
        Redacted { value, hide: false }
    }
}

impl Serialize for Redacted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            _ if self.hide => s.serialize_str(REDACTED),
            Value::String(text) if holds_secret(text) => s.serialize_str(REDACTED),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Redacted::new(v))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                // A PATCH operation naming a secret attribute hides its value.
                let secret_path = fields.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("path") && v.as_str().is_some_and(path_is_secret)
                });
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    let hide = is_secret_key(k)
                        || holds_secret(k)
                        || (secret_path && k.eq_ignore_ascii_case("value"));
                    let key = if holds_secret(k) {
                        REDACTED
                    } else {
                        k.as_str()
                    };
                    map.serialize_entry(key, &Redacted { value: v, hide })?;
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Name/value pairs (a query string, a form body), each value hidden when its name or itself is
/// secret; written back as `name=value&…`, decoded, for a person to read.
pub fn redact_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let k_shown = if holds_secret(k) {
                REDACTED
            } else {
                k.as_str()
            };
            if is_secret_key(k) || holds_secret(k) || holds_secret(v) {
                format!("{k_shown}={REDACTED}")
            } else {
                format!("{k_shown}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A body that is neither JSON nor a form: kept as text unless it names a secret anywhere (then
/// nothing of it is kept — there is no telling where the secret ends).
pub fn redact_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let names_secret = ["password", "secret", "token"]
        .iter()
        .any(|w| lower.contains(w));
    if names_secret || holds_secret(text) {
        format!(
            "{REDACTED}: a body of {} bytes that names a secret and is not JSON",
            text.len()
        )
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(v: Value) -> Value {
        serde_json::to_value(Redacted::new(&v)).unwrap()
    }

    const SK: &str = "scim_sk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_password_in_a_user_body_is_hidden_at_any_depth_and_case() {
        let v = shown(json!({
            "userName": "ada@example.com",
            "Password": "Secr3t!",
            "urn:ietf:params:scim:schemas:extension:custom:2.0:User": {"oldPassword": "x"},
            "emails": [{"value": "ada@example.com"}]
        }));
        assert_eq!(v["userName"], "ada@example.com");
        assert_eq!(v["Password"], REDACTED);
        assert_eq!(
            v["urn:ietf:params:scim:schemas:extension:custom:2.0:User"]["oldPassword"],
            REDACTED
        );
        assert_eq!(v["emails"][0]["value"], "ada@example.com");
    }

    #[test]
    fn every_secret_key_hides_its_value_whatever_it_is() {
        for key in [
            "password",
            "token",
            "access_token",
            "refresh_token",
            "client_secret",
            "secret",
            "PASSWORD_HASH",
            "webhookSecret",
        ] {
            let v = shown(json!({ key: {"nested": "Secr3t!"} }));
            assert_eq!(v[key], REDACTED, "{key}");
        }
        for key in ["tokens_issued", "value", "displayName", "id"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn a_password_inside_a_patch_operation_value_is_hidden() {
        let v = shown(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "password", "value": "Secr3t!"},
                {"op": "Replace", "Path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "Value": "Secr3t!"},
                {"op": "replace", "value": {"password": "Secr3t!", "active": true}},
                {"op": "replace", "path": "name.familyName", "value": "Lovelace"}
            ]
        }));
        let ops = &v["Operations"];
        assert_eq!(ops[0]["value"], REDACTED);
        assert_eq!(ops[0]["path"], "password");
        assert_eq!(ops[1]["Value"], REDACTED);
        assert_eq!(ops[2]["value"]["password"], REDACTED);
        assert_eq!(ops[2]["value"]["active"], true);
        assert_eq!(ops[3]["value"], "Lovelace");
        assert!(!v.to_string().contains("Secr3t!"));
    }

    #[test]
    fn our_secret_shapes_are_hidden_under_any_key_even_inside_text() {
        let v = shown(json!({
            "note": format!("Bearer {SK}"),
            "list": [SK, "scim_sk_not-hex"],
            SK: 1
        }));
        assert_eq!(v["note"], REDACTED);
        assert_eq!(v["list"][0], REDACTED);
        assert_eq!(v["list"][1], "scim_sk_not-hex");
        assert_eq!(v[REDACTED], REDACTED);
        assert!(!v.to_string().contains(SK));
        for p in SECRET_PREFIXES {
            assert!(holds_secret(&format!("x{p}deadbeef01")), "{p}");
        }
    }

    #[test]
    fn a_token_in_a_query_string_is_hidden() {
        let pairs = vec![
            ("filter".to_string(), "userName eq \"ada\"".to_string()),
            ("access_token".to_string(), "abc".to_string()),
            ("x".to_string(), SK.to_string()),
        ];
        assert_eq!(
            redact_pairs(&pairs),
            "filter=userName eq \"ada\"&access_token=[redacted]&x=[redacted]"
        );
    }

    #[test]
    fn a_client_secret_in_a_form_encoded_token_request_is_hidden() {
        let pairs = vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".to_string(), "cl_1".to_string()),
            ("client_secret".to_string(), "whatever-it-is".to_string()),
        ];
        let shown = redact_pairs(&pairs);
        assert_eq!(
            shown,
            "grant_type=client_credentials&client_id=cl_1&client_secret=[redacted]"
        );
    }

    #[test]
    fn a_broken_body_naming_a_secret_is_not_kept() {
        let shown = redact_text("{\"userName\": \"a\", \"password\": \"Secr3t!\"");
        assert!(!shown.contains("Secr3t!"), "{shown}");
        assert_eq!(redact_text("{\"userName\": \"a\""), "{\"userName\": \"a\"");
        assert!(!redact_text(SK).contains(SK));
    }
}
