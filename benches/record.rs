//! `record`: the typical event (see `support/typical.rs`) — 1 thread; 2 threads on
//! their own shards; 2 threads forced onto one shard (`.shards(1)`); through a cached
//! `Kind` handle and through a `&str` kind — each beside the mutex-and-deque baseline.
//!
//! Multi-thread figures time `iters` events on every thread of a persistent pool (wall
//! time, all threads released together); throughput is the aggregate rate.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flightring::Recorder;

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/typical.rs"]
mod typical;

use baseline::Baseline;
use harness::Pool;

const CAPACITY: usize = 65_536;

fn recorder(shards: usize) -> Recorder {
    Recorder::builder()
        .capacity(CAPACITY)
        .shards(shards)
        .build()
        .expect("valid config")
}

/// A pool of `threads` workers recording the typical event into `rec`.
fn pool(rec: &Recorder, threads: usize, cached_kind: bool) -> Pool {
    Pool::new(threads, |_| {
        let rec = rec.clone();
        let kind = rec.kind(typical::KIND);
        move |n| {
            if cached_kind {
                for _ in 0..n {
                    rec.record(black_box(&typical::event_with(&kind)));
                }
            } else {
                for _ in 0..n {
                    rec.record(black_box(&typical::event()));
                }
            }
        }
    })
}

fn baseline_pool(b: &std::sync::Arc<Baseline>, threads: usize) -> Pool {
    Pool::new(threads, |_| {
        let b = std::sync::Arc::clone(b);
        move |n| {
            for _ in 0..n {
                typical::record_baseline(black_box(&b));
            }
        }
    })
}

fn one_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("record/1 thread");
    g.throughput(Throughput::Elements(1));
    let rec = recorder(2);
    let kind = rec.kind(typical::KIND);
    g.bench_function("str kind", |b| {
        b.iter(|| rec.record(black_box(&typical::event())))
    });
    g.bench_function("cached Kind", |b| {
        b.iter(|| rec.record(black_box(&typical::event_with(&kind))))
    });
    let base = Baseline::new(CAPACITY);
    g.bench_function("baseline", |b| {
        b.iter(|| typical::record_baseline(black_box(&base)))
    });
    assert_eq!(rec.stats().truncated, 0, "the typical event fits a slot");
    g.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("record/2 threads");
    g.throughput(Throughput::Elements(2));
    for (label, shards) in [("own shards", 2), ("one shard", 1)] {
        let rec = recorder(shards);
        for cached in [false, true] {
            let p = pool(&rec, 2, cached);
            let name = format!(
                "{label}/{}",
                if cached { "cached Kind" } else { "str kind" }
            );
            g.bench_function(name, |b| b.iter_custom(|iters| p.run(iters)));
        }
    }
    let base = std::sync::Arc::new(Baseline::new(CAPACITY));
    let p = baseline_pool(&base, 2);
    g.bench_function("baseline", |b| b.iter_custom(|iters| p.run(iters)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = one_thread, two_threads
}
criterion_main!(benches);
