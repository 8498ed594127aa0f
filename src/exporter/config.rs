//! [`ExporterConfig`]: settings of the streaming exporter and the snapshot writer.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings of the streaming JSON Lines exporter and the periodic snapshot writer. Read
/// from the `[exporter]` table of a TOML configuration file (durations as `"10s"`,
/// sizes in bytes), or built in code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExporterConfig {
    /// The JSON Lines file events stream into. Default `flight_recorder.jsonl`.
    pub path: PathBuf,
    /// Write after this many events have gathered. Default 4096.
    pub batch_events: usize,
    /// Write at least this often when events are pending. Default 1 s.
    #[serde(with = "crate::model::duration::serde_human")]
    pub flush_interval: Duration,
    /// Rotate the file when it reaches this many bytes. Default 10 MiB.
    pub rotate_bytes: u64,
    /// Keep at most this many rotated files. Default 10.
    pub keep_files: usize,
    /// Delete rotated files older than this. Default 7 days.
    #[serde(with = "crate::model::duration::serde_human")]
    pub max_age: Duration,
    /// Compress rotated files with gzip. Default true.
    pub gzip: bool,
    /// Where to write the full JSON document periodically (atomically); none by default.
    pub snapshot_path: Option<PathBuf>,
    /// How often to write it. Default 60 s.
    #[serde(with = "crate::model::duration::serde_human")]
    pub snapshot_interval: Duration,
}

impl Default for ExporterConfig {
    fn default() -> Self {
        ExporterConfig {
            path: PathBuf::from("flight_recorder.jsonl"),
            batch_events: 4096,
            flush_interval: Duration::from_secs(1),
            rotate_bytes: 10 << 20,
            keep_files: 10,
            max_age: Duration::from_secs(7 * 86_400),
            gzip: true,
            snapshot_path: None,
            snapshot_interval: Duration::from_secs(60),
        }
    }
}
