//! Recording and reading back: fields, kinds, truncation, every query filter, ordering.

use std::time::Duration;

use flightring::{Direction, Event, Query, Recorder, Severity, Timestamp, Value};

fn rec(capacity: usize) -> Recorder {
    Recorder::builder()
        .capacity(capacity)
        .shards(2)
        .build()
        .unwrap()
}

#[test]
fn event_round_trips_with_typed_metadata() {
    let r = rec(1024);
    let before = Timestamp::now();
    r.record(
        &Event::new("peer_connected", Severity::Info)
            .peer("peer123")
            .message("connected")
            .field("address", "192.168.1.100:8333")
            .field("size", 1024u64)
            .field("delta", -7i64)
            .field("ratio", 0.25f64)
            .field("inbound", true),
    );
    let after = Timestamp::now();
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 1);
    let e = &evs[0];
    assert_eq!(e.kind, "peer_connected");
    assert_eq!(e.severity, Severity::Info);
    assert_eq!(e.peer.as_deref(), Some("peer123"));
    assert_eq!(e.message, "connected");
    assert!(!e.truncated);
    assert_eq!(
        e.metadata.get("address"),
        Some(&Value::Str("192.168.1.100:8333".into()))
    );
    assert_eq!(e.metadata.get("size"), Some(&Value::U64(1024)));
    assert_eq!(e.metadata.get("delta"), Some(&Value::I64(-7)));
    assert_eq!(e.metadata.get("ratio"), Some(&Value::F64(0.25)));
    assert_eq!(e.metadata.get("inbound"), Some(&Value::Bool(true)));
    let slack = 20_000_000; // the TSC calibration error is µs; allow scheduling noise
    assert!(e.timestamp.as_unix_nanos() >= before.as_unix_nanos() - slack);
    assert!(e.timestamp.as_unix_nanos() <= after.as_unix_nanos() + slack);
}

#[test]
fn one_thread_gets_the_whole_capacity_in_time_order_with_unique_ids() {
    let r = Recorder::builder()
        .capacity(4096)
        .shards(4)
        .build()
        .unwrap();
    for i in 0..20_000u64 {
        r.record(&Event::new("k", Severity::Info).field("i", i));
    }
    let evs = r.snapshot().events();
    // A thread's shard rotates with time, so one busy thread fills every shard: nearly
    // the whole capacity is retained, not a quarter of it.
    assert!(evs.len() > 3 * 4096 / 4, "retained {} of 4096", evs.len());
    let mut ids: Vec<u64> = evs.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), evs.len(), "ids are unique");
    let r = Recorder::builder()
        .capacity(4096)
        .shards(1)
        .build()
        .unwrap();
    for i in 0..3000u64 {
        r.record(&Event::new("k", Severity::Info).field("i", i));
    }
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 3000);
    for w in evs.windows(2) {
        assert!(
            w[0].id < w[1].id,
            "within a shard, ids increase with recording order"
        );
        assert!(w[0].timestamp <= w[1].timestamp);
        assert_eq!(
            w[0].metadata.get("i").unwrap().as_u64().unwrap() + 1,
            w[1].metadata.get("i").unwrap().as_u64().unwrap()
        );
    }
}

#[test]
fn full_ring_keeps_the_newest_and_counts_overwrites() {
    let r = Recorder::builder().capacity(64).shards(1).build().unwrap();
    for i in 0..1000u64 {
        r.record(&Event::new("k", Severity::Info).field("i", i));
    }
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 64);
    assert_eq!(evs[0].metadata.get("i").unwrap().as_u64(), Some(936));
    assert_eq!(evs[63].metadata.get("i").unwrap().as_u64(), Some(999));
    let s = r.stats();
    assert_eq!(s.total_recorded, 1000);
    assert_eq!(s.retained, 64);
    assert_eq!(s.overwritten, 936);
    assert_eq!(
        s.total_recorded,
        s.retained + s.overwritten + s.expired + s.cleared
    );
}

#[test]
fn oversized_events_are_truncated_marked_and_counted() {
    let r = rec(64);
    let long = "ü".repeat(300);
    r.record(
        &Event::new("big", Severity::Warning)
            .peer("p")
            .message(&long)
            .field("blob", long.as_str()),
    );
    // Distinct keys: one object never holds a key twice (a repeated key is kept once).
    let keys: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let mut many = Event::new("many", Severity::Info);
    for k in &keys {
        many = many.field(k, 1u64);
    }
    r.record(&many);
    let evs = r.snapshot().events();
    assert!(evs.iter().all(|e| e.truncated));
    assert!(long.starts_with(&evs[0].message));
    assert_eq!(evs[1].metadata.len(), flightring::MAX_FIELDS);
    assert_eq!(r.stats().truncated, 2);
}

#[test]
fn kinds_by_name_by_handle_and_beyond_the_table() {
    let r = Recorder::builder()
        .capacity(256)
        .shards(1)
        .max_kinds(6)
        .build()
        .unwrap();
    let k = r.kind("cached");
    r.record(&Event::with_kind(&k, Severity::Info));
    r.record(&Event::new("cached", Severity::Info));
    // 4 built-in kinds + "cached" = 5; one more fits, the rest overflow.
    for name in ["k1", "k2", "k3"] {
        r.record(&Event::new(name, Severity::Info));
    }
    let other = Recorder::builder().capacity(64).build().unwrap();
    let foreign = other.kind("foreign");
    r.record(&Event::with_kind(&foreign, Severity::Info));
    let evs = r.snapshot().events();
    let kinds: Vec<&str> = evs.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["cached", "cached", "k1", "k2", "k3", "foreign"]);
    let s = r.stats();
    assert_eq!(s.by_kind["cached"], 2);
    assert_eq!(s.by_kind["k1"], 1);
    assert_eq!(s.by_kind["(other)"], 3, "{:?}", s.by_kind);
    assert_eq!(
        r.query(&Query::new().kind("k3")).len(),
        1,
        "inline kinds are queryable"
    );
}

fn populated() -> Recorder {
    let r = rec(4096);
    for i in 0..100u64 {
        let sev = Severity::ALL[(i % 5) as usize];
        let peer = format!("peer{}", i % 4);
        let msg = if i % 10 == 0 {
            format!("timeout on {i}")
        } else {
            format!("ok {i}")
        };
        let kind = if i % 2 == 0 { "even" } else { "odd" };
        r.record(
            &Event::new(kind, sev)
                .peer(&peer)
                .message(&msg)
                .field("i", i),
        );
    }
    r
}

fn ids(v: &[flightring::EventRecord]) -> Vec<u64> {
    v.iter()
        .map(|e| e.metadata.get("i").unwrap().as_u64().unwrap())
        .collect()
}

#[test]
fn query_limit_returns_newest_first() {
    let r = populated();
    assert_eq!(ids(&r.query(&Query::new().limit(3))), [99, 98, 97]);
    assert_eq!(r.query(&Query::new()).len(), 100);
    assert!(r.query(&Query::new().limit(0)).is_empty());
}

#[test]
fn query_each_filter() {
    let r = populated();
    let q = r.query(&Query::new().min_severity(Severity::Error));
    assert_eq!(q.len(), 40);
    assert!(q.iter().all(|e| e.severity >= Severity::Error));
    let q = r.query(&Query::new().min_severity(Severity::Critical).limit(2));
    assert_eq!(ids(&q), [99, 94]);
    assert_eq!(r.query(&Query::new().kind("even")).len(), 50);
    assert!(r.query(&Query::new().kind("never-seen")).is_empty());
    let q = r.query(&Query::new().peer("peer3"));
    assert_eq!(q.len(), 25);
    assert!(q.iter().all(|e| e.peer.as_deref() == Some("peer3")));
    assert!(
        r.query(&Query::new().peer("peer")).is_empty(),
        "peer matches exactly"
    );
    assert_eq!(
        ids(&r.query(&Query::new().contains("timeout"))),
        [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
    );
    let q = r.query(
        &Query::new()
            .kind("even")
            .peer("peer0")
            .contains("timeout")
            .min_severity(Severity::Debug),
    );
    assert_eq!(ids(&q), [80, 60, 40, 20, 0]);
}

#[test]
fn query_time_window() {
    let r = rec(1024);
    r.record(&Event::new("k", Severity::Info).message("early"));
    std::thread::sleep(Duration::from_millis(30));
    let mid = Timestamp::now();
    std::thread::sleep(Duration::from_millis(30));
    r.record(&Event::new("k", Severity::Info).message("late"));
    let late = r.query(&Query::new().since(mid));
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].message, "late");
    let early = r.query(&Query::new().until(mid));
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].message, "early");
    assert!(r.query(&Query::new().since(mid).until(mid)).is_empty());
    // The same filters on a snapshot and on loaded data agree with the live query.
    let snap = r.snapshot();
    assert_eq!(snap.query(&Query::new().since(mid)), late);
    assert_eq!(Query::new().until(mid).apply(&snap.events()), early);
}

#[test]
fn helpers_record_their_kinds_and_feed_stats() {
    let r = rec(1024);
    r.peer_connected("a", "10.0.0.1:1");
    r.peer_connected("b", "10.0.0.2:1");
    r.peer_disconnected("a", "10.0.0.1:1", "timeout");
    r.message("b", "version", Direction::Outbound, 150);
    r.message("b", "version", Direction::Inbound, 250);
    let err = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
    r.error("b", &err, "handshake");
    r.observe("rpc.getReserves", Duration::from_micros(850));
    r.observe_value("queue.depth", 12);

    let evs = r.query(&Query::new());
    let kinds: Vec<&str> = evs.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "error",
            "message",
            "message",
            "peer_disconnected",
            "peer_connected",
            "peer_connected"
        ]
    );
    assert_eq!(evs[0].message, "reset by peer");
    assert_eq!(evs[0].severity, Severity::Error);
    assert_eq!(
        evs[0].metadata.get("context"),
        Some(&Value::Str("handshake".into()))
    );
    assert_eq!(
        evs[1].metadata.get("direction"),
        Some(&Value::Str("inbound".into()))
    );
    assert_eq!(
        evs[3].metadata.get("reason"),
        Some(&Value::Str("timeout".into()))
    );

    let s = r.stats();
    assert_eq!(s.active_peers, 1);
    assert_eq!(s.active_peer_ids, ["b"]);
    assert_eq!(s.by_severity[&Severity::Error], 1);
    assert!((s.error_rate - 1.0 / 6.0).abs() < 1e-9);
    let rpc = &s.histograms["rpc.getReserves"];
    assert_eq!(
        (rpc.count, rpc.min, rpc.max, rpc.unit.as_str()),
        (1, 850_000, 850_000, "ns")
    );
    assert_eq!(s.histograms["queue.depth"].unit, "");
    let sizes = &s.message_sizes["version"];
    assert_eq!((sizes.count, sizes.min, sizes.max), (2, 150, 250));
    assert!(r.is_peer_connected("b") && !r.is_peer_connected("a"));
}

#[test]
fn error_message_includes_the_source_chain() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("handshake failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let r = rec(64);
    r.error("p", &Outer(std::io::Error::other("broken pipe")), "send");
    assert_eq!(
        r.query(&Query::new())[0].message,
        "handshake failed: broken pipe"
    );
}

#[test]
fn histogram_percentiles_and_handles() {
    let r = rec(64);
    let h = r.histogram("block").unwrap();
    for ms in 1..=100u64 {
        h.observe(Duration::from_millis(ms));
    }
    r.observe("block", Duration::from_secs(7200)); // beyond the 1 h bound
    let s = r.histogram_summary("block").unwrap();
    assert_eq!(s.count, 101);
    assert_eq!(s.out_of_range, 1);
    let near = |v: u64, want: u64| (v as f64 - want as f64).abs() <= want as f64 * 0.02;
    // 101 values: 1..=100 ms and one outlier, so the median is the 51st.
    assert!(near(s.p50, 51_000_000), "{s:?}");
    assert!(near(s.p90, 91_000_000), "{s:?}");
    assert!(near(s.p99, 100_000_000), "{s:?}");
    let hdr = r.histogram_hdr("block").unwrap();
    assert_eq!(hdr.len(), 101);
    assert!(r.histogram_summary("nope").is_none());
    let small = Recorder::builder()
        .capacity(64)
        .max_histograms(1)
        .build()
        .unwrap();
    small.observe("a", Duration::from_millis(1));
    small.observe("b", Duration::from_millis(1));
    assert!(small.histogram("c").is_none());
    assert_eq!(small.stats().histograms.len(), 1);
}

#[test]
fn text_search_covers_message_peer_and_string_fields_with_ignore_case() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    rec.record(
        &Event::new("dial", Severity::Warning)
            .peer("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")
            .field("address", "/ip4/198.51.100.7/tcp/30333"),
    );
    rec.record(&Event::new("dial", Severity::Info).message("Connection TIMEOUT after 3 s"));
    rec.record(&Event::new("rpc", Severity::Info).field("password", "198.51.100.7"));
    let n = |q: Query| rec.query(&q).len();
    assert_eq!(
        n(Query::new().text("198.51.100.7")),
        1,
        "the field, not the redacted password"
    );
    assert_eq!(n(Query::new().text("KooWD3")), 1);
    assert_eq!(n(Query::new().text("timeout")), 0);
    assert_eq!(n(Query::new().text("timeout").ignore_case(true)), 1);
    assert_eq!(
        n(Query::new()
            .contains("connection timeout")
            .ignore_case(true)),
        1
    );
    // The same on decoded events (snapshots, loaded exports, the SSE stream).
    let all = rec.snapshot().events();
    let q = Query::new().text("koowd3").ignore_case(true);
    assert_eq!(all.iter().filter(|e| q.matches(e)).count(), 1);
}
