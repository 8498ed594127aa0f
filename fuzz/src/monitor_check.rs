//! The property the `monitor` fuzz target checks (shared with `tests/fuzz_corpus.rs`,
//! which includes this file under the `monitor` feature): the bytes drive a
//! [`BlockMonitor`] through an arbitrary sequence of blocks (gaps, duplicates,
//! out-of-order, reorgs, huge jumps, parent mismatches, clocks going back),
//! `report_missed`, `mark_recovered` and `check_overdue_at`, under a configuration the
//! bytes pick (small `max_tracked`, `reorg_window`, `retention`). It never panics, and
//! after every step:
//!
//! * every height is counted as missed once: while nothing was forgotten, no height is
//!   newly missed twice (by a gap or by `report_missed`);
//! * a gap's heights are above the old head, below the block, ascending, and no more
//!   than `gap_blocks`;
//! * `recovered ≤ missed`, `tracked ≤ max_tracked`, `tracked + forgotten ≤ missed`
//!   (entries are made for missed heights only), `current_streak ≤ longest_streak`,
//!   the figures never go down, and the rates are in `0..=1`;
//! * the recorder's `blocks_missed` and `blocks_recovered` counters equal the stats.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, UNIX_EPOCH};

use flightring::monitor::{BlockInfo, BlockMonitor, MissReason, MonitorConfig, MonitorStats};
use flightring::Recorder;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte().unwrap_or(0), self.byte().unwrap_or(0)])
    }
}

fn rate_ok(r: f64) -> bool {
    (0.0..=1.0).contains(&r)
}

fn check_stats(s: &MonitorStats, before: &MonitorStats, cfg: &MonitorConfig, rec: &Recorder) {
    assert!(s.recovered <= s.missed, "{s:?}");
    assert!(s.tracked <= cfg.max_tracked, "{s:?}");
    assert!(s.tracked as u64 + s.forgotten <= s.missed, "{s:?}");
    assert!(s.current_streak <= s.longest_streak, "{s:?}");
    assert!(rate_ok(s.missed_rate) && rate_ok(s.recovery_rate), "{s:?}");
    for (now, was, what) in [
        (s.processed, before.processed, "processed"),
        (s.missed, before.missed, "missed"),
        (s.recovered, before.recovered, "recovered"),
        (s.duplicates, before.duplicates, "duplicates"),
        (s.reorgs, before.reorgs, "reorgs"),
        (s.forgotten, before.forgotten, "forgotten"),
        (s.longest_streak, before.longest_streak, "longest_streak"),
    ] {
        assert!(now >= was, "{what} went down: {was} -> {now}");
    }
    assert_eq!(rec.counter_value("blocks_missed").unwrap_or(0), s.missed);
    assert_eq!(
        rec.counter_value("blocks_recovered").unwrap_or(0),
        s.recovered
    );
}

/// See the module docs.
pub fn monitor(data: &[u8]) {
    let mut b = Bytes(data);
    let flags = b.byte().unwrap_or(0);
    let cfg = MonitorConfig {
        expected_block_time: Duration::from_secs(1 + u64::from(b.byte().unwrap_or(11) % 30)),
        learn_block_time: flags & 1 != 0,
        enable_recovery: flags & 2 == 0,
        max_tracked: 1 + usize::from(b.byte().unwrap_or(63) % 64),
        reorg_window: 1 + usize::from(b.byte().unwrap_or(31) % 32),
        retention: Duration::from_secs(1 + u64::from(b.byte().unwrap_or(255))),
        ..MonitorConfig::default()
    };
    let Ok(rec) = Recorder::builder().capacity(4096).build() else {
        return;
    };
    let Ok(mut mon) = BlockMonitor::new(rec.clone(), cfg.clone()) else {
        return;
    };
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut now = t0;
    let mut base: u64 = 1_000;
    let mut newly_missed: HashSet<u64> = HashSet::new();
    let mut before = mon.stats();
    while let Some(op) = b.byte() {
        // Time mostly moves on, sometimes back (a stepped clock).
        let dt = b.byte().unwrap_or(0);
        now = if dt == 255 {
            now.checked_sub(Duration::from_secs(30)).unwrap_or(t0)
        } else {
            now + Duration::from_millis(u64::from(dt) * 50)
        };
        let near = |b: &mut Bytes| {
            let d = i64::from(b.byte().unwrap_or(0) as i8);
            base.saturating_add_signed(d)
        };
        match op % 8 {
            0..=3 => {
                let number = match op >> 3 {
                    0 => base + 1,
                    31 => base.saturating_add(u64::from(b.u16()) << 8), // a bad height
                    _ => near(&mut b),
                };
                let variant = b.byte().unwrap_or(0);
                let info = BlockInfo {
                    number,
                    hash: format!("h{number}-{}", variant & 3),
                    parent_hash: if variant & 4 != 0 {
                        String::new()
                    } else {
                        format!("h{}-{}", number.wrapping_sub(1), (variant >> 3) & 3)
                    },
                    timestamp: 1_700_000_000u64.saturating_add(number.saturating_mul(12)),
                };
                let head = mon.stats().head;
                let out = mon.process_block_at(&info, now).expect("a non-empty hash");
                assert!(out.missed.len() as u64 <= out.gap_blocks, "{out:?}");
                assert!(out.missed.windows(2).all(|w| w[0] < w[1]), "{out:?}");
                for &h in &out.missed {
                    assert!(h < number && head.is_some_and(|hd| h > hd), "{h} {out:?}");
                    let fresh = newly_missed.insert(h);
                    assert!(
                        fresh || mon.stats().forgotten > 0,
                        "height {h} missed twice"
                    );
                }
                if number > base {
                    base = number;
                }
            }
            4 | 5 => {
                let number = near(&mut b);
                let reason = MissReason::ALL[usize::from(op >> 3) % MissReason::ALL.len()];
                if mon
                    .report_missed_at(number, reason, BTreeMap::new(), now)
                    .is_ok()
                {
                    let fresh = newly_missed.insert(number);
                    assert!(
                        fresh || mon.stats().forgotten > 0,
                        "height {number} missed twice"
                    );
                }
            }
            6 => {
                let number = near(&mut b);
                let _ = mon.mark_recovered_at(number, u32::from(op >> 3), now);
            }
            _ => {
                let _ = mon.check_overdue_at(now);
            }
        }
        let s = mon.stats();
        check_stats(&s, &before, &cfg, &rec);
        before = s;
    }
    // Exports of whatever state was reached work.
    mon.write_csv(Vec::new()).expect("CSV to memory");
    mon.write_jsonl(Vec::new()).expect("JSONL to memory");
    let _ = mon.to_prometheus();
}
