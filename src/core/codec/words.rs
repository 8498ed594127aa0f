//! The record path's encoder: an event packed straight into a claimed slot's atomic
//! payload words, in one pass, with no buffer ([`encode_into_words`]). It produces the
//! byte layout of [`super`] exactly (property-tested against [`super::encode`]).

use super::{
    encode, load8, load_partial, write_whole, zigzag, Put, LONG_KEY, TAG_F64, TAG_FALSE, TAG_I64,
    TAG_STR, TAG_TRUE, TAG_U64,
};
use crate::core::interner::NO_ID;
use crate::model::event::{Event, FieldValue};
use crate::sync::{AtomicU64, Ordering};

/// The LEB128 bytes of `v < 2^56` as a little-endian word, and their count (`1..=8`).
#[inline(always)]
fn varint_word(mut v: u64) -> (u64, u32) {
    debug_assert!(v < 1 << 56);
    // Sizes, counts and heights mostly take one or two bytes: no loop for those.
    if v < 1 << 7 {
        return (v, 1);
    }
    if v < 1 << 14 {
        return (v & 0x7f | 0x80 | (v >> 7) << 8, 2);
    }
    let mut w = v & 0x7f;
    let mut n = 1;
    v >>= 7;
    while v != 0 {
        w |= (v & 0x7f) << (8 * n);
        // The byte before this one gets its continuation bit.
        w |= 0x80 << (8 * (n - 1));
        n += 1;
        v >>= 7;
    }
    (w, n)
}

/// Packs bytes into little-endian words and stores them, in order, into `out` (a
/// claimed slot's payload words): the record path writes an event straight into its
/// slot this way, with no intermediate buffer. Produces exactly the words of the byte
/// layout (tested against [`Writer`]). Words past the end of `out` are not stored
/// (they are counted, so the caller can tell: see [`WordWriter::finish`]).
///
/// Small pieces (a field's tag and key, a length, a varint) are gathered in a register
/// (`acc`) and appended whole with a shift. A string of 8 bytes or more is copied with
/// unaligned 8-byte loads: the first completes the pending word (its extra bytes
/// shifted out), the middle ones are stored as they are, and the last partial word is
/// the string's final 8 bytes shifted down. No byte is handled on its own, and no load
/// reads outside the string.
pub(crate) struct WordWriter<'o> {
    out: &'o [AtomicU64],
    /// Index in `out` of the next word to store, `0..`.
    at: usize,
    /// Bytes gathered for the next word, in its low `bits / 8` bytes; the rest zero.
    acc: u64,
    /// Bits of `acc` in use: `0, 8, .., 56`.
    bits: u32,
}

impl<'o> WordWriter<'o> {
    #[inline(always)]
    pub(crate) fn new(out: &'o [AtomicU64]) -> Self {
        WordWriter {
            out,
            at: 0,
            acc: 0,
            bits: 0,
        }
    }

    /// Stores the last, partial word (zero-padded); returns the number of words the
    /// event took (more than `out.len()` if it did not fit: the rest were not stored).
    #[inline(always)]
    pub(crate) fn finish(mut self) -> usize {
        if self.bits > 0 {
            self.emit(self.acc);
        }
        self.at
    }

    /// Marks the event as not encodable whole (a length beyond its field's range):
    /// nothing more is stored, and [`WordWriter::finish`] reports more words than fit.
    #[cold]
    fn poison(&mut self) {
        self.at = usize::MAX / 2;
    }

    #[inline(always)]
    fn emit(&mut self, w: u64) {
        if let Some(a) = self.out.get(self.at) {
            a.store(w, Ordering::Relaxed);
        }
        self.at += 1;
    }

    /// Appends the low `n` bytes of `v` (`n` in `0..=8`; the bytes of `v` above them
    /// zero).
    #[inline(always)]
    fn put(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 8 && (n == 8 || v >> (8 * n) == 0));
        let lo = self.acc | v << self.bits;
        let bits = self.bits + 8 * n;
        if bits >= 64 {
            self.emit(lo);
            // The bytes that did not fit, `v >> (64 - bits)`, without a shift by 64
            // when `self.bits` is 0.
            self.acc = (v >> 1) >> (63 - self.bits);
            self.bits = bits - 64;
        } else {
            self.acc = lo;
            self.bits = bits;
        }
    }

    /// Appends `s`.
    #[inline(always)]
    fn put_bytes(&mut self, s: &[u8]) {
        if s.len() < 8 {
            self.put(load_partial(s), s.len() as u32);
            return;
        }
        // The first 8 bytes complete the pending word; `take` of them fit.
        let take = 8 - (self.bits / 8) as usize;
        let head = self.acc | load8(s) << self.bits;
        self.emit(head);
        let rest = &s[take..];
        let words = rest.len() / 8;
        if words > 16 && self.at + words > self.out.len() {
            // Does not fit: counted, not copied (so a huge string costs no loop).
            self.at += words;
        } else {
            for c in rest.chunks_exact(8) {
                self.emit(load8(c));
            }
        }
        // The last `r` bytes, from the final 8 of `s` (which has at least 8).
        let r = (rest.len() % 8) as u32;
        let last = load8(&s[s.len() - 8..]);
        self.acc = if r == 0 { 0 } else { last >> (64 - 8 * r) };
        self.bits = 8 * r;
    }

    /// Appends a string of up to 7 bytes after a prefix of `pn` bytes, as one piece.
    #[inline(always)]
    fn put_short(&mut self, prefix: u64, pn: u32, s: &[u8]) {
        debug_assert!(s.len() + pn as usize <= 8);
        self.put(prefix | load_partial(s) << (8 * pn), pn + s.len() as u32);
    }
}

impl Put for WordWriter<'_> {
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.put(u64::from(b), 1);
    }

    #[inline(always)]
    fn bytes(&mut self, s: &[u8]) {
        self.put_bytes(s);
    }

    #[inline(always)]
    fn word(&mut self, w: u64) {
        self.put(w, 8);
    }

    #[inline(always)]
    fn varint(&mut self, v: u64) {
        if v < 1 << 56 {
            let (w, n) = varint_word(v);
            self.put(w, n);
        } else {
            // Eight bytes of 7 bits, each with its continuation bit, then the top 8 bits
            // in one or two bytes.
            let w = (0..8).fold(0, |w, i| w | (0x80 | (v >> (7 * i)) & 0x7f) << (8 * i));
            self.put(w, 8);
            let top = v >> 56;
            if top >= 0x80 {
                self.put((top & 0x7f | 0x80) | (top >> 7) << 8, 2);
            } else {
                self.put(top, 1);
            }
        }
    }

    #[inline(always)]
    fn field(&mut self, key: &str, value: FieldValue<'_>) {
        // One dispatch on the value's type, with the key written in each arm.
        match value {
            FieldValue::Str(s) => {
                self.key(TAG_STR, key);
                let b = s.as_bytes();
                if b.len() < 8 {
                    self.put_short(b.len() as u64, 1, b);
                } else {
                    if b.len() < 255 {
                        self.put(b.len() as u64, 1);
                    } else {
                        if b.len() > usize::from(u16::MAX) {
                            self.poison();
                        }
                        self.put(255 | (b.len() as u64 & 0xffff) << 8, 3);
                    }
                    self.put_bytes(b);
                }
            }
            FieldValue::I64(v) => {
                self.key(TAG_I64, key);
                self.varint(zigzag(v));
            }
            FieldValue::U64(v) => {
                self.key(TAG_U64, key);
                self.varint(v);
            }
            FieldValue::F64(v) => {
                self.key(TAG_F64, key);
                self.put(v.to_bits(), 8);
            }
            FieldValue::Bool(b) => self.key(if b { TAG_TRUE } else { TAG_FALSE }, key),
        }
    }
}

impl WordWriter<'_> {
    /// A field's tag byte and key.
    #[inline(always)]
    fn key(&mut self, tag: u8, key: &str) {
        let tag = u64::from(tag) << 5;
        let k = key.as_bytes();
        if k.len() < 8 {
            // The tag byte and a short key: one piece.
            self.put_short(tag | k.len() as u64, 1, k);
        } else {
            if k.len() < LONG_KEY {
                self.put(tag | k.len() as u64, 1);
            } else {
                if k.len() > 255 {
                    self.poison();
                }
                self.put(tag | LONG_KEY as u64 | (k.len() as u64 & 0xff) << 8, 2);
            }
            self.put_bytes(k);
        }
    }
}

/// Bytes of the largest event payload ([`crate::model::config::MAX_EVENT_BYTES`]).
pub(crate) const MAX_PAYLOAD_BYTES: usize = crate::model::config::MAX_EVENT_BYTES;

/// Encodes `ev` straight into its claimed cells' payload words `out` (at most
/// [`MAX_PAYLOAD_BYTES`] of them), the way [`encode`] would into `out.len() * 8`
/// bytes; returns whether the event was truncated.
///
/// The common case — an interned kind, and an event that fits — is one pass over the
/// event with no buffer and no separate size check: the word writer stops storing at
/// the end of `out` and counts the words it would have needed, so overflowing *is* the
/// size check. Only then (rarely) is the event encoded again, cut to size, through a
/// stack buffer. Out of line: on its own the encoder keeps its state in registers
/// (measured: 15 instructions an event fewer than inlined into the record path).
#[inline(never)]
pub(crate) fn encode_into_words(
    ev: &Event<'_>,
    kind_id: u16,
    raw_ts: u64,
    out: &[AtomicU64],
) -> bool {
    let peer = ev.peer.map_or(0, str::len);
    if kind_id != NO_ID
        && !ev.fields_dropped
        && peer <= 255
        && ev.message.len() <= usize::from(u16::MAX)
    {
        let mut w = WordWriter::new(out);
        write_whole(ev, kind_id, raw_ts, &mut w);
        if w.finish() <= out.len() {
            return false;
        }
    }
    encode_cut_into_words(ev, kind_id, raw_ts, out)
}

/// [`encode_into_words`] for an event that does not fit whole.
#[cold]
#[inline(never)]
fn encode_cut_into_words(ev: &Event<'_>, kind_id: u16, raw_ts: u64, out: &[AtomicU64]) -> bool {
    let mut buf = [0u8; MAX_PAYLOAD_BYTES + 8];
    let bytes = (out.len() * 8).min(MAX_PAYLOAD_BYTES);
    let e = encode(ev, kind_id, raw_ts, &mut buf[..bytes]);
    store_words(&buf[..e.len], out);
    e.truncated
}

/// Stores encoded bytes (zero-padded to whole words) into payload words `out`.
#[inline]
pub(crate) fn store_words(bytes: &[u8], out: &[AtomicU64]) {
    let mut chunks = bytes.chunks_exact(8);
    let mut i = 0;
    for (o, c) in out.iter().zip(&mut chunks) {
        o.store(load8(c), Ordering::Relaxed);
        i += 1;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        if let Some(o) = out.get(i) {
            o.store(load_partial(rest), Ordering::Relaxed);
        }
    }
}

/// Encodes an event that cannot be stored whole (too large, or its kind stored
/// inline) into `buf`, at most `buf.len()` bytes, cut as the codec docs say; returns
/// what [`encode`] returns. The record path calls it to learn how many cells it needs.
#[cold]
#[inline(never)]
pub(crate) fn encode_cut_to_buf(
    ev: &Event<'_>,
    kind_id: u16,
    raw_ts: u64,
    buf: &mut [u8],
) -> super::Encoded {
    encode(ev, kind_id, raw_ts, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec::{plan_whole, Encoded, Header};
    use crate::model::event::MAX_FIELDS;
    use crate::model::severity::Severity;

    #[test]
    fn word_writer_produces_the_byte_layout() {
        let long = "x".repeat(200);
        let events = [
            Event::new("k", Severity::Info),
            Event::new("k", Severity::Warning)
                .peer("p")
                .message("abc")
                .field("k", 7u64),
            Event::new("k", Severity::Error)
                .peer("12D3KooWAbCdEfGhIjKl")
                .message("connected to peer over tcp after handshake")
                .field("address", "192.168.1.100:8333")
                .field("size", 1024u64)
                .field("t", true)
                .field("f", -1.5f64)
                .field(&long, long.as_str()),
        ];
        for ev in &events {
            let need = plan_whole(ev, 9).unwrap();
            let mut bytes = vec![0u8; need.next_multiple_of(8)];
            let e = encode(ev, 9, 77, &mut bytes[..need]);
            assert_eq!(e.len, need);
            assert_eq!(word_image(ev, 9, 77), bytes);
        }
        let mut bytes = [0u8; 120];
        let e = encode(&events[2], 9, 77, &mut bytes);
        let w = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        assert_eq!(
            Header::from_words(w(0), w(1)),
            Header::read(&bytes[..e.len]).unwrap()
        );
        for n in 0..8 {
            let s: Vec<u8> = (1..=n as u8).collect();
            let mut want = [0u8; 8];
            want[..n].copy_from_slice(&s);
            assert_eq!(load_partial(&s), u64::from_le_bytes(want), "{n}");
        }
    }

    /// The word image of `ev` from [`WordWriter`], as bytes.
    fn word_image(ev: &Event<'_>, kind_id: u16, raw_ts: u64) -> Vec<u8> {
        let need = plan_whole(ev, kind_id).unwrap();
        // One word more than needed, holding a marker that must survive.
        let words: Vec<AtomicU64> = (0..need.div_ceil(8) + 1)
            .map(|_| AtomicU64::new(0xdead))
            .collect();
        let mut w = WordWriter::new(&words[..need.div_ceil(8)]);
        write_whole(ev, kind_id, raw_ts, &mut w);
        assert_eq!(w.finish(), need.div_ceil(8));
        let mut words: Vec<u64> = words.into_iter().map(AtomicU64::into_inner).collect();
        assert_eq!(words.pop(), Some(0xdead));
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn value_strategy() -> impl proptest::strategy::Strategy<Value = (String, u8, u64, String)> {
        use proptest::prelude::*;
        // (key, value type, number, string): keys and strings of every length class
        // (short, a word or more, from 31 on a length byte, from 255 on three bytes).
        (
            "[a-z_]{0,40}",
            0u8..6,
            prop_oneof![
                any::<u64>(),
                0u64..300,
                0u64..40_000,
                Just(u64::MAX),
                Just(1 << 56),
                Just((1 << 14) - 1),
                Just(1 << 14),
            ],
            prop_oneof!["[ -~]{0,20}", "[ -~é]{0,300}"],
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            if cfg!(miri) { 16 } else { 2048 }
        ))]
        #[test]
        fn word_writer_matches_the_byte_writer(
            peer in proptest::option::of("[ -~]{0,40}"),
            message in "[ -~é]{0,300}",
            fields in proptest::collection::vec(value_strategy(), 0..=MAX_FIELDS),
            raw_ts: u64,
            kind_id in 0u16..1000,
            severity in 0u8..5,
        ) {
            let mut ev = Event::new("k", Severity::from_index(severity).unwrap()).message(&message);
            if let Some(p) = &peer {
                ev = ev.peer(p);
            }
            for (key, ty, num, text) in &fields {
                let v = match ty {
                    0 => FieldValue::Str(text),
                    1 => FieldValue::I64(*num as i64),
                    2 => FieldValue::U64(*num),
                    3 => FieldValue::F64(f64::from_bits(*num)),
                    4 => FieldValue::Bool(false),
                    _ => FieldValue::Bool(true),
                };
                ev = ev.field(key, v);
            }
            let need = plan_whole(&ev, kind_id).unwrap();
            let mut bytes = vec![0u8; need.next_multiple_of(8)];
            let e = encode(&ev, kind_id, raw_ts, &mut bytes[..need]);
            proptest::prop_assert_eq!(e, Encoded { len: need, truncated: false });
            proptest::prop_assert_eq!(word_image(&ev, kind_id, raw_ts), bytes);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            if cfg!(miri) { 16 } else { 1024 }
        ))]
        /// The record path's encoder stores what `encode` writes, for every slot size,
        /// whether the event fits whole, is cut, or has an inline kind.
        #[test]
        fn encode_into_words_matches_encode(
            peer in proptest::option::of("[ -~]{0,300}"),
            message in "[ -~é]{0,1200}",
            fields in proptest::collection::vec(value_strategy(), 0..=MAX_FIELDS + 2),
            long_key in proptest::bool::weighted(0.1),
            raw_ts: u64,
            kind_id in proptest::prop_oneof![0u16..1000, proptest::strategy::Just(NO_ID)],
            slot in 0usize..5,
        ) {
            let words_len = [7usize, 15, 31, 63, 127][slot];
            let big_key = "k".repeat(300);
            let mut ev = Event::new("inline_kind", Severity::Warning).message(&message);
            if let Some(p) = &peer {
                ev = ev.peer(p);
            }
            if long_key {
                ev = ev.field(&big_key, 1u64);
            }
            for (key, ty, num, text) in &fields {
                let v = match ty {
                    0 => FieldValue::Str(text),
                    1 => FieldValue::I64(*num as i64),
                    2 => FieldValue::U64(*num),
                    _ => FieldValue::Bool(true),
                };
                ev = ev.field(key, v);
            }
            let mut bytes = vec![0u8; words_len * 8];
            let e = encode(&ev, kind_id, raw_ts, &mut bytes);
            let words: Vec<AtomicU64> = (0..words_len).map(|_| AtomicU64::new(0)).collect();
            let truncated = encode_into_words(&ev, kind_id, raw_ts, &words);
            proptest::prop_assert_eq!(truncated, e.truncated);
            let used = e.len.div_ceil(8);
            let got: Vec<u8> = words[..used]
                .iter()
                .flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes())
                .collect();
            proptest::prop_assert_eq!(&got[..], &bytes[..used * 8]);
        }
    }
}
