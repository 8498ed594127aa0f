//! A cursor following live writers sees every event at most once, in time order within
//! each batch, and what it did not see it counts: `seen + lost = recorded + dropped`
//! (every position handed out is either returned or counted).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flightring::{Event, Recorder, Severity};

fn follow(capacity: usize, shards: usize, writers: u64, per_writer: u64) {
    let rec = Recorder::builder()
        .capacity(capacity)
        .shards(shards)
        .build()
        .unwrap();
    let mut cursor = rec.cursor();
    let done = Arc::new(AtomicBool::new(false));
    let mut seen = HashSet::new();
    let mut lost = 0;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..writers)
            .map(|w| {
                let rec = rec.clone();
                s.spawn(move || {
                    for i in 0..per_writer {
                        rec.record(&Event::new("k", Severity::Info).field("w", w).field("i", i));
                    }
                })
            })
            .collect();
        let done2 = Arc::clone(&done);
        s.spawn(move || {
            for h in hs {
                h.join().unwrap();
            }
            done2.store(true, Ordering::Release);
        });
        loop {
            let finished = done.load(Ordering::Acquire);
            let batch = cursor.poll(4096);
            lost += batch.lost;
            for w in batch.events.windows(2) {
                assert!((w[0].timestamp, w[0].id) < (w[1].timestamp, w[1].id));
            }
            for e in batch.events {
                let key = (
                    e.metadata.get("w").unwrap().as_u64().unwrap(),
                    e.metadata.get("i").unwrap().as_u64().unwrap(),
                );
                assert!(seen.insert(key), "event {key:?} returned twice");
            }
            if finished {
                break;
            }
        }
        // Drain what is left.
        loop {
            let batch = cursor.poll(4096);
            lost += batch.lost;
            if batch.events.is_empty() && batch.lost == 0 {
                break;
            }
            for e in batch.events {
                let key = (
                    e.metadata.get("w").unwrap().as_u64().unwrap(),
                    e.metadata.get("i").unwrap().as_u64().unwrap(),
                );
                assert!(seen.insert(key), "event {key:?} returned twice");
            }
        }
    });
    let s = rec.stats();
    assert_eq!(s.total_recorded + s.dropped, writers * per_writer);
    assert_eq!(
        seen.len() as u64 + lost,
        s.total_recorded + s.dropped,
        "seen {} lost {lost} {s:?}",
        seen.len()
    );
    assert_eq!(lost, cursor.lost());
}

#[test]
fn a_fast_follower_sees_everything_of_a_large_ring() {
    follow(1 << 16, 2, 2, 20_000);
}

#[test]
fn a_slow_follower_on_a_small_ring_counts_what_it_missed() {
    follow(64, 2, 3, 50_000);
}

#[test]
fn from_oldest_returns_the_retained_events_first() {
    let rec = Recorder::builder().capacity(128).shards(2).build().unwrap();
    for i in 0..50u64 {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    let mut c = rec.cursor_from_oldest();
    let b = c.poll(1000);
    assert_eq!(b.events.len(), 50);
    assert_eq!(b.lost, 0);
    assert_eq!(b.events, rec.snapshot().events());
    rec.clear();
    rec.record(&Event::new("k", Severity::Info).field("i", 50u64));
    let b = c.poll(1000);
    assert_eq!(b.events.len(), 1, "cleared events are skipped, not lost");
    assert_eq!(b.lost, 0);
}
