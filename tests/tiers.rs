//! The reserved tier (issue #15, item 3): Warning and above are kept apart from
//! Debug/Info, so no flood of chatter evicts the last warnings and errors; readers
//! merge both tiers in time order; stats give each tier's span and exact losses.

use std::time::Duration;

use flightring::{record, ConfigError, Event, EventRecord, Query, Recorder, Severity, TierStats};

const PEER: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

fn chatter(r: &Recorder, n: u64) {
    for i in 0..n {
        record!(
            r,
            if i % 3 == 0 {
                Severity::Info
            } else {
                Severity::Debug
            },
            "gossip",
            peer = PEER,
            message = "handshake seq=01234 lat=0123us ok queue=123",
            seq = i
        );
    }
}

fn errors(r: &Recorder, n: u64) {
    for i in 0..n {
        record!(
            r,
            Severity::Error,
            "rpc_error",
            peer = PEER,
            message = "upstream timed out after 3 retries",
            n = i
        );
    }
}

fn tier<'a>(tiers: &'a [TierStats], name: &str) -> &'a TierStats {
    tiers
        .iter()
        .find(|t| t.tier == name)
        .unwrap_or_else(|| panic!("no tier {name}: {tiers:#?}"))
}

/// `recorded = retained + overwritten + expired + cleared` in each tier, and each
/// tier's `retained` is what a snapshot finds of its severities.
fn assert_conserved(r: &Recorder) {
    let s = r.stats();
    let events = r.snapshot().events();
    let mut total = 0;
    for t in &s.tiers {
        assert_eq!(
            t.recorded,
            t.retained + t.overwritten + t.expired + t.cleared,
            "{t:#?}"
        );
        let found = events
            .iter()
            .filter(|e| (t.min_severity..=t.max_severity).contains(&e.severity))
            .count() as u64;
        assert_eq!(found, t.retained, "{t:#?}");
        total += t.recorded;
    }
    assert_eq!(total, s.total_recorded);
    assert_eq!(
        s.tiers.iter().map(|t| t.overwritten).sum::<u64>(),
        s.overwritten
    );
}

#[test]
fn a_debug_flood_does_not_evict_the_errors() {
    let r = Recorder::builder()
        .capacity(4096)
        .shards(2)
        .build()
        .unwrap();
    errors(&r, 100);
    // Forty times what the main tier holds.
    chatter(&r, 40 * 4096);
    let kept = r.query(&Query::new().min_severity(Severity::Warning).limit(1000));
    assert_eq!(kept.len(), 100, "the errors were evicted");
    let mut ns: Vec<_> = kept
        .iter()
        .map(|e| e.metadata.get("n").cloned().unwrap())
        .collect();
    ns.dedup();
    assert_eq!(ns.len(), 100);
    let s = r.stats();
    let main = tier(&s.tiers, "main");
    let reserved = tier(&s.tiers, "reserved");
    assert_eq!((reserved.recorded, reserved.retained), (100, 100));
    assert_eq!(reserved.overwritten, 0);
    assert!(main.overwritten > 30 * 4096, "{main:#?}");
    // The reserved tier reaches further back than the flooded main tier.
    assert!(reserved.oldest.unwrap() < main.oldest.unwrap(), "{s:#?}");
    assert!(reserved.newest.unwrap() < main.oldest.unwrap(), "{s:#?}");
    assert_conserved(&r);
}

#[test]
fn with_the_reserved_tier_off_the_same_flood_evicts_them() {
    let r = Recorder::builder()
        .capacity(4096)
        .shards(2)
        .reserved_share(0.0)
        .build()
        .unwrap();
    assert_eq!(r.config().reserved_bytes, 0);
    errors(&r, 100);
    chatter(&r, 40 * 4096);
    let kept = r.query(&Query::new().min_severity(Severity::Warning).limit(1000));
    assert!(kept.is_empty(), "{} errors survived", kept.len());
    let s = r.stats();
    assert_eq!(s.tiers.len(), 1);
    assert_eq!(
        (s.tiers[0].min_severity, s.tiers[0].max_severity),
        (Severity::Debug, Severity::Critical)
    );
    assert_conserved(&r);
}

#[test]
fn an_error_flood_is_lost_in_its_own_tier_and_counted_exactly() {
    let r = Recorder::builder()
        .capacity(4096)
        .shards(2)
        .build()
        .unwrap();
    chatter(&r, 1000);
    errors(&r, 50_000);
    let s = r.stats();
    let main = tier(&s.tiers, "main");
    let reserved = tier(&s.tiers, "reserved");
    assert_eq!(
        (main.recorded, main.retained, main.overwritten),
        (1000, 1000, 0)
    );
    assert_eq!(reserved.recorded, 50_000);
    assert!(reserved.overwritten > 40_000, "{reserved:#?}");
    assert_conserved(&r);
    r.clear();
    let s = r.stats();
    assert_eq!(tier(&s.tiers, "main").cleared, 1000);
    assert_eq!(
        tier(&s.tiers, "reserved").cleared,
        reserved.retained,
        "{s:#?}"
    );
    assert_conserved(&r);
}

#[test]
fn readers_merge_both_tiers_in_time_order() {
    let r = Recorder::builder()
        .capacity(4096)
        .shards(1)
        .build()
        .unwrap();
    let mut cursor = r.cursor();
    for i in 0..600u64 {
        let sev = Severity::ALL[(i % 5) as usize];
        record!(r, sev, "step", message = "one step of five", i = i);
    }
    let order = |evs: &[EventRecord]| -> Vec<u64> {
        evs.iter()
            .map(|e| match e.metadata.get("i") {
                Some(flightring::Value::U64(i)) => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let want: Vec<u64> = (0..600).collect();
    assert_eq!(order(&r.snapshot().events()), want, "snapshot");
    let mut q = r.query(&Query::new().limit(600));
    q.reverse();
    assert_eq!(order(&q), want, "query (newest first)");
    let batch = cursor.poll(10_000);
    assert_eq!(order(&batch.events), want, "cursor");
    let back = flightring::Snapshot::from_json(&r.export_json().unwrap()).unwrap();
    assert_eq!(order(&back.events()), want, "JSON export");
}

#[test]
fn the_share_resolves_to_a_power_of_two_fraction_and_bad_shares_are_typed_errors() {
    let c = Recorder::builder().config().unwrap();
    assert_eq!(c.reserved_share, 0.125);
    assert_eq!(c.reserved_bytes, c.capacity_bytes / 8);
    let r = Recorder::new();
    assert!(r.memory_bytes() >= c.capacity_bytes + c.reserved_bytes);
    let c = Recorder::builder().reserved_share(0.3).config().unwrap();
    assert_eq!(
        (c.reserved_share, c.reserved_bytes),
        (0.25, c.capacity_bytes / 4)
    );
    // Never less than one largest event per shard.
    let c = Recorder::builder()
        .capacity(64)
        .shards(1)
        .reserved_share(1.0 / 1024.0)
        .config()
        .unwrap();
    assert!(c.reserved_bytes / 64 * 56 >= c.max_event_bytes, "{c:#?}");
    for bad in [0.75, -0.1, f64::NAN, f64::INFINITY] {
        match Recorder::builder().reserved_share(bad).config() {
            Err(ConfigError::OutOfRange { field, .. }) => assert_eq!(field, "reserved_share"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn the_largest_event_fits_the_reserved_tier_of_a_small_ring() {
    let r = Recorder::builder().capacity(64).shards(1).build().unwrap();
    let big = "x".repeat(r.config().max_event_bytes - 200);
    r.record(
        &Event::new("rpc_error", Severity::Critical)
            .peer(PEER)
            .message(&big),
    );
    let e = r.snapshot().events();
    assert_eq!(e.len(), 1);
    assert!(!e[0].truncated);
    assert_eq!(e[0].message, big);
}

#[test]
fn tiers_say_how_far_back_they_reach() {
    let r = Recorder::new();
    errors(&r, 3);
    std::thread::sleep(Duration::from_millis(20));
    errors(&r, 1);
    chatter(&r, 10);
    let s = r.stats();
    let reserved = tier(&s.tiers, "reserved").to_string();
    assert!(
        reserved.starts_with("WARNING+: 4 events, the last "),
        "{reserved}"
    );
    assert!(tier(&s.tiers, "reserved").span_secs >= 0.02, "{s:#?}");
    let main = tier(&s.tiers, "main").to_string();
    assert!(main.starts_with("DEBUG..INFO: 10 events"), "{main}");
    // Health carries the same figures.
    let h = r.health();
    assert_eq!(h.tiers.len(), 2);
    assert_eq!(h.tiers[1].retained, 4);
}
