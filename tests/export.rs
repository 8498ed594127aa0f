//! Exports load back; bad input gets errors that say where and what.

use flightring::{read_jsonl, Event, ImportError, Recorder, Severity, Snapshot, Value};

fn populated() -> Recorder {
    let r = Recorder::builder()
        .capacity(1024)
        .shards(2)
        // So the 500-byte message below is cut (events up to 2 KiB are whole by default).
        .max_event_bytes(256)
        .build()
        .unwrap();
    r.peer_connected("peer1", "10.0.0.1:8333");
    r.record(
        &Event::new("block", Severity::Warning)
            .message("slow \"block\"\n processing")
            .field("height", 812_345u64)
            .field("delta", -3i64)
            .field("ratio", 0.5f64)
            .field("ok", false)
            .field("ünïcode", "✓"),
    );
    r.record(&Event::new("big", Severity::Error).message(&"x".repeat(500)));
    r.error("peer1", &std::io::Error::other("boom"), "ctx");
    r.observe("rpc.call", std::time::Duration::from_micros(120));
    r
}

#[test]
fn json_document_round_trips() {
    let r = populated();
    let snap = r.snapshot();
    let json = snap.to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "flightring.snapshot");
    assert_eq!(v["schema_version"], 1);
    for key in ["taken_at", "config", "stats", "health", "events"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let e = &v["events"][1];
    for key in [
        "id",
        "timestamp",
        "severity",
        "event_type",
        "message",
        "metadata",
    ] {
        assert!(e.get(key).is_some(), "{key} in {e}");
    }
    assert_eq!(e["severity"], "WARNING");
    assert!(v["events"][2]["truncated"].as_bool().unwrap());
    // Always present (pandas and DuckDB see one column of booleans).
    assert_eq!(e["truncated"], false);

    let loaded = Snapshot::from_json(&json).unwrap();
    assert_eq!(loaded.events(), snap.events());
    assert_eq!(loaded.stats(), snap.stats());
    assert_eq!(loaded.health(), snap.health());
    assert_eq!(loaded.config(), snap.config());
    // A loaded snapshot exports the same document again.
    assert_eq!(loaded.to_json().unwrap(), json);
    assert_eq!(
        loaded.events()[1].metadata.get("delta"),
        Some(&Value::I64(-3))
    );
}

#[test]
fn jsonl_round_trips_and_matches_the_document_events() {
    let r = populated();
    let snap = r.snapshot();
    let mut buf = Vec::new();
    snap.write_jsonl(&mut buf).unwrap();
    let text = String::from_utf8(buf.clone()).unwrap();
    assert_eq!(text.lines().count(), snap.len());
    let back = read_jsonl(&buf[..]).unwrap();
    assert_eq!(back, snap.events());
    // The in-place serialiser writes exactly what serde writes for owned records.
    for (line, rec) in text.lines().zip(snap.events()) {
        assert_eq!(line, serde_json::to_string(&rec).unwrap());
    }
    let mut via_recorder = Vec::new();
    r.write_jsonl(&mut via_recorder).unwrap();
    assert_eq!(read_jsonl(&via_recorder[..]).unwrap(), back);
}

#[test]
fn bad_jsonl_names_the_line_and_the_problem() {
    let good = serde_json::to_string(&populated().snapshot().events()[0]).unwrap();
    let cases = [
        (format!("{good}\n\n{{\"id\": 1"), 3, "EOF"),
        (
            format!("{good}\n{}", good.replace("\"INFO\"", "\"LOUD\"")),
            2,
            "severity",
        ),
        (
            format!(
                "{good}\n{}",
                good.replace("\"timestamp\":\"", "\"timestamp\":\"x")
            ),
            2,
            "timestamp",
        ),
        (
            format!("{}\n", good.replace("\"event_type\"", "\"kind\"")),
            1,
            "kind",
        ),
        (format!("{good} trailing\n"), 1, "trailing"),
        ("[1,2]\n".to_string(), 1, "timestamp"),
    ];
    for (input, line, what) in cases {
        let err = read_jsonl(input.as_bytes()).unwrap_err();
        assert_eq!(err.line(), Some(line), "{err}");
        assert!(
            err.to_string().contains(what),
            "{err} should mention {what}"
        );
    }
}

#[test]
fn bad_documents_get_typed_errors() {
    let json = populated().export_json().unwrap();
    let err =
        Snapshot::from_json(&json.replace("flightring.snapshot", "something.else")).unwrap_err();
    assert!(matches!(err, ImportError::Schema { .. }), "{err}");
    let err = Snapshot::from_json(&json.replace("\"schema_version\":1", "\"schema_version\":99"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Version {
                found: 99,
                supported: 1
            }
        ),
        "{err}"
    );
    let err = Snapshot::from_json(&json.replacen("\"WARNING\"", "\"LOUD\"", 1)).unwrap_err();
    match &err {
        ImportError::Invalid { path, message, .. } => {
            assert!(
                path.starts_with("events[") || path.starts_with("stats"),
                "{path}"
            );
            assert!(message.contains("LOUD"), "{message}");
        }
        other => panic!("{other}"),
    }
    let err = Snapshot::from_json("not json").unwrap_err();
    assert_eq!(err.line(), Some(1));
    let err = Snapshot::from_json("{}").unwrap_err();
    assert!(matches!(err, ImportError::Schema { .. }), "{err}");
    assert!(Snapshot::from_reader(&b"{\"schema\":"[..]).is_err());
}

#[test]
fn export_to_a_failing_writer_is_an_io_error_and_loses_nothing() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let r = populated();
    let before = r.snapshot().len();
    let err = r.write_json(Full).unwrap_err();
    assert!(matches!(err, flightring::ExportError::Io(_)), "{err}");
    assert!(r.write_jsonl(Full).is_err());
    assert_eq!(r.snapshot().len(), before, "a failed export loses nothing");
}

#[test]
fn a_large_export_streams_whole() {
    let r = Recorder::builder().capacity(65_536).build().unwrap();
    for i in 0..100_000u64 {
        r.record(
            &Event::new("k", Severity::Info)
                .peer("p")
                .message("m")
                .field("i", i),
        );
    }
    let snap = r.snapshot();
    let mut out = Vec::new();
    snap.write_json(&mut out).unwrap();
    let loaded = Snapshot::from_reader(&out[..]).unwrap();
    assert_eq!(loaded.len(), snap.len());
    assert!(snap.len() > 60_000);
}

#[test]
fn snapshot_into_reuses_buffers_and_matches_a_fresh_snapshot() {
    // Large enough for the parallel copy.
    let r = Recorder::builder()
        .capacity(1 << 18)
        .shards(4)
        .build()
        .unwrap();
    for i in 0..300_000u64 {
        r.record(
            &Event::new("k", Severity::Info)
                .peer("p")
                .message("m")
                .field("i", i),
        );
    }
    let fresh = r.snapshot();
    let mut reused = Snapshot::from_json(&populated().export_json().unwrap()).unwrap();
    r.snapshot_into(&mut reused);
    assert_eq!(reused.len(), fresh.len());
    assert_eq!(reused.get(0), fresh.get(0));
    assert_eq!(reused.get(fresh.len() - 1), fresh.get(fresh.len() - 1));
    r.record(&Event::new("k", Severity::Info).message("newest"));
    r.snapshot_into(&mut reused);
    assert_eq!(reused.get(reused.len() - 1).unwrap().message, "newest");
    let events = reused.events();
    for w in events.windows(2) {
        assert!(w[0].timestamp <= w[1].timestamp, "recording order");
    }
}

#[test]
fn csv_cells_that_begin_like_a_formula_are_neutralised() {
    let rec = Recorder::builder().capacity(64).build().unwrap();
    let evil = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tTAB",
        "\rCR",
    ];
    for m in evil {
        rec.record(
            &Event::new("note", Severity::Info)
                .peer("=cmd|' /C calc'!A0")
                .message(m),
        );
    }
    rec.record(&Event::new("note", Severity::Info).message("plain, text"));
    let read = |opts: Option<flightring::CsvOptions>| -> Vec<(String, String)> {
        let mut out = Vec::new();
        let snap = rec.snapshot();
        match opts {
            Some(o) => snap.write_csv_with(&mut out, o).unwrap(),
            None => snap.write_csv(&mut out).unwrap(),
        }
        csv::Reader::from_reader(&out[..])
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[4].to_owned(), r[5].to_owned())
            })
            .collect()
    };
    let guarded = read(None);
    for ((peer, msg), want) in guarded.iter().zip(evil) {
        assert_eq!(msg, &format!("'{want}"));
        assert!(peer.starts_with("'="), "{peer}");
    }
    assert_eq!(guarded.last().unwrap().1, "plain, text");
    // The opt-out writes the cells as recorded.
    let raw = read(Some(flightring::CsvOptions::raw()));
    for ((_, msg), want) in raw.iter().zip(evil) {
        assert_eq!(msg, want);
    }
    // Recordings' CSV is guarded the same way.
    let mut out = Vec::new();
    flightring::recording::Recording::from_events("r", rec.snapshot().events())
        .write_csv(&mut out)
        .unwrap();
    assert!(String::from_utf8(out).unwrap().contains("\"'+1+1\""));
}

/// The hostile inputs of issue 16, built here: each reader stops with a typed error
/// naming the line, in bounded memory, keeping what was whole before.
mod bounded_import {
    use std::io::{BufReader, Write};

    use flightring::exporter::{read_stream_file_partial, read_stream_partial, StreamLine};
    use flightring::{read_jsonl, read_jsonl_partial, read_jsonl_with, ImportError, ReadLimits};

    const GOOD: &str = "{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"boot\",\"message\":\"hi\",\"metadata\":{}}\n";

    fn gzip(parts: &[&[u8]], repeat: usize) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for _ in 0..repeat {
            for p in parts {
                enc.write_all(p).unwrap();
            }
        }
        enc.finish().unwrap()
    }

    fn gunzip(gz: &[u8]) -> BufReader<flate2::read::MultiGzDecoder<&[u8]>> {
        BufReader::new(flate2::read::MultiGzDecoder::new(gz))
    }

    #[test]
    fn a_long_line_without_newline_stops_at_the_limit() {
        // 64 MiB of one line in ~64 KiB of gzip.
        let mut gz = gzip(&[GOOD.as_bytes()], 1);
        gz.extend(gzip(&[&[b'a'; 1 << 20]], 64));
        assert!(gz.len() < 1 << 20, "{}", gz.len());
        let err = read_jsonl(gunzip(&gz)).unwrap_err();
        assert!(
            matches!(err, ImportError::LineTooLong { line: 2, limit } if limit == 16 << 20),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("line 2 is longer than the limit of 16 MiB"),
            "{err}"
        );
        // The limit is configurable; what came before is kept.
        let limits = ReadLimits::default().max_line_bytes(1000);
        let (events, err) = read_jsonl_partial(gunzip(&gz), &limits);
        assert_eq!(events.len(), 1);
        assert_eq!(err.unwrap().line(), Some(2));
        let (lines, err) = read_stream_partial(gunzip(&gz), &limits);
        assert_eq!(lines.len(), 1);
        assert!(matches!(
            err,
            Some(ImportError::LineTooLong {
                line: 2,
                limit: 1000
            })
        ));
    }

    #[test]
    fn many_empty_lines_are_counted_and_skipped() {
        // 32 MiB of newlines, then a bad line: its number counts every newline.
        let gz = gzip(&[&[b'\n'; 1 << 20]], 32);
        let mut all = gz.clone();
        all.extend(gzip(&[GOOD.as_bytes(), b"nope\n"], 1));
        let (events, err) = read_jsonl_partial(gunzip(&all), &ReadLimits::default());
        assert_eq!(events.len(), 1);
        assert_eq!(err.unwrap().line(), Some((32 << 20) + 2));
        assert!(read_jsonl(gunzip(&gz)).unwrap().is_empty());
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let mut input = format!("{GOOD}{GOOD}").into_bytes();
        let mut third = GOOD.as_bytes().to_vec();
        third[30] = 0xff;
        input.extend_from_slice(&third);
        let err = read_jsonl(input.as_slice()).unwrap_err();
        assert!(
            matches!(
                err,
                ImportError::InvalidUtf8 {
                    line: 3,
                    column: 31
                }
            ),
            "{err}"
        );
        let (lines, err) = read_stream_partial(input.as_slice(), &ReadLimits::default());
        assert_eq!(lines.len(), 2);
        assert_eq!(err.unwrap().line(), Some(3));
        let err = read_jsonl_with(input.as_slice(), &ReadLimits::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 3, column 31: invalid UTF-8");
    }

    #[test]
    fn a_truncated_gzip_keeps_every_whole_line_before_the_cut() {
        let n = 5000;
        let gz = gzip(&[GOOD.as_bytes()], n);
        let cut = &gz[..gz.len() / 2];
        let (events, err) = read_jsonl_partial(gunzip(cut), &ReadLimits::default());
        let got = events.len();
        assert!(got > 0 && got < n, "{got}");
        match err {
            Some(ImportError::Damaged { line, offset, .. }) => {
                assert_eq!(line, got + 1);
                assert_eq!(offset, (got * GOOD.len()) as u64);
            }
            other => panic!("{other:?}"),
        }
        // The same through the stream file reader.
        let dir = std::env::temp_dir().join(format!("flightring-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cut.jsonl.gz");
        std::fs::write(&p, cut).unwrap();
        let (lines, err) = read_stream_file_partial(&p, &ReadLimits::default());
        assert_eq!(lines.len(), got);
        assert!(lines
            .iter()
            .all(|l| matches!(l, StreamLine::Event(e) if e.message == "hi")));
        let err = err.unwrap();
        assert!(
            err.to_string()
                .contains(&format!("damaged input at line {}", got + 1)),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
