//! Recordings: sessions of events, opened from any file flightring writes (and the seed
//! recorder's recordings), taken live, summarised, filtered and written back.
//!
//! | what | where |
//! | --- | --- |
//! | the type | [`Recording`]: name, start, duration, events with offsets, [`GapMark`]s, [`Losses`] |
//! | open | [`Recording::open`], [`Recording::open_all`] (a rotated set), [`Recording::open_stream`], [`Entries`] (one entry at a time, bounded memory) |
//! | take live | [`crate::Recorder::start_recording`] → [`RecordingSession`] → `stop()` / `save(dir)` |
//! | look | [`Recording::summary`] ([`Summary`]), [`Recording::timeline`] |
//! | cut | [`Filter`] → [`Filter::apply`] → a new recording |
//! | write | [`Recording::save`], [`Recording::write_json`], [`Recording::write_jsonl`], [`Recording::write_csv`], [`Recording::write_seed_json`], [`Recording::write_seed_jsonl`] |
//!
//! Gaps and losses are part of the recording, never dropped on the way: a stream's gap
//! lines become [`GapMark`]s (kept through filtering and conversion), an export's loss
//! counters are in [`Recording::losses`]. Bad input gets a [`RecordingError`] naming the
//! file, line and column; nothing here panics on input.
//!
//! This module uses the crate's public API only.

mod doc;
mod error;
mod filter;
mod load;
mod model;
pub mod seed;
mod session;
mod summary;

pub use doc::{write_csv_row, write_stream_line, RECORDING_SCHEMA, RECORDING_SCHEMA_VERSION};
pub use error::RecordingError;
pub use filter::Filter;
pub use load::{Entries, MAX_LINE_BYTES};
pub use model::{Entry, GapMark, Losses, Recording, Source};
pub use session::RecordingSession;
pub use summary::{
    duration_of, format_offset, gap_line, timeline_line, Latency, Summary, SummaryBuilder,
};
