//! Opening any of our files — and the seed recorder's — as a recording.
//!
//! The format is told by content, never by name: gzip by its magic bytes (so a `.gz`
//! renamed still opens, and a plain file named `.gz` too); then a JSON document by its
//! `schema` (`flightring.recording`, `flightring.snapshot`, `flightring.panic`) or the
//! seed recording's `session_name`; otherwise JSON Lines (events and gap lines).
//!
//! JSON Lines are read one line at a time ([`Entries`]), so a stream of any size is
//! read in bounded memory: at most one line (≤ [`crate::ReadLimits::max_line_bytes`],
//! 16 MiB by default) plus the reader's buffers; runs of empty lines are skipped a
//! buffer at a time. A longer line, invalid UTF-8, bad JSON or a truncated or corrupt
//! gzip stream stops the read with a [`RecordingError::Invalid`] naming the file and
//! line (for a damaged gzip stream, also the bytes of whole lines read before it);
//! [`Entries`] has yielded every whole line before it. Documents are read whole, up to
//! [`crate::ReadLimits::max_document_bytes`] (1 GiB by default); a first line longer
//! than the line limit is taken for a document only if it begins like one of ours
//! (`{"schema"` or `{"session_name"`), so a huge line of anything else costs no more
//! than the line limit.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use crate::lines::{LineError, Lines};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exporter::{read_stream, StreamLine};
use crate::{PanicDump, Snapshot, Timestamp};

use super::doc::RecordingDoc;
use super::model::entries_of;
use super::seed::{from_seed, SeedDoc};
use super::{Entry, GapMark, Recording, RecordingError, Source};

/// The longest line a JSON Lines file may have by default: 16 MiB
/// ([`crate::DEFAULT_MAX_LINE_BYTES`]; see [`Entries::open_with`]).
pub const MAX_LINE_BYTES: usize = crate::DEFAULT_MAX_LINE_BYTES;

/// Whether a line too long to be a stream line begins like one of our documents (their
/// writers put `schema` first; the seed recorder's, `session_name`).
fn starts_like_document(b: &[u8]) -> bool {
    let rest = b.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"{") else {
        return false;
    };
    let rest = rest.trim_ascii_start();
    rest.starts_with(b"\"schema\"") || rest.starts_with(b"\"session_name\"")
}

/// Which shape a JSON document has.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    schema: Option<serde_json::Value>,
    #[serde(default)]
    session_name: Option<serde::de::IgnoredAny>,
}

/// Reads a recording's entries in order, one at a time; see the module docs.
///
/// ```
/// use flightring::recording::{Entries, Entry};
/// let dir = std::env::temp_dir().join(format!("flightring-entries-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("s.jsonl");
/// std::fs::write(&path, "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n\
///                        {\"type\":\"Gap\",\"lost\":3,\"at\":\"2026-01-01T00:00:01Z\"}\n\
///                        {\"id\":2,\"timestamp\":\"2026-01-01T00:00:02Z\",\"severity\":\"LOUD\"}\n")?;
/// let mut it = Entries::open(&path)?;
/// assert!(matches!(it.next(), Some(Ok(Entry::Event(_)))));
/// assert!(matches!(it.next(), Some(Ok(Entry::Gap(g))) if g.lost == 3));
/// let err = it.next().unwrap().unwrap_err();
/// assert_eq!(err.line(), Some(3));
/// assert!(it.next().is_none(), "nothing after an error");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Entries {
    path: PathBuf,
    inner: Inner,
    /// Whether an error was returned (the iterator then ends).
    failed: bool,
}

enum Inner {
    Lines {
        reader: Box<Lines<Box<dyn BufRead + Send>>>,
        /// The first line and its number, already read to tell the format.
        pending: Option<(usize, Vec<u8>)>,
    },
    Whole(std::vec::IntoIter<Entry>, Box<Recording>),
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("path", &self.path)
            .field("source", &self.source())
            .finish_non_exhaustive()
    }
}

fn line_err(path: &Path, e: LineError) -> RecordingError {
    RecordingError::from_import(path, crate::read::export::line_error(e), 0)
}

impl Entries {
    /// Opens `path` (any format this module reads), within the default
    /// [`crate::ReadLimits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Entries, RecordingError> {
        Self::open_with(path, &crate::ReadLimits::default())
    }

    /// Opens `path` within `limits`: the longest line and the largest document.
    pub fn open_with(
        path: impl AsRef<Path>,
        limits: &crate::ReadLimits,
    ) -> Result<Entries, RecordingError> {
        let path = path.as_ref();
        let f = File::open(path).map_err(|e| RecordingError::io(path, e))?;
        let mut br = BufReader::with_capacity(1 << 16, f);
        let gz = br
            .fill_buf()
            .map_err(|e| RecordingError::io(path, e))?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead + Send> = if gz {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(br),
            ))
        } else {
            Box::new(br)
        };
        let mut lines = Box::new(Lines::new(reader, limits.max_line_bytes));
        let stream = |lines, pending| Entries {
            path: path.to_owned(),
            inner: Inner::Lines {
                reader: lines,
                pending,
            },
            failed: false,
        };
        // The first non-blank line tells the format.
        let (first_line, first, document, whole_first) = loop {
            match lines.next_line() {
                // Empty file: an empty stream.
                Ok(None) => return Ok(stream(lines, None)),
                Ok(Some((_, b))) if b.trim_ascii().is_empty() => continue,
                Ok(Some((n, b))) => {
                    let first = b.to_vec();
                    let text = crate::read::export::line_text(&first, n)
                        .map_err(|e| RecordingError::from_import(path, e, 0))?;
                    let document = match serde_json::from_str::<Probe>(text) {
                        // A whole object on the first line: a document if it says so.
                        Ok(p) => p.schema.is_some() || p.session_name.is_some(),
                        // Not a whole object: a document spread over lines (the JSON
                        // ends early), else a bad stream line (reported by the line
                        // parser).
                        Err(e) => e.is_eof() || !text.trim_start().starts_with('{'),
                    };
                    break (n, first, document, true);
                }
                // Longer than a line may be: a document if it begins like one.
                Err(LineError::TooLong { line, limit }) => {
                    if !starts_like_document(lines.partial()) {
                        return Err(line_err(path, LineError::TooLong { line, limit }));
                    }
                    break (line, lines.partial().to_vec(), true, false);
                }
                Err(e) => return Err(line_err(path, e)),
            }
        };
        if !document {
            return Ok(stream(lines, Some((first_line, first))));
        }
        // A document: read it whole (blank lines before it kept, so lines match).
        let mut all = vec![b'\n'; first_line - 1];
        all.extend_from_slice(&first);
        if whole_first {
            all.push(b'\n');
        }
        let limit = limits.max_document_bytes as u64;
        let mut rest = lines
            .into_inner()
            .take(limit.saturating_sub(all.len() as u64) + 1);
        if let Err(e) = rest.read_to_end(&mut all) {
            let line = first_line + memchr::memchr_iter(b'\n', &all[first.len()..]).count();
            let offset = memchr::memrchr(b'\n', &all).map_or(0, |i| i + 1) as u64;
            return Err(line_err(
                path,
                LineError::Read {
                    line,
                    offset,
                    error: e,
                },
            ));
        }
        if all.len() as u64 > limit {
            return Err(RecordingError::format(
                path,
                format!("a document larger than the limit of {limit} bytes (max_document_bytes)"),
            ));
        }
        let text = std::str::from_utf8(&all).map_err(|e| {
            let upto = &all[..e.valid_up_to()];
            let line = memchr::memchr_iter(b'\n', upto).count() + 1;
            let col = upto.len() - memchr::memrchr(b'\n', upto).map_or(0, |i| i + 1) + 1;
            RecordingError::invalid(path, line, col, "invalid UTF-8")
        })?;
        let rec = parse_document(path, text)?;
        let entries = entries_of(&rec);
        Ok(Entries {
            path: path.to_owned(),
            inner: Inner::Whole(entries.into_iter(), Box::new(rec)),
            failed: false,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file is.
    pub fn source(&self) -> Source {
        match &self.inner {
            Inner::Lines { .. } => Source::Stream,
            Inner::Whole(_, r) => r.source,
        }
    }

    /// For a document, the whole recording (its events are also what the iterator
    /// yields); `None` for a stream, which is only read as it is iterated.
    pub fn document(&self) -> Option<&Recording> {
        match &self.inner {
            Inner::Whole(_, r) => Some(r),
            Inner::Lines { .. } => None,
        }
    }

    fn next_line(&mut self) -> Option<Result<Entry, RecordingError>> {
        let Inner::Lines { reader, pending } = &mut self.inner else {
            return None;
        };
        loop {
            let taken = pending.take();
            let (n, bytes): (usize, &[u8]) = match &taken {
                Some((n, b)) => (*n, b),
                None => match reader.next_line() {
                    Ok(Some(l)) => l,
                    Ok(None) => return None,
                    Err(e) => return Some(Err(line_err(&self.path, e))),
                },
            };
            let text = match crate::read::export::line_text(bytes, n) {
                Ok(t) if t.trim().is_empty() => continue,
                Ok(t) => t,
                Err(e) => return Some(Err(RecordingError::from_import(&self.path, e, 0))),
            };
            return Some(match read_stream(text.as_bytes()) {
                Ok(mut v) => match v.pop() {
                    Some(StreamLine::Event(e)) => Ok(Entry::Event(e)),
                    Some(StreamLine::Gap(g)) => Ok(Entry::Gap(g)),
                    None => continue,
                },
                Err(e) => Err(RecordingError::from_import(&self.path, e, n - 1)),
            });
        }
    }
}

impl Iterator for Entries {
    type Item = Result<Entry, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let out = match &mut self.inner {
            Inner::Whole(it, _) => it.next().map(Ok),
            Inner::Lines { .. } => self.next_line(),
        };
        if matches!(out, Some(Err(_))) {
            self.failed = true;
        }
        out
    }
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    for ext in [
        ".recording.json",
        ".jsonl.gz",
        ".json.gz",
        ".jsonl",
        ".json",
        ".gz",
    ] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_owned();
        }
    }
    name
}

/// Parses a whole document, an error naming the path inside it (`at .events[3]: …`).
fn parse_doc<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, RecordingError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let mut err = json_error(path, e.into_inner());
        if let RecordingError::Invalid { message, .. } = &mut err {
            *message = format!("at {at}: {message}");
        }
        err
    })
}

fn json_error(path: &Path, e: serde_json::Error) -> RecordingError {
    let msg = e.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    RecordingError::invalid(path, e.line(), e.column(), message)
}

fn parse_document(path: &Path, text: &str) -> Result<Recording, RecordingError> {
    let probe: Probe = serde_json::from_str(text).map_err(|e| json_error(path, e))?;
    let schema = probe.schema.as_ref().map(|s| s.as_str().unwrap_or(""));
    match schema {
        Some(crate::SCHEMA) => {
            let snap = Snapshot::from_json(text)
                .map_err(|e| RecordingError::from_import(path, e, 0))?;
            Ok(from_snapshot(stem(path), snap, Source::Export))
        }
        Some(crate::PANIC_SCHEMA) => {
            let dump =
                PanicDump::from_json(text).map_err(|e| RecordingError::from_import(path, e, 0))?;
            let mut r = from_snapshot(stem(path), dump.snapshot, Source::PanicDump);
            r.panic = Some(dump.panic);
            Ok(r)
        }
        Some(super::doc::RECORDING_SCHEMA) => {
            let doc: RecordingDoc = parse_doc(path, text)?;
            doc.into_recording(path)
        }
        Some(other) => Err(RecordingError::format(
            path,
            format!("unknown schema {other:?} (expected flightring.recording, flightring.snapshot or flightring.panic)"),
        )),
        None if probe.session_name.is_some() => {
            let doc: SeedDoc = parse_doc(path, text)?;
            from_seed(path, doc)
        }
        None => Err(RecordingError::format(
            path,
            "a JSON document without \"schema\" or \"session_name\": not a recording, export, panic dump or seed recording",
        )),
    }
}

fn from_snapshot(name: String, snap: Snapshot, source: Source) -> Recording {
    let mut r = Recording::from_events(name, snap.events());
    r.source = source;
    r.stats = Some(snap.stats().clone());
    r
}

impl Recording {
    /// Opens one file: a recording, an export, a panic dump, a seed recording, or a
    /// JSON Lines stream file (plain or gzipped, with gap lines). See the module docs.
    pub fn open(path: impl AsRef<Path>) -> Result<Recording, RecordingError> {
        Self::open_all([path.as_ref()])
    }

    /// Opens several files as one recording, in the order given — a rotated stream set
    /// oldest first (as [`crate::exporter::stream_files`] lists it). The name is the
    /// first file's stem.
    pub fn open_all<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Recording, RecordingError> {
        Self::open_all_with(paths, &crate::ReadLimits::default())
    }

    /// [`Recording::open_all`] within `limits` (the longest line, the largest
    /// document). To keep what was read before damage, read with [`Entries`].
    pub fn open_all_with<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
        limits: &crate::ReadLimits,
    ) -> Result<Recording, RecordingError> {
        let mut name = None;
        let mut events = Vec::new();
        let mut gaps = Vec::new();
        let mut single: Option<Recording> = None;
        let mut files = 0usize;
        for p in paths {
            let p = p.as_ref();
            files += 1;
            name.get_or_insert_with(|| stem(p));
            let mut it = Entries::open_with(p, limits)?;
            if let Inner::Whole(_, r) = &mut it.inner {
                if files == 1 && single.is_none() {
                    single = Some((**r).clone());
                }
            }
            for entry in it {
                match entry? {
                    Entry::Event(e) => events.push(e),
                    Entry::Gap(g) => gaps.push(GapMark {
                        before: events.len(),
                        lost: g.lost,
                        at: g.at,
                    }),
                }
            }
        }
        if files == 1 {
            if let Some(r) = single {
                return Ok(r);
            }
        }
        let mut r = Recording::from_events(name.unwrap_or_default(), Vec::new());
        r.events = events;
        r.gaps = gaps;
        r.source = Source::Stream;
        r.sort_events();
        r.start_time = r
            .events
            .first()
            .map(|e| e.timestamp)
            .or_else(|| r.gaps.first().map(|g| g.at))
            .unwrap_or_else(Timestamp::now);
        r.duration = r.span_of_events();
        Ok(r)
    }

    /// Opens the whole retained stream whose current file is `path`: its rotated
    /// files (`.gz` or not) oldest first, then `path` itself.
    pub fn open_stream(path: impl AsRef<Path>) -> Result<Recording, RecordingError> {
        let path = path.as_ref();
        let files = crate::exporter::stream_files(path).map_err(|e| RecordingError::io(path, e))?;
        if files.is_empty() {
            return Err(RecordingError::io(
                path,
                io::Error::new(io::ErrorKind::NotFound, "no stream files"),
            ));
        }
        Self::open_all(files)
    }

    /// Parses a document's text (any of the document shapes; `origin` names it in
    /// errors).
    pub fn from_json_str(
        text: &str,
        origin: impl AsRef<Path>,
    ) -> Result<Recording, RecordingError> {
        parse_document(origin.as_ref(), text)
    }
}
