//! `read`: `snapshot()` of 64 K and 1 M retained events; `query` of the last 50 at
//! Warning or above over 1 M; a filtered full scan (kind + peer) over 1 M; `health()`;
//! `stats()` — each beside the baseline, which clones under its lock.
//!
//! Our snapshot copies slots and decodes lazily; `snapshot+decode` also builds every
//! owned `EventRecord`, which is what the baseline's snapshot hands back.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use flightring::{Query, Recorder, Severity};

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/typical.rs"]
mod typical;

use baseline::Baseline;

const K64: usize = 1 << 16;
const M1: usize = 1 << 20;

fn filled(n: usize) -> (Recorder, Baseline) {
    let rec = Recorder::builder()
        .capacity(n)
        .shards(2)
        // One tier, so the ring holds exactly the `n` events the baseline holds.
        .reserved_share(0.0)
        .build()
        .expect("valid");
    let recorded = typical::fill(&rec);
    let base = Baseline::new(n);
    typical::fill_baseline(&base, recorded);
    assert_eq!(rec.snapshot().len(), n, "every slot holds an event");
    (rec, base)
}

fn read(c: &mut Criterion) {
    let (r64, b64) = filled(K64);
    let mut g = c.benchmark_group("read/snapshot 64K");
    g.throughput(Throughput::Elements(K64 as u64));
    g.bench_function("snapshot", |b| b.iter(|| black_box(r64.snapshot())));
    g.bench_function("snapshot+decode", |b| {
        b.iter(|| black_box(r64.snapshot().events()))
    });
    g.bench_function("baseline", |b| b.iter(|| black_box(b64.snapshot())));
    g.finish();

    let (r1m, b1m) = filled(M1);
    let mut g = c.benchmark_group("read/snapshot 1M");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(M1 as u64));
    g.bench_function("snapshot", |b| b.iter(|| black_box(r1m.snapshot())));
    g.bench_function("snapshot+decode", |b| {
        b.iter(|| black_box(r1m.snapshot().events()))
    });
    g.bench_function("baseline", |b| b.iter(|| black_box(b1m.snapshot())));
    g.finish();

    let mut g = c.benchmark_group("read/query last 50 >= Warning over 1M");
    let q = Query::new().limit(50).min_severity(Severity::Warning);
    assert_eq!(r1m.query(&q).len(), 50);
    g.bench_function("query", |b| b.iter(|| black_box(r1m.query(black_box(&q)))));
    g.bench_function("baseline", |b| {
        b.iter(|| black_box(b1m.query(50, Severity::Warning)))
    });
    g.finish();

    let (kind, peer) = typical::scan_target();
    let q = Query::new().kind(kind).peer(peer.as_str());
    let hits = r1m.query(&q).len();
    assert!(hits > 1000, "the scan finds events ({hits})");
    let base_hits = b1m.scan(kind, &peer).len();
    assert!(hits.abs_diff(base_hits) * 20 < hits, "{hits} ~ {base_hits}");
    let mut g = c.benchmark_group("read/scan kind+peer over 1M");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(M1 as u64));
    g.bench_function("query", |b| b.iter(|| black_box(r1m.query(black_box(&q)))));
    g.bench_function("baseline", |b| b.iter(|| black_box(b1m.scan(kind, &peer))));
    g.finish();

    let mut g = c.benchmark_group("read/health");
    g.bench_function("64K", |b| b.iter(|| black_box(r64.health())));
    g.bench_function("1M", |b| b.iter(|| black_box(r1m.health())));
    g.bench_function("baseline 1M", |b| b.iter(|| black_box(b1m.health())));
    g.finish();

    let mut g = c.benchmark_group("read/stats");
    g.bench_function("1M", |b| b.iter(|| black_box(r1m.stats())));
    g.bench_function("baseline 1M", |b| b.iter(|| black_box(b1m.stats())));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = read
}
criterion_main!(benches);
