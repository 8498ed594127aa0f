//! `export`: `write_json` and `write_jsonl` of 1 M retained events into `io::sink()`
//! (throughput in bytes of output), end to end (snapshot + serialise) and from a
//! snapshot already taken; beside the baseline (`serde_json` over a cloned snapshot).

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use flightring::Recorder;

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/typical.rs"]
mod typical;

use baseline::Baseline;
use harness::CountingSink;

const M1: usize = 1 << 20;

fn count(f: impl FnOnce(&mut CountingSink)) -> u64 {
    let mut s = CountingSink::default();
    f(&mut s);
    s.bytes
}

fn export(c: &mut Criterion) {
    let rec = Recorder::builder()
        .capacity(M1)
        .shards(2)
        .build()
        .expect("valid");
    let recorded = typical::fill(&rec);
    let base = Baseline::new(M1);
    typical::fill_baseline(&base, recorded);
    let snap = rec.snapshot();

    let json = count(|s| rec.write_json(s).expect("export"));
    let jsonl = count(|s| rec.write_jsonl(s).expect("export"));
    let base_json = count(|s| base.write_json(s).expect("export"));
    let base_jsonl = count(|s| base.write_jsonl(s).expect("export"));

    let mut g = c.benchmark_group("export 1M");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Bytes(json));
    g.bench_function("write_json", |b| {
        b.iter(|| rec.write_json(black_box(io::sink())).expect("export"))
    });
    g.bench_function("snapshot.write_json", |b| {
        b.iter(|| snap.write_json(black_box(io::sink())).expect("export"))
    });
    g.throughput(Throughput::Bytes(jsonl));
    g.bench_function("write_jsonl", |b| {
        b.iter(|| rec.write_jsonl(black_box(io::sink())).expect("export"))
    });
    g.bench_function("snapshot.write_jsonl", |b| {
        b.iter(|| snap.write_jsonl(black_box(io::sink())).expect("export"))
    });
    g.throughput(Throughput::Bytes(base_json));
    g.bench_function("baseline/write_json", |b| {
        b.iter(|| base.write_json(black_box(io::sink())).expect("export"))
    });
    g.throughput(Throughput::Bytes(base_jsonl));
    g.bench_function("baseline/write_jsonl", |b| {
        b.iter(|| base.write_jsonl(black_box(io::sink())).expect("export"))
    });
    g.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
