//! Replay timing fidelity, in a test binary of its own so that no other test of the
//! same binary competes for the two cores while it keeps time (`cargo test` runs
//! binaries one after another): at 1x and at 10x, each event's actual offset is within
//! 5 ms (p99) of its scheduled offset; the figures are printed.

use std::time::{Duration, Instant};

use flightring::recording::Recording;
use flightring::replay::{Callback, Replayed, Replayer};
use flightring::{EventRecord, Metadata, Severity, Timestamp};

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Each event's actual offset from the replay's start against its scheduled offset
/// (recording offset / speed): p99 of the error within 5 ms, at 1× and at 10×.
#[test]
fn timing_fidelity_at_1x_and_10x() {
    // 1×: 300 events over 3 s, irregular gaps (1–19 ms). 10×: 300 events over 10 s → 1 s.
    for (speed, step_ms) in [(1.0f64, 10u64), (10.0, 33)] {
        let t0 = Timestamp::now();
        let mut off = 0u64;
        let events: Vec<EventRecord> = (0..300u64)
            .map(|i| {
                off += (i * 7919) % (2 * step_ms - 1) + 1;
                EventRecord {
                    id: i + 1,
                    timestamp: t0.saturating_add(Duration::from_millis(off)),
                    severity: Severity::Info,
                    kind: "tick".into(),
                    peer: None,
                    message: String::new(),
                    metadata: Metadata::default(),
                    truncated: false,
                }
            })
            .collect();
        let r = Recording::from_events("timing", events);
        let first = r.offset(&r.events[0]);
        let mut errors = Vec::with_capacity(300);
        let start = Instant::now();
        let report = Replayer::new(r.clone())
            .speed(speed)
            .unwrap()
            .run(Callback(|ev: &Replayed| {
                let actual = start.elapsed().as_secs_f64();
                let scheduled = (ev.offset - first).as_secs_f64() / speed;
                errors.push((actual - scheduled).abs() * 1000.0);
            }))
            .unwrap();
        assert_eq!(errors.len(), 300);
        let span = (r.offset(r.events.last().unwrap()) - first).as_secs_f64() / speed;
        let p50 = percentile(&mut errors, 0.50);
        let p99 = percentile(&mut errors, 0.99);
        let max = percentile(&mut errors, 1.0);
        println!(
            "timing fidelity at {speed}x: 300 events over {span:.2} s; |actual - scheduled| p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms; replayer's own lateness p99 {:.3} ms",
            report.late_p99_ms
        );
        assert!(p99 <= 5.0, "p99 timing error {p99:.3} ms at {speed}x");
    }
}
