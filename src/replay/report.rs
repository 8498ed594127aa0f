//! What a replay did ([`ReplayReport`]) and why one could not start ([`ReplayError`]):
//! shared by the replayer and the handle that steers it.

use serde::Serialize;

use crate::recording::RecordingError;

/// A replay failed to start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The recording could not be opened.
    #[error(transparent)]
    Open(#[from] RecordingError),
    /// The speed is outside `0.01..=1000` (or not a number).
    #[error("replay speed {0} is out of range: give a multiplier from 0.01 to 1000, or replay as fast as possible")]
    Speed(f64),
    /// The replay thread could not be started.
    #[error("could not start the replay thread: {0}")]
    Spawn(std::io::Error),
    /// The target panicked; the replay stopped.
    #[error("the replay target panicked")]
    TargetPanicked,
}

/// What a replay did, and how closely it kept time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Events emitted.
    pub replayed: u64,
    /// Events left out by the filter.
    pub filtered_out: u64,
    /// Gaps passed on to the target.
    pub gaps: u64,
    /// Events missing at those gaps.
    pub lost: u64,
    /// Whether the replay was stopped before the end.
    pub stopped: bool,
    /// Wall-clock time the replay took.
    pub elapsed_secs: f64,
    /// How late events were emitted, against the time they were due (paced replays;
    /// zeros when as fast as possible), in milliseconds: median.
    pub late_p50_ms: f64,
    /// 99th percentile of the lateness.
    pub late_p99_ms: f64,
    /// Largest lateness.
    pub late_max_ms: f64,
}
