//! Every configuration error names its field; valid configurations resolve as documented.

use std::time::Duration;

use flightring::{ConfigError, HealthThresholds, Recorder, Severity};

#[test]
fn each_invalid_field_is_named() {
    let cases: Vec<(flightring::Builder, &str)> = vec![
        (Recorder::builder().capacity(0), "capacity"),
        (
            Recorder::builder().capacity(flightring::MAX_CAPACITY + 1),
            "capacity",
        ),
        (Recorder::builder().shards(0), "shards"),
        (Recorder::builder().capacity(4).shards(8), "shards"),
        (Recorder::builder().retention(Duration::ZERO), "retention"),
        (
            Recorder::builder().sweep_interval(Duration::ZERO),
            "sweep_interval",
        ),
        (
            Recorder::builder().health_interval(Duration::ZERO),
            "health_interval",
        ),
        (Recorder::builder().slot_bytes(100), "slot_bytes"),
        (Recorder::builder().max_kinds(0), "max_kinds"),
        (Recorder::builder().max_histograms(70_000), "max_histograms"),
        (Recorder::builder().max_peers(0), "max_peers"),
        (Recorder::builder().histogram_max(1), "histogram_max"),
        (
            Recorder::builder().health_thresholds(HealthThresholds {
                error_rate_degraded: 0.5,
                error_rate_unhealthy: 0.1,
                ..Default::default()
            }),
            "health.error_rate_degraded",
        ),
        (
            Recorder::builder().health_thresholds(HealthThresholds {
                drop_rate_degraded: 2.0,
                ..Default::default()
            }),
            "health.drop_rate_degraded",
        ),
        (
            Recorder::builder().health_thresholds(HealthThresholds {
                critical_degraded: 5,
                critical_unhealthy: 1,
                ..Default::default()
            }),
            "health.critical_degraded",
        ),
        (
            Recorder::builder().health_thresholds(HealthThresholds {
                window: Duration::ZERO,
                ..Default::default()
            }),
            "health.window",
        ),
    ];
    for (builder, field) in cases {
        let err = builder.build().expect_err(field);
        assert_eq!(err.field(), field, "{err}");
        assert!(
            err.to_string()
                .contains(field.split('.').next_back().unwrap()),
            "message names the field: {err}"
        );
    }
    assert_eq!(
        Recorder::builder()
            .capacity(4)
            .shards(8)
            .build()
            .unwrap_err(),
        ConfigError::ShardsExceedCapacity {
            shards: 8,
            capacity: 4
        }
    );
}

#[test]
fn capacity_rounds_down_to_power_of_two_per_shard_and_memory_is_fixed() {
    let rec = Recorder::builder()
        .capacity(1000)
        .shards(3)
        .build()
        .unwrap();
    assert_eq!(rec.config().shards, 3);
    // 128,000 bytes over 3 shards: 666 cells each, rounded down to 512.
    assert_eq!(rec.capacity(), 3 * 512 * 64 / 128);
    // Issue #11 item 4: what is built is never more than what was asked.
    for (capacity, shards) in [(65_536, 3), (100, 3), (1024, 1000), (1000, 7)] {
        let c = Recorder::builder()
            .capacity(capacity)
            .shards(shards)
            .config()
            .unwrap();
        assert!(c.capacity <= capacity, "{capacity} over {shards}: {c:?}");
        assert!(c.capacity_bytes <= capacity * 128, "{c:?}");
        assert!(c.capacity * 2 > capacity, "at most halved: {c:?}");
        assert_eq!(c.shards, shards);
    }
    let rec = Recorder::builder()
        .capacity(65_536)
        .shards(8)
        .build()
        .unwrap();
    assert_eq!(rec.capacity(), 65_536);
    let before = rec.memory_bytes();
    assert!(
        before >= 65_536 * 128,
        "the ring alone is capacity × slot size: {before}"
    );
    assert!(
        before <= 65_536 * 128 + (4 << 20),
        "little beyond the ring: {before}"
    );
    for i in 0..200_000u64 {
        rec.record(
            &flightring::Event::new("x", Severity::Info)
                .message("m")
                .field("i", i),
        );
    }
    assert_eq!(rec.memory_bytes(), before, "recording never grows memory");
}

#[test]
fn defaults_are_documented_values() {
    let rec = Recorder::new();
    let c = rec.config();
    assert_eq!(c.capacity, 65_536);
    assert_eq!(c.slot_bytes, 128);
    assert_eq!(c.retention, Duration::from_secs(86_400));
    assert_eq!(c.sweep_interval, Duration::from_secs(300));
    assert_eq!(c.min_severity, Severity::Debug);
    assert!(c.shards >= 1 && c.shards.is_power_of_two());
    assert_eq!(c.capacity_bytes, 65_536 * 128);
    assert_eq!(c.max_event_bytes, 2048);
    // Events above `max_event_bytes` are cut to it (this one is 2 KiB and more).
    for bytes in flightring::SLOT_SIZES {
        let r = Recorder::builder()
            .capacity(64)
            .slot_bytes(bytes)
            .max_event_bytes(bytes)
            .build()
            .unwrap();
        r.record(&flightring::Event::new("k", Severity::Info).message(&"x".repeat(2000)));
        let e = &r.snapshot().events()[0];
        assert!(e.truncated);
        assert!(
            e.message.len() < bytes && e.message.len() >= bytes / 4,
            "{bytes}: {}",
            e.message.len()
        );
    }
}

#[test]
fn intervals_below_their_minimum_are_refused_with_the_minimum() {
    use flightring::{ConfigError, MIN_HEALTH_INTERVAL, MIN_RETENTION, MIN_SWEEP_INTERVAL};
    let ns = Duration::from_nanos(1);
    for (b, field, minimum, text) in [
        (
            Recorder::builder().retention(ns),
            "retention",
            MIN_RETENTION,
            "1s",
        ),
        (
            Recorder::builder().sweep_interval(ns),
            "sweep_interval",
            MIN_SWEEP_INTERVAL,
            "10ms",
        ),
        (
            Recorder::builder().health_interval(Duration::from_millis(9)),
            "health_interval",
            MIN_HEALTH_INTERVAL,
            "10ms",
        ),
    ] {
        let e = b.build().unwrap_err();
        assert_eq!(e.field(), field);
        assert!(
            matches!(e, ConfigError::TooShort { minimum: m, .. } if m == minimum),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains(&format!("{field} must be at least {text}")),
            "{e}"
        );
    }
    // The minimums themselves are accepted.
    Recorder::builder()
        .retention(MIN_RETENTION)
        .sweep_interval(MIN_SWEEP_INTERVAL)
        .health_interval(MIN_HEALTH_INTERVAL)
        .build()
        .unwrap();
}

/// Issue #11 item 3: a budget the machine cannot hold is a typed error from `build()`,
/// not an abort.
#[test]
fn a_ring_larger_than_the_machine_is_an_error_not_an_abort() {
    let asked = flightring::MAX_CAPACITY * 128;
    let physical = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map(|kib| kib * 1024);
    if physical.is_none_or(|p| p >= asked) {
        eprintln!("skipped: this machine may hold {asked} bytes ({physical:?})");
        return;
    }
    match Recorder::builder()
        .capacity(flightring::MAX_CAPACITY)
        .build()
    {
        Err(e @ flightring::ConfigError::OutOfMemory { .. }) => {
            assert_eq!(e.field(), "capacity");
            assert!(e.to_string().contains("could not be allocated"), "{e}");
        }
        other => panic!("{:?}", other.map(|r| r.config().clone())),
    }
}

/// Issue #11 item 5: names beyond the tables are refused visibly — counted in stats,
/// `/metrics` and as a health reason — and the helpers' own names are never refused.
#[test]
fn names_beyond_the_tables_are_counted_and_the_helpers_names_are_reserved() {
    let rec = Recorder::builder().max_histograms(4).build().unwrap();
    assert!(
        rec.stats().counters.is_empty(),
        "reserved names stay out until used"
    );
    assert!(rec.health().reasons.is_empty());
    for i in 0..100 {
        rec.observe(&format!("hist{i}"), std::time::Duration::from_micros(5));
        rec.add(&format!("count{i}"), 1);
    }
    let s = rec.stats();
    assert_eq!(s.histograms.len(), 4);
    assert_eq!((s.histograms_refused, s.counters_refused), (96, 84));
    // The table is full, yet the typed helpers' figures still land.
    rec.block_gap(100, 104);
    rec.block_end(7, std::time::Duration::from_millis(40), 3, 1, 0);
    assert_eq!(rec.counter_value("blocks_missed"), Some(4));
    assert_eq!(rec.counter_value("blocks_processed"), Some(1));
    assert!(rec.histogram_summary("block.duration").is_some());
    let h = rec.health();
    assert!(
        h.reasons.iter().any(|r| r.contains("names refused")
            && r.contains("96 histogram")
            && r.contains("84 counter")),
        "{h:#?}"
    );
    #[cfg(feature = "prometheus")]
    {
        let text = flightring::integrations::prometheus::render(
            &rec,
            flightring::integrations::prometheus::Format::Text,
        );
        assert!(
            text.contains("flightring_refused_names_total{table=\"histograms\"} 96"),
            "{text}"
        );
    }
}
