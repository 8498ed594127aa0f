//! LEB128 varints, written once for the hot path's codec (`core::codec`) and the
//! hand-encoded OTLP protobuf (`integrations::otlp::encode`): 7 bits a byte, low bits
//! first, the high bit set on every byte but the last; at most 10 bytes for a `u64`.
//! Signed values are zigzag-mapped first (`0, -1, 1, -2 …` → `0, 1, 2, 3 …`) where the
//! format says so (our codec; protobuf `sint64`), or sent as two's complement (protobuf
//! `int64`, ten bytes when negative).

/// Bytes `v` takes (1 to 10; 0 takes one).
#[inline]
pub(crate) fn len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// The zigzag mapping of `v`.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Hands `v`'s bytes to `put`, in order.
#[inline]
pub(crate) fn write(mut v: u64, mut put: impl FnMut(u8)) {
    while v >= 0x80 {
        put(v as u8 | 0x80);
        v >>= 7;
    }
    put(v as u8);
}

/// Reads a varint from the front of `b`, advancing it; `None` when `b` ends first or
/// the varint runs past 10 bytes.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn read(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_lengths_at_every_boundary() {
        for bits in 0..64 {
            for v in [(1u64 << bits) - 1, 1u64 << bits, u64::MAX >> (63 - bits)] {
                let mut out = Vec::new();
                write(v, |b| out.push(b));
                assert_eq!(out.len(), len(v), "{v}");
                let mut s = &out[..];
                assert_eq!(read(&mut s), Some(v));
                assert!(s.is_empty());
            }
        }
        let mut out = Vec::new();
        write(300, |b| out.push(b));
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(read(&mut &[0x80u8][..]), None);
        assert_eq!(read(&mut &[0xffu8; 11][..]), None);
        assert_eq!([0, -1, 1, -2, i64::MIN].map(zigzag), [0, 1, 2, 3, u64::MAX]);
    }
}
