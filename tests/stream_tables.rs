//! A rotated, gzipped stream with gap lines loads as one table in the tools users
//! have: pandas (`pd.read_json(lines=True)`) and DuckDB (`read_ndjson_auto`), with no
//! hand work — every line (header, events, gaps) has the event shape, `id` stays an
//! integer, `truncated` is always there.

#[path = "support/temp_dir.rs"]
mod temp_dir;
#[path = "support/tools.rs"]
mod tools;

use std::time::Duration;

use flightring::exporter::{stream_files, Exporter, ExporterConfig};
use flightring::{Event, Recorder, Severity};
use tools::{python, python_has};

#[test]
fn a_rotated_stream_with_gaps_is_one_table_in_pandas_and_duckdb() {
    let dir = temp_dir::temp_dir("tables", "rotated");
    let path = dir.join("flight.jsonl");
    // A 64-event ring and an exporter that flushes rarely: the ring laps, so the stream
    // has gap lines; small files, gzipped on rotation.
    let rec = Recorder::builder().capacity(64).shards(1).build().unwrap();
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            path: path.clone(),
            rotate_bytes: 4096,
            keep_files: 1000,
            flush_interval: Duration::from_millis(2),
            ..ExporterConfig::default()
        },
    )
    .unwrap();
    for i in 0..5_000u64 {
        rec.record(
            &Event::new(["rpc", "block"][i as usize % 2], Severity::Info)
                .peer("p1")
                .field("i", i),
        );
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    exp.flush().unwrap();
    let st = exp.stats();
    exp.close().unwrap();
    let files = stream_files(&path).unwrap();
    assert!(files.len() > 2, "rotated: {files:?}");
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with(".gz")),
        "{files:?}"
    );
    assert!(st.gaps > 0, "the ring lapped: {st:?}");
    let list = files
        .iter()
        .map(|f| format!("'{}'", f.display()))
        .collect::<Vec<_>>()
        .join(",");
    let want = format!(
        "{} {} {}",
        st.events_written,
        st.gaps,
        files.len() // one header per file
    );
    if python_has("pandas") {
        let out = python(&format!(
            "import pandas as pd\n\
             df = pd.concat([pd.read_json(f, lines=True) for f in [{list}]], ignore_index=True)\n\
             assert str(df['id'].dtype) == 'int64', df['id'].dtype\n\
             assert df['truncated'].dtype == bool, df['truncated'].dtype\n\
             ev = df[~df['event_type'].str.startswith('flightring.')]\n\
             print(len(ev), (df['event_type'] == 'flightring.gap').sum(), (df['event_type'] == 'flightring.stream').sum())"
        ));
        println!("pandas: {}", out.trim());
        assert_eq!(out.trim(), want);
    }
    if python_has("duckdb") {
        let out = python(&format!(
            "import duckdb\n\
             r = duckdb.sql(\"select count(*) filter (where event_type not like 'flightring.%'), \
             count(*) filter (where event_type = 'flightring.gap'), \
             count(*) filter (where event_type = 'flightring.stream'), \
             typeof(any_value(id)) from read_ndjson_auto([{list}])\").fetchall()[0]\n\
             assert r[3] in ('BIGINT', 'UBIGINT'), r[3]\n\
             print(r[0], r[1], r[2])"
        ));
        println!("duckdb: {}", out.trim());
        assert_eq!(out.trim(), want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
