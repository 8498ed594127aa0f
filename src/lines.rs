//! Reading text one line at a time in bounded memory: the one line reader behind every
//! JSON Lines and gzip importer (`read_jsonl`, `exporter::read_stream*`, the recording
//! loaders, the `flightring` tool).
//!
//! - A line longer than the limit stops the read ([`LineError::TooLong`]) before more
//!   than the limit is buffered, whatever the input holds after it.
//! - Runs of empty lines are skipped a buffer at a time (counted, never parsed), so a
//!   stream of newlines costs what reading it costs.
//! - A read failure (a truncated or corrupt gzip stream) is reported with the line it
//!   cut and the bytes of whole lines read before it ([`LineError::Read`]); every line
//!   returned before the error is whole.

use std::io::{self, BufRead};

/// Why no further line could be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// Line `line` (1-based) is longer than `limit` bytes.
    TooLong { line: usize, limit: usize },
    /// Reading failed on line `line`, after `offset` bytes of whole lines.
    Read {
        line: usize,
        offset: u64,
        error: io::Error,
    },
}

/// The next line of `r` each time, without its `\n` (nor a `\r` before it).
pub(crate) struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    /// 1-based number of the line last returned (0 before the first).
    line: usize,
    /// Bytes of the input up to the end of the last whole line read.
    offset: u64,
    limit: usize,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `r` of at most `limit` bytes each.
    pub(crate) fn new(r: R, limit: usize) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            line: 0,
            offset: 0,
            limit,
        }
    }

    fn read_err(&self, error: io::Error) -> LineError {
        LineError::Read {
            line: self.line + 1,
            offset: self.offset,
            error,
        }
    }

    /// Skips empty lines (`\n`, `\r\n`) a buffer at a time.
    fn skip_empty(&mut self) -> Result<(), LineError> {
        loop {
            let chunk = match self.r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_err(e)),
            };
            let n = chunk
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(chunk.len());
            // A `\r` ends the run only if a `\n` follows it; a lone one starts a line.
            let n = chunk[..n]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let newlines = memchr::memchr_iter(b'\n', &chunk[..n]).count();
            let whole = n == chunk.len() && n > 0;
            self.r.consume(n);
            self.line += newlines;
            self.offset += n as u64;
            if !whole {
                return Ok(());
            }
        }
    }

    /// The next line that is not empty and its 1-based number, `Ok(None)` at the end
    /// of input. A last line without `\n` counts as a line.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &[u8])>, LineError> {
        self.skip_empty()?;
        self.buf.clear();
        let mut any = false;
        loop {
            let chunk = match self.r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_err(e)),
            };
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                self.offset += self.buf.len() as u64;
                break;
            }
            any = true;
            let (take, end) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if self.buf.len() + take > self.limit {
                return Err(LineError::TooLong {
                    line: self.line + 1,
                    limit: self.limit,
                });
            }
            self.buf.extend_from_slice(&chunk[..take]);
            let used = take + usize::from(end);
            self.r.consume(used);
            if end {
                self.offset += (self.buf.len() + 1) as u64;
                break;
            }
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((self.line, &self.buf)))
    }

    /// What was read of a line too long to return (at most the limit).
    pub(crate) fn partial(&self) -> &[u8] {
        &self.buf
    }

    /// The reader, holding what is not yet read (the rest of a line too long).
    pub(crate) fn into_inner(self) -> R {
        self.r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], limit: usize) -> (Vec<(usize, String)>, Option<LineError>) {
        let mut l = Lines::new(input, limit);
        let mut out = Vec::new();
        loop {
            match l.next_line() {
                Ok(Some((n, b))) => out.push((n, String::from_utf8_lossy(b).into_owned())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn lines_are_numbered_across_empty_runs() {
        let (v, e) = all(b"a\n\n\r\n\nb\r\n\rc\n  \nd", 10);
        assert!(e.is_none());
        let want = [(1, "a"), (5, "b"), (6, "\rc"), (7, "  "), (8, "d")];
        let got: Vec<(usize, &str)> = v.iter().map(|(n, s)| (*n, s.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_long_line_stops_with_its_number() {
        let (v, e) = all(b"ok\nthis is too long\nok\n", 5);
        assert_eq!(v.len(), 1);
        assert!(
            matches!(e, Some(LineError::TooLong { line: 2, limit: 5 })),
            "{e:?}"
        );
    }

    #[test]
    fn a_read_error_keeps_the_lines_before_it() {
        let r = io::BufReader::with_capacity(4, io::Read::chain(&b"one\ntwo\nthr"[..], Fail));
        let mut l = Lines::new(r, 100);
        assert_eq!(l.next_line().unwrap(), Some((1, &b"one"[..])));
        assert_eq!(l.next_line().unwrap(), Some((2, &b"two"[..])));
        match l.next_line() {
            Err(LineError::Read {
                line: 3, offset: 8, ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    struct Fail;
    impl io::Read for Fail {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::UnexpectedEof.into())
        }
    }
}
