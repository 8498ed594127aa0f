//! Recordings: every format opens as one and round-trips; the seed recorder's shape
//! loads; gaps and losses survive; bad files get typed errors with file and line.

#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::io::Write;
use std::time::Duration;

use flightring::exporter::{Exporter, ExporterConfig};
use flightring::recording::{Entries, Entry, Filter, Recording, RecordingError, Source};
use flightring::{Event, Recorder, Severity};

fn dir(name: &str) -> std::path::PathBuf {
    temp_dir::temp_dir("recording", name)
}

fn sample(rec: &Recorder, n: u64) {
    for i in 0..n {
        let sev = Severity::ALL[(i % 5) as usize];
        rec.record(
            &Event::new(if i % 3 == 0 { "rpc_call" } else { "block" }, sev)
                .peer(if i % 2 == 0 { "infura" } else { "alchemy" })
                .message("msg, with \"quotes\"")
                .field("i", i)
                .field("duration_ns", 1_000_000 + i * 1000)
                .field("ok", i % 2 == 0)
                .field("ratio", 0.5)
                .field("delta", -(i as i64) - 1),
        );
    }
}

#[test]
fn session_round_trips_through_every_format() {
    let d = dir("formats");
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let session = rec.start_recording("bull_run_2025");
    sample(&rec, 100);
    let (r, path) = session.save(&d).unwrap();
    assert_eq!(path, d.join("bull_run_2025.recording.json"));
    assert_eq!(r.len(), 100);
    assert!(r.losses().is_none(), "{:?}", r.losses());
    assert!(r.duration > Duration::ZERO);

    let back = Recording::open(&path).unwrap();
    assert_eq!(
        (&back.name, back.start_time, back.duration, &back.gaps),
        (&r.name, r.start_time, r.duration, &r.gaps)
    );
    for (a, b) in back.events.iter().zip(&r.events) {
        assert_eq!(a, b);
    }
    assert_eq!(back, r);
    assert_eq!(back.source, Source::Recording);

    // JSON Lines (the stream form), gzipped.
    let gz = d.join("r.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    r.write_jsonl(&mut enc).unwrap();
    enc.finish().unwrap();
    let from_stream = Recording::open(&gz).unwrap();
    assert_eq!(from_stream.source, Source::Stream);
    assert_eq!(from_stream.events, r.events);

    // The seed recorder's shape: kinds, severities, peers, messages, fields kept.
    let seed = d.join("seed.json");
    r.write_seed_json(std::fs::File::create(&seed).unwrap())
        .unwrap();
    let s = Recording::open(&seed).unwrap();
    assert_eq!(s.source, Source::Seed);
    assert_eq!(s.name, "bull_run_2025");
    assert_eq!(s.len(), 100);
    for (a, b) in s.events.iter().zip(&r.events) {
        assert_eq!(
            (&a.kind, a.severity, &a.peer, &a.message),
            (&b.kind, b.severity, &b.peer, &b.message)
        );
        assert_eq!(a.metadata.get("i"), b.metadata.get("i"));
        assert_eq!(a.metadata.get("delta"), b.metadata.get("delta"));
        let off = |x: &Recording, e| x.offset(e).as_secs_f64();
        assert!((off(&s, a) - off(&r, b)).abs() < 1e-5);
    }

    // CSV: the header and one row per event, read by a CSV parser.
    let mut csv_out = Vec::new();
    r.write_csv(&mut csv_out).unwrap();
    let mut rd = csv::Reader::from_reader(csv_out.as_slice());
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>().join(","),
        flightring::CSV_HEADER
    );
    let rows: Vec<_> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 100);
    assert_eq!(&rows[0][5], "msg, with \"quotes\"");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn export_and_panic_dump_open_with_losses_shown() {
    let d = dir("export");
    // One tier, so the arithmetic is one ring's: 200 into 64 overwrites 136.
    let rec = Recorder::builder()
        .capacity(64)
        .shards(1)
        .reserved_share(0.0)
        .build()
        .unwrap();
    sample(&rec, 200);
    let export = d.join("export.json");
    std::fs::write(&export, rec.export_json().unwrap()).unwrap();
    let r = Recording::open(&export).unwrap();
    assert_eq!(r.source, Source::Export);
    assert_eq!(r.len(), 64);
    assert_eq!(r.losses().overwritten, Some(136));
    assert!(!r.losses().is_none());
    assert!(r.summary().to_string().contains("136 overwritten"));

    let dump = format!(
        "{{\"schema\":\"flightring.panic\",\"schema_version\":1,\"panic\":{{\"message\":\"boom\",\"location\":null,\"thread\":\"main\",\"thread_id\":\"ThreadId(1)\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"pid\":1,\"backtrace\":null,\"events_retained\":64,\"events_written\":64}},\"snapshot\":{}}}",
        rec.export_json().unwrap()
    );
    let p = d.join("flightring-panic.json");
    std::fs::write(&p, dump).unwrap();
    let r = Recording::open(&p).unwrap();
    assert_eq!(r.source, Source::PanicDump);
    assert_eq!(r.panic.as_ref().unwrap().message, "boom");
    assert_eq!(r.len(), 64);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn seed_recording_shape_loads() {
    let d = dir("seed");
    let p = d.join("seed.json");
    std::fs::write(
        &p,
        r#"{"session_name": "bull_run_2025", "start_time": "2025-01-20T14:00:00",
            "duration_ms": 5000.0, "total_events": 3,
            "events": [
              {"timestamp_offset_ms": 0.0, "event_name": "swap", "event_data": {"pool": "0xabc", "amount": 3.25}, "source": "mempool"},
              {"timestamp_offset_ms": 1250.5, "event_name": "rpc_error", "event_data": {"severity": "error", "peer_id": "infura", "message": "timeout", "nested": {"a": 1}}},
              {"timestamp_offset_ms": 4000, "event_name": "block", "event_data": {}}
            ]}"#,
    )
    .unwrap();
    let r = Recording::open(&p).unwrap();
    assert_eq!(r.name, "bull_run_2025");
    assert_eq!(r.start_time.to_string(), "2025-01-20T14:00:00.000000000Z");
    assert_eq!(r.duration, Duration::from_secs(5));
    assert_eq!(r.len(), 3);
    let e = &r.events[1];
    assert_eq!(
        (e.kind.as_str(), e.severity),
        ("rpc_error", Severity::Error)
    );
    assert_eq!(e.peer.as_deref(), Some("infura"));
    assert_eq!(e.message, "timeout");
    assert_eq!(
        e.metadata.get("nested").unwrap().as_str(),
        Some("{\"a\":1}")
    );
    assert_eq!(r.offset(e), Duration::from_micros(1_250_500));
    let e0 = &r.events[0];
    assert_eq!(e0.metadata.get("source").unwrap().as_str(), Some("mempool"));
    assert_eq!(e0.metadata.get("amount").unwrap().as_f64(), Some(3.25));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn rotated_gzipped_stream_with_gaps_opens_whole() {
    let d = dir("rotated");
    let rec = Recorder::builder().capacity(65_536).build().unwrap();
    let cfg = ExporterConfig {
        path: d.join("flight_recorder.jsonl"),
        rotate_bytes: 8 << 10,
        gzip: true,
        keep_files: 1000,
        ..ExporterConfig::default()
    };
    let ex = Exporter::start(&rec, cfg).unwrap();
    sample(&rec, 2000);
    ex.flush().unwrap();
    ex.close().unwrap();
    let files = flightring::exporter::stream_files(d.join("flight_recorder.jsonl")).unwrap();
    assert!(files.len() > 3, "{files:?}");
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".gz")));
    let r = Recording::open_stream(d.join("flight_recorder.jsonl")).unwrap();
    assert_eq!(r.len() as u64 + r.losses().in_gaps, 2000);
    assert_eq!(r.len(), 2000);

    // A gap line in the middle of a stream is kept, at its place, through filtering.
    let p = d.join("gappy.jsonl");
    let mut text = String::new();
    let mut lines = Vec::new();
    r.write_jsonl(&mut lines).unwrap();
    let lines = String::from_utf8(lines).unwrap();
    for (i, l) in lines.lines().take(10).enumerate() {
        if i == 5 {
            text.push_str("{\"type\":\"Gap\",\"lost\":7,\"at\":\"2026-01-01T00:00:00Z\"}\n");
        }
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&p, &text).unwrap();
    let g = Recording::open(&p).unwrap();
    assert_eq!(g.gaps.len(), 1);
    assert_eq!((g.gaps[0].before, g.gaps[0].lost), (5, 7));
    assert_eq!(g.losses().in_gaps, 7);
    let cut = Filter::new().min_severity(Severity::Critical).apply(&g);
    assert_eq!(cut.losses().in_gaps, 7, "a filter keeps the gaps");
    assert!(g.timeline(20).contains("7 events missing"));
    let entries: Vec<_> = Entries::open(&p).unwrap().map(Result::unwrap).collect();
    assert!(matches!(entries[5], Entry::Gap(g) if g.lost == 7));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn session_counts_what_it_could_not_keep() {
    let rec = Recorder::builder().capacity(64).shards(1).build().unwrap();
    let session = rec.start_recording("burst");
    sample(&rec, 50_000);
    let r = session.stop();
    let l = r.losses();
    assert_eq!(
        r.len() as u64 + l.in_gaps,
        50_000,
        "every event kept or counted"
    );
    assert!(l.in_gaps > 0, "a 64-slot ring cannot keep up with a burst");

    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let session = rec.start_recording_with_limit("capped", 10);
    sample(&rec, 100);
    let r = session.stop();
    assert_eq!(r.len(), 10);
    assert_eq!(r.losses().in_gaps, 90);
}

fn err_of(name: &str, bytes: &[u8]) -> RecordingError {
    let d = dir("bad");
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    let e = Recording::open(&p).unwrap_err();
    assert_eq!(e.path(), p, "{e}");
    std::fs::remove_dir_all(&d).unwrap();
    e
}

#[test]
fn bad_files_get_typed_errors_with_line() {
    let good = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n";
    // Bad JSON on line 3.
    let e = err_of(
        "a.jsonl",
        format!("{good}{good}{{\"id\":2,\"timestamp\n").as_bytes(),
    );
    assert_eq!(e.line(), Some(3), "{e}");
    // A bad field names itself.
    let e = err_of(
        "b.jsonl",
        format!("{good}{}", good.replace("INFO", "LOUD")).as_bytes(),
    );
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().contains("severity"), "{e}");
    // Invalid UTF-8 on line 2, column 10.
    let mut bad = good.as_bytes().to_vec();
    let mut l2 = good.as_bytes().to_vec();
    l2[9] = 0xff;
    bad.extend_from_slice(&l2);
    let e = err_of("c.jsonl", &bad);
    assert_eq!((e.line(), e.column()), (Some(2), Some(10)), "{e}");
    assert!(e.to_string().contains("UTF-8"));
    // A truncated gzip stream.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..2000 {
        enc.write_all(good.as_bytes()).unwrap();
    }
    let gz = enc.finish().unwrap();
    let e = err_of("d.jsonl.gz", &gz[..gz.len() / 2]);
    assert!(e.to_string().contains("gzip"), "{e}");
    assert!(e.line().unwrap() > 1);
    // A line over the limit.
    let mut long = good.as_bytes().to_vec();
    long.extend(std::iter::repeat_n(
        b' ',
        flightring::recording::MAX_LINE_BYTES + 10,
    ));
    long.extend_from_slice(b"{}\n");
    let e = err_of("e.jsonl", &long);
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().contains("longer than"), "{e}");
    // A document of no known shape; a broken pretty-printed document.
    let e = err_of("f.json", b"{\"hello\": 1}");
    assert_eq!(e.line(), Some(1), "{e}");
    let e = err_of("f2.json", b"{\"schema\": \"other\", \"x\": 1}");
    assert!(matches!(e, RecordingError::Format { .. }), "{e}");
    let e = err_of(
        "g.json",
        b"{\n  \"schema\": \"flightring.snapshot\",\n  \"schema_version\": \n}",
    );
    assert_eq!(e.line(), Some(4), "{e}");
    // Missing file.
    let e = Recording::open("/nonexistent/x.json").unwrap_err();
    assert!(matches!(e, RecordingError::Io { .. }));
}

#[test]
fn hostile_streams_are_read_in_bounded_memory_keeping_what_was_whole() {
    let d = dir("hostile");
    let good = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n";
    let gzip = |chunk: &[u8], n: usize| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for _ in 0..n {
            enc.write_all(chunk).unwrap();
        }
        enc.finish().unwrap()
    };
    // One 64 MiB line without a newline: refused at the line limit, not read whole.
    let p = d.join("long.jsonl.gz");
    std::fs::write(&p, gzip(&[b'a'; 1 << 20], 64)).unwrap();
    let e = Recording::open(&p).unwrap_err();
    assert_eq!(e.line(), Some(1), "{e}");
    assert!(e.to_string().contains("longer than 16 MiB"), "{e}");
    // A line that begins like a document is read as one, up to the document limit.
    let mut doc = gzip(b"{\"schema\":\"flightring.snapshot\",\"x\":\"", 1);
    doc.extend(gzip(&[b'a'; 1 << 20], 64));
    std::fs::write(&p, doc).unwrap();
    let limits = flightring::ReadLimits::default()
        .max_line_bytes(1 << 20)
        .max_document_bytes(8 << 20);
    let e = Entries::open_with(&p, &limits).unwrap_err();
    assert!(e.to_string().contains("larger than the limit"), "{e}");
    // Empty lines by the million, then an event: its line number counts them.
    let mut many = gzip(b"\n", 1 << 22);
    many.extend(gzip(format!("{good}oops\n").as_bytes(), 1));
    std::fs::write(&p, many).unwrap();
    let mut it = Entries::open(&p).unwrap();
    assert!(matches!(it.next(), Some(Ok(Entry::Event(_)))));
    assert_eq!(it.next().unwrap().unwrap_err().line(), Some((1 << 22) + 2));
    // A gzip cut mid-stream: every whole line comes out, then where it broke.
    let whole = gzip(good.as_bytes(), 4000);
    std::fs::write(&p, &whole[..whole.len() / 2]).unwrap();
    let mut n = 0;
    let mut err = None;
    for e in Entries::open(&p).unwrap() {
        match e {
            Ok(Entry::Event(_)) => n += 1,
            Ok(Entry::Gap(_)) => unreachable!(),
            Err(e) => err = Some(e),
        }
    }
    let err = err.expect("the cut is reported");
    assert!(n > 0 && n < 4000, "{n}");
    assert_eq!(err.line(), Some(n + 1), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("after {} bytes", n * good.len())) && msg.contains("gzip"),
        "{msg}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}
