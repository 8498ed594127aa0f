//! `observe`: a histogram record by name and through a cached `Histogram` handle, on 1
//! and 2 threads, beside the baseline (a `HashMap<String, hdrhistogram::Histogram>`
//! under the recorder's mutex).

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
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

/// The `i`-th observed duration: spread over ~1 ms so the bucket varies.
#[inline]
fn dur(i: u64) -> Duration {
    Duration::from_nanos(500 + (i & 1023) * 997)
}

fn recorder() -> Recorder {
    Recorder::builder()
        .capacity(65_536)
        .shards(2)
        .build()
        .expect("valid")
}

fn observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("observe/1 thread");
    g.throughput(Throughput::Elements(1));
    let rec = recorder();
    let h = rec
        .histogram(typical::HISTOGRAM)
        .expect("room for a histogram");
    let mut i = 0u64;
    g.bench_function("by name", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            rec.observe(black_box(typical::HISTOGRAM), dur(i))
        })
    });
    g.bench_function("cached handle", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            h.observe(dur(i))
        })
    });
    let base = Baseline::new(1024);
    g.bench_function("baseline", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            base.observe(black_box(typical::HISTOGRAM), dur(i))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("observe/2 threads");
    g.throughput(Throughput::Elements(2));
    for cached in [false, true] {
        let p = Pool::new(2, |_| {
            let rec = rec.clone();
            let h = rec.histogram(typical::HISTOGRAM).expect("room");
            let mut i = 0u64;
            move |n| {
                for _ in 0..n {
                    i = i.wrapping_add(1);
                    if cached {
                        h.observe(dur(i));
                    } else {
                        rec.observe(black_box(typical::HISTOGRAM), dur(i));
                    }
                }
            }
        });
        let name = if cached { "cached handle" } else { "by name" };
        g.bench_function(name, |b| b.iter_custom(|iters| p.run(iters)));
    }
    let base = Arc::new(Baseline::new(1024));
    let p = Pool::new(2, |_| {
        let base = Arc::clone(&base);
        let mut i = 0u64;
        move |n| {
            for _ in 0..n {
                i = i.wrapping_add(1);
                base.observe(black_box(typical::HISTOGRAM), dur(i));
            }
        }
    });
    g.bench_function("baseline", |b| b.iter_custom(|iters| p.run(iters)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = observe
}
criterion_main!(benches);
