//! Writers and readers at full speed: every event any reader sees must validate against
//! the checksum of its own fields, counters never go backwards, and at quiescence
//! `recorded = retained + overwritten + expired + cleared` and
//! `attempts = recorded + dropped`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use flightring::{Event, EventRecord, Query, Recorder, Severity, Value};

const KINDS: [&str; 4] = ["peer_connected", "message", "rpc", "decision"];

fn checksum(writer: u64, seq: u64, kind: &str, peer: &str, msg: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in writer
        .to_le_bytes()
        .iter()
        .chain(&seq.to_le_bytes())
        .chain(kind.as_bytes())
        .chain(peer.as_bytes())
        .chain(msg.as_bytes())
    {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn validate(e: &EventRecord) {
    let get = |k: &str| match e.metadata.get(k) {
        Some(Value::U64(v)) => *v,
        other => panic!("event {e:?}: field {k} is {other:?}"),
    };
    let (w, s, c) = (get("writer"), get("seq"), get("check"));
    assert_eq!(
        c,
        checksum(w, s, &e.kind, e.peer.as_deref().unwrap_or(""), &e.message),
        "torn event: {e:?}"
    );
    assert_eq!(e.severity, Severity::ALL[(s % 5) as usize], "{e:?}");
    assert!(!e.truncated);
}

fn run(capacity: usize, writers: u64, shards: usize, per_writer: u64, clear_every: Option<u64>) {
    run_with(capacity, 128, 2, writers, shards, per_writer, clear_every);
}

fn run_with(
    capacity: usize,
    slot_bytes: usize,
    readers: usize,
    writers: u64,
    shards: usize,
    per_writer: u64,
    clear_every: Option<u64>,
) {
    // Small rings make writers lap readers often, which is where tearing would show.
    let rec = Recorder::builder()
        .capacity(capacity)
        .shards(shards)
        .slot_bytes(slot_bytes)
        .build()
        .unwrap();
    // Big slots carry long messages: long copies, so more chances to overlap a write.
    let pad = "p".repeat(slot_bytes.saturating_sub(160));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    std::thread::scope(|s| {
        for w in 0..writers {
            let rec = rec.clone();
            let pad = &pad;
            s.spawn(move || {
                let peer = format!("writer-{w}-peer");
                let mut msg = String::new();
                for i in 0..per_writer {
                    use std::fmt::Write;
                    msg.clear();
                    let _ = write!(msg, "message {i} from {w} {pad}");
                    let kind = KINDS[(i % 4) as usize];
                    let check = checksum(w, i, kind, &peer, &msg);
                    rec.record(
                        &Event::new(kind, Severity::ALL[(i % 5) as usize])
                            .peer(&peer)
                            .message(&msg)
                            .field("writer", w)
                            .field("seq", i)
                            .field("check", check),
                    );
                    if clear_every.is_some_and(|n| i % n == n - 1) {
                        rec.clear();
                    }
                }
            });
        }
        for reader in 0..readers {
            let rec = rec.clone();
            let stop = Arc::clone(&stop);
            let seen = Arc::clone(&seen);
            s.spawn(move || {
                let mut last = rec.stats();
                while !stop.load(Ordering::Relaxed) {
                    let events = if reader == 0 {
                        rec.snapshot().events()
                    } else {
                        rec.query(&Query::new().limit(50).min_severity(Severity::Warning))
                    };
                    for e in &events {
                        validate(e);
                    }
                    if reader == 0 {
                        for w in events.windows(2) {
                            assert!(
                                w[0].timestamp <= w[1].timestamp && w[0].id != w[1].id,
                                "snapshot in recording order: {:?} then {:?}",
                                (w[0].timestamp, w[0].id),
                                (w[1].timestamp, w[1].id)
                            );
                        }
                    }
                    seen.fetch_add(events.len() as u64, Ordering::Relaxed);
                    let now = rec.stats();
                    assert!(now.total_recorded >= last.total_recorded);
                    assert!(now.overwritten >= last.overwritten);
                    assert!(now.dropped >= last.dropped);
                    assert!(now.cleared >= last.cleared);
                    last = now;
                }
            });
        }
        // Stop the readers once every writer is done.
        let rec2 = rec.clone();
        let stop2 = Arc::clone(&stop);
        s.spawn(move || {
            let attempts = writers * per_writer;
            loop {
                let st = rec2.stats();
                if st.total_recorded + st.dropped >= attempts {
                    break;
                }
                std::thread::yield_now();
            }
            stop2.store(true, Ordering::Relaxed);
        });
    });
    assert!(
        seen.load(Ordering::Relaxed) > 0,
        "the readers read something"
    );
    let s = rec.stats();
    let snap = rec.snapshot();
    for e in snap.iter() {
        validate(&e);
    }
    assert_eq!(s.total_recorded + s.dropped, writers * per_writer, "{s:?}");
    assert_eq!(s.retained, snap.len() as u64, "{s:?}");
    assert_eq!(
        s.total_recorded,
        s.retained + s.overwritten + s.expired + s.cleared,
        "{s:?}"
    );
    assert_eq!(s.by_severity.values().sum::<u64>(), s.total_recorded);
    assert_eq!(s.by_kind.values().sum::<u64>(), s.total_recorded);
}

fn per_writer() -> u64 {
    if cfg!(debug_assertions) {
        60_000
    } else {
        400_000
    }
}

#[test]
fn one_writer_one_reader_on_a_tiny_ring_of_big_slots() {
    run_with(16, 1024, 1, 1, 1, per_writer(), None);
}

#[test]
fn writers_on_their_own_shards_with_readers() {
    run(256, 2, 2, per_writer(), None);
}

#[test]
fn writers_sharing_one_shard_with_readers() {
    run(64, 3, 1, per_writer(), None);
}

#[test]
fn writers_with_clears_and_more_writers_than_shards() {
    run(512, 4, 2, per_writer() / 2, Some(10_000));
}
