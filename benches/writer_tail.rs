//! `writer_tail`: what a reader costs a writer.
//!
//! 1. Criterion: `record` throughput on one thread while another thread loops over
//!    `snapshot()` + `write_jsonl(io::sink())`, beside the baseline doing the same.
//! 2. Then a table of writer latency percentiles (p50, p99, p99.9, max; every 8th call
//!    timed on its own with the cycle counter) with no reader and with that reader,
//!    ours beside the baseline. The timer's own cost is printed and included.
//!
//! `cargo bench --bench writer_tail -- --test` runs a short version.

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use flightring::Recorder;

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/tail.rs"]
mod tail;
#[path = "support/typical.rs"]
mod typical;

use baseline::Baseline;
use harness::{Background, Tail};

fn with_reader(c: &mut Criterion) {
    let mut g = c.benchmark_group("writer_tail/record while a reader exports");
    g.throughput(Throughput::Elements(1));
    let rec = Recorder::builder()
        .capacity(tail::CAPACITY)
        .shards(2)
        .build()
        .expect("valid");
    typical::fill(&rec);
    let bg = {
        let r = rec.clone();
        Background::start(move || {
            black_box(r.snapshot().len());
            r.write_jsonl(io::sink()).expect("export");
        })
    };
    g.bench_function("record", |b| {
        b.iter(|| rec.record(black_box(&typical::event())))
    });
    drop(bg);
    let base = Arc::new(Baseline::new(tail::CAPACITY));
    typical::fill_baseline(&base, tail::CAPACITY);
    let bg = {
        let b = Arc::clone(&base);
        Background::start(move || {
            black_box(b.snapshot().len());
            b.write_jsonl(io::sink()).expect("export");
        })
    };
    g.bench_function("baseline", |b| {
        b.iter(|| typical::record_baseline(black_box(&base)))
    });
    drop(bg);
    g.finish();
}

fn row(name: &str, t: &Tail, rounds: u64) {
    println!(
        "{name:<28} {:>9.0} {:>9.0} {:>10.0} {:>12.0} {:>9} {:>7}",
        t.p50, t.p99, t.p999, t.max, t.samples, rounds
    );
}

fn tail_report(test: bool) {
    let (total, every) = if test { (200_000, 8) } else { (8_000_000, 8) };
    let npt = harness::ns_per_tick();
    println!("\nwriter_tail: writer latency in ns, every {every}th of {total} records timed");
    println!(
        "{:<28} {:>9} {:>9} {:>10} {:>12} {:>9} {:>7}",
        "scenario", "p50", "p99", "p99.9", "max", "samples", "reads"
    );
    let (a, _) = tail::ours(total, every, npt, false);
    row("flightring, no reader", &a, 0);
    let (b, rb) = tail::ours(total, every, npt, true);
    row("flightring, reader", &b, rb);
    let base_total = total / 4;
    let (c, _) = tail::baseline(base_total, every, npt, false);
    row("baseline, no reader", &c, 0);
    let (d, rd) = tail::baseline(base_total, every, npt, true);
    row("baseline, reader", &d, rd);
    println!(
        "timer overhead ~{:.0} ns (included); p99.9 with/without reader: ours {:.2}x, baseline {:.2}x; \
         baseline/ours p99.9 with reader: {:.1}x",
        a.timer_overhead,
        b.p999 / a.p999,
        d.p999 / c.p999,
        d.p999 / b.p999
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let test = args.iter().any(|a| a == "--test");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    with_reader(&mut c);
    c.final_summary();
    if filters.is_empty() || filters.iter().any(|f| "writer_tail".contains(f.as_str())) {
        tail_report(test);
    }
}
