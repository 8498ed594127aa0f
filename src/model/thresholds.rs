//! [`HealthThresholds`]: when the health verdict turns Degraded or Unhealthy (the
//! verdict itself is drawn on the read side, `read::health`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When the verdict turns Degraded or Unhealthy. Rates are over the recent `window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthThresholds {
    /// The recent window rates are computed over. Default 60 s.
    #[serde(with = "crate::model::config::serde_secs")]
    pub window: Duration,
    /// Rates are judged only once the window holds this many events. Default 20.
    pub min_window_events: u64,
    /// `(ERROR + CRITICAL) / events` at or above this is Degraded. Default 0.05.
    pub error_rate_degraded: f64,
    /// … and at or above this Unhealthy. Default 0.25.
    pub error_rate_unhealthy: f64,
    /// This many CRITICAL events in the window is Degraded. Default 1.
    pub critical_degraded: u64,
    /// … and this many Unhealthy. Default 10.
    pub critical_unhealthy: u64,
    /// `dropped / (events + dropped)` at or above this is Degraded. Default 0.001.
    pub drop_rate_degraded: f64,
    /// `overwritten / events` at or above this is Degraded; `None` (the default) never,
    /// since a ring that wraps is doing its job.
    pub overwrite_rate_degraded: Option<f64>,
    /// The sampler is stalled (Degraded) when its last run is older than this many
    /// health intervals. Default 5.
    pub stall_intervals: u32,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        HealthThresholds {
            window: Duration::from_secs(60),
            min_window_events: 20,
            error_rate_degraded: 0.05,
            error_rate_unhealthy: 0.25,
            critical_degraded: 1,
            critical_unhealthy: 10,
            drop_rate_degraded: 0.001,
            overwrite_rate_degraded: None,
            stall_intervals: 5,
        }
    }
}
