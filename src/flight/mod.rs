//! The flight-recorder event set: typed helpers for blocks, phases, decisions, RPC
//! calls and errors ([`Recorder::block_start`] … [`Recorder::block_gap`]), an RAII
//! [`PhaseGuard`], [`FlightEvent`] to read them back from an export, and the
//! [`NetworkReport`] built from counters and histograms.
//!
//! Each helper records an ordinary flightring event with a fixed kind (its
//! `event_type`) and typed metadata, and updates named counters and histograms. Like
//! [`Recorder::record`], the helpers take no lock and allocate nothing in steady state:
//! derived names such as `phase.<name>` or `rpc.<endpoint>.success` are formatted into
//! a 128-byte stack buffer (cut, on a character boundary, when longer; the suffix is
//! always kept). A kind's, counter's or histogram's first use interns its name, which
//! allocates once.
//!
//! # Kinds and their fields
//!
//! `block` is present only when the caller passed `Some(block)`. Durations are
//! nanoseconds (`u64`). Numeric fields come first so that, in a slot too small for the
//! whole event, the strings are what gets cut (the event is then flagged `truncated`).
//! The free-text part of an event goes in its `message`; an RPC's endpoint goes in
//! `peer_id`, so `Query::peer` finds every call to one endpoint.
//!
//! | kind | severity | `peer_id` | `message` | metadata fields, in order |
//! | --- | --- | --- | --- | --- |
//! | `block_start` | Info | – | – | `block` |
//! | `block_end` | Info | – | – | `block`, `duration_ns`, `routes_generated`, `routes_filtered`, `opportunities` |
//! | `phase_start` | Debug | – | phase | `block`?, then the caller's metadata (at most 7 fields) |
//! | `phase_end` | Info; Warning on failure | – | phase | `block`?, `duration_ns`, `result`, `reason` (failures only) |
//! | `decision` | Info | – | reason | `block`?, `component`, `action`, `context` |
//! | `rpc_call` | Debug; Warning on failure | endpoint | method | `block`?, `duration_ns`, `success`, `payload_bytes`, `requested`, `returned` |
//! | `error_event` | Error | – | error message | `block`?, `component`, `error_type`, `context` |
//! | `block_skipped` | Warning | – | reason | `block`, `last_processed_block` |
//! | `block_gap` | Warning | – | – | `from_block`, `to_block`, `gap_blocks` |
//!
//! `result` is one of `success`, `cache_hit`, `cache_miss`, `failure` (see
//! [`PhaseResult`]). A block gap covers the half-open range `from_block..to_block`:
//! `gap_blocks = to_block − from_block` blocks were never seen.
//!
//! Every kind is stored whole up to `max_event_bytes` (2 KiB by default) of peer,
//! message and fields: a 60-character RPC endpoint, a 52-character libp2p peer id or a
//! pool address in a decision's context take a few more 64-byte cells of ring, not a
//! cut. Only a larger event is cut (flagged `truncated`; the numbers survive).
//!
//! # Counters and histograms
//!
//! | updated by | named counters ([`Recorder::add`]) | histograms |
//! | --- | --- | --- |
//! | `block_end` | `blocks_processed`, `routes_generated`, `routes_filtered`, `opportunities` | `block.duration` |
//! | `block_skipped` | `blocks_skipped` | |
//! | `block_gap` | `blocks_missed` (+ `gap_blocks`) | |
//! | `phase_end` | `cache_hits` (result `cache_hit`), `cache_misses` (result `cache_miss`) | `phase.<phase>` |
//! | `rpc_call` | `rpc.<endpoint>.success` or `rpc.<endpoint>.failure` | `rpc.<method>` |
//! | `error_event` | `errors.<component>` | |
//! | [`Recorder::pools_discovered`] | `pools_discovered` | |
//! | [`Recorder::pools_validated`] | `pools_validated`, `pools_validation_failed` | |
//!
//! As everywhere in flightring, counters are kept while the recorder is disabled or
//! below level (they are the program's figures); histograms are skipped while it is
//! disabled; events obey the level.
//!
//! # Macros
//!
//! [`record_phase_start!`](crate::record_phase_start),
//! [`record_phase_end!`](crate::record_phase_end) and
//! [`record_rpc_call!`](crate::record_rpc_call) check the gate first (one relaxed
//! load) and evaluate none of their other arguments when it is shut: while the recorder
//! is disabled they cost nothing, and update no counter either.
//!
//! # Reading back
//!
//! [`FlightEvent::from_record`] turns an [`EventRecord`] (from a snapshot, a query, or
//! a loaded JSON / JSON Lines export) back into a typed event, or says which field of
//! which kind is missing or mistyped. In an event flagged `truncated`, a missing string
//! field reads back as `""`; a missing number is an error.
//!
//! # The network status report
//!
//! [`Recorder::report`] reads [`Recorder::stats`] once — counters and histogram
//! summaries, no event is scanned — and computes block, RPC, error, cache and pool
//! figures (see [`NetworkReport`] for each one's source).
//!
//! **What "the period" means.** Counters and histograms are cumulative since the
//! recorder was built (`clear()` does not reset them) and the recorder keeps no history
//! of them, so a single report cannot cut out exactly the last `period`: its figures
//! cover the recorder's whole life, which `covered_secs` states; `period_secs` echoes
//! what the caller asked for. For figures over each period, take a report every period
//! and call [`NetworkReport::since`] with the previous one: counts, rates and averages
//! are then exact for the interval; percentiles (`p99`) cannot be subtracted and stay
//! cumulative.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::core::histogram::HistogramSummary;
use crate::model::event::{Event, EventRecord, FieldValue, Metadata, Value};
use crate::model::severity::Severity;
use crate::model::Timestamp;
use crate::read::stats::Stats;
use crate::recorder::Recorder;
use crate::text::StackText;

// ------------------------------------------------------------------------ names

/// Kind of [`Recorder::block_start`] events.
pub const KIND_BLOCK_START: &str = "block_start";
/// Kind of [`Recorder::block_end`] events.
pub const KIND_BLOCK_END: &str = "block_end";
/// Kind of [`Recorder::phase_start`] events.
pub const KIND_PHASE_START: &str = "phase_start";
/// Kind of [`Recorder::phase_end`] events.
pub const KIND_PHASE_END: &str = "phase_end";
/// Kind of [`Recorder::decision`] events.
pub const KIND_DECISION: &str = "decision";
/// Kind of [`Recorder::rpc_call`] events.
pub const KIND_RPC_CALL: &str = "rpc_call";
/// Kind of [`Recorder::error_event`] events.
pub const KIND_ERROR_EVENT: &str = "error_event";
/// Kind of [`Recorder::block_skipped`] events.
pub const KIND_BLOCK_SKIPPED: &str = "block_skipped";
/// Kind of [`Recorder::block_gap`] events.
pub const KIND_BLOCK_GAP: &str = "block_gap";

/// Every flight-recorder kind.
pub const FLIGHT_KINDS: [&str; 9] = [
    KIND_BLOCK_START,
    KIND_BLOCK_END,
    KIND_PHASE_START,
    KIND_PHASE_END,
    KIND_DECISION,
    KIND_RPC_CALL,
    KIND_ERROR_EVENT,
    KIND_BLOCK_SKIPPED,
    KIND_BLOCK_GAP,
];

// The helpers' own names: reserved at build, so a full table never refuses them
// (`model/names.rs`).
const HIST_BLOCK: &str = RESERVED_HISTOGRAMS[0];
const C_BLOCKS_PROCESSED: &str = RESERVED_COUNTERS[0];
const C_BLOCKS_SKIPPED: &str = RESERVED_COUNTERS[1];
const C_BLOCKS_MISSED: &str = RESERVED_COUNTERS[2];
const C_ROUTES_GENERATED: &str = RESERVED_COUNTERS[3];
const C_ROUTES_FILTERED: &str = RESERVED_COUNTERS[4];
const C_OPPORTUNITIES: &str = RESERVED_COUNTERS[5];
const C_CACHE_HITS: &str = RESERVED_COUNTERS[6];
const C_CACHE_MISSES: &str = RESERVED_COUNTERS[7];
const C_POOLS_DISCOVERED: &str = RESERVED_COUNTERS[8];
const C_POOLS_VALIDATED: &str = RESERVED_COUNTERS[9];
const C_POOLS_FAILED: &str = RESERVED_COUNTERS[10];
use crate::model::names::{RESERVED_COUNTERS, RESERVED_HISTOGRAMS};

/// Longest derived counter or histogram name, in bytes.
const NAME_BYTES: usize = 128;

/// A derived name formatted on the stack (see [`compose`]).
type NameBuf = StackText<NAME_BYTES>;

/// `prefix`, `middle` and `suffix` joined in at most `NAME_BYTES`; when too long,
/// `middle` is cut so that `suffix` is always whole (so `….success` and `….failure`
/// never collide).
fn compose(prefix: &str, middle: &str, suffix: &str) -> NameBuf {
    let mut b = NameBuf::new();
    b.limit(NAME_BYTES - suffix.len().min(NAME_BYTES));
    let _ = b.write_str(prefix);
    let _ = b.write_str(middle);
    b.limit(NAME_BYTES);
    let _ = b.write_str(suffix);
    b
}

/// The name an endpoint gives its counters: a URL's host (and port), never its
/// credentials, path or query (`https://user:pw@rpc.example:8545/v3/KEY` →
/// `rpc.example:8545`); anything else as it is, after its last `@`.
fn endpoint_label(endpoint: &str) -> &str {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = match endpoint.contains("://") {
        true => rest.split(['/', '?', '#']).next().unwrap_or(rest),
        false => rest,
    };
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[inline]
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[inline]
fn with_block(ev: Event<'_>, block: Option<u64>) -> Event<'_> {
    match block {
        Some(b) => ev.field("block", b),
        None => ev,
    }
}

// ------------------------------------------------------------------------ phase results

/// How a phase ended, as passed to [`Recorder::phase_end`] (borrowed, no allocation).
///
/// A `&str` converts: `"success"` or `"ok"` → `Success`, `"cache_hit"` → `CacheHit`,
/// `"cache_miss"` → `CacheMiss`, `"failure"` → `Failure("")`, and any other string →
/// `Failure(that string)`, taken as the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhaseResult<'a> {
    /// The phase did its work.
    #[default]
    Success,
    /// The phase was answered from a cache (counts in `cache_hits`).
    CacheHit,
    /// The phase missed its cache and did the work (counts in `cache_misses`).
    CacheMiss,
    /// The phase failed, for this reason.
    Failure(&'a str),
}

impl PhaseResult<'_> {
    /// The `result` field's value: `success`, `cache_hit`, `cache_miss` or `failure`.
    pub const fn as_str(&self) -> &'static str {
        self.outcome().as_str()
    }

    /// The outcome without the reason.
    pub const fn outcome(&self) -> PhaseOutcome {
        match self {
            PhaseResult::Success => PhaseOutcome::Success,
            PhaseResult::CacheHit => PhaseOutcome::CacheHit,
            PhaseResult::CacheMiss => PhaseOutcome::CacheMiss,
            PhaseResult::Failure(_) => PhaseOutcome::Failure,
        }
    }

    /// Whether this is a failure.
    pub const fn is_failure(&self) -> bool {
        matches!(self, PhaseResult::Failure(_))
    }
}

impl<'a> From<&'a str> for PhaseResult<'a> {
    fn from(s: &'a str) -> Self {
        match s {
            "success" | "ok" => PhaseResult::Success,
            "cache_hit" => PhaseResult::CacheHit,
            "cache_miss" => PhaseResult::CacheMiss,
            "failure" => PhaseResult::Failure(""),
            reason => PhaseResult::Failure(reason),
        }
    }
}

impl<'a> From<&'a String> for PhaseResult<'a> {
    fn from(s: &'a String) -> Self {
        PhaseResult::from(s.as_str())
    }
}

impl<'a, E: AsRef<str>> From<&'a Result<(), E>> for PhaseResult<'a> {
    /// `Ok` → `Success`, `Err(e)` → `Failure(e)`.
    fn from(r: &'a Result<(), E>) -> Self {
        match r {
            Ok(()) => PhaseResult::Success,
            Err(e) => PhaseResult::Failure(e.as_ref()),
        }
    }
}

/// A phase's outcome as read back ([`FlightEvent::PhaseEnd`]); the `result` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseOutcome {
    /// `success`
    Success,
    /// `cache_hit`
    CacheHit,
    /// `cache_miss`
    CacheMiss,
    /// `failure`
    Failure,
}

impl PhaseOutcome {
    /// The `result` field's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            PhaseOutcome::Success => "success",
            PhaseOutcome::CacheHit => "cache_hit",
            PhaseOutcome::CacheMiss => "cache_miss",
            PhaseOutcome::Failure => "failure",
        }
    }

    fn parse(s: &str) -> Option<PhaseOutcome> {
        Some(match s {
            "success" => PhaseOutcome::Success,
            "cache_hit" => PhaseOutcome::CacheHit,
            "cache_miss" => PhaseOutcome::CacheMiss,
            "failure" => PhaseOutcome::Failure,
            _ => return None,
        })
    }
}

// ------------------------------------------------------------------------ recording

/// The flight-recorder helpers. Each method's docs give its kind, severity, counters and
/// histograms; [`FlightEvent`] gives each kind's fields.
impl Recorder {
    /// Records that processing of `block` started (kind `block_start`, Info).
    ///
    /// ```
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// rec.block_start(19_000_000);
    /// assert_eq!(rec.snapshot().events()[0].kind, "block_start");
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    pub fn block_start(&self, block: u64) {
        self.record(&Event::new(KIND_BLOCK_START, Severity::Info).field("block", block));
    }

    /// Records that `block` was processed in `duration` (kind `block_end`, Info):
    /// counts it in `blocks_processed`, adds the route and opportunity counts to their
    /// counters and `duration` to the histogram `block.duration`.
    pub fn block_end(
        &self,
        block: u64,
        duration: Duration,
        routes_generated: u64,
        routes_filtered: u64,
        opportunities: u64,
    ) {
        self.add(C_BLOCKS_PROCESSED, 1);
        self.add(C_ROUTES_GENERATED, routes_generated);
        self.add(C_ROUTES_FILTERED, routes_filtered);
        self.add(C_OPPORTUNITIES, opportunities);
        self.observe(HIST_BLOCK, duration);
        self.record(
            &Event::new(KIND_BLOCK_END, Severity::Info)
                .field("block", block)
                .field("duration_ns", nanos(duration))
                .field("routes_generated", routes_generated)
                .field("routes_filtered", routes_filtered)
                .field("opportunities", opportunities),
        );
    }

    /// Records that `phase` started (kind `phase_start`, Debug; message = the phase),
    /// with up to 7 metadata fields of the caller's (more are dropped and the event is
    /// flagged truncated). Do not use the key `block` in `metadata`.
    ///
    /// ```
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// rec.phase_start("route_build", &[("pools", 120u64.into()), ("dex", "uniswap".into())], Some(7));
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    pub fn phase_start(
        &self,
        phase: &str,
        metadata: &[(&str, FieldValue<'_>)],
        block: Option<u64>,
    ) {
        let mut ev = with_block(
            Event::new(KIND_PHASE_START, Severity::Debug).message(phase),
            block,
        );
        for &(k, v) in metadata {
            ev = ev.field(k, v);
        }
        self.record(&ev);
    }

    /// Records that `phase`, started at `started`, ended now with `result` (kind
    /// `phase_end`, Info, or Warning on failure; message = the phase); the duration
    /// goes into the histogram `phase.<phase>`, a cache hit or miss into `cache_hits` /
    /// `cache_misses`. Returns the duration.
    ///
    /// `result` is a [`PhaseResult`], or a `&str` (`"success"`, `"cache_hit"`,
    /// `"cache_miss"`, anything else is a failure with that reason).
    ///
    /// ```
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// let t = std::time::Instant::now();
    /// rec.phase_end("price_fetch", t, "cache_hit", Some(7));
    /// assert_eq!(rec.counter_value("cache_hits"), Some(1));
    /// assert_eq!(rec.histogram_summary("phase.price_fetch").unwrap().count, 1);
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    pub fn phase_end<'r>(
        &self,
        phase: &str,
        started: Instant,
        result: impl Into<PhaseResult<'r>>,
        block: Option<u64>,
    ) -> Duration {
        let d = started.elapsed();
        self.phase_end_after(phase, d, result.into(), block);
        d
    }

    fn phase_end_after(
        &self,
        phase: &str,
        d: Duration,
        result: PhaseResult<'_>,
        block: Option<u64>,
    ) {
        match result {
            PhaseResult::CacheHit => self.add(C_CACHE_HITS, 1),
            PhaseResult::CacheMiss => self.add(C_CACHE_MISSES, 1),
            _ => {}
        }
        let name = compose("phase.", phase, "");
        self.observe(name.as_str(), d);
        let sev = if result.is_failure() {
            Severity::Warning
        } else {
            Severity::Info
        };
        let mut ev = with_block(Event::new(KIND_PHASE_END, sev).message(phase), block)
            .field("duration_ns", nanos(d))
            .field("result", result.as_str());
        if let PhaseResult::Failure(reason) = result {
            ev = ev.field("reason", reason);
        }
        self.record(&ev);
    }

    /// Starts `phase` now (a `phase_start` event without metadata) and returns a guard
    /// that records its `phase_end` when dropped: a success unless
    /// [`PhaseGuard::fail`] or [`PhaseGuard::set_result`] said otherwise, or the
    /// thread is panicking (then a failure with reason `panicked`).
    ///
    /// ```
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// {
    ///     let _phase = rec.phase("jit_fetch", Some(19_000_000));
    ///     // ... the work ...
    /// } // phase_end recorded here, result "success"
    /// assert_eq!(rec.histogram_summary("phase.jit_fetch").unwrap().count, 1);
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    #[must_use = "dropping the guard ends the phase at once"]
    pub fn phase<'a>(&'a self, name: &'a str, block: Option<u64>) -> PhaseGuard<'a> {
        self.phase_start(name, &[], block);
        PhaseGuard {
            rec: self,
            phase: name,
            block,
            started: Instant::now(),
            result: PhaseResult::Success,
            ended: false,
        }
    }

    /// Records a decision `component` took: `action`, for `reason`, in `context` (kind
    /// `decision`, Info; message = the reason).
    pub fn decision(
        &self,
        component: &str,
        action: &str,
        reason: &str,
        context: &str,
        block: Option<u64>,
    ) {
        self.record(
            &with_block(
                Event::new(KIND_DECISION, Severity::Info).message(reason),
                block,
            )
            .field("component", component)
            .field("action", action)
            .field("context", context),
        );
    }

    /// Records an RPC call of `method` on `endpoint` that took `duration` (kind
    /// `rpc_call`, Debug, or Warning when it failed; `peer_id` = the endpoint, message
    /// = the method): the duration goes into the histogram `rpc.<method>`, the outcome
    /// into the counter `rpc.<endpoint>.success` or `rpc.<endpoint>.failure` (and the
    /// call into `rpc.<method>.calls`, so reports count RPC calls only), where a
    /// URL endpoint is named by its host and port only (no credentials, no path: a key
    /// in `https://mainnet.infura.io/v3/<key>` never becomes a metric name).
    /// `requested` and `returned` count items asked for and got (logs, blocks, …).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// rec.rpc_call("alchemy", "eth_getLogs", Duration::from_millis(42), true, Some(7), 18_432, 100, 97);
    /// assert_eq!(rec.counter_value("rpc.alchemy.success"), Some(1));
    /// assert_eq!(rec.histogram_summary("rpc.eth_getLogs").unwrap().count, 1);
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn rpc_call(
        &self,
        endpoint: &str,
        method: &str,
        duration: Duration,
        success: bool,
        block: Option<u64>,
        payload_size_bytes: u64,
        requested: u64,
        returned: u64,
    ) {
        let suffix = if success { ".success" } else { ".failure" };
        self.add(
            compose("rpc.", endpoint_label(endpoint), suffix).as_str(),
            1,
        );
        self.add(compose("rpc.", method, ".calls").as_str(), 1);
        self.observe(compose("rpc.", method, "").as_str(), duration);
        let sev = if success {
            Severity::Debug
        } else {
            Severity::Warning
        };
        self.record(
            &with_block(
                Event::new(KIND_RPC_CALL, sev)
                    .peer(endpoint)
                    .message(method),
                block,
            )
            .field("duration_ns", nanos(duration))
            .field("success", success)
            .field("payload_bytes", payload_size_bytes)
            .field("requested", requested)
            .field("returned", returned),
        );
    }

    /// Records an error in `component` (kind `error_event`, Error; message =
    /// `message`) and counts it in `errors.<component>`.
    pub fn error_event(
        &self,
        component: &str,
        error_type: &str,
        message: &str,
        context: &str,
        block: Option<u64>,
    ) {
        self.add(compose("errors.", component, "").as_str(), 1);
        self.record(
            &with_block(
                Event::new(KIND_ERROR_EVENT, Severity::Error).message(message),
                block,
            )
            .field("component", component)
            .field("error_type", error_type)
            .field("context", context),
        );
    }

    /// Records that `block` was skipped for `reason`, the last processed block being
    /// `last_processed_block` (kind `block_skipped`, Warning; message = the reason);
    /// counts it in `blocks_skipped`.
    pub fn block_skipped(&self, block: u64, reason: &str, last_processed_block: u64) {
        self.add(C_BLOCKS_SKIPPED, 1);
        self.record(
            &Event::new(KIND_BLOCK_SKIPPED, Severity::Warning)
                .message(reason)
                .field("block", block)
                .field("last_processed_block", last_processed_block),
        );
    }

    /// Records that blocks `from..to` (half-open: `from` included, `to` not) were never
    /// seen (kind `block_gap`, Warning, with `gap_blocks = to − from`, 0 when
    /// `to <= from`); adds `gap_blocks` to `blocks_missed`.
    ///
    /// ```
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// // processed 100, next block seen is 105: 101, 102, 103 and 104 were missed
    /// rec.block_gap(101, 105);
    /// assert_eq!(rec.counter_value("blocks_missed"), Some(4));
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    pub fn block_gap(&self, from: u64, to: u64) {
        let gap = to.saturating_sub(from);
        self.add(C_BLOCKS_MISSED, gap);
        self.record(
            &Event::new(KIND_BLOCK_GAP, Severity::Warning)
                .field("from_block", from)
                .field("to_block", to)
                .field("gap_blocks", gap),
        );
    }

    /// Adds `n` to the counter `pools_discovered` (pools, or whatever items the
    /// program discovers and validates).
    pub fn pools_discovered(&self, n: u64) {
        self.add(C_POOLS_DISCOVERED, n);
    }

    /// Adds `ok` to `pools_validated` and `failed` to `pools_validation_failed`.
    pub fn pools_validated(&self, ok: u64, failed: u64) {
        self.add(C_POOLS_VALIDATED, ok);
        self.add(C_POOLS_FAILED, failed);
    }

    /// The network status report, computed from [`Recorder::stats`] (counters and
    /// histograms; no event is scanned). `period` is recorded in the report as
    /// `period_secs`; the figures themselves are cumulative since the recorder was
    /// built (`covered_secs`): the recorder keeps no history of its counters, so a
    /// single report cannot cut out exactly the last `period`. For per-period figures,
    /// take a report every period and use [`NetworkReport::since`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// rec.block_end(1, Duration::from_millis(120), 40, 30, 2);
    /// rec.pools_discovered(10);
    /// rec.pools_validated(9, 1);
    /// let r = rec.report(Duration::from_secs(60));
    /// assert_eq!(r.blocks.processed, 1);
    /// assert_eq!(r.pools.validation_success_rate, Some(0.9));
    /// println!("{}", serde_json::to_string_pretty(&r).unwrap());
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    pub fn report(&self, period: Duration) -> NetworkReport {
        NetworkReport::from_stats(&self.stats(), period)
    }
}

// ------------------------------------------------------------------------ PhaseGuard

/// Ends a phase when dropped; from [`Recorder::phase`].
///
/// The end is recorded once: on drop, or earlier by [`PhaseGuard::finish`]. Its result
/// is [`PhaseResult::Success`] unless [`set_result`](PhaseGuard::set_result) or
/// [`fail`](PhaseGuard::fail) changed it, or the guard is dropped while the thread
/// panics (then `Failure("panicked")`). A reason that does not live as long as the
/// guard (a `String` built after it) goes through `finish`, which records at once.
#[derive(Debug)]
pub struct PhaseGuard<'a> {
    rec: &'a Recorder,
    phase: &'a str,
    block: Option<u64>,
    started: Instant,
    /// What the end will record.
    result: PhaseResult<'a>,
    /// The end was recorded (by `finish`); drop does nothing.
    ended: bool,
}

impl<'a> PhaseGuard<'a> {
    /// Marks the phase failed for `reason`; the end is recorded on drop.
    pub fn fail(&mut self, reason: &'a str) {
        self.result = PhaseResult::Failure(reason);
    }

    /// Sets the result the end will record.
    pub fn set_result(&mut self, result: PhaseResult<'a>) {
        self.result = result;
    }

    /// Ends the phase now with `result` (any lifetime); returns its duration.
    pub fn finish<'r>(mut self, result: impl Into<PhaseResult<'r>>) -> Duration {
        self.ended = true;
        let d = self.started.elapsed();
        self.rec
            .phase_end_after(self.phase, d, result.into(), self.block);
        d
    }

    /// When the phase started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The phase's name.
    pub fn name(&self) -> &'a str {
        self.phase
    }
}

impl Drop for PhaseGuard<'_> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let result = if std::thread::panicking() && !self.result.is_failure() {
            PhaseResult::Failure("panicked")
        } else {
            self.result
        };
        self.rec
            .phase_end_after(self.phase, self.started.elapsed(), result, self.block);
    }
}

mod readback;
mod report;

pub use readback::{FlightEvent, FlightEventError};
pub use report::{
    BlockReport, CacheReport, EndpointReport, ErrorReport, MethodReport, NetworkReport, PoolReport,
    RpcReport,
};
