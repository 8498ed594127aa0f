//! Byte-level matching for redaction: the letter-set prefilter for denied keys, the
//! two-byte scan that finds candidate secrets in text (SWAR, SSE2 blocks, `memchr2`),
//! and the compacted-word comparison of key names. Pure functions over byte slices.

use memchr::memchr2;

/// A set of the letters in `b`, one bit per letter ignoring case (other bytes set
/// some bit too, consistently): the entry `e` can match inside key `k` only if
/// `letter_mask(e) & !letter_mask(k) == 0`. Branch-free.
#[inline]
pub(super) fn letter_mask(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |m, &c| m | LETTER_BIT[usize::from(c)])
}

/// `LETTER_BIT[c]`: the bit of byte `c` in [`letter_mask`].
pub(super) static LETTER_BIT: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = 1 << (((c as u8) | 0x20).wrapping_sub(b'a') & 31);
        c += 1;
    }
    t
};

/// Two bytes to look for, each repeated 16 times: ready to compare with a word or a
/// 16-byte block without building the repeats on every call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Needles {
    x: [u8; 16],
    y: [u8; 16],
}

impl Needles {
    /// `x` and `y`: non-zero bytes.
    pub(super) fn new(x: u8, y: u8) -> Needles {
        debug_assert!(x != 0 && y != 0);
        Needles {
            x: [x; 16],
            y: [y; 16],
        }
    }
}

/// Whether `b` holds one of the needles' two bytes. Strings shorter than 16 bytes are
/// tested eight bytes at a time in a register (SWAR: one or two loads, the second
/// overlapping the first); up to 64 bytes in two or four 16-byte blocks with SSE2 on
/// x86-64 (overlapping as needed, so nothing is read outside `b`), and longer ones with
/// `memchr2`.
#[inline]
pub(super) fn has_either(b: &[u8], needles: &Needles) -> bool {
    let n = b.len();
    if n > 64 {
        return memchr2(needles.x[0], needles.y[0], b).is_some();
    }
    if n >= 16 {
        return has_either_16(b, needles);
    }
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let (nx, ny) = (load8(&needles.x, 0), load8(&needles.y, 0));
    // High bit of each byte of `v` that equals a needle (exact as to whether there is
    // one: the classic zero-byte test on `v ^ x…` and `v ^ y…`).
    let hits = |v: u64| {
        let (a, c) = (v ^ nx, v ^ ny);
        (a.wrapping_sub(LO) & !a | c.wrapping_sub(LO) & !c) & HI
    };
    if n >= 8 {
        hits(load8(b, 0)) | hits(load8(b, n - 8)) != 0
    } else {
        // Padding bytes are zero, which no needle is.
        hits(crate::core::codec::load_partial(b)) != 0
    }
}

/// [`has_either`] for `16 <= b.len() <= 64`.
#[inline]
pub(super) fn has_either_16(b: &[u8], needles: &Needles) -> bool {
    debug_assert!((16..=64).contains(&b.len()));
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        };
        let n = b.len();
        let p = b.as_ptr();
        // SAFETY: SSE2 is part of the x86-64 baseline. Every load reads 16 bytes inside
        // a slice: the needles' 16-byte arrays, or `b` at `at` with `at + 16 <= n` (`at`
        // is 0, `n - 16`, and 16 and `n - 32` when `n > 32`); `_mm_loadu_si128` needs no
        // alignment.
        unsafe {
            let vx = _mm_loadu_si128(needles.x.as_ptr().cast::<__m128i>());
            let vy = _mm_loadu_si128(needles.y.as_ptr().cast::<__m128i>());
            let hits = |at: usize| {
                let v = _mm_loadu_si128(p.add(at).cast::<__m128i>());
                _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, vx), _mm_cmpeq_epi8(v, vy)))
            };
            // Up to 64 bytes, two or four blocks cover `b`: no loop.
            let mut acc = hits(0) | hits(n - 16);
            if n > 32 {
                acc |= hits(16) | hits(n - 32);
            }
            acc != 0
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    {
        memchr2(needles.x[0], needles.y[0], b).is_some()
    }
}

/// Classes of bytes for [`compact_words`].
pub(super) const SEP: u8 = 0;
pub(super) const LOWER: u8 = 1;
pub(super) const UPPER: u8 = 2;
pub(super) const DIGIT: u8 = 3;
pub(super) const OTHER: u8 = 4;

pub(super) static CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut c = 0;
    while c < 128 {
        t[c] = match c as u8 {
            b'a'..=b'z' => LOWER,
            b'A'..=b'Z' => UPPER,
            b'0'..=b'9' => DIGIT,
            _ => SEP,
        };
        c += 1;
    }
    t
};

/// One pass over a key: its letters (lower-cased), digits and non-ASCII bytes into
/// `buf`, with bit `i` of `starts` set where a word starts at `buf[i]` and of `ends`
/// where one ends (words as [`Words`] splits them). `None` when there are more than 64.
#[inline]
pub(super) fn compact_words(b: &[u8], buf: &mut [u8; 64]) -> Option<(usize, u64, u64)> {
    let (mut n, mut starts, mut ends, mut prev) = (0usize, 0u64, 0u64, SEP);
    for (i, &c) in b.iter().enumerate() {
        let cl = CLASS[usize::from(c)];
        if cl == SEP {
            if prev != SEP {
                ends |= 1 << (n - 1);
            }
            prev = SEP;
            continue;
        }
        if n == 64 {
            return None;
        }
        let start = match (prev, cl) {
            (SEP, _) | (LOWER, UPPER) | (LOWER | UPPER, DIGIT) | (DIGIT, LOWER | UPPER) => true,
            (UPPER, UPPER) => b.get(i + 1).is_some_and(u8::is_ascii_lowercase),
            _ => false,
        };
        if start {
            if prev != SEP {
                ends |= 1 << (n - 1);
            }
            starts |= 1 << n;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
        prev = cl;
    }
    if prev != SEP {
        ends |= 1 << (n - 1);
    }
    Some((n, starts, ends))
}

/// Whether the words of `b` from `first` on, joined and lower-cased, begin with exactly
/// `entry` (ending on a word's end).
#[inline]
pub(super) fn matches_from(
    b: &[u8],
    first: (usize, usize),
    mut rest: Words<'_>,
    entry: &[u8],
) -> bool {
    let (mut s, mut e) = first;
    let mut i = 0;
    loop {
        let w = &b[s..e];
        if entry.len() - i < w.len()
            || !w
                .iter()
                .zip(&entry[i..])
                .all(|(c, x)| c.to_ascii_lowercase() == *x)
        {
            return false;
        }
        i += w.len();
        if i == entry.len() {
            return true;
        }
        match rest.next() {
            Some(next) => (s, e) = next,
            None => return false,
        }
    }
}

/// The words of a key: runs of letters, digits and non-ASCII bytes, split at camel-case
/// humps and between letters and digits. Yields `(start, end)` byte offsets.
#[derive(Clone)]
pub(super) struct Words<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
}

impl Iterator for Words<'_> {
    type Item = (usize, usize);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize)> {
        let b = self.b;
        let mut i = self.i;
        while i < b.len() && is_sep(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            self.i = i;
            return None;
        }
        let start = i;
        i += 1;
        while i < b.len() && !word_boundary(b, i) {
            i += 1;
        }
        self.i = i;
        Some((start, i))
    }
}

/// Whether a new word starts at `i` (`b[i - 1]` is inside a word).
#[inline]
pub(super) fn word_boundary(b: &[u8], i: usize) -> bool {
    let (p, c) = (b[i - 1], b[i]);
    is_sep(c)
        || (p.is_ascii_lowercase() && c.is_ascii_uppercase())
        || (p.is_ascii_alphabetic() && c.is_ascii_digit())
        || (p.is_ascii_digit() && c.is_ascii_alphabetic())
        || (p.is_ascii_uppercase()
            && c.is_ascii_uppercase()
            && b.get(i + 1).is_some_and(u8::is_ascii_lowercase))
}

/// The 8 bytes of `b` at `at` as a little-endian word (`at + 8 <= b.len()`).
#[inline(always)]
pub(super) fn load8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline]
pub(super) fn is_sep(c: u8) -> bool {
    c.is_ascii() && !c.is_ascii_alphanumeric()
}
