//! Sustained throughput of the streaming exporter, on the typical event of the benches
//! (`benches/support/typical.rs`: a kind, a 20-character peer id, a 40-character
//! message, two fields) and on their realistic mix (`benches/support/mix.rs`: 1,000
//! peers, half with 52-character libp2p ids and multiaddrs, logfmt messages, 8 kinds).
//!
//! Two threads record while the exporter streams to a JSON Lines file with the default
//! settings (4096-event batches, 10 MiB rotation). First the writers go flat out (the
//! exporter drains what it can; the rest is counted in gap lines), then they are paced
//! at fixed rates, with gzip of rotated files on (the default) and off, to find the
//! rate the exporter keeps up with losslessly. Prints events/s written and file MB/s.
//! Beside each paced rate runs the simple baseline (a mutex-and-deque recorder drained
//! every millisecond into one plain file with `serde_json`), and the ratio of events
//! written per second, ours over the baseline's.
//! The bench command (`examples/bench.rs`, group `exporter`) prints the 1 M events/s
//! point of this sweep as JSON.
//!
//! ```text
//! cargo run --release --example exporter_throughput [-- <events for the flat-out run>]
//! ```

#[path = "../benches/support/baseline.rs"]
mod baseline;
#[path = "../benches/support/exporter_rate.rs"]
mod exporter_rate;
#[path = "../benches/support/mix.rs"]
mod mix;
#[path = "../benches/support/typical.rs"]
mod typical;

use baseline::{BaseValue, Baseline};
use exporter_rate::{run, run_baseline, Run, CAPACITY, WRITERS};

fn report(label: &str, r: &Run) {
    println!(
        "{label:<26} recorded {:>9}  written {:>9}  lost {:>9}  {:>6.2} s  {:>9.0} events/s written  {:>6.1} MB/s  {} files rotated",
        r.recorded,
        r.written,
        r.lost,
        r.secs,
        r.events_per_s(),
        r.mb_per_s(),
        r.rotated,
    );
    assert!(r.conserved(), "every event written or counted");
}

type Source<'a> = &'a (dyn Fn(usize) -> flightring::Event<'a> + Sync);
type BaseSource<'a> = &'a (dyn Fn(&Baseline, usize) + Sync);

/// The flat-out run, then the paced runs with gzip on and off, and the baseline's.
fn sweep(name: &str, event: Source<'_>, base: BaseSource<'_>, flat_out: u64) {
    println!("-- {name}");
    let r = run(event, "flat-out", flat_out / WRITERS, None, true);
    report("flat out, gzip", &r);
    for rate in [400_000.0, 800_000.0, 1_000_000.0, 1_200_000.0] {
        let per_writer = (rate * 2.0 / WRITERS as f64) as u64; // about 2 s each
        let k = rate / 1000.0;
        let b = run_baseline(base, &format!("paced-{rate}"), per_writer, Some(rate));
        report(&format!("paced {k:.0}k/s, baseline"), &b);
        for gzip in [true, false] {
            let r = run(
                event,
                &format!("paced-{rate}-{gzip}"),
                per_writer,
                Some(rate),
                gzip,
            );
            let g = if gzip { "gzip" } else { "no gzip" };
            report(&format!("paced {k:.0}k/s, {g}"), &r);
            println!(
                "{:<26} ratio {:.2} (events/s written, ours / baseline)",
                "",
                r.events_per_s() / b.events_per_s()
            );
        }
    }
}

fn main() {
    let flat_out: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let mix = mix::Mix::new();
    println!(
        "{WRITERS} writers, {CAPACITY}-cell ring, defaults: 4096-event batches, 10 MiB rotation; \
         the realistic mix has {:.0} content bytes/event",
        mix.mean_content_bytes()
    );
    sweep(
        "typical event",
        &|_| typical::event(),
        &|b, _| typical::record_baseline(b),
        flat_out,
    );
    sweep(
        "realistic mix",
        &|i| mix.event(i),
        &|b, i| mix_baseline(&mix, b, i),
        flat_out,
    );
}

/// The `i`-th event of the mix, recorded into the baseline.
fn mix_baseline(mix: &mix::Mix, b: &Baseline, i: usize) {
    let s = mix.spec(i);
    let (peer, addr) = &mix.peers[usize::from(s.peer)];
    b.record(
        mix::KINDS[usize::from(s.kind)],
        s.severity,
        Some(peer),
        &mix.messages[usize::from(s.message)],
        &[
            ("address", BaseValue::Str(addr)),
            ("size", BaseValue::U64(s.size)),
        ],
    );
}
