//! flightring: a lock-free, in-memory flight recorder for diagnostics.
//!
//! Busy programs — P2P nodes, block processors, relays — record what happens to them
//! into a fixed-capacity, sharded ring of severity-tagged events. Recording costs tens
//! of nanoseconds, takes no lock, allocates nothing and never waits for a reader.
//! Counters and histograms summarise the stream; snapshots, queries, health checks and
//! JSON exports read it without ever blocking a writer. When something goes wrong, the
//! last minutes of events are there, whole.
//!
//! ```
//! use std::time::Duration;
//! use flightring::{Direction, Event, HealthStatus, Query, Recorder, Severity};
//!
//! let rec = Recorder::builder().capacity(65_536).build()?;
//! rec.peer_connected("peer123", "192.168.1.100:8333");
//! rec.message("peer123", "version", Direction::Outbound, 150);
//! rec.record(&Event::new("block", Severity::Warning).message("slow block").field("ms", 950u64));
//! rec.observe("rpc.getReserves", Duration::from_micros(850));
//!
//! let newest = rec.query(&Query::new().limit(50).min_severity(Severity::Info));
//! assert_eq!(newest[0].message, "slow block");
//! assert_eq!(rec.stats().active_peers, 1);
//! assert_eq!(rec.health().status, HealthStatus::Healthy);
//! let json = rec.export_json()?;
//! # let _ = json;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | what | where |
//! | --- | --- |
//! | build and configure | [`Recorder::builder`], [`Builder`], [`Config`], [`ConfigError`] |
//! | record | [`Recorder::record`], [`Event`], [`Kind`], [`Recorder::peer_connected`], [`Recorder::message`], [`Recorder::error`], [`Recorder::observe`] |
//! | read | [`Recorder::snapshot`], [`Snapshot`], [`Recorder::query`], [`Query`], [`EventRecord`] |
//! | follow | [`Recorder::cursor`], [`Cursor`]: each new event once, losses counted |
//! | stream to files | [`exporter::Exporter`], [`exporter::ExporterConfig`], [`exporter::read_stream_file`]: JSON Lines with gap lines, rotation, gzip, atomic snapshot file |
//! | summarise | [`Recorder::stats`], [`Stats`], [`HistogramSummary`], [`Recorder::health`], [`Health`] |
//! | record with a macro | [`record!`]: `record!(rec, Severity::Info, "peer_connected", peer = p, message = m, size = n)`, nothing built below level |
//! | flight-recorder events | [`Recorder::block_start`] … [`Recorder::block_gap`], [`PhaseGuard`], [`record_rpc_call!`], [`FlightEvent`], [`Recorder::report`] |
//! | configure from outside | [`Settings`]: `FLIGHTRING_*` variables and TOML files; [`RedactionConfig`]; [`install_panic_hook`] |
//! | integrations (features) | `integrations::tracing::FlightringLayer` (`tracing`), `integrations::metrics::FlightringMetrics` (`metrics`), `integrations::prometheus` (`prometheus`), `integrations::otlp::OtlpExporter` (`otlp`), `http` (`http`) |
//! | missed blocks (feature `monitor`) | `monitor::BlockMonitor`: gaps, duplicates, out-of-order, reorgs, delays, recovery, streaks, CSV / JSON Lines |
//! | alerts (feature `alerts`) | `alert::AlertManager`: console, rotated file, webhook, Slack, Discord, SMTP; background delivery, retries, throttling |
//! | recordings, replay | [`recording::Recording`] (opens every file we write and the seed recorder's), [`Recorder::start_recording`], [`recording::Filter`], [`replay::Replayer`]; the `flightring` binary (feature `cli`); `hdr`: HdrHistogram V2 interchange (feature `hdr`) |
//! | export and load | [`Recorder::export_json`], [`Recorder::write_jsonl`], [`Snapshot::from_json`], [`read_jsonl`] |
//!
//! The design — the slot protocol, the loss accounting, the clock — is described in
//! the modules' source and in the repository's `ARCHITECTURE.md`; the README documents
//! the export schema.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

// The layers, each importing only from the ones above it (see ARCHITECTURE.md):
// leaves, the data model, the hot path, the read side, the facade, the runtime, then
// the optional parts.
mod control;
mod lines;
mod macros;
mod sync;
mod text;
mod varint;

mod model;

mod core;

mod read;

mod recorder;

mod runtime;

pub mod exporter;
mod flight;
#[cfg(feature = "hdr")]
pub mod hdr;
#[cfg(feature = "http")]
pub mod http;
#[cfg(any(
    feature = "tracing",
    feature = "metrics",
    feature = "prometheus",
    feature = "otlp"
))]
pub mod integrations;
pub mod recording;
pub mod replay;
mod settings;

// The relay operator's half: built on the public API above, imported by nothing else.
#[cfg(feature = "alerts")]
pub mod alert;
#[cfg(feature = "monitor")]
pub mod monitor;

pub use crate::core::codec::CodecError;
pub use crate::core::histogram::HistogramSummary;
pub use crate::core::redact::{Redacted, Redactor};
pub use flight::{
    BlockReport, CacheReport, EndpointReport, ErrorReport, FlightEvent, FlightEventError,
    MethodReport, NetworkReport, PhaseGuard, PhaseOutcome, PhaseResult, PoolReport, RpcReport,
    FLIGHT_KINDS, KIND_BLOCK_END, KIND_BLOCK_GAP, KIND_BLOCK_SKIPPED, KIND_BLOCK_START,
    KIND_DECISION, KIND_ERROR_EVENT, KIND_PHASE_END, KIND_PHASE_START, KIND_RPC_CALL,
};
pub use model::{
    format_duration, parse_duration, Builder, Config, ConfigError, Direction, Event, EventRecord,
    FieldValue, HealthThresholds, Kind, Metadata, ParseDurationError, ParseSeverityError,
    ParseTimestampError, RedactionConfig, Severity, Timestamp, Value, DEFAULT_ALLOW_KEYS,
    DEFAULT_DENY_KEYS, MAX_CAPACITY, MAX_FIELDS, MIN_HEALTH_INTERVAL, MIN_RETENTION,
    MIN_SWEEP_INTERVAL, REDACTED, SLOT_SIZES,
};
pub use read::cursor::Batch;
pub use read::export::{
    read_jsonl, read_jsonl_partial, read_jsonl_with, write_csv_cell, CsvOptions, ExportError,
    ImportError, ReadLimits, CSV_HEADER, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_LINE_BYTES,
    SCHEMA, SCHEMA_VERSION,
};
pub use read::health::{Health, HealthFigures, HealthStatus};
pub use read::query::Query;
pub use read::snapshot::Snapshot;
pub use read::stats::{Rejected, Stats, TierStats, WindowStats};
pub use recorder::{Counter, Cursor, Histogram, Recorder};
pub use runtime::panic_hook::{
    install_panic_hook, PanicDump, PanicHook, PanicLocation, PanicRecord, PANIC_SCHEMA,
    PANIC_SCHEMA_VERSION,
};
pub use settings::{
    start_from_env, AlertSettings, EmailSettings, LoggingSettings, Settings, SettingsError,
    Started, ENV_ALIASES, ENV_VARS,
};

/// The README's examples, compiled and run as doctests so they cannot drift from the
/// API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The hot path's internals, for the loom model tests (`--cfg loom`) and the fuzz
/// targets (feature `internals`). Not part of the API: not built by default, not covered
/// by semver, may change in any release.
#[cfg(any(loom, feature = "internals"))]
#[doc(hidden)]
pub mod internals {
    pub use crate::core::interner::Interner;
    pub use crate::core::ring::{ReadAt, Shard};
    pub use crate::core::slot::Prior;

    /// Encodes `ev` into `out` the way the record path does; returns (bytes used,
    /// truncated).
    pub fn encode(
        ev: &crate::Event<'_>,
        kind_id: u16,
        raw_ts: u64,
        out: &mut [u8],
    ) -> (usize, bool) {
        let e = crate::core::codec::encode(ev, kind_id, raw_ts, out);
        (e.len, e.truncated)
    }

    /// The cells the record path gives `ev` under `max_event_bytes`, and whether it is
    /// truncated: `ceil(size / 56)` of its whole size when that fits, else of its
    /// encoding cut to `max_event_bytes`.
    pub fn cells_needed(
        ev: &crate::Event<'_>,
        kind_id: u16,
        max_event_bytes: usize,
    ) -> (usize, bool) {
        use crate::core::{codec, slot::CELL_PAYLOAD};
        match codec::plan_whole(ev, kind_id) {
            Some(n) if n <= max_event_bytes => (n.div_ceil(CELL_PAYLOAD), false),
            _ => {
                let mut buf = vec![0u8; max_event_bytes];
                let e = codec::encode_cut_to_buf(ev, kind_id, 0, &mut buf);
                (e.len.div_ceil(CELL_PAYLOAD), e.truncated)
            }
        }
    }

    /// Decodes a payload into (kind id, inline kind, severity, peer, message, fields,
    /// truncated), or the error.
    #[allow(clippy::type_complexity)]
    pub fn decode(
        b: &[u8],
    ) -> Result<
        (
            u16,
            Option<&str>,
            crate::Severity,
            Option<&str>,
            &str,
            Vec<(&str, crate::FieldValue<'_>)>,
            bool,
        ),
        crate::CodecError,
    > {
        let d = crate::core::codec::decode(b)?;
        Ok((
            d.header.kind_id,
            d.kind_inline,
            d.severity,
            d.peer,
            d.message,
            d.fields().to_vec(),
            d.header.truncated(),
        ))
    }
}
