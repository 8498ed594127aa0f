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
    /// Adds `o`'s counts to these.
    fn add(&mut self, o: &Totals) {
        self.recorded += o.recorded;
        for (a, b) in self.by_severity.iter_mut().zip(o.by_severity) {
            *a += b;
        }
        self.overwritten += o.overwritten;
        self.dropped += o.dropped;
        self.truncated += o.truncated;
        self.expired += o.expired;
        self.cleared += o.cleared;
        self.rejected.disabled += o.rejected.disabled;
        self.rejected.below_level += o.rejected.below_level;
        self.rejected.closed += o.rejected.closed;
    }

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

/// The raw timestamps of the oldest unexpired and the newest retained event of
/// `shard`, if it holds any: scanning from the oldest position forward, and from the
/// newest back, to the first complete head each way (a few cells, unless the shard's
/// oldest part has expired or been cleared).
fn span_raw(shard: &crate::core::ring::Shard, cutoff: u64) -> Option<(u64, u64)> {
    let head = shard.head();
    let start = head.saturating_sub(shard.cells() as u64);
    let mut word = [0u64; 1];
    let mut oldest = None;
    let mut p = start;
    while p < head {
        match shard.read_head(p as usize, &mut word) {
            Some((pos, k)) if pos == p => {
                if word[0] >= cutoff {
                    oldest = Some(word[0]);
                    break;
                }
                p += k as u64;
            }
            _ => p += 1,
        }
    }
    let oldest = oldest?;
    let mut p = head;
    while p > start {
        p -= 1;
        if let Some((pos, _)) = shard.read_head(p as usize, &mut word) {
            if pos == p && word[0] >= cutoff {
                return Some((oldest, word[0].max(oldest)));
            }
        }
    }
    Some((oldest, oldest))
}

/// One tier of the ring: the main tier, and the reserved tier that keeps Warning and
/// above apart from Debug/Info floods (see [`crate::Builder::reserved_share`]). At
/// quiescence `recorded = retained + overwritten + expired + cleared` holds per tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TierStats {
    /// `"main"` or `"reserved"`.
    pub tier: String,
    /// The least severity the tier holds.
    pub min_severity: Severity,
    /// The greatest severity it holds.
    pub max_severity: Severity,
    /// Its ring bytes over all shards.
    pub capacity_bytes: u64,
    /// Events written to it, all time.
    pub recorded: u64,
    /// Events it holds now.
    pub retained: u64,
    /// Events replaced by newer ones of the same tier.
    pub overwritten: u64,
    /// Events lost because their writer was lapped.
    pub dropped: u64,
    /// Events the sweeper expired.
    pub expired: u64,
    /// Events `clear()` removed.
    pub cleared: u64,
    /// The oldest retained, unexpired event's time.
    pub oldest: Option<Timestamp>,
    /// The newest retained event's time.
    pub newest: Option<Timestamp>,
    /// `newest − oldest`, in seconds (0 when empty): how far back this tier reaches.
    #[serde(with = "crate::model::float")]
    pub span_secs: f64,
}

impl std::fmt::Display for TierStats {
    /// `Debug..Info: 65211 events, the last 8.1 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.max_severity == Severity::Critical {
            write!(f, "{}+", self.min_severity)?;
        } else {
            write!(f, "{}..{}", self.min_severity, self.max_severity)?;
        }
        write!(f, ": {} events", self.retained)?;
        if self.retained == 0 {
            return Ok(());
        }
        let s = self.span_secs;
        if s < 1e-3 {
            write!(f, ", the last {:.0} µs", s * 1e6)
        } else if s < 1.0 {
            write!(f, ", the last {:.1} ms", s * 1e3)
        } else if s < 60.0 {
            write!(f, ", the last {s:.1} s")
        } else {
            let whole = std::time::Duration::from_secs(s as u64);
            write!(f, ", the last {}", humantime::format_duration(whole))
        }
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
    /// Each tier's retained events, losses and time span (the main tier, then the
    /// reserved tier for Warning and above when it is on).
    #[serde(default)]
    pub tiers: Vec<TierStats>,
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
        let mut t = self.tier_totals(0);
        t.add(&self.tier_totals(1));
        t.overwritten = self
            .overwritten_seen
            .fetch_max(t.overwritten, Ordering::Relaxed)
            .max(t.overwritten);
        t
    }

    /// [`Shared::totals`] for tier `tier`'s shards alone (0 main, 1 reserved; all zero
    /// when the tier is off), without the high-water mark. Each event's counts live in
    /// its own shard, so the reading order above holds tier by tier.
    fn tier_totals(&self, tier: usize) -> Totals {
        let rows = self.core.kinds.len();
        let overflow = self.core.config.max_kinds;
        let ring = &self.core.ring;
        let mut t = Totals::default();
        let extra: u64 = ring.tier(tier).map(|(_, s)| s.overwrite_extra()).sum();
        for (i, shard) in ring.tier(tier) {
            let c = &self.core.counters[i];
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
        let missing: u64 = ring.tier(tier).map(|(_, s)| s.overwrite_missing()).sum();
        t.recorded = t.by_severity.iter().sum();
        t.overwritten = (t.recorded + extra).saturating_sub(missing);
        t.expired = self.core.expired[tier].load(Ordering::Relaxed);
        t.cleared = self.core.cleared[tier].load(Ordering::Relaxed);
        t
    }

    /// Each tier's figures: the main tier, then the reserved one when it is on.
    pub(crate) fn tiers(&self) -> Vec<TierStats> {
        let core = &self.core;
        let ring = &core.ring;
        let reserved = ring.shards.len() > ring.main;
        let cutoff = core.expiry_cutoff_raw();
        (0..1 + usize::from(reserved))
            .map(|tier| {
                let t = self.tier_totals(tier);
                let (mut oldest, mut newest) = (u64::MAX, 0);
                for (_, shard) in ring.tier(tier) {
                    if let Some((o, n)) = span_raw(shard, cutoff) {
                        oldest = oldest.min(o);
                        newest = newest.max(n);
                    }
                }
                let span = (newest >= oldest)
                    .then(|| (core.cal.to_timestamp(oldest), core.cal.to_timestamp(newest)));
                let (min, max) = match (tier, reserved) {
                    (0, true) => (Severity::Debug, Severity::Info),
                    (0, false) => (Severity::Debug, Severity::Critical),
                    _ => (crate::core::RESERVED_FROM, Severity::Critical),
                };
                let bytes: usize = ring
                    .tier(tier)
                    .map(|(_, s)| s.cells() * crate::core::slot::CELL_BYTES)
                    .sum();
                TierStats {
                    tier: if tier == 0 { "main" } else { "reserved" }.to_owned(),
                    min_severity: min,
                    max_severity: max,
                    capacity_bytes: bytes as u64,
                    recorded: t.recorded,
                    retained: t.retained(),
                    overwritten: t.overwritten,
                    dropped: t.dropped,
                    expired: t.expired,
                    cleared: t.cleared,
                    oldest: span.map(|s| s.0),
                    newest: span.map(|s| s.1),
                    span_secs: span.map_or(0.0, |(o, n)| {
                        n.as_unix_nanos().saturating_sub(o.as_unix_nanos()) as f64 / 1e9
                    }),
                }
            })
            .collect()
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
            tiers: self.tiers(),
        }
    }
}
