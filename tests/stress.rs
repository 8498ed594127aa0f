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

/// Checksummed events of every size from an empty message to `max_event_bytes`, two
/// writers sharing one shard (so records of every cell count wrap, lap and overwrite
/// each other) and a reader copying the ring and following it with a cursor: no event
/// is torn or cut, and the accounting identity holds at quiescence.
#[test]
fn events_of_every_size_up_to_max_event_bytes() {
    const MAX: usize = 2048;
    // What an event takes beyond its message: header, kind, and the three fields.
    const OVERHEAD: usize = 16 + 3 * 20;
    let rec = Recorder::builder()
        .capacity_bytes(64 * 1024)
        .shards(1)
        .max_event_bytes(MAX)
        .build()
        .unwrap();
    assert_eq!(rec.config().max_event_bytes, MAX);
    let text: String = (0..MAX * 2)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let per_writer = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let writers = 2u64;
    let stop = AtomicBool::new(false);
    let (mut sizes_seen, mut followed) = (std::collections::BTreeSet::new(), 0u64);
    std::thread::scope(|s| {
        for w in 0..writers {
            let rec = rec.clone();
            let text = &text;
            s.spawn(move || {
                for i in 0..per_writer {
                    let len = (i as usize * 13 + w as usize * 5) % (MAX - OVERHEAD + 1);
                    let at = (i as usize) % MAX;
                    let msg = &text[at..at + len];
                    let kind = KINDS[(i % 4) as usize];
                    let check = checksum(w, i, kind, "", msg);
                    rec.record(
                        &Event::new(kind, Severity::ALL[(i % 5) as usize])
                            .message(msg)
                            .field("writer", w)
                            .field("seq", i)
                            .field("check", check),
                    );
                }
            });
        }
        let stop = &stop;
        let (rec2, sizes_seen, followed) = (rec.clone(), &mut sizes_seen, &mut followed);
        s.spawn(move || {
            let mut cursor = rec2.cursor_from_oldest();
            loop {
                let done = stop.load(Ordering::Acquire);
                for e in rec2.snapshot().iter() {
                    validate(&e);
                    sizes_seen.insert(e.message.len() / 56);
                }
                for e in cursor.poll(10_000).events {
                    validate(&e);
                    *followed += 1;
                }
                if done {
                    break;
                }
            }
        });
        let attempts = writers * per_writer;
        while rec.stats().total_recorded + rec.stats().dropped < attempts {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Release);
    });
    assert!(followed > 0 && sizes_seen.len() > 30, "{sizes_seen:?}");
    let s = rec.stats();
    let snap = rec.snapshot();
    for e in snap.iter() {
        validate(&e);
    }
    assert_eq!(s.truncated, 0, "no event is above max_event_bytes");
    assert_eq!(s.total_recorded + s.dropped, writers * per_writer, "{s:?}");
    assert_eq!(s.retained, snap.len() as u64, "{s:?}");
    assert_eq!(
        s.total_recorded,
        s.retained + s.overwritten + s.expired + s.cleared,
        "{s:?}"
    );
    assert!(s.mean_event_bytes > 64.0, "{s:?}");
}
