//! `tracing_layer`: a `tracing` event through [`FlightringLayer`] beside the same event
//! through `tracing_subscriber::fmt` writing to `std::io::sink`, and a filtered-out
//! event (recorder level above the event's) in both interest modes beside the same
//! event with no subscriber at all. `record/direct` is the same event built by hand and
//! passed to `Recorder::record`, for what the layer adds.
//!
//! Each scenario has its own macro call site and its own dispatcher, so the callsite
//! interest cached by one does not leak into another.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flightring::integrations::tracing::FlightringLayer;
use flightring::{Event, Recorder, Severity};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

const PEER: &str = "12D3KooWHk9peer00042";
const ADDRESS: &str = "192.168.1.100:8333";

/// The typical event (kind, a formatted 40-character message, two fields), with
/// optional extra fields first. A macro, not a function: every use is its own
/// callsite, so the interest one scenario caches cannot leak into another.
macro_rules! typical_event {
    ($($extra:tt)*) => {
        tracing::info!(
            event_type = "block_received",
            $($extra)*
            address = ADDRESS,
            size = black_box(1024u64),
            "received block {} from peer in {}us",
            black_box(812_345u64),
            black_box(850u64)
        )
    };
}

/// The INFO event the filtered scenarios drop (one callsite per use, as above).
macro_rules! filtered_event {
    () => {
        tracing::info!(
            event_type = "block_received",
            peer_id = PEER,
            size = black_box(1024u64),
            "received block {}",
            black_box(812_345u64)
        )
    };
}

fn recorder() -> Recorder {
    Recorder::builder().capacity(65_536).build().expect("valid")
}

fn layer_dispatch(layer: FlightringLayer) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

fn tracing_layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracing_layer");
    g.throughput(Throughput::Elements(1));

    // The typical event: kind, peer, a formatted 40-character message, two fields.
    {
        let rec = recorder();
        let d = layer_dispatch(FlightringLayer::new(rec.clone()));
        tracing::dispatcher::with_default(&d, || {
            g.bench_function("enabled/flightring", |b| {
                b.iter(|| typical_event!(peer_id = PEER,))
            });
        });
        let ev = &rec.snapshot().events()[0];
        assert_eq!(ev.message, "received block 812345 from peer in 850us");
        assert_eq!(ev.peer.as_deref(), Some(PEER));
    }
    {
        let rec = recorder();
        let d = layer_dispatch(FlightringLayer::new(rec.clone()));
        tracing::dispatcher::with_default(&d, || {
            let span = tracing::info_span!("conn", peer_id = PEER);
            let _e = span.enter();
            g.bench_function("enabled/flightring_span_peer", |b| {
                b.iter(|| typical_event!())
            });
        });
        assert_eq!(rec.snapshot().events()[0].peer.as_deref(), Some(PEER));
    }
    {
        let d = Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(std::io::sink)
                .with_ansi(false)
                .finish(),
        );
        tracing::dispatcher::with_default(&d, || {
            g.bench_function("enabled/fmt_sink", |b| {
                b.iter(|| typical_event!(peer_id = PEER,))
            });
        });
    }
    {
        let rec = recorder();
        g.bench_function("record/direct", |b| {
            b.iter(|| {
                let msg = format_args!(
                    "received block {} from peer in {}us",
                    black_box(812_345u64),
                    black_box(850u64)
                );
                let mut buf = [0u8; 128];
                let mut w = std::io::Cursor::new(&mut buf[..]);
                let _ = std::io::Write::write_fmt(&mut w, msg);
                let n = w.position() as usize;
                let m = std::str::from_utf8(&buf[..n]).unwrap_or("");
                rec.record(
                    &Event::new("block_received", Severity::Info)
                        .peer(PEER)
                        .message(m)
                        .field("address", ADDRESS)
                        .field("size", black_box(1024u64)),
                )
            })
        });
    }

    // Filtered out: the recorder keeps Warning and up, the event is INFO.
    {
        let rec = recorder();
        rec.set_min_severity(Severity::Warning);
        let d = layer_dispatch(FlightringLayer::new(rec.clone()));
        tracing::dispatcher::with_default(&d, || {
            g.bench_function("filtered/flightring_dynamic", |b| {
                b.iter(|| filtered_event!())
            });
        });
        assert_eq!(rec.stats().total_recorded, 0);
    }
    {
        let rec = recorder();
        rec.set_min_severity(Severity::Warning);
        let d = layer_dispatch(FlightringLayer::with_cached_interest(rec.clone()));
        tracing::dispatcher::with_default(&d, || {
            g.bench_function("filtered/flightring_cached", |b| {
                b.iter(|| filtered_event!())
            });
        });
        assert_eq!(rec.stats().total_recorded, 0);
    }
    {
        let d = Dispatch::new(tracing::subscriber::NoSubscriber::default());
        tracing::dispatcher::with_default(&d, || {
            g.bench_function("filtered/no_subscriber", |b| b.iter(|| filtered_event!()));
        });
    }
    g.finish();
}

criterion_group!(benches, tracing_layer);
criterion_main!(benches);
