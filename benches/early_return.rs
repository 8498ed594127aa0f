//! `early_return`: `record` while disabled and below the minimum severity — the
//! one-relaxed-load paths — beside the baseline's same checks.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flightring::{Event, Recorder, Severity};

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/typical.rs"]
mod typical;

use baseline::{BaseValue, Baseline};

fn early_return(c: &mut Criterion) {
    let mut g = c.benchmark_group("early_return");
    g.throughput(Throughput::Elements(1));

    let rec = Recorder::builder().capacity(65_536).build().expect("valid");
    rec.set_enabled(false);
    // The early-return path itself: the event exists already (as at a call site that
    // reuses one, or whose construction the compiler can sink past the check).
    let ev = typical::event();
    g.bench_function("record_disabled", |b| b.iter(|| rec.record(black_box(&ev))));
    // What a call site that builds the event inline pays (construction included).
    g.bench_function("record_disabled/build_inline", |b| {
        b.iter(|| rec.record(black_box(&typical::event())))
    });
    rec.set_enabled(true);
    rec.set_min_severity(Severity::Warning);
    g.bench_function("record_below_level", |b| {
        b.iter(|| rec.record(black_box(&ev)))
    });
    g.bench_function("record_below_level/build_inline", |b| {
        b.iter(|| rec.record(black_box(&typical::event())))
    });
    let debug = Event::new(typical::KIND, Severity::Debug).message(typical::MESSAGE);
    g.bench_function("record_below_level/debug", |b| {
        b.iter(|| rec.record(black_box(&debug)))
    });
    assert_eq!(rec.stats().total_recorded, 0, "nothing was recorded");

    let base = Baseline::new(65_536);
    base.set_enabled(false);
    g.bench_function("baseline/disabled", |b| {
        b.iter(|| typical::record_baseline(black_box(&base)))
    });
    base.set_enabled(true);
    base.set_min_severity(Severity::Warning);
    g.bench_function("baseline/below_level", |b| {
        b.iter(|| {
            black_box(&base).record(
                typical::KIND,
                Severity::Info,
                Some(typical::PEER),
                typical::MESSAGE,
                &[("size", BaseValue::U64(typical::SIZE))],
            )
        })
    });
    assert!(base.is_empty());
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = early_return
}
criterion_main!(benches);
