//! Redaction: keeps secrets out of everything that leaves the process. The rules are
//! documented on [`RedactionConfig`], the cost on [`Redactor`]. The read side applies
//! it as it decodes (`read::decode`); the record path only with
//! [`RedactionConfig::on_record`]. It lives here, below both, because that opt-in mode
//! runs it on the record path: allocation-free and lock-free.

use std::fmt;

use memchr::{memchr, memchr2};

use crate::model::{Event, FieldValue, RedactionConfig, REDACTED};

mod scan;
use scan::*;

/// Bytes of the stack buffer an event's rewritten strings go into (see
/// [`Redactor::with_redacted`]). No slot holds more than 1 016 bytes, so text cut here
/// would have been cut by the codec anyway.
const SCRATCH_BYTES: usize = 4096;
/// At most this many bytes of scratch for one string, so that a long message leaves
/// room for the fields.
const PIECE_BYTES: usize = 1024;

impl RedactionConfig {
    /// Compiles the rules into a [`Redactor`]. Entries with no letter or digit are
    /// ignored.
    pub fn compile(&self) -> Redactor {
        let mut deny: Vec<Box<[u8]>> = if self.enabled {
            self.deny_keys
                .iter()
                .chain(&self.extra_deny_keys)
                .map(|k| compact(k))
                .filter(|k| !k.is_empty())
                .collect()
        } else {
            Vec::new()
        };
        deny.sort();
        deny.dedup();
        let masks = deny.iter().map(|k| letter_mask(k)).collect::<Vec<_>>();
        let mut first = [0u64; 4];
        for k in &deny {
            let c = k[0];
            first[usize::from(c >> 6)] |= 1 << (c & 63);
        }
        let allow = self
            .allow_keys
            .iter()
            .map(|k| compact(k))
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>();
        let key_value_pairs = self.key_value_pairs && !deny.is_empty();
        let url_credentials = self.enabled && self.url_credentials;
        // Every form starts at a `:` (a URL's `://`, `name: value`, `"name":"value"`) or
        // an `=` (`name=value`).
        let needles = match (url_credentials, key_value_pairs) {
            (_, true) => Some(Needles::new(b':', b'=')),
            (true, false) => Some(Needles::new(b':', b':')),
            (false, false) => None,
        };
        Redactor {
            key_value_pairs,
            needles,
            deny: deny.into(),
            masks: masks.into(),
            first,
            allow: allow.into(),
            url_credentials,
            id: NEXT_REDACTOR.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// `key`'s ASCII letters (lower-cased) and digits, and its non-ASCII bytes, in order.
fn compact(key: &str) -> Box<[u8]> {
    key.bytes()
        .filter(|&c| !is_sep(c))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Compiled redaction rules (the rules: [`RedactionConfig`]). Build one with
/// [`RedactionConfig::compile`]. Cheap to share (`Send + Sync`); never allocates.
///
/// # Cost
///
/// A key is first tested against a 32-bit set of the letters it holds: an entry with a
/// letter the key lacks cannot match, and most keys lack a letter of every entry (one
/// branch-free pass and a few ANDs). Only the rest are split into words, in one pass
/// into a stack buffer, and compared where a word starts with an entry's first letter.
/// A string is scanned for an `@` or a `=` (only for the text rules that are on; 16
/// bytes at a time), so a value with neither costs that one scan; only around each `@` or
/// `=` found is there more work. Events that need no change are passed on as they are;
/// the others are rewritten into a 4 KiB stack buffer in a `#[cold]` function
/// ([`Redactor::with_redacted`]).
///
/// On the way out, [`Redactor::redact_str`] rewrites into a new string only when
/// something is found. On the record path (with [`RedactionConfig::on_record`]), an
/// event with something to rewrite costs a few hundred nanoseconds more; the export
/// cost with and without rules is printed by `cargo run --release --example bench --
/// export`.
///
/// ```
/// use flightring::{Event, FieldValue, RedactionConfig, Severity};
/// let r = RedactionConfig::default().compile();
/// assert!(r.redact_key("API_KEY") && r.redact_key("Authorization"));
///
/// let mut scratch = [0u8; 256];
/// let out = r.redact_text("GET https://bob:hunter2@rpc.example/v1?apikey=abc&n=1", &mut scratch);
/// assert_eq!(out.text(), "GET https://[REDACTED]@rpc.example/v1?apikey=[REDACTED]&n=1");
///
/// let ev = Event::new("rpc", Severity::Info).field("password", "hunter2").field("n", 1u64);
/// let hidden = r.with_redacted(&ev, |ev| {
///     ev.fields().next() == Some(("password", FieldValue::Str("[REDACTED]")))
/// });
/// assert!(hidden);
/// ```
#[derive(Clone)]
pub struct Redactor {
    /// Deny entries, compacted (see [`compact`]), sorted; none empty.
    deny: Box<[Box<[u8]>]>,
    /// `letter_mask` of each deny entry: a key lacking one of an entry's letters cannot
    /// match it.
    masks: Box<[u32]>,
    /// Bit `c` set when some deny entry starts with byte `c`.
    first: [u64; 4],
    /// Allow entries, compacted; none empty.
    allow: Box<[Box<[u8]>]>,
    url_credentials: bool,
    key_value_pairs: bool,
    /// The bytes a string must hold to need a closer look: `@` for URL credentials,
    /// `=` for `name=value` pairs (the same byte twice when only one rule is on);
    /// `None` when neither rule is on, so strings are not scanned at all.
    needles: Option<Needles>,
    /// Unique per compiled redactor: tags this redactor's entries in the per-thread
    /// verdict cache.
    id: u64,
}

/// One cached verdict: the key (up to 16 bytes, as two words and a length, so a hit is
/// an exact match of the key's bytes) and whether a redactor denies it.
#[derive(Debug, Clone, Copy)]
struct CachedVerdict {
    words: (u64, u64),
    /// `id << 16 | key length << 8 | deny` of the redactor with id `id` (ids start at
    /// 1, so the all-zero entry matches nothing).
    tag: u64,
}

impl CachedVerdict {
    const EMPTY: CachedVerdict = CachedVerdict {
        words: (0, 0),
        tag: 0,
    };
}

/// Verdict cache slots per thread.
const VERDICT_SLOTS: usize = 32;

thread_local! {
    /// Field keys are nearly always the same few short names: caching each thread's
    /// recent verdicts turns the word matching into three compares.
    static VERDICTS: [std::cell::Cell<CachedVerdict>; VERDICT_SLOTS] =
        const { [const { std::cell::Cell::new(CachedVerdict::EMPTY) }; VERDICT_SLOTS] };
}

static NEXT_REDACTOR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A key of up to 16 bytes as two words: the first and last 8 bytes, or its bytes
/// packed when shorter; with the length, they identify the key exactly.
#[inline(always)]
fn key_words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 8 {
        (load8(b, 0), load8(b, n - 8))
    } else {
        (crate::core::codec::load_partial(b), 0)
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |v: &[Box<[u8]>]| -> Vec<String> {
            v.iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        f.debug_struct("Redactor")
            .field("deny", &s(&self.deny))
            .field("allow", &s(&self.allow))
            .field("url_credentials", &self.url_credentials)
            .field("key_value_pairs", &self.key_value_pairs)
            .finish()
    }
}

impl Default for Redactor {
    /// The default rules ([`RedactionConfig::default`]).
    fn default() -> Self {
        RedactionConfig::default().compile()
    }
}

/// The outcome of [`Redactor::redact_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redacted<'a> {
    text: &'a str,
    changed: bool,
    truncated: bool,
}

impl<'a> Redacted<'a> {
    /// The text to record: the input itself when nothing was redacted, else the
    /// rewritten text in the scratch buffer.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Whether anything was replaced.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Whether the rewritten text did not fit the scratch buffer and was cut. What is
    /// kept is a prefix of the fully redacted text, so nothing denied is in it.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

/// A stretch of text to replace: `start..end`; scanning resumes at `resume`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    resume: usize,
}

impl Redactor {
    /// Whether this redactor can change anything (false when disabled).
    pub fn is_active(&self) -> bool {
        !self.deny.is_empty() || self.url_credentials
    }

    /// Whether a field named `key` is recorded as `"[REDACTED]"`.
    #[inline]
    pub fn redact_key(&self, key: &str) -> bool {
        let b = key.as_bytes();
        if self.deny.is_empty() {
            return false;
        }
        if b.is_empty() || b.len() > 16 {
            return self.deny_bytes(b);
        }
        let words = key_words(b);
        let slot = ((words.0 ^ words.1.rotate_left(17) ^ b.len() as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            >> 59) as usize
            % VERDICT_SLOTS;
        let tag = self.id << 16 | (b.len() as u64) << 8;
        VERDICTS
            .try_with(|cache| {
                let cell = &cache[slot];
                let e = cell.get();
                if e.tag >> 8 == tag >> 8 && e.words == words {
                    return e.tag & 1 != 0;
                }
                let deny = self.deny_bytes(b);
                cell.set(CachedVerdict {
                    words,
                    tag: tag | u64::from(deny),
                });
                deny
            })
            // During thread teardown the cache is gone: decide without it.
            .unwrap_or_else(|_| self.deny_bytes(b))
    }

    fn deny_bytes(&self, b: &[u8]) -> bool {
        // Most keys lack a letter of every entry: one pass and a few ANDs reject them.
        let km = letter_mask(b);
        if !self.masks.iter().fold(false, |a, &m| a | (m & !km == 0)) {
            return false;
        }
        let mut buf = [0u8; 64];
        let Some((n, starts, ends)) = compact_words(b, &mut buf) else {
            return self.deny_long(b);
        };
        let mut todo = starts;
        while todo != 0 {
            let i = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            let c = buf[i];
            if self.first[usize::from(c >> 6)] & (1 << (c & 63)) == 0 {
                continue;
            }
            // Entries are sorted: those starting with `c` are together.
            for entry in self.deny.iter().skip_while(|e| e[0] < c) {
                if entry[0] != c {
                    break;
                }
                let end = i + entry.len();
                if end <= n && ends & (1 << (end - 1)) != 0 && buf[i..end] == **entry {
                    return !self.allowed(b);
                }
            }
        }
        false
    }

    /// [`Redactor::deny_bytes`] for keys of more than 64 letters and digits.
    #[cold]
    fn deny_long(&self, b: &[u8]) -> bool {
        let mut words = Words { b, i: 0 };
        while let Some((s, e)) = words.next() {
            let c = b[s].to_ascii_lowercase();
            if self.first[usize::from(c >> 6)] & (1 << (c & 63)) == 0 {
                continue;
            }
            for entry in self.deny.iter() {
                if entry[0] == c && matches_from(b, (s, e), words.clone(), entry) {
                    return !self.allowed(b);
                }
            }
        }
        false
    }

    fn allowed(&self, key: &[u8]) -> bool {
        self.allow.iter().any(|a| {
            let mut k = key
                .iter()
                .filter(|&&c| !is_sep(c))
                .map(|c| c.to_ascii_lowercase());
            a.iter().all(|&x| k.next() == Some(x)) && k.next().is_none()
        })
    }

    /// Whether `text` holds something [`Redactor::redact_text`] would replace. Costs one
    /// scan for the bytes the rules start from (`@`, `=`) when `text` has none of them,
    /// and nothing when neither text rule is on.
    #[inline]
    pub fn text_needs_redaction(&self, text: &str) -> bool {
        let b = text.as_bytes();
        match &self.needles {
            Some(n) => has_either(b, n) && self.next_span(b, 0, 0).is_some(),
            None => false,
        }
    }

    /// Redacts URL credentials and denied `name=value` pairs in `text` (a string value or
    /// a message). Returns `text` itself when nothing needs replacing; otherwise writes
    /// the rewritten text into `scratch` and returns that (cut, and marked truncated, if
    /// it does not fit). Never allocates.
    pub fn redact_text<'a>(&self, text: &'a str, scratch: &'a mut [u8]) -> Redacted<'a> {
        let Some(first) = self.next_span(text.as_bytes(), 0, 0) else {
            return Redacted {
                text,
                changed: false,
                truncated: false,
            };
        };
        let (len, truncated) = self.rewrite(text, first, scratch);
        Redacted {
            // Every piece written is whole UTF-8 (see `rewrite`), so this never fails.
            text: std::str::from_utf8(&scratch[..len]).unwrap_or(REDACTED),
            changed: true,
            truncated,
        }
    }

    /// Whether recording `ev` as is would let a denied key or value through.
    #[inline(always)]
    pub fn needs_redaction(&self, ev: &Event<'_>) -> bool {
        if !self.url_credentials && self.deny.is_empty() {
            return false;
        }
        self.scan_event(ev)
    }

    /// [`Redactor::needs_redaction`] for an active redactor: out of line, so that it
    /// keeps its state in registers and a disabled redactor costs one test inline.
    #[inline(never)]
    fn scan_event(&self, ev: &Event<'_>) -> bool {
        if self.text_needs_redaction(ev.message) {
            return true;
        }
        ev.field_slice().iter().any(|(k, v)| {
            self.redact_key(k) || matches!(v, FieldValue::Str(s) if self.text_needs_redaction(s))
        })
    }

    /// Calls `f` with `ev` redacted: `ev` itself when nothing needs replacing (the fast
    /// path: the checks of [`Redactor::needs_redaction`] and nothing else), else a copy
    /// whose denied fields hold `"[REDACTED]"` and whose message and string values are
    /// rewritten by [`Redactor::redact_text`] into a stack buffer. Never allocates.
    /// This is the call the record path makes before encoding.
    #[inline]
    pub fn with_redacted<R>(&self, ev: &Event<'_>, f: impl FnOnce(&Event<'_>) -> R) -> R {
        if self.needs_redaction(ev) {
            self.with_rewritten(ev, f)
        } else {
            f(ev)
        }
    }

    #[cold]
    #[inline(never)]
    fn with_rewritten<R>(&self, ev: &Event<'_>, f: impl FnOnce(&Event<'_>) -> R) -> R {
        let mut scratch = [0u8; SCRATCH_BYTES];
        // Lengths first, then split the scratch: the pieces are handed out after the
        // last write into it.
        let mut lens = [None::<usize>; 1 + crate::model::event::MAX_FIELDS];
        {
            let mut rest: &mut [u8] = &mut scratch;
            let mut take = |text: &str| -> Option<usize> {
                let first = self.next_span(text.as_bytes(), 0, 0)?;
                let buf = std::mem::take(&mut rest);
                let cap = buf.len().min(PIECE_BYTES);
                let (len, _) = self.rewrite(text, first, &mut buf[..cap]);
                rest = &mut buf[len..];
                Some(len)
            };
            lens[0] = take(ev.message);
            for (i, (k, v)) in ev.field_slice().iter().enumerate() {
                if let FieldValue::Str(s) = v {
                    if !self.redact_key(k) {
                        lens[1 + i] = take(s);
                    }
                }
            }
        }
        let mut pieces = [""; 1 + crate::model::event::MAX_FIELDS];
        let mut at: &[u8] = &scratch;
        for (piece, len) in pieces.iter_mut().zip(lens) {
            if let Some(n) = len {
                let (head, tail) = at.split_at(n);
                *piece = std::str::from_utf8(head).unwrap_or(REDACTED);
                at = tail;
            }
        }
        let mut out: Event<'_> = *ev;
        if lens[0].is_some() {
            out.message = pieces[0];
        }
        out.nfields = 0;
        for (i, &(k, v)) in ev.field_slice().iter().enumerate() {
            let v = if self.redact_key(k) {
                FieldValue::Str(REDACTED)
            } else if lens[1 + i].is_some() {
                FieldValue::Str(pieces[1 + i])
            } else {
                v
            };
            out = out.field(k, v);
        }
        f(&out)
    }

    /// Writes `text` with every span replaced into `out`, starting from the span `first`;
    /// returns (bytes written, truncated). Copies of `text` start and end on char
    /// boundaries (every span edge is an ASCII byte or an end of `text`), and a copy cut
    /// for room is cut on one, so `out[..len]` is UTF-8.
    fn rewrite(&self, text: &str, first: Span, out: &mut [u8]) -> (usize, bool) {
        let mut w = 0;
        let whole = self.pieces(text, first, |piece| push(out, &mut w, piece));
        (w, !whole)
    }

    /// Passes `text` with every span replaced, piece by piece, to `emit`, starting from
    /// the span `first`, until `emit` returns false; returns whether every piece went.
    fn pieces(&self, text: &str, first: Span, mut emit: impl FnMut(&str) -> bool) -> bool {
        let b = text.as_bytes();
        let mut last = 0;
        let mut span = Some(first);
        while let Some(sp) = span {
            if !emit(&text[last..sp.start]) || !emit(REDACTED) {
                return false;
            }
            last = sp.end;
            span = self.next_span(b, sp.resume, last);
        }
        emit(&text[last..])
    }

    /// `text` with every secret replaced (the rules of [`Redactor::redact_text`]), into
    /// a new string when something was: what the read side calls on every string that
    /// leaves the process. `text` itself when nothing needs replacing.
    ///
    /// ```
    /// let r = flightring::Redactor::default();
    /// assert_eq!(r.redact_str("Authorization: Bearer eyJhbGciOi"), "Authorization: [REDACTED]");
    /// assert_eq!(r.redact_str(r#"{"password":"x","n":1}"#), r#"{"password":"[REDACTED]","n":1}"#);
    /// assert_eq!(r.redact_str("https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161"),
    ///            "https://mainnet.infura.io/v3/[REDACTED]");
    /// ```
    pub fn redact_str<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let b = text.as_bytes();
        let first = match &self.needles {
            Some(n) if has_either(b, n) => self.next_span(b, 0, 0),
            _ => None,
        };
        let Some(first) = first else {
            return std::borrow::Cow::Borrowed(text);
        };
        let mut out = String::with_capacity(text.len() + REDACTED.len());
        self.pieces(text, first, |piece| {
            out.push_str(piece);
            true
        });
        std::borrow::Cow::Owned(out)
    }

    /// Redacts an owned record in place: denied fields become `"[REDACTED]"`, the
    /// message, the peer and string values are rewritten by [`Redactor::redact_str`].
    pub fn redact_record(&self, r: &mut crate::model::EventRecord) {
        if !self.is_active() {
            return;
        }
        let fix = |s: &mut String| {
            if let std::borrow::Cow::Owned(o) = self.redact_str(s) {
                *s = o;
            }
        };
        fix(&mut r.message);
        if let Some(p) = &mut r.peer {
            fix(p);
        }
        for (k, v) in r.metadata.0.iter_mut() {
            if self.redact_key(k) {
                *v = crate::model::Value::Str(REDACTED.to_owned());
            } else if let crate::model::Value::Str(s) = v {
                fix(s);
            }
        }
    }

    /// The first span to replace at or after `pos`, starting no earlier than `floor`.
    #[inline]
    fn next_span(&self, b: &[u8], mut pos: usize, floor: usize) -> Option<Span> {
        while pos < b.len() {
            let hay = &b[pos..];
            let off = match (self.url_credentials, self.key_value_pairs) {
                (_, true) => memchr2(b':', b'=', hay),
                (true, false) => memchr(b':', hay),
                (false, false) => None,
            }?;
            let p = pos + off;
            let found = if b[p..].starts_with(b"://") {
                if self.url_credentials {
                    url_span(b, p, floor)
                } else {
                    None
                }
            } else if self.key_value_pairs {
                self.pair_value(b, p, floor)
            } else {
                None
            };
            if found.is_some() {
                return found;
            }
            pos = p + 1;
        }
        None
    }

    /// The value of a pair whose separator (`=` or `:`) is at `p`, if its name is
    /// denied: `name=value`, `name: value`, `"name":"value"` (JSON), and
    /// `Authorization: Bearer <token>` (the scheme and the token both go). In text the
    /// bare name `key` is denied too (`?key=…`), though a field named `key` is not.
    #[cold]
    fn pair_value(&self, b: &[u8], p: usize, floor: usize) -> Option<Span> {
        let colon = b[p] == b':';
        // A JSON key: `"name":`.
        let quoted = colon && p >= 2 && b[p - 1] == b'"';
        let name_end = if quoted { p - 1 } else { p };
        let mut s = name_end;
        while s > floor && is_name_byte(b[s - 1]) {
            s -= 1;
        }
        if s == name_end || (quoted && (s == 0 || b[s - 1] != b'"')) {
            return None;
        }
        let name = &b[s..name_end];
        if !(self.deny_bytes(name) || name.eq_ignore_ascii_case(b"key")) {
            return None;
        }
        let mut v = p + 1;
        if colon {
            while v < b.len() && b[v] == b' ' {
                v += 1;
            }
        }
        let (start, mut end) = match b.get(v) {
            None => return None,
            Some(&q @ (b'"' | b'\'')) => {
                let end = memchr(q, &b[v + 1..]).map_or(b.len(), |o| v + 1 + o);
                (v + 1, end)
            }
            Some(_) => (v, value_end(b, v, colon)),
        };
        // `Bearer <token>`, `Basic <credentials>`: the credential is the next word.
        let scheme = &b[start..end];
        if [&b"bearer"[..], b"basic", b"token", b"digest"]
            .iter()
            .any(|w| scheme.eq_ignore_ascii_case(w))
        {
            let mut t = end;
            while t < b.len() && b[t] == b' ' {
                t += 1;
            }
            if t < b.len() && !ends_value(b[t]) {
                end = value_end(b, t, colon);
            }
        }
        (start < end).then_some(Span {
            start,
            end,
            resume: end,
        })
    }
}

/// Where an unquoted value starting at `v` ends: white space, `&`, a quote, and for a
/// `name: value` pair also `,` `;` `}` (JSON-ish text).
fn value_end(b: &[u8], v: usize, colon: bool) -> usize {
    let mut e = v;
    while e < b.len() && !ends_value(b[e]) && !(colon && matches!(b[e], b',' | b';' | b'}')) {
        e += 1;
    }
    e
}

/// The first secret of the URL whose `://` is at `p` that starts at or after `floor`:
/// its user-info (`https://[REDACTED]@host`), then a key in its path (see
/// [`path_key`]). The span's `resume` goes back to `p` after the user-info, so the
/// same URL's path is looked at next.
fn url_span(b: &[u8], p: usize, floor: usize) -> Option<Span> {
    let host = p + 3;
    let mut end = host;
    let mut last_at = None;
    while end < b.len() && !ends_authority(b[end]) {
        if b[end] == b'@' {
            last_at = Some(end);
        }
        end += 1;
    }
    if let Some(at) = last_at {
        // Up to the authority's last `@`: a password may hold one.
        if host >= floor && at > host {
            return Some(Span {
                start: host,
                end: at,
                resume: p,
            });
        }
    }
    path_key(b, end, floor)
}

/// An API key in a URL path that starts at `at` (a `/`): a segment after a version
/// segment (`/v3/<key>` of Infura, `/v2/<key>` of Alchemy) of at least 16 letters,
/// digits, `-` or `_`, or any segment of at least 32 such bytes with both letters and
/// digits (QuickNode's `/<token>/`), except a `0x…` hash.
fn path_key(b: &[u8], mut at: usize, floor: usize) -> Option<Span> {
    let mut after_version = false;
    while at < b.len() && b[at] == b'/' {
        let s = at + 1;
        let mut e = s;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || matches!(b[e], b'-' | b'_')) {
            e += 1;
        }
        let seg = &b[s..e];
        let keyish = seg.len() >= 32
            && seg.iter().any(u8::is_ascii_digit)
            && seg.iter().any(u8::is_ascii_alphabetic)
            && !seg.starts_with(b"0x");
        if s >= floor && ((after_version && seg.len() >= 16) || keyish) {
            return Some(Span {
                start: s,
                end: e,
                resume: e,
            });
        }
        after_version =
            seg.len() >= 2 && (seg[0] | 0x20) == b'v' && seg[1..].iter().all(u8::is_ascii_digit);
        at = e;
    }
    None
}

use crate::text::push_cut as push;

#[inline]
fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

#[inline]
fn ends_value(c: u8) -> bool {
    c.is_ascii_whitespace() || c.is_ascii_control() || matches!(c, b'&' | b'"' | b'\'')
}

#[inline]
fn ends_authority(c: u8) -> bool {
    c.is_ascii_whitespace()
        || c.is_ascii_control()
        || matches!(c, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(k: &str) -> Vec<&str> {
        Words {
            b: k.as_bytes(),
            i: 0,
        }
        .map(|(s, e)| &k[s..e])
        .collect()
    }

    #[test]
    fn splits_words() {
        assert_eq!(words("api_key"), ["api", "key"]);
        assert_eq!(words("APIKey"), ["API", "Key"]);
        assert_eq!(words("xApiKEY"), ["x", "Api", "KEY"]);
        assert_eq!(words("--token2--"), ["token", "2"]);
        assert_eq!(words("v3Key"), ["v", "3", "Key"]);
        assert_eq!(words(""), Vec::<&str>::new());
        assert_eq!(words("é_x"), ["é", "x"]);
    }

    #[test]
    fn scan_finds_every_position() {
        for len in 0..100 {
            let mut b = vec![b'x'; len];
            let (both, eq) = (Needles::new(b'@', b'='), Needles::new(b'=', b'='));
            assert!(!has_either(&b, &both), "{len}");
            for at in 0..len {
                for c in [b'@', b'=', b'?', 0x80 | b'@', 0x80 | b'=', 0] {
                    b[at] = c;
                    assert_eq!(
                        has_either(&b, &both),
                        c == b'@' || c == b'=',
                        "{len} {at} {c}"
                    );
                    assert_eq!(has_either(&b, &eq), c == b'=', "{len} {at} {c}");
                    b[at] = b'x';
                }
            }
        }
    }

    #[test]
    fn one_pass_split_agrees_with_words() {
        for k in [
            "api_key",
            "APIKey",
            "xApiKEY",
            "--token2--",
            "v3Key",
            "",
            "é_x",
            "a",
            "_a_",
            "aB1cD",
            "ÀbC",
        ] {
            let mut buf = [0u8; 64];
            let (n, starts, ends) = compact_words(k.as_bytes(), &mut buf).unwrap();
            let mut got = Vec::new();
            let mut at = 0;
            for i in 0..n {
                if starts & (1 << i) != 0 {
                    at = i;
                }
                if ends & (1 << i) != 0 {
                    got.push(String::from_utf8_lossy(&buf[at..=i]).into_owned());
                }
            }
            let want: Vec<String> = words(k).iter().map(|w| w.to_ascii_lowercase()).collect();
            assert_eq!(got, want, "{k}");
        }
        let long = "a_".repeat(64);
        assert!(compact_words(long.as_bytes(), &mut [0u8; 64]).is_some());
        let long = "a_".repeat(65);
        assert!(compact_words(long.as_bytes(), &mut [0u8; 64]).is_none());
    }
}
