//! The streaming exporter: every event lands once or is counted by a gap line, rotated
//! files are complete and load back, the snapshot file is always whole, and I/O faults
//! are reported in health without stopping recording.
//!
//! The files are read back here independently of the library's reader: the directory is
//! listed and the lines parsed by hand (gap lines as JSON values, events with
//! `read_jsonl`), so a bug in `exporter::read_stream` cannot hide one in the writer.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use flightring::exporter::{
    read_stream_file, stream_files, Exporter, ExporterConfig, ExporterError, StreamLine,
};
use flightring::{read_jsonl, Event, EventRecord, HealthStatus, Recorder, Severity, Snapshot};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "flightring-exporter-test-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn config(path: PathBuf) -> ExporterConfig {
    ExporterConfig {
        path,
        batch_events: 256,
        flush_interval: Duration::from_millis(5),
        ..ExporterConfig::default()
    }
}

/// One line of a stream file, parsed by hand.
#[derive(Debug)]
enum Line {
    Event(EventRecord),
    Gap(u64),
}

fn read_text(path: &Path) -> String {
    let bytes = fs::read(path).unwrap();
    if path.to_string_lossy().ends_with(".gz") {
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "{} is not gzip", path.display());
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        s
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

fn parse(text: &str, what: &Path) -> Vec<Line> {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{} does not end with a whole line",
        what.display()
    );
    // Every file starts with the header line (the event shape, kind flightring.stream,
    // naming the format's version); gap lines have the event shape too.
    // (A file the exporter did not start, appended to, has none.)
    let header = |line: &str| line.contains("\"event_type\":\"flightring.stream\"");
    let mut lines = text.lines().peekable();
    if let Some(first) = lines.next_if(|l| header(l)) {
        let h: serde_json::Value = serde_json::from_str(first).unwrap();
        assert_eq!(h["metadata"]["schema_version"], 2, "{first}");
    }
    lines
        .map(|line| {
            assert!(!header(line), "a header inside {}: {line}", what.display());
            let mut evs = read_jsonl(line.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e}: {line}", what.display()));
            assert_eq!(evs.len(), 1);
            let e = evs.pop().unwrap();
            if e.kind == "flightring.gap" {
                assert_eq!(e.severity, Severity::Warning, "{line}");
                assert_eq!(e.metadata.len(), 1, "{line}");
                Line::Gap(e.metadata.get("lost").and_then(|v| v.as_u64()).unwrap())
            } else {
                Line::Event(e)
            }
        })
        .collect()
}

/// The stream's files found by listing `dir`: `<stem>.<digits><ext>[.gz]` by number,
/// then the current file.
fn files(dir: &Path, stem: &str, ext: &str) -> Vec<PathBuf> {
    let mut rotated: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let rest = name.strip_prefix(&format!("{stem}."))?;
            let (num, tail) = rest.split_once('.')?;
            let ok = tail == &ext[1..] || tail == format!("{}.gz", &ext[1..]);
            (ok && !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (num.parse().unwrap(), p))
        })
        .collect();
    rotated.sort();
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    let current = dir.join(format!("{stem}{ext}"));
    if current.exists() {
        out.push(current);
    }
    out
}

fn read_all(paths: &[PathBuf]) -> Vec<Line> {
    paths.iter().flat_map(|p| parse(&read_text(p), p)).collect()
}

fn field(e: &EventRecord, k: &str) -> u64 {
    e.metadata.get(k).and_then(|v| v.as_u64()).unwrap()
}

fn split(lines: Vec<Line>) -> (Vec<EventRecord>, u64, usize) {
    let mut events = Vec::new();
    let (mut lost, mut gaps) = (0, 0);
    for l in lines {
        match l {
            Line::Event(e) => events.push(e),
            Line::Gap(n) => {
                lost += n;
                gaps += 1;
            }
        }
    }
    (events, lost, gaps)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(10), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn every_event_lands_exactly_once() {
    let dir = TempDir::new("once");
    let rec = Recorder::builder()
        .capacity(1 << 16)
        .shards(2)
        .build()
        .unwrap();
    rec.record(&Event::new("before", Severity::Info));
    let exp = Exporter::start(&rec, config(dir.join("flight.jsonl"))).unwrap();
    let (writers, per) = (2u64, 20_000u64);
    std::thread::scope(|s| {
        for w in 0..writers {
            let rec = &rec;
            s.spawn(move || {
                for i in 0..per {
                    rec.record(&Event::new("k", Severity::Info).field("w", w).field("i", i));
                }
            });
        }
    });
    exp.flush().unwrap();
    let paths = files(&dir.0, "flight", ".jsonl");
    assert_eq!(
        paths,
        vec![dir.join("flight.jsonl")],
        "no rotation at 10 MiB"
    );
    let (events, lost, _) = split(read_all(&paths));
    assert_eq!(lost, 0, "a 64k ring holds all 40k events: nothing to lose");
    let mut seen = HashSet::new();
    for e in &events {
        assert_eq!(e.kind, "k", "only events recorded after start");
        assert!(
            seen.insert((field(e, "w"), field(e, "i"))),
            "written twice: {e:?}"
        );
    }
    assert_eq!(seen.len() as u64, writers * per);
    let st = exp.stats();
    assert_eq!(st.events_written, writers * per);
    assert_eq!((st.gaps, st.lost, st.io_errors), (0, 0, 0));
    assert_eq!(
        st.bytes_written,
        fs::metadata(dir.join("flight.jsonl")).unwrap().len()
    );
    exp.close().unwrap();
}

#[test]
fn rotation_and_gzip_keep_every_event_in_order() {
    let dir = TempDir::new("rotate");
    let rec = Recorder::builder()
        .capacity(1 << 14)
        .shards(1)
        .build()
        .unwrap();
    let rotate_bytes = 8 << 10;
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            rotate_bytes,
            keep_files: 1000,
            batch_events: 100,
            ..config(dir.join("flight.jsonl"))
        },
    )
    .unwrap();
    let n = 3000u64;
    for i in 0..n {
        rec.record(
            &Event::new("block", Severity::Info)
                .message("processed")
                .field("i", i),
        );
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    exp.flush().unwrap();
    exp.close().unwrap();
    let paths = files(&dir.0, "flight", ".jsonl");
    let (rotated, current) = paths.split_at(paths.len() - 1);
    assert_eq!(current[0], dir.join("flight.jsonl"));
    assert!(rotated.len() >= 10, "{} rotated files", rotated.len());
    assert_eq!(exp.stats().files_rotated, rotated.len() as u64);
    for p in rotated {
        assert!(
            p.to_string_lossy().ends_with(".jsonl.gz"),
            "{}",
            p.display()
        );
        let text = read_text(p);
        assert!(
            text.len() as u64 <= rotate_bytes || text.lines().count() == 1,
            "{} holds {} bytes",
            p.display(),
            text.len()
        );
    }
    let leftovers: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".jsonl") && n != "flight.jsonl")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let (events, lost, _) = split(read_all(&paths));
    assert_eq!(lost, 0);
    let is: Vec<u64> = events.iter().map(|e| field(e, "i")).collect();
    assert_eq!(is, (0..n).collect::<Vec<_>>(), "all events, in order, once");
    // The library's own listing and reader agree.
    let listed = stream_files(dir.join("flight.jsonl")).unwrap();
    assert_eq!(listed, paths);
    let again: Vec<u64> = listed
        .iter()
        .flat_map(|p| read_stream_file(p).unwrap())
        .map(|l| match l {
            StreamLine::Event(e) => field(&e, "i"),
            StreamLine::Gap(g) => panic!("unexpected {g:?}"),
        })
        .collect();
    assert_eq!(again, is);
}

#[test]
fn retention_by_count_and_age_and_crash_leftovers() {
    let dir = TempDir::new("retention");
    // Left by an earlier run: an old rotated file, a recent uncompressed one, and an
    // unfinished compression.
    let old = dir.join("flight.000003.jsonl.gz");
    fs::write(&old, b"old").unwrap();
    let month_ago = SystemTime::now() - Duration::from_secs(30 * 86_400);
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(month_ago)
        .unwrap();
    fs::write(dir.join("flight.000005.jsonl"), b"{\"partial\":1}\n").unwrap();
    fs::write(dir.join("flight.000004.jsonl.gz.tmp"), b"junk").unwrap();

    let rec = Recorder::builder()
        .capacity(1 << 14)
        .shards(1)
        .build()
        .unwrap();
    // At start: the old file goes (by age, not count), the unfinished compression goes,
    // the uncompressed file is compressed.
    Exporter::start(&rec, config(dir.join("flight.jsonl")))
        .unwrap()
        .close()
        .unwrap();
    assert!(!old.exists(), "older than max_age");
    assert!(!dir.join("flight.000004.jsonl.gz.tmp").exists());
    assert!(!dir.join("flight.000005.jsonl").exists());
    let text = read_text(&dir.join("flight.000005.jsonl.gz"));
    assert_eq!(text, "{\"partial\":1}\n");

    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            rotate_bytes: 4096,
            keep_files: 3,
            batch_events: 50,
            ..config(dir.join("flight.jsonl"))
        },
    )
    .unwrap();
    let n = 1000u64;
    for i in 0..n {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    exp.close().unwrap();
    let st = exp.stats();
    assert!(st.files_rotated > 3, "{st:?}");
    let paths = files(&dir.0, "flight", ".jsonl");
    let rotated = &paths[..paths.len() - 1];
    assert_eq!(rotated.len(), 3, "keep_files: {paths:?}");
    // Numbers continue after the highest found, and the newest three are kept.
    let last = 5 + st.files_rotated;
    let want: Vec<PathBuf> = (last - 2..=last)
        .map(|s| dir.join(&format!("flight.{s:06}.jsonl.gz")))
        .collect();
    assert_eq!(rotated, &want[..]);
    // What is kept is the end of the stream, whole and in order.
    let (events, lost, _) = split(read_all(&paths));
    assert_eq!(lost, 0);
    let is: Vec<u64> = events.iter().map(|e| field(e, "i")).collect();
    let first = is[0];
    assert_eq!(is, (first..n).collect::<Vec<_>>());
}

#[test]
fn a_gap_line_counts_what_the_exporter_missed() {
    let dir = TempDir::new("gap");
    let rec = Recorder::builder().capacity(64).shards(1).build().unwrap();
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            flush_interval: Duration::from_secs(3600),
            batch_events: 1_000_000,
            ..config(dir.join("flight.jsonl"))
        },
    )
    .unwrap();
    let before = rec.stats();
    let n = 10_000u64;
    for i in 0..n {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    exp.flush().unwrap();
    let after = rec.stats();
    let path = dir.join("flight.jsonl");
    let (events, lost, gaps) = split(read_all(std::slice::from_ref(&path)));
    assert!(gaps >= 1 && lost > 0, "a 64-slot ring must have lapped");
    assert_eq!(
        events.len() as u64 + lost,
        (after.total_recorded - before.total_recorded) + (after.dropped - before.dropped),
        "every position is written or counted"
    );
    let is: Vec<u64> = events.iter().map(|e| field(e, "i")).collect();
    assert!(is.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    assert_eq!(*is.last().unwrap(), n - 1, "the newest events are kept");
    let st = exp.stats();
    assert_eq!(
        (st.events_written, st.lost, st.gaps),
        (events.len() as u64, lost, gaps as u64)
    );
    // The library's reader sees the same gaps.
    let read: u64 = read_stream_file(&path)
        .unwrap()
        .iter()
        .map(|l| match l {
            StreamLine::Gap(g) => g.lost,
            StreamLine::Event(_) => 0,
        })
        .sum();
    assert_eq!(read, lost);
}

#[test]
fn the_snapshot_file_is_replaced_atomically() {
    let dir = TempDir::new("snapshot");
    let snap = dir.join("snap.json");
    let rec = Recorder::builder().capacity(2048).build().unwrap();
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            snapshot_path: Some(snap.clone()),
            snapshot_interval: Duration::from_millis(5),
            ..config(dir.join("flight.jsonl"))
        },
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let result = std::thread::scope(|s| {
        let writer = {
            let (rec, stop) = (&rec, Arc::clone(&stop));
            s.spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    rec.record(
                        &Event::new("k", Severity::Info)
                            .message("a message long enough to make the document large")
                            .field("i", i),
                    );
                    i += 1;
                    if i.is_multiple_of(200) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        };
        let reader = s.spawn(|| {
            let (mut reads, mut versions) = (0u64, HashSet::new());
            let t = Instant::now();
            // At least a second, and until five versions were seen (a loaded machine is slow).
            while t.elapsed() < Duration::from_secs(1)
                || versions.len() < 5 && t.elapsed() < Duration::from_secs(10)
            {
                match fs::read_to_string(&snap) {
                    Ok(text) => match Snapshot::from_json(&text) {
                        Ok(doc) => {
                            reads += 1;
                            versions.insert(doc.taken_at());
                        }
                        Err(e) => {
                            return Err(format!(
                                "half-written snapshot ({} bytes): {e}",
                                text.len()
                            ))
                        }
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && reads == 0 => {}
                    Err(e) => return Err(format!("the snapshot file went missing: {e}")),
                }
            }
            Ok((reads, versions.len()))
        });
        let r = reader.join();
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        r.unwrap()
    });
    let (reads, versions) = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        reads >= 5 && versions >= 5,
        "{reads} reads of {versions} versions"
    );
    exp.close().unwrap();
    let st = exp.stats();
    assert!(st.snapshots_written as usize >= versions, "{st:?}");
    let names: Vec<String> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp")),
        "temporary files left: {names:?}"
    );
    // The last snapshot (at close) holds the newest events.
    let last = Snapshot::from_json(&fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(last.events().last(), rec.snapshot().events().last());
}

#[test]
fn a_full_device_degrades_health_and_recording_goes_on() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("no /dev/full here; nothing to check");
        return;
    }
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let batch = 64;
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            batch_events: batch,
            flush_interval: Duration::from_millis(10),
            ..config(full.to_owned())
        },
    )
    .unwrap();
    assert_eq!(rec.health().status, HealthStatus::Healthy);
    for i in 0..100u64 {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    let err = exp.flush().unwrap_err();
    match &err {
        ExporterError::Io { what, path, source } => {
            assert_eq!((*what, path.as_path()), ("writing", full));
            assert_eq!(source.raw_os_error(), Some(28), "ENOSPC: {source}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("/dev/full"), "{err}");
    let h = rec.health();
    assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
    assert!(
        h.reasons
            .iter()
            .any(|r| r.starts_with("exporter: writing /dev/full") && r.contains("os error 28")),
        "{:?}",
        h.reasons
    );
    let st = exp.stats();
    assert!(st.io_errors >= 1, "{st:?}");
    assert!(st.last_error.as_deref().unwrap().contains("/dev/full"));
    // Recording goes on; the kept backlog is bounded, the rest counted as lost.
    let recorded = rec.stats().total_recorded;
    for i in 0..1000u64 {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    assert_eq!(rec.stats().total_recorded, recorded + 1000);
    wait_for("the backlog to be trimmed", || {
        let st = exp.stats();
        st.pending + st.lost == 1100 && st.pending <= 4 * batch as u64
    });
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata(full).unwrap().file_type().is_char_device());
    }
    assert!(matches!(exp.close(), Err(ExporterError::Io { .. })));
    let st = exp.stats();
    assert_eq!(
        (st.events_written, st.lost, st.pending),
        (0, 1100, 0),
        "{st:?}"
    );
    let h = rec.health();
    assert!(
        h.reasons.iter().any(|r| r.contains("unwritten")),
        "the loss at close stays visible: {:?}",
        h.reasons
    );
}

#[test]
fn a_removed_directory_is_reported_and_recovered_from() {
    let dir = TempDir::new("removed");
    let sub = dir.join("out");
    fs::create_dir_all(&sub).unwrap();
    let path = sub.join("flight.jsonl");
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let exp = Exporter::start(&rec, config(path.clone())).unwrap();
    let record = |range: std::ops::Range<u64>| {
        for i in range {
            rec.record(&Event::new("k", Severity::Info).field("i", i));
        }
    };
    record(0..100);
    exp.flush().unwrap();
    fs::remove_dir_all(&sub).unwrap();
    record(100..200);
    match exp.flush().unwrap_err() {
        ExporterError::Io {
            what,
            path: p,
            source,
        } => {
            assert_eq!((what, p.as_path()), ("opening", path.as_path()));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    let h = rec.health();
    assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
    assert!(
        h.reasons.iter().any(|r| r.starts_with("exporter: opening")),
        "{:?}",
        h.reasons
    );
    assert!(exp.stats().io_errors >= 1);
    fs::create_dir_all(&sub).unwrap();
    exp.flush().unwrap();
    assert!(
        rec.health().reasons.iter().all(|r| !r.contains("exporter")),
        "fault cleared once writes succeed: {:?}",
        rec.health().reasons
    );
    record(200..250);
    exp.close().unwrap();
    let (events, lost, _) = split(read_all(&[path]));
    assert_eq!(lost, 0);
    let is: Vec<u64> = events.iter().map(|e| field(e, "i")).collect();
    assert_eq!(
        is,
        (100..250).collect::<Vec<_>>(),
        "the kept batch, then new events"
    );
}

#[test]
fn close_and_drop_write_what_is_pending() {
    fn assert_traits<T: Send + Sync + std::fmt::Debug>() {}
    assert_traits::<Exporter>();
    let dir = TempDir::new("close");
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let lazy = |name: &str| ExporterConfig {
        flush_interval: Duration::from_secs(3600),
        batch_events: 1_000_000,
        ..config(dir.join(name))
    };
    let count = |name: &str| {
        let (events, lost, _) = split(read_all(&[dir.join(name)]));
        assert_eq!(lost, 0);
        events.len()
    };

    let exp = Exporter::start(&rec, lazy("dropped.jsonl")).unwrap();
    assert!(format!("{exp:?}").contains("dropped.jsonl"));
    for _ in 0..50 {
        rec.record(&Event::new("k", Severity::Info));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        count("dropped.jsonl"),
        0,
        "nothing written before the interval"
    );
    drop(exp);
    assert_eq!(count("dropped.jsonl"), 50);

    let exp = Exporter::start(&rec, lazy("closed.jsonl")).unwrap();
    for _ in 0..30 {
        rec.record(&Event::new("k", Severity::Info));
    }
    exp.close().unwrap();
    assert_eq!(count("closed.jsonl"), 30);
    exp.close().unwrap();
    assert!(!exp.is_running());
    assert!(matches!(exp.flush(), Err(ExporterError::Closed)));
}

#[test]
fn from_oldest_exports_what_is_retained_and_mends_a_torn_last_line() {
    let dir = TempDir::new("oldest");
    let path = dir.join("flight.jsonl");
    // An earlier process died mid-line.
    fs::write(&path, b"{\"id\":1,\"timest").unwrap();
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    for i in 0..10u64 {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    let exp = Exporter::start_from_oldest(&rec, config(path.clone())).unwrap();
    exp.close().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let (torn, rest) = text.split_once('\n').unwrap();
    assert_eq!(torn, "{\"id\":1,\"timest");
    let (events, _, _) = split(parse(rest, &path));
    let is: Vec<u64> = events.iter().map(|e| field(e, "i")).collect();
    assert_eq!(is, (0..10).collect::<Vec<_>>());
}

#[test]
fn an_unwritable_path_is_a_typed_error_at_start() {
    let dir = TempDir::new("unwritable");
    let rec = Recorder::builder().capacity(64).build().unwrap();
    let missing = dir.join("missing/flight.jsonl");
    let err = Exporter::start(&rec, config(missing.clone())).unwrap_err();
    match &err {
        ExporterError::Open { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );

    let file = dir.join("a-file");
    fs::write(&file, b"").unwrap();
    let under_file = file.join("flight.jsonl");
    match Exporter::start(&rec, config(under_file.clone())).unwrap_err() {
        ExporterError::Open { path, source } => {
            assert_eq!(path, under_file);
            #[cfg(target_os = "linux")]
            assert_eq!(source.raw_os_error(), Some(20), "ENOTDIR: {source}");
            let _ = source;
        }
        other => panic!("{other:?}"),
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.join("read-only");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        if fs::File::create(ro.join("probe")).is_err() {
            match Exporter::start(&rec, config(ro.join("flight.jsonl"))).unwrap_err() {
                ExporterError::Open { source, .. } => {
                    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied)
                }
                other => panic!("{other:?}"),
            }
        } // else: running as root, which may write anywhere.
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    }

    let snap = dir.join("missing/snap.json");
    match Exporter::start(
        &rec,
        ExporterConfig {
            snapshot_path: Some(snap.clone()),
            ..config(dir.join("flight.jsonl"))
        },
    )
    .unwrap_err()
    {
        ExporterError::Open { path, .. } => assert_eq!(path, snap),
        other => panic!("{other:?}"),
    }
    for (cfg, field) in [
        (
            ExporterConfig {
                batch_events: 0,
                ..config(dir.join("flight.jsonl"))
            },
            "batch_events",
        ),
        (
            ExporterConfig {
                snapshot_path: Some(dir.0.clone()),
                ..config(dir.join("flight.jsonl"))
            },
            "snapshot_path",
        ),
    ] {
        match Exporter::start(&rec, cfg).unwrap_err() {
            ExporterError::Config { field: f, .. } => assert_eq!(f, field),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_pipe_is_written_to_and_never_rotated() {
    let dir = TempDir::new("fifo");
    let fifo = dir.join("flight.jsonl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo here; nothing to check");
        return;
    }
    // Opening a pipe for writing waits for a reader.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            fs::File::open(&fifo)
                .unwrap()
                .read_to_string(&mut s)
                .unwrap();
            s
        })
    };
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            rotate_bytes: 100,
            ..config(fifo.clone())
        },
    )
    .unwrap();
    for i in 0..50u64 {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    exp.close().unwrap();
    let text = reader.join().unwrap();
    let (events, _, _) = split(parse(&text, &fifo));
    assert_eq!(events.len(), 50);
    let st = exp.stats();
    assert_eq!((st.files_rotated, st.io_errors), (0, 0), "{st:?}");
    assert_eq!(files(&dir.0, "flight", ".jsonl"), vec![fifo]);
}

/// The child of `a_file_size_limit_still_takes_every_line_that_fits`: run under a file
/// size limit (`ulimit -f`, SIGXFSZ ignored, so writes past it fail with EFBIG), it
/// exports 3000 events in one write of ~400 KB and prints the exporter's stats.
#[test]
fn child_file_size_limit() {
    let Ok(path) = std::env::var("FLIGHTRING_FSIZE_CHILD") else {
        return;
    };
    let rec = Recorder::builder().capacity(1 << 14).build().unwrap();
    for i in 0..3000u64 {
        rec.record(
            &Event::new("k", Severity::Info)
                .message("a line of about a hundred and thirty bytes")
                .field("i", i),
        );
    }
    let exp = Exporter::start_from_oldest(
        &rec,
        ExporterConfig {
            path: PathBuf::from(path),
            batch_events: 4096,
            flush_interval: Duration::from_millis(5),
            ..ExporterConfig::default()
        },
    )
    .unwrap();
    assert!(exp.flush().is_err(), "the limit is hit");
    let _ = exp.close();
    let s = exp.stats();
    println!("STATS {} {} {}", s.events_written, s.lost, s.pending);
}

#[test]
fn a_file_size_limit_still_takes_every_line_that_fits() {
    let dir = TempDir::new("fsize");
    let path = dir.join("flight.jsonl");
    // 256 blocks of 512 bytes: 128 KiB, a third of the one write.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -S -f 256 && exec \"$0\" --exact child_file_size_limit --nocapture")
        .arg(std::env::current_exe().unwrap())
        .env("FLIGHTRING_FSIZE_CHILD", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Vec<u64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("STATS "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let (written, lost) = (stats[0], stats[1]);
    let len = fs::metadata(&path).unwrap().len();
    let limit = 256 * 512;
    let (events, gap_lost, _) = split(parse(&read_text(&path), &path));
    // Whole lines up to within one line of the limit, each counted once.
    assert!(len <= limit && len > limit - 200, "{len} of {limit}");
    assert_eq!(events.len() as u64, written);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(field(e, "i"), i as u64);
    }
    assert_eq!(gap_lost, 0);
    assert_eq!(written + lost, 3000, "every event written or counted lost");
}
