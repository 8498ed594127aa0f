//! The `metrics` facade: `counter!`, `gauge!` and `histogram!` land in the recorder's
//! named counters, gauges and histograms (labels flattened into the name), appear in
//! stats, exports and Prometheus output, convert `f64` histogram values as documented,
//! and allocate nothing after a key's first use.

#![cfg(feature = "metrics")]

use flightring::integrations::metrics::{flat_name, install, FlightringMetrics};
use flightring::Recorder;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in;

fn recorder() -> Recorder {
    Recorder::builder().capacity(1024).build().expect("valid")
}

#[test]
fn counters_gauges_and_histograms_land_with_labels() {
    let rec = recorder();
    metrics::with_local_recorder(&FlightringMetrics::new(rec.clone()), || {
        metrics::counter!("rpc_calls", "endpoint" => "getBlock", "status" => "ok").increment(3);
        metrics::counter!("rpc_calls", "endpoint" => "getBlock", "status" => "ok").increment(2);
        metrics::counter!("rpc_calls", "endpoint" => "getTx", "status" => "ok").increment(1);
        metrics::counter!("plain").increment(7);
        metrics::counter!("abs").absolute(10);
        metrics::counter!("abs").absolute(4); // never goes down
        metrics::counter!("abs").absolute(12);

        metrics::gauge!("mempool_size").set(1500.0);
        metrics::gauge!("mempool_size").increment(10.5);
        metrics::gauge!("mempool_size").decrement(0.5);
        metrics::gauge!("queue", "name" => "blocks").set(-2.0);

        for v in [100.0, 200.0, 300.4] {
            metrics::histogram!("block_bytes").record(v);
        }
        metrics::histogram!("neg").record(-5.0);
        metrics::histogram!("by_pool", "pool" => "a").record(1.0);
    });
    let s = rec.stats();
    assert_eq!(s.counters["rpc_calls{endpoint=getBlock,status=ok}"], 5);
    assert_eq!(s.counters["rpc_calls{endpoint=getTx,status=ok}"], 1);
    assert_eq!(s.counters["plain"], 7);
    assert_eq!(s.counters["abs"], 12);
    assert_eq!(s.gauges["mempool_size"], 1510.0);
    assert_eq!(s.gauges["queue{name=blocks}"], -2.0);
    let h = &s.histograms["block_bytes"];
    assert_eq!((h.count, h.min, h.unit.as_str()), (3, 100, ""));
    assert!((299..=301).contains(&h.max), "{h:?}");
    assert_eq!(s.histograms["neg"].max, 0, "negative values record 0");
    assert_eq!(s.histograms["by_pool{pool=a}"].count, 1);

    let json = rec.export_json().expect("export");
    for name in [
        "rpc_calls{endpoint=getBlock,status=ok}",
        "mempool_size",
        "block_bytes",
    ] {
        assert!(json.contains(name), "{name} missing from the export");
    }
}

#[test]
fn histogram_units_and_scale_convert_f64() {
    let rec = recorder();
    let m = FlightringMetrics::new(rec.clone()).value_scale(1000.0);
    metrics::with_local_recorder(&m, || {
        metrics::describe_histogram!("rpc_latency", metrics::Unit::Milliseconds, "latency");
        metrics::histogram!("rpc_latency").record(1.5);
        metrics::histogram!("fetch_seconds").record(0.25);
        metrics::histogram!("ratio").record(0.125);
        // A description after first use applies from the next registration on.
        metrics::histogram!("late").record(2.0);
        metrics::describe_histogram!("late", metrics::Unit::Seconds, "late");
        metrics::histogram!("late").record(2.0);
    });
    let s = rec.stats();
    let ms = &s.histograms["rpc_latency"];
    assert_eq!(ms.unit, "ns");
    assert!((1_480_000..=1_520_000).contains(&ms.max), "{ms:?}");
    let secs = &s.histograms["fetch_seconds"];
    assert_eq!(secs.unit, "ns");
    assert!((245_000_000..=255_000_000).contains(&secs.max), "{secs:?}");
    assert_eq!(s.histograms["ratio"].max, 125, "scaled by 1000");
    let late = &s.histograms["late"];
    assert_eq!(late.count, 2);
    assert_eq!(late.min, 2000, "before the description: scaled value");
    assert!(late.max > 1_900_000_000, "after: seconds to ns, {late:?}");
}

#[test]
fn flat_names() {
    let k = metrics::Key::from_parts("x", vec![metrics::Label::new("a", "1")]);
    assert_eq!(flat_name(&k), "x{a=1}");
    assert_eq!(flat_name(&metrics::Key::from_name("y")), "y");
}

#[test]
fn updates_after_first_use_do_not_allocate() {
    let rec = recorder();
    let n = if cfg!(miri) { 10 } else { 2_000 };
    metrics::with_local_recorder(&FlightringMetrics::new(rec.clone()), || {
        let run = |i: u64| {
            metrics::counter!("calls", "endpoint" => "getBlock").increment(1);
            metrics::gauge!("depth").set(i as f64);
            metrics::histogram!("size", "kind" => "block").record(i as f64);
        };
        run(0);
        let allocs = allocations_in(|| (1..=n).for_each(run));
        assert_eq!(allocs, 0);
    });
    let s = rec.stats();
    assert_eq!(s.counters["calls{endpoint=getBlock}"], n + 1);
    assert_eq!(s.gauges["depth"], n as f64);
    assert_eq!(s.histograms["size{kind=block}"].count, n + 1);
}

#[test]
fn install_sets_the_global_recorder_once() {
    let rec = recorder();
    install(rec.clone()).expect("first install");
    assert!(install(recorder()).is_err(), "a second install fails");
    metrics::counter!("global_total").increment(4);
    assert_eq!(rec.counter_value("global_total"), Some(4));
}

#[cfg(feature = "prometheus")]
#[test]
fn facade_metrics_reach_prometheus_output() {
    use flightring::integrations::prometheus::{render, Format};
    let rec = recorder();
    metrics::with_local_recorder(&FlightringMetrics::new(rec.clone()), || {
        metrics::counter!("rpc_calls", "endpoint" => "getBlock").increment(3);
        metrics::gauge!("mempool_size").set(1500.0);
        metrics::describe_histogram!("rpc_seconds", metrics::Unit::Seconds, "RPC latency");
        metrics::histogram!("rpc_seconds").record(0.002);
        metrics::histogram!("block_bytes").record(1024.0);
    });
    let text = render(&rec, Format::Text);
    for want in [
        // Issue #11 item 8: the facade's labels are Prometheus labels.
        r#"flightring_named_total{name="rpc_calls",endpoint="getBlock"} 3"#,
        r#"flightring_named_value{name="mempool_size"} 1500.0"#,
        r#"flightring_duration_seconds_bucket{le="0.0025",name="rpc_seconds"} 1"#,
        r#"flightring_duration_seconds_count{name="rpc_seconds"} 1"#,
        r#"flightring_value_bucket{le="2000.0",name="block_bytes"} 1"#,
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

/// A label value whose `Display` panics (the user's code, run while the macro builds
/// the key): the panic unwinds out of the caller, and the facade recorder, its tables
/// and the recorder under it go on working for the next call and the next thread.
#[test]
fn a_panicking_label_value_leaves_the_facade_working() {
    struct Bomb;
    impl std::fmt::Display for Bomb {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("label formatter bug")
        }
    }
    let rec = recorder();
    let facade = FlightringMetrics::new(rec.clone());
    metrics::with_local_recorder(&facade, || {
        metrics::counter!("rpc_calls", "endpoint" => "getBlock").increment(1);
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = std::panic::catch_unwind(|| {
            metrics::counter!("rpc_calls", "endpoint" => Bomb.to_string()).increment(1);
        });
        std::panic::set_hook(hook);
        assert!(r.is_err(), "the label's Display panicked");
        metrics::counter!("rpc_calls", "endpoint" => "getBlock").increment(1);
        metrics::histogram!("rpc_ms", "endpoint" => "getBlock").record(3.0);
    });
    std::thread::scope(|s| {
        s.spawn(|| {
            metrics::with_local_recorder(&facade, || {
                metrics::counter!("rpc_calls", "endpoint" => "getBlock").increment(1);
            })
        });
    });
    rec.record(&flightring::Event::new("after", flightring::Severity::Info));
    let st = rec.stats();
    assert_eq!(st.counters["rpc_calls{endpoint=getBlock}"], 3);
    assert_eq!(st.histograms["rpc_ms{endpoint=getBlock}"].count, 1);
    assert_eq!(st.total_recorded, 1);
}
