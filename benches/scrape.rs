//! `scrape`: what a Prometheus scrape costs, for a recorder in the state a busy node
//! leaves it (a few dozen kinds at every severity, a dozen latency histograms, a dozen
//! message types, named counters and gauges): rendering the text in both formats, and
//! a whole `GET /metrics` over loopback with a keep-alive client.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use flightring::integrations::prometheus::{render_into, Format};
use flightring::{Direction, Event, Recorder, Severity};

/// A recorder with a node's worth of state.
fn busy_recorder() -> Recorder {
    let rec = Recorder::builder()
        .capacity(1 << 16)
        .build()
        .expect("valid");
    let sevs = [
        Severity::Debug,
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];
    for i in 0..200_000u64 {
        let kind = format!("kind_{:02}", i % 40);
        rec.record(&Event::new(&kind, sevs[(i % 5) as usize]).field("i", i));
    }
    for h in 0..12 {
        let name = format!("rpc.method_{h}");
        for i in 0..10_000u64 {
            rec.observe(&name, Duration::from_nanos(1_000 + i * 997));
        }
    }
    for m in 0..12 {
        let msg = format!("msg_{m}");
        for i in 0..1_000u64 {
            rec.message("peer", &msg, Direction::Inbound, 100 + i * 37);
        }
    }
    for c in 0..20 {
        rec.add(&format!("counter_{c}"), c);
        rec.set_gauge(&format!("gauge_{c}"), c as f64);
    }
    rec
}

fn scrape(c: &mut Criterion) {
    let rec = busy_recorder();
    let mut g = c.benchmark_group("scrape");
    let mut out = String::with_capacity(64 << 10);
    for (name, format) in [
        ("render text", Format::Text),
        ("render openmetrics", Format::OpenMetrics),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                render_into(&rec, format, &mut out);
                black_box(out.len())
            })
        });
    }
    let server = flightring::http::serve(rec.clone(), "127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}/metrics", server.local_addr());
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    g.bench_function("GET /metrics over loopback", |b| {
        b.iter(|| {
            let mut resp = agent.get(&url).call().expect("scrape");
            black_box(resp.body_mut().read_to_string().expect("body").len())
        })
    });
    g.finish();
    out.clear();
    render_into(&rec, Format::Text, &mut out);
    eprintln!(
        "scrape: {} bytes of text, {} samples",
        out.len(),
        out.lines().filter(|l| !l.starts_with('#')).count()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = scrape
}
criterion_main!(benches);
