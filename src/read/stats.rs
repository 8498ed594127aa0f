//! Counters and the [`Stats`] readers get.
//!
//! Writers count into per-shard arrays of atomics, so two threads on different shards
//! never share a counter's cache line: one `fetch_add` per event on a `[kind][severity]`
//! cell gives both the per-kind and the per-severity totals. Everything else (dropped,
//! truncated, overwritten) is rare or derived (see [`crate::core::ring`]). Readers sum.
//!
//! Counters only grow (`clear` removes events, not history), so successive [`Stats`]
//! never go backwards.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::core::histogram::{AtomicHistogram, HistogramSummary};
use crate::core::interner::Interner;
use crate::model::severity::Severity;
use crate::model::Timestamp;
use crate::read::Shared;

/// Whole-recorder totals at one moment; what the health sampler keeps a history of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) recorded: u64,
    pub(crate) by_severity: [u64; 5],
    pub(crate) overwritten: u64,
    pub(crate) dropped: u64,
    pub(crate) truncated: u64,
    pub(crate) expired: u64,
    pub(crate) cleared: u64,
    pub(crate) rejected: Rejected,
}

impl Totals {
    pub(crate) fn errors(&self) -> u64 {
        self.by_severity[Severity::Error as usize] + self.by_severity[Severity::Critical as usize]
    }

    pub(crate) fn critical(&self) -> u64 {
        self.by_severity[Severity::Critical as usize]
    }

    /// Events retained: exact at quiescence (`recorded = retained + overwritten +
    /// expired + cleared`), an estimate while writers run.
    pub(crate) fn retained(&self) -> u64 {
        self.recorded
            .saturating_sub(self.overwritten + self.expired + self.cleared)
    }
}

/// Events refused before they reached the ring, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rejected {
    /// While the recorder was disabled (`set_enabled(false)`).
    pub disabled: u64,
    /// Below the minimum severity.
    pub below_level: u64,
    /// After `close()`.
    pub closed: u64,
}

impl Rejected {
    /// All rejected events.
    pub fn total(&self) -> u64 {
        self.disabled + self.below_level + self.closed
    }
}

/// `a / b`, or 0 when `b` is 0.
pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl WindowStats {
    /// The window's figures: the totals `now` against the totals `then`, `secs` earlier.
    /// The one place they are computed (for `stats()`, health and `/metrics`).
    pub(crate) fn between(now: &Totals, then: &Totals, secs: f64) -> WindowStats {
        let events = now.recorded.saturating_sub(then.recorded);
        let errors = now.errors().saturating_sub(then.errors());
        WindowStats {
            seconds: secs,
            events,
            events_per_sec: if secs > 0.0 {
                events as f64 / secs
            } else {
                0.0
            },
            errors,
            critical: now.critical().saturating_sub(then.critical()),
            error_rate: ratio(errors, events),
            overwritten: now.overwritten.saturating_sub(then.overwritten),
            dropped: now.dropped.saturating_sub(then.dropped),
        }
    }
}

impl Shared {
    /// The figures over the health window, from the live totals (for `/metrics`).
    #[cfg(feature = "prometheus")]
    pub(crate) fn window_stats(&self) -> WindowStats {
        let (then, secs) = self.window_start();
        WindowStats::between(&self.totals(), &then, secs)
    }
}

/// Figures over the recent window (the health window, 60 s by default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowStats {
    /// How many seconds the figures cover (less than the window just after start).
    #[serde(with = "crate::model::float")]
    pub seconds: f64,
    /// Events recorded in the window.
    pub events: u64,
    /// Events per second over the window.
    #[serde(with = "crate::model::float")]
    pub events_per_sec: f64,
    /// Error and critical events in the window.
    pub errors: u64,
    /// Critical events in the window.
    pub critical: u64,
    /// `errors / events` in the window (0 when there were none).
    #[serde(with = "crate::model::float")]
    pub error_rate: f64,
    /// Events overwritten in the window.
    pub overwritten: u64,
    /// Events dropped in the window.
    pub dropped: u64,
}

/// A summary of everything the recorder has seen. Serialisable; part of every export.
///
/// Counts are all-time unless named otherwise. At quiescence
/// `total_recorded = retained + overwritten + expired + cleared`; `dropped` events
/// never reached the ring, and `rejected` ones were refused before it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// When these figures were taken.
    pub taken_at: crate::Timestamp,
    /// Seconds since the recorder was built.
    #[serde(with = "crate::model::float")]
    pub uptime_secs: f64,
    /// Events the ring can hold.
    pub capacity: u64,
    /// Events held now (see the type docs).
    pub retained: u64,
    /// Mean bytes of ring per retained event (whole 64-byte cells; 0 when empty). An
    /// estimate once events have expired or been cleared (their cells still count).
    #[serde(default, with = "crate::model::float")]
    pub mean_event_bytes: f64,
    /// Events written to the ring, all time.
    pub total_recorded: u64,
    /// Events written, by severity.
    pub by_severity: BTreeMap<Severity, u64>,
    /// Events written, by kind (`"(other)"`: kinds beyond the kind table's capacity).
    pub by_kind: BTreeMap<String, u64>,
    /// `(ERROR + CRITICAL) / total_recorded`, all time.
    #[serde(with = "crate::model::float")]
    pub error_rate: f64,
    /// Figures over the recent window.
    pub window: WindowStats,
    /// Peers connected and not since disconnected.
    pub active_peers: u64,
    /// Their ids, sorted.
    pub active_peer_ids: Vec<String>,
    /// Peers not tracked because the peer table was full.
    pub untracked_peers: u64,
    /// Events replaced by newer ones before they expired.
    pub overwritten: u64,
    /// Events lost because no slot could be claimed (writers sharing a shard, lapped).
    pub dropped: u64,
    /// Events written with something cut (too large for a slot, or over 8 fields).
    pub truncated: u64,
    /// Events removed by the sweeper for being older than the retention.
    pub expired: u64,
    /// Events removed by `clear()`.
    pub cleared: u64,
    /// Events refused before the ring.
    pub rejected: Rejected,
    /// Bytes the recorder holds (ring, counters, histograms, tables).
    pub memory_bytes: u64,
    /// Latency and value histograms by name.
    pub histograms: BTreeMap<String, HistogramSummary>,
    /// Message sizes in bytes by message type (from `Recorder::message`).
    pub message_sizes: BTreeMap<String, HistogramSummary>,
    /// Named counters (`Recorder::add`).
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Named gauges (`Recorder::set_gauge`); a NaN or infinite gauge is written as
    /// `"NaN"`, `"inf"` or `"-inf"` (JSON has no such number) and read back as the float.
    #[serde(default, with = "crate::model::float::map")]
    pub gauges: BTreeMap<String, f64>,
    /// Observations refused because the histogram table (`max_histograms` names) was
    /// full: histograms and message-size histograms.
    #[serde(default)]
    pub histograms_refused: u64,
    /// Counter updates refused because the named-counter table was full.
    #[serde(default)]
    pub counters_refused: u64,
    /// Gauge updates refused because the named-gauge table was full.
    #[serde(default)]
    pub gauges_refused: u64,
}

/// Summing the counters into totals and [`Stats`] (the read side of this module).
impl Shared {
    /// Sums every counter.
    ///
    /// `overwritten` is derived as `recorded + extra − missing` (see
    /// [`crate::core::ring`]). A writer bumps `extra`/`missing` before its event count
    /// (Release); this reads every shard's `extra` first, then the counts (Acquire), then
    /// `missing`: an `extra` bump seen here belongs to an event whose count may be missed
    /// (so at worst the figure runs ahead by the events in flight), and any `missing`
    /// bump of a counted event is seen. A high-water mark keeps the figure from going
    /// backwards between calls; at quiescence it is exact.
    pub(crate) fn totals(&self) -> Totals {
        let rows = self.core.kinds.len();
        let overflow = self.core.config.max_kinds;
        let mut t = Totals::default();
        let extra: u64 = self
            .core
            .ring
            .shards
            .iter()
            .map(|s| s.overwrite_extra())
            .sum();
        for (c, shard) in self.core.counters.iter().zip(self.core.ring.shards.iter()) {
            for row in (0..rows).chain(std::iter::once(overflow)) {
                for (sev, total) in t.by_severity.iter_mut().enumerate() {
                    *total += c.counts[row * 5 + sev].load(Ordering::Acquire);
                }
            }
            t.truncated += c.misc.truncated.load(Ordering::Relaxed);
            t.rejected.disabled += c.misc.rejected_disabled.load(Ordering::Relaxed);
            t.rejected.below_level += c.misc.rejected_below.load(Ordering::Relaxed);
            t.rejected.closed += c.misc.rejected_closed.load(Ordering::Relaxed);
            t.dropped += shard.dropped();
        }
        let missing: u64 = self
            .core
            .ring
            .shards
            .iter()
            .map(|s| s.overwrite_missing())
            .sum();
        t.recorded = t.by_severity.iter().sum();
        let derived = (t.recorded + extra).saturating_sub(missing);
        t.overwritten = self
            .overwritten_seen
            .fetch_max(derived, Ordering::Relaxed)
            .max(derived);
        t.expired = self.core.expired.load(Ordering::Relaxed);
        t.cleared = self.core.cleared.load(Ordering::Relaxed);
        t
    }

    /// Mean bytes of ring per retained event: the cells written so far (at most the
    /// ring) over the events retained; 0 when none is.
    pub(crate) fn mean_event_bytes(&self, retained: u64) -> f64 {
        let cells: u64 = self
            .core
            .ring
            .shards
            .iter()
            .map(|s| s.head().min(s.cells() as u64))
            .sum();
        if retained == 0 {
            0.0
        } else {
            (cells * crate::core::slot::CELL_BYTES as u64) as f64 / retained as f64
        }
    }

    /// Events written by kind and severity (indexed by `Severity as usize`), kinds with
    /// none left out; `"(other)"` is the row for kinds beyond the kind table.
    /// Events by kind and severity; with `every_kind`, each kind known so far (first
    /// seen, or a handle made) even with no event yet, so a metric series exists at 0
    /// before its first increment.
    pub(crate) fn kind_severity_counts(&self, every_kind: bool) -> Vec<(String, [u64; 5])> {
        let rows = self.core.kinds.len();
        let overflow = self.core.config.max_kinds;
        let mut out = Vec::new();
        for row in (0..rows).chain(std::iter::once(overflow)) {
            let mut counts = [0u64; 5];
            for c in self.core.counters.iter() {
                for (sev, n) in counts.iter_mut().enumerate() {
                    *n += c.counts[row * 5 + sev].load(Ordering::Relaxed);
                }
            }
            if counts.iter().any(|&n| n > 0) || (every_kind && row != overflow) {
                let name = if row == overflow {
                    "(other)".to_owned()
                } else {
                    self.core
                        .kinds
                        .name(row as u16)
                        .map_or_else(|| format!("#{row}"), |n| n.to_string())
                };
                out.push((name, counts));
            }
        }
        out
    }

    pub(crate) fn stats(&self) -> Stats {
        let t = self.totals();
        let (then, secs) = self.window_start();
        let by_kind = self
            .kind_severity_counts(false)
            .into_iter()
            .map(|(kind, counts)| (kind, counts.iter().sum()))
            .collect();
        let summaries = |names: &Interner, table: &[OnceLock<AtomicHistogram>]| {
            (0..names.len())
                .filter_map(|i| {
                    let h = table[i].get()?;
                    Some((names.name(i as u16)?.to_string(), h.summary()))
                })
                .collect::<BTreeMap<_, _>>()
        };
        Stats {
            taken_at: Timestamp::now(),
            uptime_secs: self.core.started.elapsed().as_secs_f64(),
            capacity: self.core.config.capacity as u64,
            retained: t.retained(),
            mean_event_bytes: self.mean_event_bytes(t.retained()),
            total_recorded: t.recorded,
            by_severity: Severity::ALL
                .iter()
                .map(|&s| (s, t.by_severity[s as usize]))
                .collect(),
            by_kind,
            error_rate: ratio(t.errors(), t.recorded),
            window: WindowStats::between(&t, &then, secs),
            active_peers: self.core.peers.active(),
            active_peer_ids: self.core.peers.active_ids(),
            untracked_peers: self.core.peers.untracked(),
            overwritten: t.overwritten,
            dropped: t.dropped,
            truncated: t.truncated,
            expired: t.expired,
            cleared: t.cleared,
            rejected: Rejected { ..t.rejected },
            memory_bytes: self.core.memory_bytes() as u64,
            histograms: summaries(&self.core.hist_names, &self.core.histograms),
            message_sizes: summaries(&self.core.msg_types, &self.core.msg_sizes),
            counters: self
                .core
                .counters_named
                .entries()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            gauges: self
                .core
                .gauges
                .entries()
                .map(|(k, v)| (k.to_owned(), f64::from_bits(v)))
                .collect(),
            histograms_refused: self.core.histograms_refused(),
            counters_refused: self.core.counters_named.refused.load(Ordering::Relaxed),
            gauges_refused: self.core.gauges.refused.load(Ordering::Relaxed),
        }
    }
}
