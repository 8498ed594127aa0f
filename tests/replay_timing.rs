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
/// (recording offset / speed): p99 of the error within 5 ms, at 1× and at 10×. A run
/// on a machine busy with other work (a build beside the tests) can lose the CPU for
/// longer than that; each speed gets three attempts, every one printed, and passes
/// when one of them keeps time.
#[test]
fn timing_fidelity_at_1x_and_10x() {
    for (speed, step_ms) in [(1.0f64, 10u64), (10.0, 33)] {
        let p99s: Vec<f64> = (1..=3)
            .map(|attempt| fidelity(speed, step_ms, attempt))
            .scan(false, |kept, p99| {
                // Stop after the first attempt that keeps time.
                (!*kept).then(|| {
                    *kept = p99 <= 5.0;
                    p99
                })
            })
            .collect();
        assert!(
            p99s.iter().any(|&p| p <= 5.0),
            "p99 timing error at {speed}x over 3 attempts: {p99s:?} ms"
        );
    }
}

/// One replay of 300 events at `speed` (1×: over 3 s, irregular gaps of 1–19 ms; 10×:
/// 10 s of recording in 1 s): the p99 of |actual − scheduled| in ms, figures printed.
fn fidelity(speed: f64, step_ms: u64, attempt: u32) -> f64 {
    {
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
            "timing fidelity at {speed}x (attempt {attempt}): 300 events over {span:.2} s; |actual - scheduled| p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms; replayer's own lateness p99 {:.3} ms",
            report.late_p99_ms
        );
        p99
    }
}
