//! Text without allocation, for the record path and the parts above it: where a string
//! may be cut (on a character boundary, never inside one) and a fixed-size buffer that
//! `write!` formats into on the stack. A leaf: it names nothing else in the crate.

use std::fmt;

/// The length of the longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary. (`str::floor_char_boundary` once the MSRV reaches 1.91.)
#[inline]
pub(crate) fn floor_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
#[inline]
pub(crate) fn cut(s: &str, max: usize) -> &str {
    &s[..floor_boundary(s, max)]
}

/// Copies as much of `s` as fits into `out[*at..]` (cut on a character boundary) and
/// advances `at`; false if `s` was cut.
#[inline]
pub(crate) fn push_cut(out: &mut [u8], at: &mut usize, s: &str) -> bool {
    let n = floor_boundary(s, out.len().saturating_sub(*at));
    out[*at..*at + n].copy_from_slice(&s.as_bytes()[..n]);
    *at += n;
    n == s.len()
}

/// Text formatted on the stack into `N` bytes. Writes past the limit (`N` unless
/// lowered with [`StackText::limit`]) are cut on a character boundary and never fail,
/// so formatting into it cannot error or allocate.
pub(crate) struct StackText<const N: usize> {
    buf: [u8; N],
    /// Bytes written, `0..=limit`.
    len: usize,
    /// Where writes stop, `0..=N`.
    limit: usize,
}

impl<const N: usize> StackText<N> {
    /// Empty, with the limit at `N`.
    pub(crate) fn new() -> Self {
        StackText {
            buf: [0; N],
            len: 0,
            limit: N,
        }
    }

    /// Sets where writes stop (at most `N`); text already written stays.
    pub(crate) fn limit(&mut self, limit: usize) {
        self.limit = limit.min(N);
    }

    /// The text written.
    pub(crate) fn as_str(&self) -> &str {
        // Only whole characters are ever copied in (see `write_str`).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.limit.max(self.len);
        push_cut(&mut self.buf[..end], &mut self.len, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let s = "añb€c"; // 1 + 2 + 1 + 3 + 1 bytes
        let lens: Vec<usize> = (0..=9).map(|m| floor_boundary(s, m)).collect();
        assert_eq!(lens, [0, 1, 1, 3, 4, 4, 4, 7, 8, 8]);
        assert_eq!(cut(s, 6), "añb");
        assert_eq!(cut("", 3), "");
        let mut out = [0u8; 5];
        let mut at = 1;
        assert!(!push_cut(&mut out, &mut at, "€€"));
        assert_eq!((at, &out[1..4]), (4, "€".as_bytes()));
        assert!(push_cut(&mut out, &mut at, "x"));
        assert_eq!(at, 5);
        assert!(!push_cut(&mut out, &mut at, "y"));
    }

    #[test]
    fn stack_text_cuts_at_its_limit_and_never_fails() {
        let mut t = StackText::<8>::new();
        let (a, b) = ("ab", "c€€");
        write!(t, "{a}-{b}").unwrap();
        assert_eq!(t.as_str(), "ab-c€"); // 7 bytes: the next € does not fit
        let mut t = StackText::<8>::new();
        t.limit(3);
        write!(t, "prefix").unwrap();
        t.limit(8);
        write!(t, ".ok").unwrap();
        assert_eq!(t.as_str(), "pre.ok");
    }
}
