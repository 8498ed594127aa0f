//! The stream file's lines — events and `Gap` markers — and reading them back.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::event::EventRecord;
use crate::model::Timestamp;
use crate::read::export::ImportError;

use super::rotate::Naming;

/// Events the stream is missing at this point: overwritten in the ring before the
/// exporter read them, dropped when recorded, or dropped from the exporter's backlog
/// while the file could not be written. Written as
/// `{"type":"Gap","lost":N,"at":"<RFC 3339>"}`.
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

#[derive(Serialize)]
struct GapOut {
    #[serde(rename = "type")]
    ty: &'static str,
    lost: u64,
    at: Timestamp,
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

/// Reads only the `type` member, to tell a gap from an event.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type", default)]
    ty: Option<String>,
}

/// Appends `g` as one line.
pub(crate) fn write_gap(buf: &mut Vec<u8>, g: &Gap) -> serde_json::Result<()> {
    serde_json::to_writer(
        &mut *buf,
        &GapOut {
            ty: "Gap",
            lost: g.lost,
            at: g.at,
        },
    )?;
    buf.push(b'\n');
    Ok(())
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
/// Blank lines are skipped; the first bad line stops the read with its 1-based number
/// and what was wrong.
///
/// ```
/// use flightring::exporter::{read_stream, StreamLine};
/// let text = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n\
///             {\"type\":\"Gap\",\"lost\":3,\"at\":\"2026-01-01T00:00:01Z\"}\n";
/// let lines = read_stream(text.as_bytes()).unwrap();
/// assert!(matches!(&lines[0], StreamLine::Event(e) if e.message == "hi"));
/// assert!(matches!(&lines[1], StreamLine::Gap(g) if g.lost == 3));
/// ```
pub fn read_stream<R: BufRead>(r: R) -> Result<Vec<StreamLine>, ImportError> {
    let mut out = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let is_gap = serde_json::from_str::<Probe>(text)
            .ok()
            .and_then(|p| p.ty)
            .is_some();
        if is_gap {
            let g: GapIn = parse_line(text, i + 1)?;
            let GapTag::Gap = g.ty;
            out.push(StreamLine::Gap(Gap {
                lost: g.lost,
                at: g.at,
            }));
        } else {
            out.push(StreamLine::Event(parse_line(text, i + 1)?));
        }
    }
    Ok(out)
}

/// Reads one stream file, current or rotated: gzip-compressed files (recognised by
/// their magic bytes, whatever their name) are decompressed as they are read.
pub fn read_stream_file(path: impl AsRef<Path>) -> Result<Vec<StreamLine>, ImportError> {
    let mut f = BufReader::new(File::open(path.as_ref())?);
    let gz = f.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gz {
        read_stream(BufReader::new(flate2::read::MultiGzDecoder::new(f)))
    } else {
        read_stream(f)
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
