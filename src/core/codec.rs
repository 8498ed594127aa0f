//! Packs an event into a slot's payload bytes and reads it back. Pure functions with no
//! allocation: fuzzed (`fuzz/fuzz_targets/codec.rs`) and property-tested.
//!
//! # Payload layout (little-endian)
//!
//! ```text
//! offset  size  field
//!      0     8  raw timestamp (clock ticks; converted to wall time by readers)
//!      8     2  kind id (u16::MAX: the kind name is stored inline, see below)
//!     10     1  severity, 0 (DEBUG) ..= 4 (CRITICAL)
//!     11     1  flags: bit 0 truncated, bit 1 kind inline, bit 2 has peer
//!     12     1  peer length in bytes
//!     13     1  number of fields, 0..=8
//!     14     2  message length in bytes
//!     16     …  [kind length u8, kind bytes]   only with flag bit 1
//!               peer bytes, message bytes,
//!               fields, each:
//!                 1 byte   tag << 5 | key length (31: a length byte follows)
//!                 key bytes
//!                 value    tag 0 str:   length (1 byte, or 255 then u16), bytes
//!                          tag 1 i64:   zigzag LEB128 varint
//!                          tag 2 u64:   LEB128 varint
//!                          tag 3 f64:   8 bytes
//!                          tag 4 false, tag 5 true: nothing
//! ```
//!
//! A typical event — a 20-byte peer id, a 40-byte message, an address string and a
//! size — takes about 110 bytes: two 64-byte cells of ring (56 payload bytes each).
//! An event takes `ceil(len / 56)` cells, up to `max_event_bytes`.
//!
//! # Truncation
//!
//! When an event is larger than `max_event_bytes`, the kind (inline, at most 64 bytes) and the peer (at most
//! 255 bytes) are kept first; the message then gets what is left after the fields, but
//! never less than half of the space left; fields fill the rest in order (whole, except
//! that the last string value may be cut). Strings are cut on UTF-8 character
//! boundaries, and the event is flagged truncated.

use crate::core::interner::NO_ID;
use crate::model::event::{Event, FieldValue, MAX_FIELDS};
use crate::model::severity::Severity;

mod words;
pub(crate) use words::{encode_cut_to_buf, encode_into_words, store_words, MAX_PAYLOAD_BYTES};

/// Bytes before the variable part: timestamp and header.
pub(crate) const HEADER_BYTES: usize = 16;
const FLAG_TRUNCATED: u8 = 1;
const FLAG_KIND_INLINE: u8 = 2;
const FLAG_PEER: u8 = 4;
const MAX_INLINE_KIND: usize = 64;

const TAG_STR: u8 = 0;
const TAG_I64: u8 = 1;
const TAG_U64: u8 = 2;
const TAG_F64: u8 = 3;
const TAG_FALSE: u8 = 4;
const TAG_TRUE: u8 = 5;
/// Key lengths from this up take a length byte after the tag byte.
const LONG_KEY: usize = 31;

/// What [`encode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoded {
    /// Bytes of `out` written, `HEADER_BYTES..=out.len()`.
    pub len: usize,
    /// Whether anything was cut or dropped.
    pub truncated: bool,
}

use crate::text::cut;

use crate::varint::{len as varint_len, zigzag};

#[inline]
fn key_size(key: &str) -> usize {
    key.len() + if key.len() >= LONG_KEY { 2 } else { 1 }
}

#[inline]
fn str_size(n: usize) -> usize {
    n + if n < 255 { 1 } else { 3 }
}

/// Bytes field `(key, v)` takes (keys at most 255 bytes, strings at most 65535).
#[inline]
fn field_size(key: &str, v: &FieldValue<'_>) -> usize {
    key_size(key)
        + match v {
            FieldValue::Str(s) => str_size(s.len()),
            FieldValue::I64(v) => varint_len(zigzag(*v)),
            FieldValue::U64(v) => varint_len(*v),
            FieldValue::F64(_) => 8,
            FieldValue::Bool(_) => 0,
        }
}

/// The tag of a field value.
#[inline(always)]
fn tag_of(value: &FieldValue<'_>) -> u8 {
    match value {
        FieldValue::Str(_) => TAG_STR,
        FieldValue::I64(_) => TAG_I64,
        FieldValue::U64(_) => TAG_U64,
        FieldValue::F64(_) => TAG_F64,
        FieldValue::Bool(false) => TAG_FALSE,
        FieldValue::Bool(true) => TAG_TRUE,
    }
}

/// Where encoded bytes go: a byte slice ([`Writer`], for the truncating encoder and
/// for tests), or straight into a slot's words ([`words::WordWriter`], the record
/// path).
pub(crate) trait Put {
    fn byte(&mut self, b: u8);
    fn bytes(&mut self, b: &[u8]);

    /// Eight bytes, little-endian.
    #[inline(always)]
    fn word(&mut self, w: u64) {
        self.bytes(&w.to_le_bytes());
    }

    #[inline]
    fn varint(&mut self, v: u64) {
        crate::varint::write(v, |b| self.byte(b));
    }

    /// Writes one field; the caller checked it fits (`field_size`).
    #[inline]
    fn field(&mut self, key: &str, value: FieldValue<'_>) {
        let tag = tag_of(&value);
        if key.len() >= LONG_KEY {
            self.byte(tag << 5 | LONG_KEY as u8);
            self.byte(key.len() as u8);
        } else {
            self.byte(tag << 5 | key.len() as u8);
        }
        self.bytes(key.as_bytes());
        match value {
            FieldValue::Str(s) => {
                if s.len() < 255 {
                    self.byte(s.len() as u8);
                } else {
                    self.byte(255);
                    self.bytes(&(s.len() as u16).to_le_bytes());
                }
                self.bytes(s.as_bytes());
            }
            FieldValue::I64(v) => self.varint(zigzag(v)),
            FieldValue::U64(v) => self.varint(v),
            FieldValue::F64(v) => self.bytes(&v.to_bits().to_le_bytes()),
            FieldValue::Bool(_) => {}
        }
    }
}

/// Writes into a byte slice.
struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Put for Writer<'_> {
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.out[self.at] = b;
        self.at += 1;
    }
}

#[inline(always)]
fn load8(s: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[..8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn load4(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// Up to 7 bytes as a little-endian word, without a byte loop: two overlapping 4-byte
/// loads, or three byte loads for fewer than 4. Never reads outside `s`.
#[inline(always)]
pub(crate) fn load_partial(s: &[u8]) -> u64 {
    let n = s.len();
    if n >= 4 {
        load4(s, 0) | (load4(s, n - 4) << (8 * (n - 4)))
    } else if n > 0 {
        u64::from(s[0])
            | (u64::from(s[n / 2]) << (8 * (n / 2)))
            | (u64::from(s[n - 1]) << (8 * (n - 1)))
    } else {
        0
    }
}

/// Encodes `ev` with kind id `kind_id` ([`NO_ID`] to store the kind name inline) and
/// raw timestamp `raw_ts` into `out`, which must be at least [`HEADER_BYTES`] + 8 long.
/// Never panics for such an `out`; never allocates.
#[inline]
pub(crate) fn encode(ev: &Event<'_>, kind_id: u16, raw_ts: u64, out: &mut [u8]) -> Encoded {
    match encode_whole(ev, kind_id, raw_ts, out) {
        Some(len) => Encoded {
            len,
            truncated: false,
        },
        None => encode_cut(ev, kind_id, raw_ts, out),
    }
}

/// The common case: an event with an interned kind that fits whole. Writes it and
/// returns the bytes used, or `None` (writing nothing) when it needs [`encode_cut`].
#[inline]
fn encode_whole(ev: &Event<'_>, kind_id: u16, raw_ts: u64, out: &mut [u8]) -> Option<usize> {
    let need = plan_whole(ev, kind_id)?;
    let out = out.get_mut(..need)?;
    write_whole(ev, kind_id, raw_ts, &mut Writer { out, at: 0 });
    Some(need)
}

/// The bytes `ev` takes if it can be encoded whole (interned kind, no field dropped,
/// every length within its field's range), or `None`.
#[inline]
pub(crate) fn plan_whole(ev: &Event<'_>, kind_id: u16) -> Option<usize> {
    if kind_id == NO_ID || ev.fields_dropped {
        return None;
    }
    let peer = ev.peer.unwrap_or("").len();
    let msg = ev.message.len();
    if peer > 255 || msg > usize::from(u16::MAX) {
        return None;
    }
    let mut need = HEADER_BYTES + peer + msg;
    for (k, v) in ev.field_slice() {
        if k.len() > 255 || matches!(v, FieldValue::Str(s) if s.len() > usize::from(u16::MAX)) {
            return None;
        }
        need += field_size(k, v);
    }
    Some(need)
}

/// Writes an event [`plan_whole`] accepted.
#[inline]
pub(crate) fn write_whole<P: Put>(ev: &Event<'_>, kind_id: u16, raw_ts: u64, p: &mut P) {
    let peer = ev.peer.unwrap_or("").as_bytes();
    let msg = ev.message.as_bytes();
    let fields = ev.field_slice();
    let flags = if ev.peer.is_some() { FLAG_PEER } else { 0 };
    let header = u64::from(kind_id)
        | u64::from(ev.severity as u8) << 16
        | u64::from(flags) << 24
        | (peer.len() as u64) << 32
        | (fields.len() as u64) << 40
        | (msg.len() as u64) << 48;
    p.word(raw_ts);
    p.word(header);
    p.bytes(peer);
    p.bytes(msg);
    for &(key, value) in fields {
        p.field(key, value);
    }
}

/// Encodes an event that does not fit whole (or whose kind is stored inline),
/// truncating as the module docs describe.
fn encode_cut(ev: &Event<'_>, kind_id: u16, raw_ts: u64, out: &mut [u8]) -> Encoded {
    debug_assert!(out.len() >= HEADER_BYTES + 8);
    let mut truncated = ev.fields_dropped;
    let mut flags = 0u8;
    let mut avail = out.len() - HEADER_BYTES;
    let mut w = Writer {
        out,
        at: HEADER_BYTES,
    };

    if kind_id == NO_ID {
        flags |= FLAG_KIND_INLINE;
        let name = ev.kind.name();
        let k = cut(name, MAX_INLINE_KIND.min(avail - 1));
        truncated |= k.len() < name.len();
        w.bytes(&[k.len() as u8]);
        w.bytes(k.as_bytes());
        avail -= 1 + k.len();
    }
    let peer = match ev.peer {
        Some(p) => {
            flags |= FLAG_PEER;
            let c = cut(p, 255.min(avail));
            truncated |= c.len() < p.len();
            c
        }
        None => "",
    };
    w.bytes(peer.as_bytes());
    avail -= peer.len();

    let fields = ev.field_slice();
    let fields_size: usize = fields.iter().map(|(k, v)| field_size(k, v)).sum();
    let message = ev.message;
    let msg_budget = if message.len() + fields_size <= avail {
        message.len()
    } else {
        message
            .len()
            .min(avail.saturating_sub(fields_size).max(avail / 2))
            .min(u16::MAX as usize)
    };
    // The fields take the space the message budget leaves; the message (which comes
    // first in the byte stream) then gets its budget plus whatever the fields left.
    let mut field_space = avail - msg_budget;
    let mut kept: [(&str, FieldValue<'_>); MAX_FIELDS] =
        [("", FieldValue::Bool(false)); MAX_FIELDS];
    let mut nkept = 0usize;
    for &(full_key, value) in fields {
        let key = cut(full_key, 255);
        truncated |= key.len() < full_key.len();
        let need = field_size(key, &value);
        if need <= field_space {
            kept[nkept] = (key, value);
            nkept += 1;
            field_space -= need;
        } else {
            truncated = true;
            if let FieldValue::Str(s) = value {
                let fixed = key_size(key) + 1;
                if field_space > fixed {
                    // A cut string under 255 bytes takes a one-byte length.
                    let c = cut(s, (field_space - fixed).min(254));
                    kept[nkept] = (key, FieldValue::Str(c));
                    nkept += 1;
                    field_space -= fixed + c.len();
                }
            }
        }
    }
    // The message takes whatever the fields left.
    let msg = cut(message, (msg_budget + field_space).min(u16::MAX as usize));
    truncated |= msg.len() < message.len();
    w.bytes(msg.as_bytes());
    for &(key, value) in &kept[..nkept] {
        w.field(key, value);
    }
    if truncated {
        flags |= FLAG_TRUNCATED;
    }
    let len = w.at;
    let out = w.out;
    out[0..8].copy_from_slice(&raw_ts.to_le_bytes());
    out[8..10].copy_from_slice(&kind_id.to_le_bytes());
    out[10] = ev.severity as u8;
    out[11] = flags;
    out[12] = peer.len() as u8;
    out[13] = nkept as u8;
    out[14..16].copy_from_slice(&(msg.len() as u16).to_le_bytes());
    Encoded { len, truncated }
}

/// Why bytes are not a valid payload (only possible for bytes the encoder did not write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A length points past the end of the payload.
    #[error("payload too short for the lengths in its header")]
    Short,
    /// The severity byte is not 0..=4.
    #[error("invalid severity byte {0}")]
    Severity(u8),
    /// A field tag is unknown.
    #[error("invalid field tag {0}")]
    Tag(u8),
    /// More than the allowed number of fields.
    #[error("too many fields: {0}")]
    Fields(u8),
    /// A varint runs past 64 bits.
    #[error("varint longer than 64 bits")]
    Varint,
    /// A string is not UTF-8.
    #[error("string is not valid UTF-8")]
    Utf8,
}

/// The fixed-position part of a payload, read without parsing the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub raw_ts: u64,
    pub kind_id: u16,
    pub severity: u8,
    pub flags: u8,
    pub peer_len: u8,
    pub nfields: u8,
    pub msg_len: u16,
}

impl Header {
    #[inline]
    pub(crate) fn read(b: &[u8]) -> Option<Header> {
        let h = b.get(..HEADER_BYTES)?;
        Some(Header {
            raw_ts: u64::from_le_bytes(h[0..8].try_into().ok()?),
            kind_id: u16::from_le_bytes([h[8], h[9]]),
            severity: h[10],
            flags: h[11],
            peer_len: h[12],
            nfields: h[13],
            msg_len: u16::from_le_bytes([h[14], h[15]]),
        })
    }

    /// The header from the first two payload words (timestamp, header word).
    #[inline]
    pub(crate) fn from_words(w0: u64, w1: u64) -> Header {
        Header {
            raw_ts: w0,
            kind_id: w1 as u16,
            severity: (w1 >> 16) as u8,
            flags: (w1 >> 24) as u8,
            peer_len: (w1 >> 32) as u8,
            nfields: (w1 >> 40) as u8,
            msg_len: (w1 >> 48) as u16,
        }
    }

    pub(crate) fn truncated(&self) -> bool {
        self.flags & FLAG_TRUNCATED != 0
    }
}

/// A decoded payload, borrowing its strings from the payload bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded<'a> {
    pub header: Header,
    pub severity: Severity,
    /// The kind name, when stored inline.
    pub kind_inline: Option<&'a str>,
    pub peer: Option<&'a str>,
    pub message: &'a str,
    pub fields: [(&'a str, FieldValue<'a>); MAX_FIELDS],
    pub nfields: usize,
}

impl<'a> Decoded<'a> {
    pub(crate) fn fields(&self) -> &[(&'a str, FieldValue<'a>)] {
        &self.fields[..self.nfields]
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let s = self.b.get(self.at..self.at + n).ok_or(CodecError::Short)?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn str(&mut self, n: usize) -> Result<&'a str, CodecError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| CodecError::Utf8)
    }
    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Varint)
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }
}

/// The byte range of the peer id within a payload (for filters that compare bytes
/// without decoding), or `None` when the event has no peer or the payload is malformed.
#[inline]
pub(crate) fn peer_bytes<'a>(b: &'a [u8], h: &Header) -> Option<&'a [u8]> {
    if h.flags & FLAG_PEER == 0 {
        return None;
    }
    let mut at = HEADER_BYTES;
    if h.flags & FLAG_KIND_INLINE != 0 {
        at += 1 + usize::from(*b.get(at)?);
    }
    b.get(at..at + usize::from(h.peer_len))
}

/// Decodes a payload. Never panics, whatever the bytes.
pub(crate) fn decode(b: &[u8]) -> Result<Decoded<'_>, CodecError> {
    let header = Header::read(b).ok_or(CodecError::Short)?;
    let severity =
        Severity::from_index(header.severity).ok_or(CodecError::Severity(header.severity))?;
    if usize::from(header.nfields) > MAX_FIELDS {
        return Err(CodecError::Fields(header.nfields));
    }
    let mut r = Reader {
        b,
        at: HEADER_BYTES,
    };
    let kind_inline = if header.flags & FLAG_KIND_INLINE != 0 {
        let n = r.u8()?;
        Some(r.str(usize::from(n))?)
    } else {
        None
    };
    let peer_str = r.str(usize::from(header.peer_len))?;
    let peer = (header.flags & FLAG_PEER != 0).then_some(peer_str);
    let message = r.str(usize::from(header.msg_len))?;
    let mut fields = [("", FieldValue::Bool(false)); MAX_FIELDS];
    for slot in fields.iter_mut().take(usize::from(header.nfields)) {
        let first = r.u8()?;
        let (tag, short) = (first >> 5, usize::from(first & 31));
        let klen = if short == LONG_KEY {
            usize::from(r.u8()?)
        } else {
            short
        };
        let key = r.str(klen)?;
        let value = match tag {
            TAG_STR => {
                let n = match r.u8()? {
                    255 => usize::from(u16::from_le_bytes([r.u8()?, r.u8()?])),
                    n => usize::from(n),
                };
                FieldValue::Str(r.str(n)?)
            }
            TAG_I64 => {
                let z = r.varint()?;
                FieldValue::I64(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            TAG_U64 => FieldValue::U64(r.varint()?),
            TAG_F64 => FieldValue::F64(f64::from_bits(r.u64()?)),
            TAG_FALSE => FieldValue::Bool(false),
            TAG_TRUE => FieldValue::Bool(true),
            t => return Err(CodecError::Tag(t)),
        };
        *slot = (key, value);
    }
    Ok(Decoded {
        header,
        severity,
        kind_inline,
        peer,
        message,
        fields,
        nfields: usize::from(header.nfields),
    })
}

/// Copies payload words into `out` as the little-endian bytes the decoder reads
/// (`out` is at least `8 * words.len()` long).
pub(crate) fn words_to_bytes(words: &[u64], out: &mut [u8]) {
    for (w, b) in words.iter().zip(out.chunks_exact_mut(8)) {
        b.copy_from_slice(&w.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ev: &Event<'_>, kind_id: u16, size: usize) -> (Encoded, Vec<u8>) {
        let mut buf = vec![0u8; size];
        let e = encode(ev, kind_id, 42, &mut buf);
        (e, buf)
    }

    #[test]
    fn typical_event_fits_a_128_byte_slot_whole() {
        let ev = Event::new("peer_connected", Severity::Info)
            .peer("12D3KooWAbCdEfGhIjKl")
            .message("connected to peer over tcp after handshake")
            .field("addr", "10.0.0.1:8333")
            .field("size", 1024u64);
        let (e, buf) = round_trip(&ev, 3, 120);
        assert!(!e.truncated, "{e:?}");
        assert!(e.len <= 112, "typical events leave room: {}", e.len);
        let d = decode(&buf).unwrap();
        assert_eq!(d.header.raw_ts, 42);
        assert_eq!(d.header.kind_id, 3);
        assert_eq!(d.severity, Severity::Info);
        assert_eq!(d.peer, Some("12D3KooWAbCdEfGhIjKl"));
        assert_eq!(d.message, "connected to peer over tcp after handshake");
        assert_eq!(
            d.fields(),
            &[
                ("addr", FieldValue::Str("10.0.0.1:8333")),
                ("size", FieldValue::U64(1024))
            ]
        );
        assert_eq!(
            peer_bytes(&buf, &d.header),
            Some(&b"12D3KooWAbCdEfGhIjKl"[..])
        );
    }

    #[test]
    fn every_value_type_round_trips() {
        let ev = Event::new("k", Severity::Critical)
            .field("s", "x")
            .field("i", -5i64)
            .field("u", u64::MAX)
            .field("f", 1.5f64)
            .field("b", true);
        let (e, buf) = round_trip(&ev, NO_ID, 120);
        assert!(!e.truncated);
        let d = decode(&buf).unwrap();
        assert_eq!(d.kind_inline, Some("k"));
        assert_eq!(d.peer, None);
        assert_eq!(d.nfields, 5);
        assert_eq!(d.fields[1].1, FieldValue::I64(-5));
        assert_eq!(d.fields[2].1, FieldValue::U64(u64::MAX));
        assert_eq!(d.fields[3].1, FieldValue::F64(1.5));
        assert_eq!(d.fields[4].1, FieldValue::Bool(true));
    }

    #[test]
    fn oversized_event_is_cut_on_char_boundaries_and_flagged() {
        let long = "é".repeat(200);
        let ev = Event::new("k", Severity::Error)
            .peer(&long)
            .message(&long)
            .field("key", long.as_str());
        for size in [24usize, 56, 120, 248] {
            let (e, buf) = round_trip(&ev, 1, size);
            assert!(e.truncated);
            assert!(e.len <= size);
            let d = decode(&buf).unwrap();
            assert!(d.header.truncated());
            assert!(long.starts_with(d.peer.unwrap()));
            assert!(long.starts_with(d.message));
        }
    }

    #[test]
    fn message_keeps_at_least_half_the_space() {
        let msg = "m".repeat(500);
        let big = "v".repeat(500);
        let ev = Event::new("k", Severity::Info)
            .message(&msg)
            .field("a", big.as_str());
        let (_, buf) = round_trip(&ev, 1, 120);
        let d = decode(&buf).unwrap();
        assert!(
            d.message.len() >= (120 - HEADER_BYTES) / 2,
            "{}",
            d.message.len()
        );
    }

    #[test]
    fn more_than_max_fields_are_dropped_and_flagged() {
        let mut ev = Event::new("k", Severity::Info);
        for _ in 0..10 {
            ev = ev.field("x", 1u64);
        }
        let (e, buf) = round_trip(&ev, 1, 248);
        assert!(e.truncated);
        assert_eq!(decode(&buf).unwrap().nfields, MAX_FIELDS);
    }

    #[test]
    fn long_keys_extreme_numbers_and_long_strings_round_trip() {
        let key = "k".repeat(200);
        let val = "v".repeat(300);
        let ev = Event::new("k", Severity::Info)
            .field(&key, i64::MIN)
            .field("max", u64::MAX)
            .field("neg", -1i64)
            .field("zero", 0u64)
            .field("nan", f64::NEG_INFINITY)
            .field("s", val.as_str())
            .field("f", false);
        let (e, buf) = round_trip(&ev, 1, 1016);
        assert!(!e.truncated);
        let d = decode(&buf).unwrap();
        assert_eq!(d.fields()[0], (key.as_str(), FieldValue::I64(i64::MIN)));
        assert_eq!(d.fields()[1].1, FieldValue::U64(u64::MAX));
        assert_eq!(d.fields()[2].1, FieldValue::I64(-1));
        assert_eq!(d.fields()[3].1, FieldValue::U64(0));
        assert_eq!(d.fields()[4].1, FieldValue::F64(f64::NEG_INFINITY));
        assert_eq!(d.fields()[5].1, FieldValue::Str(&val));
        assert_eq!(d.fields()[6].1, FieldValue::Bool(false));
        assert_eq!(
            e.len,
            HEADER_BYTES
                + ev.field_slice()
                    .iter()
                    .map(|(k, v)| field_size(k, v))
                    .sum::<usize>()
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(decode(&[0u8; 3]).unwrap_err(), CodecError::Short);
        let mut b = [0u8; 64];
        b[10] = 9;
        assert_eq!(decode(&b).unwrap_err(), CodecError::Severity(9));
        b[10] = 0;
        b[14] = 200;
        assert_eq!(decode(&b).unwrap_err(), CodecError::Short);
    }
}
