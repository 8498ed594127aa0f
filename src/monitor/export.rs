//! The missed-block exports: CSV with exactly the relay's columns, and JSON Lines in
//! its line shape.

use std::io::Write;

use super::{BlockMonitor, MonitorError};

/// The CSV header, in order.
pub const CSV_COLUMNS: [&str; 8] = [
    "block_number",
    "reason",
    "severity",
    "expected_timestamp",
    "actual_timestamp",
    "recovery_attempts",
    "recovered",
    "missed_at",
];

impl BlockMonitor {
    /// Writes the tracked missed blocks as CSV: a header of [`CSV_COLUMNS`], then one
    /// row per block, lowest height first. Times are Unix seconds (millisecond
    /// precision); `actual_timestamp` is empty while the block is missing; `missed_at`
    /// is when the miss was detected. No field needs quoting.
    pub fn write_csv<W: Write>(&self, mut w: W) -> Result<(), MonitorError> {
        writeln!(w, "{}", CSV_COLUMNS.join(","))?;
        for b in self.missed_blocks() {
            let actual = b
                .actual_timestamp
                .map(|t| t.to_string())
                .unwrap_or_default();
            writeln!(
                w,
                "{},{},{},{},{},{},{},{}",
                b.block_number,
                b.reason,
                b.severity,
                b.expected_timestamp,
                actual,
                b.recovery_attempts,
                b.recovered,
                b.timestamp
            )?;
        }
        w.flush()?;
        Ok(())
    }

    /// Writes the tracked missed blocks as JSON Lines, one
    /// [`MissedBlock`](super::MissedBlock) per line in the relay's shape:
    /// `{"timestamp":…,"block_number":1001,"reason":"NetworkLatency","severity":"Medium",
    /// "expected_timestamp":…,"actual_timestamp":…,"recovery_attempts":0,
    /// "recovered":false,"metadata":{},"alert_sent":false}`.
    pub fn write_jsonl<W: Write>(&self, mut w: W) -> Result<(), MonitorError> {
        for b in self.missed_blocks() {
            serde_json::to_writer(&mut w, b)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        Ok(())
    }
}
