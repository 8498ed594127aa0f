//! Loom model tests of the seqlock slot protocol (`src/slot.rs`), run through the real
//! shard code with loom's atomics and fences (`src/sync.rs`).
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" \
//!     cargo test --release --test loom_slot --test loom_ring
//! ```
//!
//! What is checked:
//!
//! * a reader racing a writer never gets a torn copy: whenever `read` says it copied the
//!   event at `pos`, both payload words are the ones the writer of `pos` stored; the
//!   same for a follower reading a position by number with `read_at`;
//! * a writer racing the sweeper (`kill_if`) accounts for the event it replaces exactly
//!   once — as overwritten by the writer or as killed by the sweeper, never both and
//!   never neither — and a successful kill always judged the event it killed.
//!
//! Each test also asserts that the races it is about were explored (a torn copy
//! rejected, each fate of the replaced event), so it cannot pass vacuously. Mutants of
//! `src/slot.rs` these tests (with `loom_ring.rs`) catch: no Release fence after the
//! claim, no Acquire fence in `read` or `read_at`, a Relaxed first load in `read`, a
//! Relaxed publish, a Relaxed claim CAS, a claim that ignores a WRITING slot, a kill by
//! store instead of CAS, a reuse reported as an overwrite. One they cannot: dropping
//! the Acquire fence in `kill_if` (loom's read-modify-writes always read the newest
//! value in execution order, so the reordering that fence forbids never happens under
//! loom).
#![cfg(loom)]

use std::sync::Arc;

use loom::thread;

use flightring::internals::{Claimed, ReadAt, Shard};

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{model, Seen};

/// The payload word the writer of position `pos` stores (twice). Never 0, so a word a
/// writer has not stored yet cannot pass for one it has.
fn word(pos: u64) -> u64 {
    0x5107_0000 + pos
}

/// The 16-byte payload for `pos`: two identical little-endian words.
fn payload(pos: u64) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[..8].copy_from_slice(&word(pos).to_le_bytes());
    p[8..].copy_from_slice(&word(pos).to_le_bytes());
    p
}

/// Checks one copy the reader got — whole, and from the writer of the position it
/// names — and notes what kind of copy it was.
fn check_copy(got: Option<u64>, out: &[u64; 2], seen: &Seen) {
    match got {
        Some(pos) => {
            assert_eq!(out[0], out[1], "torn copy of pos {pos}: {out:x?}");
            assert_eq!(out[0], word(pos), "copy of pos {pos} holds another event");
            seen.add(format!("pos {pos}"));
        }
        // Copied, then found the slot had changed: the validation at work.
        None if out.iter().any(|&w| w != 0) => seen.add("rejected"),
        None => seen.add("skipped"),
    }
}

/// The reader thread: copies slot `idx` twice, checking each copy.
fn reader(shard: Arc<Shard>, idx: usize, seen: Seen) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut last = None;
        for _ in 0..2 {
            let mut out = [0u64; 2];
            let got = shard.read(idx, &mut out);
            check_copy(got, &out, &seen);
            // Positions only move forward in a slot.
            assert!(got >= last || got.is_none(), "{last:?} then {got:?}");
            last = got.or(last);
        }
    })
}

// The writer runs on the model's main thread and the racing thread is spawned: loom
// explores a race when the later access of the first execution finds the earlier one,
// so the writer's stores must come first in it.

/// (a) One writer writes two events into a one-slot shard (the second overwrites the
/// first) while a reader copies the slot twice.
#[test]
fn reader_never_sees_a_torn_event() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(1, 3));
        assert_eq!((shard.slots(), shard.payload_words()), (1, 2));
        let r = reader(shard.clone(), 0, s.clone());

        assert_eq!(shard.write(&payload(0)), Some((0, Claimed::Fresh)));
        assert_eq!(shard.write(&payload(1)), Some((1, Claimed::Overwrote)));

        r.join().unwrap();
        let mut out = [0u64; 2];
        let got = shard.read(0, &mut out);
        assert_eq!(got, Some(1));
        check_copy(got, &out, &s);
    });
    seen.assert_saw(&["skipped", "rejected", "pos 0", "pos 1"]);
}

/// (a') The same on a two-slot shard with a wrap-around: three events, the third
/// overwriting the first in slot 0, while a reader copies slot 0 twice.
#[test]
fn reader_never_sees_a_torn_event_after_wrap_around() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(2, 3));
        let r = reader(shard.clone(), 0, s.clone());

        assert_eq!(shard.write(&payload(0)), Some((0, Claimed::Fresh)));
        assert_eq!(shard.write(&payload(1)), Some((1, Claimed::Fresh)));
        assert_eq!(shard.write(&payload(2)), Some((2, Claimed::Overwrote)));

        r.join().unwrap();
        let mut out = [0u64; 2];
        for (idx, pos) in [(0usize, 2u64), (1, 1)] {
            let got = shard.read(idx, &mut out);
            assert_eq!(got, Some(pos));
            check_copy(got, &out, &s);
        }
    });
    seen.assert_saw(&["skipped", "rejected", "pos 0", "pos 2"]);
}

/// (a'') A follower (a cursor) asks for positions 0 and 1 by number with `read_at`
/// while the writer writes them into a one-slot shard: what it gets as `Ready` is
/// whole and is that position's event; nothing is killed, so nothing reads as `Dead`.
#[test]
fn follower_reads_a_position_whole_or_not_at_all() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(1, 3));
        let follower = {
            let shard = shard.clone();
            let s = s.clone();
            thread::spawn(move || {
                for pos in 0..2 {
                    let mut out = [0u64; 2];
                    let got = shard.read_at(pos, &mut out);
                    if got == ReadAt::Ready {
                        assert_eq!(out, [word(pos); 2], "read_at({pos}): {out:x?}");
                    }
                    assert_ne!(got, ReadAt::Dead, "read_at({pos}) with no kills");
                    s.add(format!("{pos} {got:?}"));
                }
            })
        };

        assert_eq!(shard.write(&payload(0)), Some((0, Claimed::Fresh)));
        assert_eq!(shard.write(&payload(1)), Some((1, Claimed::Overwrote)));

        follower.join().unwrap();
        let mut out = [0u64; 2];
        assert_eq!(shard.read_at(0, &mut out), ReadAt::Gone);
        assert_eq!(shard.read_at(1, &mut out), ReadAt::Ready);
        assert_eq!(out, [word(1); 2]);
        assert_eq!(shard.read_at(2, &mut out), ReadAt::Pending);
    });
    seen.assert_saw(&["0 Ready", "0 Gone", "0 Pending", "1 Ready", "1 Pending"]);
}

/// Writes events `1..=n` into a one-slot shard that already holds event 0, while the
/// sweeper runs `kill_if` once on the slot with `expired` as its predicate. Checks that
/// every event ends exactly one of overwritten, killed or retained; that a successful
/// kill judged the event it killed; and that the shard's counters agree.
fn writer_vs_sweeper(n: u64, expired: fn(u64) -> bool, seen: Seen) {
    model(move || {
        let shard = Arc::new(Shard::new(1, 3));
        // Event 0 is complete before the race starts.
        assert_eq!(shard.write(&payload(0)), Some((0, Claimed::Fresh)));

        let sweeper = {
            let shard = shard.clone();
            thread::spawn(move || {
                let mut judged = None;
                let killed = shard.kill_if(0, |w0| {
                    judged = Some(w0);
                    expired(w0)
                });
                (killed, judged)
            })
        };
        let claims: Vec<Claimed> = (1..=n)
            .map(|pos| {
                let (p, claimed) = shard.write(&payload(pos)).expect("never dropped");
                assert_eq!(p, pos);
                claimed
            })
            .collect();
        let (killed, judged) = sweeper.join().unwrap();

        // A successful kill judged the very event it killed.
        if let Some(pos) = killed {
            assert_eq!(judged, Some(word(pos)), "killed pos {pos} judging another");
            assert!(expired(word(pos)));
        }

        // The claim of position p + 1 tells what became of event p; the slot tells
        // what became of the last one.
        let mut overwritten = Vec::new();
        let mut killed_by_fate = Vec::new();
        let mut retained = Vec::new();
        for (p, claimed) in claims.iter().enumerate() {
            match claimed {
                Claimed::Overwrote => overwritten.push(p as u64),
                Claimed::Reused => killed_by_fate.push(p as u64),
                Claimed::Fresh => panic!("pos {} found a never-written slot", p + 1),
            }
        }
        match shard.ready_pos(0) {
            Some(last) => {
                assert_eq!(last, n);
                retained.push(n);
            }
            None => killed_by_fate.push(n),
        }

        // Exactly once: the sweeper killed exactly the event the claims say was
        // killed, and every event has exactly one fate.
        let fates = format!("overwritten {overwritten:?} killed {killed_by_fate:?}");
        assert_eq!(killed_by_fate, Vec::from_iter(killed), "{fates}");
        let mut all = [overwritten, killed_by_fate, retained].concat();
        all.sort_unstable();
        assert_eq!(all, (0..=n).collect::<Vec<_>>(), "{fates}");

        // The counters agree: one fresh claim (event 0), one reuse per kill that a
        // later writer found, nothing dropped.
        assert_eq!(shard.fresh(), 1);
        let reused = claims.iter().filter(|c| **c == Claimed::Reused).count();
        assert_eq!(shard.reused(), reused as u64);
        assert_eq!(shard.dropped(), 0);

        seen.add(match (killed, judged) {
            (Some(pos), _) => format!("killed {pos}"),
            (None, Some(_)) => "spared".to_owned(),
            (None, None) => "not ready".to_owned(),
        });
    });
}

/// (b) The sweeper expires only event 0 (its timestamp is before the cut-off); the
/// writer's next event replaces it.
#[test]
fn writer_vs_sweeper_expiring_the_old_event() {
    let seen = Seen::default();
    writer_vs_sweeper(1, |w0| w0 == word(0), seen.clone());
    seen.assert_saw(&["killed 0", "spared", "not ready"]);
}

/// (b') The sweeper kills whatever complete event it finds; the writer writes two more.
#[test]
fn writer_vs_sweeper_killing_any_event() {
    let seen = Seen::default();
    writer_vs_sweeper(2, |_| true, seen.clone());
    seen.assert_saw(&["killed 0", "killed 1", "killed 2", "not ready"]);
}
