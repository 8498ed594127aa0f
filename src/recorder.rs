//! [`Recorder`]: the handle every thread records through, and the shared state behind it.
//!
//! # The record path
//!
//! 1. one relaxed load of the *gate* (the least severity accepted; a value above every
//!    severity when disabled or closed) — the whole cost of a rejected event, plus a
//!    relaxed counter bump, both inline at the call site (`record` is a small inline
//!    wrapper; everything below is one call);
//! 2. the kind id: from a cached [`Kind`] handle, or a lock-free lookup by name;
//! 3. one raw clock read (see [`crate::clock`]);
//! 4. the thread's shard: its thread-local number plus the time epoch, so concurrent
//!    threads are on different shards while one busy thread still uses them all;
//! 5. claim a slot, encode the event straight into its payload words (one pass, no
//!    buffer; see [`crate::codec`]), publish it (see [`crate::slot`], [`crate::ring`]);
//! 6. one `fetch_add` on the shard's `[kind][severity]` counter.
//!
//! No lock, no allocation (after a kind's first event), no wait on any reader.

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_utils::CachePadded;

use crate::clock::{self, Calibration, Timestamp};
use crate::codec;
use crate::config::{Builder, Config};
use crate::counters::{self, Counter, NamedValues};
use crate::event::{Direction, Event, EventRecord, KindRef};
use crate::export::{self, ExportError};
use crate::health::{self, Health};
use crate::histogram::{AtomicHistogram, HistogramSummary};
use crate::kind::{Interner, Kind, NO_ID};
use crate::peers::Peers;
use crate::query::Query;
use crate::redact::Redactor;
use crate::retention::{self, SweeperControl};
use crate::ring::Ring;
use crate::severity::Severity;
use crate::snapshot::{self, Snapshot};
use crate::stats::{self, ShardCounters, Stats, Totals};

/// Gate value while disabled: above every severity.
const GATE_DISABLED: u8 = 5;
/// Gate value after `close()`.
const GATE_CLOSED: u8 = 6;

/// Bounds of a thread's stay on one shard, `2^shift` raw clock ticks (TSC ticks: about
/// 22 µs and 22 ms at 3 GHz); see [`epoch_shift`].
const MIN_EPOCH_SHIFT: u32 = 16;
const MAX_EPOCH_SHIFT: u32 = 26;

/// How long a thread stays on one shard (see `Inner::shard_for_write`), as a power of
/// two of raw clock ticks: `slots * 32` ticks, within the bounds above. At full speed
/// (~40 ns an event) and a 3 GHz TSC, a thread fills about a quarter of a shard in that
/// time, so one busy thread still spreads over every shard in small enough pieces that
/// its retained history has no gaps. Longer is better otherwise: every move hands the
/// shard's cache lines (its head, its counters, the slots about to be overwritten) to
/// another core. With 2^16 ticks for every size, two threads on their own shards ran at
/// 0.95× one thread whenever this VM's two vCPUs sat on different dies (1.8× otherwise);
/// with this, at 2.0× in both cases (`bench record`, host_parallelism 2.0 both ways).
fn epoch_shift(slots_per_shard: usize) -> u32 {
    (slots_per_shard.max(1).ilog2() + 5).clamp(MIN_EPOCH_SHIFT, MAX_EPOCH_SHIFT)
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's number (assigned on its first event) and the raw time of its last
    /// event; see `Inner::shard_for_write`.
    static THREAD: Cell<(usize, u64)> = const { Cell::new((usize::MAX, 0)) };
}

#[inline]
fn thread_state() -> (usize, u64) {
    THREAD.with(|c| {
        let st = c.get();
        if st.0 != usize::MAX {
            st
        } else {
            let st = (NEXT_THREAD.fetch_add(1, Ordering::Relaxed), 0);
            c.set(st);
            st
        }
    })
}

#[inline]
fn thread_no() -> usize {
    thread_state().0
}

/// A window sample: the totals at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Instant,
    pub(crate) totals: Totals,
}

/// State shared by every clone of a [`Recorder`].
pub(crate) struct Inner {
    pub(crate) config: Config,
    /// Least severity accepted (`0..=4`), or `GATE_DISABLED`/`GATE_CLOSED`. Read by every
    /// writer; written only under `settings`.
    gate: CachePadded<AtomicU8>,
    /// Run-time settings behind the gate: (min severity, enabled).
    pub(crate) settings: Mutex<(Severity, bool)>,
    pub(crate) closed: AtomicBool,
    pub(crate) ring: Ring,
    /// Shard count minus one, when the count is a power of two.
    shard_mask: Option<usize>,
    /// A thread moves to its next shard every `2^epoch_shift` raw ticks; see
    /// [`epoch_shift`].
    epoch_shift: u32,
    /// Per-shard counters, one per ring shard.
    pub(crate) counters: Box<[ShardCounters]>,
    pub(crate) kinds: Interner,
    builtin: BuiltinKinds,
    pub(crate) hist_names: Interner,
    pub(crate) histograms: Box<[OnceLock<AtomicHistogram>]>,
    pub(crate) msg_types: Interner,
    pub(crate) msg_sizes: Box<[OnceLock<AtomicHistogram>]>,
    /// Observations refused because the histogram table was full.
    histograms_refused: AtomicU64,
    /// Named counters.
    pub(crate) counters_named: NamedValues,
    /// Named gauges (`f64` bits).
    pub(crate) gauges: NamedValues,
    /// Components' current faults, by component (e.g. an exporter's I/O error); each
    /// makes health at least Degraded. Touched only by components and readers.
    pub(crate) faults: Mutex<BTreeMap<String, String>>,
    /// Bytes held by histograms allocated so far.
    histogram_bytes: AtomicUsize,
    pub(crate) peers: Peers,
    /// Events killed by the sweeper.
    pub(crate) expired: AtomicU64,
    /// Events killed by `clear()`.
    pub(crate) cleared: AtomicU64,
    /// The largest `overwritten` figure reported so far (see `totals`).
    pub(crate) overwritten_seen: AtomicU64,
    pub(crate) started: Instant,
    pub(crate) cal: &'static Calibration,
    /// Payload bytes per slot (`slot_bytes − 8`).
    payload_bytes: usize,
    /// The verdict the sampler published last.
    pub(crate) published: ArcSwap<Health>,
    /// When the sampler last ran, as nanoseconds since `started`.
    pub(crate) last_sample: AtomicU64,
    /// When the sweeper last expired events, as nanoseconds since `started`.
    pub(crate) last_sweep: AtomicU64,
    /// The health window's samples, oldest first.
    pub(crate) window: Mutex<VecDeque<Sample>>,
    pub(crate) sweeper: Arc<SweeperControl>,
    /// Applied to every event before it reaches the ring.
    redactor: Redactor,
}

#[derive(Debug, Clone, Copy)]
struct BuiltinKinds {
    peer_connected: u16,
    peer_disconnected: u16,
    message: u16,
    error: u16,
}

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
#[derive(Clone)]
pub struct Recorder {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("capacity", &self.inner.config.capacity)
            .field("shards", &self.inner.config.shards)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

fn gate_value(min: Severity, enabled: bool) -> u8 {
    if enabled {
        min as u8
    } else {
        GATE_DISABLED
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

    pub(crate) fn from_config(config: Config) -> Recorder {
        let cal = clock::calibration();
        let per_shard = config.capacity / config.shards;
        let words_per_slot = config.slot_bytes / 8;
        let kinds = Interner::new(config.max_kinds);
        let builtin = BuiltinKinds {
            peer_connected: kinds.intern("peer_connected").unwrap_or(NO_ID),
            peer_disconnected: kinds.intern("peer_disconnected").unwrap_or(NO_ID),
            message: kinds.intern("message").unwrap_or(NO_ID),
            error: kinds.intern("error").unwrap_or(NO_ID),
        };
        let started = Instant::now();
        let inner = Arc::new(Inner {
            gate: CachePadded::new(AtomicU8::new(gate_value(
                config.min_severity,
                config.enabled,
            ))),
            settings: Mutex::new((config.min_severity, config.enabled)),
            closed: AtomicBool::new(false),
            epoch_shift: epoch_shift(per_shard.next_power_of_two()),
            ring: Ring::new(config.shards, per_shard, words_per_slot),
            shard_mask: config.shards.is_power_of_two().then(|| config.shards - 1),
            counters: (0..config.shards)
                .map(|_| ShardCounters::new(config.max_kinds + 1))
                .collect(),
            kinds,
            builtin,
            hist_names: Interner::new(config.max_histograms),
            histograms: (0..config.max_histograms)
                .map(|_| OnceLock::new())
                .collect(),
            msg_types: Interner::new(config.max_histograms),
            msg_sizes: (0..config.max_histograms)
                .map(|_| OnceLock::new())
                .collect(),
            histograms_refused: AtomicU64::new(0),
            counters_named: NamedValues::new(config.max_histograms * 4),
            gauges: NamedValues::new(config.max_histograms * 4),
            faults: Mutex::new(BTreeMap::new()),
            histogram_bytes: AtomicUsize::new(0),
            peers: Peers::new(config.max_peers),
            expired: AtomicU64::new(0),
            cleared: AtomicU64::new(0),
            overwritten_seen: AtomicU64::new(0),
            started,
            cal,
            payload_bytes: config.slot_bytes - 8,
            published: ArcSwap::from_pointee(Health::default()),
            last_sample: AtomicU64::new(0),
            last_sweep: AtomicU64::new(0),
            window: Mutex::new(VecDeque::new()),
            sweeper: Arc::new(SweeperControl::default()),
            redactor: config.redaction.compile(),
            config,
        });
        inner.sample();
        retention::spawn(&inner);
        Recorder { inner }
    }

    // ----------------------------------------------------------------- recording

    /// Records an event. Lock-free and allocation-free; never waits for a reader.
    /// Events below the minimum severity, while disabled, or after `close()` are
    /// rejected and counted.
    #[inline]
    pub fn record(&self, ev: &Event<'_>) {
        // Small enough to inline at the call site, so a rejected event costs the gate
        // load and the count, with no call; the rest is one call.
        let inner = &*self.inner;
        let gate = inner.gate.load(Ordering::Relaxed);
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
        (s as u8) >= self.inner.gate.load(Ordering::Relaxed)
    }

    /// A cached handle for kind `name`: events built with [`Event::with_kind`] skip the
    /// kind lookup.
    #[must_use]
    pub fn kind(&self, name: &str) -> Kind {
        self.inner.kinds.handle(name)
    }

    /// Records that `peer` connected from `address` (kind `peer_connected`, Info) and
    /// adds it to the active-peer set.
    pub fn peer_connected(&self, peer: &str, address: &str) {
        let inner = &*self.inner;
        if inner.gate.load(Ordering::Relaxed) < GATE_DISABLED {
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
        let inner = &*self.inner;
        if inner.gate.load(Ordering::Relaxed) < GATE_DISABLED {
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
        let inner = &*self.inner;
        if inner.gate.load(Ordering::Relaxed) < GATE_DISABLED {
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
    /// `context` field.
    pub fn error(&self, peer: &str, err: &dyn std::error::Error, context: &str) {
        let inner = &*self.inner;
        if Severity::Error as u8 >= inner.gate.load(Ordering::Relaxed) {
            let mut buf = StackText::new();
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
            inner.reject(inner.gate.load(Ordering::Relaxed));
        }
    }

    #[inline]
    fn record_builtin(&self, ev: &Event<'_>, kind: u16) {
        let inner = &*self.inner;
        let gate = inner.gate.load(Ordering::Relaxed);
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
        let inner = &*self.inner;
        if inner.gate.load(Ordering::Relaxed) >= GATE_DISABLED {
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
        let inner = &*self.inner;
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
        let inner = &*self.inner;
        let id = inner.hist_names.lookup(name)?;
        inner.histograms[usize::from(id)]
            .get()
            .map(AtomicHistogram::summary)
    }

    /// The full distribution of histogram `name` as an [`hdrhistogram::Histogram`]
    /// (2 significant digits), if it exists.
    #[must_use]
    pub fn histogram_hdr(&self, name: &str) -> Option<hdrhistogram::Histogram<u64>> {
        let inner = &*self.inner;
        let id = inner.hist_names.lookup(name)?;
        inner.histograms[usize::from(id)]
            .get()
            .map(|h| h.to_hdr().0)
    }

    /// Adds `n` to the named counter `name` (created at zero on first use). Lock-free.
    #[inline]
    pub fn add(&self, name: &str, n: u64) {
        if let Some(c) = self.inner.counters_named.cell(name) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A cached handle for the named counter `name`.
    #[must_use]
    pub fn counter(&self, name: &str) -> Counter {
        Counter {
            rec: self.clone(),
            id: self.inner.counters_named.id(name),
            name: Arc::from(name),
        }
    }

    /// The named counter's value, if it exists.
    pub fn counter_value(&self, name: &str) -> Option<u64> {
        self.inner
            .counters_named
            .get(name)
            .map(|c| c.load(Ordering::Relaxed))
    }

    /// Sets the named gauge `name` to `v`.
    #[inline]
    pub fn set_gauge(&self, name: &str, v: f64) {
        if let Some(c) = self.inner.gauges.cell(name) {
            c.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// Moves the named gauge `name` by `d` (negative to decrease).
    #[inline]
    pub fn add_gauge(&self, name: &str, d: f64) {
        if let Some(c) = self.inner.gauges.cell(name) {
            counters::add_f64(c, d);
        }
    }

    /// The named gauge's value, if it exists.
    pub fn gauge_value(&self, name: &str) -> Option<f64> {
        self.inner
            .gauges
            .get(name)
            .map(|c| f64::from_bits(c.load(Ordering::Relaxed)))
    }

    /// Reports that `component` (an exporter, a server) has a fault: health is at least
    /// Degraded, with `"<component>: <reason>"` among its reasons, until
    /// [`Recorder::clear_fault`]. Never touched by the record path.
    pub fn set_fault(&self, component: &str, reason: impl Into<String>) {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(component.to_owned(), reason.into());
    }

    /// Clears `component`'s fault.
    pub fn clear_fault(&self, component: &str) {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(component);
    }

    // ----------------------------------------------------------------- reading

    /// Copies every retained, unexpired event, merged from all shards in time order,
    /// with the stats and health at that moment. Never blocks writers: each slot is
    /// copied and validated on its own; an event being written at that instant is
    /// skipped. Decoding to [`EventRecord`]s happens when the snapshot is read.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        snapshot::take(self)
    }

    /// Like [`Recorder::snapshot`], into an existing snapshot whose buffers are reused:
    /// for periodic readers of large rings, this saves allocating (and the kernel
    /// zeroing) the whole copy each time.
    pub fn snapshot_into(&self, snap: &mut Snapshot) {
        snapshot::take_into(self, snap);
    }

    /// Events matching `q`, newest first. Scans the ring in place, newest first, and
    /// decodes only the events it returns.
    #[must_use]
    pub fn query(&self, q: &Query) -> Vec<EventRecord> {
        crate::query::run(&self.inner, q)
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
        let inner = &*self.inner;
        if inner.closed.load(Ordering::Acquire) {
            let mut h = inner.evaluate_now();
            inner.add_faults(&mut h);
            return h;
        }
        let mut h = Health::clone(&inner.published.load());
        let last = Duration::from_nanos(inner.last_sample.load(Ordering::Relaxed));
        let age = inner.started.elapsed().saturating_sub(last);
        health::mark_stalled(
            &mut h,
            age,
            inner.config.health_interval,
            &inner.config.health,
        );
        inner.add_faults(&mut h);
        h
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
        self.inner.update_settings(|st| st.0 = s);
    }

    /// The least severity recorded.
    pub fn min_severity(&self) -> Severity {
        self.inner
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
    }

    /// Turns recording on or off. Off, `record` costs one relaxed load and a counter
    /// bump.
    pub fn set_enabled(&self, on: bool) {
        self.inner.update_settings(|st| st.1 = on);
    }

    /// Whether recording is on (and the recorder not closed).
    pub fn is_enabled(&self) -> bool {
        self.inner.gate.load(Ordering::Relaxed) < GATE_DISABLED
    }

    /// Removes every retained event (counted as cleared). Counters, histograms and the
    /// peer set are kept: they are all-time summaries. Events being written at that
    /// instant may survive.
    pub fn clear(&self) {
        let inner = &*self.inner;
        let mut n = 0;
        for shard in inner.ring.shards.iter() {
            for idx in 0..shard.slots() {
                n += u64::from(shard.kill_if(idx, |_| true).is_some());
            }
        }
        inner.cleared.fetch_add(n, Ordering::Relaxed);
    }

    /// Closes the recorder: later events are rejected (and counted), the sweeper thread
    /// stops (promptly, not after its interval). Reading still works. Idempotent.
    pub fn close(&self) {
        let inner = &*self.inner;
        {
            let _g = inner.settings.lock().unwrap_or_else(|p| p.into_inner());
            inner.closed.store(true, Ordering::Release);
            inner.gate.store(GATE_CLOSED, Ordering::Relaxed);
        }
        inner.sweeper.stop_and_join();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
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
        self.inner.config.capacity
    }

    /// Bytes the recorder holds: the ring (fixed at build), counters, tables, and the
    /// histograms allocated so far (bounded by `max_histograms`).
    pub fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    /// The resolved configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether `peer` is in the active-peer set.
    pub fn is_peer_connected(&self, peer: &str) -> bool {
        self.inner.peers.is_connected(peer)
    }
}

/// A cached histogram handle from [`Recorder::histogram`]: observing through it skips
/// the name lookup. Holds a clone of its recorder.
#[derive(Clone)]
pub struct Histogram {
    rec: Recorder,
    id: u16,
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram").field("id", &self.id).finish()
    }
}

impl Histogram {
    /// Records a duration (nanoseconds).
    #[inline]
    pub fn observe(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records a value.
    #[inline]
    pub fn record(&self, v: u64) {
        let inner = &*self.rec.inner;
        if inner.gate.load(Ordering::Relaxed) >= GATE_DISABLED {
            return;
        }
        if let Some(h) = inner.histograms[usize::from(self.id)].get() {
            h.record(v, inner.shard());
        }
    }
}

/// Text formatted into a fixed stack buffer, cut (on a char boundary) when full.
struct StackText {
    buf: [u8; 512],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText {
            buf: [0; 512],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole chars are ever copied in (see `write_str`).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Inner {
    /// The calling thread's shard.
    #[inline]
    pub(crate) fn shard(&self) -> usize {
        let n = thread_no();
        match self.shard_mask {
            Some(m) => n & m,
            None => n % self.config.shards,
        }
    }

    #[inline]
    fn kind_id(&self, k: &KindRef<'_>) -> u16 {
        match k {
            KindRef::Handle(h) if h.table == self.kinds.table_id() => h.id,
            other => {
                let name = other.name();
                // The lookup inline; interning a new kind (rare) out of line.
                match self.kinds.lookup(name) {
                    Some(id) => id,
                    None => self.kinds.intern(name).unwrap_or(NO_ID),
                }
            }
        }
    }

    /// Records an event the gate let through: the kind lookup, then [`Inner::write`].
    #[inline(never)]
    fn record_accepted(&self, ev: &Event<'_>) {
        let kind = self.kind_id(&ev.kind);
        self.write(ev, kind);
    }

    /// Counts an event refused at `gate` (the gate value the caller loaded).
    #[inline]
    fn reject(&self, gate: u8) {
        let c = &self.counters[self.shard()].misc;
        match gate {
            GATE_CLOSED => {
                c.rejected_closed.fetch_add(1, Ordering::Relaxed);
            }
            GATE_DISABLED => stats::bump_unsynchronised(&c.rejected_disabled),
            _ => stats::bump_unsynchronised(&c.rejected_below),
        }
    }

    /// The shard the calling thread writes to: its thread number plus the time epoch
    /// (`raw >> epoch_shift`; see [`epoch_shift`]) of its previous event, modulo the
    /// shard count. Threads with different numbers (modulo the count) are on
    /// different shards at any moment, as with a fixed shard per thread, yet a thread
    /// moves over every shard in turn, so one busy thread is not confined to
    /// `capacity / shards`. Using the previous event's time (kept in the thread-local)
    /// lets the clock read of this event overlap with encoding instead of gating it.
    #[inline]
    fn shard_for_write(&self) -> usize {
        let (no, last) = thread_state();
        let n = no.wrapping_add((last >> self.epoch_shift) as usize);
        match self.shard_mask {
            Some(m) => n & m,
            None => n % self.config.shards,
        }
    }

    /// Writes `ev` after redaction (see [`crate::redact`]): a redacted copy is built on
    /// the stack when a key or value calls for it; otherwise `ev` goes as it is.
    #[inline(always)]
    fn write(&self, ev: &Event<'_>, kind: u16) {
        if self.redactor.needs_redaction(ev) {
            self.write_redacted(ev, kind);
        } else {
            self.write_plain(ev, kind);
        }
    }

    /// [`Inner::write`] for an event with something to redact (rare).
    #[cold]
    #[inline(never)]
    fn write_redacted(&self, ev: &Event<'_>, kind: u16) {
        self.redactor
            .with_redacted(ev, |ev| self.write_plain(ev, kind));
    }

    #[inline(always)]
    fn write_plain(&self, ev: &Event<'_>, kind: u16) {
        let shard = self.shard_for_write();
        let raw = clock::now_raw();
        THREAD.with(|c| c.set((c.get().0, raw)));
        // Encoded straight into the slot (see `codec::encode_into_words`).
        let mut truncated = false;
        let written = self.ring.shards[shard]
            .write_with(|words| truncated = codec::encode_into_words(ev, kind, raw, words))
            .map(|_| truncated);
        if let Some(truncated) = written {
            let c = &self.counters[shard];
            let row = if kind == NO_ID {
                self.config.max_kinds
            } else {
                usize::from(kind)
            };
            if truncated {
                c.misc.truncated.fetch_add(1, Ordering::Relaxed);
            }
            c.count(row, ev.severity);
        }
    }

    fn histogram_in<'a>(
        &self,
        names: &Interner,
        table: &'a [OnceLock<AtomicHistogram>],
        name: &str,
        is_duration: bool,
    ) -> Option<&'a AtomicHistogram> {
        let id = match names.lookup(name) {
            Some(id) => id,
            None => match names.intern(name) {
                Some(id) => id,
                None => {
                    self.histograms_refused.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
            },
        };
        let cell = &table[usize::from(id)];
        if let Some(h) = cell.get() {
            return Some(h);
        }
        Some(cell.get_or_init(|| {
            let h =
                AtomicHistogram::new(self.config.histogram_max, self.config.shards, is_duration);
            self.histogram_bytes
                .fetch_add(h.memory_bytes(), Ordering::Relaxed);
            h
        }))
    }

    fn update_settings(&self, f: impl FnOnce(&mut (Severity, bool))) {
        let mut st = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut st);
        if !self.closed.load(Ordering::Acquire) {
            self.gate.store(gate_value(st.0, st.1), Ordering::Relaxed);
        }
    }

    /// Expires events older than the retention and forgets departed peers.
    pub(crate) fn sweep(&self) -> u64 {
        let cutoff = self
            .cal
            .to_raw(Timestamp::now().saturating_sub(self.config.retention));
        let mut n = 0;
        for shard in self.ring.shards.iter() {
            for idx in 0..shard.slots() {
                n += u64::from(shard.kill_if(idx, |ts| ts < cutoff).is_some());
            }
        }
        self.expired.fetch_add(n, Ordering::Relaxed);
        if let Some(cutoff) = Instant::now().checked_sub(self.config.sweep_interval) {
            self.peers.forget_departed(cutoff);
        }
        self.last_sweep
            .store(self.started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        n
    }

    /// The raw timestamp before which events count as expired.
    pub(crate) fn expiry_cutoff_raw(&self) -> u64 {
        self.cal
            .to_raw(Timestamp::now().saturating_sub(self.config.retention))
    }

    /// Observations refused because the histogram table was full.
    pub(crate) fn histograms_refused(&self) -> u64 {
        self.histograms_refused.load(Ordering::Relaxed)
    }

    /// Payload bytes per slot.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// The name of kind `id` (or `None` for an inline kind).
    pub(crate) fn kind_name(&self, id: u16) -> Option<&Arc<str>> {
        self.kinds.name(id)
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.ring.memory_bytes()
            + self
                .counters
                .iter()
                .map(ShardCounters::memory_bytes)
                .sum::<usize>()
            + self.kinds.memory_bytes()
            + self.hist_names.memory_bytes()
            + self.msg_types.memory_bytes()
            + (self.histograms.len() + self.msg_sizes.len())
                * std::mem::size_of::<OnceLock<AtomicHistogram>>()
            + self.histogram_bytes.load(Ordering::Relaxed)
            + self.counters_named.memory_bytes()
            + self.gauges.memory_bytes()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.sweeper.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_stays_on_a_shard_for_32_ticks_a_slot_within_bounds() {
        assert_eq!(epoch_shift(1), MIN_EPOCH_SHIFT);
        assert_eq!(epoch_shift(1 << 10), MIN_EPOCH_SHIFT);
        assert_eq!(epoch_shift(1 << 11), 16);
        assert_eq!(epoch_shift(1 << 15), 20);
        assert_eq!(epoch_shift(1 << 21), MAX_EPOCH_SHIFT);
        assert_eq!(epoch_shift(1 << 30), MAX_EPOCH_SHIFT);
    }
}
