//! Loom model tests of cell claiming in a shard shared by two writers
//! (`src/core/ring.rs`): multi-cell records, records that wrap around the end of the
//! shard, and writers lapped in the middle of a record, run with loom's atomics and
//! fences.
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" \
//!     cargo test --release --test loom_slot --test loom_ring
//! ```
//!
//! After both writers finish: no two events got overlapping positions; every attempt
//! either wrote or was counted as dropped; every cell that reads as a complete head
//! reads whole (no continuation lost) and holds, in every word, the payload of the write
//! that got its position; and the accounting identity holds exactly:
//! `recorded = retained + overwritten` with `overwritten = recorded + extra − missing`
//! (nothing is killed here). Variants with a third thread add a reader racing both
//! writers, which must never get a torn record.
//!
//! Each model asserts that the situation it is about was explored ("wrapped", "lapped
//! mid-record", "read whole"), so it cannot pass vacuously.
#![cfg(loom)]

use std::sync::Arc;

use loom::thread;

use flightring::internals::Shard;

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{model, Seen};

/// The word writer `thread` stores in every payload word of its `i`-th event; never 0
/// and unique.
fn tag(thread: u64, i: u64) -> u64 {
    0xF1_0000 + (thread << 8) + i
}

fn payload(w: u64, words: usize) -> Vec<u8> {
    (0..words).flat_map(|_| w.to_le_bytes()).collect()
}

/// One write's result: its tag, its cells, and what `Shard::write` returned.
type Outcome = (u64, usize, Option<(u64, usize)>);

/// Writes one event of `cells[i]` cells (two payload words per cell) for each `i`.
fn writer(shard: &Shard, thread: u64, cells: &[usize]) -> Vec<Outcome> {
    cells
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let t = tag(thread, i as u64);
            (t, k, shard.write(&payload(t, 2 * k)))
        })
        .collect()
}

/// Checks a copy a reader got: every word is the tag of the one write that got `pos`
/// (the tag is identified by the first word; all must agree).
fn check_copy(pos: u64, k: usize, out: &[u64], seen: &Seen) {
    assert_eq!(out.len(), 2 * k, "pos {pos}: {out:x?}");
    assert!(
        out.iter().all(|&w| w == out[0]) && out[0] != 0,
        "torn copy of pos {pos}: {out:x?}"
    );
    seen.add("read whole");
    if k > 1 {
        seen.add("read a multi-cell record");
    }
}

/// Checks the shard after all writers finished, and notes what the execution showed.
fn check(shard: &Shard, outcomes: &[Outcome], seen: &Seen) {
    let attempts = outcomes.len() as u64;
    let written: Vec<(u64, usize, u64)> = outcomes
        .iter()
        .filter_map(|&(t, k, r)| r.map(|(pos, _)| (t, k, pos)))
        .collect();
    let writes = written.len() as u64;

    // No two events got overlapping positions.
    let mut ranges: Vec<(u64, u64)> = written.iter().map(|w| (w.2, w.2 + w.1 as u64)).collect();
    ranges.sort_unstable();
    for r in ranges.windows(2) {
        assert!(r[0].1 <= r[1].0, "overlapping positions: {outcomes:?}");
    }

    // Every attempt wrote or was counted as dropped.
    assert_eq!(shard.dropped() + writes, attempts, "{outcomes:?}");

    // Every complete head reads whole, from the write that got its position.
    let mut retained = 0u64;
    for idx in 0..shard.cells() {
        let Some((pos, k)) = shard.ready_head(idx) else {
            continue;
        };
        let mut out = Vec::new();
        let got = shard.read_record(idx, &mut out, |_| true);
        assert_eq!(
            got,
            Some((pos, k)),
            "a head at quiescence reads whole: {outcomes:?}"
        );
        retained += 1;
        assert_eq!(pos as usize % shard.cells(), idx);
        let &(t, wk, _) = written
            .iter()
            .find(|w| w.2 == pos)
            .unwrap_or_else(|| panic!("cell {idx} holds pos {pos} that no write got"));
        assert_eq!(k, wk, "{outcomes:?}");
        assert!(
            out.iter().all(|&w| w == t),
            "cell {idx} (pos {pos}): {out:x?}"
        );
        if idx + k > shard.cells() {
            seen.add("wrapped");
        }
    }

    // recorded = retained + overwritten, overwritten = recorded + extra − missing.
    let overwritten = (writes + shard.overwrite_extra())
        .checked_sub(shard.overwrite_missing())
        .expect("missing never exceeds recorded + extra");
    assert_eq!(writes, retained + overwritten, "{outcomes:?}");
    // The writers' own view: the heads each successful write reported.
    let reported: u64 = outcomes
        .iter()
        .filter_map(|o| o.2)
        .map(|r| r.1 as u64)
        .sum();
    assert!(reported <= overwritten, "{outcomes:?}");

    if overwritten > 0 {
        seen.add("overwrote");
    }
    if writes < attempts {
        seen.add("dropped");
        if outcomes.iter().any(|o| o.2.is_none() && o.1 > 1) {
            seen.add("lapped mid-record");
        }
    }
}

/// Two writers share a shard of `cells` cells: writer 1 (spawned) writes events of
/// `a` cells each, writer 2 (the model's main thread) events of `b` cells each. With
/// `reader`, a third thread reads every cell while they write and checks every
/// complete copy.
fn two_writers(cells: usize, a: &'static [usize], b: &'static [usize], reader: bool) -> Seen {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(cells, 2, cells));
        assert_eq!((shard.cells(), shard.words_per_cell()), (cells, 2));

        let w1 = {
            let shard = shard.clone();
            thread::spawn(move || writer(&shard, 1, a))
        };
        let r = reader.then(|| {
            let shard = shard.clone();
            let s = s.clone();
            thread::spawn(move || {
                for idx in 0..cells {
                    let mut out = Vec::new();
                    if let Some((pos, k)) = shard.read_record(idx, &mut out, |_| true) {
                        check_copy(pos, k, &out, &s);
                    } else {
                        assert!(out.is_empty(), "a failed read leaves the buffer");
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
fn multi_cell_records_wrap_around_the_end() {
    // 4 cells: 1 + 2 cells, then 2 more: some record wraps from cell 3 to cell 0.
    two_writers(4, &[1, 2], &[2], false).assert_saw(&["wrapped", "overwrote"]);
}

#[test]
fn a_writer_lapped_mid_record_drops_and_frees_its_cells() {
    // 2 cells, two 2-cell records: the second writer's range is the first's, one lap
    // on; it finds a cell the first still writes, drops, and frees what it claimed.
    two_writers(2, &[2], &[2], false).assert_saw(&["dropped", "lapped mid-record", "overwrote"]);
}

#[test]
fn a_reader_racing_multi_cell_writes_never_sees_a_torn_record() {
    two_writers(2, &[2], &[1, 2], true).assert_saw(&["read whole", "read a multi-cell record"]);
}
