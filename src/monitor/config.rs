//! [`MonitorConfig`]: the relay's documented defaults, the severity rules, and the
//! typed errors for values that make no sense.

use std::time::Duration;

use super::types::{MissReason, MissSeverity};

/// How the monitor judges blocks. The defaults are the ones the relay we replace
/// documents; [`MonitorConfig::validate`] (run by [`BlockMonitor::new`](super::BlockMonitor::new))
/// rejects values that make no sense with a [`MonitorConfigError`] naming the key.
///
/// | key | default | meaning |
/// | --- | --- | --- |
/// | `expected_block_time` | 12 s | the chain's cadence (also the start value when learning) |
/// | `learn_block_time` | `false` | use the median of the last 32 observed block intervals once 4 are seen |
/// | `max_block_delay` | 30 s | a block arriving later than this after its expected time is *delayed* |
/// | `retry_attempts` | 3 | recovery attempts the caller is expected to make (`mark_recovered` past it is still accepted) |
/// | `retry_delay` | 5 s | delay between recovery attempts (advice for the caller's retry loop) |
/// | `alert_threshold` | 5 | consecutive misses that make [`should_alert`](super::BlockMonitor::should_alert) true |
/// | `enable_recovery` | `true` | track recoveries (late arrivals fill gaps, `mark_recovered`) |
/// | `enable_logging` | `true` | record every finding into the `Recorder` as events |
/// | `retention` | 24 h | missed-block entries older than this are forgotten (and counted) |
/// | `max_tracked` | 10 000 | at most this many missed-block entries are held |
/// | `reorg_window` | 256 | block hashes remembered for duplicate and reorg detection |
/// | `gap_reason` | `NetworkLatency` | the reason given to heights missed in a gap |
/// | `severity` | [`SeverityRules::default`] | how a miss's severity is derived |
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    /// The chain's expected block time; > 0.
    pub expected_block_time: Duration,
    /// Learn the block time from the chain's timestamps instead.
    pub learn_block_time: bool,
    /// The most a block may arrive after its expected time before it counts as delayed;
    /// > 0.
    pub max_block_delay: Duration,
    /// Recovery attempts expected per missed block; `1..=100`.
    pub retry_attempts: u32,
    /// Delay between attempts; at most one hour.
    pub retry_delay: Duration,
    /// Consecutive misses that raise an alert; ≥ 1.
    pub alert_threshold: u32,
    /// Track recoveries.
    pub enable_recovery: bool,
    /// Record findings into the recorder.
    pub enable_logging: bool,
    /// How long missed-block entries are kept; > 0.
    pub retention: Duration,
    /// The most missed-block entries kept; `1..=10_000_000`.
    pub max_tracked: usize,
    /// Block hashes remembered; `1..=1_000_000`.
    pub reorg_window: usize,
    /// The reason recorded for heights missed in a gap.
    pub gap_reason: MissReason,
    /// How a miss's severity is derived.
    pub severity: SeverityRules,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            expected_block_time: Duration::from_secs(12),
            learn_block_time: false,
            max_block_delay: Duration::from_secs(30),
            retry_attempts: 3,
            retry_delay: Duration::from_secs(5),
            alert_threshold: 5,
            enable_recovery: true,
            enable_logging: true,
            retention: Duration::from_secs(24 * 3600),
            max_tracked: 10_000,
            reorg_window: 256,
            gap_reason: MissReason::NetworkLatency,
            severity: SeverityRules::default(),
        }
    }
}

/// The rules that give a missed block its [`MissSeverity`]: the highest of what its
/// position in the streak, its delay and its reason call for.
///
/// Defaults: the 2nd consecutive miss is Medium, the 3rd High, the 5th Critical; a miss
/// whose block is overdue by more than 2 minutes is Medium, by more than 10 minutes
/// High; `InvalidBlock` and `ChainReorg` are at least Medium, `ConnectionLost` and
/// `NodeUnresponsive` at least High.
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityRules {
    /// Streak position from which a miss is Medium; ≥ 1.
    pub streak_medium: u64,
    /// … High; ≥ `streak_medium`.
    pub streak_high: u64,
    /// … Critical; ≥ `streak_high`.
    pub streak_critical: u64,
    /// Overdue by more than this: at least Medium.
    pub delay_medium: Duration,
    /// Overdue by more than this: at least High; ≥ `delay_medium`.
    pub delay_high: Duration,
    /// Floors by reason.
    pub reason_floor: Vec<(MissReason, MissSeverity)>,
}

impl Default for SeverityRules {
    fn default() -> Self {
        SeverityRules {
            streak_medium: 2,
            streak_high: 3,
            streak_critical: 5,
            delay_medium: Duration::from_secs(120),
            delay_high: Duration::from_secs(600),
            reason_floor: vec![
                (MissReason::InvalidBlock, MissSeverity::Medium),
                (MissReason::ChainReorg, MissSeverity::Medium),
                (MissReason::ConnectionLost, MissSeverity::High),
                (MissReason::NodeUnresponsive, MissSeverity::High),
            ],
        }
    }
}

impl SeverityRules {
    /// The severity of a miss at `streak` (1 for the first consecutive miss), overdue
    /// by `overdue`, for `reason`.
    pub fn classify(&self, streak: u64, overdue: Duration, reason: MissReason) -> MissSeverity {
        let by_streak = if streak >= self.streak_critical {
            MissSeverity::Critical
        } else if streak >= self.streak_high {
            MissSeverity::High
        } else if streak >= self.streak_medium {
            MissSeverity::Medium
        } else {
            MissSeverity::Low
        };
        let by_delay = if overdue > self.delay_high {
            MissSeverity::High
        } else if overdue > self.delay_medium {
            MissSeverity::Medium
        } else {
            MissSeverity::Low
        };
        let by_reason = self
            .reason_floor
            .iter()
            .filter(|(r, _)| *r == reason)
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(MissSeverity::Low);
        by_streak.max(by_delay).max(by_reason)
    }
}

/// A [`MonitorConfig`] value that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("monitor config: `{key}` = {value}: {reason}")]
pub struct MonitorConfigError {
    /// The key, as in the table on [`MonitorConfig`] (`severity.streak_high` for a rule).
    pub key: &'static str,
    /// The value given.
    pub value: String,
    /// What it must be.
    pub reason: &'static str,
}

fn err(key: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> MonitorConfigError {
    MonitorConfigError {
        key,
        value: format!("{value:?}"),
        reason,
    }
}

impl MonitorConfig {
    /// Checks every value; the first one that makes no sense is the error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use flightring::monitor::MonitorConfig;
    /// let bad = MonitorConfig { expected_block_time: Duration::ZERO, ..Default::default() };
    /// assert_eq!(bad.validate().unwrap_err().key, "expected_block_time");
    /// ```
    pub fn validate(&self) -> Result<(), MonitorConfigError> {
        if self.expected_block_time.is_zero() {
            return Err(err(
                "expected_block_time",
                self.expected_block_time,
                "must be more than zero",
            ));
        }
        if self.max_block_delay.is_zero() {
            return Err(err(
                "max_block_delay",
                self.max_block_delay,
                "must be more than zero",
            ));
        }
        if !(1..=100).contains(&self.retry_attempts) {
            return Err(err(
                "retry_attempts",
                self.retry_attempts,
                "must be 1..=100",
            ));
        }
        if self.retry_delay > Duration::from_secs(3600) {
            return Err(err(
                "retry_delay",
                self.retry_delay,
                "must be at most one hour",
            ));
        }
        if self.alert_threshold == 0 {
            return Err(err(
                "alert_threshold",
                self.alert_threshold,
                "must be at least 1",
            ));
        }
        if self.retention.is_zero() {
            return Err(err("retention", self.retention, "must be more than zero"));
        }
        if !(1..=10_000_000).contains(&self.max_tracked) {
            return Err(err("max_tracked", self.max_tracked, "must be 1..=10000000"));
        }
        if !(1..=1_000_000).contains(&self.reorg_window) {
            return Err(err(
                "reorg_window",
                self.reorg_window,
                "must be 1..=1000000",
            ));
        }
        let s = &self.severity;
        if s.streak_medium == 0 {
            return Err(err(
                "severity.streak_medium",
                s.streak_medium,
                "must be at least 1",
            ));
        }
        if s.streak_high < s.streak_medium {
            return Err(err(
                "severity.streak_high",
                s.streak_high,
                "must be at least severity.streak_medium",
            ));
        }
        if s.streak_critical < s.streak_high {
            return Err(err(
                "severity.streak_critical",
                s.streak_critical,
                "must be at least severity.streak_high",
            ));
        }
        if s.delay_high < s.delay_medium {
            return Err(err(
                "severity.delay_high",
                s.delay_high,
                "must be at least severity.delay_medium",
            ));
        }
        Ok(())
    }
}
