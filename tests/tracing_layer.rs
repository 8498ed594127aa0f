//! The `tracing` layer: mapping of level, kind, peer (event and span), message and typed
//! metadata; `critical = true`; callsite filtering in both interest modes; and no
//! allocation on the recording path after warm-up.

#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use flightring::integrations::tracing::FlightringLayer;
use flightring::{EventRecord, Recorder, Severity, Value};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Metadata};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::Registry;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in;

fn recorder() -> Recorder {
    Recorder::builder()
        .capacity(1024)
        .slot_bytes(512)
        .build()
        .expect("valid")
}

fn dispatch(layer: FlightringLayer) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// Events oldest first.
fn events(rec: &Recorder) -> Vec<EventRecord> {
    rec.snapshot().events().to_vec()
}

#[test]
fn event_fields_map_to_kind_severity_peer_message_and_typed_metadata() {
    let rec = recorder();
    tracing::dispatcher::with_default(&dispatch(FlightringLayer::new(rec.clone())), || {
        tracing::info!(
            event_type = "peer_connected",
            peer_id = "p1",
            address = "192.168.1.100:8333",
            size = 1024u64,
            delta = -5i64,
            ratio = 0.5f64,
            ok = true,
            big = 7u128,
            list = ?[1, 2],
            shown = %"disp",
            "connected after {} tries",
            3
        );
        tracing::warn!(target: "net::sync", "no event type");
        tracing::debug!(peer = "p9", "debug");
        tracing::trace!("trace");
        tracing::error!(critical = true, "disk gone");
        tracing::error!(critical = false, "just an error");
    });
    let evs = events(&rec);
    assert_eq!(evs.len(), 6, "{evs:#?}");

    let e = &evs[0];
    assert_eq!(e.kind, "peer_connected");
    assert_eq!(e.severity, Severity::Info);
    assert_eq!(e.peer.as_deref(), Some("p1"));
    assert_eq!(e.message, "connected after 3 tries");
    let m = &e.metadata;
    assert_eq!(
        m.get("address"),
        Some(&Value::Str("192.168.1.100:8333".into()))
    );
    assert_eq!(m.get("size"), Some(&Value::U64(1024)));
    assert_eq!(m.get("delta"), Some(&Value::I64(-5)));
    assert_eq!(m.get("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(m.get("ok"), Some(&Value::Bool(true)));
    assert_eq!(m.get("big"), Some(&Value::U64(7)));
    assert_eq!(m.get("list"), Some(&Value::Str("[1, 2]".into())));
    assert_eq!(m.get("shown"), Some(&Value::Str("disp".into())));
    for k in ["event_type", "peer_id", "message"] {
        assert!(m.get(k).is_none(), "{k} is not metadata");
    }
    assert_eq!(m.len(), 8);
    assert!(!e.truncated);

    assert_eq!(
        (
            evs[1].kind.as_str(),
            evs[1].severity,
            evs[1].peer.as_deref()
        ),
        ("net::sync", Severity::Warning, None)
    );
    assert_eq!(evs[1].message, "no event type");
    // Without `target:` the kind is the module path.
    assert_eq!(evs[2].kind, "tracing_layer");
    assert_eq!(
        (evs[2].severity, evs[2].peer.as_deref()),
        (Severity::Debug, Some("p9"))
    );
    assert_eq!(evs[3].severity, Severity::Debug);
    assert_eq!(
        (evs[4].severity, evs[4].message.as_str()),
        (Severity::Critical, "disk gone")
    );
    assert!(evs[4].metadata.get("critical").is_none());
    assert_eq!(evs[5].severity, Severity::Error);
}

#[test]
fn peer_comes_from_the_nearest_enclosing_span_with_one() {
    let rec = recorder();
    tracing::dispatcher::with_default(&dispatch(FlightringLayer::new(rec.clone())), || {
        let outer = tracing::info_span!("conn", peer_id = "outer-peer");
        let _o = outer.enter();
        tracing::info!("in outer");
        {
            let inner = tracing::info_span!("handshake", step = 2u64);
            let _i = inner.enter();
            tracing::info!("in inner without a peer");
            tracing::info!(peer = "own-peer", "own peer wins");
        }
        {
            let late = tracing::info_span!("late", peer = tracing::field::Empty);
            let _l = late.enter();
            tracing::info!("late, not yet recorded");
            late.record("peer", "late-peer");
            tracing::info!("late, recorded");
        }
        let dbg = tracing::info_span!("dbg", peer = %"display-peer");
        let _d = dbg.enter();
        tracing::info!("display peer");
    });
    tracing::info!("outside every span and subscriber");
    let peers: Vec<_> = events(&rec)
        .into_iter()
        .map(|e| (e.message, e.peer))
        .collect();
    let want = [
        ("in outer", Some("outer-peer")),
        ("in inner without a peer", Some("outer-peer")),
        ("own peer wins", Some("own-peer")),
        ("late, not yet recorded", Some("outer-peer")),
        ("late, recorded", Some("late-peer")),
        ("display peer", Some("display-peer")),
    ];
    let got: Vec<_> = peers
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_deref()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn fields_past_the_limit_are_dropped_and_marked_truncated() {
    let rec = recorder();
    tracing::dispatcher::with_default(&dispatch(FlightringLayer::new(rec.clone())), || {
        tracing::info!(
            a = 1u64,
            b = 2u64,
            c = 3u64,
            d = 4u64,
            e = 5u64,
            f = 6u64,
            g = 7u64,
            h = 8u64,
            i = 9u64,
            j = 10u64,
            "many"
        );
    });
    let e = &events(&rec)[0];
    assert_eq!(e.metadata.len(), flightring::MAX_FIELDS);
    assert!(e.truncated);
}

#[test]
fn long_debug_values_are_cut_not_lost() {
    let rec = Recorder::builder()
        .capacity(1024)
        .slot_bytes(1024)
        .build()
        .expect("valid");
    let long = "é".repeat(2000);
    tracing::dispatcher::with_default(&dispatch(FlightringLayer::new(rec.clone())), || {
        tracing::info!(s = long.as_str(), "long");
    });
    let e = &events(&rec)[0];
    assert_eq!(e.message, "long");
    let s = e.metadata.get("s").and_then(Value::as_str).expect("string");
    assert!(!s.is_empty() && s.chars().all(|c| c == 'é'));
}

/// Captures the `&'static Metadata` of the events it sees.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<&'static Metadata<'static>>>>);
impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, ev: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.lock().unwrap().push(ev.metadata());
    }
}

fn interest_of(layer: &FlightringLayer, meta: &'static Metadata<'static>) -> Interest {
    <FlightringLayer as Layer<Registry>>::register_callsite(layer, meta)
}

#[test]
fn below_level_events_are_filtered_at_the_callsite() {
    // Metadata of an INFO event, an ERROR event and an INFO event with `critical`.
    let cap = Capture::default();
    tracing::dispatcher::with_default(
        &Dispatch::new(tracing_subscriber::registry().with(cap.clone())),
        || {
            tracing::info!("i");
            tracing::error!("e");
            tracing::info!(critical = true, "c");
        },
    );
    let metas = cap.0.lock().unwrap().clone();
    let (info, error, crit) = (metas[0], metas[1], metas[2]);

    let rec = recorder();
    rec.set_min_severity(Severity::Warning);
    let dynamic = FlightringLayer::new(rec.clone());
    let cached = FlightringLayer::with_cached_interest(rec.clone());
    // Dynamic: the level may change, so every event callsite is "sometimes".
    assert!(interest_of(&dynamic, info).is_sometimes());
    assert!(interest_of(&dynamic, error).is_sometimes());
    // Cached: decided now.
    assert!(interest_of(&cached, info).is_never());
    assert!(interest_of(&cached, error).is_always());
    assert!(
        interest_of(&cached, crit).is_always(),
        "critical could be Critical"
    );
    // An event at any level may be promoted by `critical = true`: no level hint...
    assert_eq!(
        <FlightringLayer as Layer<Registry>>::max_level_hint(&cached),
        None
    );
    assert_eq!(
        <FlightringLayer as Layer<Registry>>::max_level_hint(&dynamic),
        None
    );
    // ...except "off" while the recorder is disabled, in cached mode.
    rec.set_enabled(false);
    assert_eq!(
        <FlightringLayer as Layer<Registry>>::max_level_hint(&cached),
        Some(tracing_subscriber::filter::LevelFilter::OFF)
    );
    assert_eq!(
        <FlightringLayer as Layer<Registry>>::max_level_hint(&dynamic),
        None
    );
    assert!(interest_of(&cached, crit).is_never());
    rec.set_enabled(true);
    rec.set_min_severity(Severity::Critical);
    assert!(interest_of(&cached, error).is_never());
    assert!(interest_of(&cached, crit).is_always());

    // Through a subscriber: only what passes the level is recorded, and the filtered
    // events never reached `record` (they are not counted as rejected there).
    drop((dynamic, cached));
    for layer in [
        FlightringLayer::new(recorder()),
        FlightringLayer::with_cached_interest(recorder()),
    ] {
        let rec = layer.recorder().clone();
        rec.set_min_severity(Severity::Warning);
        tracing::dispatcher::with_default(&dispatch(layer.clone()), || {
            tracing::callsite::rebuild_interest_cache();
            tracing::info!("filtered");
            tracing::debug!("filtered");
            tracing::warn!("kept");
            layer.set_min_severity(Severity::Critical);
            tracing::error!("filtered now");
            tracing::info!(critical = true, "critical kept");
            layer.set_min_severity(Severity::Debug);
            tracing::debug!("kept again");
        });
        let msgs: Vec<_> = events(&rec).into_iter().map(|e| e.message).collect();
        assert_eq!(msgs, ["kept", "critical kept", "kept again"]);
        assert_eq!(rec.stats().rejected.total(), 0);
    }
}

#[test]
fn recording_through_the_layer_does_not_allocate() {
    let rec = recorder();
    let n = if cfg!(miri) { 10 } else { 2_000 };
    tracing::dispatcher::with_default(&dispatch(FlightringLayer::new(rec.clone())), || {
        let span = tracing::info_span!("conn", peer_id = "12D3KooWHk9peer00042");
        let _e = span.enter();
        let run = |i: u64| {
            tracing::info!(
                event_type = "block_received",
                address = "192.168.1.100:8333",
                size = i,
                delta = -1i64,
                ok = true,
                ratio = 0.25f64,
                list = ?[i, i + 1],
                "received block {} from peer in {}us",
                i,
                850
            );
            tracing::debug!(peer_id = "other", "debug {}", i);
        };
        run(0); // warm-up: registers the callsites, interns the kind
        let allocs = allocations_in(|| (1..=n).for_each(run));
        assert_eq!(allocs, 0, "allocations while recording {n} events");
    });
    let stats = rec.stats();
    assert_eq!(stats.total_recorded, 2 * (n + 1));
    let last = rec.snapshot().events().to_vec();
    let e = last
        .iter()
        .rev()
        .find(|e| e.kind == "block_received")
        .unwrap();
    assert_eq!(e.peer.as_deref(), Some("12D3KooWHk9peer00042"));
    assert_eq!(e.metadata.get("size"), Some(&Value::U64(n)));
}
