//! [`RedactionConfig`]: what to keep out of everything that leaves the process (the
//! [`Redactor`](crate::Redactor) it compiles to is applied by the read side, `read::decode`,
//! and, with [`RedactionConfig::on_record`], by the record path too).

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
    "privkey",
];

/// Keys allowed by default though a deny entry matches them: a swap's tokens are
/// addresses, not secrets (`token` would deny them).
pub const DEFAULT_ALLOW_KEYS: &[&str] = &[
    "token_in",
    "token_out",
    "token0",
    "token1",
    "token_address",
    "token_symbol",
    "token_decimals",
    "token_id",
];

/// What to redact. The `[redaction]` table of the TOML settings; every key optional.
/// [`RedactionConfig::compile`] turns it into a [`Redactor`](crate::Redactor).
///
/// # Where
///
/// `record` stores what the caller gave; the rules are applied where data leaves the
/// process: every event a query, snapshot, cursor or export returns (and so the file
/// exporter, HTTP and its SSE stream, OTLP, panic dumps, recordings and the network
/// report) is redacted as it is decoded. Counter names derived from an RPC endpoint use
/// its host, never its credentials or path. Set [`RedactionConfig::on_record`] to
/// redact on the record path as well, so that secrets never sit in the ring (it costs
/// each event a scan of its strings).
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
/// This errs on the side of hiding. Keys a deny entry matches but that are not secrets
/// are listed in [`RedactionConfig::allow_keys`] (compared the same way, but whole:
/// `token_in` allows `tokenIn` and `TOKEN_IN`, not `token_in_amount`); the defaults,
/// [`DEFAULT_ALLOW_KEYS`], are a swap's `token_in`, `token_out`, `token0`, … .
///
/// The defaults are [`DEFAULT_DENY_KEYS`]. An entry inside a longer word is not matched
/// (`myapikey`; `secretkey` is, because `secret_key` is listed), nor is a plural
/// (`api_keys`): add such keys to [`RedactionConfig::extra_deny_keys`].
///
/// # Values and messages
///
/// The message, the peer and string values are scanned for these forms, all on by
/// default:
///
/// - **URL credentials** ([`RedactionConfig::url_credentials`]): the user-info of a URL
///   with a scheme, `scheme://user:pass@host/…` → `scheme://[REDACTED]@host/…`. The
///   whole user-info goes (a user name alone can be a token: `https://ghp_x@github.com`),
///   up to the *last* `@` of the authority, so a password holding an `@` is hidden whole.
///   An `@` with no `scheme://` before it in the same word is left alone:
///   `alice@example.com`, `mailto:alice@example.com`, `https://x.com/@alice`.
/// - **Keys in URL paths** (with `url_credentials`): a segment of 16 or more letters,
///   digits, `-`, `_` after a version segment (`/v3/<key>` of Infura, `/v2/<key>` of
///   Alchemy), and any segment of 32 or more with both letters and digits (QuickNode's
///   `/<token>/`) except a `0x…` hash.
/// - **Pairs** ([`RedactionConfig::key_value_pairs`]) whose name (ASCII letters, digits,
///   `_`, `-`, `.`) is a denied key, or, in text, the bare name `key`: `name=value` in a
///   query string (`?apikey=…`, `&key=…`, `;api-key=…`) or free text
///   (`password=hunter2`); `name: value` (`password: hunter2`); JSON inside a string
///   (`{"password":"x"}`); and headers (`Authorization: Bearer <token>`: the scheme and
///   the token both go). A value ends at white space, `&`, or a quote (and, after `:`,
///   at `,` `;` `}`); a value that starts with a quote ends at the matching quote.
///   `?token=abc#frag` loses its fragment too: when unsure, hide.
///
/// Not redacted: the event's kind, and numbers or booleans under a key that is not
/// denied.
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
    /// case and separators). Default [`DEFAULT_ALLOW_KEYS`]; setting it replaces them.
    pub allow_keys: Vec<String>,
    /// Replace the user-info of URLs (`https://user:pass@host`) in string values and
    /// messages. Default true.
    pub url_credentials: bool,
    /// Replace the value of `name=value` pairs whose name is denied (`?apikey=…`,
    /// `password=…`, `password: …`, `"password":"…"`, `Authorization: Bearer …`) in
    /// string values, peers and messages. Default true.
    pub key_value_pairs: bool,
    /// Redact on the record path too, so that secrets never sit in the ring (the rules
    /// are applied again on the way out, which changes nothing). Costs every event a
    /// scan of its strings. Default false.
    pub on_record: bool,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            enabled: true,
            deny_keys: DEFAULT_DENY_KEYS.iter().map(|&k| k.to_owned()).collect(),
            extra_deny_keys: Vec::new(),
            allow_keys: DEFAULT_ALLOW_KEYS.iter().map(|&k| k.to_owned()).collect(),
            url_credentials: true,
            key_value_pairs: true,
            on_record: false,
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
