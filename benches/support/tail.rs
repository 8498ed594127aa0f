//! The writer-tail scenario, shared by `benches/writer_tail.rs` and the bench command:
//! one writer records the typical event, timing every `every`-th call, with no reader
//! or while one reader thread loops over `snapshot()` + `write_jsonl(io::sink())`.
//!
//! Included with `#[path = "support/tail.rs"] mod tail;` next to `baseline`, `harness`
//! and `typical`.

#![allow(dead_code)]

use std::io;
use std::sync::Arc;

use flightring::Recorder;

use crate::baseline::Baseline;
use crate::harness::{measure_tail, Background, Tail};
use crate::typical;

/// Ring capacity of the scenario (the default).
pub const CAPACITY: usize = 65_536;

/// Our writer's tail; also how many read rounds the reader completed.
pub fn ours(total: usize, every: usize, ns_per_tick: f64, reader: bool) -> (Tail, u64) {
    let rec = Recorder::builder()
        .capacity(CAPACITY)
        .shards(2)
        .build()
        .expect("valid");
    typical::fill(&rec);
    let bg = reader.then(|| {
        let r = rec.clone();
        Background::start(move || {
            let snap = r.snapshot();
            std::hint::black_box(snap.len());
            r.write_jsonl(io::sink()).expect("export to a sink");
        })
    });
    let tail = measure_tail(total, every, ns_per_tick, |_| {
        rec.record(std::hint::black_box(&typical::event()))
    });
    let rounds = bg.map_or(0, Background::stop);
    (tail, rounds)
}

/// The baseline writer's tail, the same way.
pub fn baseline(total: usize, every: usize, ns_per_tick: f64, reader: bool) -> (Tail, u64) {
    let base = Arc::new(Baseline::new(CAPACITY));
    typical::fill_baseline(&base, CAPACITY);
    let bg = reader.then(|| {
        let b = Arc::clone(&base);
        Background::start(move || {
            let snap = b.snapshot();
            std::hint::black_box(snap.len());
            b.write_jsonl(io::sink()).expect("export to a sink");
        })
    });
    let tail = measure_tail(total, every, ns_per_tick, |_| {
        typical::record_baseline(std::hint::black_box(&base))
    });
    let rounds = bg.map_or(0, Background::stop);
    (tail, rounds)
}
