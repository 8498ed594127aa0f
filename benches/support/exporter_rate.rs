//! The streaming exporter's sustained rate: writer threads record a given event
//! sequence (the typical event of `support/typical.rs`, or the realistic mix of
//! `support/mix.rs`) at a fixed total rate (or flat out) while
//! the exporter streams to a JSON Lines file with its defaults (4096-event batches,
//! 10 MiB rotation, gzip of rotated files unless turned off). Every event is either
//! written or counted in a gap line; [`Run::lossless`] says which.
//!
//! [`run_baseline`] is the simple baseline beside it: the mutex-and-deque recorder of
//! `support/baseline.rs` drained every millisecond by a thread that writes each event
//! with `serde_json` to one plain file (no rotation, no gzip, no gap lines).
//!
//! Included with `#[path = "../benches/support/exporter_rate.rs"] mod exporter_rate;`
//! next to `mod baseline;` (it uses `crate::baseline`).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use flightring::exporter::{Exporter, ExporterConfig};
use std::io::Write;

use flightring::{Event, Recorder};

use crate::baseline::Baseline;

/// Writer threads.
pub const WRITERS: u64 = 2;
/// Ring capacity (the default).
pub const CAPACITY: usize = 1 << 16;

/// One run's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub recorded: u64,
    pub written: u64,
    pub lost: u64,
    pub bytes: u64,
    pub rotated: u64,
    pub secs: f64,
}

impl Run {
    /// Events written per second, first event to the flush's end.
    pub fn events_per_s(&self) -> f64 {
        self.written as f64 / self.secs
    }

    /// File bytes per second (before gzip).
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }

    /// Every recorded event reached the file.
    pub fn lossless(&self) -> bool {
        self.lost == 0 && self.written == self.recorded
    }

    /// The accounting holds: every event written or counted as lost.
    pub fn conserved(&self) -> bool {
        self.written + self.lost == self.recorded
    }
}

/// Records `per_writer` events from each of [`WRITERS`] threads at `rate` events/s in
/// total (flat out when `None`), streaming them with gzip on or off, then flushes.
/// Writer `w` records `event(w × 4099 + i)` for `i` in `0..per_writer`.
pub fn run<'a>(
    event: &(dyn Fn(usize) -> Event<'a> + Sync),
    label: &str,
    per_writer: u64,
    rate: Option<f64>,
    gzip: bool,
) -> Run {
    let dir = temp_dir(label);
    let rec = Recorder::builder()
        .capacity(CAPACITY)
        .build()
        .expect("recorder");
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            path: dir.join("flight_recorder.jsonl"),
            keep_files: 10_000,
            gzip,
            ..ExporterConfig::default()
        },
    )
    .expect("exporter");
    let t = Instant::now();
    write_paced(t, per_writer, rate, &|i| rec.record(&event(i)));
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

/// A fresh temporary directory for one run.
fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "flightring-exporter-rate-{}-{label}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs [`WRITERS`] threads calling `record(w × 4099 + i)` for `i` in `0..per_writer`,
/// at `rate` events/s in total from `t` (flat out when `None`).
fn write_paced(t: Instant, per_writer: u64, rate: Option<f64>, record: &(dyn Fn(usize) + Sync)) {
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            s.spawn(move || {
                let per_thread = rate.map(|r| r / WRITERS as f64);
                // Writers start at different points of the sequence.
                let base = (w as usize) * 4099;
                for i in 0..per_writer {
                    record(base + i as usize);
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
}

/// The baseline at the same rate: `record(b, i)` records the `i`-th event into the
/// mutex-and-deque recorder (of [`CAPACITY`] events); a thread drains it every
/// millisecond into a plain JSON Lines file. Lost: overwritten before a drain.
pub fn run_baseline(
    record: &(dyn Fn(&Baseline, usize) + Sync),
    label: &str,
    per_writer: u64,
    rate: Option<f64>,
) -> Run {
    let dir = temp_dir(&format!("baseline-{label}"));
    let b = Baseline::new(CAPACITY);
    let done = std::sync::atomic::AtomicBool::new(false);
    let t = Instant::now();
    let (written, lost, bytes) = std::thread::scope(|s| {
        let drainer = s.spawn(|| {
            let file = std::fs::File::create(dir.join("baseline.jsonl")).expect("file");
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            let (mut written, mut lost, mut bytes) = (0u64, 0u64, 0u64);
            let mut batch = Vec::new();
            let mut line = Vec::new();
            loop {
                let last = done.load(std::sync::atomic::Ordering::Acquire);
                lost += b.drain_into(&mut batch);
                for e in batch.drain(..) {
                    line.clear();
                    serde_json::to_writer(&mut line, &e).expect("serialise");
                    line.push(b'\n');
                    out.write_all(&line).expect("write");
                    bytes += line.len() as u64;
                    written += 1;
                }
                if last {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            out.flush().expect("flush");
            (written, lost, bytes)
        });
        write_paced(t, per_writer, rate, &|i| record(&b, i));
        done.store(true, std::sync::atomic::Ordering::Release);
        drainer.join().expect("drainer")
    });
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        recorded: per_writer * WRITERS,
        written,
        lost,
        bytes,
        rotated: 0,
        secs,
    }
}
