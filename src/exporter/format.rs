//! The stream file's lines — a header, events and gap markers, all in the event shape
//! so that `pd.read_json(lines=True)` and DuckDB's `read_ndjson_auto` load a rotated
//! set as one table — and reading them back.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::event::{EventRecord, Metadata, Value};
use crate::model::{Severity, Timestamp};
use crate::read::export::{all_or_error, collect_lines, ImportError, ReadLimits};

use super::rotate::Naming;

/// The `event_type` of a gap line.
pub const GAP_KIND: &str = "flightring.gap";
/// The `event_type` of the line that starts every stream file.
pub const STREAM_KIND: &str = "flightring.stream";
/// The stream format's version, in the header line's `metadata.schema_version`:
/// 2 since gap lines have the event shape (1 wrote `{"type":"Gap",…}`, still read).
pub const STREAM_SCHEMA_VERSION: u64 = 2;

/// Events the stream is missing at this point: overwritten in the ring before the
/// exporter read them, dropped when recorded, or dropped from the exporter's backlog
/// while the file could not be written. Written in the event shape:
/// `{"id":0,"timestamp":"<when noticed>","severity":"WARNING","event_type":"flightring.gap",
/// "message":"N events missing","metadata":{"lost":N},"truncated":false}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// How many events are missing.
    pub lost: u64,
    /// When the exporter noticed (the latest notice, when several were merged).
    pub at: Timestamp,
}

/// One line of a stream file.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamLine {
    /// An event, in the JSON Lines form of [`crate::Recorder::write_jsonl`].
    Event(EventRecord),
    /// A gap marker.
    Gap(Gap),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GapIn {
    #[serde(rename = "type")]
    ty: GapTag,
    lost: u64,
    at: Timestamp,
}

#[derive(Deserialize)]
enum GapTag {
    Gap,
}

/// Reads only the `type` member, to tell a version-1 gap from an event.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type", default)]
    ty: Option<String>,
}

/// A line in the event shape that is not an event.
fn marker(
    kind: &str,
    at: Timestamp,
    severity: Severity,
    message: String,
    meta: Vec<(String, Value)>,
) -> EventRecord {
    EventRecord {
        id: 0,
        timestamp: at,
        severity,
        kind: kind.to_owned(),
        peer: None,
        message,
        metadata: Metadata(meta),
        truncated: false,
    }
}

/// A gap as the line the stream writes for it (the event shape, kind [`GAP_KIND`]).
pub fn gap_record(g: &Gap) -> EventRecord {
    marker(
        GAP_KIND,
        g.at,
        Severity::Warning,
        format!("{} events missing", g.lost),
        vec![("lost".into(), Value::U64(g.lost))],
    )
}

/// Appends `g` as one line.
pub(crate) fn write_gap(buf: &mut Vec<u8>, g: &Gap) -> serde_json::Result<()> {
    write_event(buf, &gap_record(g))
}

/// Appends the header line every stream file starts with.
pub(crate) fn write_header(buf: &mut Vec<u8>) -> serde_json::Result<()> {
    let line = marker(
        STREAM_KIND,
        Timestamp::now(),
        Severity::Info,
        "flightring JSON Lines stream".into(),
        vec![
            ("schema".into(), Value::Str(STREAM_KIND.into())),
            ("schema_version".into(), Value::U64(STREAM_SCHEMA_VERSION)),
        ],
    );
    write_event(buf, &line)
}

/// Appends `e` as one line.
pub(crate) fn write_event(buf: &mut Vec<u8>, e: &EventRecord) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *buf, e)?;
    buf.push(b'\n');
    Ok(())
}

fn invalid(e: serde_path_to_error::Error<serde_json::Error>, line: usize) -> ImportError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let msg = inner.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    ImportError::Invalid {
        line,
        column: inner.column(),
        path,
        message,
    }
}

fn parse_line<'de, T: Deserialize<'de>>(s: &'de str, line: usize) -> Result<T, ImportError> {
    let mut de = serde_json::Deserializer::from_str(s);
    let v = serde_path_to_error::deserialize(&mut de).map_err(|e| invalid(e, line))?;
    de.end().map_err(|e| ImportError::Invalid {
        line,
        column: e.column(),
        path: ".".into(),
        message: "trailing characters after the line's object".into(),
    })?;
    Ok(v)
}

/// Reads a stream file's lines (uncompressed; see [`read_stream_file`] for `.gz`).
/// Blank lines and header lines are skipped; gap lines of either version are read; the
/// first bad line stops the read with its 1-based number
/// and what was wrong.
///
/// ```
/// use flightring::exporter::{read_stream, StreamLine};
/// let text = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n\
///             {\"id\":0,\"timestamp\":\"2026-01-01T00:00:01Z\",\"severity\":\"WARNING\",\"event_type\":\"flightring.gap\",\"message\":\"3 events missing\",\"metadata\":{\"lost\":3},\"truncated\":false}\n\
///             {\"type\":\"Gap\",\"lost\":2,\"at\":\"2026-01-01T00:00:02Z\"}\n";
/// let lines = read_stream(text.as_bytes()).unwrap();
/// assert!(matches!(&lines[0], StreamLine::Event(e) if e.message == "hi"));
/// assert!(matches!(&lines[1], StreamLine::Gap(g) if g.lost == 3));
/// assert!(matches!(&lines[2], StreamLine::Gap(g) if g.lost == 2)); // version 1
/// ```
pub fn read_stream<R: BufRead>(r: R) -> Result<Vec<StreamLine>, ImportError> {
    read_stream_with(r, &ReadLimits::default())
}

/// [`read_stream`] within `limits` (the longest line).
pub fn read_stream_with<R: BufRead>(
    r: R,
    limits: &ReadLimits,
) -> Result<Vec<StreamLine>, ImportError> {
    all_or_error(read_stream_partial(r, limits))
}

/// Reads a stream as [`read_stream`] does, but keeps what was read: every line before
/// the first bad one, broken-off input (a truncated gzip stream) or overlong line, and
/// that error.
pub fn read_stream_partial<R: BufRead>(
    r: R,
    limits: &ReadLimits,
) -> (Vec<StreamLine>, Option<ImportError>) {
    collect_lines(r, limits, |text, n| parse_stream_line(text.trim(), n))
}

/// One line of a stream: an event, a gap (either version), or `None` for a header.
fn parse_stream_line(text: &str, line: usize) -> Result<Option<StreamLine>, ImportError> {
    let legacy_gap = serde_json::from_str::<Probe>(text)
        .ok()
        .and_then(|p| p.ty)
        .is_some();
    if legacy_gap {
        let g: GapIn = parse_line(text, line)?;
        let GapTag::Gap = g.ty;
        return Ok(Some(StreamLine::Gap(Gap {
            lost: g.lost,
            at: g.at,
        })));
    }
    let e: EventRecord = parse_line(text, line)?;
    let bad = |path: &str, message: &str| ImportError::Invalid {
        line,
        column: 1,
        path: path.into(),
        message: message.into(),
    };
    match e.kind.as_str() {
        GAP_KIND => {
            let lost = e
                .metadata
                .get("lost")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(".metadata.lost", "a gap line needs a count `lost`"))?;
            Ok(Some(StreamLine::Gap(Gap {
                lost,
                at: e.timestamp,
            })))
        }
        STREAM_KIND => {
            let v = e.metadata.get("schema_version").and_then(Value::as_u64);
            match v {
                Some(v) if v <= STREAM_SCHEMA_VERSION => Ok(None),
                _ => Err(bad(
                    ".metadata.schema_version",
                    "a stream of a newer format version than this build reads",
                )),
            }
        }
        _ => Ok(Some(StreamLine::Event(e))),
    }
}

/// Reads one stream file, current or rotated: gzip-compressed files (recognised by
/// their magic bytes, whatever their name) are decompressed as they are read.
pub fn read_stream_file(path: impl AsRef<Path>) -> Result<Vec<StreamLine>, ImportError> {
    all_or_error(read_stream_file_partial(path, &ReadLimits::default()))
}

/// [`read_stream_file`] within `limits`, keeping what was read before the first error
/// (a gzip file cut short keeps every whole line before the cut; the error says where:
/// [`ImportError::Damaged`]).
pub fn read_stream_file_partial(
    path: impl AsRef<Path>,
    limits: &ReadLimits,
) -> (Vec<StreamLine>, Option<ImportError>) {
    let open = || -> io::Result<(BufReader<File>, bool)> {
        let mut f = BufReader::new(File::open(path.as_ref())?);
        let gz = f.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        Ok((f, gz))
    };
    match open() {
        Ok((f, true)) => {
            read_stream_partial(BufReader::new(flate2::read::MultiGzDecoder::new(f)), limits)
        }
        Ok((f, false)) => read_stream_partial(f, limits),
        Err(e) => (Vec::new(), Some(ImportError::Io(e))),
    }
}

/// The files of the stream whose current file is `path`, oldest first: the rotated
/// files (`.gz` or not) by sequence number, then `path` itself if it exists. Reading
/// them in this order with [`read_stream_file`] gives the whole retained stream.
pub fn stream_files(path: impl AsRef<Path>) -> io::Result<Vec<PathBuf>> {
    let path = path.as_ref();
    let naming = Naming::new(path);
    let mut out: Vec<PathBuf> = naming
        .scan()?
        .into_iter()
        .filter(|r| !r.temp)
        .map(|r| r.path)
        .collect();
    if path.exists() {
        out.push(path.to_owned());
    }
    Ok(out)
}
