//! [`BlockMonitor::to_prometheus`]: the monitor's figures in the Prometheus text
//! format, to serve beside the recorder's `/metrics` (and
//! [`AlertStats::to_prometheus`](crate::alert::AlertStats::to_prometheus) for the
//! alert counters).

use super::BlockMonitor;

/// The recovery histogram's bucket bounds, in seconds.
const BOUNDS: [f64; 13] = [
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

impl BlockMonitor {
    /// The monitor's figures as Prometheus text (exposition format 0.0.4):
    ///
    /// | metric | type | what |
    /// | --- | --- | --- |
    /// | `flightring_blocks_processed_total` | counter | blocks processed |
    /// | `flightring_blocks_missed_total{reason}` | counter | missed heights, by [`MissReason`](super::MissReason) (every reason, 0 until seen) |
    /// | `flightring_blocks_recovered_total` | counter | missed heights recovered |
    /// | `flightring_missed_streak` | gauge | the current streak |
    /// | `flightring_missed_streak_longest` | gauge | the longest streak |
    /// | `flightring_block_recovery_seconds` | histogram | recovery times (0.1 s … 1 h buckets) |
    pub fn to_prometheus(&self) -> String {
        let s = &self.stats();
        let mut out = String::with_capacity(2048);
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line("# HELP flightring_blocks_processed_total Blocks processed by the monitor.".into());
        line("# TYPE flightring_blocks_processed_total counter".into());
        line(format!("flightring_blocks_processed_total {}", s.processed));
        line("# HELP flightring_blocks_missed_total Missed block heights, by reason.".into());
        line("# TYPE flightring_blocks_missed_total counter".into());
        for reason in super::MissReason::ALL {
            let n = self.missed_by_reason.get(&reason).copied().unwrap_or(0);
            line(format!(
                "flightring_blocks_missed_total{{reason=\"{}\"}} {n}",
                reason.as_str()
            ));
        }
        line("# HELP flightring_blocks_recovered_total Missed heights recovered.".into());
        line("# TYPE flightring_blocks_recovered_total counter".into());
        line(format!("flightring_blocks_recovered_total {}", s.recovered));
        line("# HELP flightring_missed_streak Consecutive missed heights now.".into());
        line("# TYPE flightring_missed_streak gauge".into());
        line(format!("flightring_missed_streak {}", s.current_streak));
        line("# HELP flightring_missed_streak_longest The longest missed streak.".into());
        line("# TYPE flightring_missed_streak_longest gauge".into());
        line(format!(
            "flightring_missed_streak_longest {}",
            s.longest_streak
        ));
        line("# HELP flightring_block_recovery_seconds Time from miss to recovery.".into());
        line("# TYPE flightring_block_recovery_seconds histogram".into());
        let h = &self.recovery;
        for le in BOUNDS {
            // Recorded in whole milliseconds.
            let n = h.count_between(0, (le * 1000.0) as u64);
            line(format!(
                "flightring_block_recovery_seconds_bucket{{le=\"{le}\"}} {n}"
            ));
        }
        line(format!(
            "flightring_block_recovery_seconds_bucket{{le=\"+Inf\"}} {}",
            h.len()
        ));
        line(format!(
            "flightring_block_recovery_seconds_sum {}",
            self.recovery_sum.as_secs_f64()
        ));
        line(format!(
            "flightring_block_recovery_seconds_count {}",
            h.len()
        ));
        out
    }
}
