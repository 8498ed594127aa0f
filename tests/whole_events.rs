//! The events issue #15 found cut with the old 128-byte slots are stored whole with the
//! default configuration: real libp2p peer ids (52 characters), multiaddr addresses,
//! 60-character RPC endpoints, a decision with a pool address in its context. Only an
//! event above `max_event_bytes` is truncated, marked and counted; and an event's
//! footprint grows in 64-byte cells with its size.

use std::time::Duration;

use flightring::{Event, EventRecord, FlightEvent, Recorder, Severity, Value};

const PEER: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const ADDR: &str =
    "/ip4/198.51.100.7/tcp/30333/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const ENDPOINT: &str = "https://eth-mainnet.example-provider.io/v2/rpc/archive/node-07";

fn only(r: &Recorder) -> EventRecord {
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 1, "{evs:#?}");
    evs.into_iter().next().unwrap()
}

fn assert_whole(r: &Recorder, e: &EventRecord) {
    assert!(!e.truncated, "{e:#?}");
    let s = r.stats();
    assert_eq!(
        (s.truncated, s.total_recorded, s.retained),
        (0, 1, 1),
        "{s:?}"
    );
}

#[test]
fn peer_connected_with_a_libp2p_id_and_a_multiaddr_is_whole() {
    assert_eq!(PEER.len(), 52);
    let r = Recorder::new();
    r.peer_connected(PEER, ADDR);
    let e = only(&r);
    assert_whole(&r, &e);
    assert_eq!(e.peer.as_deref(), Some(PEER));
    assert_eq!(e.metadata.get("address"), Some(&Value::Str(ADDR.into())));
    assert_eq!(e.message, "peer connected");
}

#[test]
fn an_error_with_such_a_peer_is_whole() {
    let r = Recorder::new();
    let err = std::io::Error::other("connection reset by peer while reading frame header");
    r.error(
        PEER,
        &err,
        "yamux stream 17 to the relay, inbound substream negotiation",
    );
    let e = only(&r);
    assert_whole(&r, &e);
    assert_eq!(e.peer.as_deref(), Some(PEER));
    assert_eq!(
        e.message,
        "connection reset by peer while reading frame header"
    );
    let ctx = e
        .metadata
        .iter()
        .find(|(_, v)| matches!(v, Value::Str(s) if s.contains("inbound substream negotiation")));
    assert!(ctx.is_some(), "the context survives: {e:#?}");
}

#[test]
fn rpc_call_with_a_60_character_endpoint_is_whole_and_reads_back() {
    assert!(ENDPOINT.len() >= 60);
    let r = Recorder::new();
    r.rpc_call(
        ENDPOINT,
        "eth_getBlockByNumber",
        Duration::from_micros(1834),
        true,
        Some(19_000_000),
        48_213,
        1,
        1,
    );
    let e = only(&r);
    assert_whole(&r, &e);
    match FlightEvent::from_record(&e).unwrap() {
        FlightEvent::RpcCall {
            endpoint,
            method,
            success,
            payload_bytes,
            requested,
            returned,
            block,
            ..
        } => {
            assert!(endpoint.starts_with("https://eth-mainnet"), "{endpoint}");
            assert_eq!(method, "eth_getBlockByNumber");
            assert!(success);
            assert_eq!((payload_bytes, requested, returned), (48_213, 1, 1));
            assert_eq!(block, Some(19_000_000));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_decision_with_a_pool_address_in_its_context_is_whole() {
    let r = Recorder::new();
    let context = "pool=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640 fee=500 \
                   tick=201234 liquidity=12345678901234567890";
    r.decision(
        "router",
        "skip_bundle",
        "simulated profit below the gas cost at the current base fee",
        context,
        Some(19_000_001),
    );
    let e = only(&r);
    assert_whole(&r, &e);
    match FlightEvent::from_record(&e).unwrap() {
        FlightEvent::Decision {
            context: got,
            reason,
            ..
        } => {
            assert_eq!(got, context);
            assert_eq!(
                reason,
                "simulated profit below the gas cost at the current base fee"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_events_above_max_event_bytes_are_truncated_and_counted() {
    let r = Recorder::new();
    assert_eq!(r.config().max_event_bytes, 2048);
    let fits = "a".repeat(1900);
    let over = "b".repeat(4000);
    r.record(&Event::new("big", Severity::Info).message(&fits));
    r.record(&Event::new("bigger", Severity::Info).message(&over));
    let evs = r.snapshot().events();
    assert_eq!(evs.len(), 2);
    assert!(!evs[0].truncated && evs[0].message == fits);
    assert!(evs[1].truncated, "{:?}", evs[1].message.len());
    assert!(over.starts_with(&evs[1].message));
    assert!(evs[1].message.len() > 1900 && evs[1].message.len() <= 2048);
    assert_eq!(r.stats().truncated, 1);
}

#[test]
fn footprint_grows_in_cells_and_the_typical_event_takes_two() {
    // The crate's typical event: a 20-character peer, a 40-character message, an
    // address and a size. At most 128 bytes of ring; a small event takes one cell.
    let footprint = |ev: &Event<'_>| {
        let r = Recorder::builder().capacity(64).shards(1).build().unwrap();
        for _ in 0..1000 {
            r.record(ev);
        }
        let s = r.stats();
        assert_eq!(s.truncated, 0);
        // The ring is 64 × 128 bytes; how many of these events it holds says their size.
        (64 * 128) as f64 / s.retained as f64
    };
    let typical = Event::new("message", Severity::Info)
        .peer("12D3KooWAbCdEfGhIjKl")
        .message("connected to peer over tcp after handshake")
        .field("address", "10.0.0.1:8333")
        .field("size", 1024u64);
    assert_eq!(footprint(&typical), 128.0);
    assert_eq!(footprint(&Event::new("tick", Severity::Debug)), 64.0);
    // 16 header bytes plus the message: 2, 4 and 8 cells of 56 payload bytes.
    let sizes: Vec<f64> = [90usize, 200, 400]
        .iter()
        .map(|&n| footprint(&Event::new("m", Severity::Info).message(&"x".repeat(n))))
        .collect();
    assert_eq!(
        sizes,
        [128.0, 256.0, 512.0],
        "whole 64-byte cells, not slots"
    );
    let r = Recorder::builder().capacity(64).shards(1).build().unwrap();
    for _ in 0..1000 {
        r.record(&typical);
    }
    assert_eq!(r.stats().mean_event_bytes, 128.0);
}
