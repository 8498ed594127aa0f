//! Exports — one JSON document, or JSON Lines — and reading them back.
//!
//! The schema is documented in the README ("Export format") and versioned by
//! [`SCHEMA_VERSION`]: a reader accepts documents of its version or older, and refuses
//! newer ones with [`ImportError::Version`] rather than guessing.
//!
//! Writers stream: events are decoded from the snapshot's copied slots one at a time
//! and serialised straight into a buffered writer, so exporting a million events never
//! holds a million owned records.

use std::borrow::Cow;
use std::io::{self, BufRead, BufWriter, Write};

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

use crate::model::config::Config;
use crate::model::event::EventRecord;
use crate::model::Timestamp;
use crate::read::decode::RecordRef;
use crate::read::health::Health;
use crate::read::snapshot::{Events, Item, Snapshot};
use crate::read::stats::Stats;

/// The `schema` value of an export document.
pub const SCHEMA: &str = "flightring.snapshot";
/// The version of the export schema this library writes (and the newest it reads).
pub const SCHEMA_VERSION: u32 = 1;

/// Writing an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The writer failed.
    #[error("writing the export failed: {0}")]
    Io(#[from] io::Error),
    /// Serialisation failed (not expected for well-formed data).
    #[error("serialising the export failed: {0}")]
    Json(serde_json::Error),
}

impl From<serde_json::Error> for ExportError {
    fn from(e: serde_json::Error) -> Self {
        match e.io_error_kind() {
            Some(kind) => ExportError::Io(io::Error::new(kind, e)),
            None => ExportError::Json(e),
        }
    }
}

/// Reading an export failed: where, and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The text is not valid JSON, or not of the schema.
    #[error("line {line}, column {column}, at {path}: {message}")]
    Invalid {
        /// 1-based line of the input (of the file, for JSON Lines).
        line: usize,
        /// 1-based column within that line.
        column: usize,
        /// Where in the document, e.g. `events[12].severity` (`.` for the top).
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The document is not a flightring export.
    #[error("not a flightring export: schema is {found:?}, expected \"flightring.snapshot\"")]
    Schema {
        /// The `schema` value found.
        found: String,
    },
    /// The document was written by a newer version of the schema.
    #[error("export schema version {found} is newer than this library reads (up to {supported})")]
    Version {
        /// The version found.
        found: u32,
        /// The newest version this library reads.
        supported: u32,
    },
    /// A line of JSON Lines is longer than the limit ([`ReadLimits::max_line_bytes`]);
    /// no more than the limit was read into memory.
    #[error("line {line} is longer than the limit of {}", bytes_text(*limit))]
    LineTooLong {
        /// 1-based line.
        line: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A line is not valid UTF-8.
    #[error("line {line}, column {column}: invalid UTF-8")]
    InvalidUtf8 {
        /// 1-based line.
        line: usize,
        /// 1-based byte column of the first invalid byte.
        column: usize,
    },
    /// The input broke off (a truncated or corrupt gzip stream): every line before
    /// `line` was read whole.
    #[error("damaged input at line {line} (after {offset} bytes of whole lines): {message}")]
    Damaged {
        /// 1-based line being read when the input broke off.
        line: usize,
        /// Bytes of the (decompressed) text up to the end of the last whole line.
        offset: u64,
        /// What the reader reported, e.g. `unexpected end of file`.
        message: String,
    },
    /// Reading failed.
    #[error("reading the export failed: {0}")]
    Io(#[from] io::Error),
}

/// `n` bytes as text: `16 MiB` when a whole number of MiB, else `N bytes`.
pub(crate) fn bytes_text(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// How much the JSON Lines readers hold in memory at most.
///
/// ```
/// let limits = flightring::ReadLimits::default().max_line_bytes(1 << 20);
/// let err = flightring::read_jsonl_with(&b"\n\nxxxxxxxx"[..], &limits.max_line_bytes(4)).unwrap_err();
/// assert!(matches!(err, flightring::ImportError::LineTooLong { line: 3, limit: 4 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadLimits {
    /// The longest line of JSON Lines, in bytes: [`DEFAULT_MAX_LINE_BYTES`] (16 MiB)
    /// by default. A longer line stops the read with [`ImportError::LineTooLong`].
    pub max_line_bytes: usize,
    /// The largest JSON document a recording loader reads whole (an export, a panic
    /// dump, a recording): [`DEFAULT_MAX_DOCUMENT_BYTES`] (1 GiB) by default.
    pub max_document_bytes: usize,
}

/// The default [`ReadLimits::max_line_bytes`]: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
/// The default [`ReadLimits::max_document_bytes`]: 1 GiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 1 << 30;

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

impl ReadLimits {
    /// With the longest line `n` bytes (at least 1).
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n.max(1);
        self
    }

    /// With the largest document `n` bytes (at least 1).
    pub fn max_document_bytes(mut self, n: usize) -> Self {
        self.max_document_bytes = n.max(1);
        self
    }
}

/// The error for a line the line reader could not give.
pub(crate) fn line_error(e: crate::lines::LineError) -> ImportError {
    use crate::lines::LineError;
    match e {
        LineError::TooLong { line, limit } => ImportError::LineTooLong { line, limit },
        LineError::Read {
            line,
            offset,
            error,
        } => match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput => ImportError::Damaged {
                line,
                offset,
                message: error.to_string(),
            },
            _ => ImportError::Io(error),
        },
    }
}

/// Line `line` as text, or [`ImportError::InvalidUtf8`].
pub(crate) fn line_text(bytes: &[u8], line: usize) -> Result<&str, ImportError> {
    std::str::from_utf8(bytes).map_err(|e| ImportError::InvalidUtf8 {
        line,
        column: e.valid_up_to() + 1,
    })
}

/// Every item `parse` makes of the non-blank lines of `r` (it returns `None` for a
/// line that is no item), up to the first error, and that error.
pub(crate) fn collect_lines<R: BufRead, T>(
    r: R,
    limits: &ReadLimits,
    mut parse: impl FnMut(&str, usize) -> Result<Option<T>, ImportError>,
) -> (Vec<T>, Option<ImportError>) {
    let mut out = Vec::new();
    let res = for_each_line(r, limits, |text, n| {
        out.extend(parse(text, n)?);
        Ok(())
    });
    (out, res.err())
}

/// The items, or the error that stopped the read.
pub(crate) fn all_or_error<T>(
    (items, err): (Vec<T>, Option<ImportError>),
) -> Result<Vec<T>, ImportError> {
    match err {
        None => Ok(items),
        Some(e) => Err(e),
    }
}

/// Calls `f` with each non-blank line of `r` and its 1-based number, within `limits`;
/// stops at the first error, `f`'s or the reader's.
pub(crate) fn for_each_line<R: BufRead>(
    r: R,
    limits: &ReadLimits,
    mut f: impl FnMut(&str, usize) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut lines = crate::lines::Lines::new(r, limits.max_line_bytes);
    while let Some((n, bytes)) = lines.next_line().map_err(line_error)? {
        let text = line_text(bytes, n)?;
        if !text.trim().is_empty() {
            f(text, n)?;
        }
    }
    Ok(())
}

impl ImportError {
    /// The 1-based line the error is on, when it is about the content.
    pub fn line(&self) -> Option<usize> {
        match self {
            ImportError::Invalid { line, .. }
            | ImportError::LineTooLong { line, .. }
            | ImportError::InvalidUtf8 { line, .. }
            | ImportError::Damaged { line, .. } => Some(*line),
            _ => None,
        }
    }

    fn from_json(e: serde_path_to_error::Error<serde_json::Error>, line_offset: usize) -> Self {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if let Some(kind) = inner.io_error_kind() {
            return ImportError::Io(io::Error::new(kind, inner.to_string()));
        }
        // serde_json appends " at line L column C" to its messages; we report those apart.
        let msg = inner.to_string();
        let message = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_owned(),
            None => msg,
        };
        ImportError::Invalid {
            line: inner.line() + line_offset,
            column: inner.column(),
            path,
            message,
        }
    }
}

struct FieldsSer<'a>(&'a RecordRef<'a>);

impl Serialize for FieldsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.0.fields() {
            m.serialize_entry(k, &v.as_field())?;
        }
        m.end()
    }
}

/// Serialises exactly like the derived `Serialize` of [`EventRecord`] (tested).
impl Serialize for RecordRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.decoded;
        let truncated = d.header.truncated();
        let n = 7 + usize::from(d.peer.is_some());
        let mut st = s.serialize_struct("EventRecord", n)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("timestamp", &self.timestamp)?;
        st.serialize_field("severity", &d.severity)?;
        st.serialize_field("event_type", self.kind)?;
        if let Some(p) = self.peer() {
            st.serialize_field("peer_id", &*p)?;
        }
        st.serialize_field("message", &*self.message())?;
        st.serialize_field("metadata", &FieldsSer(self))?;
        st.serialize_field("truncated", &truncated)?;
        st.end()
    }
}

impl Serialize for Item<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::Ref(r) => r.serialize(s),
            Item::Owned(e) => e.serialize(s),
        }
    }
}

struct EventsSer<'a>(&'a Snapshot);

impl Serialize for EventsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        self.0.for_each(|item| seq.serialize_element(&item))?;
        seq.end()
    }
}

struct DocSer<'a>(&'a Snapshot);

impl Serialize for DocSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let snap = self.0;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("schema", SCHEMA)?;
        m.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        m.serialize_entry("taken_at", &snap.taken_at)?;
        m.serialize_entry("config", &snap.config)?;
        m.serialize_entry("stats", &snap.stats)?;
        m.serialize_entry("health", &snap.health)?;
        m.serialize_entry("events", &EventsSer(snap))?;
        m.end()
    }
}

/// Writes `snap` as one JSON document.
pub(crate) fn write_json<W: Write>(snap: &Snapshot, w: W) -> Result<(), ExportError> {
    let mut bw = BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer(&mut bw, &DocSer(snap))?;
    bw.flush()?;
    Ok(())
}

/// Writes `snap`'s events as JSON Lines.
pub(crate) fn write_jsonl<W: Write>(snap: &Snapshot, w: W) -> Result<(), ExportError> {
    let mut bw = BufWriter::with_capacity(1 << 16, w);
    snap.for_each(|item| -> Result<(), ExportError> {
        serde_json::to_writer(&mut bw, &item)?;
        bw.write_all(b"\n")?;
        Ok(())
    })?;
    bw.flush()?;
    Ok(())
}

/// The header line of a CSV export; one row per event follows, oldest first.
///
/// `metadata` is the event's fields as one JSON object; text fields are quoted as
/// RFC 4180 says (when they hold a comma, quote or line break, with quotes doubled).
pub const CSV_HEADER: &str = "id,timestamp,severity,event_type,peer_id,message,metadata,truncated";

/// Writes `snap`'s events as CSV (see [`CSV_HEADER`]).
pub(crate) fn write_csv<W: Write>(
    snap: &Snapshot,
    w: W,
    opts: CsvOptions,
) -> Result<(), ExportError> {
    let mut bw = BufWriter::with_capacity(1 << 16, w);
    bw.write_all(CSV_HEADER.as_bytes())?;
    bw.write_all(b"\r\n")?;
    let mut meta = Vec::with_capacity(256);
    snap.for_each(|item| -> Result<(), ExportError> {
        meta.clear();
        let (id, ts, severity, kind, peer, message, truncated) = match item {
            Item::Ref(r) => {
                let d = &r.decoded;
                serde_json::to_writer(&mut meta, &FieldsSer(r))?;
                let t = d.header.truncated();
                (
                    r.id,
                    r.timestamp,
                    d.severity,
                    r.kind,
                    r.peer(),
                    r.message(),
                    t,
                )
            }
            Item::Owned(e) => {
                serde_json::to_writer(&mut meta, &e.metadata)?;
                let (kind, peer) = (e.kind.as_str(), e.peer.as_deref().map(Cow::Borrowed));
                (
                    e.id,
                    e.timestamp,
                    e.severity,
                    kind,
                    peer,
                    Cow::Borrowed(e.message.as_str()),
                    e.truncated,
                )
            }
        };
        write!(bw, "{id},{ts},{},", severity.as_str())?;
        write_csv_cell(&mut bw, kind.as_bytes(), opts)?;
        bw.write_all(b",")?;
        write_csv_cell(&mut bw, peer.as_deref().unwrap_or("").as_bytes(), opts)?;
        bw.write_all(b",")?;
        write_csv_cell(&mut bw, message.as_bytes(), opts)?;
        bw.write_all(b",")?;
        write_csv_cell(&mut bw, &meta, opts)?;
        bw.write_all(if truncated {
            b",true\r\n"
        } else {
            b",false\r\n"
        })?;
        Ok(())
    })?;
    bw.flush()?;
    Ok(())
}

/// How CSV is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsvOptions {
    /// Neutralise cells a spreadsheet would run as a formula: a text cell that begins
    /// with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's
    /// CSV injection advice). Default true; turn off for tools that want the bytes
    /// as recorded.
    pub formula_guard: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            formula_guard: true,
        }
    }
}

impl CsvOptions {
    /// The cells exactly as recorded: no formula guard.
    pub fn raw() -> Self {
        CsvOptions {
            formula_guard: false,
        }
    }
}

/// Writes one CSV text cell: quoted when it must be (RFC 4180: it holds a comma, a
/// quote or a line break; quotes doubled), with a leading `'` when `opts` guard
/// against formulas and the cell begins like one.
pub fn write_csv_cell<W: Write + ?Sized>(w: &mut W, s: &[u8], opts: CsvOptions) -> io::Result<()> {
    let guard =
        opts.formula_guard && matches!(s.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if !guard && !s.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        return w.write_all(s);
    }
    w.write_all(b"\"")?;
    if guard {
        w.write_all(b"'")?;
    }
    for part in s.split_inclusive(|&b| b == b'"') {
        w.write_all(part)?;
        if part.last() == Some(&b'"') {
            w.write_all(b"\"")?;
        }
    }
    w.write_all(b"\"")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocIn {
    schema: String,
    schema_version: u32,
    taken_at: Timestamp,
    config: Config,
    stats: Stats,
    health: Health,
    events: Vec<EventRecord>,
}

fn check_header(v: &serde_json::Value) -> Result<(), ImportError> {
    let schema = v.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(ImportError::Schema {
            found: v
                .get("schema")
                .map_or_else(|| "(missing)".into(), |s| s.to_string()),
        });
    }
    match v.get("schema_version").and_then(serde_json::Value::as_u64) {
        Some(found) if found > u64::from(SCHEMA_VERSION) => Err(ImportError::Version {
            found: found.min(u64::from(u32::MAX)) as u32,
            supported: SCHEMA_VERSION,
        }),
        _ => Ok(()),
    }
}

fn doc_to_snapshot(doc: DocIn) -> Snapshot {
    Snapshot {
        taken_at: doc.taken_at,
        config: doc.config,
        stats: doc.stats,
        health: doc.health,
        events: Events::Owned(doc.events),
    }
}

/// Parses an export document.
pub(crate) fn read_json(bytes: &[u8]) -> Result<Snapshot, ImportError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, DocIn>(&mut de) {
        Ok(doc) => {
            if doc.schema != SCHEMA {
                return Err(ImportError::Schema { found: doc.schema });
            }
            if doc.schema_version > SCHEMA_VERSION {
                return Err(ImportError::Version {
                    found: doc.schema_version,
                    supported: SCHEMA_VERSION,
                });
            }
            Ok(doc_to_snapshot(doc))
        }
        Err(e) => {
            // A file of another kind, or of a newer schema, gets that error rather than
            // a complaint about some field.
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
                check_header(&v)?;
            }
            Err(ImportError::from_json(e, 0))
        }
    }
}

/// Parses an export document from a reader.
pub(crate) fn read_json_reader<R: io::Read>(mut r: R) -> Result<Snapshot, ImportError> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)?;
    read_json(&buf)
}

/// Reads events written as JSON Lines (by [`crate::Recorder::write_jsonl`]). Blank lines
/// are skipped; the first bad line stops the read with its line number and what was
/// wrong.
///
/// ```
/// let input = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n\
///              {\"id\":2,\"timestamp\":\"2026-01-01T00:00:01Z\",\"severity\":\"LOUD\",\"event_type\":\"boot\"}\n";
/// let err = flightring::read_jsonl(input.as_bytes()).unwrap_err();
/// assert_eq!(err.line(), Some(2));
/// assert!(err.to_string().contains("severity"), "{err}");
/// ```
pub fn read_jsonl<R: BufRead>(r: R) -> Result<Vec<EventRecord>, ImportError> {
    read_jsonl_with(r, &ReadLimits::default())
}

/// [`read_jsonl`] within `limits` (the longest line).
pub fn read_jsonl_with<R: BufRead>(
    r: R,
    limits: &ReadLimits,
) -> Result<Vec<EventRecord>, ImportError> {
    all_or_error(read_jsonl_partial(r, limits))
}

/// Reads JSON Lines as [`read_jsonl`] does, but keeps what was read: every event
/// before the first bad line, broken-off input (a truncated gzip stream) or overlong
/// line, and that error.
///
/// ```
/// let input = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\nnot json\n";
/// let (events, err) = flightring::read_jsonl_partial(input.as_bytes(), &Default::default());
/// assert_eq!(events.len(), 1);
/// assert_eq!(err.unwrap().line(), Some(2));
/// ```
pub fn read_jsonl_partial<R: BufRead>(
    r: R,
    limits: &ReadLimits,
) -> (Vec<EventRecord>, Option<ImportError>) {
    collect_lines(r, limits, |line, n| parse_event_line(line, n).map(Some))
}

/// One line of JSON Lines (line `n` of the input) as an event.
fn parse_event_line(line: &str, n: usize) -> Result<EventRecord, ImportError> {
    let mut de = serde_json::Deserializer::from_str(line);
    let rec: EventRecord =
        serde_path_to_error::deserialize(&mut de).map_err(|e| ImportError::from_json(e, n - 1))?;
    de.end().map_err(|e| ImportError::Invalid {
        line: n,
        column: e.column(),
        path: ".".into(),
        message: "trailing characters after the event".into(),
    })?;
    Ok(rec)
}

/// The snapshot's exports, in every format, and loading one back.
impl Snapshot {
    /// The export document as a string (see [`crate::Recorder::export_json`]).
    pub fn to_json(&self) -> Result<String, ExportError> {
        let mut out = Vec::new();
        write_json(self, &mut out)?;
        String::from_utf8(out)
            .map_err(|e| ExportError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
    }

    /// Writes the export document to `w`.
    pub fn write_json<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        write_json(self, w)
    }

    /// Writes the events as JSON Lines to `w`.
    pub fn write_jsonl<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        write_jsonl(self, w)
    }

    /// Writes the events as CSV to `w`, oldest first (columns: [`crate::CSV_HEADER`]),
    /// with cells that begin like a formula neutralised ([`CsvOptions::default`]).
    pub fn write_csv<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        write_csv(self, w, CsvOptions::default())
    }

    /// [`Snapshot::write_csv`] with `opts` (e.g. [`CsvOptions::raw`]).
    pub fn write_csv_with<W: io::Write>(&self, w: W, opts: CsvOptions) -> Result<(), ExportError> {
        write_csv(self, w, opts)
    }

    /// Loads an export document (from [`crate::Recorder::export_json`]).
    ///
    /// ```
    /// use flightring::{Event, Recorder, Severity, Snapshot};
    /// let rec = Recorder::builder().capacity(64).build().unwrap();
    /// rec.record(&Event::new("boot", Severity::Info).message("hello"));
    /// let loaded = Snapshot::from_json(&rec.export_json().unwrap()).unwrap();
    /// assert_eq!(loaded.events()[0].message, "hello");
    /// let err = Snapshot::from_json("{\"schema\": 1").unwrap_err();
    /// assert!(err.to_string().contains("line 1"));
    /// ```
    pub fn from_json(s: &str) -> Result<Snapshot, ImportError> {
        read_json(s.as_bytes())
    }

    /// Loads an export document from a reader.
    pub fn from_reader<R: io::Read>(r: R) -> Result<Snapshot, ImportError> {
        read_json_reader(r)
    }
}
