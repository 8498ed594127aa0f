//! The flight-recorder event set: every helper's kind, severity, fields, counters and
//! histograms; `PhaseGuard`; the macros' laziness; reading events back through a JSON
//! export; the network status report; and no allocation on the helpers' record path.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flightring::{
    read_jsonl, record_phase_end, record_phase_start, record_rpc_call, EventRecord, FieldValue,
    FlightEvent, FlightEventError, Metadata, NetworkReport, PhaseOutcome, PhaseResult, Recorder,
    Severity, Snapshot, Value, FLIGHT_KINDS,
};

// ------------------------------------------------------------------ allocation counting

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in;

// ------------------------------------------------------------------ helpers

fn rec() -> Recorder {
    Recorder::builder().capacity(4096).build().unwrap()
}

/// The only event recorded so far.
fn only(r: &Recorder) -> EventRecord {
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 1, "{evs:#?}");
    evs.into_iter().next().unwrap()
}

fn fields(e: &EventRecord) -> Vec<(&str, &Value)> {
    e.metadata.iter().collect()
}

fn u(v: u64) -> Value {
    Value::U64(v)
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

fn near(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= b.abs() * rel
}

const BLOCK: u64 = 19_000_123;

// ------------------------------------------------------------------ every helper

#[test]
fn block_start_and_end() {
    let r = rec();
    r.block_start(BLOCK);
    let e = only(&r);
    assert_eq!(
        (
            e.kind.as_str(),
            e.severity,
            e.peer.as_deref(),
            e.message.as_str()
        ),
        ("block_start", Severity::Info, None, "")
    );
    assert_eq!(fields(&e), vec![("block", &u(BLOCK))]);

    let r = rec();
    r.block_end(BLOCK, Duration::from_millis(120), 40, 30, 2);
    let e = only(&r);
    assert_eq!((e.kind.as_str(), e.severity), ("block_end", Severity::Info));
    assert!(!e.truncated);
    assert_eq!(
        fields(&e),
        vec![
            ("block", &u(BLOCK)),
            ("duration_ns", &u(120_000_000)),
            ("routes_generated", &u(40)),
            ("routes_filtered", &u(30)),
            ("opportunities", &u(2)),
        ]
    );
    assert_eq!(r.counter_value("blocks_processed"), Some(1));
    assert_eq!(r.counter_value("routes_generated"), Some(40));
    assert_eq!(r.counter_value("routes_filtered"), Some(30));
    assert_eq!(r.counter_value("opportunities"), Some(2));
    let h = r.histogram_summary("block.duration").unwrap();
    assert_eq!((h.count, h.unit.as_str()), (1, "ns"));
    assert!(near(h.max as f64, 120e6, 0.02), "{h:?}");
}

#[test]
fn phase_start_with_and_without_block_and_metadata() {
    let r = rec();
    r.phase_start(
        "route_build",
        &[("pools", FieldValue::U64(120)), ("dex", "uniswap".into())],
        Some(BLOCK),
    );
    let e = only(&r);
    assert_eq!(
        (e.kind.as_str(), e.severity, e.message.as_str()),
        ("phase_start", Severity::Debug, "route_build")
    );
    assert_eq!(
        fields(&e),
        vec![
            ("block", &u(BLOCK)),
            ("pools", &u(120)),
            ("dex", &s("uniswap"))
        ]
    );

    let r = rec();
    r.phase_start("warmup", &[], None);
    let e = only(&r);
    assert_eq!(e.message, "warmup");
    assert!(e.metadata.is_empty());
}

#[test]
fn phase_end_results_severities_and_counters() {
    let cases: [(PhaseResult<'_>, Severity, &str, Option<&str>); 4] = [
        (PhaseResult::Success, Severity::Info, "success", None),
        (PhaseResult::CacheHit, Severity::Info, "cache_hit", None),
        (PhaseResult::CacheMiss, Severity::Info, "cache_miss", None),
        (
            PhaseResult::Failure("timeout"),
            Severity::Warning,
            "failure",
            Some("timeout"),
        ),
    ];
    for (result, sev, name, reason) in cases {
        let r = rec();
        let started = Instant::now() - Duration::from_millis(5);
        let d = r.phase_end("price_fetch", started, result, Some(BLOCK));
        assert!(d >= Duration::from_millis(5));
        let e = only(&r);
        assert_eq!(
            (e.kind.as_str(), e.severity, e.message.as_str()),
            ("phase_end", sev, "price_fetch")
        );
        let ns = e
            .metadata
            .get("duration_ns")
            .and_then(Value::as_u64)
            .unwrap();
        assert!(
            ns >= 5_000_000 && ns <= d.as_nanos() as u64,
            "{ns} vs {d:?}"
        );
        let mut want = vec![
            ("block", u(BLOCK)),
            ("duration_ns", u(ns)),
            ("result", s(name)),
        ];
        if let Some(why) = reason {
            want.push(("reason", s(why)));
        }
        let got: Vec<_> = e.metadata.iter().map(|(k, v)| (k, v.clone())).collect();
        assert_eq!(got, want);
        let h = r.histogram_summary("phase.price_fetch").unwrap();
        assert_eq!(h.count, 1);
        let hits = r.counter_value("cache_hits").unwrap_or(0);
        let misses = r.counter_value("cache_misses").unwrap_or(0);
        assert_eq!(
            (hits, misses),
            match result {
                PhaseResult::CacheHit => (1, 0),
                PhaseResult::CacheMiss => (0, 1),
                _ => (0, 0),
            }
        );
    }
}

#[test]
fn phase_results_from_strings() {
    assert_eq!(PhaseResult::from("success"), PhaseResult::Success);
    assert_eq!(PhaseResult::from("ok"), PhaseResult::Success);
    assert_eq!(PhaseResult::from("cache_hit"), PhaseResult::CacheHit);
    assert_eq!(PhaseResult::from("cache_miss"), PhaseResult::CacheMiss);
    assert_eq!(PhaseResult::from("failure"), PhaseResult::Failure(""));
    assert_eq!(
        PhaseResult::from("rpc timeout"),
        PhaseResult::Failure("rpc timeout")
    );
    let err: Result<(), String> = Err("boom".into());
    assert_eq!(PhaseResult::from(&err), PhaseResult::Failure("boom"));

    let r = rec();
    r.phase_end("p", Instant::now(), "rpc timeout", None);
    let e = only(&r);
    assert_eq!(e.severity, Severity::Warning);
    assert_eq!(e.metadata.get("result"), Some(&s("failure")));
    assert_eq!(e.metadata.get("reason"), Some(&s("rpc timeout")));
    assert_eq!(e.metadata.get("block"), None);
}

#[test]
fn decision_error_skipped_gap() {
    let r = rec();
    r.decision(
        "router",
        "skip_route",
        "profit below threshold",
        "pool 0xabc",
        Some(BLOCK),
    );
    let e = only(&r);
    assert_eq!(
        (e.kind.as_str(), e.severity, e.message.as_str()),
        ("decision", Severity::Info, "profit below threshold")
    );
    assert_eq!(
        fields(&e),
        vec![
            ("block", &u(BLOCK)),
            ("component", &s("router")),
            ("action", &s("skip_route")),
            ("context", &s("pool 0xabc")),
        ]
    );

    let r = rec();
    r.error_event(
        "fetcher",
        "Timeout",
        "request timed out",
        "getReserves",
        None,
    );
    let e = only(&r);
    assert_eq!(
        (e.kind.as_str(), e.severity, e.message.as_str()),
        ("error_event", Severity::Error, "request timed out")
    );
    assert_eq!(
        fields(&e),
        vec![
            ("component", &s("fetcher")),
            ("error_type", &s("Timeout")),
            ("context", &s("getReserves")),
        ]
    );
    assert_eq!(r.counter_value("errors.fetcher"), Some(1));

    let r = rec();
    r.block_skipped(BLOCK, "node behind", BLOCK - 3);
    let e = only(&r);
    assert_eq!(
        (e.kind.as_str(), e.severity, e.message.as_str()),
        ("block_skipped", Severity::Warning, "node behind")
    );
    assert_eq!(
        fields(&e),
        vec![
            ("block", &u(BLOCK)),
            ("last_processed_block", &u(BLOCK - 3))
        ]
    );
    assert_eq!(r.counter_value("blocks_skipped"), Some(1));

    let r = rec();
    r.block_gap(101, 105);
    r.block_gap(200, 200);
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 2);
    assert_eq!(
        (evs[0].kind.as_str(), evs[0].severity),
        ("block_gap", Severity::Warning)
    );
    assert_eq!(
        fields(&evs[0]),
        vec![
            ("from_block", &u(101)),
            ("to_block", &u(105)),
            ("gap_blocks", &u(4))
        ]
    );
    assert_eq!(evs[1].metadata.get("gap_blocks"), Some(&u(0)));
    assert_eq!(r.counter_value("blocks_missed"), Some(4));
}

#[test]
fn rpc_call_success_and_failure() {
    let r = rec();
    r.rpc_call(
        "alchemy-mainnet-01",
        "eth_getLogs",
        Duration::from_millis(42),
        true,
        Some(BLOCK),
        18_432,
        100,
        97,
    );
    let e = only(&r);
    assert_eq!(
        (
            e.kind.as_str(),
            e.severity,
            e.peer.as_deref(),
            e.message.as_str()
        ),
        (
            "rpc_call",
            Severity::Debug,
            Some("alchemy-mainnet-01"),
            "eth_getLogs"
        )
    );
    assert!(
        !e.truncated,
        "an RPC call with typical names fits a 128-byte slot"
    );
    assert_eq!(
        fields(&e),
        vec![
            ("block", &u(BLOCK)),
            ("duration_ns", &u(42_000_000)),
            ("success", &Value::Bool(true)),
            ("payload_bytes", &u(18_432)),
            ("requested", &u(100)),
            ("returned", &u(97)),
        ]
    );
    assert_eq!(r.counter_value("rpc.alchemy-mainnet-01.success"), Some(1));
    assert_eq!(r.counter_value("rpc.alchemy-mainnet-01.failure"), None);
    assert_eq!(r.histogram_summary("rpc.eth_getLogs").unwrap().count, 1);

    r.rpc_call(
        "infura",
        "eth_call",
        Duration::from_millis(5),
        false,
        None,
        0,
        1,
        0,
    );
    let e = &r.snapshot().events()[1];
    assert_eq!(e.severity, Severity::Warning);
    assert_eq!(e.metadata.get("success"), Some(&Value::Bool(false)));
    assert_eq!(e.metadata.get("block"), None);
    assert_eq!(r.counter_value("rpc.infura.failure"), Some(1));
}

#[test]
fn long_endpoint_names_keep_success_and_failure_apart() {
    let r = rec();
    let endpoint = format!("https://{}.example.com/v2", "x".repeat(300));
    r.rpc_call(
        &endpoint,
        "m",
        Duration::from_millis(1),
        true,
        None,
        0,
        0,
        0,
    );
    r.rpc_call(
        &endpoint,
        "m",
        Duration::from_millis(1),
        false,
        None,
        0,
        0,
        0,
    );
    r.rpc_call(
        &endpoint,
        "m",
        Duration::from_millis(1),
        false,
        None,
        0,
        0,
        0,
    );
    let st = r.stats();
    let ok: Vec<_> = st
        .counters
        .iter()
        // Named by the endpoint's host (never its scheme, credentials or path).
        .filter(|(k, _)| k.starts_with("rpc.xxxx") && k.ends_with(".success"))
        .collect();
    let bad: Vec<_> = st
        .counters
        .iter()
        .filter(|(k, _)| k.starts_with("rpc.xxxx") && k.ends_with(".failure"))
        .collect();
    assert_eq!(ok.len(), 1, "{st:?}");
    assert_eq!(bad.len(), 1);
    assert_eq!(*ok[0].1, 1);
    assert_eq!(*bad[0].1, 2);
    assert!(ok[0].0.len() <= 128);
    let report = r.report(Duration::from_secs(1));
    assert_eq!((report.rpc.successes, report.rpc.failures), (1, 2));
}

#[test]
fn pools_counters() {
    let r = rec();
    r.pools_discovered(10);
    r.pools_discovered(5);
    r.pools_validated(12, 3);
    assert_eq!(r.counter_value("pools_discovered"), Some(15));
    assert_eq!(r.counter_value("pools_validated"), Some(12));
    assert_eq!(r.counter_value("pools_validation_failed"), Some(3));
    assert_eq!(r.stats().total_recorded, 0, "pool counters record no event");
}

#[test]
fn below_level_keeps_counters_and_histograms_but_not_the_event() {
    let r = Recorder::builder()
        .capacity(1024)
        .min_severity(Severity::Info)
        .build()
        .unwrap();
    r.rpc_call(
        "a",
        "eth_call",
        Duration::from_millis(2),
        true,
        None,
        1,
        1,
        1,
    );
    assert!(r.snapshot().is_empty());
    assert_eq!(r.stats().rejected.below_level, 1);
    assert_eq!(r.counter_value("rpc.a.success"), Some(1));
    assert_eq!(r.histogram_summary("rpc.eth_call").unwrap().count, 1);
}

// ------------------------------------------------------------------ PhaseGuard

#[test]
fn phase_guard_success_on_drop() {
    let r = rec();
    {
        let g = r.phase("jit_fetch", Some(BLOCK));
        assert_eq!(g.name(), "jit_fetch");
        std::thread::sleep(Duration::from_millis(2));
    }
    let evs = r.snapshot().events();
    assert_eq!(
        evs.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["phase_start", "phase_end"]
    );
    assert_eq!(evs[0].message, "jit_fetch");
    assert_eq!(evs[0].metadata.get("block"), Some(&u(BLOCK)));
    assert_eq!(evs[1].severity, Severity::Info);
    assert_eq!(evs[1].metadata.get("result"), Some(&s("success")));
    assert!(
        evs[1]
            .metadata
            .get("duration_ns")
            .unwrap()
            .as_u64()
            .unwrap()
            >= 2_000_000
    );
    assert_eq!(r.histogram_summary("phase.jit_fetch").unwrap().count, 1);
}

#[test]
fn phase_guard_failure_paths() {
    let r = rec();
    {
        let mut g = r.phase("a", None);
        g.fail("upstream down");
    }
    {
        let mut g = r.phase("b", None);
        g.set_result(PhaseResult::CacheHit);
    }
    let reason = format!("error {}", 42);
    let d = r.phase("c", None).finish(reason.as_str());
    assert!(d < Duration::from_secs(60));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = r.phase("d", None);
        panic!("inside the phase");
    }));
    assert!(caught.is_err());

    let ends: Vec<_> = r
        .snapshot()
        .events()
        .into_iter()
        .filter(|e| e.kind == "phase_end")
        .map(|e| {
            (
                e.message.clone(),
                e.severity,
                e.metadata.get("result").cloned(),
                e.metadata.get("reason").cloned(),
            )
        })
        .collect();
    assert_eq!(
        ends,
        vec![
            (
                "a".into(),
                Severity::Warning,
                Some(s("failure")),
                Some(s("upstream down"))
            ),
            ("b".into(), Severity::Info, Some(s("cache_hit")), None),
            (
                "c".into(),
                Severity::Warning,
                Some(s("failure")),
                Some(s("error 42"))
            ),
            (
                "d".into(),
                Severity::Warning,
                Some(s("failure")),
                Some(s("panicked"))
            ),
        ]
    );
    assert_eq!(r.counter_value("cache_hits"), Some(1));
    // `finish` records once: no second end on drop.
    assert_eq!(r.histogram_summary("phase.c").unwrap().count, 1);
}

// ------------------------------------------------------------------ macros

fn tick<T>(calls: &Cell<u32>, v: T) -> T {
    calls.set(calls.get() + 1);
    v
}

/// An argument that must never be evaluated.
fn boom<T>() -> T {
    panic!("evaluated")
}

#[test]
fn macros_do_not_evaluate_arguments_when_disabled() {
    let r = rec();
    r.set_enabled(false);
    let calls = Cell::new(0);
    record_phase_start!(r, tick(&calls, "p"), tick(&calls, None));
    record_phase_start!(r, "p", None, "k" => tick(&calls, 1u64));
    record_phase_end!(
        r,
        tick(&calls, "p"),
        tick(&calls, Instant::now()),
        tick(&calls, "cache_hit"),
        tick(&calls, None)
    );
    record_rpc_call!(
        r,
        tick(&calls, "e"),
        tick(&calls, "m"),
        tick(&calls, Duration::ZERO),
        tick(&calls, true),
        tick(&calls, None),
        tick(&calls, 1),
        tick(&calls, 1),
        tick(&calls, 1)
    );
    // Arguments that would panic are never reached either.
    record_phase_start!(r, boom(), None);
    record_phase_end!(r, "p", Instant::now(), boom::<&str>(), None);
    record_rpc_call!(r, "e", "m", boom(), true, None, 0, 0, 0);
    assert_eq!(calls.get(), 0);
    let st = r.stats();
    assert_eq!(st.rejected.total(), 0, "not even a rejection is counted");
    assert!(st.counters.is_empty(), "{:?}", st.counters);
    assert!(st.histograms.is_empty());

    // Closed is off too.
    let r = rec();
    r.close();
    record_rpc_call!(r, "e", "m", boom(), true, None, 0, 0, 0);
}

#[test]
fn phase_start_macro_skips_below_debug() {
    let r = Recorder::builder()
        .capacity(1024)
        .min_severity(Severity::Info)
        .build()
        .unwrap();
    let calls = Cell::new(0);
    record_phase_start!(r, tick(&calls, "p"), None);
    assert_eq!(calls.get(), 0);
    // phase_end is Info and updates figures: evaluated below Debug.
    record_phase_end!(r, tick(&calls, "p"), Instant::now(), "success", None);
    assert_eq!(calls.get(), 1);
    assert_eq!(r.snapshot().len(), 1);
}

#[test]
fn macros_evaluate_arguments_once_when_enabled() {
    let r = Arc::new(rec());
    let calls = Cell::new(0);
    record_phase_start!(r, tick(&calls, "p"), tick(&calls, Some(BLOCK)), "k" => tick(&calls, 7u64));
    record_phase_end!(
        &r,
        tick(&calls, "p"),
        tick(&calls, Instant::now()),
        tick(&calls, "cache_miss"),
        tick(&calls, Some(BLOCK))
    );
    record_rpc_call!(
        *r,
        tick(&calls, "e"),
        tick(&calls, "m"),
        tick(&calls, Duration::from_millis(1)),
        tick(&calls, false),
        tick(&calls, None),
        tick(&calls, 1),
        tick(&calls, 2),
        tick(&calls, 3),
    );
    assert_eq!(calls.get(), 3 + 4 + 8);
    let kinds: Vec<_> = r.snapshot().events().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["phase_start", "phase_end", "rpc_call"]);
    let evs = r.snapshot().events();
    assert_eq!(evs[0].metadata.get("k"), Some(&u(7)));
    assert_eq!(r.counter_value("cache_misses"), Some(1));
    assert_eq!(r.counter_value("rpc.e.failure"), Some(1));
    assert_eq!(r.histogram_summary("rpc.m").unwrap().count, 1);
}

// ------------------------------------------------------------------ reading back

fn record_one_of_each(r: &Recorder) {
    r.block_start(BLOCK);
    r.phase_start("route_build", &[("pools", 120u64.into())], Some(BLOCK));
    r.phase_end(
        "route_build",
        Instant::now() - Duration::from_millis(3),
        PhaseResult::Failure("no pools"),
        Some(BLOCK),
    );
    r.phase_end("price_fetch", Instant::now(), "cache_hit", None);
    r.decision("router", "skip_route", "low profit", "pool 0xabc", None);
    r.rpc_call(
        "alchemy",
        "eth_getLogs",
        Duration::from_millis(42),
        true,
        Some(BLOCK),
        18_432,
        100,
        97,
    );
    r.error_event(
        "fetcher",
        "Timeout",
        "timed out",
        "getReserves",
        Some(BLOCK),
    );
    r.block_skipped(BLOCK + 1, "node behind", BLOCK);
    r.block_gap(BLOCK + 2, BLOCK + 5);
    r.block_end(BLOCK, Duration::from_millis(120), 40, 30, 2);
}

fn normalise(mut evs: Vec<FlightEvent>) -> Vec<FlightEvent> {
    // Phase durations depend on the clock; check them apart, then zero them.
    for e in &mut evs {
        if let FlightEvent::PhaseEnd { duration_ns, .. } = e {
            *duration_ns = 0;
        }
    }
    evs
}

fn expected() -> Vec<FlightEvent> {
    vec![
        FlightEvent::BlockStart { block: BLOCK },
        FlightEvent::PhaseStart {
            phase: "route_build".into(),
            block: Some(BLOCK),
            metadata: Metadata(vec![("pools".into(), Value::U64(120))]),
        },
        FlightEvent::PhaseEnd {
            phase: "route_build".into(),
            duration_ns: 0,
            result: PhaseOutcome::Failure,
            reason: Some("no pools".into()),
            block: Some(BLOCK),
        },
        FlightEvent::PhaseEnd {
            phase: "price_fetch".into(),
            duration_ns: 0,
            result: PhaseOutcome::CacheHit,
            reason: None,
            block: None,
        },
        FlightEvent::Decision {
            component: "router".into(),
            action: "skip_route".into(),
            reason: "low profit".into(),
            context: "pool 0xabc".into(),
            block: None,
        },
        FlightEvent::RpcCall {
            endpoint: "alchemy".into(),
            method: "eth_getLogs".into(),
            duration_ns: 42_000_000,
            success: true,
            block: Some(BLOCK),
            payload_bytes: 18_432,
            requested: 100,
            returned: 97,
        },
        FlightEvent::ErrorEvent {
            component: "fetcher".into(),
            error_type: "Timeout".into(),
            message: "timed out".into(),
            context: "getReserves".into(),
            block: Some(BLOCK),
        },
        FlightEvent::BlockSkipped {
            block: BLOCK + 1,
            reason: "node behind".into(),
            last_processed_block: BLOCK,
        },
        FlightEvent::BlockGap {
            from_block: BLOCK + 2,
            to_block: BLOCK + 5,
            gap_blocks: 3,
        },
        FlightEvent::BlockEnd {
            block: BLOCK,
            duration_ns: 120_000_000,
            routes_generated: 40,
            routes_filtered: 30,
            opportunities: 2,
        },
    ]
}

#[test]
fn typed_events_round_trip_through_a_json_export() {
    let r = rec();
    record_one_of_each(&r);
    let loaded = Snapshot::from_json(&r.export_json().unwrap()).unwrap();
    let records = loaded.events();
    assert_eq!(records.len(), 10);
    let typed: Vec<FlightEvent> = records
        .iter()
        .map(|e| FlightEvent::from_record(e).unwrap_or_else(|err| panic!("{err}: {e:?}")))
        .collect();
    for (t, rec) in typed.iter().zip(&records) {
        assert_eq!(t.kind(), rec.kind);
    }
    if let FlightEvent::PhaseEnd { duration_ns, .. } = &typed[2] {
        assert!(*duration_ns >= 3_000_000);
    }
    let mut kinds: Vec<_> = typed.iter().map(FlightEvent::kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut all = FLIGHT_KINDS.to_vec();
    all.sort_unstable();
    assert_eq!(kinds, all, "every kind is covered");
    assert_eq!(normalise(typed.clone()), expected());

    // The report can be computed from a loaded export's stats too.
    let from_file = NetworkReport::from_stats(loaded.stats(), Duration::from_secs(60));
    assert_eq!(from_file.blocks.processed, 1);
    assert_eq!(from_file.blocks.missed, 3);
    assert_eq!(from_file.cache.hits, 1);
    assert_eq!(from_file.rpc.by_endpoint["alchemy"].successes, 1);
    assert_eq!(from_file.errors.by_component["fetcher"], 1);

    // JSON Lines too, and the typed events themselves serialise and load back.
    let mut jsonl = Vec::new();
    r.write_jsonl(&mut jsonl).unwrap();
    let from_lines: Vec<FlightEvent> = read_jsonl(jsonl.as_slice())
        .unwrap()
        .iter()
        .map(|e| FlightEvent::from_record(e).unwrap())
        .collect();
    assert_eq!(from_lines, typed);
    let json = serde_json::to_string(&typed).unwrap();
    assert!(
        json.contains(r#"{"type":"block_start","block":19000123}"#),
        "{json}"
    );
    let back: Vec<FlightEvent> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, typed);
}

fn record_of(kind: &str, fields: Vec<(&str, Value)>, truncated: bool) -> EventRecord {
    let json = serde_json::json!({
        "id": 1,
        "timestamp": "2026-01-01T00:00:00Z",
        "severity": "INFO",
        "event_type": kind,
        "message": "",
    });
    let mut e: EventRecord = serde_json::from_value(json).unwrap();
    e.metadata = Metadata(fields.into_iter().map(|(k, v)| (k.into(), v)).collect());
    e.truncated = truncated;
    e
}

#[test]
fn from_record_names_the_kind_and_field_in_errors() {
    let err = FlightEvent::from_record(&record_of("peer_connected", vec![], false)).unwrap_err();
    assert_eq!(err, FlightEventError::UnknownKind("peer_connected".into()));

    let err = FlightEvent::from_record(&record_of("block_gap", vec![("from_block", u(1))], false))
        .unwrap_err();
    assert_eq!(
        err,
        FlightEventError::Missing {
            kind: "block_gap",
            field: "to_block"
        }
    );
    assert_eq!(
        err.to_string(),
        "block_gap event: field \"to_block\" is missing"
    );

    let err = FlightEvent::from_record(&record_of("block_start", vec![("block", s("7"))], false))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            FlightEventError::Invalid {
                kind: "block_start",
                field: "block",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("the string \"7\""), "{err}");

    let err = FlightEvent::from_record(&record_of(
        "phase_end",
        vec![("duration_ns", u(1)), ("result", s("maybe"))],
        false,
    ))
    .unwrap_err();
    assert!(
        matches!(
            &err,
            FlightEventError::Invalid {
                field: "result",
                ..
            }
        ),
        "{err:?}"
    );

    let err = FlightEvent::from_record(&record_of(
        "rpc_call",
        vec![("duration_ns", u(1)), ("success", u(1))],
        false,
    ))
    .unwrap_err();
    assert!(
        matches!(
            &err,
            FlightEventError::Invalid {
                kind: "rpc_call",
                field: "success",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn truncated_records_read_back_with_cut_strings() {
    let fields = vec![("component", s("router"))];
    let err = FlightEvent::from_record(&record_of("decision", fields.clone(), false)).unwrap_err();
    assert_eq!(
        err,
        FlightEventError::Missing {
            kind: "decision",
            field: "action"
        }
    );
    let ev = FlightEvent::from_record(&record_of("decision", fields, true)).unwrap();
    assert_eq!(
        ev,
        FlightEvent::Decision {
            component: "router".into(),
            action: String::new(),
            reason: String::new(),
            context: String::new(),
            block: None
        }
    );

    // A real truncated event, in 64-byte slots: the numbers survive.
    let r = Recorder::builder()
        .capacity(256)
        .slot_bytes(64)
        .build()
        .unwrap();
    r.error_event(
        "a-long-component-name",
        "SomeLongErrorType",
        "a long message that cannot fit",
        "a long context",
        Some(BLOCK),
    );
    let e = only(&r);
    assert!(e.truncated);
    match FlightEvent::from_record(&e).unwrap() {
        FlightEvent::ErrorEvent { block, .. } => assert_eq!(block, Some(BLOCK)),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------ report

#[test]
fn report_figures_from_known_inputs() {
    let r = rec();
    // 4 blocks: 100, 200, 300, 400 ms.
    for (i, ms) in [100u64, 200, 300, 400].into_iter().enumerate() {
        r.block_end(i as u64, Duration::from_millis(ms), 10, 4, 1);
    }
    r.block_skipped(10, "behind", 3);
    r.block_gap(11, 14);
    // RPC: alchemy 3 ok 1 failed, infura 1 failed.
    for ok in [true, true, true, false] {
        r.rpc_call(
            "alchemy",
            "eth_call",
            Duration::from_millis(10),
            ok,
            None,
            0,
            1,
            1,
        );
    }
    r.rpc_call(
        "infura",
        "eth_getLogs",
        Duration::from_millis(30),
        false,
        None,
        0,
        1,
        0,
    );
    // Cache: 3 hits, 1 miss.
    for res in ["cache_hit", "cache_hit", "cache_miss", "cache_hit"] {
        r.phase_end("prices", Instant::now(), res, None);
    }
    r.error_event("fetcher", "Timeout", "t", "c", None);
    r.error_event("fetcher", "Timeout", "t", "c", None);
    r.error_event("router", "Bug", "b", "c", None);
    r.pools_discovered(50);
    r.pools_validated(40, 10);

    let rep = r.report(Duration::from_secs(60));
    assert_eq!(rep.period_secs, 60.0);
    assert!(rep.covered_secs > 0.0 && rep.covered_secs < 60.0);

    let b = &rep.blocks;
    assert_eq!((b.processed, b.skipped, b.missed), (4, 1, 3));
    assert_eq!(
        (b.routes_generated, b.routes_filtered, b.opportunities),
        (40, 16, 4)
    );
    assert_eq!(b.latency_samples, 4);
    assert!(near(b.latency_avg_ms.unwrap(), 250.0, 0.02), "{b:?}");
    assert!(near(b.latency_p99_ms.unwrap(), 400.0, 0.02), "{b:?}");
    assert!(near(b.per_sec, 4.0 / rep.covered_secs, 1e-9));

    let rpc = &rep.rpc;
    assert_eq!((rpc.calls, rpc.successes, rpc.failures), (5, 3, 2));
    assert_eq!(rpc.success_rate, Some(0.6));
    assert_eq!(rpc.by_endpoint["alchemy"].success_rate, Some(0.75));
    assert_eq!(rpc.by_endpoint["infura"].successes, 0);
    assert_eq!(rpc.by_endpoint["infura"].success_rate, Some(0.0));
    assert_eq!(rpc.by_method["eth_call"].calls, 4);
    assert!(near(
        rpc.by_method["eth_getLogs"].avg_ms.unwrap(),
        30.0,
        0.02
    ));

    // Events: 4 block_end + skipped + gap + 5 rpc + 4 phase_end + 3 errors = 18.
    let e = &rep.errors;
    assert_eq!((e.events, e.errors), (18, 3));
    assert_eq!(e.error_rate, Some(3.0 / 18.0));
    assert_eq!(e.by_component["fetcher"], 2);
    assert_eq!(e.by_component["router"], 1);

    assert_eq!((rep.cache.hits, rep.cache.misses), (3, 1));
    assert_eq!(rep.cache.hit_rate, Some(0.75));
    assert_eq!(
        (
            rep.pools.discovered,
            rep.pools.validated,
            rep.pools.validation_failed
        ),
        (50, 40, 10)
    );
    assert_eq!(rep.pools.validation_success_rate, Some(0.8));

    // Serialisable, and loads back (floats within serde_json's last-digit rounding).
    let json = serde_json::to_string_pretty(&rep).unwrap();
    let back: NetworkReport = serde_json::from_str(&json).unwrap();
    assert_same_json(
        &serde_json::to_value(&back).unwrap(),
        &serde_json::to_value(&rep).unwrap(),
        "report",
    );
}

/// `a == b`, numbers compared with a relative tolerance of 1e-12.
fn assert_same_json(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= y.abs() * 1e-12, "{path}: {x} != {y}");
        }
        (J::Object(x), J::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (k, v) in x {
                assert_same_json(v, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn empty_report_has_no_rates() {
    let rep = rec().report(Duration::from_secs(300));
    assert_eq!(rep.blocks.processed, 0);
    assert_eq!(rep.blocks.latency_avg_ms, None);
    assert_eq!(rep.rpc.success_rate, None);
    assert_eq!(rep.errors.error_rate, None);
    assert_eq!(rep.cache.hit_rate, None);
    assert_eq!(rep.pools.validation_success_rate, None);
    let json = serde_json::to_value(&rep).unwrap();
    assert!(json["cache"]["hit_rate"].is_null());
}

#[test]
fn report_since_gives_the_interval() {
    let r = rec();
    let period = Duration::from_secs(10);
    r.block_end(1, Duration::from_millis(100), 5, 1, 0);
    r.rpc_call("a", "m", Duration::from_millis(10), false, None, 0, 0, 0);
    r.phase_end("p", Instant::now(), "cache_miss", None);
    r.pools_validated(1, 1);
    let first = r.report(period);
    std::thread::sleep(Duration::from_millis(5));
    r.block_end(2, Duration::from_millis(300), 7, 2, 1);
    r.block_end(3, Duration::from_millis(300), 0, 0, 0);
    r.rpc_call("a", "m", Duration::from_millis(50), true, None, 0, 0, 0);
    r.rpc_call("b", "m", Duration::from_millis(50), true, None, 0, 0, 0);
    r.phase_end("p", Instant::now(), "cache_hit", None);
    r.pools_validated(3, 0);
    r.error_event("x", "E", "m", "c", None);
    let d = r.report(period).since(&first);

    assert!(d.covered_secs >= 0.005 && d.covered_secs < first.covered_secs + 10.0);
    assert_eq!(d.blocks.processed, 2);
    assert_eq!(d.blocks.routes_generated, 7);
    assert!(
        near(d.blocks.latency_avg_ms.unwrap(), 300.0, 0.03),
        "{:?}",
        d.blocks
    );
    assert_eq!((d.rpc.successes, d.rpc.failures), (2, 0));
    assert_eq!(d.rpc.success_rate, Some(1.0));
    assert_eq!(d.rpc.by_endpoint["a"].successes, 1);
    assert_eq!(d.rpc.by_endpoint["b"].successes, 1);
    assert!(near(d.rpc.by_method["m"].avg_ms.unwrap(), 50.0, 0.03));
    assert_eq!(d.cache.hit_rate, Some(1.0));
    assert_eq!(d.pools.validation_success_rate, Some(1.0));
    // 2 block_end + 2 rpc + 1 phase_end + 1 error_event.
    assert_eq!((d.errors.events, d.errors.errors), (6, 1));
    assert_eq!(d.errors.by_component["x"], 1);
}

// ------------------------------------------------------------------ allocation

#[test]
fn helpers_do_not_allocate_in_steady_state() {
    let r = rec();
    let run = |r: &Recorder| {
        r.block_start(BLOCK);
        r.phase_start("route_build", &[("pools", 120u64.into())], Some(BLOCK));
        r.phase_end("route_build", Instant::now(), "cache_hit", Some(BLOCK));
        r.phase_end("route_build", Instant::now(), "cache_miss", Some(BLOCK));
        r.phase_end("route_build", Instant::now(), "boom", Some(BLOCK));
        drop(r.phase("guarded", None));
        r.decision("router", "skip", "low", "ctx", None);
        r.rpc_call(
            "alchemy",
            "eth_call",
            Duration::from_millis(1),
            true,
            None,
            1,
            1,
            1,
        );
        r.rpc_call(
            "alchemy",
            "eth_call",
            Duration::from_millis(1),
            false,
            None,
            1,
            1,
            1,
        );
        record_rpc_call!(
            r,
            "alchemy",
            "eth_call",
            Duration::from_millis(1),
            true,
            None,
            1,
            1,
            1
        );
        r.error_event("fetcher", "Timeout", "t", "c", Some(BLOCK));
        r.block_skipped(BLOCK, "behind", BLOCK - 1);
        r.block_gap(1, 3);
        r.block_end(BLOCK, Duration::from_millis(100), 1, 1, 1);
        r.pools_discovered(1);
        r.pools_validated(1, 1);
    };
    run(&r); // warm-up: interns kinds, counters and histograms
    let n = allocations_in(|| {
        for _ in 0..1000 {
            run(&r);
        }
    });
    assert_eq!(n, 0, "allocations on the typed-event record path");
    assert!(r.stats().total_recorded > 1000);
}

#[test]
fn a_caller_field_named_like_a_helpers_is_written_once() {
    let r = rec();
    r.phase_start(
        "route_build",
        &[("block", FieldValue::U64(5)), ("pools", FieldValue::U64(3))],
        Some(7),
    );
    let json = r.export_json().unwrap();
    assert_eq!(json.matches("\"block\":").count(), 1, "{json}");
    assert!(json.contains("\"block\":7"), "{json}");
    let mut lines = Vec::new();
    r.write_jsonl(&mut lines).unwrap();
    let line = String::from_utf8(lines).unwrap();
    assert_eq!(line.matches("\"block\":").count(), 1, "{line}");
    let e = &r.snapshot().events()[0];
    assert_eq!(e.metadata.0.iter().filter(|(k, _)| k == "block").count(), 1);
    assert_eq!(e.metadata.get("block"), Some(&Value::U64(7)));
    assert_eq!(e.metadata.get("pools"), Some(&Value::U64(3)));
}

#[test]
fn the_report_counts_rpc_calls_only_and_errors_by_component() {
    let r = rec();
    for ok in [true, true, false] {
        r.rpc_call(
            "alchemy",
            "eth_call",
            Duration::from_millis(4),
            ok,
            None,
            0,
            0,
            0,
        );
    }
    // Plain timings under an `rpc.` name are no RPC calls.
    for _ in 0..100 {
        r.observe("rpc.eth_call", Duration::from_millis(1));
        r.observe("rpc.getReserves", Duration::from_millis(1));
    }
    let err = std::io::Error::other("connection reset");
    r.error("peer1", &err, "sync");
    r.error("peer2", &err, "sync");
    r.error_event("router", "timeout", "no route", "", None);
    let rep = r.report(Duration::from_secs(60));
    assert_eq!(rep.rpc.calls, 3);
    let m = &rep.rpc.by_method;
    assert_eq!(m.keys().collect::<Vec<_>>(), ["eth_call"], "{m:?}");
    assert_eq!(m["eth_call"].calls, rep.rpc.calls);
    assert_eq!(rep.errors.by_component.get("sync"), Some(&2));
    assert_eq!(rep.errors.by_component.get("router"), Some(&1));
}
