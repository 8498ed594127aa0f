//! Retention, the sweeper, clear, enable/disable, minimum severity, close, and health.

use std::time::{Duration, Instant};

use flightring::{Event, HealthStatus, HealthThresholds, Query, Recorder, Severity};

fn info(r: &Recorder, msg: &str) {
    r.record(&Event::new("k", Severity::Info).message(msg));
}

fn assert_accounting(r: &Recorder) {
    let s = r.stats();
    let retained = r.snapshot().len() as u64;
    assert_eq!(s.retained, retained, "counters agree with the ring: {s:?}");
    assert_eq!(
        s.total_recorded,
        retained + s.overwritten + s.expired + s.cleared,
        "{s:?}"
    );
}

#[test]
fn expired_events_are_invisible_then_swept_and_counted() {
    let r = Recorder::builder()
        .capacity(256)
        .retention(flightring::MIN_RETENTION)
        .sweep_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    info(&r, "old");
    std::thread::sleep(flightring::MIN_RETENTION + Duration::from_millis(200));
    info(&r, "new");
    // Not swept yet: queries and snapshots skip the expired event all the same.
    let q = r.query(&Query::new());
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].message, "new");
    assert_eq!(r.snapshot().len(), 1);
    assert_eq!(r.stats().expired, 0);
    assert_eq!(r.sweep_now(), 1);
    assert_eq!(r.sweep_now(), 0, "counted once");
    let s = r.stats();
    assert_eq!(s.expired, 1);
    assert_eq!(s.retained, 1);
    assert_accounting(&r);
}

#[test]
fn the_sweeper_thread_expires_on_its_own() {
    let r = Recorder::builder()
        .capacity(64)
        .retention(flightring::MIN_RETENTION)
        .sweep_interval(Duration::from_millis(20))
        .health_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    info(&r, "x");
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.stats().expired == 0 {
        assert!(Instant::now() < deadline, "the sweeper never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_accounting(&r);
}

#[test]
fn departed_peers_are_forgotten_by_the_sweeper() {
    let r = Recorder::builder()
        .capacity(64)
        .sweep_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    r.peer_connected("a", "x");
    r.peer_connected("b", "x");
    r.peer_disconnected("a", "x", "bye");
    std::thread::sleep(Duration::from_millis(30));
    r.sweep_now();
    let s = r.stats();
    assert_eq!(s.active_peers, 1);
    assert_eq!(s.active_peer_ids, ["b"]);
    r.peer_connected("a", "x");
    assert_eq!(r.stats().active_peers, 2, "a departed peer can come back");
}

#[test]
fn clear_removes_events_and_keeps_history() {
    let r = Recorder::builder().capacity(128).shards(2).build().unwrap();
    for i in 0..300 {
        info(&r, &i.to_string());
    }
    r.clear();
    assert!(r.snapshot().is_empty());
    assert!(r.query(&Query::new()).is_empty());
    let s = r.stats();
    assert_eq!(s.total_recorded, 300, "all-time counters survive clear");
    assert_eq!(s.cleared, s.total_recorded - s.overwritten);
    info(&r, "after");
    assert_eq!(r.query(&Query::new())[0].message, "after");
    assert_accounting(&r);
}

#[test]
fn disabled_and_below_level_events_are_rejected_and_counted() {
    let r = Recorder::builder()
        .capacity(64)
        .min_severity(Severity::Info)
        .build()
        .unwrap();
    r.record(&Event::new("k", Severity::Debug));
    r.message("p", "ping", flightring::Direction::Inbound, 1); // Debug
    assert!(!r.enabled_for(Severity::Debug));
    assert!(r.enabled_for(Severity::Info));
    r.set_min_severity(Severity::Warning);
    assert_eq!(r.min_severity(), Severity::Warning);
    info(&r, "dropped");
    r.record(&Event::new("k", Severity::Error));
    r.set_enabled(false);
    assert!(!r.is_enabled());
    r.record(&Event::new("k", Severity::Critical));
    r.observe("h", Duration::from_millis(1));
    r.set_min_severity(Severity::Debug); // still disabled
    r.record(&Event::new("k", Severity::Critical));
    r.set_enabled(true);
    r.record(&Event::new("k", Severity::Debug));
    let s = r.stats();
    assert_eq!(s.total_recorded, 2);
    assert_eq!(s.rejected.below_level, 3);
    assert_eq!(s.rejected.disabled, 2);
    assert_eq!(s.rejected.closed, 0);
    assert!(
        s.histograms.is_empty(),
        "disabled recorders observe nothing"
    );
}

#[test]
fn close_rejects_new_events_and_reading_still_works() {
    let r = Recorder::builder()
        .capacity(64)
        .sweep_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    info(&r, "before");
    let clone = r.clone();
    r.close();
    r.close(); // idempotent
    assert!(clone.is_closed());
    info(&clone, "after");
    clone.set_enabled(true); // cannot reopen
    info(&clone, "after");
    let s = clone.stats();
    assert_eq!(s.total_recorded, 1);
    assert_eq!(s.rejected.closed, 2);
    assert_eq!(clone.query(&Query::new())[0].message, "before");
    let h = clone.health();
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert!(h.reasons.iter().any(|r| r.contains("closed")), "{h:?}");
    assert!(clone.export_json().is_ok());
}

#[test]
fn close_stops_the_sweeper_promptly() {
    // With hour-long intervals, waiting out the interval would hang the test.
    let r = Recorder::builder()
        .capacity(64)
        .sweep_interval(Duration::from_secs(3600))
        .health_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let t = Instant::now();
    r.close();
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "close waited {:?}",
        t.elapsed()
    );
}

#[test]
fn health_reflects_errors_criticals_and_recovers() {
    let r = Recorder::builder()
        .capacity(4096)
        .health_interval(Duration::from_secs(3600))
        .health_thresholds(HealthThresholds {
            window: Duration::from_millis(300),
            ..Default::default()
        })
        .build()
        .unwrap();
    for _ in 0..100 {
        info(&r, "fine");
    }
    r.sweep_now();
    let h = r.health();
    assert_eq!(h.status, HealthStatus::Healthy, "{h:?}");
    assert_eq!(h.total_events, 100);
    assert_eq!(h.event_count, 100);
    assert_eq!(h.capacity, 4096);
    for _ in 0..10 {
        r.record(&Event::new("k", Severity::Error));
    }
    r.sweep_now();
    let h = r.health();
    assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
    assert!(h.figures.window_errors >= 10);
    for _ in 0..50 {
        r.record(&Event::new("k", Severity::Error));
    }
    r.sweep_now();
    assert_eq!(r.health().status, HealthStatus::Unhealthy);
    // Once the window has moved past the errors, health recovers.
    std::thread::sleep(Duration::from_millis(400));
    r.sweep_now();
    for _ in 0..30 {
        info(&r, "fine");
    }
    r.sweep_now();
    let h = r.health();
    assert_eq!(h.status, HealthStatus::Healthy, "{h:?}");
    assert!(h.figures.error_rate < 0.05);
    r.record(&Event::new("k", Severity::Critical));
    r.sweep_now();
    let h = r.health();
    assert_eq!(
        h.status,
        HealthStatus::Degraded,
        "one critical event: {h:?}"
    );
    assert!(h.message.contains("critical"));
}

#[test]
fn named_counters_gauges_and_component_faults() {
    let r = Recorder::builder().capacity(64).build().unwrap();
    r.add("rpc.ok.mainnet", 3);
    let c = r.counter("rpc.ok.mainnet");
    c.increment();
    c.add(2);
    assert_eq!(c.value(), 6);
    assert_eq!(r.counter_value("rpc.ok.mainnet"), Some(6));
    assert_eq!(r.counter_value("never"), None);
    r.set_gauge("queue.depth", 10.0);
    r.add_gauge("queue.depth", -2.5);
    assert_eq!(r.gauge_value("queue.depth"), Some(7.5));
    let s = r.stats();
    assert_eq!(s.counters["rpc.ok.mainnet"], 6);
    assert_eq!(s.gauges["queue.depth"], 7.5);
    let loaded = flightring::Snapshot::from_json(&r.export_json().unwrap()).unwrap();
    assert_eq!(loaded.stats().counters["rpc.ok.mainnet"], 6);

    assert_eq!(r.health().status, HealthStatus::Healthy);
    r.set_fault(
        "exporter",
        "writing flight_recorder.jsonl: No space left on device",
    );
    let h = r.health();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert!(
        h.reasons.iter().any(|x| x.starts_with("exporter: writing")),
        "{h:?}"
    );
    r.clear_fault("exporter");
    assert_eq!(r.health().status, HealthStatus::Healthy);
    // Counters are the program's own figures: kept whatever the event filters say.
    r.set_enabled(false);
    r.add("rpc.ok.mainnet", 1);
    assert_eq!(r.counter_value("rpc.ok.mainnet"), Some(7));
}

#[test]
fn names_refused_by_full_tables_are_counted_in_stats_and_exports() {
    // max_histograms(2): two histogram names, and 8 counter and 8 gauge names.
    let r = Recorder::builder()
        .capacity(64)
        .max_histograms(2)
        .build()
        .unwrap();
    for i in 0..5 {
        r.observe(&format!("h{i}"), Duration::from_micros(10));
    }
    for i in 0..10 {
        r.add(&format!("c{i}"), 1);
        r.set_gauge(&format!("g{i}"), 1.0);
    }
    // A handle made once the table is full counts nothing and counts every refusal.
    let late = r.counter("late");
    late.add(5);
    late.increment();
    assert_eq!(late.value(), 0);
    let s = r.stats();
    assert_eq!(s.histograms.len(), 2);
    assert_eq!(s.histograms_refused, 3);
    assert_eq!(s.counters.len(), 8);
    assert_eq!(
        s.counters_refused,
        2 + 1 + 2,
        "c8, c9, the handle, its two adds"
    );
    assert_eq!(s.gauges_refused, 2);
    let loaded = flightring::Snapshot::from_json(&r.export_json().unwrap()).unwrap();
    assert_eq!(loaded.stats().histograms_refused, 3);
    assert_eq!(loaded.stats().counters_refused, 5);
}

#[test]
fn health_counts_every_event_recorded_before_the_call() {
    // A long health interval: the sampler will not run during the test, so a verdict
    // that waited for it would still say Healthy with no events.
    let r = Recorder::builder()
        .capacity(4096)
        .health_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    for i in 0..2000u64 {
        r.record(&Event::new("fault", Severity::Critical).field("i", i));
    }
    let h = r.health();
    assert_eq!(h.status, HealthStatus::Unhealthy, "{h:?}");
    assert_eq!(h.total_events, 2000, "{h:?}");
    assert_eq!(h.figures.window_critical, 2000, "{h:?}");
    assert_eq!(r.stats().total_recorded, 2000);
}

#[test]
fn rates_just_after_start_are_not_inflated() {
    let r = Recorder::builder().capacity(1024).build().unwrap();
    for _ in 0..7 {
        info(&r, "early");
    }
    let h = r.health();
    // 7 events a few microseconds after start: over at least a second, not 35,000/s.
    assert!(h.figures.events_per_sec <= 7.0, "{:?}", h.figures);
    assert_eq!(h.figures.window_events, 7);
}
