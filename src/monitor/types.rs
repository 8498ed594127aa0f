//! The monitor's data: blocks in, missed blocks out, their reasons and severities, and
//! the statistics.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A block as the node or RPC delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Height.
    pub number: u64,
    /// The block's hash (any non-empty text, e.g. `0xab…`).
    pub hash: String,
    /// The parent's hash; empty when unknown (the parent check is then skipped).
    pub parent_hash: String,
    /// The block's own timestamp, Unix seconds.
    pub timestamp: u64,
}

/// Why a block was missed: the relay's taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MissReason {
    /// The block arrived too late, or never, over a slow network.
    NetworkLatency,
    /// The node did not answer.
    NodeUnresponsive,
    /// The RPC answered with an error.
    RpcError,
    /// The block failed validation.
    InvalidBlock,
    /// The block was orphaned by a reorganisation.
    ChainReorg,
    /// The block's gas limit was exceeded.
    GasLimitExceeded,
    /// A nonce did not match.
    NonceMismatch,
    /// Not enough funds to act on the block.
    InsufficientFunds,
    /// A contract call reverted.
    ContractRevert,
    /// Waiting for the block timed out.
    Timeout,
    /// The connection to the node was lost.
    ConnectionLost,
    /// The provider rate-limited us.
    RateLimitExceeded,
    /// None of the above.
    Unknown,
}

impl MissReason {
    /// Every reason, in declaration order.
    pub const ALL: [MissReason; 13] = [
        MissReason::NetworkLatency,
        MissReason::NodeUnresponsive,
        MissReason::RpcError,
        MissReason::InvalidBlock,
        MissReason::ChainReorg,
        MissReason::GasLimitExceeded,
        MissReason::NonceMismatch,
        MissReason::InsufficientFunds,
        MissReason::ContractRevert,
        MissReason::Timeout,
        MissReason::ConnectionLost,
        MissReason::RateLimitExceeded,
        MissReason::Unknown,
    ];

    /// The name, as exported (`"NetworkLatency"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            MissReason::NetworkLatency => "NetworkLatency",
            MissReason::NodeUnresponsive => "NodeUnresponsive",
            MissReason::RpcError => "RpcError",
            MissReason::InvalidBlock => "InvalidBlock",
            MissReason::ChainReorg => "ChainReorg",
            MissReason::GasLimitExceeded => "GasLimitExceeded",
            MissReason::NonceMismatch => "NonceMismatch",
            MissReason::InsufficientFunds => "InsufficientFunds",
            MissReason::ContractRevert => "ContractRevert",
            MissReason::Timeout => "Timeout",
            MissReason::ConnectionLost => "ConnectionLost",
            MissReason::RateLimitExceeded => "RateLimitExceeded",
            MissReason::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`MissReason`] or a [`MissSeverity`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?} (expected one of: {expected})")]
pub struct ParseNameError {
    /// `"miss reason"` or `"miss severity"`.
    pub what: &'static str,
    /// The text given.
    pub given: String,
    /// The accepted names, comma-separated.
    pub expected: &'static str,
}

impl FromStr for MissReason {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MissReason::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseNameError {
                what: "miss reason",
                given: s.to_string(),
                expected: "NetworkLatency, NodeUnresponsive, RpcError, InvalidBlock, ChainReorg, \
                           GasLimitExceeded, NonceMismatch, InsufficientFunds, ContractRevert, \
                           Timeout, ConnectionLost, RateLimitExceeded, Unknown",
            })
    }
}

/// How bad a missed block is: `Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub enum MissSeverity {
    /// One block, quickly made up.
    #[default]
    Low,
    /// Worth a look.
    Medium,
    /// Worth a page.
    High,
    /// The relay is not following the chain.
    Critical,
}

impl MissSeverity {
    /// The name, as exported (`"Medium"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            MissSeverity::Low => "Low",
            MissSeverity::Medium => "Medium",
            MissSeverity::High => "High",
            MissSeverity::Critical => "Critical",
        }
    }
}

impl fmt::Display for MissSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MissSeverity {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            MissSeverity::Low,
            MissSeverity::Medium,
            MissSeverity::High,
            MissSeverity::Critical,
        ]
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| ParseNameError {
            what: "miss severity",
            given: s.to_string(),
            expected: "Low, Medium, High, Critical",
        })
    }
}

/// One missed block, as the relay's logger keeps it. Its JSON form is one line of
/// [`BlockMonitor::write_jsonl`](super::BlockMonitor::write_jsonl); times are Unix
/// seconds with millisecond precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissedBlock {
    /// When the miss was detected (Unix seconds).
    pub timestamp: f64,
    /// Height.
    pub block_number: u64,
    /// Why.
    pub reason: MissReason,
    /// How bad, by the configured [`SeverityRules`](super::SeverityRules).
    pub severity: MissSeverity,
    /// When the block was expected (Unix seconds, from the chain's cadence).
    pub expected_timestamp: f64,
    /// When it finally arrived or was recovered (Unix seconds); `None` while missing.
    pub actual_timestamp: Option<f64>,
    /// Attempts it took to recover it (0 when it arrived late on its own).
    pub recovery_attempts: u32,
    /// Whether it was recovered.
    pub recovered: bool,
    /// Free-form details (`streak`, `reorg_depth`, the caller's own).
    pub metadata: BTreeMap<String, String>,
    /// Whether an alert was taken for it ([`BlockMonitor::take_alerts`](super::BlockMonitor::take_alerts)).
    pub alert_sent: bool,
}

/// What one [`BlockMonitor::process_block`](super::BlockMonitor::process_block) call
/// found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockOutcome {
    /// Heights newly recorded as missed (a gap before this block), lowest first.
    pub missed: Vec<u64>,
    /// Total heights in the gap (may exceed `missed.len()` when the gap was larger
    /// than the monitor keeps entries for).
    pub gap_blocks: u64,
    /// The block was seen before (same height, same hash); nothing else changed.
    pub duplicate: bool,
    /// The block filled an earlier gap and was counted as recovered.
    pub filled_gap: bool,
    /// The block is older than the head and neither a duplicate, a gap filler nor a
    /// reorg (too old to judge): counted, otherwise ignored.
    pub stale: bool,
    /// A reorganisation was detected; its depth (blocks replaced, at least 1).
    pub reorg_depth: Option<u64>,
    /// The block arrived later than `max_block_delay` after its expected time: by how
    /// much after the expected time.
    pub delay: Option<Duration>,
}

/// The monitor's figures. Rates are in `0.0..=1.0`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MonitorStats {
    /// Distinct blocks processed (duplicates and stale blocks not included).
    pub processed: u64,
    /// Heights recorded as missed, all time.
    pub missed: u64,
    /// Missed heights recovered (late arrival or [`mark_recovered`](super::BlockMonitor::mark_recovered)).
    pub recovered: u64,
    /// Duplicate deliveries.
    pub duplicates: u64,
    /// Blocks that arrived below the head (gap fillers, stale blocks, reorg heads).
    pub out_of_order: u64,
    /// Reorganisations detected.
    pub reorgs: u64,
    /// The deepest reorganisation seen.
    pub deepest_reorg: u64,
    /// Blocks later than `max_block_delay`.
    pub delayed: u64,
    /// Missed heights in the current run of consecutive misses.
    pub current_streak: u64,
    /// The longest run of consecutive missed heights.
    pub longest_streak: u64,
    /// `missed / (processed + missed)`; 0 when nothing was seen.
    pub missed_rate: f64,
    /// `recovered / missed`; 0 when nothing was missed.
    pub recovery_rate: f64,
    /// Mean time from detection to recovery.
    pub avg_recovery: Option<Duration>,
    /// 99th percentile of the same (millisecond resolution).
    pub p99_recovery: Option<Duration>,
    /// Missed-block entries held now.
    pub tracked: usize,
    /// Entries forgotten (older than the retention, or past `max_tracked`).
    pub forgotten: u64,
    /// The block time in use: the configured one, or the one learned from the chain.
    pub block_time: Duration,
    /// The highest block processed.
    pub head: Option<u64>,
}
