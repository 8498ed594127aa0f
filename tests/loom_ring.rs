//! Loom model tests of slot claiming in a shard shared by two writers (`src/ring.rs`),
//! with wrap-around on a two-slot shard, run with loom's atomics and fences.
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" \
//!     cargo test --release --test loom_slot --test loom_ring
//! ```
//!
//! After both writers finish: no two events got the same position; every attempt either
//! wrote or was counted as dropped; every slot that reads as complete holds, whole, the
//! payload of the write that got its position; and `fresh + reused + overwritten ==
//! writes`, where `overwritten` counts the writes that returned `Claimed::Overwrote`.
//! Variants with a third thread add a reader racing both writers.
//!
//! The models see events dropped even with two writers and two slots: a writer whose
//! slot a writer one lap behind (or ahead) still holds drops its event, and under the
//! C11 model the claim's Relaxed first load may also show it a stale WRITING value.
//! Either way the drop is counted, which is what is checked.
#![cfg(loom)]

use std::sync::Arc;

use loom::thread;

use flightring::internals::{Claimed, Shard};

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{model, Seen};

/// The word writer `thread` stores (twice) for its `i`-th event; never 0 and unique.
fn tag(thread: u64, i: u64) -> u64 {
    0xF1_0000 + (thread << 8) + i
}

fn payload(w: u64) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[..8].copy_from_slice(&w.to_le_bytes());
    p[8..].copy_from_slice(&w.to_le_bytes());
    p
}

/// One write's result: the tag it wrote and what `Shard::write` returned.
type Outcome = (u64, Option<(u64, Claimed)>);

fn writer(shard: &Shard, thread: u64, events: u64) -> Vec<Outcome> {
    (0..events)
        .map(|i| {
            let t = tag(thread, i);
            (t, shard.write(&payload(t)))
        })
        .collect()
}

/// Checks the shard after all writers finished, and notes what the execution showed.
fn check(shard: &Shard, outcomes: &[Outcome], seen: &Seen) {
    let attempts = outcomes.len() as u64;
    let written: Vec<(u64, u64, Claimed)> = outcomes
        .iter()
        .filter_map(|&(t, r)| r.map(|(pos, c)| (t, pos, c)))
        .collect();
    let writes = written.len() as u64;

    // No two events got the same position.
    let mut positions: Vec<u64> = written.iter().map(|w| w.1).collect();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(
        positions.len() as u64,
        writes,
        "duplicate positions: {outcomes:?}"
    );

    // Every attempt wrote or was counted as dropped.
    assert_eq!(shard.dropped() + writes, attempts, "{outcomes:?}");

    // fresh + reused + overwritten == writes. Nothing is killed here, so nothing is
    // reused, and the writes that found a never-written slot are the fresh ones.
    let overwritten = written.iter().filter(|w| w.2 == Claimed::Overwrote).count() as u64;
    let fresh = written.iter().filter(|w| w.2 == Claimed::Fresh).count() as u64;
    assert_eq!(shard.fresh(), fresh, "{outcomes:?}");
    assert_eq!(shard.reused(), 0, "{outcomes:?}");
    assert_eq!(
        shard.fresh() + shard.reused() + overwritten,
        writes,
        "{outcomes:?}"
    );

    // Every complete slot is whole and holds the write that got its position, which
    // is the newest position written to that slot.
    let mut retained = 0u64;
    for idx in 0..shard.slots() {
        let mut out = [0u64; 2];
        let Some(pos) = shard.read(idx, &mut out) else {
            continue;
        };
        retained += 1;
        assert_eq!(pos as usize % shard.slots(), idx);
        assert_eq!(out[0], out[1], "torn slot {idx}: {out:x?}");
        let (t, _, _) = written
            .iter()
            .find(|w| w.1 == pos)
            .unwrap_or_else(|| panic!("slot {idx} holds pos {pos} that no write got"));
        assert_eq!(out[0], *t, "slot {idx} (pos {pos}) holds another event");
        let newest = written
            .iter()
            .filter(|w| w.1 as usize % shard.slots() == idx)
            .map(|w| w.1)
            .max();
        assert_eq!(Some(pos), newest, "slot {idx}: {outcomes:?}");
    }
    // At quiescence every written slot is complete: retained = writes − overwritten.
    assert_eq!(retained, writes - overwritten, "{outcomes:?}");

    if let Some(&(t, _, _)) = written.iter().find(|w| w.1 == 0) {
        seen.add(format!("writer {} got pos 0", t >> 8 & 0xff));
    }
    let last = positions.last().copied().unwrap_or(0);
    if last + 1 > writes {
        seen.add("hole");
    }
    if overwritten > 0 {
        seen.add("overwrote");
    }
    if writes < attempts {
        seen.add("dropped");
    }
}

/// Two writers share a two-slot shard: writer 1 (spawned) writes `a` events, writer 2
/// (the model's main thread) writes `b`. With `reader`, a third thread copies both
/// slots while they write and checks that every complete copy is whole.
fn two_writers(a: u64, b: u64, reader: bool) -> Seen {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(2, 3));
        assert_eq!((shard.slots(), shard.payload_words()), (2, 2));

        let w1 = {
            let shard = shard.clone();
            thread::spawn(move || writer(&shard, 1, a))
        };
        let r = reader.then(|| {
            let shard = shard.clone();
            let s = s.clone();
            thread::spawn(move || {
                for idx in 0..2 {
                    let mut out = [0u64; 2];
                    match shard.read(idx, &mut out) {
                        Some(pos) => {
                            assert_eq!(pos as usize % 2, idx);
                            assert_eq!(out[0], out[1], "torn copy of pos {pos}: {out:x?}");
                            assert_ne!(out[0], 0, "copy of pos {pos} before its payload");
                            s.add("read whole");
                        }
                        None if out.iter().any(|&w| w != 0) => s.add("read rejected"),
                        None => {}
                    }
                }
            })
        });
        let mut outcomes = writer(&shard, 2, b);
        outcomes.extend(w1.join().unwrap());
        if let Some(r) = r {
            r.join().unwrap();
        }
        check(&shard, &outcomes, &s);
    });
    seen
}

#[test]
fn one_event_each() {
    two_writers(1, 1, false).assert_saw(&["writer 1 got pos 0", "writer 2 got pos 0"]);
}

#[test]
fn two_and_one_events_wrap_around() {
    two_writers(2, 1, false).assert_saw(&[
        "writer 1 got pos 0",
        "writer 2 got pos 0",
        "overwrote",
        "hole",
    ]);
}

#[test]
fn two_events_each_wrap_around() {
    two_writers(2, 2, false).assert_saw(&[
        "writer 1 got pos 0",
        "writer 2 got pos 0",
        "overwrote",
        "hole",
    ]);
}

#[test]
fn one_event_each_with_a_reader() {
    two_writers(1, 1, true).assert_saw(&["writer 1 got pos 0", "writer 2 got pos 0", "read whole"]);
}

#[test]
fn two_and_one_events_with_a_reader() {
    two_writers(2, 1, true).assert_saw(&[
        "writer 1 got pos 0",
        "writer 2 got pos 0",
        "overwrote",
        "read whole",
        "read rejected",
    ]);
}
