//! Recording allocates nothing in steady state: a counting global allocator (wrapping
//! `System`) counts the allocations the *test's own thread* makes while it records
//! 10 000 events through each hot-path entry point, after a warm-up that interns the
//! kinds, creates the histograms and inserts the peer. The recorder's sweeper thread
//! may allocate on its own thread; that is not counted.

use std::fmt;
use std::time::Duration;

use flightring::{Direction, Event, Recorder, Severity};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in;

const N: usize = 10_000;
const PEER: &str = "12D3KooWHk9peer00042";
const MESSAGE: &str = "received block 812345 from peer in 850us";
const ADDRESS: &str = "192.168.1.100:8333";

fn typical(kind: &str) -> Event<'_> {
    Event::new(kind, Severity::Info)
        .peer(PEER)
        .message(MESSAGE)
        .field("address", ADDRESS)
        .field("size", 1024u64)
}

fn recorder() -> Recorder {
    // Small, so the ring wraps many times during the counted loops.
    Recorder::builder()
        .capacity(1024)
        .build()
        .expect("valid config")
}

#[derive(Debug)]
struct Root;
impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection reset by peer")
    }
}
impl std::error::Error for Root {}

#[derive(Debug)]
struct Outer(Root);
impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "handshake with {PEER} failed after {} ms", 1500)
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn record_by_name_does_not_allocate() {
    let rec = recorder();
    rec.record(&typical("block_received"));
    let n = allocations_in(|| {
        for i in 0..N {
            let sev = if i % 7 == 0 {
                Severity::Warning
            } else {
                Severity::Info
            };
            rec.record(
                &Event::new("block_received", sev)
                    .peer(PEER)
                    .message(MESSAGE)
                    .field("address", ADDRESS)
                    .field("size", i as u64),
            );
        }
    });
    assert_eq!(n, 0, "record() allocated {n} times for {N} events");
    assert_eq!(rec.stats().total_recorded, N as u64 + 1);
    assert_eq!(rec.stats().truncated, 0, "the typical event fits the slot");
}

#[test]
fn record_through_a_cached_kind_does_not_allocate() {
    let rec = recorder();
    let kind = rec.kind("block_received");
    rec.record(&Event::with_kind(&kind, Severity::Info));
    let n = allocations_in(|| {
        for _ in 0..N {
            rec.record(
                &Event::with_kind(&kind, Severity::Info)
                    .peer(PEER)
                    .message(MESSAGE)
                    .field("address", ADDRESS)
                    .field("size", 1024u64),
            );
        }
    });
    assert_eq!(n, 0, "record(with_kind) allocated {n} times for {N} events");
}

#[test]
fn rejected_events_do_not_allocate() {
    let rec = recorder();
    rec.record(&typical("block_received"));
    rec.set_min_severity(Severity::Warning);
    let below = allocations_in(|| {
        for _ in 0..N {
            rec.record(&typical("block_received"));
        }
    });
    rec.set_enabled(false);
    let disabled = allocations_in(|| {
        for _ in 0..N {
            rec.record(&typical("block_received"));
            rec.observe("rpc.getReserves", Duration::from_micros(850));
        }
    });
    assert_eq!((below, disabled), (0, 0));
}

#[test]
fn message_does_not_allocate() {
    let rec = recorder();
    rec.message(PEER, "version", Direction::Outbound, 150);
    rec.message(PEER, "inv", Direction::Inbound, 4000);
    let n = allocations_in(|| {
        for i in 0..N {
            let ty = if i % 2 == 0 { "version" } else { "inv" };
            rec.message(PEER, ty, Direction::Inbound, i as u64);
        }
    });
    assert_eq!(n, 0, "message() allocated {n} times for {N} events");
}

#[test]
fn observe_does_not_allocate() {
    let rec = recorder();
    rec.observe("rpc.getReserves", Duration::from_micros(1));
    rec.observe_value("queue.depth", 1);
    let h = rec.histogram("rpc.getBlock").expect("room for a histogram");
    let n = allocations_in(|| {
        for i in 0..N as u64 {
            rec.observe("rpc.getReserves", Duration::from_nanos(500 + i * 97));
            rec.observe_value("queue.depth", i);
            h.observe(Duration::from_nanos(i * 1013));
            h.record(u64::MAX); // out of range: clamped and counted
        }
    });
    assert_eq!(n, 0, "observe() allocated {n} times for {} calls", 4 * N);
}

#[test]
fn error_does_not_allocate() {
    let rec = recorder();
    let err = Outer(Root);
    // Warm-up: each context's counter (`errors.<context>`) is made on first use.
    rec.error(PEER, &err, "handshake");
    rec.error("", &Root, "dial");
    let n = allocations_in(|| {
        for _ in 0..N {
            rec.error(PEER, &err, "handshake");
            rec.error("", &Root, "dial");
        }
    });
    assert_eq!(n, 0, "error() allocated {n} times for {} calls", 2 * N);
    let newest = rec.query(&flightring::Query::new().limit(2));
    // The chained message is cut to fit the 128-byte slot; the short one is whole.
    assert!(newest
        .iter()
        .any(|e| e.message == "connection reset by peer"));
    assert!(newest
        .iter()
        .any(|e| e.message.starts_with("handshake with") && e.truncated));
}

#[test]
fn peer_connect_and_disconnect_of_a_known_peer_do_not_allocate() {
    let rec = recorder();
    rec.peer_connected(PEER, ADDRESS);
    rec.peer_disconnected(PEER, ADDRESS, "timeout");
    let n = allocations_in(|| {
        for _ in 0..N {
            rec.peer_connected(PEER, ADDRESS);
            rec.peer_disconnected(PEER, ADDRESS, "timeout");
        }
    });
    assert_eq!(
        n,
        0,
        "peer_connected/peer_disconnected of a known peer allocated {n} times for {} calls",
        2 * N
    );
    assert!(!rec.is_peer_connected(PEER));
}

#[test]
fn the_counter_sees_this_threads_allocations_only() {
    let n = allocations_in(|| {
        std::hint::black_box(vec![1u8; 64]);
        std::hint::black_box(String::from("x")).push_str("longer than one byte");
        // Another thread's allocations are not counted.
        std::thread::scope(|s| {
            s.spawn(|| std::hint::black_box(vec![0u64; 1000]));
        });
    });
    // 2 from the vec and the string (+1 realloc); the scoped spawn itself allocates on
    // this thread (thread handle, packet), so only a lower bound is exact.
    assert!(n >= 3, "counted {n}");
    let rec = recorder();
    let n = allocations_in(|| {
        std::hint::black_box(rec.snapshot());
    });
    assert!(n > 0, "a snapshot allocates, and is counted ({n})");
}
