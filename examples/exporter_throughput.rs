//! Sustained throughput of the streaming exporter.
//!
//! Two threads record P2P-like events while the exporter streams them to a JSON Lines
//! file with the default settings (4096-event batches, 10 MiB rotation, gzip of rotated
//! files). First the writers go flat out (the exporter drains what it can; the rest is
//! counted in gap lines), then they are paced at fixed rates to find the rate the
//! exporter keeps up with losslessly. Prints events/s written and file MB/s.
//!
//! ```text
//! cargo run --release --example exporter_throughput [-- <events for the flat-out run>]
//! ```

use std::time::{Duration, Instant};

use flightring::exporter::{Exporter, ExporterConfig};
use flightring::{Event, Recorder, Severity};

const WRITERS: u64 = 2;

fn record(rec: &Recorder, w: u64, i: u64) {
    rec.record(
        &Event::new("message", Severity::Info)
            .peer("peer-7f3a9c")
            .message("received inv")
            .field("type", "inv")
            .field("bytes", 1234u64 + i % 100)
            .field("writer", w)
            .field("seq", i),
    );
}

struct Run {
    recorded: u64,
    written: u64,
    lost: u64,
    bytes: u64,
    rotated: u64,
    secs: f64,
}

/// Records `per_writer` events from each writer, at `rate` events/s in total (flat out
/// when `None`), then flushes; the time runs from the first event to the flush's end.
fn run(label: &str, per_writer: u64, rate: Option<f64>) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "flightring-throughput-{}-{label}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rec = Recorder::builder()
        .capacity(1 << 16)
        .build()
        .expect("recorder");
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            path: dir.join("flight_recorder.jsonl"),
            keep_files: 10_000,
            ..ExporterConfig::default()
        },
    )
    .expect("exporter");
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let rec = &rec;
            s.spawn(move || {
                let per_thread = rate.map(|r| r / WRITERS as f64);
                for i in 0..per_writer {
                    record(rec, w, i);
                    if let Some(r) = per_thread {
                        if i % 256 == 255 {
                            let due = Duration::from_secs_f64((i + 1) as f64 / r);
                            if let Some(ahead) = due.checked_sub(t.elapsed()) {
                                std::thread::sleep(ahead);
                            }
                        }
                    }
                }
            });
        }
    });
    exp.flush().expect("flush");
    let secs = t.elapsed().as_secs_f64();
    exp.close().expect("close");
    let st = exp.stats();
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        recorded: per_writer * WRITERS,
        written: st.events_written,
        lost: st.lost,
        bytes: st.bytes_written,
        rotated: st.files_rotated,
        secs,
    }
}

fn report(label: &str, r: &Run) {
    println!(
        "{label:<22} recorded {:>9}  written {:>9}  lost {:>9}  {:>6.2} s  {:>9.0} events/s written  {:>6.1} MB/s  {} files rotated",
        r.recorded,
        r.written,
        r.lost,
        r.secs,
        r.written as f64 / r.secs,
        r.bytes as f64 / r.secs / 1e6,
        r.rotated,
    );
    assert_eq!(
        r.written + r.lost,
        r.recorded,
        "every event written or counted"
    );
}

fn main() {
    let flat_out: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    println!(
        "{} writers, 65 536-event ring, defaults: 4096-event batches, 10 MiB rotation, gzip",
        WRITERS
    );
    let r = run("flat-out", flat_out / WRITERS, None);
    report("flat out", &r);
    for rate in [100_000.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0] {
        let per_writer = (rate * 2.0 / WRITERS as f64) as u64; // about 2 s each
        let r = run(&format!("paced-{rate}"), per_writer, Some(rate));
        report(&format!("paced {:.0}k/s", rate / 1000.0), &r);
    }
}
