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
            ConfigError::ZeroCapacity | ConfigError::CapacityTooLarge(_) => "capacity",
            ConfigError::ZeroShards | ConfigError::ShardsExceedCapacity { .. } => "shards",
            ConfigError::ZeroRetention => "retention",
            ConfigError::ZeroSweepInterval => "sweep_interval",
            ConfigError::SlotBytes(_) => "slot_bytes",
            ConfigError::OutOfRange { field, .. } => field,
        }
    }
}

/// A recorder's configuration, resolved at build: what the ring really holds (capacity
/// is rounded up so each shard has a power-of-two number of slots). Part of every export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Events the ring holds over all shards.
    pub capacity: usize,
    /// Number of shards.
    pub shards: usize,
    /// Bytes per slot (8 of them the sequence word); an event larger than
    /// `slot_bytes − 24` bytes of strings is truncated.
    pub slot_bytes: usize,
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
    /// Events retained over all shards (default 65 536). Rounded up so each shard has
    /// a power-of-two number of slots.
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self
    }

    /// Number of shards (default: the machine's parallelism rounded up to a power of
    /// two, at most 64). Each thread writes to one shard; more shards, less sharing.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Bytes per slot: 64, 128 (default), 256, 512 or 1024. Memory is
    /// `capacity × slot_bytes`; larger slots keep longer messages whole.
    pub fn slot_bytes(mut self, bytes: usize) -> Self {
        self.slot_bytes = bytes;
        self
    }

    /// How long events stay visible (default 24 h).
    pub fn retention(mut self, d: Duration) -> Self {
        self.retention = d;
        self
    }

    /// How often the sweeper runs (default 5 min).
    pub fn sweep_interval(mut self, d: Duration) -> Self {
        self.sweep_interval = d;
        self
    }

    /// How often health is re-evaluated and window figures sampled (default 1 s).
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
        if self.capacity > MAX_CAPACITY {
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
        let per_shard = self.capacity.div_ceil(shards).next_power_of_two();
        Ok(Config {
            capacity: per_shard * shards,
            shards,
            slot_bytes: self.slot_bytes,
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
