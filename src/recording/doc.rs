//! The recording document (`"schema": "flightring.recording"`) and writing a recording
//! in every format: recording, JSON Lines (with gap lines), CSV, the seed shapes.
//!
//! ```text
//! {"schema": "flightring.recording", "schema_version": 1,
//!  "session_name": "bull_run_2025", "start_time": "2026-11-22T05:54:58.123456789Z",
//!  "duration_ms": 61234.5, "total_events": 2, "source": "recording",
//!  "losses": {"in_gaps": 0, "gaps": 0, "truncated_events": 0, …},   // written, not read
//!  "gaps": [{"before": 1, "lost": 3, "at": "…"}],
//!  "stats": {…} | null,  "panic": {…} | null,
//!  "events": [ <export events: id, timestamp, severity, event_type, peer_id, message, metadata> ]}
//! ```
//!
//! The first five members after the schema are the seed recorder's, so its tools find
//! the session name, start and length where they expect them.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{write_csv_cell, CsvOptions, EventRecord, PanicRecord, Stats, Timestamp};

use super::model::entries_of;
use super::{Entry, GapMark, Losses, Recording, RecordingError, Source};

/// The `schema` value of a recording document.
pub const RECORDING_SCHEMA: &str = "flightring.recording";
/// The version of the recording document this library writes (and the newest it reads).
pub const RECORDING_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct DocOut<'a> {
    schema: &'static str,
    schema_version: u32,
    session_name: &'a str,
    start_time: Timestamp,
    duration_ms: f64,
    total_events: usize,
    source: Source,
    losses: Losses,
    gaps: &'a [GapMark],
    stats: Option<&'a Stats>,
    panic: Option<&'a PanicRecord>,
    events: &'a [EventRecord],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordingDoc {
    #[allow(dead_code)]
    schema: String,
    schema_version: u32,
    session_name: String,
    start_time: Timestamp,
    duration_ms: f64,
    #[allow(dead_code)]
    total_events: u64,
    #[serde(default = "default_source")]
    source: Source,
    #[serde(default)]
    #[allow(dead_code)]
    losses: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    gaps: Vec<GapMark>,
    #[serde(default)]
    stats: Option<Stats>,
    #[serde(default)]
    panic: Option<PanicRecord>,
    events: Vec<EventRecord>,
}

fn default_source() -> Source {
    Source::Recording
}

impl RecordingDoc {
    pub(crate) fn into_recording(self, path: &Path) -> Result<Recording, RecordingError> {
        if self.schema_version > RECORDING_SCHEMA_VERSION {
            return Err(RecordingError::format(
                path,
                format!(
                    "recording schema version {} is newer than this library reads (up to {})",
                    self.schema_version, RECORDING_SCHEMA_VERSION
                ),
            ));
        }
        if !self.duration_ms.is_finite() || self.duration_ms < 0.0 || self.duration_ms > 1e15 {
            return Err(RecordingError::format(
                path,
                format!("duration_ms {} is not a duration", self.duration_ms),
            ));
        }
        let n = self.events.len();
        if let Some(g) = self.gaps.iter().find(|g| g.before > n) {
            return Err(RecordingError::format(
                path,
                format!("a gap stands before event {} of {n}", g.before),
            ));
        }
        let mut r = Recording {
            name: self.session_name,
            start_time: self.start_time,
            duration: Duration::from_secs_f64(self.duration_ms / 1000.0),
            events: self.events,
            gaps: self.gaps,
            source: self.source,
            stats: self.stats,
            panic: self.panic,
        };
        r.sort_events();
        Ok(r)
    }
}

fn to_io(e: serde_json::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes one event as a CSV row (columns: [`crate::CSV_HEADER`]), cells written by
/// [`write_csv_cell`] with `opts`.
pub fn write_csv_row<W: Write>(w: &mut W, e: &EventRecord, opts: CsvOptions) -> io::Result<()> {
    write!(w, "{},{},{},", e.id, e.timestamp, e.severity.as_str())?;
    write_csv_cell(w, e.kind.as_bytes(), opts)?;
    w.write_all(b",")?;
    write_csv_cell(w, e.peer.as_deref().unwrap_or("").as_bytes(), opts)?;
    w.write_all(b",")?;
    write_csv_cell(w, e.message.as_bytes(), opts)?;
    w.write_all(b",")?;
    write_csv_cell(
        w,
        serde_json::to_string(&e.metadata)
            .map_err(to_io)?
            .as_bytes(),
        opts,
    )?;
    w.write_all(if e.truncated {
        b",true\r\n"
    } else {
        b",false\r\n"
    })
}

/// Writes one entry as a stream line (event or gap), as the exporter writes them.
pub fn write_stream_line<W: Write>(w: &mut W, entry: &Entry) -> io::Result<()> {
    match entry {
        Entry::Event(e) => serde_json::to_writer(&mut *w, e).map_err(to_io)?,
        Entry::Gap(g) => {
            serde_json::to_writer(&mut *w, &crate::exporter::gap_record(g)).map_err(to_io)?
        }
    }
    w.write_all(b"\n")
}

impl Recording {
    /// Writes the recording document (see the module docs).
    pub fn write_json<W: Write>(&self, w: W) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, w);
        let doc = DocOut {
            schema: RECORDING_SCHEMA,
            schema_version: RECORDING_SCHEMA_VERSION,
            session_name: &self.name,
            start_time: self.start_time,
            duration_ms: self.duration.as_secs_f64() * 1000.0,
            total_events: self.events.len(),
            source: self.source,
            losses: self.losses(),
            gaps: &self.gaps,
            stats: self.stats.as_ref(),
            panic: self.panic.as_ref(),
            events: &self.events,
        };
        serde_json::to_writer(&mut w, &doc).map_err(to_io)?;
        w.write_all(b"\n")?;
        w.flush()
    }

    /// The recording document as a string.
    pub fn to_json(&self) -> io::Result<String> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        String::from_utf8(out).map_err(io::Error::other)
    }

    /// Writes the events as a stream file: JSON Lines, gaps as gap lines where they
    /// stood. Opens back as a recording of source [`Source::Stream`].
    pub fn write_jsonl<W: Write>(&self, w: W) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, w);
        for entry in entries_of(self) {
            write_stream_line(&mut w, &entry)?;
        }
        w.flush()
    }

    /// Writes the events as CSV with [`crate::CSV_HEADER`] (gaps are not rows; see
    /// [`Recording::losses`]), cells that begin like a formula neutralised.
    pub fn write_csv<W: Write>(&self, w: W) -> io::Result<()> {
        self.write_csv_with(w, CsvOptions::default())
    }

    /// [`Recording::write_csv`] with `opts` (e.g. [`CsvOptions::raw`]).
    pub fn write_csv_with<W: Write>(&self, w: W, opts: CsvOptions) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, w);
        w.write_all(crate::CSV_HEADER.as_bytes())?;
        w.write_all(b"\r\n")?;
        for e in &self.events {
            write_csv_row(&mut w, e, opts)?;
        }
        w.flush()
    }

    /// Writes the seed recorder's recording shape (see [`super::seed`]).
    pub fn write_seed_json<W: Write>(&self, w: W) -> io::Result<()> {
        super::seed::write_seed_json(self, w)
    }

    /// Writes the flight recorder's flat lines (see [`super::seed`]): what its `jq`
    /// recipes read.
    pub fn write_seed_jsonl<W: Write>(&self, w: W) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, w);
        for entry in entries_of(self) {
            match entry {
                Entry::Event(e) => super::seed::write_seed_line(&mut w, &e, self.offset(&e))?,
                Entry::Gap(g) => super::seed::write_seed_gap(&mut w, g.lost, self.offset_at(g.at))?,
            }
        }
        w.flush()
    }

    /// Saves the recording document into directory `dir` as `<name>.recording.json`
    /// (the name's `/`, `\` and control characters replaced by `_`), written to a
    /// temporary file, synced and renamed into place. Returns the file's path.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<std::path::PathBuf, RecordingError> {
        let dir = dir.as_ref();
        let safe: String = self
            .name
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let safe = if safe.is_empty() || safe == "." || safe == ".." {
            "recording".to_owned()
        } else {
            safe
        };
        let path = dir.join(format!("{safe}.recording.json"));
        self.save_as(&path)?;
        Ok(path)
    }

    /// Saves the recording document to `path` (temporary file, sync, rename).
    pub fn save_as(&self, path: impl AsRef<Path>) -> Result<(), RecordingError> {
        let path = path.as_ref();
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let res = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            self.write_json(&mut f)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        res.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            RecordingError::io(path, e)
        })
    }
}
