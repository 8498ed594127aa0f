//! [`RedactionConfig`]: what to keep out of the ring (the [`Redactor`](crate::Redactor) it compiles to
//! is on the record path, `core::redact`).

use serde::{Deserialize, Serialize};

/// What a redacted value is replaced by.
pub const REDACTED: &str = "[REDACTED]";

/// The keys denied by default (see [`RedactionConfig`] for how they match).
pub const DEFAULT_DENY_KEYS: &[&str] = &[
    "api_key",
    "private_key",
    "secret",
    "password",
    "token",
    "authorization",
    "signature",
    "seed",
    "mnemonic",
    "passwd",
    "passphrase",
    "credentials",
    "cookie",
    "access_token",
    "auth_token",
    "secret_key",
    "sig",
];

/// What to redact. The `[redaction]` table of the TOML settings; every key optional.
/// [`RedactionConfig::compile`] turns it into the [`Redactor`](crate::Redactor) the record path asks
/// about every event.
///
/// # Keys
///
/// A field whose key is *denied* is recorded with the value `"[REDACTED]"`, whatever its
/// type. Keys and deny entries are compared by *words*, ignoring case: a key is split
/// into words at every ASCII character that is not a letter or digit (`_`, `-`, `.`, …),
/// at camel-case humps (`apiKey`, `APIKey`) and between letters and digits (`token2`).
/// An entry matches when its letters and digits, joined, equal one or more consecutive
/// words of the key. So the entry `api_key` denies `api_key`, `API_KEY`, `apiKey`,
/// `x-api-key`, `exchangeApiKey` and `apikey`; the entry `token` denies `token`,
/// `access_token`, `Token`, `tokenIn` and `token_in`, but not `tokens` or `tokenizer`.
///
/// This errs on the side of hiding: with the defaults, a DeFi key such as `token_in`
/// (an address, not a secret) is redacted too. List such keys in
/// [`RedactionConfig::allow_keys`] (compared the same way, but whole: `token_in` allows
/// `tokenIn` and `TOKEN_IN`, not `token_in_amount`).
///
/// The defaults are [`DEFAULT_DENY_KEYS`]. An entry inside a longer word is not matched
/// (`myapikey`; `secretkey` is, because `secret_key` is listed), nor is a plural
/// (`api_keys`): add such keys to [`RedactionConfig::extra_deny_keys`].
///
/// # Values and messages
///
/// String values and the message are scanned for two forms, both on by default:
///
/// - **URL credentials** ([`RedactionConfig::url_credentials`]): the user-info of a URL
///   with a scheme, `scheme://user:pass@host/…` → `scheme://[REDACTED]@host/…`. The
///   whole user-info goes (a user name alone can be a token: `https://ghp_x@github.com`),
///   up to the *last* `@` of the authority, so a password holding an `@` is hidden whole.
///   An `@` with no `scheme://` before it in the same word is left alone:
///   `alice@example.com`, `mailto:alice@example.com`, `https://x.com/@alice`.
/// - **`name=value` pairs** ([`RedactionConfig::key_value_pairs`]): in a query string
///   (`?apikey=…`, `&token=…`, `;api-key=…`) or in free text (`password=hunter2`), when
///   `name` (ASCII letters, digits, `_`, `-`, `.`) is a denied key. The value ends at
///   white space, `&`, or a quote; a value that starts with a quote ends at the matching
///   quote. `?token=abc#frag` loses its fragment too: when unsure, hide.
///
/// Not detected: header-style text (`Authorization: Bearer …` in a message — record it
/// as a field named `authorization` instead), JSON inside a string, secrets inside a URL
/// path (`https://rpc.example/v3/<project key>`), and the event's peer and kind.
///
/// ```
/// use flightring::RedactionConfig;
/// let cfg: RedactionConfig = serde_json::from_str(
///     r#"{ "extra_deny_keys": ["session_id"], "allow_keys": ["token_in", "token_out"] }"#,
/// ).unwrap();
/// let r = cfg.compile();
/// assert!(r.redact_key("SESSION_ID") && r.redact_key("refresh_token"));
/// assert!(!r.redact_key("tokenIn"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactionConfig {
    /// Whether anything is redacted at all. Default true.
    pub enabled: bool,
    /// Denied keys; default [`DEFAULT_DENY_KEYS`]. Setting it replaces the defaults.
    pub deny_keys: Vec<String>,
    /// Further denied keys, added to `deny_keys`. Default none.
    pub extra_deny_keys: Vec<String>,
    /// Keys never redacted though a deny entry matches them (compared whole, ignoring
    /// case and separators). Default none.
    pub allow_keys: Vec<String>,
    /// Replace the user-info of URLs (`https://user:pass@host`) in string values and
    /// messages. Default true.
    pub url_credentials: bool,
    /// Replace the value of `name=value` pairs whose name is denied (`?apikey=…`,
    /// `password=…`) in string values and messages. Default true.
    pub key_value_pairs: bool,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            enabled: true,
            deny_keys: DEFAULT_DENY_KEYS.iter().map(|&k| k.to_owned()).collect(),
            extra_deny_keys: Vec::new(),
            allow_keys: Vec::new(),
            url_credentials: true,
            key_value_pairs: true,
        }
    }
}

impl RedactionConfig {
    /// A configuration that redacts nothing.
    pub fn disabled() -> Self {
        RedactionConfig {
            enabled: false,
            ..RedactionConfig::default()
        }
    }
}
