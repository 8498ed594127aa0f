//! NaN and the infinities, in gauges, rates and field values, through every writer of
//! the crate and back through its own loaders: JSON has no such numbers, so each is
//! written as `"NaN"`, `"inf"` or `"-inf"` and read back as the float (README, "Export
//! format"). The panic dump's case is in `tests/panic_hook.rs`
//! (`a_dump_with_nan_and_infinite_gauges_loads`).

#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::time::Duration;

use flightring::exporter::{read_stream_file, Exporter, ExporterConfig, StreamLine};
use flightring::recording::Recording;
use flightring::{EventRecord, Recorder, Severity, Snapshot, Stats};

const VALUES: [(&str, f64); 3] = [
    ("nan", f64::NAN),
    ("pos", f64::INFINITY),
    ("neg", f64::NEG_INFINITY),
];

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn recorder() -> Recorder {
    let rec = Recorder::builder().capacity(256).build().unwrap();
    for (name, v) in VALUES {
        rec.set_gauge(name, v);
        rec.record(
            &flightring::Event::new("probe", Severity::Info)
                .message(name)
                .field("v", v)
                .field("duration_ms", v),
        );
    }
    rec.observe_value("sizes", 7);
    rec
}

fn check_gauges(stats: &Stats) {
    for (name, v) in VALUES {
        assert!(same(stats.gauges[name], v), "{name}: {:?}", stats.gauges);
    }
}

fn check_events(events: &[EventRecord]) {
    let probes: Vec<_> = events.iter().filter(|e| e.kind == "probe").collect();
    assert_eq!(probes.len(), 3, "{events:?}");
    for (e, (name, v)) in probes.iter().zip(VALUES) {
        assert_eq!(e.message, name);
        let got = e.metadata.get("v").and_then(|x| x.as_f64());
        assert!(got.is_some_and(|g| same(g, v)), "{name}: {:?}", e.metadata);
    }
}

#[test]
fn export_document_and_jsonl_load_back() {
    let rec = recorder();
    let text = rec.export_json().unwrap();
    assert!(
        text.contains(r#""nan":"NaN""#) && text.contains(r#""pos":"inf""#),
        "{text}"
    );
    let snap = Snapshot::from_json(&text).unwrap();
    check_gauges(snap.stats());
    check_events(&snap.events());
    assert_eq!(snap.stats().histograms["sizes"].mean, 7.0);

    let mut jsonl = Vec::new();
    rec.snapshot().write_jsonl(&mut jsonl).unwrap();
    check_events(&flightring::read_jsonl(jsonl.as_slice()).unwrap());

    // CSV: the metadata cell is JSON a loader reads.
    let mut csv_out = Vec::new();
    rec.snapshot().write_csv(&mut csv_out).unwrap();
    let mut rd = csv::Reader::from_reader(csv_out.as_slice());
    for row in rd.records() {
        let meta: serde_json::Value = serde_json::from_str(&row.unwrap()[6]).unwrap();
        assert!(meta["v"].is_string(), "{meta}");
    }
}

#[test]
fn older_files_with_null_gauges_still_load() {
    let text = recorder()
        .export_json()
        .unwrap()
        .replace(r#""nan":"NaN""#, r#""nan":null"#);
    assert!(Snapshot::from_json(&text).unwrap().stats().gauges["nan"].is_nan());
}

#[test]
fn recordings_and_seed_shapes_load_back() {
    let d = temp_dir::temp_dir("non_finite", "recording");
    let rec = recorder();
    let session = rec.start_recording("nf");
    for (name, v) in VALUES {
        rec.record(
            &flightring::Event::new("probe", Severity::Info)
                .message(name)
                .field("v", v),
        );
    }
    let (r, path) = session.save(&d).unwrap();
    let back = Recording::open(&path).unwrap();
    check_events(&back.events);
    let export = d.join("export.json");
    std::fs::write(&export, rec.export_json().unwrap()).unwrap();
    check_gauges(Recording::open(&export).unwrap().stats.as_ref().unwrap());

    let jsonl = d.join("r.jsonl");
    r.write_jsonl(std::fs::File::create(&jsonl).unwrap())
        .unwrap();
    check_events(&Recording::open(&jsonl).unwrap().events);
    let seed = d.join("seed.json");
    r.write_seed_json(std::fs::File::create(&seed).unwrap())
        .unwrap();
    check_events(&Recording::open(&seed).unwrap().events);
    let seed_lines = d.join("seed.jsonl");
    r.write_seed_jsonl(std::fs::File::create(&seed_lines).unwrap())
        .unwrap();
    // The seed recorder's JSON Lines are for its tools (no loader here): valid JSON.
    for line in std::fs::read_to_string(&seed_lines).unwrap().lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn file_exporter_stream_loads_back() {
    let d = temp_dir::temp_dir("non_finite", "exporter");
    let rec = Recorder::builder().capacity(256).build().unwrap();
    let path = d.join("flight.jsonl");
    let exp = Exporter::start_from_oldest(
        &rec,
        ExporterConfig {
            path: path.clone(),
            flush_interval: Duration::from_millis(5),
            ..ExporterConfig::default()
        },
    )
    .unwrap();
    for (name, v) in VALUES {
        rec.record(
            &flightring::Event::new("probe", Severity::Info)
                .message(name)
                .field("v", v),
        );
    }
    exp.close().unwrap();
    let events: Vec<EventRecord> = read_stream_file(&path)
        .unwrap()
        .into_iter()
        .filter_map(|l| match l {
            StreamLine::Event(e) => Some(e),
            StreamLine::Gap(_) => None,
        })
        .collect();
    check_events(&events);
    check_events(&Recording::open(&path).unwrap().events);
    std::fs::remove_dir_all(&d).unwrap();
}
