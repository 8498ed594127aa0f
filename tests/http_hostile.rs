//! The HTTP endpoint against hostile and broken clients, over raw sockets: connection
//! floods and slowloris must not take `/health` and `/metrics` down, clients that stop
//! reading are bounded and cut, and every refusal has a JSON body naming what was wrong.
#![cfg(feature = "http")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use flightring::http::{self, HttpOptions, HttpServer};
use flightring::{Event, Recorder, Severity};
use serde_json::Value as Json;

/// A generous bound on anything that should be prompt: only a failure takes this long.
const BOUND: Duration = Duration::from_secs(30);

fn start(rec: &Recorder, opts: HttpOptions) -> HttpServer {
    http::serve_with(rec.clone(), "127.0.0.1:0", opts).unwrap()
}

/// A response read whole from a raw socket: status, headers (lower-cased names), body.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// Sends `request` as is on a new connection and reads the answer until the server
/// closes (every request here says `connection: close` or is refused).
fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(BOUND)).unwrap();
    let _ = c.write_all(request);
    read_answer(c)
}

fn read_answer(mut c: TcpStream) -> Raw {
    let mut bytes = Vec::new();
    let _ = c.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Raw {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Raw {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
    )
}

/// The value of an unlabelled sample in Prometheus text.
fn sample(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
        .parse()
        .unwrap()
}

#[test]
fn a_flood_of_silent_and_slowloris_connections_leaves_health_and_metrics_answering() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let server = start(&rec, HttpOptions::default());
    let addr = server.local_addr();
    // 100 connections that never send a byte, more than max_connections (64) plus the
    // reserved slots (8)…
    let mut silent: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // …and 8 slowloris connections dribbling a head that never ends.
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"GET /events HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    for round in 0..3 {
        for c in &mut slow {
            let _ = c.write_all(format!("x-{round}: y\r\n").as_bytes());
        }
        let started = Instant::now();
        let h = get(addr, "/health");
        assert_eq!(h.status, 200, "{}", h.body);
        assert_eq!(h.json()["status"], "Healthy");
        let m = get(addr, "/metrics");
        assert_eq!(m.status, 200, "{}", m.body);
        assert!(
            started.elapsed() < BOUND,
            "answered only after {:?}",
            started.elapsed()
        );
        // Well before the 10 s header timeout would have cut the flood.
        std::thread::sleep(Duration::from_millis(200));
    }
    // The oldest silent connections made way, each told why (408 with a JSON body).
    silent[0].set_read_timeout(Some(BOUND)).unwrap();
    let evicted = read_answer(silent.remove(0));
    assert_eq!(evicted.status, 408, "{}", evicted.body);
    assert_eq!(evicted.json()["error"], "request_timeout");
    let m = get(addr, "/metrics").body;
    assert!(
        m.lines().any(
            |l| l.starts_with("flightring_http_refused_total{reason=\"evicted\"} ")
                && !l.ends_with(" 0")
        ),
        "{m}"
    );
    drop((silent, slow));
}

#[test]
fn busy_is_429_with_retry_after_and_counted_never_503() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let server = start(
        &rec,
        HttpOptions::default()
            .max_connections(2)
            .probe_connections(1),
    );
    let addr = server.local_addr();
    // Two kept-alive connections hold both slots.
    let hold = |path: &str| {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .unwrap();
        let mut first = [0u8; 12];
        c.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        c
    };
    let _a = hold("/events/stream");
    let _b = hold("/events/stream");
    let r = get(addr, "/stats");
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["error"], "busy");
    // The reserved slot still answers /health and /metrics.
    assert_eq!(get(addr, "/health").status, 200);
    let m = get(addr, "/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.body
            .contains("flightring_http_refused_total{reason=\"busy\"} 1\n"),
        "{}",
        m.body
    );
}

#[test]
fn a_slow_head_is_answered_408_with_a_json_body() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let server = start(
        &rec,
        HttpOptions::default().header_read_timeout(Duration::from_millis(300)),
    );
    let r = raw(server.local_addr(), b"GET /health HTTP/1.1\r\nhost: x\r\n");
    assert_eq!(r.status, 408, "{}", r.body);
    assert_eq!(r.json()["error"], "request_timeout");
    let m = get(server.local_addr(), "/metrics").body;
    assert!(
        m.contains("flightring_http_refused_total{reason=\"header_timeout\"} 1\n"),
        "{m}"
    );
}

#[test]
fn every_error_has_a_json_body_naming_what_was_wrong() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    rec.record(&Event::new("rpc", Severity::Info));
    let server = start(&rec, HttpOptions::default().max_request_bytes(1024));
    let addr = server.local_addr();

    let r = raw(
        addr,
        b"POST /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    );
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.json()["error"], "method_not_allowed");
    assert!(
        r.header("allow").unwrap().contains("GET"),
        "{:?}",
        r.headers
    );

    let r = raw(
        addr,
        b"POST /api/record/event HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 5000\r\n\r\n",
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.json()["error"], "request_too_large");

    let long = format!("/events?contains={}", "a".repeat(5000));
    let r = get(addr, &long);
    assert_eq!(r.status, 414, "{}", r.body);
    assert_eq!(r.json()["error"], "uri_too_long");

    let r = raw(
        addr,
        format!(
            "GET /health HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
            "b".repeat(20_000)
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 431, "{}", r.body);
    assert_eq!(r.json()["error"], "headers_too_large");

    // A path segment that does not decode to UTF-8 (the fuzzer's find: axum answered
    // in plain text).
    let r = get(addr, "/histograms/%C3%28");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["field"], "name", "{}", r.body);

    // Malformed percent-encoding: tests/http.rs, with every other bad parameter.
    // Well-formed encoding still decodes.
    let r = get(addr, "/events?kind=r%70c");
    assert_eq!((r.status, r.json()["count"].as_u64()), (200, Some(1)));
}

/// Opens `path` and never reads the answer.
fn stalled(addr: SocketAddr, path: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .unwrap();
    c
}

#[test]
fn stalled_event_stream_clients_hold_bounded_memory() {
    let rec = Recorder::builder().capacity(1 << 16).build().unwrap();
    let (per, all): (usize, u64) = (64 << 10, 512 << 10);
    let server = start(
        &rec,
        HttpOptions::default()
            .stream_poll(Duration::from_millis(5))
            .stream_buffer_bytes(per)
            .stream_total_bytes(all as usize),
    );
    let addr = server.local_addr();
    let clients: Vec<TcpStream> = (0..20).map(|_| stalled(addr, "/events/stream")).collect();
    let filler = "x".repeat(200);
    let mut peak = 0;
    let started = Instant::now();
    // Record at speed until the streams have filled their sockets and their budgets.
    while started.elapsed() < Duration::from_secs(2) {
        for i in 0..2000u64 {
            rec.record(
                &Event::new("tick", Severity::Info)
                    .message(&filler)
                    .field("i", i),
            );
        }
        let m = get(addr, "/metrics").body;
        peak = peak.max(sample(&m, "flightring_http_sse_buffered_bytes"));
    }
    // A frame is at most 128 events of ~330 bytes of JSON each.
    let frame = 128 * 400;
    assert!(
        peak > per as u64,
        "the stalled streams never filled a budget ({peak} bytes held)"
    );
    assert!(
        peak <= all + clients.len() as u64 * frame,
        "{peak} bytes held by 20 stalled streams; the bound is {all} + one frame each"
    );
    eprintln!("peak SSE bytes held for 20 stalled clients: {peak}");
    drop(clients);
}

#[test]
fn a_stalled_export_client_does_not_block_other_exports() {
    let rec = Recorder::builder().capacity(1 << 16).build().unwrap();
    let filler = "y".repeat(300);
    for i in 0..(1u64 << 16) {
        rec.record(
            &Event::new("bulk", Severity::Info)
                .message(&filler)
                .field("i", i),
        );
    }
    let retained = rec.snapshot().len();
    assert!(retained > 10_000, "{retained}");
    let server = start(
        &rec,
        HttpOptions::default()
            .max_concurrent_exports(1)
            .write_timeout(Duration::from_secs(2)),
    );
    let addr = server.local_addr();
    // Over 10 MB of JSON Lines: more than the socket buffers take.
    let _stalled = stalled(addr, "/export?format=jsonl");
    std::thread::sleep(Duration::from_millis(200));
    let deadline = Instant::now() + BOUND;
    loop {
        // A real client, which reads the chunked body.
        let mut resp = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(BOUND))
            .build()
            .new_agent()
            .get(format!("http://{addr}/export?format=jsonl"))
            .call()
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .unwrap();
        if status == 200 {
            // The whole ring, every line an event.
            let lines = body.lines().count();
            assert!(lines + 1000 >= retained, "{lines} lines of {retained}");
            for line in body.lines() {
                serde_json::from_str::<Json>(line).unwrap();
            }
            break;
        }
        let r = Raw {
            status,
            headers: Vec::new(),
            body,
        };
        assert_eq!(
            r.status, 429,
            "busy while the stalled export holds its place"
        );
        assert_eq!(r.json()["error"], "busy");
        assert!(
            Instant::now() < deadline,
            "the stalled export was never cut"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = get(addr, "/metrics").body;
    assert!(
        sample(&m, "flightring_http_write_timeouts_total") >= 1,
        "{m}"
    );
}
