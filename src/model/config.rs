//! Building a recorder: the [`Builder`], the resolved [`Config`], and [`ConfigError`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::severity::Severity;
use crate::model::HealthThresholds;
use crate::model::RedactionConfig;

/// Slot sizes a recorder can use, in bytes.
pub const SLOT_SIZES: [usize; 5] = [64, 128, 256, 512, 1024];

/// The largest capacity accepted (2^30 events: 128 GiB of 128-byte slots).
pub const MAX_CAPACITY: usize = 1 << 30;

/// Bytes of ring one cell takes: an event takes whole cells (56 payload bytes each).
pub const CELL_BYTES: usize = 64;
/// The reserved tier's default share of the ring (see [`Builder::reserved_share`]).
pub const DEFAULT_RESERVED_SHARE: f64 = 0.125;

/// Payload bytes of one cell (the rest is its sequence word).
const CELL_PAYLOAD: usize = 56;

/// The largest `max_event_bytes` accepted.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

/// The shortest [`Builder::retention`]: 1 s. A shorter one hides events almost as soon
/// as they are recorded.
pub const MIN_RETENTION: Duration = Duration::from_secs(1);
/// The shortest [`Builder::sweep_interval`]: 10 ms (a shorter one keeps a core busy).
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(10);
/// The shortest [`Builder::health_interval`]: 10 ms (each run keeps a sample; a shorter
/// interval grows the history's churn without adding information).
pub const MIN_HEALTH_INTERVAL: Duration = Duration::from_millis(10);

/// Why a configuration was refused. Each variant names the field that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `capacity` was 0.
    #[error("capacity must be at least 1 event")]
    ZeroCapacity,
    /// `capacity` was over [`MAX_CAPACITY`].
    #[error("capacity {0} is over the maximum of {MAX_CAPACITY} events")]
    CapacityTooLarge(usize),
    /// `shards` was 0.
    #[error("shards must be at least 1")]
    ZeroShards,
    /// More shards than events.
    #[error("shards ({shards}) must not exceed capacity ({capacity})")]
    ShardsExceedCapacity {
        /// The shards asked for.
        shards: usize,
        /// The capacity asked for.
        capacity: usize,
    },
    /// `retention` was zero.
    #[error("retention must be greater than zero")]
    ZeroRetention,
    /// `sweep_interval` was zero.
    #[error("sweep_interval must be greater than zero")]
    ZeroSweepInterval,
    /// `slot_bytes` was not one of [`SLOT_SIZES`].
    #[error("slot_bytes must be one of 64, 128, 256, 512 or 1024; got {0}")]
    SlotBytes(usize),
    /// A duration was shorter than its documented minimum ([`MIN_RETENTION`],
    /// [`MIN_SWEEP_INTERVAL`], [`MIN_HEALTH_INTERVAL`]).
    #[error("{field} must be at least {}; got {}", super::format_duration(*.minimum), super::format_duration(*.value))]
    TooShort {
        /// The field's name as in the builder.
        field: &'static str,
        /// The duration given.
        value: Duration,
        /// The least accepted.
        minimum: Duration,
    },
    /// The ring's memory could not be allocated (the budget is more than this machine
    /// can give); nothing was built.
    #[error("the ring needs {bytes} bytes of memory, which could not be allocated; lower capacity or capacity_bytes")]
    OutOfMemory {
        /// The bytes asked of the allocator (the ring's cells, payload and sequence words).
        bytes: usize,
    },
    /// Another field was out of range.
    #[error("{field} must be {expected}; got {value}")]
    OutOfRange {
        /// The field's name as in the builder.
        field: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
}

impl ConfigError {
    /// The name of the field that was wrong, as in the builder.
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::ZeroCapacity
            | ConfigError::CapacityTooLarge(_)
            | ConfigError::OutOfMemory { .. } => "capacity",
            ConfigError::ZeroShards | ConfigError::ShardsExceedCapacity { .. } => "shards",
            ConfigError::ZeroRetention => "retention",
            ConfigError::ZeroSweepInterval => "sweep_interval",
            ConfigError::SlotBytes(_) => "slot_bytes",
            ConfigError::OutOfRange { field, .. } | ConfigError::TooShort { field, .. } => field,
        }
    }
}

/// A recorder's configuration, resolved at build: what the ring really holds (the
/// budget is rounded down so each shard has a power-of-two number of cells: never more
/// memory than asked). Part of every export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Events of `slot_bytes` bytes the ring holds over all shards
    /// (`capacity_bytes / slot_bytes`); smaller events fit more, larger ones fewer.
    pub capacity: usize,
    /// Number of shards.
    pub shards: usize,
    /// The ring footprint [`Builder::capacity`] budgets per event (default 128, the
    /// typical event's two cells).
    pub slot_bytes: usize,
    /// The ring's budget in bytes over all shards: `shards × cells per shard × 64`, each
    /// shard a power of two of 64-byte cells.
    #[serde(default)]
    pub capacity_bytes: usize,
    /// Encoded size above which an event is truncated (resolved: at most what one
    /// shard holds).
    #[serde(default)]
    pub max_event_bytes: usize,
    /// The reserved tier's share of `capacity_bytes` (resolved to a power-of-two
    /// fraction, `1/2 ..= 1/1024`; 0 when off): Warning and above are written to
    /// their own shards of that size, so no amount of Debug/Info traffic evicts them.
    #[serde(default)]
    pub reserved_share: f64,
    /// The reserved tier's bytes over all shards, on top of `capacity_bytes` (0 when
    /// off; at least one largest event per shard).
    #[serde(default)]
    pub reserved_bytes: usize,
    /// How long events stay visible.
    #[serde(with = "serde_secs")]
    pub retention: Duration,
    /// How often the sweeper expires events and forgets departed peers.
    #[serde(with = "serde_secs")]
    pub sweep_interval: Duration,
    /// How often the health sampler runs.
    #[serde(with = "serde_secs")]
    pub health_interval: Duration,
    /// The least severity recorded (at build; changeable at run time).
    pub min_severity: Severity,
    /// Whether recording was enabled at build.
    pub enabled: bool,
    /// Event kinds with their own counters; further kinds count under `"(other)"`.
    pub max_kinds: usize,
    /// Named histograms; further names are not recorded (counted in `histograms_refused`).
    pub max_histograms: usize,
    /// Peers tracked in the active-peer set.
    pub max_peers: usize,
    /// Histogram upper bound; larger values are clamped and counted out of range.
    pub histogram_max: u64,
    /// Health thresholds.
    pub health: HealthThresholds,
    /// What is redacted before events reach the ring.
    #[serde(default)]
    pub redaction: RedactionConfig,
}

/// The reserved tier's shift (its share is `1 / 2^shift`, the nearest to `share`) and
/// cells per shard, beside a main tier of `main_cells` cells per shard: never less than
/// one largest event, never more than the main tier. `None` when `share` is 0.
fn reserved_cells(main_cells: usize, share: f64, max_event_bytes: usize) -> Option<(u32, usize)> {
    if share <= 0.0 {
        return None;
    }
    let shift = (1.0 / share).log2().round().clamp(1.0, 10.0) as u32;
    let largest = max_event_bytes.div_ceil(CELL_PAYLOAD).next_power_of_two();
    Some((shift, (main_cells >> shift).max(largest).min(main_cells)))
}

/// Serialises a [`Duration`] as fractional seconds.
pub(crate) mod serde_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Builds a [`Recorder`](crate::Recorder); see [`Recorder::builder`](crate::Recorder::builder).
///
/// ```
/// use std::time::Duration;
/// use flightring::{Recorder, Severity};
/// let rec = Recorder::builder()
///     .capacity(65_536)
///     .shards(8)
///     .retention(Duration::from_secs(86_400))
///     .sweep_interval(Duration::from_secs(300))
///     .min_severity(Severity::Debug)
///     .build()?;
/// assert_eq!(rec.capacity(), 65_536);
/// # Ok::<(), flightring::ConfigError>(())
/// ```
#[must_use = "builders do nothing unless used"]
#[derive(Debug, Clone)]
pub struct Builder {
    capacity: usize,
    capacity_bytes: Option<usize>,
    max_event_bytes: usize,
    reserved_share: f64,
    shards: Option<usize>,
    slot_bytes: usize,
    retention: Duration,
    sweep_interval: Duration,
    health_interval: Duration,
    min_severity: Severity,
    enabled: bool,
    max_kinds: usize,
    max_histograms: usize,
    max_peers: usize,
    histogram_max: u64,
    health: HealthThresholds,
    redaction: RedactionConfig,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            capacity: 65_536,
            capacity_bytes: None,
            max_event_bytes: 2048,
            reserved_share: DEFAULT_RESERVED_SHARE,
            shards: None,
            slot_bytes: 128,
            retention: Duration::from_secs(86_400),
            sweep_interval: Duration::from_secs(300),
            health_interval: Duration::from_secs(1),
            min_severity: Severity::Debug,
            enabled: true,
            max_kinds: 256,
            max_histograms: 64,
            max_peers: 65_536,
            histogram_max: 3_600_000_000_000,
            health: HealthThresholds::default(),
            redaction: RedactionConfig::default(),
        }
    }
}

impl Builder {
    /// Sizes the ring for this many events of `slot_bytes` (default 128) bytes of ring
    /// each (default 65 536 events: 8 MiB): the budget is `events × slot_bytes`, rounded
    /// down so each shard has a power-of-two number of 64-byte cells (with a power-of-two
    /// shard count and budget, exactly; `Config` says what was built). Events take the
    /// cells they need, so the ring holds more small events and fewer large ones.
    /// [`Builder::capacity_bytes`] sets the budget directly.
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self.capacity_bytes = None;
        self
    }

    /// The ring's budget in bytes over all shards (rounded down so each shard has a
    /// power-of-two number of 64-byte cells); overrides [`Builder::capacity`].
    pub fn capacity_bytes(mut self, bytes: usize) -> Self {
        self.capacity_bytes = Some(bytes);
        self
    }

    /// Encoded event size above which an event is truncated, marked and counted
    /// (default 2048, between 64 and 16384; at most what one shard holds). An event
    /// takes `ceil(size / 56)` cells of 64 bytes.
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// The share of the ring kept for events of Warning and above (default 1/8; 0 turns
    /// it off; at most 1/2), resolved to the nearest power-of-two fraction of
    /// `capacity_bytes`. Those events go to a tier of their own — extra shards of that
    /// size, on top of the main ring — so a flood of Debug/Info events cannot evict the
    /// last warnings and errors: Android's logd keeps a separate crash buffer for the
    /// same reason. Queries, snapshots, cursors and exports merge both tiers in time
    /// order; [`Stats::tiers`](crate::Stats::tiers) gives each tier's span and losses.
    pub fn reserved_share(mut self, share: f64) -> Self {
        self.reserved_share = share;
        self
    }

    /// Number of shards (default: the machine's parallelism rounded up to a power of
    /// two, at most 64). Each thread writes to one shard; more shards, less sharing.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Ring bytes [`Builder::capacity`] budgets per event: 64, 128 (default), 256, 512
    /// or 1024. Memory is `capacity × slot_bytes`. (Events no longer live in slots of
    /// this size: each takes the 64-byte cells it needs, up to `max_event_bytes`.)
    pub fn slot_bytes(mut self, bytes: usize) -> Self {
        self.slot_bytes = bytes;
        self
    }

    /// How long events stay visible (default 24 h; at least [`MIN_RETENTION`], 1 s).
    pub fn retention(mut self, d: Duration) -> Self {
        self.retention = d;
        self
    }

    /// How often the sweeper runs (default 5 min; at least [`MIN_SWEEP_INTERVAL`],
    /// 10 ms).
    pub fn sweep_interval(mut self, d: Duration) -> Self {
        self.sweep_interval = d;
        self
    }

    /// How often health is re-evaluated and window figures sampled (default 1 s; at
    /// least [`MIN_HEALTH_INTERVAL`], 10 ms).
    pub fn health_interval(mut self, d: Duration) -> Self {
        self.health_interval = d;
        self
    }

    /// The least severity recorded (default Debug: everything).
    pub fn min_severity(mut self, s: Severity) -> Self {
        self.min_severity = s;
        self
    }

    /// Whether recording starts enabled (default true).
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// Kinds with their own counters (default 256, at most 65 000).
    pub fn max_kinds(mut self, n: usize) -> Self {
        self.max_kinds = n;
        self
    }

    /// Named histograms (default 64, at most 65 000). Each costs about 20 KiB per
    /// histogram shard (up to 4), allocated on first use.
    pub fn max_histograms(mut self, n: usize) -> Self {
        self.max_histograms = n;
        self
    }

    /// Peers tracked in the active set (default 65 536).
    pub fn max_peers(mut self, n: usize) -> Self {
        self.max_peers = n;
        self
    }

    /// Histogram upper bound in nanoseconds for durations, or units for values
    /// (default 1 h in ns). Larger values are clamped and counted out of range.
    pub fn histogram_max(mut self, v: u64) -> Self {
        self.histogram_max = v;
        self
    }

    /// What is redacted before events reach the ring (default: the deny-listed keys of
    /// [`RedactionConfig`] and credentials in URLs).
    pub fn redaction(mut self, r: RedactionConfig) -> Self {
        self.redaction = r;
        self
    }

    /// Health thresholds (defaults in [`HealthThresholds`]).
    pub fn health_thresholds(mut self, t: HealthThresholds) -> Self {
        self.health = t;
        self
    }

    /// Checks the configuration and resolves it, without building.
    pub fn config(&self) -> Result<Config, ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        if self.capacity > MAX_CAPACITY && self.capacity_bytes.is_none() {
            return Err(ConfigError::CapacityTooLarge(self.capacity));
        }
        let shards = match self.shards {
            Some(0) => return Err(ConfigError::ZeroShards),
            Some(s) if s > self.capacity => {
                return Err(ConfigError::ShardsExceedCapacity {
                    shards: s,
                    capacity: self.capacity,
                })
            }
            Some(s) if s > 1024 => {
                return Err(ConfigError::OutOfRange {
                    field: "shards",
                    value: s.to_string(),
                    expected: "at most 1024",
                })
            }
            Some(s) => s,
            None => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .next_power_of_two()
                .min(64)
                .min(self.capacity),
        };
        if self.retention.is_zero() {
            return Err(ConfigError::ZeroRetention);
        }
        if self.sweep_interval.is_zero() {
            return Err(ConfigError::ZeroSweepInterval);
        }
        for (field, value, minimum) in [
            ("retention", self.retention, MIN_RETENTION),
            ("sweep_interval", self.sweep_interval, MIN_SWEEP_INTERVAL),
            ("health_interval", self.health_interval, MIN_HEALTH_INTERVAL),
        ] {
            if !value.is_zero() && value < minimum {
                return Err(ConfigError::TooShort {
                    field,
                    value,
                    minimum,
                });
            }
        }
        if self.health_interval.is_zero() {
            return Err(ConfigError::OutOfRange {
                field: "health_interval",
                value: format!("{:?}", self.health_interval),
                expected: "greater than zero",
            });
        }
        if !SLOT_SIZES.contains(&self.slot_bytes) {
            return Err(ConfigError::SlotBytes(self.slot_bytes));
        }
        for (field, v) in [
            ("max_kinds", self.max_kinds),
            ("max_histograms", self.max_histograms),
        ] {
            if v == 0 || v > 65_000 {
                return Err(ConfigError::OutOfRange {
                    field,
                    value: v.to_string(),
                    expected: "between 1 and 65000",
                });
            }
        }
        if self.max_peers == 0 {
            return Err(ConfigError::OutOfRange {
                field: "max_peers",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        if self.histogram_max < 2 {
            return Err(ConfigError::OutOfRange {
                field: "histogram_max",
                value: self.histogram_max.to_string(),
                expected: "at least 2",
            });
        }
        let h = &self.health;
        let rate_ok = |r: f64| (0.0..=1.0).contains(&r);
        if !rate_ok(h.error_rate_degraded)
            || !rate_ok(h.error_rate_unhealthy)
            || h.error_rate_degraded > h.error_rate_unhealthy
        {
            return Err(ConfigError::OutOfRange {
                field: "health.error_rate_degraded",
                value: format!("{} / {}", h.error_rate_degraded, h.error_rate_unhealthy),
                expected: "rates in 0..=1 with degraded <= unhealthy",
            });
        }
        if !rate_ok(h.drop_rate_degraded) || h.overwrite_rate_degraded.is_some_and(|r| !rate_ok(r))
        {
            return Err(ConfigError::OutOfRange {
                field: "health.drop_rate_degraded",
                value: format!("{} / {:?}", h.drop_rate_degraded, h.overwrite_rate_degraded),
                expected: "rates in 0..=1",
            });
        }
        if h.critical_degraded > h.critical_unhealthy {
            return Err(ConfigError::OutOfRange {
                field: "health.critical_degraded",
                value: h.critical_degraded.to_string(),
                expected: "at most health.critical_unhealthy",
            });
        }
        if h.window.is_zero() {
            return Err(ConfigError::OutOfRange {
                field: "health.window",
                value: "0s".into(),
                expected: "greater than zero",
            });
        }
        let budget = match self.capacity_bytes {
            None => self.capacity * self.slot_bytes,
            Some(b) if b < CELL_BYTES * shards || b > MAX_CAPACITY * 128 => {
                return Err(ConfigError::OutOfRange {
                    field: "capacity_bytes",
                    value: b.to_string(),
                    expected: "between 64 × shards and 2^37 bytes",
                })
            }
            Some(b) => b,
        };
        if !(64..=MAX_EVENT_BYTES).contains(&self.max_event_bytes) {
            return Err(ConfigError::OutOfRange {
                field: "max_event_bytes",
                value: self.max_event_bytes.to_string(),
                expected: "between 64 and 16384",
            });
        }
        // Rounded down, so what is built never exceeds what was asked: each shard a
        // power of two of cells (the ring indexes by mask), at most the budget's share.
        let per_shard = (budget / CELL_BYTES / shards).max(1);
        let cells_per_shard = 1usize << per_shard.ilog2();
        let capacity_bytes = cells_per_shard * shards * CELL_BYTES;
        // An event takes at most a whole shard (and at most 511 cells).
        let max_event_bytes = self
            .max_event_bytes
            .min(cells_per_shard.min(511) * CELL_PAYLOAD);
        let share = self.reserved_share;
        if !(0.0..=0.5).contains(&share) {
            return Err(ConfigError::OutOfRange {
                field: "reserved_share",
                value: share.to_string(),
                expected: "between 0 (off) and 0.5",
            });
        }
        let (reserved_share, reserved_bytes) =
            match reserved_cells(cells_per_shard, share, max_event_bytes) {
                Some((shift, cells)) => (1.0 / (1u64 << shift) as f64, cells * shards * CELL_BYTES),
                None => (0.0, 0),
            };
        Ok(Config {
            capacity: (capacity_bytes / self.slot_bytes).max(1),
            shards,
            slot_bytes: self.slot_bytes,
            capacity_bytes,
            max_event_bytes,
            reserved_share,
            reserved_bytes,
            retention: self.retention,
            sweep_interval: self.sweep_interval,
            health_interval: self.health_interval,
            min_severity: self.min_severity,
            enabled: self.enabled,
            max_kinds: self.max_kinds,
            max_histograms: self.max_histograms,
            max_peers: self.max_peers,
            histogram_max: self.histogram_max,
            health: self.health.clone(),
            redaction: self.redaction.clone(),
        })
    }
}
