//! The missed-block monitor (feature `monitor`): feed it every block the node
//! delivers, and it finds what did not come.
//!
//! ```
//! use flightring::monitor::{BlockInfo, BlockMonitor, MissReason, MonitorConfig};
//! use flightring::Recorder;
//!
//! let rec = Recorder::builder().capacity(4096).build()?;
//! let mut mon = BlockMonitor::new(rec.clone(), MonitorConfig::default())?;
//! let block = |n: u64| BlockInfo {
//!     number: n,
//!     hash: format!("0x{n:x}"),
//!     parent_hash: format!("0x{:x}", n - 1),
//!     timestamp: 1_600_000_000 + 12 * n,
//! };
//! mon.process_block(&block(1000))?;
//! let found = mon.process_block(&block(1003))?; // 1001 and 1002 never came
//! assert_eq!(found.missed, vec![1001, 1002]);
//! mon.mark_recovered(1001, 2)?; // fetched again after 2 attempts
//! mon.report_missed(1004, MissReason::RpcError)?;
//! let s = mon.stats();
//! assert_eq!((s.processed, s.missed, s.recovered), (2, 3, 1));
//! assert_eq!(rec.counter_value("blocks_missed"), Some(3));
//! let mut csv = Vec::new();
//! mon.write_csv(&mut csv)?;
//! assert!(csv.starts_with(b"block_number,reason,severity,"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it detects
//!
//! - **Gaps**: a block more than one above the head; every height in between is
//!   recorded exactly once as a [`MissedBlock`] (reason [`MonitorConfig::gap_reason`],
//!   severity by [`SeverityRules`]). A height already recorded (by
//!   [`report_missed`](BlockMonitor::report_missed) or an earlier gap) is not recorded
//!   again.
//! - **Duplicates**: a height seen before with the same hash.
//! - **Out-of-order** arrival: a block below the head that fills a recorded gap counts
//!   as recovered (0 attempts); one too old to judge is counted as stale.
//! - **Reorgs**: a height seen before with a different hash (depth = head − height + 1),
//!   or a block at head + 1 whose parent hash is not the head's hash (depth 1: at least
//!   the head was replaced). The head moves to the new block.
//! - **Delays**: a block arriving more than `max_block_delay` after its expected time,
//!   the head's timestamp plus the block time per height. Arrival is the wall clock
//!   ([`process_block`](BlockMonitor::process_block)) or the time the caller gives
//!   ([`process_block_at`](BlockMonitor::process_block_at), for replays and tests).
//!   [`check_overdue_at`](BlockMonitor::check_overdue_at) also flags a next block that
//!   has not come at all.
//!
//! # Streaks
//!
//! The current streak is the run of consecutive missed heights since the last block
//! that arrived right after its predecessor: a gap of 4 sets it to 4, a further
//! `report_missed` of the next height makes it 5, and the next in-order block resets it
//! to 0. [`should_alert`](BlockMonitor::should_alert) is true while the streak has
//! reached `alert_threshold` or a Critical miss has not been taken by
//! [`take_alerts`](BlockMonitor::take_alerts).
//!
//! # Memory
//!
//! The monitor holds at most `max_tracked` missed-block entries (the lowest heights go
//! first) and forgets those detected more than `retention` ago; both are counted in
//! [`MonitorStats::forgotten`]. At most `reorg_window` hashes are kept. A huge gap
//! (a bad block number) costs at most `max_tracked` entries and events: the rest of it
//! is counted in `missed` and in the `block_gap` event.
//!
//! # Events in the recorder
//!
//! With `enable_logging` (the default) every finding is also an ordinary flightring
//! event, so queries, exports, the stream and OTLP see it:
//!
//! | kind | severity | message | fields |
//! | --- | --- | --- | --- |
//! | `block_gap` | Warning | – | `from_block`, `to_block`, `gap_blocks` ([`Recorder::block_gap`]), one per run of newly missed heights |
//! | `block_missed` | Warning; Error when High or Critical | reason | `block`, `streak`, `severity` |
//! | `block_recovered` | Info | – | `block`, `attempts`, `recovery_ns` |
//! | `chain_reorg` | Warning | new hash | `block`, `depth` |
//! | `block_delayed` | Warning | – | `block`, `delay_ns`, `arrived` |
//! | `block_duplicate` | Debug | – | `block` |
//!
//! The counter `blocks_missed` counts every missed height (gaps through
//! `Recorder::block_gap`, reported misses directly); `blocks_recovered`,
//! `blocks_delayed`, `chain_reorgs` and `blocks_duplicate` count the rest; the
//! histogram `block.recovery` holds recovery times.

mod config;
mod export;
mod metrics;
mod types;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use config::{MonitorConfig, MonitorConfigError, SeverityRules};
pub use export::CSV_COLUMNS;
pub use types::{
    BlockInfo, BlockOutcome, MissReason, MissSeverity, MissedBlock, MonitorStats, ParseNameError,
};

use crate::{Event, Recorder, Severity, Timestamp};

/// Kind of the per-height missed-block events.
pub const KIND_BLOCK_MISSED: &str = "block_missed";
/// Kind of recovery events.
pub const KIND_BLOCK_RECOVERED: &str = "block_recovered";
/// Kind of reorganisation events.
pub const KIND_CHAIN_REORG: &str = "chain_reorg";
/// Kind of delay events.
pub const KIND_BLOCK_DELAYED: &str = "block_delayed";
/// Kind of duplicate-delivery events.
pub const KIND_BLOCK_DUPLICATE: &str = "block_duplicate";
/// Histogram of recovery times.
pub const HIST_RECOVERY: &str = "block.recovery";

/// What the monitor refused.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] MonitorConfigError),
    /// A block without a hash.
    #[error("block {number}: empty hash")]
    EmptyHash {
        /// Its height.
        number: u64,
    },
    /// `mark_recovered` of a height that is not a tracked missed block.
    #[error("block {number} is not a tracked missed block")]
    NotMissed {
        /// The height.
        number: u64,
    },
    /// `mark_recovered` of a block already recovered.
    #[error("block {number} was already recovered")]
    AlreadyRecovered {
        /// The height.
        number: u64,
    },
    /// `report_missed` of a height already recorded as missed.
    #[error("block {number} is already recorded as missed")]
    AlreadyMissed {
        /// The height.
        number: u64,
    },
    /// `report_missed` of a block that was processed.
    #[error("block {number} was processed; it cannot be missed")]
    AlreadyProcessed {
        /// The height.
        number: u64,
    },
    /// `mark_recovered` while `enable_recovery` is off.
    #[error("recovery tracking is off (enable_recovery = false)")]
    RecoveryDisabled,
    /// Writing an export failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding a JSON line failed.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A tracked missed block and when it was detected.
#[derive(Debug, Clone)]
struct Entry {
    block: MissedBlock,
    detected: SystemTime,
    /// Order of detection, from 1.
    seq: u64,
}

/// The monitor: see the [module docs](self). Single-owner (`&mut self`); the recorder
/// it writes to is shared and lock-free.
#[derive(Debug)]
pub struct BlockMonitor {
    rec: Recorder,
    cfg: MonitorConfig,
    /// The highest block processed: (height, its timestamp in Unix seconds).
    head: Option<(u64, u64)>,
    /// Recent hashes by height, at most `cfg.reorg_window`.
    hashes: BTreeMap<u64, String>,
    /// Missed blocks by height, at most `cfg.max_tracked`.
    missed: BTreeMap<u64, Entry>,
    /// Heights of Critical misses not yet taken by `take_alerts`.
    pending: Vec<u64>,
    /// Whether the current streak's alert was taken.
    streak_alerted: bool,
    streak: u64,
    last_missed: Option<u64>,
    /// The next height flagged overdue by `check_overdue_at`, so it is counted once.
    overdue_flagged: Option<u64>,
    /// Observed block intervals (seconds per height), at most 32.
    intervals: VecDeque<u64>,
    /// Recovery times in milliseconds, 1 ms .. 1 week, 3 significant digits.
    recovery: hdrhistogram::Histogram<u64>,
    recovery_sum: Duration,
    /// Missed heights ever, by reason (for `flightring_blocks_missed_total{reason}`).
    missed_by_reason: BTreeMap<MissReason, u64>,
    /// Entries ever created.
    seq: u64,
    stats: MonitorStats,
}

fn unix_secs(t: SystemTime) -> f64 {
    let s = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    (s * 1000.0).round() / 1000.0
}

impl BlockMonitor {
    /// A monitor writing into `rec`, or the first invalid value of `cfg`.
    pub fn new(rec: Recorder, cfg: MonitorConfig) -> Result<BlockMonitor, MonitorError> {
        cfg.validate()?;
        let recovery = hdrhistogram::Histogram::new_with_bounds(1, 7 * 24 * 3_600_000, 3)
            .expect("static bounds are valid");
        Ok(BlockMonitor {
            stats: MonitorStats {
                block_time: cfg.expected_block_time,
                ..MonitorStats::default()
            },
            rec,
            cfg,
            head: None,
            hashes: BTreeMap::new(),
            missed: BTreeMap::new(),
            pending: Vec::new(),
            streak_alerted: false,
            streak: 0,
            last_missed: None,
            overdue_flagged: None,
            intervals: VecDeque::new(),
            recovery,
            recovery_sum: Duration::ZERO,
            missed_by_reason: BTreeMap::new(),
            seq: 0,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &MonitorConfig {
        &self.cfg
    }

    /// The recorder it writes to.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// The block time in use: configured, or learned from the chain when
    /// `learn_block_time` is on and at least 4 intervals were seen.
    pub fn block_time(&self) -> Duration {
        if self.cfg.learn_block_time && self.intervals.len() >= 4 {
            let mut v: Vec<u64> = self.intervals.iter().copied().collect();
            v.sort_unstable();
            Duration::from_secs(v[v.len() / 2].max(1))
        } else {
            self.cfg.expected_block_time
        }
    }

    /// The expected time (Unix seconds) of height `n`, from the head.
    fn expected_at(&self, n: u64) -> Option<f64> {
        let (h, ts) = self.head?;
        let bt = self.block_time().as_secs_f64();
        Some(ts as f64 + (n as f64 - h as f64) * bt)
    }

    /// Processes a block arriving now (the wall clock). See
    /// [`process_block_at`](Self::process_block_at).
    pub fn process_block(&mut self, info: &BlockInfo) -> Result<BlockOutcome, MonitorError> {
        self.process_block_at(info, SystemTime::now())
    }

    /// Processes a block that arrived at `now`: detects gaps, duplicates, out-of-order
    /// arrival, reorgs and delays (see the [module docs](self)), records what it found,
    /// and says so. Errors only on a block without a hash.
    pub fn process_block_at(
        &mut self,
        info: &BlockInfo,
        now: SystemTime,
    ) -> Result<BlockOutcome, MonitorError> {
        if info.hash.is_empty() {
            return Err(MonitorError::EmptyHash {
                number: info.number,
            });
        }
        self.prune(now);
        let n = info.number;
        let mut out = BlockOutcome::default();
        let Some((h, _)) = self.head else {
            self.advance(info, now, &mut out);
            return Ok(out);
        };
        if n > h {
            if n == h + 1 && !info.parent_hash.is_empty() {
                if let Some(head_hash) = self.hashes.get(&h) {
                    if *head_hash != info.parent_hash {
                        self.reorg(h, 1, &info.hash, &mut out);
                    }
                }
            }
            let gap = n - h - 1;
            if gap > 0 {
                self.gap(h + 1, n, now, &mut out);
            } else {
                self.streak = 0;
                self.last_missed = None;
                self.streak_alerted = false;
            }
            self.check_delay(info, now, &mut out);
            self.advance(info, now, &mut out);
        } else if let Some(known) = self.hashes.get(&n) {
            if *known == info.hash {
                out.duplicate = true;
                self.stats.duplicates += 1;
                self.rec.add("blocks_duplicate", 1);
                if self.cfg.enable_logging {
                    self.rec.record(
                        &Event::new(KIND_BLOCK_DUPLICATE, Severity::Debug).field("block", n),
                    );
                }
            } else {
                let depth = h - n + 1;
                self.reorg(n, depth, &info.hash, &mut out);
                self.hashes.retain(|k, _| *k < n);
                self.head = None;
                self.advance(info, now, &mut out);
            }
        } else if self.missed.get(&n).is_some_and(|e| !e.block.recovered) {
            self.stats.out_of_order += 1;
            if self.cfg.enable_recovery {
                let _ = self.recover(n, 0, now);
            }
            out.filled_gap = true;
            if n + (self.cfg.reorg_window as u64) > h {
                self.hashes.insert(n, info.hash.clone());
            }
        } else {
            self.stats.out_of_order += 1;
            out.stale = true;
        }
        Ok(out)
    }

    /// Makes `info` the head.
    fn advance(&mut self, info: &BlockInfo, now: SystemTime, out: &mut BlockOutcome) {
        let n = info.number;
        if let Some((h, ts)) = self.head {
            if n > h && info.timestamp > ts {
                if self.intervals.len() == 32 {
                    self.intervals.pop_front();
                }
                self.intervals.push_back((info.timestamp - ts) / (n - h));
            }
        }
        // A late block above the head that a caller had reported missed.
        if self.missed.get(&n).is_some_and(|e| !e.block.recovered) && self.cfg.enable_recovery {
            let _ = self.recover(n, 0, now);
            out.filled_gap = true;
        }
        self.head = Some((n, info.timestamp));
        self.hashes.insert(n, info.hash.clone());
        while self.hashes.len() > self.cfg.reorg_window {
            self.hashes.pop_first();
        }
        self.stats.processed += 1;
        self.stats.head = Some(n);
        self.stats.block_time = self.block_time();
    }

    fn reorg(&mut self, n: u64, depth: u64, new_hash: &str, out: &mut BlockOutcome) {
        out.reorg_depth = Some(depth);
        self.stats.reorgs += 1;
        self.stats.deepest_reorg = self.stats.deepest_reorg.max(depth);
        self.rec.add("chain_reorgs", 1);
        if self.cfg.enable_logging {
            self.rec.record(
                &Event::new(KIND_CHAIN_REORG, Severity::Warning)
                    .message(new_hash)
                    .field("block", n)
                    .field("depth", depth),
            );
        }
    }

    fn check_delay(&mut self, info: &BlockInfo, now: SystemTime, out: &mut BlockOutcome) {
        let Some(expected) = self.expected_at(info.number) else {
            return;
        };
        let late = unix_secs(now) - expected;
        if late > self.cfg.max_block_delay.as_secs_f64() {
            let d = Duration::from_secs_f64(late);
            out.delay = Some(d);
            if self.overdue_flagged == Some(info.number) {
                return; // already counted by check_overdue_at
            }
            self.delayed(info.number, d, true);
        }
    }

    fn delayed(&mut self, n: u64, d: Duration, arrived: bool) {
        self.stats.delayed += 1;
        self.rec.add("blocks_delayed", 1);
        if self.cfg.enable_logging {
            self.rec.record(
                &Event::new(KIND_BLOCK_DELAYED, Severity::Warning)
                    .field("block", n)
                    .field("delay_ns", u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                    .field("arrived", arrived),
            );
        }
    }

    /// Flags the next block (head + 1) as delayed if it has not arrived more than
    /// `max_block_delay` after its expected time; returns how late it is. Each height
    /// is counted once (here or on arrival). Call it from a timer.
    pub fn check_overdue_at(&mut self, now: SystemTime) -> Option<Duration> {
        let (h, _) = self.head?;
        let late = unix_secs(now) - self.expected_at(h + 1)?;
        if late <= self.cfg.max_block_delay.as_secs_f64() {
            return None;
        }
        let d = Duration::from_secs_f64(late);
        if self.overdue_flagged != Some(h + 1) {
            self.overdue_flagged = Some(h + 1);
            self.delayed(h + 1, d, false);
        }
        Some(d)
    }

    /// Records the gap `from..to`: every height in it not already recorded, each once;
    /// one `block_gap` event per run of newly missed heights.
    fn gap(&mut self, from: u64, to: u64, now: SystemTime, out: &mut BlockOutcome) {
        out.gap_blocks = to - from;
        // Only the newest `max_tracked` heights of a huge gap get entries.
        let start = from.max(to.saturating_sub(self.cfg.max_tracked as u64));
        let untracked = start - from;
        if untracked > 0 {
            self.stats.missed += untracked;
            *self
                .missed_by_reason
                .entry(self.cfg.gap_reason)
                .or_default() += untracked;
            self.stats.forgotten += untracked;
            self.gap_event(from, start);
            // The untracked part of the gap still counts in the streak.
            self.last_missed = Some(start - 1);
            self.streak = untracked;
            self.stats.longest_streak = self.stats.longest_streak.max(untracked);
        }
        let mut run: Option<u64> = None;
        for m in start..to {
            if self.missed.contains_key(&m) {
                if let Some(r) = run.take() {
                    self.gap_event(r, m);
                }
                self.last_missed = Some(m);
                continue;
            }
            run.get_or_insert(m);
            self.miss(m, self.cfg.gap_reason, BTreeMap::new(), now, false);
            out.missed.push(m);
        }
        if let Some(r) = run {
            self.gap_event(r, to);
        }
    }

    /// `from..to` newly missed: the `block_gap` event and the `blocks_missed` counter.
    fn gap_event(&self, from: u64, to: u64) {
        if self.cfg.enable_logging {
            self.rec.block_gap(from, to);
        } else {
            self.rec.add("blocks_missed", to - from);
        }
    }

    /// Records height `m` as missed.
    fn miss(
        &mut self,
        m: u64,
        reason: MissReason,
        mut metadata: BTreeMap<String, String>,
        now: SystemTime,
        count: bool,
    ) {
        self.streak = if self.last_missed == Some(m.wrapping_sub(1)) {
            self.streak + 1
        } else {
            self.streak_alerted = false;
            1
        };
        self.last_missed = Some(m);
        self.stats.longest_streak = self.stats.longest_streak.max(self.streak);
        let now_s = unix_secs(now);
        let expected = self.expected_at(m).unwrap_or(now_s);
        let overdue = Duration::from_secs_f64((now_s - expected).max(0.0));
        let severity = self.cfg.severity.classify(self.streak, overdue, reason);
        metadata.insert("streak".into(), self.streak.to_string());
        self.stats.missed += 1;
        *self.missed_by_reason.entry(reason).or_default() += 1;
        if count {
            self.rec.add("blocks_missed", 1);
        }
        if self.cfg.enable_logging {
            let sev = if severity >= MissSeverity::High {
                Severity::Error
            } else {
                Severity::Warning
            };
            self.rec.record(
                &Event::new(KIND_BLOCK_MISSED, sev)
                    .message(reason.as_str())
                    .field("block", m)
                    .field("streak", self.streak)
                    .field("severity", severity.as_str()),
            );
        }
        if severity == MissSeverity::Critical {
            self.pending.push(m);
        }
        self.missed.insert(
            m,
            Entry {
                block: MissedBlock {
                    timestamp: now_s,
                    block_number: m,
                    reason,
                    severity,
                    expected_timestamp: (expected * 1000.0).round() / 1000.0,
                    actual_timestamp: None,
                    recovery_attempts: 0,
                    recovered: false,
                    metadata,
                    alert_sent: false,
                },
                detected: now,
                seq: self.seq + 1,
            },
        );
        self.seq += 1;
        while self.missed.len() > self.cfg.max_tracked {
            self.missed.pop_first();
            self.stats.forgotten += 1;
        }
    }

    /// Reports that height `number` was missed for `reason` (the caller knows why: an
    /// RPC error, a timeout …), now. It counts in the streak when it follows the last
    /// missed height or the head.
    pub fn report_missed(&mut self, number: u64, reason: MissReason) -> Result<(), MonitorError> {
        self.report_missed_at(number, reason, BTreeMap::new(), SystemTime::now())
    }

    /// [`report_missed`](Self::report_missed) with metadata, at `now`.
    pub fn report_missed_at(
        &mut self,
        number: u64,
        reason: MissReason,
        metadata: BTreeMap<String, String>,
        now: SystemTime,
    ) -> Result<(), MonitorError> {
        if self.missed.contains_key(&number) {
            return Err(MonitorError::AlreadyMissed { number });
        }
        if self.hashes.contains_key(&number) {
            return Err(MonitorError::AlreadyProcessed { number });
        }
        self.prune(now);
        if self.last_missed.is_none() {
            if let Some((h, _)) = self.head {
                if number == h + 1 {
                    self.last_missed = Some(h); // a run starting right after the head
                    self.streak = 0;
                }
            }
        }
        self.miss(number, reason, metadata, now, true);
        Ok(())
    }

    /// Marks missed block `number` recovered after `attempts` attempts, now; returns
    /// the recovery time (from detection).
    pub fn mark_recovered(&mut self, number: u64, attempts: u32) -> Result<Duration, MonitorError> {
        self.mark_recovered_at(number, attempts, SystemTime::now())
    }

    /// [`mark_recovered`](Self::mark_recovered) at `now`.
    pub fn mark_recovered_at(
        &mut self,
        number: u64,
        attempts: u32,
        now: SystemTime,
    ) -> Result<Duration, MonitorError> {
        if !self.cfg.enable_recovery {
            return Err(MonitorError::RecoveryDisabled);
        }
        self.recover(number, attempts, now)
    }

    fn recover(
        &mut self,
        number: u64,
        attempts: u32,
        now: SystemTime,
    ) -> Result<Duration, MonitorError> {
        let e = self
            .missed
            .get_mut(&number)
            .ok_or(MonitorError::NotMissed { number })?;
        if e.block.recovered {
            return Err(MonitorError::AlreadyRecovered { number });
        }
        let took = now.duration_since(e.detected).unwrap_or(Duration::ZERO);
        e.block.recovered = true;
        e.block.recovery_attempts = attempts;
        e.block.actual_timestamp = Some(unix_secs(now));
        self.stats.recovered += 1;
        self.recovery_sum += took;
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.recovery.saturating_record(ms.max(1));
        self.rec.add("blocks_recovered", 1);
        self.rec.observe(HIST_RECOVERY, took);
        if self.cfg.enable_logging {
            self.rec.record(
                &Event::new(KIND_BLOCK_RECOVERED, Severity::Info)
                    .field("block", number)
                    .field("attempts", u64::from(attempts))
                    .field(
                        "recovery_ns",
                        u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
                    ),
            );
        }
        Ok(took)
    }

    /// Forgets entries detected more than `retention` before `now`.
    fn prune(&mut self, now: SystemTime) {
        while let Some((_, e)) = self.missed.first_key_value() {
            let old = now
                .duration_since(e.detected)
                .is_ok_and(|age| age > self.cfg.retention);
            if !old {
                break;
            }
            self.missed.pop_first();
            self.stats.forgotten += 1;
        }
    }

    /// The monitor's figures.
    pub fn stats(&self) -> MonitorStats {
        let mut s = self.stats.clone();
        s.current_streak = self.streak;
        s.tracked = self.missed.len();
        let seen = s.processed + s.missed;
        s.missed_rate = if seen == 0 {
            0.0
        } else {
            s.missed as f64 / seen as f64
        };
        s.recovery_rate = if s.missed == 0 {
            0.0
        } else {
            s.recovered as f64 / s.missed as f64
        };
        if s.recovered > 0 {
            s.avg_recovery =
                Some(self.recovery_sum / u32::try_from(s.recovered).unwrap_or(u32::MAX));
            s.p99_recovery = Some(Duration::from_millis(self.recovery.value_at_quantile(0.99)));
        }
        s
    }

    /// The tracked missed blocks, lowest height first.
    pub fn missed_blocks(&self) -> impl Iterator<Item = &MissedBlock> + '_ {
        self.missed.values().map(|e| &e.block)
    }

    /// Missed blocks detected after position `seq` (0: all), with their positions,
    /// lowest height first; a rule engine keeps the highest position it saw.
    /// [`miss_seq`](Self::miss_seq) is the latest position.
    pub fn missed_after(&self, seq: u64) -> impl Iterator<Item = (u64, &MissedBlock)> + '_ {
        self.missed
            .values()
            .filter(move |e| e.seq > seq)
            .map(|e| (e.seq, &e.block))
    }

    /// The position of the latest missed block detected (0 before any).
    pub fn miss_seq(&self) -> u64 {
        self.seq
    }

    /// The tracked missed block at `number`.
    pub fn missed_block(&self, number: u64) -> Option<&MissedBlock> {
        self.missed.get(&number).map(|e| &e.block)
    }

    /// Whether an alert is due: the current streak has reached `alert_threshold` and
    /// its alert was not taken, or a Critical miss was not taken by
    /// [`take_alerts`](Self::take_alerts).
    pub fn should_alert(&self) -> bool {
        (self.streak >= u64::from(self.cfg.alert_threshold) && !self.streak_alerted)
            || self
                .pending
                .iter()
                .any(|n| self.missed.get(n).is_some_and(|e| !e.block.alert_sent))
    }

    /// The worst pending missed block (highest severity, then newest), if an alert is
    /// due.
    fn worst_pending(&self) -> Option<&MissedBlock> {
        if !self.should_alert() {
            return None;
        }
        self.missed
            .values()
            .map(|e| &e.block)
            .filter(|b| !b.alert_sent)
            .max_by_key(|b| b.severity)
            .or_else(|| self.missed.values().next_back().map(|e| &e.block))
    }

    /// The alert for the worst pending missed block, in the relay's console shape
    /// (`🚨 ALERT: Critical missed block 1001 detected!`, then reason, severity,
    /// expected and actual time, streak); `None` when no alert is due.
    pub fn alert_message(&self) -> Option<String> {
        let b = self.worst_pending()?;
        Some(format_alert(b, self.streak))
    }

    /// Takes the due alerts: every missed block not yet alerted whose severity is
    /// Critical, or — when only the streak is due — the newest missed block; marks them
    /// `alert_sent` and the streak as alerted.
    pub fn take_alerts(&mut self) -> Vec<MissedBlock> {
        if !self.should_alert() {
            return Vec::new();
        }
        let mut heights: Vec<u64> = std::mem::take(&mut self.pending);
        if heights.is_empty() {
            if let Some(n) = self.last_missed {
                heights.push(n);
            }
        }
        self.streak_alerted = true;
        let mut out = Vec::new();
        for n in heights {
            if let Some(e) = self.missed.get_mut(&n) {
                if !e.block.alert_sent {
                    e.block.alert_sent = true;
                    out.push(e.block.clone());
                }
            }
        }
        out
    }
}

/// The relay's console alert text for `b`, at streak `streak`.
pub fn format_alert(b: &MissedBlock, streak: u64) -> String {
    let t = |s: f64| Timestamp::from_unix_nanos((s * 1e9) as i64).to_string();
    format!(
        "🚨 ALERT: {} missed block {} detected!\nReason: {}\nSeverity: {}\nExpected: {}\nActual: {}\nStreak: {} consecutive",
        b.severity,
        b.block_number,
        b.reason,
        b.severity,
        t(b.expected_timestamp),
        b.actual_timestamp.map(t).unwrap_or_else(|| "not received".into()),
        streak
    )
}
