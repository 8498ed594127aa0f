//! Instruction counts of the record path, for callgrind: runs one scenario `N` times
//! inside a `#[inline(never)]` function, so callgrind can count just that loop.
//!
//! ```text
//! cargo build --release --example instr_count
//! valgrind --tool=callgrind --toggle-collect='instr_count::run*' \
//!   --callgrind-out-file=/tmp/cg.out target/release/examples/instr_count record 100000
//! callgrind_annotate /tmp/cg.out | head   # total Ir / 100000 = instructions per event
//! target/release/examples/instr_count record 1000000 11   # median ns/event of 11 rounds
//! ```
//!
//! Scenarios: `record` (the typical event, `&str` kind, default redaction),
//! `record_cached` (through a cached `Kind`), `record_plain` (redaction off),
//! `disabled` and `below_level` (the early return, building the event inline), and
//! `disabled_prebuilt` and `below_level_prebuilt` (the early return alone, as the
//! `early_return` bench measures it). A warm-up outside the counted
//! functions interns the kind and fills the per-thread caches first.

use std::hint::black_box;

use flightring::{Kind, Recorder, RedactionConfig, Severity};

#[path = "../benches/support/baseline.rs"]
mod baseline;
#[path = "../benches/support/typical.rs"]
mod typical;

#[inline(never)]
fn run_record(rec: &Recorder, n: u64) {
    for _ in 0..n {
        rec.record(black_box(&typical::event()));
    }
}

#[inline(never)]
fn run_cached(rec: &Recorder, kind: &Kind, n: u64) {
    for _ in 0..n {
        rec.record(black_box(&typical::event_with(kind)));
    }
}

/// The early-return bench's loop: the event exists already.
#[inline(never)]
fn run_prebuilt(rec: &Recorder, ev: &flightring::Event<'_>, n: u64) {
    for _ in 0..n {
        rec.record(black_box(ev));
    }
}

/// `snapshot_into N R`: fills a ring of `N` events as the bench command does, then
/// times R reuses of one snapshot (median ms); `snapshot_decode N R` times R fresh
/// snapshots decoded whole (`snapshot().events()`).
fn snapshot_into(capacity: usize, rounds: usize, decode: bool) {
    let rec = Recorder::builder()
        .capacity(capacity)
        .shards(2)
        .build()
        .expect("valid config");
    typical::fill(&rec);
    let mut snap = rec.snapshot();
    let mut ms: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = std::time::Instant::now();
            if decode && std::env::var_os("SPLIT").is_some() {
                let t0 = std::time::Instant::now();
                let s = rec.snapshot();
                let t1 = std::time::Instant::now();
                black_box(s.events());
                let t2 = std::time::Instant::now();
                drop(s);
                eprintln!(
                    "take {:?} decode {:?} drop {:?}",
                    t1 - t0,
                    t2 - t1,
                    t2.elapsed()
                );
            } else if decode {
                black_box(rec.snapshot().events());
            } else {
                rec.snapshot_into(&mut snap);
                black_box(snap.len());
            }
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "snapshot_{} {capacity}: median {:.2} ms ({} events)",
        if decode { "decode" } else { "into" },
        ms[ms.len() / 2],
        snap.len()
    );
}

#[inline(never)]
fn warm_up(rec: &Recorder) {
    for _ in 0..1000 {
        rec.record(black_box(&typical::event()));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "record".into());
    let n: u64 = args.next().map_or(100_000, |s| s.parse().expect("a count"));
    // FLIGHTRING_BENCH_CAPACITY: a smaller ring fits the caches (what the writes cost
    // beyond their instructions).
    let capacity = std::env::var("FLIGHTRING_BENCH_CAPACITY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(65_536);
    let mut b = Recorder::builder().capacity(capacity).shards(2);
    if scenario == "record_plain" {
        b = b.redaction(RedactionConfig::disabled());
    }
    if scenario == "snapshot_into" || scenario == "snapshot_decode" {
        let rounds = args.next().map_or(5, |s| s.parse().expect("a count"));
        return snapshot_into(n as usize, rounds, scenario == "snapshot_decode");
    }
    let rec = b.build().expect("valid config");
    let kind = rec.kind(typical::KIND);
    match scenario.trim_end_matches("_prebuilt") {
        "disabled" => rec.set_enabled(false),
        "below_level" => rec.set_min_severity(Severity::Warning),
        _ => {}
    }
    // Warm up: the kind is interned, the thread has its number, the verdicts are cached.
    warm_up(&rec);
    let ev = typical::event();
    let run = || match scenario.as_str() {
        "record_cached" => run_cached(&rec, &kind, n),
        s if s.ends_with("_prebuilt") => run_prebuilt(&rec, &ev, n),
        _ => run_record(&rec, n),
    };
    // With a third argument R: R timed rounds, and the median ns per event (a wall-clock
    // check beside the instruction count).
    if let Some(rounds) = args.next().map(|s| s.parse::<usize>().expect("a count")) {
        let mut ns: Vec<f64> = (0..rounds)
            .map(|_| {
                let t = std::time::Instant::now();
                run();
                t.elapsed().as_nanos() as f64 / n as f64
            })
            .collect();
        ns.sort_by(f64::total_cmp);
        println!("{scenario}: median {:.2} ns/event", ns[ns.len() / 2]);
        return;
    }
    run();
    eprintln!("{scenario}: {n} events; stats {:?}", rec.stats().rejected);
}
