//! Loom model tests of the per-cell seqlock protocol (`src/core/slot.rs`), run through
//! the real shard code (`src/core/ring.rs`) with loom's atomics and fences
//! (`src/sync.rs`).
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" \
//!     cargo test --release --test loom_slot --test loom_ring
//! ```
//!
//! What is checked:
//!
//! * a reader racing a writer of multi-cell records never gets a torn copy: whenever
//!   `read_record` says it copied the event at `pos`, every payload word of every cell
//!   is the one the writer of `pos` stored; the same for a follower reading a position
//!   by number with `read_at`;
//! * a writer racing the sweeper (`kill_if`) accounts for the event it replaces exactly
//!   once — as overwritten by the writer or as killed by the sweeper, never both and
//!   never neither — and a successful kill always judged the event it killed.
//!
//! Each test also asserts that the races it is about were explored (a torn copy
//! rejected, each fate of the replaced event), so it cannot pass vacuously.
#![cfg(loom)]

use std::sync::Arc;

use loom::thread;

use flightring::internals::{ReadAt, Shard};

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{model, Seen};

/// The payload word the writer of position `pos` stores in every word. Never 0, so a
/// word a writer has not stored yet cannot pass for one it has.
fn word(pos: u64) -> u64 {
    0x5107_0000 + pos
}

/// The payload for a record at `pos` of `words` words.
fn payload(pos: u64, words: usize) -> Vec<u8> {
    (0..words).flat_map(|_| word(pos).to_le_bytes()).collect()
}

/// Checks one copy a reader got — whole, and from the writer of the position it names —
/// and notes what kind of copy it was.
fn check_copy(got: Option<(u64, usize)>, out: &[u64], seen: &Seen) {
    match got {
        Some((pos, k)) => {
            assert_eq!(out.len(), 2 * k, "{out:x?}");
            assert!(
                out.iter().all(|&w| w == word(pos)),
                "torn copy of pos {pos}: {out:x?}"
            );
            seen.add(format!("pos {pos}"));
        }
        None => {
            assert!(out.is_empty());
            seen.add("rejected or empty");
        }
    }
}

/// One shard of 2 cells of 2 words; the writer writes a 2-cell record at position 0,
/// then (with `second`) one at position 2, overwriting it, while a reader copies the
/// record at cell 0.
fn reader_vs_writer(second: bool) -> Seen {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(2, 2, 2));
        let r = {
            let shard = shard.clone();
            let s = s.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                let got = shard.read_record(0, &mut out, |_| true);
                check_copy(got, &out, &s);
            })
        };
        assert_eq!(shard.write(&payload(0, 4)), Some((0, 0)));
        if second {
            assert_eq!(shard.write(&payload(2, 4)), Some((2, 1)));
        }
        r.join().unwrap();
    });
    seen
}

#[test]
fn reader_never_sees_a_torn_multi_cell_record() {
    reader_vs_writer(false).assert_saw(&["pos 0", "rejected or empty"]);
}

#[test]
fn reader_never_sees_a_torn_record_when_it_is_overwritten() {
    reader_vs_writer(true).assert_saw(&["pos 0", "pos 2", "rejected or empty"]);
}

#[test]
fn follower_reads_a_position_whole_or_not_at_all() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(2, 2, 2));
        let r = {
            let shard = shard.clone();
            let s = s.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                match shard.read_at(0, &mut out) {
                    ReadAt::Ready(k) => {
                        assert_eq!(k, 2);
                        assert!(out.iter().all(|&w| w == word(0)), "torn: {out:x?}");
                        s.add("ready");
                    }
                    ReadAt::Gone => s.add("gone"),
                    ReadAt::Pending => s.add("pending"),
                    other => panic!("{other:?}"),
                }
            })
        };
        shard.write(&payload(0, 4)).unwrap();
        shard.write(&payload(2, 4)).unwrap();
        r.join().unwrap();
    });
    seen.assert_saw(&["ready", "gone", "pending"]);
}

/// A writer overwrites the 2-cell event at position 0 with one at 2 while the sweeper
/// kills the event in cell 0 if `expired(its timestamp word)`: the replaced event's
/// fate is counted exactly once.
fn writer_vs_sweeper(expired: fn(u64) -> bool, seen: Seen) {
    model(move || {
        let shard = Arc::new(Shard::new(2, 2, 2));
        shard.write(&payload(0, 4)).unwrap();
        let sweeper = {
            let shard = shard.clone();
            thread::spawn(move || {
                let mut judged = None;
                let killed = shard.kill_if(0, |w0| {
                    judged = Some(w0);
                    expired(w0)
                });
                if let Some(pos) = killed {
                    assert_eq!(judged, Some(word(pos)), "a kill judged the event it killed");
                }
                killed
            })
        };
        let (pos, heads) = shard
            .write(&payload(2, 4))
            .expect("one writer is never lapped");
        assert_eq!(pos, 2);
        let killed = sweeper.join().unwrap();
        match (killed, heads) {
            (Some(0), 0) => seen.add("killed, then reused"),
            (None, 1) => seen.add("overwritten"),
            (Some(2), 0) => unreachable!("the new event was written over a live head"),
            (Some(2), 1) => seen.add("overwrote, then killed the new one"),
            other => panic!("counted twice or never: {other:?}"),
        }
        // The identity with the kill counted: 2 recorded = retained + overwritten + killed.
        let retained = u64::from(shard.ready_head(0).is_some());
        let overwritten = 2 + shard.overwrite_extra() - shard.overwrite_missing();
        assert_eq!(2, retained + overwritten + u64::from(killed.is_some()));
    });
}

#[test]
fn writer_vs_sweeper_expiring_the_old_event() {
    let seen = Seen::default();
    writer_vs_sweeper(|w0| w0 == word(0), seen.clone());
    seen.assert_saw(&["killed, then reused", "overwritten"]);
}

#[test]
fn writer_vs_sweeper_killing_any_event() {
    let seen = Seen::default();
    writer_vs_sweeper(|_| true, seen.clone());
    seen.assert_saw(&[
        "killed, then reused",
        "overwritten",
        "overwrote, then killed the new one",
    ]);
}
