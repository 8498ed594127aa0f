//! The HTTP endpoint over real sockets, with a real HTTP client (ureq): every endpoint,
//! bad parameters, auth, limits, event streams with a lagging client, exports read
//! back in all three formats, and graceful shutdown.
#![cfg(feature = "http")]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use flightring::http::{self, HttpOptions, HttpServer};
use flightring::{read_jsonl, Event, EventRecord, Recorder, Severity, Snapshot, Value};
use serde_json::Value as Json;

#[path = "support/temp_dir.rs"]
mod temp_dir;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_connections(0)
        .build()
        .into()
}

struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .unwrap();
    Reply {
        status,
        content_type,
        body,
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    get_with(addr, path, &[])
}

fn recorder(capacity: usize) -> Recorder {
    Recorder::builder().capacity(capacity).build().unwrap()
}

fn start(rec: &Recorder, opts: HttpOptions) -> HttpServer {
    http::serve_with(rec.clone(), "127.0.0.1:0", opts).unwrap()
}

/// Records a mix of kinds, severities, peers and typed fields; returns how many.
fn record_mix(rec: &Recorder, n: usize) -> usize {
    let sevs = [
        Severity::Debug,
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];
    for i in 0..n {
        let msg = format!("event {i}, with \"quotes\", commas\nand a line break");
        let peer = format!("peer{}", i % 7);
        rec.record(
            &Event::new(["rpc", "block", "peer_connected"][i % 3], sevs[i % 5])
                .peer(&peer)
                .message(&msg)
                .field("i", i as u64)
                .field("ok", i % 2 == 0)
                .field("ratio", i as f64 / 4.0),
        );
    }
    n
}

#[test]
fn health_is_200_until_unhealthy_then_503() {
    let rec = recorder(1024);
    let server = start(&rec, HttpOptions::default());
    let r = get(server.local_addr(), "/health");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.json()["status"], "Healthy");

    rec.set_fault("disk", "full");
    let r = get(server.local_addr(), "/health");
    assert_eq!(r.status, 200, "degraded is still 200");
    assert_eq!(r.json()["status"], "Degraded");

    rec.close();
    let r = get(server.local_addr(), "/health");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["status"], "Unhealthy");
}

#[test]
fn stats_report_and_metrics() {
    let rec = recorder(4096);
    record_mix(&rec, 100);
    rec.observe("rpc.getblock", Duration::from_millis(2));
    rec.block_end(7, Duration::from_millis(120), 40, 30, 2);
    let server = start(&rec, HttpOptions::default());
    let addr = server.local_addr();

    let stats = get(addr, "/stats").json();
    assert_eq!(stats["total_recorded"], rec.stats().total_recorded);
    assert_eq!(stats["by_severity"]["CRITICAL"], 20);

    let report = get(addr, "/report?period=30s");
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert_eq!(report["period_secs"], 30.0);
    assert_eq!(report["blocks"]["processed"], 1);
    let bad = get(addr, "/report?period=soon");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["parameter"], "period");

    let text = get(addr, "/metrics");
    assert_eq!(text.status, 200);
    assert!(text.content_type.starts_with("text/plain; version=0.0.4"));
    let total: u64 = text
        .body
        .lines()
        .filter(|l| l.starts_with("flightring_events_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, rec.stats().total_recorded);
    assert!(text
        .body
        .contains(r#"flightring_duration_seconds_count{name="rpc.getblock"} 1"#));
    let om = get_with(
        addr,
        "/metrics",
        &[("accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert!(om.content_type.starts_with("application/openmetrics-text"));
    assert!(om.body.ends_with("# EOF\n"));

    // promtool is Prometheus' own checker; `bash .ci/test` installs it.
    let dir = temp_dir::temp_dir("http", "promtool");
    let path = dir.join("metrics.txt");
    std::fs::write(&path, &text.body).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .expect(
            "promtool not found: run `bash .ci/test`, which installs Debian's prometheus package",
        );
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- input:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        text.body
    );
}

#[test]
fn events_filter_newest_first_and_name_bad_parameters() {
    let rec = recorder(4096);
    record_mix(&rec, 300);
    let server = start(&rec, HttpOptions::default().max_events(500));
    let addr = server.local_addr();

    let r = get(addr, "/events").json();
    assert_eq!(r["count"], 100, "default limit");
    let all = get(addr, "/events?limit=500").json();
    assert_eq!(all["count"], 300);
    let ts: Vec<&str> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let r = get(
        addr,
        "/events?kind=rpc&peer=peer3&min_severity=error&limit=500&contains=event%20",
    )
    .json();
    let events = r["events"].as_array().unwrap();
    let want = (0..300)
        .filter(|i| i % 3 == 0 && i % 7 == 3 && i % 5 >= 3)
        .count();
    assert_eq!(events.len(), want);
    for e in events {
        assert_eq!(e["event_type"], "rpc");
        assert_eq!(e["peer_id"], "peer3");
        assert!(matches!(e["severity"].as_str(), Some("ERROR" | "CRITICAL")));
    }
    let r = get(
        addr,
        "/events?since=1h&until=2099-01-01T00:00:00Z&limit=500",
    )
    .json();
    assert_eq!(r["count"], 300);
    let r = get(addr, "/events?until=2000-01-01T00:00:00Z").json();
    assert_eq!(r["count"], 0);

    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("min_severity=loud", "min_severity"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("kind=", "kind"),
        ("colour=red", "colour"),
        ("peer=a&peer=b", "peer"),
        // Malformed percent-encoding, and percent-encoding that is not UTF-8.
        ("kind=%ZZ", "kind"),
        ("kind=%C3%28", "kind"),
        ("kind=rpc%", "kind"),
        ("min_sev%ZZ=info", "min_sev%ZZ"),
    ] {
        let r = get(addr, &format!("/events?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let body = r.json();
        assert_eq!(body["error"], "bad_parameter", "{query}");
        assert_eq!(body["parameter"], param, "{query}: {}", r.body);
        assert!(body["message"].as_str().unwrap().starts_with(param));
    }
    let r = get(addr, "/stats?verbose=1");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["parameter"], "verbose");
    let r = get(addr, "/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not_found");
    let r = agent()
        .post(format!("http://{addr}/events"))
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[test]
fn bearer_token_is_required_when_set() {
    let rec = recorder(1024);
    let server = start(&rec, HttpOptions::default().bearer_token("s3cret"));
    let addr = server.local_addr();
    for path in ["/health", "/stats", "/metrics", "/events", "/export"] {
        let r = get(addr, path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.json()["error"], "unauthorized");
        let r = get_with(addr, path, &[("authorization", "Bearer wrong")]);
        assert_eq!(r.status, 401, "{path}");
        let r = get_with(addr, path, &[("authorization", "Bearer s3cret")]);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let open = start(
        &rec,
        HttpOptions::default()
            .bearer_token("s3cret")
            .public_health(true),
    );
    assert_eq!(get(open.local_addr(), "/health").status, 200);
    assert_eq!(get(open.local_addr(), "/stats").status, 401);
}

#[test]
fn exports_stream_in_every_format_and_read_back() {
    // Large enough that the reserved tier (an eighth) holds the mix's 3,000 Warning+.
    let rec = recorder(1 << 16);
    let n = record_mix(&rec, 5_000);
    let server = start(&rec, HttpOptions::default());
    let addr = server.local_addr();
    let expected = rec.snapshot().events();
    assert_eq!(expected.len(), n);

    let json = get(addr, "/export");
    assert_eq!(json.status, 200);
    assert_eq!(json.content_type, "application/json");
    let snap = Snapshot::from_json(&json.body).unwrap();
    assert_eq!(snap.events(), expected);

    let jsonl = get(addr, "/export?format=jsonl");
    assert_eq!(jsonl.content_type, "application/x-ndjson");
    assert_eq!(read_jsonl(jsonl.body.as_bytes()).unwrap(), expected);

    let csv = get(addr, "/export?format=csv");
    assert!(csv.content_type.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    assert_eq!(
        reader
            .headers()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
            .join(","),
        flightring::CSV_HEADER
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), expected.len());
    for (row, e) in rows.iter().zip(&expected) {
        assert_eq!(row[0].parse::<u64>().unwrap(), e.id);
        assert_eq!(row[1], e.timestamp.to_string());
        assert_eq!(row[2], *e.severity.as_str());
        assert_eq!(row[3], e.kind);
        assert_eq!(row[4], *e.peer.as_deref().unwrap_or(""));
        assert_eq!(row[5], e.message, "quotes, commas and line breaks survive");
        let meta: Json = serde_json::from_str(&row[6]).unwrap();
        assert_eq!(
            meta["i"].as_u64(),
            match e.metadata.get("i") {
                Some(Value::U64(v)) => Some(*v),
                other => panic!("{other:?}"),
            }
        );
        assert_eq!(&row[7], "false");
    }

    let bad = get(addr, "/export?format=xml");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["parameter"], "format");
}

/// Reads server-sent events: (event name, data) pairs.
struct SseReader {
    lines: BufReader<Box<dyn Read + Send>>,
    /// The last `id:` seen (what a browser sends back as `Last-Event-ID`).
    last_id: Option<String>,
}

impl SseReader {
    fn open(addr: SocketAddr, path: &str) -> SseReader {
        SseReader::resume(addr, path, None)
    }

    fn resume(addr: SocketAddr, path: &str, last_id: Option<&str>) -> SseReader {
        let mut req = agent().get(format!("http://{addr}{path}"));
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.call().unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        let reader: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
        SseReader {
            lines: BufReader::new(reader),
            last_id: None,
        }
    }

    /// The next event, or `None` at the end of the stream.
    fn next(&mut self) -> Option<(String, String)> {
        let (mut name, mut data) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            if self.lines.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if !name.is_empty() {
                    return Some((name, data));
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("event: ") {
                name = v.to_owned();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = v.to_owned();
            } else if let Some(v) = line.strip_prefix("id: ") {
                self.last_id = Some(v.to_owned());
            }
        }
    }
}

#[test]
fn event_stream_sends_new_matching_events_then_ends_at_the_limit() {
    let rec = recorder(4096);
    record_mix(&rec, 50); // before the stream: not sent
    let server = start(
        &rec,
        HttpOptions::default().stream_poll(Duration::from_millis(10)),
    );
    let mut sse = SseReader::open(server.local_addr(), "/events/stream?kind=block&limit=20");
    record_mix(&rec, 90);
    let mut got = Vec::new();
    while let Some((name, data)) = sse.next() {
        match name.as_str() {
            "event" => got.push(serde_json::from_str::<EventRecord>(&data).unwrap()),
            "end" => {
                assert_eq!(data, r#"{"reason":"limit"}"#);
                break;
            }
            other => panic!("unexpected {other}: {data}"),
        }
    }
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|e| e.kind == "block"));
    let firsts: Vec<&str> = got.iter().take(3).map(|e| e.message.as_str()).collect();
    assert!(firsts[0].starts_with("event 1,"), "{firsts:?}");
    assert!(
        sse.next().is_none(),
        "the stream closes after the end event"
    );

    let bad = get(server.local_addr(), "/events/stream?min_severity=bogus");
    assert_eq!(bad.status, 400);
}

#[test]
fn a_lagging_stream_client_is_told_what_it_lost_and_counts_add_up() {
    // A small ring, a client that does not read while many events are recorded: the
    // stream falls behind, the ring laps its cursor, and the client must be told.
    let rec = Recorder::builder().capacity(2048).build().unwrap();
    let server = start(
        &rec,
        HttpOptions::default()
            .stream_poll(Duration::from_millis(5))
            .stream_buffer_frames(2),
    );
    let mut sse = SseReader::open(server.local_addr(), "/events/stream");
    let total = 300_000u64;
    let filler = "x".repeat(60);
    let started = Instant::now();
    for i in 0..total {
        rec.record(
            &Event::new("tick", Severity::Info)
                .message(&filler)
                .field("i", i),
        );
        if i % 20_000 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let record_time = started.elapsed();
    let (mut received, mut lost_sum, mut total_lost) = (0u64, 0u64, 0u64);
    // Order across polls is not promised with several shards (see the cursor docs);
    // that each event arrives at most once is.
    let mut seen = vec![false; total as usize];
    while received + total_lost < total {
        let (name, data) = sse.next().expect("stream ended early");
        match name.as_str() {
            "event" => {
                let e: EventRecord = serde_json::from_str(&data).unwrap();
                let Some(Value::U64(i)) = e.metadata.get("i") else {
                    panic!("{data}")
                };
                assert!(
                    !std::mem::replace(&mut seen[*i as usize], true),
                    "event {i} twice"
                );
                received += 1;
            }
            "lost" => {
                let v: Json = serde_json::from_str(&data).unwrap();
                lost_sum += v["lost"].as_u64().unwrap();
                total_lost = v["total_lost"].as_u64().unwrap();
                assert_eq!(lost_sum, total_lost);
            }
            other => panic!("unexpected {other}: {data}"),
        }
    }
    assert_eq!(received + total_lost, total);
    assert!(
        total_lost > 0,
        "the client lagged: some events must be lost"
    );
    assert!(received >= 2048, "at least a ring's worth arrives");
    assert_eq!(rec.stats().total_recorded, total);
    eprintln!("recorded {total} in {record_time:?}; streamed {received}, lost {total_lost}");
}

#[test]
fn connection_and_request_limits() {
    let rec = recorder(1024);
    let server = start(&rec, HttpOptions::default().max_connections(2));
    let addr = server.local_addr();
    // Two long-lived streams take both connections.
    let _a = SseReader::open(addr, "/events/stream");
    let _b = SseReader::open(addr, "/events/stream");
    // /health has reserved slots; another endpoint is refused as busy (429, not 503).
    let r = get(addr, "/health");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(addr, "/stats");
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["error"], "busy");
    drop((_a, _b));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = get(addr, "/stats");
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "connections were never released");
        std::thread::sleep(Duration::from_millis(20));
    }

    let server = start(&rec, HttpOptions::default().max_request_bytes(1024));
    let addr = server.local_addr();
    let long = format!("/events?contains={}", "a".repeat(2000));
    let r = get(addr, &long);
    assert_eq!(r.status, 414);
    assert_eq!(r.json()["error"], "uri_too_long");
    // A request announcing a large body is refused before any of it is read.
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::io::Write::write_all(
        &mut conn,
        b"GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: 5000000\r\n\r\n",
    )
    .unwrap();
    let mut head = String::new();
    BufReader::new(conn).read_line(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

#[test]
fn shutdown_ends_streams_and_stops_listening() {
    let rec = recorder(1024);
    let server = start(&rec, HttpOptions::default());
    let addr = server.local_addr();
    let mut sse = SseReader::open(addr, "/events/stream");
    rec.record(&Event::new("k", Severity::Info).message("before shutdown"));
    let (name, data) = sse.next().unwrap();
    assert_eq!(name, "event");
    assert!(data.contains("before shutdown"));
    let t = std::thread::spawn(move || server.shutdown());
    let mut ended = None;
    while let Some((name, data)) = sse.next() {
        if name == "end" {
            ended = Some(data);
        }
    }
    assert_eq!(ended.as_deref(), Some(r#"{"reason":"shutdown"}"#));
    t.join().unwrap();
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "no longer listening"
    );
    // The recorder is untouched by the server going away.
    rec.record(&Event::new("k", Severity::Info));
    assert_eq!(rec.stats().total_recorded, 2);
}

#[test]
fn closing_the_recorder_ends_streams_of_a_mounted_router() {
    let rec = recorder(1024);
    let router = http::router(rec.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        rt.block_on(async move {
            let _ = axum::serve(listener, router).await;
        })
    });
    assert_eq!(get(addr, "/health").status, 200);
    let mut sse = SseReader::open(addr, "/events/stream");
    rec.record(&Event::new("k", Severity::Info));
    assert_eq!(sse.next().unwrap().0, "event");
    rec.close();
    let mut last = None;
    while let Some(ev) = sse.next() {
        last = Some(ev);
    }
    assert_eq!(last.unwrap().1, r#"{"reason":"closed"}"#);
    drop(handle); // the server thread runs until the process exits
}

#[test]
fn events_text_search_and_ignore_case() {
    let rec = recorder(1024);
    rec.record(
        &Event::new("dial", Severity::Warning).field("address", "/ip4/198.51.100.7/tcp/30333"),
    );
    rec.record(&Event::new("dial", Severity::Info).message("Connection TIMEOUT"));
    let server = start(&rec, HttpOptions::default());
    let addr = server.local_addr();
    let count = |path: &str| get(addr, path).json()["count"].as_u64().unwrap();
    assert_eq!(count("/events?text=198.51.100.7"), 1);
    assert_eq!(count("/events?text=timeout"), 0);
    assert_eq!(count("/events?text=timeout&ignore_case=true"), 1);
    let bad = get(addr, "/events?ignore_case=maybe");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["parameter"], "ignore_case");
}

fn field_i(data: &str) -> u64 {
    let e: EventRecord = serde_json::from_str(data).unwrap();
    match e.metadata.get("i") {
        Some(Value::U64(i)) => *i,
        other => panic!("{other:?} in {data}"),
    }
}

/// Issue #11 item 10: a client that reconnects with `Last-Event-ID` gets every event
/// recorded while it was away, once, and ids increase along the stream.
#[test]
fn a_reconnect_with_last_event_id_resumes_where_it_left_off() {
    let rec = recorder(1 << 14);
    let server = start(
        &rec,
        HttpOptions::default().stream_poll(Duration::from_millis(5)),
    );
    let addr = server.local_addr();
    let mut sse = SseReader::open(addr, "/events/stream");
    let ev = |i: u64| Event::new("tick", Severity::ALL[(i % 5) as usize]).field("i", i);
    for i in 0..100 {
        rec.record(&ev(i));
    }
    let mut got = Vec::new();
    let mut ids = Vec::new();
    while got.len() < 100 {
        let (name, data) = sse.next().expect("stream ended");
        assert_eq!(name, "event", "{data}");
        got.push(field_i(&data));
        ids.extend(sse.last_id.clone());
    }
    let sums: Vec<u64> = ids
        .iter()
        .map(|id| id.split('-').next().unwrap().parse().unwrap())
        .collect();
    assert!(sums.windows(2).all(|w| w[0] <= w[1]), "{ids:?}");
    let last = sse.last_id.clone().expect("an id");
    drop(sse);
    // Away: 500 more (Warning+ go to the reserved tier, all retained).
    for i in 100..600 {
        rec.record(&ev(i));
    }
    let mut sse = SseReader::resume(addr, "/events/stream", Some(&last));
    while got.len() < 600 {
        let (name, data) = sse.next().expect("stream ended");
        assert_eq!(name, "event", "nothing lost: {data}");
        got.push(field_i(&data));
    }
    got.sort_unstable();
    assert_eq!(got, (0..600).collect::<Vec<_>>(), "each event exactly once");
}

/// What the ring overwrote while the client was away is one exact `lost` notice; a
/// `Last-Event-ID` from elsewhere is said so, and the stream follows from now.
#[test]
fn a_reconnect_after_the_ring_wrapped_says_exactly_how_many_were_lost() {
    let rec = Recorder::builder()
        .capacity(64)
        .shards(1)
        .reserved_share(0.0)
        .build()
        .unwrap();
    let server = start(
        &rec,
        HttpOptions::default().stream_poll(Duration::from_millis(5)),
    );
    let addr = server.local_addr();
    let mut sse = SseReader::open(addr, "/events/stream");
    rec.record(&Event::new("tick", Severity::Info).field("i", 0u64));
    let (name, _) = sse.next().unwrap();
    assert_eq!(name, "event");
    let last = sse.last_id.clone().unwrap();
    drop(sse);
    for i in 1..=1000u64 {
        rec.record(&Event::new("tick", Severity::Info).field("i", i));
    }
    let retained = rec.stats().retained;
    let mut sse = SseReader::resume(addr, "/events/stream", Some(&last));
    let (mut events, mut lost) = (0u64, 0u64);
    while events + lost < 1000 {
        let (name, data) = sse.next().expect("stream ended");
        match name.as_str() {
            "event" => events += 1,
            "lost" => {
                let v: Json = serde_json::from_str(&data).unwrap();
                lost += v["lost"].as_u64().unwrap();
            }
            other => panic!("{other}: {data}"),
        }
    }
    assert_eq!((events, lost), (retained, 1000 - retained));
    drop(sse);
    let mut sse = SseReader::resume(addr, "/events/stream", Some("12-zz.1"));
    let (name, data) = sse.next().unwrap();
    assert_eq!(name, "reset", "{data}");
}
