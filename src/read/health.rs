//! The health verdict: Healthy, Degraded or Unhealthy, with the reasons and the figures
//! behind it.
//!
//! The sampler thread (see [`crate::read::sweeper`]) takes the recorder's totals every
//! `health_interval` (1 s by default), keeps a window of them, evaluates the
//! thresholds and publishes the verdict; [`Recorder::health`](crate::Recorder::health)
//! only loads the published verdict, so a supervisor can call it at any rate: it costs
//! the same whatever the capacity, and copies no event.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::HealthThresholds;
use crate::model::Timestamp;
use crate::read::stats::{ratio, Totals, WindowStats};
use crate::read::{Sample, Shared};

/// Overall status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum HealthStatus {
    /// Nothing over a threshold.
    #[default]
    Healthy,
    /// Something over a "degraded" threshold: worth a look.
    Degraded,
    /// Something over an "unhealthy" threshold, or the recorder is closed.
    Unhealthy,
}

impl HealthStatus {
    /// `0` healthy, `1` degraded, `2` unhealthy (the Prometheus gauge value).
    pub fn as_gauge(self) -> u8 {
        self as u8
    }
}

/// The figures a verdict was drawn from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthFigures {
    /// Seconds the window figures cover.
    #[serde(with = "crate::model::float")]
    pub window_secs: f64,
    /// Events in the window.
    pub window_events: u64,
    /// ERROR and CRITICAL events in the window.
    pub window_errors: u64,
    /// CRITICAL events in the window.
    pub window_critical: u64,
    /// Error rate in the window.
    #[serde(with = "crate::model::float")]
    pub error_rate: f64,
    /// Events per second in the window.
    #[serde(with = "crate::model::float")]
    pub events_per_sec: f64,
    /// Overwritten in the window.
    pub window_overwritten: u64,
    /// Dropped in the window.
    pub window_dropped: u64,
    /// Overwrite rate in the window.
    #[serde(with = "crate::model::float")]
    pub overwrite_rate: f64,
    /// Drop rate in the window.
    #[serde(with = "crate::model::float")]
    pub drop_rate: f64,
    /// Seconds since the sampler last ran (at the time of the call).
    #[serde(with = "crate::model::float")]
    pub sampler_age_secs: f64,
}

/// The recorder's health. Serialisable; served to supervisors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// One line for humans.
    pub message: String,
    /// Every threshold crossed, worst first; empty when healthy.
    pub reasons: Vec<String>,
    /// Events retained.
    pub event_count: u64,
    /// Events the ring holds at most.
    pub capacity: u64,
    /// Events recorded, all time.
    pub total_events: u64,
    /// The figures behind the verdict.
    pub figures: HealthFigures,
    /// When the figures were taken.
    pub as_of: Timestamp,
    /// Each tier's retained events and the time they span (see
    /// [`Stats::tiers`](crate::Stats::tiers)): how far back the evidence reaches.
    #[serde(default)]
    pub tiers: Vec<crate::TierStats>,
}

/// Draws the verdict from the totals `now`, the totals `then` (the window's start,
/// `window_secs` earlier) and the thresholds.
/// The shortest span window rates are computed over, in seconds.
pub(crate) const MIN_RATE_WINDOW_SECS: f64 = 1.0;

pub(crate) fn evaluate(
    now: &Totals,
    then: &Totals,
    window_secs: f64,
    t: &HealthThresholds,
    capacity: u64,
    closed: bool,
    as_of: Timestamp,
) -> Health {
    // Rates over less than a second are noise (7 events just after start are not
    // 35,000 events/s): they are taken over at least a second. Counts are exact.
    let w = WindowStats::between(now, then, window_secs.max(MIN_RATE_WINDOW_SECS));
    let (events, errors, critical, overwritten, dropped) =
        (w.events, w.errors, w.critical, w.overwritten, w.dropped);
    let figures = HealthFigures {
        window_secs,
        window_events: events,
        window_errors: errors,
        window_critical: critical,
        error_rate: w.error_rate,
        events_per_sec: w.events_per_sec,
        window_overwritten: overwritten,
        window_dropped: dropped,
        overwrite_rate: ratio(overwritten, events),
        drop_rate: ratio(dropped, events + dropped),
        sampler_age_secs: 0.0,
    };
    let mut unhealthy = Vec::new();
    let mut degraded = Vec::new();
    if closed {
        unhealthy.push("recorder is closed: new events are rejected".to_owned());
    }
    if critical >= t.critical_unhealthy {
        unhealthy.push(format!(
            "{critical} critical events in the last {window_secs:.0}s (unhealthy at {})",
            t.critical_unhealthy
        ));
    } else if critical >= t.critical_degraded {
        degraded.push(format!(
            "{critical} critical events in the last {window_secs:.0}s (degraded at {})",
            t.critical_degraded
        ));
    }
    if events >= t.min_window_events {
        let rate = figures.error_rate;
        if rate >= t.error_rate_unhealthy {
            unhealthy.push(format!(
                "error rate {:.1}% over the last {window_secs:.0}s (unhealthy at {:.1}%)",
                rate * 100.0,
                t.error_rate_unhealthy * 100.0
            ));
        } else if rate >= t.error_rate_degraded {
            degraded.push(format!(
                "error rate {:.1}% over the last {window_secs:.0}s (degraded at {:.1}%)",
                rate * 100.0,
                t.error_rate_degraded * 100.0
            ));
        }
        if let Some(limit) = t.overwrite_rate_degraded {
            if figures.overwrite_rate >= limit {
                degraded.push(format!(
                    "{overwritten} events overwritten in the last {window_secs:.0}s ({:.1}% of new events; degraded at {:.1}%)",
                    figures.overwrite_rate * 100.0,
                    limit * 100.0
                ));
            }
        }
    }
    if dropped > 0 && figures.drop_rate >= t.drop_rate_degraded {
        degraded.push(format!(
            "{dropped} events dropped on slot contention in the last {window_secs:.0}s ({:.2}%; degraded at {:.2}%)",
            figures.drop_rate * 100.0,
            t.drop_rate_degraded * 100.0
        ));
    }
    let status = if !unhealthy.is_empty() {
        HealthStatus::Unhealthy
    } else if !degraded.is_empty() {
        HealthStatus::Degraded
    } else {
        HealthStatus::Healthy
    };
    let mut reasons = unhealthy;
    reasons.extend(degraded);
    let message = match status {
        HealthStatus::Healthy => {
            format!("healthy: {events} events in the last {window_secs:.0}s, no threshold crossed")
        }
        _ => format!(
            "{}: {}",
            if status == HealthStatus::Unhealthy {
                "unhealthy"
            } else {
                "degraded"
            },
            reasons[0]
        ),
    };
    Health {
        status,
        message,
        reasons,
        event_count: now.retained(),
        capacity,
        total_events: now.recorded,
        figures,
        as_of,
        tiers: Vec::new(),
    }
}

/// Adds a Degraded reason (keeping an Unhealthy verdict Unhealthy).
pub(crate) fn add_degraded(h: &mut Health, reason: String) {
    if h.status == HealthStatus::Healthy {
        h.status = HealthStatus::Degraded;
        h.message = format!("degraded: {reason}");
    }
    h.reasons.push(reason);
}

/// Marks a published verdict as stale when the sampler has not run for too long.
pub(crate) fn mark_stalled(
    h: &mut Health,
    age: Duration,
    interval: Duration,
    t: &HealthThresholds,
) {
    h.figures.sampler_age_secs = age.as_secs_f64();
    if age > interval * t.stall_intervals.max(1) {
        let reason = format!(
            "sweeper stalled: last ran {:.1}s ago (expected every {:.1}s)",
            age.as_secs_f64(),
            interval.as_secs_f64()
        );
        add_degraded(h, reason);
    }
}

/// Sampling the totals into the window and drawing the verdict.
impl Shared {
    /// Samples the totals into the window (the start [`Shared::health`] measures from).
    pub(crate) fn sample(&self) {
        let now = Instant::now();
        let totals = self.totals();
        {
            let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
            w.push_back(Sample { at: now, totals });
            let horizon = now.checked_sub(self.core.config.health.window);
            while w.len() > 1 && horizon.is_some_and(|h| w[1].at <= h) {
                w.pop_front();
            }
        }
        self.last_sample.store(
            now.duration_since(self.core.started).as_nanos() as u64,
            Ordering::Relaxed,
        );
    }

    pub(crate) fn add_faults(&self, h: &mut Health) {
        for (component, reason) in &self.faults() {
            add_degraded(h, format!("{component}: {reason}"));
        }
    }

    /// The verdict computed now from the current totals and the window.
    pub(crate) fn evaluate_now(&self) -> Health {
        let totals = self.totals();
        let (then, secs) = self.window_start();
        self.evaluate_against(&totals, &then, secs)
    }

    /// The verdict for `totals` now, against the window start `then`, `secs` ago.
    fn evaluate_against(&self, totals: &Totals, then: &Totals, secs: f64) -> Health {
        evaluate(
            totals,
            then,
            secs,
            &self.core.config.health,
            self.core.config.capacity as u64,
            self.core.closed.load(Ordering::Acquire),
            Timestamp::now(),
        )
    }

    /// The totals at the window's start and the seconds since.
    pub(crate) fn window_start(&self) -> (Totals, f64) {
        let w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        match w.front() {
            Some(s) => (s.totals, s.at.elapsed().as_secs_f64()),
            None => (Totals::default(), self.core.started.elapsed().as_secs_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(recorded: u64, errors: u64, critical: u64) -> Totals {
        let mut t = Totals {
            recorded,
            ..Totals::default()
        };
        t.by_severity[3] = errors;
        t.by_severity[4] = critical;
        t
    }

    #[test]
    fn thresholds_decide_status() {
        let th = HealthThresholds::default();
        let z = Totals::default();
        let at = Timestamp::from_unix_nanos(0);
        let h = evaluate(&totals(100, 0, 0), &z, 60.0, &th, 1000, false, at);
        assert_eq!(h.status, HealthStatus::Healthy, "{h:?}");
        let h = evaluate(&totals(100, 6, 0), &z, 60.0, &th, 1000, false, at);
        assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
        let h = evaluate(&totals(100, 30, 0), &z, 60.0, &th, 1000, false, at);
        assert_eq!(h.status, HealthStatus::Unhealthy);
        assert!(h.reasons[0].contains("error rate 30.0%"), "{:?}", h.reasons);
        let h = evaluate(&totals(100, 1, 1), &z, 60.0, &th, 1000, false, at);
        assert_eq!(h.status, HealthStatus::Degraded);
        let h = evaluate(&totals(5, 5, 0), &z, 60.0, &th, 1000, false, at);
        assert_eq!(
            h.status,
            HealthStatus::Healthy,
            "too few events to judge a rate"
        );
        let h = evaluate(
            &totals(100, 0, 0),
            &totals(90, 0, 0),
            60.0,
            &th,
            1000,
            true,
            at,
        );
        assert_eq!(h.status, HealthStatus::Unhealthy);
        assert_eq!(h.figures.window_events, 10);
        let mut h = evaluate(&totals(100, 0, 0), &z, 60.0, &th, 1000, false, at);
        mark_stalled(&mut h, Duration::from_secs(10), Duration::from_secs(1), &th);
        assert_eq!(h.status, HealthStatus::Degraded);
        assert!(h.reasons[0].contains("stalled"));
    }
}
