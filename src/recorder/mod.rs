//! [`Recorder`]: the handle every thread records through — a thin facade over the
//! write side (`crate::core`) and the read side (`crate::read`) — and the handles it
//! hands out ([`Counter`], [`Histogram`], [`Cursor`]).

use std::fmt;
use std::io;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::core::histogram::{AtomicHistogram, HistogramSummary};
use crate::core::named;
use crate::core::{Core, GATE_CLOSED, GATE_DISABLED};
use crate::model::{Builder, Config, ConfigError, Direction, Event, EventRecord, Kind, Severity};
use crate::read::export::{self, ExportError};
use crate::read::health::Health;
use crate::read::query::{self, Query};
use crate::read::snapshot::{self, Snapshot};
use crate::read::stats::Stats;
use crate::read::Shared;
use crate::text::StackText;

mod handles;
pub use handles::{Counter, Cursor, Histogram};

/// The flight recorder. Cheap to clone (an `Arc`); every clone records into the same
/// ring. `Send + Sync`: share it across threads, or clone it into each.
///
/// ```
/// use std::time::Duration;
/// use flightring::{Direction, Event, Query, Recorder, Severity};
///
/// let rec = Recorder::builder().capacity(4096).build()?;
/// rec.record(&Event::new("peer_connected", Severity::Info)
///     .peer("peer123").message("connected").field("address", "192.168.1.100:8333"));
/// rec.message("peer123", "version", Direction::Outbound, 150);
/// rec.observe("rpc.getReserves", Duration::from_micros(850));
///
/// let recent = rec.query(&Query::new().limit(50).min_severity(Severity::Info));
/// assert_eq!(recent.len(), 1);
/// assert_eq!(recent[0].peer.as_deref(), Some("peer123"));
/// assert_eq!(rec.stats().total_recorded, 2);
/// # Ok::<(), flightring::ConfigError>(())
/// ```
///
/// # Unwind safety
///
/// `Recorder` (and so `Counter`, `Histogram` and `Cursor`) is [`UnwindSafe`] and
/// [`RefUnwindSafe`]: it may be used inside and after `catch_unwind`. A panic in the
/// middle of any call leaves nothing half-changed that a later call could see: the ring,
/// counters, gauges and histograms are atomics updated in single steps (a record cut
/// short is a cell never published, counted as dropped when lapped); every mutex
/// recovers from poisoning (`unwrap_or_else(PoisonError::into_inner)`) and guards plain
/// figures written whole; the peer and kind tables run no caller code while locked.
/// The compiler cannot infer this through the peer table's `DashMap`, hence the impls
/// (checked by `tests/unwind_safe.rs`).
#[derive(Clone)]
pub struct Recorder {
    pub(crate) inner: Arc<Shared>,
}

// See "Unwind safety" above.
impl UnwindSafe for Recorder {}
impl RefUnwindSafe for Recorder {}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("capacity", &self.inner.core.config.capacity)
            .field("shards", &self.inner.core.config.shards)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Builder {
    /// Builds the recorder and starts its sweeper thread.
    ///
    /// Lives here, not in `model::config`, so the model names nothing above it.
    /// Fails with [`ConfigError::OutOfMemory`] when the ring's memory cannot be had
    /// (the allocation is fallible: a budget beyond the machine is an error, not an
    /// abort).
    pub fn build(self) -> Result<Recorder, ConfigError> {
        Recorder::from_config(self.config()?)
    }
}

impl Recorder {
    /// A builder with the defaults: 65 536 events, 128-byte slots, 24 h retention.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A recorder with the default configuration.
    pub fn new() -> Recorder {
        Builder::default()
            .build()
            .expect("the default configuration is valid")
    }

    pub(crate) fn from_config(config: Config) -> Result<Recorder, ConfigError> {
        Ok(Recorder {
            inner: Shared::start(Core::new(config)?),
        })
    }

    // ----------------------------------------------------------------- recording

    /// Records an event. Lock-free and allocation-free; never waits for a reader.
    /// Events below the minimum severity, while disabled, or after `close()` are
    /// rejected and counted.
    #[inline]
    pub fn record(&self, ev: &Event<'_>) {
        // Small enough to inline at the call site, so a rejected event costs the gate
        // load and the count, with no call; the rest is one call.
        let inner = &self.inner.core;
        let gate = inner.gate();
        if (ev.severity as u8) < gate {
            inner.reject(gate);
            return;
        }
        inner.record_accepted(ev);
    }

    /// Whether an event of severity `s` would be recorded now (one relaxed load). Use it
    /// to skip building expensive events.
    #[inline]
    pub fn enabled_for(&self, s: Severity) -> bool {
        (s as u8) >= self.inner.core.gate()
    }

    /// A cached handle for kind `name`: events built with [`Event::with_kind`] skip the
    /// kind lookup.
    #[must_use]
    pub fn kind(&self, name: &str) -> Kind {
        self.inner.core.kinds.handle(name)
    }

    /// Records that `peer` connected from `address` (kind `peer_connected`, Info) and
    /// adds it to the active-peer set.
    pub fn peer_connected(&self, peer: &str, address: &str) {
        let inner = &self.inner.core;
        if inner.gate() < GATE_DISABLED {
            inner.peers.connect(peer);
        }
        let ev = Event::new("peer_connected", Severity::Info)
            .peer(peer)
            .message("peer connected")
            .field("address", address);
        self.record_builtin(&ev, inner.builtin.peer_connected);
    }

    /// Records that `peer` at `address` disconnected for `reason` (kind
    /// `peer_disconnected`, Info) and removes it from the active-peer set.
    pub fn peer_disconnected(&self, peer: &str, address: &str, reason: &str) {
        let inner = &self.inner.core;
        if inner.gate() < GATE_DISABLED {
            inner.peers.disconnect(peer);
        }
        let ev = Event::new("peer_disconnected", Severity::Info)
            .peer(peer)
            .message("peer disconnected")
            .field("address", address)
            .field("reason", reason);
        self.record_builtin(&ev, inner.builtin.peer_disconnected);
    }

    /// Records a message of type `msg_type` and `size` bytes exchanged with `peer` (kind
    /// `message`, Debug, message text = the type) and records the size in the message
    /// type's size histogram.
    pub fn message(&self, peer: &str, msg_type: &str, direction: Direction, size: u64) {
        let inner = &self.inner.core;
        if inner.gate() < GATE_DISABLED {
            if let Some(h) = inner.histogram_in(&inner.msg_types, &inner.msg_sizes, msg_type, false)
            {
                h.record(size, inner.shard());
            }
        }
        let ev = Event::new("message", Severity::Debug)
            .peer(peer)
            .message(msg_type)
            .field("direction", direction.as_str())
            .field("size", size);
        self.record_builtin(&ev, inner.builtin.message);
    }

    /// Records an error concerning `peer` (kind `error`, Error): the message is the
    /// error's text followed by its sources (`outer: inner: root`), formatted into a
    /// stack buffer (no allocation; cut at 512 bytes); `context` goes into the
    /// `context` field and names the counter `errors.<context>` (`errors.error` when
    /// empty) the network report's errors by component come from.
    pub fn error(&self, peer: &str, err: &dyn std::error::Error, context: &str) {
        let inner = &self.inner.core;
        // Counted per component like `error_event`: the context names it.
        let mut name = StackText::<128>::new();
        let _ = fmt::Write::write_fmt(
            &mut name,
            format_args!(
                "errors.{}",
                if context.is_empty() { "error" } else { context }
            ),
        );
        self.add(name.as_str(), 1);
        if Severity::Error as u8 >= inner.gate() {
            // An error and its sources, formatted without allocating (cut at 512 bytes).
            let mut buf = StackText::<512>::new();
            let _ = fmt::Write::write_fmt(&mut buf, format_args!("{err}"));
            let mut source = err.source();
            while let Some(s) = source {
                let _ = fmt::Write::write_fmt(&mut buf, format_args!(": {s}"));
                source = s.source();
            }
            let mut ev = Event::new("error", Severity::Error)
                .message(buf.as_str())
                .field("context", context);
            if !peer.is_empty() {
                ev = ev.peer(peer);
            }
            inner.write(&ev, inner.builtin.error);
        } else {
            inner.reject(inner.gate());
        }
    }

    #[inline]
    fn record_builtin(&self, ev: &Event<'_>, kind: u16) {
        let inner = &self.inner.core;
        let gate = inner.gate();
        if (ev.severity as u8) < gate {
            inner.reject(gate);
            return;
        }
        inner.write(ev, kind);
    }

    /// Records a duration in the histogram `name` (nanoseconds). Lock-free; the first
    /// observation of a name allocates its histogram.
    #[inline]
    pub fn observe(&self, name: &str, d: Duration) {
        self.observe_raw(name, u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), true);
    }

    /// Records a plain value in the histogram `name`.
    #[inline]
    pub fn observe_value(&self, name: &str, v: u64) {
        self.observe_raw(name, v, false);
    }

    #[inline]
    fn observe_raw(&self, name: &str, v: u64, is_duration: bool) {
        let inner = &self.inner.core;
        if inner.gate() >= GATE_DISABLED {
            return;
        }
        if let Some(h) = inner.histogram_in(&inner.hist_names, &inner.histograms, name, is_duration)
        {
            h.record(v, inner.shard());
        }
    }

    /// A cached handle for the histogram `name`, skipping the name lookup per
    /// observation. `None` when the histogram table is full.
    #[must_use]
    pub fn histogram(&self, name: &str) -> Option<Histogram> {
        let inner = &self.inner.core;
        let id = inner.hist_names.intern(name)?;
        inner.histogram_in(&inner.hist_names, &inner.histograms, name, true)?;
        Some(Histogram {
            rec: self.clone(),
            id,
        })
    }

    /// The summary of histogram `name`, if it exists.
    #[must_use]
    pub fn histogram_summary(&self, name: &str) -> Option<HistogramSummary> {
        let inner = &self.inner.core;
        let id = inner.hist_names.lookup(name)?;
        inner.histograms[usize::from(id)]
            .get()
            .map(AtomicHistogram::summary)
    }

    /// The full distribution of histogram `name` as an [`hdrhistogram::Histogram`]
    /// (2 significant digits), if it exists.
    #[must_use]
    pub fn histogram_hdr(&self, name: &str) -> Option<hdrhistogram::Histogram<u64>> {
        let inner = &self.inner.core;
        let id = inner.hist_names.lookup(name)?;
        inner.histograms[usize::from(id)]
            .get()
            .map(|h| h.to_hdr().0)
    }

    /// Adds `n` to the named counter `name` (created at zero on first use). Lock-free.
    #[inline]
    pub fn add(&self, name: &str, n: u64) {
        if let Some(c) = self.inner.core.counters_named.cell(name) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A cached handle for the named counter `name`.
    #[must_use]
    pub fn counter(&self, name: &str) -> Counter {
        Counter {
            rec: self.clone(),
            id: self.inner.core.counters_named.id(name),
            name: Arc::from(name),
        }
    }

    /// The named counter's value, if it exists.
    pub fn counter_value(&self, name: &str) -> Option<u64> {
        self.inner
            .core
            .counters_named
            .get(name)
            .map(|c| c.load(Ordering::Relaxed))
    }

    /// Sets the named gauge `name` to `v`.
    #[inline]
    pub fn set_gauge(&self, name: &str, v: f64) {
        if let Some(c) = self.inner.core.gauges.cell(name) {
            c.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// Moves the named gauge `name` by `d` (negative to decrease).
    #[inline]
    pub fn add_gauge(&self, name: &str, d: f64) {
        if let Some(c) = self.inner.core.gauges.cell(name) {
            named::add_f64(c, d);
        }
    }

    /// The named gauge's value, if it exists.
    pub fn gauge_value(&self, name: &str) -> Option<f64> {
        self.inner
            .core
            .gauges
            .get(name)
            .map(|c| f64::from_bits(c.load(Ordering::Relaxed)))
    }

    /// Reports that `component` (an exporter, a server) has a fault: health is at least
    /// Degraded, with `"<component>: <reason>"` among its reasons, until
    /// [`Recorder::clear_fault`]. Never touched by the record path.
    pub fn set_fault(&self, component: &str, reason: impl Into<String>) {
        self.inner.set_fault(component, Some(reason.into()));
    }

    /// Clears `component`'s fault.
    pub fn clear_fault(&self, component: &str) {
        self.inner.set_fault(component, None);
    }

    // ----------------------------------------------------------------- reading

    /// Copies every retained, unexpired event, merged from all shards in time order,
    /// with the stats and health at that moment. Never blocks writers: each slot is
    /// copied and validated on its own; an event being written at that instant is
    /// skipped. Decoding to [`EventRecord`]s happens when the snapshot is read.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        snapshot::take(&self.inner)
    }

    /// Like [`Recorder::snapshot`], into an existing snapshot whose buffers are reused:
    /// for periodic readers of large rings, this saves allocating (and the kernel
    /// zeroing) the whole copy each time.
    pub fn snapshot_into(&self, snap: &mut Snapshot) {
        snapshot::take_into(&self.inner, snap);
    }

    /// Events matching `q`, newest first. Scans the ring in place, newest first, and
    /// decodes only the events it returns.
    #[must_use]
    pub fn query(&self, q: &Query) -> Vec<EventRecord> {
        query::run(&self.inner.core, q)
    }

    /// The stats now. Sums the counters (cost grows with shards × kinds, not capacity).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// The health verdict. Loads the verdict the sampler published (at most one health
    /// interval old) and checks the sampler is alive: no event is copied, and the cost
    /// does not depend on the capacity. After `close()` the verdict is computed on the
    /// spot (and is Unhealthy). [`Recorder::sweep_now`] re-evaluates immediately.
    #[must_use]
    pub fn health(&self) -> Health {
        self.inner.health()
    }

    /// One JSON document: schema version, config, stats, health and every event, oldest
    /// first (see the README for the schema).
    pub fn export_json(&self) -> Result<String, ExportError> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        String::from_utf8(out)
            .map_err(|e| ExportError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
    }

    /// Writes [`Recorder::export_json`]'s document to `w` as it goes (buffer `w` for
    /// speed).
    pub fn write_json<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        export::write_json(&self.snapshot(), w)
    }

    /// Writes every retained event, oldest first, one JSON object per line.
    pub fn write_jsonl<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        export::write_jsonl(&self.snapshot(), w)
    }

    // ----------------------------------------------------------------- control

    /// Records only events at or above `s` from now on.
    pub fn set_min_severity(&self, s: Severity) {
        self.inner.core.update_settings(|st| st.0 = s);
    }

    /// The least severity recorded.
    pub fn min_severity(&self) -> Severity {
        self.inner
            .core
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
    }

    /// Turns recording on or off. Off, `record` costs one relaxed load and a counter
    /// bump.
    pub fn set_enabled(&self, on: bool) {
        self.inner.core.update_settings(|st| st.1 = on);
    }

    /// Whether recording is on (and the recorder not closed).
    pub fn is_enabled(&self) -> bool {
        self.inner.core.gate() < GATE_DISABLED
    }

    /// Removes every retained event (counted as cleared). Counters, histograms and the
    /// peer set are kept: they are all-time summaries. Events being written at that
    /// instant may survive.
    pub fn clear(&self) {
        self.inner.core.clear();
    }

    /// Closes the recorder: later events are rejected (and counted), the sweeper thread
    /// stops (promptly, not after its interval). Reading still works. Idempotent.
    pub fn close(&self) {
        let inner = &self.inner.core;
        {
            let _g = inner.settings.lock().unwrap_or_else(|p| p.into_inner());
            inner.closed.store(true, Ordering::Release);
            inner.gate.store(GATE_CLOSED, Ordering::Relaxed);
        }
        self.inner.sweeper.stop_and_join();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.core.closed.load(Ordering::Acquire)
    }

    /// Runs the sweeper now: expires events older than the retention, forgets departed
    /// peers, and re-evaluates health. Returns how many events expired.
    pub fn sweep_now(&self) -> u64 {
        let n = self.inner.sweep();
        self.inner.sample();
        n
    }

    /// Events the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.inner.core.config.capacity
    }

    /// Bytes the recorder holds: the ring (fixed at build), counters, tables, and the
    /// histograms allocated so far (bounded by `max_histograms`).
    pub fn memory_bytes(&self) -> usize {
        self.inner.core.memory_bytes()
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.inner.core.config
    }

    /// Whether `peer` is in the active-peer set.
    pub fn is_peer_connected(&self, peer: &str) -> bool {
        self.inner.core.peers.is_connected(peer)
    }
}
