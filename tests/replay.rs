//! Replay: into a recorder (kinds, severities, peers, fields and order kept), speed
//! validation, pause/resume/stop/speed change, progress, gaps, and timing fidelity.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flightring::recording::{Filter, GapMark, Recording};
use flightring::replay::{Callback, ReplayError, Replayed, Replayer, GAP_KIND};
use flightring::{EventRecord, Metadata, Recorder, Severity, Timestamp, Value};

/// `n` events `step` apart, of varied kinds, severities, peers and fields.
fn synthetic(n: u64, step: Duration) -> Recording {
    let t0 = Timestamp::now();
    let events = (0..n)
        .map(|i| EventRecord {
            id: i + 1,
            timestamp: t0.saturating_add(step * i as u32),
            severity: Severity::ALL[(i % 5) as usize],
            kind: ["rpc_call", "block", "peer_connected"][(i % 3) as usize].into(),
            peer: (i % 2 == 0).then(|| format!("peer{}", i % 7)),
            message: format!("event {i}"),
            metadata: Metadata(vec![
                ("i".into(), Value::U64(i)),
                ("neg".into(), Value::I64(-(i as i64) - 1)),
                ("ratio".into(), Value::F64(i as f64 / 4.0)),
                ("ok".into(), Value::Bool(i % 2 == 0)),
                ("who".into(), Value::Str(format!("w{i}"))),
            ]),
            truncated: false,
        })
        .collect();
    Recording::from_events("synthetic", events)
}

#[test]
fn replay_into_a_recorder_reproduces_the_events() {
    let r = synthetic(500, Duration::from_micros(10));
    let target = Recorder::builder()
        .capacity(4096)
        .shards(1)
        .build()
        .unwrap();
    let report = Replayer::new(r.clone())
        .as_fast_as_possible()
        .run(&target)
        .unwrap();
    assert_eq!(report.replayed, 500);
    let got = target.snapshot().events();
    assert_eq!(got.len(), 500);
    for (a, b) in got.iter().zip(&r.events) {
        assert_eq!(
            (&a.kind, a.severity, &a.peer, &a.message, &a.metadata),
            (&b.kind, b.severity, &b.peer, &b.message, &b.metadata)
        );
    }
}

#[test]
fn speed_is_validated() {
    let r = || Replayer::new(synthetic(3, Duration::from_millis(1)));
    for bad in [0.0, 0.009, 1000.5, -1.0, f64::NAN, f64::INFINITY] {
        let e = r().speed(bad).unwrap_err();
        assert!(matches!(e, ReplayError::Speed(_)), "{bad}: {e}");
        assert!(e.to_string().contains("0.01 to 1000"));
    }
    for ok in [0.01, 1.0, 1000.0] {
        assert!(r().speed(ok).is_ok());
    }
    let h = r()
        .speed(0.01)
        .unwrap()
        .spawn(Callback(|_: &Replayed| {}))
        .unwrap();
    assert!(h.set_speed(2000.0).is_err());
    h.stop();
    h.join().unwrap();
}

#[test]
fn filter_progress_and_gaps() {
    let mut r = synthetic(100, Duration::from_micros(1));
    r.gaps.push(GapMark {
        before: 50,
        lost: 9,
        at: r.events[50].timestamp,
    });
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c2 = calls.clone();
    let target = Recorder::builder()
        .capacity(1024)
        .shards(1)
        .build()
        .unwrap();
    let report = Replayer::new(r)
        .as_fast_as_possible()
        .filter(Filter::new().min_severity(Severity::Error))
        .on_progress(move |done, total| c2.lock().unwrap().push((done, total)))
        .run(&target)
        .unwrap();
    assert_eq!(report.replayed, 40);
    assert_eq!(report.filtered_out, 60);
    assert_eq!((report.gaps, report.lost), (1, 9));
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 40);
    assert_eq!(calls[0], (1, 40));
    assert_eq!(*calls.last().unwrap(), (40, 40));
    let got = target.snapshot().events();
    assert_eq!(got.len(), 41, "40 events and the gap");
    let gap = got.iter().find(|e| e.kind == GAP_KIND).unwrap();
    assert_eq!(gap.metadata.get("lost"), Some(&Value::U64(9)));
    assert!(got
        .iter()
        .filter(|e| e.kind != GAP_KIND)
        .all(|e| e.severity >= Severity::Error));
}

#[test]
fn pause_resume_stop_and_speed_change() {
    // 200 events 10 ms apart: 2 s at 1×.
    let r = synthetic(200, Duration::from_millis(10));
    let count = Arc::new(AtomicU64::new(0));
    let c2 = count.clone();
    let h = Replayer::new(r.clone())
        .spawn(Callback(move |_: &Replayed| {
            c2.fetch_add(1, Ordering::Relaxed);
        }))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    h.pause();
    assert!(h.is_paused());
    std::thread::sleep(Duration::from_millis(20));
    let at_pause = count.load(Ordering::Relaxed);
    assert!(
        (5..=40).contains(&at_pause),
        "{at_pause} after 200 ms at 1×"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        count.load(Ordering::Relaxed),
        at_pause,
        "nothing while paused"
    );
    assert_eq!(h.progress(), (at_pause, 200));
    h.resume();
    // At 100× the remaining ~1.8 s take ~18 ms.
    h.set_speed(100.0).unwrap();
    let t = Instant::now();
    while !h.is_finished() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let rep = h.join().unwrap();
    assert_eq!(rep.replayed, 200);
    assert!(!rep.stopped);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

    // Stop part-way.
    let count = Arc::new(AtomicU64::new(0));
    let c2 = count.clone();
    let h = Replayer::new(r)
        .spawn(Callback(move |_: &Replayed| {
            c2.fetch_add(1, Ordering::Relaxed);
        }))
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    h.stop();
    let rep = h.join().unwrap();
    assert!(rep.stopped);
    assert!(rep.replayed < 200);
    assert_eq!(rep.replayed, count.load(Ordering::Relaxed));
}
