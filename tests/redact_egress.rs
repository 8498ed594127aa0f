//! Redaction where data leaves the process: `record` stores what the caller gave, and
//! every way out — queries, snapshots, JSON / JSON Lines / CSV exports, the file
//! exporter, HTTP (`/events`, its SSE stream, `/export`, `/metrics`, `/report`), OTLP,
//! panic dumps, recordings, the network report and counter names — hides each secret
//! form of the list, while a swap's `token_in` (an address) stays visible.
#![cfg(all(feature = "http", feature = "otlp"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flightring::exporter::{Exporter, ExporterConfig};
use flightring::integrations::otlp::{OtlpConfig, OtlpExporter};
use flightring::{http, Event, PanicDump, PanicHook, Recorder, RedactionConfig, Severity};

#[path = "support/temp_dir.rs"]
mod temp_dir;

/// Each secret, and where it is recorded. None of these strings may leave the process.
const SECRETS: &[&str] = &[
    "hunter2SECRET1",
    "SECRET2pw",
    "SECRET3json",
    "SECRET4bearerTOKEN",
    "9aa3d95b3bc440fa88ea12eaa4456161",
    "AbCdEfGhIjKlMnOpQrSt1234",
    "SECRET7qk",
    "SECRET8priv",
    "SECRET9field",
];
/// A swap's input token: an address, not a secret; it must stay.
const TOKEN_IN: &str = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";
const ENDPOINT: &str = "https://alice:hunter2SECRET1@rpc.example.org:8545/";

fn record_secrets(rec: &Recorder) {
    rec.rpc_call(
        ENDPOINT,
        "eth_call",
        Duration::from_millis(3),
        true,
        Some(7),
        512,
        1,
        1,
    );
    rec.rpc_call(
        ENDPOINT,
        "eth_call",
        Duration::from_millis(9),
        false,
        Some(8),
        0,
        1,
        0,
    );
    rec.record(&Event::new("login", Severity::Warning).message("login password: SECRET2pw ok"));
    rec.record(
        &Event::new("payload", Severity::Info).message(r#"body {"password":"SECRET3json","n":1}"#),
    );
    rec.record(
        &Event::new("http_call", Severity::Error)
            .message("GET / Authorization: Bearer SECRET4bearerTOKEN")
            .field(
                "url",
                "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
            )
            .field(
                "fallback",
                "https://eth-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrSt1234",
            ),
    );
    rec.record(&Event::new("query", Severity::Info).message("GET /rpc?key=SECRET7qk&n=1"));
    rec.record(
        &Event::new("wallet", Severity::Critical)
            .field("privkey", "SECRET8priv")
            .field("api_key", "SECRET9field")
            .field("token_in", TOKEN_IN),
    );
}

fn assert_clean(way: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{way} shows the secret {s}:\n{text}");
    }
}

fn assert_clean_with_token(way: &str, text: &str) {
    assert_clean(way, text);
    assert!(text.contains(TOKEN_IN), "{way} lost token_in:\n{text}");
    assert!(
        text.contains("[REDACTED]"),
        "{way} shows no [REDACTED]:\n{text}"
    );
}

fn recorder() -> Recorder {
    Recorder::builder().capacity(1024).build().unwrap()
}

#[test]
fn reads_and_exports_are_redacted() {
    let rec = recorder();
    record_secrets(&rec);
    let events = rec.query(&flightring::Query::new().limit(100));
    assert_eq!(events.len(), 7);
    assert_clean_with_token("query", &serde_json::to_string(&events).unwrap());
    let snap = rec.snapshot();
    assert_clean_with_token("snapshot", &serde_json::to_string(&snap.events()).unwrap());
    assert_clean_with_token("export_json", &rec.export_json().unwrap());
    let mut jsonl = Vec::new();
    rec.write_jsonl(&mut jsonl).unwrap();
    assert_clean_with_token("write_jsonl", &String::from_utf8(jsonl).unwrap());
    let mut csv = Vec::new();
    snap.write_csv(&mut csv).unwrap();
    assert_clean_with_token("csv", &String::from_utf8(csv).unwrap());
    let mut cur = rec.cursor_from_oldest();
    let batch = cur.poll(100);
    assert_clean_with_token("cursor", &format!("{batch:?}"));

    // The forms, exactly.
    let by_kind = |k: &str| events.iter().find(|e| e.kind == k).unwrap().clone();
    assert_eq!(
        by_kind("rpc_call").peer.as_deref(),
        Some("https://[REDACTED]@rpc.example.org:8545/")
    );
    assert_eq!(by_kind("login").message, "login password: [REDACTED] ok");
    assert_eq!(
        by_kind("payload").message,
        r#"body {"password":"[REDACTED]","n":1}"#
    );
    let call = by_kind("http_call");
    assert_eq!(call.message, "GET / Authorization: [REDACTED]");
    assert_eq!(
        call.metadata.get("url").unwrap().as_str(),
        Some("https://mainnet.infura.io/v3/[REDACTED]")
    );
    assert_eq!(by_kind("query").message, "GET /rpc?key=[REDACTED]&n=1");
    let w = by_kind("wallet");
    assert_eq!(
        w.metadata.get("privkey").unwrap().as_str(),
        Some("[REDACTED]")
    );
    assert_eq!(w.metadata.get("token_in").unwrap().as_str(), Some(TOKEN_IN));

    // A text query cannot probe for a secret: it matches the text as shown.
    assert!(rec
        .query(&flightring::Query::new().contains("SECRET2pw"))
        .is_empty());
    assert_eq!(
        rec.query(&flightring::Query::new().contains("[REDACTED] ok"))
            .len(),
        1
    );
    // A peer filter matches the peer as shown (and as recorded).
    let shown = "https://[REDACTED]@rpc.example.org:8545/";
    assert_eq!(rec.query(&flightring::Query::new().peer(shown)).len(), 2);

    // Counter names derived from the endpoint use its host only.
    assert_eq!(
        rec.counter_value("rpc.rpc.example.org:8545.success"),
        Some(1)
    );
    assert_eq!(
        rec.counter_value("rpc.rpc.example.org:8545.failure"),
        Some(1)
    );
    assert_clean("stats", &serde_json::to_string(&rec.stats()).unwrap());
    let report = rec.report(Duration::from_secs(60));
    assert_clean("report", &serde_json::to_string(&report).unwrap());
}

#[test]
fn the_ring_holds_what_was_given_unless_on_record() {
    // Off the record path by default: an export with redaction disabled shows the
    // secret, so it is the way out that redacts, not `record`.
    let plain = Recorder::builder()
        .capacity(64)
        .redaction(RedactionConfig::disabled())
        .build()
        .unwrap();
    plain.record(&Event::new("login", Severity::Info).message("password=SECRET2pw"));
    assert!(plain.export_json().unwrap().contains("SECRET2pw"));

    // `on_record` redacts before the ring too; what comes out is the same.
    let strict = Recorder::builder()
        .capacity(1024)
        .redaction(RedactionConfig {
            on_record: true,
            ..RedactionConfig::default()
        })
        .build()
        .unwrap();
    record_secrets(&strict);
    assert_clean_with_token("on_record export", &strict.export_json().unwrap());
}

#[test]
fn the_file_exporter_and_recordings_are_redacted() {
    let dir = temp_dir::temp_dir("egress", "files");
    let rec = recorder();
    let exporter = Exporter::start_from_oldest(
        &rec,
        ExporterConfig {
            path: dir.join("stream.jsonl"),
            flush_interval: Duration::from_millis(5),
            ..ExporterConfig::default()
        },
    )
    .unwrap();
    let session = rec.start_recording("incident");
    record_secrets(&rec);
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        let text = std::fs::read_to_string(dir.join("stream.jsonl")).unwrap_or_default();
        if text.lines().count() >= 7 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(exporter);
    assert_clean_with_token("file exporter", &stream);
    let (_, path) = session.save(&dir).unwrap();
    assert_clean_with_token("recording", &std::fs::read_to_string(path).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_panic_dump_is_redacted() {
    let dir = temp_dir::temp_dir("egress", "panic");
    let rec = recorder();
    record_secrets(&rec);
    PanicHook::new(&dir).install(&rec).unwrap();
    let _ = std::thread::spawn(|| panic!("boom (a test panic)")).join();
    let dump = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a dump file");
    let text = std::fs::read_to_string(&dump).unwrap();
    assert_clean_with_token("panic dump", &text);
    assert!(PanicDump::from_json(&text).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    // The SSE stream never ends: read what came within the timeout.
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn http_is_redacted() {
    let rec = recorder();
    let server = http::serve(rec.clone(), "127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    // The stream carries events recorded after it starts.
    let sse = std::thread::spawn(move || get(addr, "/events/stream"));
    std::thread::sleep(Duration::from_millis(500));
    record_secrets(&rec);
    assert_clean_with_token("/events", &get(addr, "/events?limit=100"));
    assert_clean_with_token("/export", &get(addr, "/export"));
    assert_clean("/metrics", &get(addr, "/metrics"));
    assert_clean("/report", &get(addr, "/report"));
    assert_clean("/stats", &get(addr, "/stats"));
    let sse = sse.join().unwrap();
    assert!(sse.contains("data:"), "{sse}");
    assert_clean_with_token("/events/stream", &sse);
}

/// Answers 200 to every request on `conn`, appending each body to `keep`, until the
/// client closes it.
fn keep_bodies(conn: std::net::TcpStream, keep: &Mutex<Vec<u8>>) {
    let mut r = BufReader::new(conn);
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        keep.lock().unwrap().extend_from_slice(&body);
        let _ = r
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
}

#[test]
fn otlp_is_redacted() {
    // A collector on loopback that keeps every request body.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies: Arc<Mutex<Vec<u8>>> = Arc::default();
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            keep_bodies(conn, &keep);
        }
    });
    let rec = recorder();
    record_secrets(&rec);
    let exporter = OtlpExporter::start_from_oldest(
        &rec,
        OtlpConfig {
            endpoint: format!("http://{addr}/v1/logs"),
            max_delay: Duration::from_millis(5),
            ..OtlpConfig::default()
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while String::from_utf8_lossy(&bodies.lock().unwrap())
        .matches("[REDACTED]")
        .count()
        < 9
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(exporter);
    let sent = String::from_utf8_lossy(&bodies.lock().unwrap()).into_owned();
    assert_clean_with_token("OTLP", &sent);
}
