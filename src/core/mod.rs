//! THE HOT PATH: everything `Recorder::record` touches, and nothing else.
//!
//! [`Core`] is the write side's shared state: the gate, the sharded ring of slots, the
//! per-shard counters, the kind/histogram/counter tables and the redactor. The read side
//! (`crate::read`) reads it; nothing here names the read side, the facade or any
//! background thread.
//!
//! # The record path
//!
//! 1. one relaxed load of the *gate* (the least severity accepted; a value above every
//!    severity when disabled or closed) — the whole cost of a rejected event, plus a
//!    relaxed counter bump, both inline at the call site (`record` is a small inline
//!    wrapper; everything below is one call);
//! 2. the kind id: from a cached [`Kind`](crate::Kind) handle, or a lock-free lookup by name;
//! 3. one raw clock read (see [`clock`]);
//! 4. the thread's shard: its thread-local number plus the time epoch, so concurrent
//!    threads are on different shards while one busy thread still uses them all;
//! 5. size the event (one pass over its field lengths), claim the `ceil(size / 56)`
//!    cells it needs, encode it straight into their payload words (one pass, no
//!    buffer; see [`codec`]), publish them (see [`slot`], [`ring`]); an event above
//!    `max_event_bytes` (or with an inline kind) is encoded, cut, on the stack first;
//! 6. one `fetch_add` on the shard's `[kind][severity]` counter.
//!
//! No lock, no allocation (after a kind's first event), no wait on any reader.

pub(crate) mod clock;
pub(crate) mod codec;
pub(crate) mod histogram;
pub(crate) mod interner;
pub(crate) mod named;
pub(crate) mod peers;
pub(crate) mod redact;
pub(crate) mod ring;
pub(crate) mod shard_counters;
pub(crate) mod slot;

use std::cell::Cell;
use std::sync::{Arc, Mutex, OnceLock};

use crate::sync::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::model::names::{RESERVED_COUNTERS, RESERVED_HISTOGRAMS};
use crate::model::{Config, Event, KindRef, Severity, Timestamp};
use clock::Calibration;
use histogram::AtomicHistogram;
use interner::{Interner, NO_ID};
use named::NamedValues;
use peers::Peers;
use redact::Redactor;
use ring::Ring;
use shard_counters::ShardCounters;

/// The least severity written to the reserved tier (when it is on).
pub(crate) const RESERVED_FROM: Severity = Severity::Warning;

/// Gate value while disabled: above every severity.
pub(crate) const GATE_DISABLED: u8 = 5;
/// Gate value after `close()`.
pub(crate) const GATE_CLOSED: u8 = 6;

/// Bounds of a thread's stay on one shard, `2^shift` raw clock ticks (TSC ticks: about
/// 22 µs and 22 ms at 3 GHz); see [`epoch_shift`].
const MIN_EPOCH_SHIFT: u32 = 16;
const MAX_EPOCH_SHIFT: u32 = 26;

/// How long a thread stays on one shard (see `Core::shard_for_write`), as a power of
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

/// Process-wide and only for uniqueness, so `std`'s (see `crate::sync`).
static NEXT_THREAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// This thread's number (assigned on its first event) and the raw time of its last
    /// event; see `Core::shard_for_write`.
    static THREAD: Cell<(usize, u64)> = const { Cell::new((usize::MAX, 0)) };
}

#[inline]
fn thread_state() -> (usize, u64) {
    THREAD.with(|c| {
        let st = c.get();
        if st.0 != usize::MAX {
            st
        } else {
            let st = (
                NEXT_THREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                0,
            );
            c.set(st);
            st
        }
    })
}

#[inline]
pub(crate) fn thread_no() -> usize {
    thread_state().0
}

/// The machine's physical memory in bytes, where the system says (`MemTotal` in
/// Linux's `/proc/meminfo`).
fn physical_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The write side's state, shared by every clone of a `Recorder` (through the read
/// side's `Shared`).
pub(crate) struct Core {
    pub(crate) config: Config,
    /// Least severity accepted (`0..=4`), or `GATE_DISABLED`/`GATE_CLOSED`. Read by every
    /// writer; written only under `settings`.
    pub(crate) gate: CachePadded<AtomicU8>,
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
    pub(crate) builtin: BuiltinKinds,
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
    /// Bytes held by histograms allocated so far.
    histogram_bytes: AtomicUsize,
    pub(crate) peers: Peers,
    /// Added to the writer's shard, by severity: the reserved tier's offset
    /// (`ring.main`) for Warning and above when that tier is on, else 0.
    tier_offset: [usize; 5],
    /// Events killed by the sweeper, by tier (main, reserved).
    pub(crate) expired: [AtomicU64; 2],
    /// Events killed by `clear()`, by tier.
    pub(crate) cleared: [AtomicU64; 2],
    pub(crate) started: Instant,
    pub(crate) cal: &'static Calibration,
    /// Encoded size above which an event is truncated (resolved in the config).
    max_event_bytes: usize,
    /// The redaction rules: applied by the read side to everything it decodes, and
    /// here only when `redact_on_record` is set.
    pub(crate) redactor: Arc<Redactor>,
    /// [`crate::RedactionConfig::on_record`] (and an active redactor).
    redact_on_record: bool,
}

/// The ids of the kinds the built-in recording methods use, interned up front.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuiltinKinds {
    pub(crate) peer_connected: u16,
    pub(crate) peer_disconnected: u16,
    pub(crate) message: u16,
    pub(crate) error: u16,
}

pub(crate) fn gate_value(min: Severity, enabled: bool) -> u8 {
    if enabled {
        min as u8
    } else {
        GATE_DISABLED
    }
}

impl Core {
    /// The state for `config` (already validated), nothing recorded yet; an error if
    /// the ring's memory cannot be allocated.
    pub(crate) fn new(config: Config) -> Result<Core, crate::ConfigError> {
        let cal = clock::calibration();
        let per_shard = config.capacity_bytes / slot::CELL_BYTES / config.shards;
        let reserved_per_shard = config.reserved_bytes / slot::CELL_BYTES / config.shards;
        let max_cells = config.max_event_bytes.div_ceil(slot::CELL_PAYLOAD);
        let ring_bytes = config.capacity_bytes.saturating_add(config.reserved_bytes);
        let oom = crate::ConfigError::OutOfMemory { bytes: ring_bytes };
        // Overcommit would let an allocation larger than the machine succeed and the
        // zeroing then be killed; a budget over the physical memory is refused first.
        if physical_memory().is_some_and(|m| ring_bytes > m) {
            return Err(oom);
        }
        let ring = Ring::try_new(config.shards, per_shard, reserved_per_shard, max_cells)
            .map_err(|_| oom)?;
        let mut tier_offset = [0; 5];
        if reserved_per_shard > 0 {
            for sev in Severity::ALL.into_iter().filter(|&s| s >= RESERVED_FROM) {
                tier_offset[sev as usize] = config.shards;
            }
        }
        let kinds = Interner::new(config.max_kinds);
        let builtin = BuiltinKinds {
            peer_connected: kinds.intern("peer_connected").unwrap_or(NO_ID),
            peer_disconnected: kinds.intern("peer_disconnected").unwrap_or(NO_ID),
            message: kinds.intern("message").unwrap_or(NO_ID),
            error: kinds.intern("error").unwrap_or(NO_ID),
        };
        Ok(Core {
            gate: CachePadded::new(AtomicU8::new(gate_value(
                config.min_severity,
                config.enabled,
            ))),
            settings: Mutex::new((config.min_severity, config.enabled)),
            closed: AtomicBool::new(false),
            epoch_shift: epoch_shift(per_shard.next_power_of_two()),
            shard_mask: config.shards.is_power_of_two().then(|| config.shards - 1),
            counters: (0..ring.shards.len())
                .map(|_| ShardCounters::new(config.max_kinds + 1))
                .collect(),
            kinds,
            builtin,
            hist_names: {
                let names = Interner::new(config.max_histograms + RESERVED_HISTOGRAMS.len());
                for name in RESERVED_HISTOGRAMS {
                    let _ = names.intern(name);
                }
                names
            },
            histograms: (0..config.max_histograms + RESERVED_HISTOGRAMS.len())
                .map(|_| OnceLock::new())
                .collect(),
            msg_types: Interner::new(config.max_histograms),
            msg_sizes: (0..config.max_histograms)
                .map(|_| OnceLock::new())
                .collect(),
            histograms_refused: AtomicU64::new(0),
            counters_named: NamedValues::new(config.max_histograms * 4, &RESERVED_COUNTERS),
            gauges: NamedValues::new(config.max_histograms * 4, &[]),
            histogram_bytes: AtomicUsize::new(0),
            peers: Peers::new(config.max_peers),
            ring,
            tier_offset,
            expired: [AtomicU64::new(0), AtomicU64::new(0)],
            cleared: [AtomicU64::new(0), AtomicU64::new(0)],
            started: Instant::now(),
            cal,
            max_event_bytes: config.max_event_bytes,
            redactor: Arc::new(config.redaction.compile()),
            redact_on_record: config.redaction.on_record && config.redaction.enabled,
            config,
        })
    }

    /// The gate: the least severity accepted, or `GATE_DISABLED`/`GATE_CLOSED`.
    #[inline]
    pub(crate) fn gate(&self) -> u8 {
        self.gate.load(Ordering::Relaxed)
    }

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

    /// Records an event the gate let through: the kind lookup, then [`Core::write`].
    #[inline(never)]
    pub(crate) fn record_accepted(&self, ev: &Event<'_>) {
        let kind = self.kind_id(&ev.kind);
        self.write(ev, kind);
    }

    /// Counts an event refused at `gate` (the gate value the caller loaded).
    #[inline]
    pub(crate) fn reject(&self, gate: u8) {
        let c = &self.counters[self.shard()].misc;
        match gate {
            GATE_CLOSED => {
                c.rejected_closed.fetch_add(1, Ordering::Relaxed);
            }
            GATE_DISABLED => shard_counters::bump_unsynchronised(&c.rejected_disabled),
            _ => shard_counters::bump_unsynchronised(&c.rejected_below),
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

    /// Writes `ev` as given. Redaction is the read side's (its decode step, `read::decode`);
    /// only with `redact_on_record` is a redacted copy built here, on the stack, when a
    /// key or value calls for it.
    #[inline(always)]
    pub(crate) fn write(&self, ev: &Event<'_>, kind: u16) {
        if self.redact_on_record && self.redactor.needs_redaction(ev) {
            self.write_redacted(ev, kind);
        } else {
            self.write_plain(ev, kind);
        }
    }

    /// [`Core::write`] for an event with something to redact (rare).
    #[cold]
    #[inline(never)]
    fn write_redacted(&self, ev: &Event<'_>, kind: u16) {
        self.redactor
            .with_redacted(ev, |ev| self.write_plain(ev, kind));
    }

    #[inline(always)]
    fn write_plain(&self, ev: &Event<'_>, kind: u16) {
        // Warning and above go to the reserved tier's shard of the same number (one
        // load of a read-only field; no branch).
        let shard = self.shard_for_write() + self.tier_offset[ev.severity as usize];
        let raw = clock::now_raw();
        THREAD.with(|c| c.set((c.get().0, raw)));
        // Sized, then encoded straight into the cells (see `codec::encode_into_words`).
        let written = match codec::plan_whole(ev, kind) {
            Some(n) if n <= self.max_event_bytes => self.ring.shards[shard]
                .write_with(n.div_ceil(slot::CELL_PAYLOAD), |words| {
                    codec::encode_into_words(ev, kind, raw, words);
                })
                .map(|_| false),
            _ => self.write_cut(shard, ev, kind, raw),
        };
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

    /// [`Core::write_plain`] for an event that cannot be stored whole as it is (larger
    /// than `max_event_bytes`, or with an inline kind): encoded on the stack, cut to
    /// `max_event_bytes`, then copied into the cells it takes. Returns whether it was
    /// truncated, or `None` if it was dropped.
    #[cold]
    #[inline(never)]
    fn write_cut(&self, shard: usize, ev: &Event<'_>, kind: u16, raw: u64) -> Option<bool> {
        // A buffer no larger than needed for the default limit (zeroing 16 KiB for
        // every event with an inline kind would cost more than the event).
        if self.max_event_bytes <= 2048 {
            self.write_cut_via::<2048>(shard, ev, kind, raw)
        } else {
            self.write_cut_via::<{ codec::MAX_PAYLOAD_BYTES }>(shard, ev, kind, raw)
        }
    }

    /// [`Core::write_cut`] through an `N`-byte stack buffer (`N >= max_event_bytes`).
    #[inline(always)]
    fn write_cut_via<const N: usize>(
        &self,
        shard: usize,
        ev: &Event<'_>,
        kind: u16,
        raw: u64,
    ) -> Option<bool> {
        let mut buf = [0u8; N];
        let budget = self.max_event_bytes.min(N);
        let e = codec::encode_cut_to_buf(ev, kind, raw, &mut buf[..budget]);
        let bytes = &buf[..e.len];
        self.ring.shards[shard]
            .write_with(e.len.div_ceil(slot::CELL_PAYLOAD), |words| {
                codec::store_words(bytes, words)
            })
            .map(|_| e.truncated)
    }

    pub(crate) fn histogram_in<'a>(
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

    pub(crate) fn update_settings(&self, f: impl FnOnce(&mut (Severity, bool))) {
        let mut st = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut st);
        if !self.closed.load(Ordering::Acquire) {
            self.gate.store(gate_value(st.0, st.1), Ordering::Relaxed);
        }
    }

    /// Expires events older than the retention and forgets departed peers.
    pub(crate) fn sweep(&self) -> u64 {
        let cutoff = self.expiry_cutoff_raw();
        let n = self.kill_where(|ts| ts < cutoff, &self.expired);
        if let Some(cutoff) = Instant::now().checked_sub(self.config.sweep_interval) {
            self.peers.forget_departed(cutoff);
        }
        n
    }

    /// Kills every event (`Recorder::clear`), counting them as cleared.
    pub(crate) fn clear(&self) {
        self.kill_where(|_| true, &self.cleared);
    }

    /// Kills every live event whose raw timestamp matches, counting them per tier
    /// into `count`; returns how many.
    fn kill_where(&self, dead: impl Fn(u64) -> bool + Copy, count: &[AtomicU64; 2]) -> u64 {
        let mut total = 0;
        for (t, tally) in count.iter().enumerate() {
            let mut n = 0;
            for (_, shard) in self.ring.tier(t) {
                for idx in 0..shard.cells() {
                    n += u64::from(shard.kill_if(idx, dead).is_some());
                }
            }
            tally.fetch_add(n, Ordering::Relaxed);
            total += n;
        }
        total
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
