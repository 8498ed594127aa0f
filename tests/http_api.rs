//! The recordings REST API, `/blocks`, `/blocks/missed`, `/alerts` and
//! `/histograms/NAME` over real sockets with a real HTTP client (ureq).
#![cfg(feature = "http")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use flightring::http::{self, HttpOptions};
use flightring::Recorder;
use serde_json::{json, Value as Json};

#[path = "support/temp_dir.rs"]
mod temp_dir;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut r = agent().get(format!("http://{addr}{path}")).call().unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

fn get_json(addr: SocketAddr, path: &str) -> (u16, Json) {
    let (s, b) = get(addr, path);
    (
        s,
        serde_json::from_str(&b).unwrap_or_else(|e| panic!("{path}: {e}: {b}")),
    )
}

fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, Json) {
    let mut r = agent()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    let status = r.status().as_u16();
    let b = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&b).unwrap_or_else(|e| panic!("{path}: {e}: {b}")),
    )
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn recordings_api_records_lists_filters_and_replays() {
    let dir = temp_dir::temp_dir("http_api", "recordings");
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let opts = HttpOptions::default().recordings_dir(&dir);
    let server = http::serve_with(rec.clone(), "127.0.0.1:0", opts).unwrap();
    let a = server.local_addr();

    assert_eq!(get_json(a, "/api/record/status").1["recording"], false);
    let (s, b) = post(
        a,
        "/api/record/start",
        r#"{"session_name":"bull_run_2025"}"#,
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["session_name"], "bull_run_2025");
    let (s, b) = post(a, "/api/record/start", r#"{"session_name":"other"}"#);
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")));
    for i in 0..6u64 {
        let sev = if i % 3 == 0 { "error" } else { "info" };
        let body = json!({"kind": "rpc", "severity": sev, "peer": "infura", "message": format!("call {i}"),
                          "fields": {"duration_ns": 1000 * (i + 1), "ok": i % 3 != 0, "method": "eth_call"}});
        let (s, b) = post(a, "/api/record/event", &body.to_string());
        assert_eq!(s, 200, "{b}");
    }
    wait_for("the session sees the six events", || {
        get_json(a, "/api/record/status").1["events"] == 6
    });
    let (s, b) = post(a, "/api/record/stop", "");
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["events"], 6);
    assert!(dir.join("bull_run_2025.recording.json").is_file());

    let (s, list) = get_json(a, "/api/recordings");
    assert_eq!(s, 200);
    assert_eq!(list["recordings"][0]["name"], "bull_run_2025");
    assert_eq!(list["recordings"][0]["events"], 6);
    let (s, meta) = get_json(a, "/api/recordings/bull_run_2025");
    assert_eq!(s, 200, "{meta}");
    assert_eq!(meta["events"], 6);
    assert_eq!(meta["name"], "bull_run_2025");
    let (_, ev) = get_json(
        a,
        "/api/recordings/bull_run_2025/events?severity=error&limit=1",
    );
    assert_eq!(
        (ev["count"].as_u64(), ev["total"].as_u64()),
        (Some(1), Some(2)),
        "{ev}"
    );
    assert_eq!(ev["events"][0]["event"]["severity"], "ERROR");
    let (_, ev) = get_json(a, "/api/recordings/bull_run_2025/events?kind=nope");
    assert_eq!(ev["total"], 0);
    let (_, f) = get_json(a, "/api/recordings/bull_run_2025/fields");
    let names: Vec<&str> = f["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["duration_ns", "method", "ok"], "{f}");
    assert_eq!(f["fields"][0]["types"], json!(["integer"]));

    // A filtered recording, by filter and by indices.
    let (s, b) = post(
        a,
        "/api/recordings",
        r#"{"source":"bull_run_2025","name":"errors","filter":{"min_severity":"error"}}"#,
    );
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["events"], 2);
    let (s, b) = post(
        a,
        "/api/recordings",
        r#"{"source":"bull_run_2025","name":"two","indices":[0,5]}"#,
    );
    assert_eq!((s, b["events"].as_u64()), (201, Some(2)), "{b}");
    let (s, b) = post(
        a,
        "/api/recordings",
        r#"{"source":"bull_run_2025","name":"two","indices":[0]}"#,
    );
    assert_eq!(s, 409, "{b}");
    let (s, b) = post(
        a,
        "/api/recordings",
        r#"{"source":"bull_run_2025","name":"x","indices":[99]}"#,
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("indices")), "{b}");
    assert_eq!(get_json(a, "/api/recordings").1["count"], 3);

    // Replay: start, pause, speed, resume, stop, status.
    let (s, b) = post(a, "/api/replay/start/bull_run_2025", r#"{"speed":0.01}"#);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total"], 6);
    let (s, b) = post(a, "/api/replay/pause", "");
    assert_eq!((s, b["state"].as_str()), (200, Some("paused")), "{b}");
    let (s, b) = post(a, "/api/replay/speed", r#"{"speed":1000}"#);
    assert_eq!((s, b["speed"].as_f64()), (200, Some(1000.0)), "{b}");
    let (s, b) = post(a, "/api/replay/start/errors", "{}");
    assert_eq!(s, 409, "one replay at a time: {b}");
    post(a, "/api/replay/resume", "");
    wait_for("the replay finishes", || {
        get_json(a, "/api/replay/status").1["state"] == "finished"
    });
    let (_, st) = get_json(a, "/api/replay/status");
    assert_eq!(
        (st["done"].as_u64(), st["report"]["replayed"].as_u64()),
        (Some(6), Some(6)),
        "{st}"
    );
    let (s, _) = post(a, "/api/replay/stop", "");
    assert_eq!(s, 409, "nothing running to stop");
    // The replayed events are in the served recorder.
    assert_eq!(rec.query(&flightring::Query::new().kind("rpc")).len(), 12);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn recordings_api_refuses_bad_names_and_bodies_naming_the_field() {
    let dir = temp_dir::temp_dir("http_api", "refusals");
    std::fs::write(dir.join("secret.txt"), "not a recording").unwrap();
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let server = http::serve_with(
        rec,
        "127.0.0.1:0",
        HttpOptions::default().recordings_dir(&dir),
    )
    .unwrap();
    let a = server.local_addr();
    for path in [
        "/api/recordings/..%2F..%2Fetc%2Fpasswd",
        "/api/recordings/..%2F..%2Fetc%2Fpasswd/events",
        "/api/recordings/..",
        "/api/recordings/.hidden/fields",
    ] {
        let (s, b) = get_json(a, path);
        assert_eq!((s, b["field"].as_str()), (400, Some("name")), "{path}: {b}");
    }
    // Unencoded, the client or the router resolves the dots: nothing outside is served.
    let (s, b) = get(a, "/api/recordings/../../etc/passwd");
    assert!(s == 404 || s == 400, "{s} {b}");
    assert!(!b.contains("root:"), "{b}");
    let (s, b) = post(a, "/api/replay/start/..%2F..%2Fetc%2Fpasswd", "{}");
    assert_eq!((s, b["field"].as_str()), (400, Some("name")), "{b}");
    let (s, b) = post(
        a,
        "/api/record/start",
        r#"{"session_name":"../../etc/passwd"}"#,
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("session_name")), "{b}");
    let (s, b) = post(
        a,
        "/api/recordings",
        r#"{"source":"../../etc/passwd","name":"x"}"#,
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("source")), "{b}");
    for (path, body, field) in [
        ("/api/record/start", "{}", "session_name"),
        ("/api/record/start", r#"{"session_name":5}"#, "session_name"),
        (
            "/api/record/start",
            r#"{"session_name":"a","colour":1}"#,
            "colour",
        ),
        (
            "/api/record/event",
            r#"{"kind":"x","severity":"loud"}"#,
            "severity",
        ),
        (
            "/api/record/event",
            r#"{"kind":"x","fields":{"a":[1]}}"#,
            "fields.a",
        ),
        ("/api/replay/speed", r#"{"speed":"fast"}"#, "speed"),
        ("/api/replay/start/x", r#"{"speed":5000}"#, "speed"),
        (
            "/api/recordings",
            r#"{"source":"a","name":"b","filter":{"min_severity":"loud"}}"#,
            "filter.min_severity",
        ),
        ("/api/recordings", r#"not json"#, "(body)"),
    ] {
        let (s, b) = post(a, path, body);
        assert_eq!(s, 400, "{path} {body}: {b}");
        assert_eq!(b["error"], "bad_body", "{b}");
        assert_eq!(b["field"], field, "{path} {body}: {b}");
    }
    let (s, b) = get_json(a, "/api/recordings/missing");
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    assert_eq!(
        get_json(a, "/api/recordings").1["count"],
        0,
        "secret.txt is not listed"
    );

    // Without a directory the API says so.
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let bare = http::serve(rec, "127.0.0.1:0").unwrap();
    let (s, b) = get_json(bare.local_addr(), "/api/recordings");
    assert_eq!(
        (s, b["error"].as_str()),
        (404, Some("not_configured")),
        "{b}"
    );
    let (_, info) = get_json(bare.local_addr(), "/api/info");
    assert_eq!(info["recordings"], false);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dashboard_assets_are_served_without_the_token_and_data_is_not() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let server =
        http::serve_with(rec, "127.0.0.1:0", HttpOptions::default().bearer_token("t")).unwrap();
    let a = server.local_addr();
    for path in ["/", "/assets/app.js", "/assets/app.css"] {
        let (s, b) = get(a, path);
        assert_eq!(s, 200, "{path}");
        assert!(!b.is_empty());
    }
    for path in [
        "/api/info",
        "/stats",
        "/api/recordings",
        "/blocks",
        "/histograms/x",
    ] {
        assert_eq!(get(a, path).0, 401, "{path}");
    }
}

#[test]
fn histograms_as_json_and_hdr() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    for us in 1..=1000u64 {
        rec.observe("rpc.eth_call", Duration::from_micros(us));
    }
    let server = http::serve(rec.clone(), "127.0.0.1:0").unwrap();
    let a = server.local_addr();
    let (s, j) = get_json(a, "/histograms/rpc.eth_call");
    assert_eq!((s, j["count"].as_u64()), (200, Some(1000)), "{j}");
    let (s, j) = get_json(a, "/histograms/nope");
    assert_eq!(s, 404, "{j}");
    let (s, j) = get_json(a, "/histograms/nope?format=hdr");
    assert_eq!(s, if cfg!(feature = "hdr") { 404 } else { 400 }, "{j}");
    let (s, j) = get_json(a, "/histograms/rpc.eth_call?format=png");
    assert_eq!((s, j["parameter"].as_str()), (400, Some("format")));
    let (s, text) = get(a, "/histograms/rpc.eth_call?format=hdr");
    if cfg!(feature = "hdr") {
        assert_eq!(s, 200);
        assert!(text.starts_with("HISTFAAA"), "{text}");
        #[cfg(feature = "hdr")]
        {
            let h = flightring::hdr::decode_v2(&text).unwrap();
            assert_eq!(h.len(), 1000);
            let ours = rec.stats().histograms["rpc.eth_call"].clone();
            assert_eq!(h.value_at_quantile(0.99), ours.p99);
        }
    } else {
        assert_eq!(s, 400, "{text}");
    }
}

#[cfg(feature = "alerts")]
#[test]
fn blocks_missed_and_alerts_with_a_monitor_and_an_alert_manager() {
    use std::sync::{Arc, Mutex};

    use flightring::alert::{Alert, AlertManager, ConsoleChannel};
    use flightring::monitor::{BlockInfo, BlockMonitor, MissSeverity, MonitorConfig};

    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let mon = Arc::new(Mutex::new(
        BlockMonitor::new(rec.clone(), MonitorConfig::default()).unwrap(),
    ));
    let alerts = Arc::new(
        AlertManager::builder()
            .channel(ConsoleChannel::to_writer(std::io::sink()))
            .throttle_window(Duration::from_millis(10))
            .build()
            .unwrap(),
    );
    let block = |n: u64| BlockInfo {
        number: n,
        hash: format!("0x{n:x}"),
        parent_hash: format!("0x{:x}", n - 1),
        timestamp: 1_600_000_000 + 12 * n,
    };
    {
        let mut m = mon.lock().unwrap();
        m.process_block(&block(1000)).unwrap();
        m.process_block(&block(1004)).unwrap(); // 1001..=1003 missed
    }
    alerts.send(Alert::new(
        "streak",
        "chain",
        MissSeverity::High,
        "Missed blocks",
        "3 blocks missed",
    ));
    wait_for("the alert is delivered", || !alerts.recent().is_empty());
    let opts = HttpOptions::default()
        .monitor(mon.clone())
        .alerts(alerts.clone());
    let server = http::serve_with(rec, "127.0.0.1:0", opts).unwrap();
    let a = server.local_addr();
    let (s, b) = get_json(a, "/blocks");
    assert_eq!(
        (s, b["missed"].as_u64(), b["processed"].as_u64()),
        (200, Some(3), Some(2)),
        "{b}"
    );
    assert_eq!(b["current_streak"], 3);
    let (_, m) = get_json(a, "/blocks/missed?format=json&limit=2");
    assert_eq!(
        (m["count"].as_u64(), m["total"].as_u64()),
        (Some(2), Some(3)),
        "{m}"
    );
    assert_eq!(m["missed"][1]["block_number"], 1003);
    let (s, csv) = get(a, "/blocks/missed?format=csv");
    assert_eq!(s, 200);
    assert!(csv.starts_with("block_number,reason,severity,"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
    let (_, jsonl) = get(a, "/blocks/missed?format=jsonl");
    assert_eq!(jsonl.lines().count(), 3);
    let (s, b) = get_json(a, "/blocks/missed?format=xml");
    assert_eq!((s, b["parameter"].as_str()), (400, Some("format")));
    let (s, b) = get_json(a, "/alerts");
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["recent"][0]["alert"]["rule"], "streak");
    assert!(b["recent"][0]["state"]["Delivered"].is_object(), "{b}");
    // /metrics serves the monitor's and the alert manager's metrics beside the
    // recorder's, in both formats.
    let (s, text) = get(a, "/metrics");
    assert_eq!(s, 200);
    for line in [
        "flightring_blocks_processed_total 2\n",
        "flightring_blocks_missed_total{reason=\"",
        "flightring_missed_streak_longest 3\n",
        // The current streak, as /blocks gives it (it read 0 before).
        "flightring_missed_streak 3\n",
        "flightring_block_recovery_seconds_count 0\n",
        "flightring_alerts_sent_total ",
        "flightring_http_refused_total{reason=\"busy\"} 0\n",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let missed: u64 = text
        .lines()
        .filter(|l| l.starts_with("flightring_blocks_missed_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(missed, 3);
    let dir =
        std::env::temp_dir().join(format!("flightring-blocks-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("metrics.txt");
    std::fs::write(&path, &text).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .expect("promtool not found: run `bash .ci/test`, which installs it");
    let _ = std::fs::remove_dir_all(&dir);
    // promtool's lint warnings (no HELP on a few alert families) still exit 1; the
    // text must parse, which is what a scraper needs.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("error while linting"), "{stderr}\n{text}");
    let om = agent()
        .get(format!("http://{a}/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.contains("# TYPE flightring_blocks_processed counter\n"),
        "{om}"
    );
    assert!(om.contains("flightring_blocks_processed_total 2\n"), "{om}");
    let (_, info) = get_json(a, "/api/info");
    assert_eq!(
        (info["monitor"].as_bool(), info["alerts"].as_bool()),
        (Some(true), Some(true))
    );

    let bare = http::serve(Recorder::new(), "127.0.0.1:0").unwrap();
    for p in ["/blocks", "/blocks/missed", "/alerts"] {
        let (s, b) = get_json(bare.local_addr(), p);
        assert_eq!(
            (s, b["error"].as_str()),
            (404, Some("not_configured")),
            "{p}"
        );
    }
}
