//! Streaming export to files: [`Exporter`], one background thread that follows the ring
//! and appends every event once to a JSON Lines file, rotates and compresses that file,
//! and periodically replaces a snapshot file with the full JSON document.
//!
//! ```
//! use flightring::exporter::{read_stream_file, Exporter, ExporterConfig, StreamLine};
//! use flightring::{Event, Recorder, Severity};
//!
//! let dir = std::env::temp_dir().join(format!("flightring-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let rec = Recorder::builder().capacity(4096).build()?;
//! let cfg = ExporterConfig { path: dir.join("flight_recorder.jsonl"), ..ExporterConfig::default() };
//! let exporter = Exporter::start(&rec, cfg)?;
//! rec.record(&Event::new("block", Severity::Info).message("block 812345 processed"));
//! exporter.flush()?; // everything recorded so far is in the file
//! let lines = read_stream_file(dir.join("flight_recorder.jsonl"))?;
//! assert!(matches!(&lines[0], StreamLine::Event(e) if e.message == "block 812345 processed"));
//! exporter.close()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The stream file
//!
//! UTF-8 JSON Lines: one JSON object per line, every line ending in `\n`. A line is one
//! of:
//!
//! - an **event**, exactly as [`Recorder::write_jsonl`](crate::Recorder::write_jsonl)
//!   writes it: `{"id":…,"timestamp":"…Z","severity":"INFO","event_type":"…",
//!   "peer_id":"…","message":"…","metadata":{…},"truncated":false}` (schema in the
//!   README; `peer_id` only when set);
//! - a **gap**, in the same shape: `"event_type":"flightring.gap"`, severity `WARNING`,
//!   `"metadata":{"lost":N}`, the timestamp when the exporter noticed — N events are
//!   missing from the stream at this point: overwritten in the ring before the
//!   exporter read them (it fell a lap behind), dropped by their writer, or dropped
//!   from the exporter's backlog while the file could not be written. A gap stands
//!   before the events read after it was noticed. Every file starts with a header
//!   line (`"event_type":"flightring.stream"`, `metadata.schema_version`).
//!
//! Events come in the order the exporter read them: each read takes every shard's news
//! and sorts it by `(timestamp, id)`; one thread's events are in order when the ring
//! has one shard, and across shards two events recorded within the same few
//! microseconds can come in consecutive reads out of order (sort by
//! `(timestamp, id)` when that matters). [`read_stream`] and [`read_stream_file`] read
//! the lines back ([`crate::read_jsonl`] refuses gap lines); [`stream_files`] lists a
//! stream's files oldest first.
//!
//! # Loss accounting
//!
//! Every event recorded while the exporter runs is in the files exactly once, or counted
//! by a gap line: after a successful [`Exporter::flush`], the events written plus the
//! gap lines' sum equal the events recorded since start plus those dropped by writers
//! (`Stats::total_recorded` + `Stats::dropped`, the cursor's positions).
//! [`ExporterStats`] carries the same figures (`events_written`, `gaps`, `lost`).
//!
//! # Rotation
//!
//! Before a write would take the current file `<stem><ext>` (default
//! `flight_recorder.jsonl`) past `rotate_bytes`, the file is synced, closed and renamed
//! to `<stem>.<seq><ext>` — `flight_recorder.000001.jsonl`, `…000002…`: a sequence
//! number of at least six digits that only grows (one more than the highest found in the
//! directory, so it continues across restarts); older files are never renamed. With
//! `gzip` the rotated file is then compressed to `…000001.jsonl.gz` (written as
//! `.gz.tmp`, synced, renamed into place, then the uncompressed copy is removed).
//! Rotated files beyond the newest `keep_files`, and those last written more than
//! `max_age` ago, are deleted — after each rotation and once a minute. A rotated file
//! ends with a whole line and is never written again. A single line larger than
//! `rotate_bytes` gets a file of its own. Files that are not regular (a pipe,
//! `/dev/null`) are never rotated. One exporter per stream path.
//!
//! # The snapshot file
//!
//! With `snapshot_path`, at start, every `snapshot_interval` and at close, the full JSON
//! document ([`Recorder::write_json`](crate::Recorder::write_json)) is written to a
//! hidden temporary file beside it, synced and renamed over it: a reader sees the
//! previous document or the new one, whole, never a part.
//!
//! # Batching and timing
//!
//! The thread polls the ring every 1–20 ms (sooner the faster the ring fills, so it reads
//! events before they are overwritten) and writes when `batch_events` events are
//! pending, when the oldest pending line has waited `flush_interval`, on `flush()` and on
//! `close()`. Each event is formatted as its JSON line when it is read, straight from
//! the ring's bytes (no owned copy, no allocation per event); a write copies lines.
//! Compressing and pruning rotated files happen on a second thread
//! (`flightring-gzip`), woken after each rotation and once a minute, so gzip never
//! holds up reading the ring; `close()` waits for its last pass.
//!
//! # Faults
//!
//! An unwritable path fails [`Exporter::start`] with [`ExporterError::Open`], naming the
//! path and the operating system's error. A file operation that fails later — disk full,
//! directory removed, permission changed — is counted in [`ExporterStats::io_errors`]
//! and `last_error`, and shown by [`Recorder::health`](crate::Recorder::health) as
//! Degraded with the reason `"exporter: <what> <path>: <os error>"`; the unwritten
//! events are kept (at most 4 × `batch_events`; older ones are dropped and reported by
//! a gap line) and the write is retried every `flush_interval`. A failed write is cut
//! back to the file's last whole line, a removed or replaced file is recreated at its
//! path (in append mode), and rotated files are not touched. When a write succeeds again
//! the fault is cleared. Recording never waits for any of this.
//!
//! # Guarantees
//!
//! - Writers are never blocked: the exporter reads the ring like a snapshot does.
//! - Each event is written at most once, and each one missing is counted in a gap line.
//! - The current file ends with a whole line after every write, flush and close; a
//!   rotated file is complete, synced before its rename, and never modified after.
//! - The snapshot file is always a whole document.
//! - Nothing here panics; `close()` and drop flush, write the last snapshot and stop the
//!   thread promptly.

mod config;
mod error;
mod format;
mod maintainer;
mod rotate;
mod snapshot_file;
mod stream;

pub use config::ExporterConfig;
pub use error::ExporterError;
pub use format::{
    gap_record, read_stream, read_stream_file, read_stream_file_partial, read_stream_partial,
    read_stream_with, stream_files, Gap, StreamLine, GAP_KIND, STREAM_KIND, STREAM_SCHEMA_VERSION,
};
pub use stream::{Exporter, ExporterStats, FAULT_COMPONENT, THREAD_NAME};
