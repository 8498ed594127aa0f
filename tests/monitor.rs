//! The missed-block monitor on simulated chains: every detection, streaks and severity
//! rules, recovery times, bounded memory, and the CSV / JSON Lines exports read back.
#![cfg(feature = "monitor")]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flightring::monitor::{
    BlockInfo, BlockMonitor, MissReason, MissSeverity, MonitorConfig, MonitorError, SeverityRules,
    CSV_COLUMNS,
};
use flightring::{Query, Recorder};

const T0: u64 = 1_600_000_000;

fn block(n: u64) -> BlockInfo {
    BlockInfo {
        number: n,
        hash: format!("0x{n:x}"),
        parent_hash: format!("0x{:x}", n.wrapping_sub(1)),
        timestamp: T0.wrapping_add(n.wrapping_mul(12)),
    }
}

/// The moment block `n` is due, plus `late` seconds.
fn at(n: u64, late: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + 12 * n) + Duration::from_secs_f64(late)
}

fn setup(cfg: MonitorConfig) -> (Recorder, BlockMonitor) {
    let rec = Recorder::builder().capacity(65_536).build().unwrap();
    let mon = BlockMonitor::new(rec.clone(), cfg).unwrap();
    (rec, mon)
}

fn kinds(rec: &Recorder, kind: &str) -> Vec<flightring::EventRecord> {
    let mut v = rec.query(&Query::new().kind(kind).limit(100_000));
    v.reverse();
    v
}

#[test]
fn gap_records_every_missing_height_once_and_into_the_recorder() {
    let (rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(100), at(100, 1.0)).unwrap();
    mon.report_missed_at(101, MissReason::RpcError, BTreeMap::new(), at(101, 2.0))
        .unwrap();
    let out = mon.process_block_at(&block(105), at(105, 1.0)).unwrap();
    assert_eq!(out.missed, vec![102, 103, 104], "101 was already recorded");
    assert_eq!(out.gap_blocks, 4);
    let heights: Vec<u64> = mon.missed_blocks().map(|b| b.block_number).collect();
    assert_eq!(heights, vec![101, 102, 103, 104]);
    assert_eq!(mon.missed_block(101).unwrap().reason, MissReason::RpcError);
    assert_eq!(
        mon.missed_block(102).unwrap().reason,
        MissReason::NetworkLatency
    );
    assert!(matches!(
        mon.report_missed(103, MissReason::Timeout),
        Err(MonitorError::AlreadyMissed { number: 103 })
    ));
    assert!(matches!(
        mon.report_missed(105, MissReason::Timeout),
        Err(MonitorError::AlreadyProcessed { number: 105 })
    ));
    let s = mon.stats();
    assert_eq!((s.processed, s.missed, s.current_streak), (2, 4, 4));
    // into the recorder: one block_missed per height, the gap, the counter
    let missed = kinds(&rec, "block_missed");
    let ev_heights: Vec<String> = missed
        .iter()
        .map(|e| e.metadata.get("block").unwrap().to_string())
        .collect();
    assert_eq!(ev_heights, ["101", "102", "103", "104"]);
    assert_eq!(missed[0].message, "RpcError");
    let gaps = kinds(&rec, "block_gap");
    assert_eq!(gaps.len(), 1, "one run of new heights: 102..105");
    assert_eq!(
        gaps[0].metadata.get("from_block").unwrap().to_string(),
        "102"
    );
    assert_eq!(gaps[0].metadata.get("gap_blocks").unwrap().to_string(), "3");
    assert_eq!(rec.counter_value("blocks_missed"), Some(4));
}

#[test]
fn duplicates_are_counted_and_change_nothing() {
    let (rec, mut mon) = setup(MonitorConfig::default());
    for n in 1..=3 {
        mon.process_block_at(&block(n), at(n, 0.5)).unwrap();
    }
    let out = mon.process_block_at(&block(2), at(3, 1.0)).unwrap();
    assert!(out.duplicate);
    let out = mon.process_block_at(&block(3), at(3, 1.0)).unwrap();
    assert!(out.duplicate);
    let s = mon.stats();
    assert_eq!(
        (s.processed, s.duplicates, s.missed, s.reorgs),
        (3, 2, 0, 0)
    );
    assert_eq!(kinds(&rec, "block_duplicate").len(), 2);
}

#[test]
fn a_late_block_fills_its_gap_and_counts_as_recovered() {
    let (rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(10), at(10, 0.0)).unwrap();
    mon.process_block_at(&block(13), at(13, 0.0)).unwrap(); // 11, 12 missed
    let out = mon.process_block_at(&block(11), at(13, 4.0)).unwrap();
    assert!(out.filled_gap);
    let b = mon.missed_block(11).unwrap();
    assert!(b.recovered);
    assert_eq!(b.recovery_attempts, 0);
    assert!(!mon.missed_block(12).unwrap().recovered);
    let s = mon.stats();
    assert_eq!((s.missed, s.recovered, s.out_of_order), (2, 1, 1));
    assert_eq!(s.avg_recovery, Some(Duration::from_secs(4)));
    assert_eq!(kinds(&rec, "block_recovered").len(), 1);
    // an old block never missed is stale, not a reorg
    let out = mon.process_block_at(&block(1), at(13, 5.0)).unwrap();
    assert!(out.stale);
    assert_eq!(mon.stats().reorgs, 0);
}

#[test]
fn reorg_at_a_known_height_reports_its_depth() {
    let (rec, mut mon) = setup(MonitorConfig::default());
    for n in 100..=105 {
        mon.process_block_at(&block(n), at(n, 0.1)).unwrap();
    }
    let mut fork = block(103);
    fork.hash = "0xfork103".into();
    let out = mon.process_block_at(&fork, at(105, 2.0)).unwrap();
    assert_eq!(out.reorg_depth, Some(3), "103, 104 and 105 replaced");
    assert_eq!(mon.stats().head, Some(103));
    assert_eq!(mon.stats().missed, 0, "a reorg is not a miss");
    // the new chain goes on from the fork without a gap
    let mut next = block(104);
    next.parent_hash = "0xfork103".into();
    let out = mon.process_block_at(&next, at(104, 0.1)).unwrap();
    assert_eq!(out.reorg_depth, None);
    assert!(out.missed.is_empty());
    let ev = kinds(&rec, "chain_reorg");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].metadata.get("depth").unwrap().to_string(), "3");
    assert_eq!(ev[0].message, "0xfork103");
    let s = mon.stats();
    assert_eq!((s.reorgs, s.deepest_reorg), (1, 3));
}

#[test]
fn reorg_by_parent_hash_mismatch() {
    let (_rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(1), at(1, 0.0)).unwrap();
    let mut b2 = block(2);
    b2.parent_hash = "0xsomething_else".into();
    let out = mon.process_block_at(&b2, at(2, 0.0)).unwrap();
    assert_eq!(out.reorg_depth, Some(1));
    // an unknown parent (empty) is not judged
    let mut b3 = block(3);
    b3.parent_hash.clear();
    assert_eq!(
        mon.process_block_at(&b3, at(3, 0.0)).unwrap().reorg_depth,
        None
    );
}

#[test]
fn delays_on_arrival_and_overdue_next_block_each_counted_once() {
    let (rec, mut mon) = setup(MonitorConfig::default()); // max delay 30 s
    mon.process_block_at(&block(1), at(1, 0.0)).unwrap();
    let out = mon.process_block_at(&block(2), at(2, 29.0)).unwrap();
    assert_eq!(out.delay, None);
    let out = mon.process_block_at(&block(3), at(3, 45.0)).unwrap();
    let d = out.delay.expect("45 s late");
    assert!((d.as_secs_f64() - 45.0).abs() < 0.01, "{d:?}");
    // block 4 has not come: a timer flags it once, however often it runs
    assert_eq!(mon.check_overdue_at(at(4, 10.0)), None);
    assert!(mon.check_overdue_at(at(4, 31.0)).is_some());
    assert!(mon.check_overdue_at(at(4, 40.0)).is_some());
    mon.process_block_at(&block(4), at(4, 50.0)).unwrap();
    assert_eq!(mon.stats().delayed, 2);
    let ev = kinds(&rec, "block_delayed");
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].metadata.get("block").unwrap().to_string(), "3");
    assert_eq!(ev[1].metadata.get("arrived").unwrap().to_string(), "false");
}

#[test]
fn streak_sets_severity_and_alerts() {
    let (_rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(1000), at(1000, 0.0)).unwrap();
    mon.process_block_at(&block(1007), at(1007, 0.0)).unwrap(); // 1001..=1006
    let sev: Vec<MissSeverity> = mon.missed_blocks().map(|b| b.severity).collect();
    use MissSeverity::*;
    assert_eq!(sev, [Low, Medium, High, High, Critical, Critical]);
    let s = mon.stats();
    assert_eq!((s.current_streak, s.longest_streak), (6, 6));
    assert!(mon.should_alert());
    let msg = mon.alert_message().unwrap();
    assert!(
        msg.starts_with("🚨 ALERT: Critical missed block 1006 detected!"),
        "{msg}"
    );
    assert!(msg.contains("Reason: NetworkLatency"), "{msg}");
    let taken = mon.take_alerts();
    assert_eq!(
        taken.iter().map(|b| b.block_number).collect::<Vec<_>>(),
        [1005, 1006]
    );
    assert!(taken.iter().all(|b| b.alert_sent));
    assert!(!mon.should_alert());
    assert!(mon.alert_message().is_none());
    // the next in-order block ends the streak; the longest is kept
    mon.process_block_at(&block(1008), at(1008, 0.0)).unwrap();
    let s = mon.stats();
    assert_eq!((s.current_streak, s.longest_streak), (0, 6));
    // a streak at the threshold alerts even when no miss is Critical
    let cfg = MonitorConfig {
        alert_threshold: 2,
        ..MonitorConfig::default()
    };
    let (_rec, mut mon) = setup(cfg);
    mon.process_block_at(&block(1), at(1, 0.0)).unwrap();
    mon.process_block_at(&block(3), at(3, 0.0)).unwrap();
    assert!(!mon.should_alert(), "streak 1 < 2");
    mon.report_missed_at(4, MissReason::Timeout, BTreeMap::new(), at(4, 0.0))
        .unwrap();
    assert!(!mon.should_alert(), "4 follows the head 3: a new run of 1");
    mon.report_missed_at(5, MissReason::Timeout, BTreeMap::new(), at(5, 0.0))
        .unwrap();
    assert_eq!(mon.stats().current_streak, 2);
    assert!(mon.should_alert());
    assert_eq!(mon.take_alerts().len(), 1);
    assert!(!mon.should_alert());
}

#[test]
fn severity_rules_are_configurable_by_streak_delay_and_reason() {
    let cfg = MonitorConfig {
        severity: SeverityRules {
            streak_medium: 10,
            streak_high: 10,
            streak_critical: 10,
            delay_medium: Duration::from_secs(60),
            delay_high: Duration::from_secs(300),
            reason_floor: vec![(MissReason::InsufficientFunds, MissSeverity::Critical)],
        },
        ..MonitorConfig::default()
    };
    let (_rec, mut mon) = setup(cfg);
    mon.process_block_at(&block(1), at(1, 0.0)).unwrap();
    // detected 100 s after 2 was due: Medium by delay
    mon.report_missed_at(2, MissReason::Timeout, BTreeMap::new(), at(2, 100.0))
        .unwrap();
    // detected 400 s after: High
    mon.report_missed_at(3, MissReason::Timeout, BTreeMap::new(), at(3, 400.0))
        .unwrap();
    mon.report_missed_at(
        4,
        MissReason::InsufficientFunds,
        BTreeMap::new(),
        at(4, 0.0),
    )
    .unwrap();
    let sev: Vec<MissSeverity> = mon.missed_blocks().map(|b| b.severity).collect();
    assert_eq!(
        sev,
        [
            MissSeverity::Medium,
            MissSeverity::High,
            MissSeverity::Critical
        ]
    );
    assert_eq!(mon.missed_block(4).unwrap().metadata["streak"], "3");
}

#[test]
fn recovery_times_go_to_the_stats_and_the_histogram() {
    let (rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(0), at(0, 0.0)).unwrap();
    mon.process_block_at(&block(101), at(101, 0.0)).unwrap(); // 1..=100 missed at t
    let t = at(101, 0.0);
    for n in 1..=100u64 {
        let took = mon
            .mark_recovered_at(n, 2, t + Duration::from_millis(n * 100))
            .unwrap();
        assert_eq!(took, Duration::from_millis(n * 100));
    }
    assert!(matches!(
        mon.mark_recovered(1, 1),
        Err(MonitorError::AlreadyRecovered { number: 1 })
    ));
    assert!(matches!(
        mon.mark_recovered(5000, 1),
        Err(MonitorError::NotMissed { number: 5000 })
    ));
    let s = mon.stats();
    assert_eq!(s.recovered, 100);
    assert!((s.recovery_rate - 1.0).abs() < 1e-9);
    assert_eq!(s.avg_recovery, Some(Duration::from_millis(5050)));
    let p99 = s.p99_recovery.unwrap().as_millis();
    assert!((9850..=9950).contains(&p99), "p99 {p99} ms");
    let h = rec.histogram_summary("block.recovery").unwrap();
    assert_eq!(h.count, 100);
    assert_eq!(mon.missed_block(7).unwrap().recovery_attempts, 2);
    assert_eq!(rec.counter_value("blocks_recovered"), Some(100));
}

#[test]
fn recovery_off_is_a_typed_error() {
    let cfg = MonitorConfig {
        enable_recovery: false,
        ..MonitorConfig::default()
    };
    let (_rec, mut mon) = setup(cfg);
    mon.process_block_at(&block(1), at(1, 0.0)).unwrap();
    mon.process_block_at(&block(3), at(3, 0.0)).unwrap();
    assert!(matches!(
        mon.mark_recovered(2, 1),
        Err(MonitorError::RecoveryDisabled)
    ));
    // a late block is still not counted as recovered
    mon.process_block_at(&block(2), at(3, 1.0)).unwrap();
    assert_eq!(mon.stats().recovered, 0);
}

#[test]
fn memory_is_bounded_under_a_long_run() {
    let cfg = MonitorConfig {
        max_tracked: 500,
        reorg_window: 64,
        retention: Duration::from_secs(3600),
        ..MonitorConfig::default()
    };
    let (_rec, mut mon) = setup(cfg);
    // 200 000 heights, every 10th missed; 12 s per block, so the retention (1 h = 300
    // blocks) forgets most before max_tracked does
    let mut n = 0u64;
    while n < 200_000 {
        if n % 10 != 9 {
            mon.process_block_at(&block(n), at(n, 0.0)).unwrap();
        }
        n += 1;
    }
    let s = mon.stats();
    assert_eq!(s.missed, 20_000 - 1);
    assert!(s.tracked <= 500, "{}", s.tracked);
    assert!(s.tracked >= 25, "an hour of misses is kept: {}", s.tracked);
    assert_eq!(s.forgotten, s.missed - s.tracked as u64);
    // a wild height costs at most max_tracked entries
    mon.process_block_at(&block(u64::MAX / 2), at(200_000, 0.0))
        .unwrap();
    let s = mon.stats();
    assert!(s.tracked <= 500);
    // the head was 199 998 (199 999 is a missed one): the gap is 199 999 .. MAX / 2
    assert_eq!(s.current_streak, u64::MAX / 2 - 199_999);
}

#[test]
fn bad_input_is_a_typed_error_never_a_panic() {
    let (_rec, mut mon) = setup(MonitorConfig::default());
    let mut b = block(1);
    b.hash.clear();
    assert!(matches!(
        mon.process_block(&b),
        Err(MonitorError::EmptyHash { number: 1 })
    ));
    for (cfg, key) in [
        (
            MonitorConfig {
                expected_block_time: Duration::ZERO,
                ..Default::default()
            },
            "expected_block_time",
        ),
        (
            MonitorConfig {
                max_block_delay: Duration::ZERO,
                ..Default::default()
            },
            "max_block_delay",
        ),
        (
            MonitorConfig {
                retry_attempts: 0,
                ..Default::default()
            },
            "retry_attempts",
        ),
        (
            MonitorConfig {
                alert_threshold: 0,
                ..Default::default()
            },
            "alert_threshold",
        ),
        (
            MonitorConfig {
                max_tracked: 0,
                ..Default::default()
            },
            "max_tracked",
        ),
        (
            MonitorConfig {
                severity: SeverityRules {
                    streak_high: 1,
                    ..Default::default()
                },
                ..Default::default()
            },
            "severity.streak_high",
        ),
    ] {
        let rec = Recorder::builder().capacity(1024).build().unwrap();
        match BlockMonitor::new(rec, cfg) {
            Err(MonitorError::Config(e)) => {
                assert_eq!(e.key, key);
                assert!(e.to_string().contains(key), "{e}");
            }
            other => panic!("{key}: {other:?}"),
        }
    }
    // extremes of heights and timestamps
    let (_rec, mut mon) = setup(MonitorConfig::default());
    for n in [u64::MAX, 0, u64::MAX - 1, 5] {
        let mut b = block(n);
        b.timestamp = n;
        mon.process_block(&b).unwrap();
    }
    assert_eq!(
        "critical".parse::<MissSeverity>(),
        Ok(MissSeverity::Critical)
    );
    assert!("nope"
        .parse::<MissReason>()
        .unwrap_err()
        .to_string()
        .contains("nope"));
}

#[test]
fn documented_defaults() {
    let c = MonitorConfig::default();
    assert_eq!(c.expected_block_time, Duration::from_secs(12));
    assert_eq!(c.max_block_delay, Duration::from_secs(30));
    assert_eq!(c.retry_attempts, 3);
    assert_eq!(c.retry_delay, Duration::from_secs(5));
    assert_eq!(c.alert_threshold, 5);
    assert!(c.enable_recovery && c.enable_logging);
}

#[test]
fn block_time_is_learned_from_the_chain() {
    let cfg = MonitorConfig {
        learn_block_time: true,
        ..MonitorConfig::default()
    };
    let (_rec, mut mon) = setup(cfg);
    for n in 0..10u64 {
        let mut b = block(n);
        b.timestamp = T0 + 2 * n; // a 2 s chain
        mon.process_block_at(&b, UNIX_EPOCH + Duration::from_secs(T0 + 2 * n))
            .unwrap();
    }
    assert_eq!(mon.block_time(), Duration::from_secs(2));
    assert_eq!(mon.stats().block_time, Duration::from_secs(2));
    // block 12 is due at T0 + 24; arriving 31 s after that is a delay
    let mut b = block(12);
    b.timestamp = T0 + 24;
    let out = mon
        .process_block_at(&b, UNIX_EPOCH + Duration::from_secs(T0 + 24 + 31))
        .unwrap();
    assert!(out.delay.is_some());
    assert_eq!(
        mon.missed_block(10).unwrap().expected_timestamp,
        (T0 + 20) as f64
    );
}

#[test]
fn csv_reads_back_into_exactly_the_relay_columns() {
    let (_rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(1000), at(1000, 0.0)).unwrap();
    mon.process_block_at(&block(1003), at(1003, 0.5)).unwrap();
    mon.mark_recovered_at(1001, 2, at(1003, 2.5)).unwrap();
    let mut buf = Vec::new();
    mon.write_csv(&mut buf).unwrap();
    let mut r = csv::Reader::from_reader(buf.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, CSV_COLUMNS);
    assert_eq!(
        header.join(","),
        "block_number,reason,severity,expected_timestamp,actual_timestamp,recovery_attempts,recovered,missed_at"
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    let row = |i: usize, col: &str| {
        rows[i][CSV_COLUMNS.iter().position(|c| *c == col).unwrap()].to_string()
    };
    assert_eq!(row(0, "block_number"), "1001");
    assert_eq!(row(0, "reason"), "NetworkLatency");
    assert_eq!(row(0, "severity"), "Low");
    assert_eq!(
        row(0, "expected_timestamp").parse::<f64>().unwrap(),
        (T0 + 12 * 1001) as f64
    );
    assert_eq!(
        row(0, "actual_timestamp").parse::<f64>().unwrap(),
        (T0 + 12 * 1003) as f64 + 2.5
    );
    assert_eq!(row(0, "recovery_attempts"), "2");
    assert_eq!(row(0, "recovered"), "true");
    assert_eq!(
        row(0, "missed_at").parse::<f64>().unwrap(),
        (T0 + 12 * 1003) as f64 + 0.5
    );
    assert_eq!(row(1, "severity"), "Medium");
    assert_eq!(row(1, "actual_timestamp"), "");
    assert_eq!(row(1, "recovered"), "false");
}

#[test]
fn jsonl_lines_have_the_relay_shape() {
    let (_rec, mut mon) = setup(MonitorConfig::default());
    mon.process_block_at(&block(1000), at(1000, 0.0)).unwrap();
    mon.process_block_at(&block(1002), at(1002, 0.0)).unwrap();
    let mut buf = Vec::new();
    mon.write_jsonl(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut want = vec![
        "timestamp",
        "block_number",
        "reason",
        "severity",
        "expected_timestamp",
        "actual_timestamp",
        "recovery_attempts",
        "recovered",
        "metadata",
        "alert_sent",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want);
    assert!(lines[0].starts_with("{\"timestamp\":"), "{}", lines[0]);
    assert_eq!(v["block_number"], 1001);
    assert_eq!(v["reason"], "NetworkLatency");
    assert_eq!(v["severity"], "Low");
    assert_eq!(v["actual_timestamp"], serde_json::Value::Null);
    assert_eq!(v["recovery_attempts"], 0);
    assert_eq!(v["recovered"], false);
    assert_eq!(v["alert_sent"], false);
    assert_eq!(v["metadata"]["streak"], "1");
}

#[test]
fn prometheus_text_has_the_monitor_metrics_and_passes_promtool() {
    let (_rec, mut mon) = setup(MonitorConfig::default());
    for n in [1, 2, 6] {
        mon.process_block_at(&block(n), at(n, 0.0)).unwrap(); // 3, 4, 5 missed
    }
    mon.report_missed_at(7, MissReason::RpcError, BTreeMap::new(), at(7, 0.0))
        .unwrap();
    // Detected when block 6 came; recovered 3 s and 100 s later.
    mon.mark_recovered_at(3, 1, at(6, 3.0)).unwrap();
    mon.mark_recovered_at(4, 2, at(6, 100.0)).unwrap();
    let text = mon.to_prometheus();
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value("flightring_blocks_processed_total"), 3.0);
    assert_eq!(
        value("flightring_blocks_missed_total{reason=\"NetworkLatency\"}"),
        3.0
    );
    assert_eq!(
        value("flightring_blocks_missed_total{reason=\"RpcError\"}"),
        1.0
    );
    assert_eq!(
        value("flightring_blocks_missed_total{reason=\"Timeout\"}"),
        0.0
    );
    assert_eq!(value("flightring_blocks_recovered_total"), 2.0);
    assert_eq!(value("flightring_missed_streak_longest"), 3.0);
    assert_eq!(
        value("flightring_block_recovery_seconds_bucket{le=\"2.5\"}"),
        0.0
    );
    assert_eq!(
        value("flightring_block_recovery_seconds_bucket{le=\"5\"}"),
        1.0
    );
    assert_eq!(
        value("flightring_block_recovery_seconds_bucket{le=\"60\"}"),
        1.0
    );
    assert_eq!(
        value("flightring_block_recovery_seconds_bucket{le=\"120\"}"),
        2.0
    );
    assert_eq!(
        value("flightring_block_recovery_seconds_bucket{le=\"+Inf\"}"),
        2.0
    );
    assert_eq!(value("flightring_block_recovery_seconds_count"), 2.0);
    assert!((value("flightring_block_recovery_seconds_sum") - 103.0).abs() < 0.01);

    // promtool is Prometheus' own checker; `bash .ci/test` installs it.
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool not found: run `bash .ci/test`, which installs Debian's prometheus");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
