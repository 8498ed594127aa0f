//! The OTLP exporter against a loopback HTTP receiver that decodes every request body
//! with the official `opentelemetry-proto` types: every event arrives once with the
//! right severity and attributes; an outage longer than the ring holds is counted to
//! the event; batches keep their bounds; a permanent refusal is not retried; https
//! works with the CA file and fails, counted, without it.
//!
//! The receiver is written here on `std::net` (HTTP/1.1, keep-alive, Content-Length
//! bodies), independent of the exporter's client; for https, rustls serves a
//! certificate that rcgen made for the run.

#![cfg(feature = "otlp")]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flightring::integrations::otlp::{OtlpConfig, OtlpError, OtlpExporter};
use flightring::{Event, HealthStatus, Recorder, Severity};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    /// This status, with this `Retry-After` when given.
    Status(u16, Option<&'static str>),
    /// 503 with `Retry-After` the date this far ahead.
    RetryAt(Duration),
    /// 200, then close the connection (without saying so).
    OkThenClose,
    /// 200 with a body cut short, the connection left open.
    Stall,
}

/// One request the receiver decoded.
#[derive(Debug, Clone)]
struct Request {
    at: Instant,
    headers: HashMap<String, String>,
    /// `service.name` of the (single) resource.
    service: Option<String>,
    records: Vec<LogRecord>,
    /// How many records it carried.
    count: usize,
    /// Whether it was accepted (answered 2xx).
    accepted: bool,
}

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    requests: Vec<Request>,
    /// Keep only the count of each request's records (for the throughput run).
    count_only: bool,
    /// Connections accepted.
    connections: usize,
}

/// A loopback OTLP/HTTP receiver. `down()` closes the port (connections are refused),
/// `up()` opens it again at the same address.
struct Receiver {
    addr: SocketAddr,
    /// Serves https with this.
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::start_with(None)
    }

    /// An https receiver serving `cert` (signed by itself) with `key`.
    fn start_tls(cert: &rcgen::Certificate, key: &rcgen::KeyPair) -> Receiver {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
        Receiver::start_with(Some(Arc::new(config)))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            mode: Some(Mode::Ok),
            ..State::default()
        }));
        let mut r = Receiver {
            addr,
            tls,
            state,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = Arc::clone(&stop);
        let state = Arc::clone(&self.state);
        let tls = self.tls.clone();
        self.thread = Some(std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        state.lock().unwrap().connections += 1;
                        let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
                        let tls = tls.clone();
                        conns.push(std::thread::spawn(move || match tls {
                            None => serve_conn(s, &state, &stop),
                            Some(config) => {
                                let conn = rustls::ServerConnection::new(config).unwrap();
                                serve_conn(rustls::StreamOwned::new(conn, s), &state, &stop)
                            }
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            drop(listener);
            for c in conns {
                let _ = c.join();
            }
        }));
    }

    fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/v1/logs", self.addr)
    }

    fn set_mode(&self, m: Mode) {
        self.state.lock().unwrap().mode = Some(m);
    }

    /// Closes the port and every connection.
    fn down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// Listens again at the same address.
    fn up(&mut self) {
        let listener = TcpListener::bind(self.addr).unwrap();
        self.serve(listener);
    }

    fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Log records in accepted requests.
    fn accepted(&self) -> Vec<LogRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.accepted)
            .flat_map(|r| r.records)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

/// A read timed out (the socket's 20 ms): look at `stop` and read again.
fn timed_out(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    matches!(e.kind(), WouldBlock | TimedOut | Interrupted)
}

/// Serves one connection (plain, or TLS over it) until it closes, fails or `stop`.
fn serve_conn(mut s: impl Read + Write, state: &Mutex<State>, stop: &AtomicBool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        // The head.
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match s.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if timed_out(&e) => {}
                Err(_) => return, // e.g. the client refused our certificate
            }
        };
        let head = String::from_utf8(buf[..end].to_vec()).unwrap();
        buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap();
        assert_eq!(request_line, "POST /v1/logs HTTP/1.1");
        let headers: HashMap<String, String> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        let len: usize = headers["content-length"].parse().unwrap();
        while buf.len() < len {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match s.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if timed_out(&e) => {}
                Err(_) => return, // e.g. the client refused our certificate
            }
        }
        let body: Vec<u8> = buf.drain(..len).collect();
        let req = ExportLogsServiceRequest::decode(body.as_slice()).expect("a valid request");
        assert_eq!(req.resource_logs.len(), 1);
        let rl = &req.resource_logs[0];
        let service = rl
            .resource
            .as_ref()
            .and_then(|r| str_attr(&r.attributes, "service.name"));
        let records: Vec<LogRecord> = rl
            .scope_logs
            .iter()
            .inspect(|sl| assert_eq!(sl.scope.as_ref().unwrap().name, "flightring"))
            .flat_map(|sl| sl.log_records.clone())
            .collect();
        let mode = {
            let mut st = state.lock().unwrap();
            let mode = st.mode.unwrap_or(Mode::Ok);
            let count = records.len();
            let records = if st.count_only { Vec::new() } else { records };
            st.requests.push(Request {
                at: Instant::now(),
                headers,
                service,
                records,
                count,
                accepted: matches!(mode, Mode::Ok | Mode::OkThenClose),
            });
            mode
        };
        let answer = match mode {
            Mode::Ok | Mode::OkThenClose => {
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n\
                 Content-Length: 0\r\n\r\n"
                    .to_owned()
            }
            Mode::Stall => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".to_owned(),
            Mode::Status(code, retry_after) => refusal(code, retry_after),
            Mode::RetryAt(ahead) => {
                let at = httpdate::fmt_http_date(std::time::SystemTime::now() + ahead);
                refusal(503, Some(&at))
            }
        };
        if s.write_all(answer.as_bytes()).is_err() || mode == Mode::OkThenClose {
            return;
        }
    }
}

fn refusal(code: u16, retry_after: Option<&str>) -> String {
    let extra = retry_after
        .map(|s| format!("Retry-After: {s}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {code} Refused\r\n{extra}Content-Type: text/plain\r\n\
         Content-Length: 11\r\n\r\nnot today\r\n"
    )
}

fn attr(kvs: &[KeyValue], key: &str) -> Option<Av> {
    kvs.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value)
}

fn str_attr(kvs: &[KeyValue], key: &str) -> Option<String> {
    match attr(kvs, key) {
        Some(Av::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn body(r: &LogRecord) -> String {
    match r.body.clone().and_then(|b| b.value) {
        Some(Av::StringValue(s)) => s,
        other => panic!("body {other:?}"),
    }
}

/// Polls `f` until it holds, for at most 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn otlp_fault(rec: &Recorder) -> Option<String> {
    rec.health()
        .reasons
        .into_iter()
        .find(|r| r.starts_with("otlp: "))
}

#[test]
fn every_event_arrives_once_with_its_severity_and_attributes() {
    let rx = Receiver::start();
    // The reserved tier (an eighth) must hold the 1,200 Warning+ of the 2,000.
    let rec = Recorder::builder()
        .capacity(16_384)
        .shards(2)
        .build()
        .unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .service_name("p2p-node")
        .resource_attribute("service.instance.id", "node-7")
        .header("Authorization", "Bearer s3cr3t")
        .batch(100, Duration::from_millis(50))
        .start(&rec)
        .unwrap();
    let n = 2000u64;
    for i in 0..n {
        let sev = Severity::ALL[(i % 5) as usize];
        let msg = format!("event {i}");
        let mut ev = Event::new(["block", "rpc", "peer"][(i % 3) as usize], sev)
            .message(&msg)
            .field("i", i)
            .field("neg", -(i as i64))
            .field("ratio", i as f64 / 4.0)
            .field("even", i % 2 == 0)
            .field("label", "x");
        let peer = format!("peer{}", i % 7);
        if i % 4 != 0 {
            ev = ev.peer(&peer);
        }
        rec.record(&ev);
    }
    otlp.flush().unwrap();
    let snapshot = rec.snapshot();
    let by_msg: HashMap<String, _> = snapshot
        .events()
        .iter()
        .map(|e| (e.message.clone(), e.clone()))
        .collect();
    assert_eq!(by_msg.len() as u64, n);

    let requests = rx.requests();
    for r in &requests {
        assert_eq!(r.service.as_deref(), Some("p2p-node"));
        assert_eq!(r.headers["content-type"], "application/x-protobuf");
        assert_eq!(r.headers["authorization"], "Bearer s3cr3t");
        assert!(r.records.len() <= 100, "batch of {}", r.records.len());
    }
    let records = rx.accepted();
    assert_eq!(records.len() as u64, n, "each event exactly once");
    let mut seen = std::collections::HashSet::new();
    for r in &records {
        let msg = body(r);
        assert!(seen.insert(msg.clone()), "{msg} twice");
        let i: u64 = msg.strip_prefix("event ").unwrap().parse().unwrap();
        let ev = &by_msg[&msg];
        let (number, text) = match ev.severity {
            Severity::Debug => (5, "DEBUG"),
            Severity::Info => (9, "INFO"),
            Severity::Warning => (13, "WARNING"),
            Severity::Error => (17, "ERROR"),
            Severity::Critical => (21, "CRITICAL"),
        };
        assert_eq!(ev.severity, Severity::ALL[(i % 5) as usize]);
        assert_eq!(
            (r.severity_number, r.severity_text.as_str()),
            (number, text)
        );
        assert_eq!(r.time_unix_nano, ev.timestamp.as_unix_nanos() as u64);
        // Read within seconds of being recorded (the recorder's clock is calibrated
        // against the system clock, not read from it, so allow for drift).
        let observed = r.observed_time_unix_nano as i64;
        assert!((observed - r.time_unix_nano as i64).abs() < 10_000_000_000);
        assert_eq!(r.event_name, ev.kind);
        let a = |k| attr(&r.attributes, k);
        assert_eq!(a("flightring.kind"), Some(Av::StringValue(ev.kind.clone())));
        assert_eq!(a("flightring.id"), Some(Av::IntValue(ev.id as i64)));
        assert_eq!(a("flightring.peer"), ev.peer.clone().map(Av::StringValue));
        assert_eq!(a("flightring.truncated"), None);
        assert_eq!(a("i"), Some(Av::IntValue(i as i64)));
        assert_eq!(a("neg"), Some(Av::IntValue(-(i as i64))));
        assert_eq!(a("ratio"), Some(Av::DoubleValue(i as f64 / 4.0)));
        assert_eq!(a("even"), Some(Av::BoolValue(i.is_multiple_of(2))));
        assert_eq!(a("label"), Some(Av::StringValue("x".into())));
    }
    let st = otlp.stats();
    assert_eq!(
        (st.events_sent, st.lost, st.dropped, st.pending),
        (n, 0, 0, 0),
        "{st:?}"
    );
    assert_eq!(st.batches_sent, requests.len() as u64);
    assert_eq!(st.failed_requests, 0);
    otlp.close().unwrap();
    assert!(otlp_fault(&rec).is_none());
    assert!(matches!(otlp.flush(), Err(OtlpError::Closed)));
}

#[test]
fn an_outage_longer_than_the_ring_is_counted_and_recovered_from() {
    let mut rx = Receiver::start();
    // 256 events of one 64-byte cell each (these are small).
    let rec = Recorder::builder()
        .capacity(256)
        .slot_bytes(64)
        .shards(1)
        .build()
        .unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .batch(64, Duration::from_millis(20))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .shutdown_timeout(Duration::from_secs(2))
        .start(&rec)
        .unwrap();
    let mut recorded = 0u64;
    let mut record = |k: u64| {
        for _ in 0..k {
            rec.record(&Event::new("k", Severity::Info).message(&format!("e{recorded}")));
            recorded += 1;
        }
    };
    record(100);
    otlp.flush().unwrap();
    assert_eq!(otlp.stats().events_sent, 100);

    // Phase 1: the collector answers 503.
    rx.set_mode(Mode::Status(503, None));
    record(10);
    eventually("the 503 to show in health", || {
        otlp_fault(&rec).is_some_and(|r| r.contains("HTTP 503"))
    });
    record(1000); // four laps of the ring while nobody takes them
    let failed = otlp.stats().failed_requests;
    eventually("retries", || otlp.stats().failed_requests >= failed + 2);

    // Phase 2: the port is closed.
    rx.down();
    record(1000);
    eventually("the refused connection to show in health", || {
        otlp_fault(&rec).is_some_and(|r| !r.contains("HTTP 503"))
    });
    let st = otlp.stats();
    assert!(st.pending <= 64 + 256, "the ring is the buffer: {st:?}");
    assert!(matches!(otlp.flush(), Err(OtlpError::Timeout { .. })));

    // Back.
    rx.up();
    rx.set_mode(Mode::Ok);
    record(50);
    eventually("recovery", || otlp_fault(&rec).is_none());
    otlp.flush().unwrap();
    record(20);
    otlp.close().unwrap();

    let st = otlp.stats();
    assert_eq!(st.pending, 0);
    assert_eq!(st.dropped, 0, "nothing given up on: {st:?}");
    assert!(st.lost >= 1000, "the ring lapped the exporter: {st:?}");
    assert_eq!(
        st.events_sent + st.lost + st.dropped,
        recorded,
        "the counts add up: {st:?}"
    );
    let received = rx.accepted();
    assert_eq!(received.len() as u64, st.events_sent);
    let unique: std::collections::HashSet<String> = received.iter().map(body).collect();
    assert_eq!(unique.len(), received.len(), "no duplicates");
    assert!(
        unique.contains(&format!("e{}", recorded - 1)),
        "the newest arrived"
    );
    assert!(st.failed_requests >= 3);
    assert!(st.last_error.is_some());
    assert!(otlp_fault(&rec).is_none());
}

#[test]
fn batches_keep_their_size_and_time_bounds() {
    let rx = Receiver::start();
    let rec = Recorder::builder()
        .capacity(4096)
        .shards(2)
        .build()
        .unwrap();
    let max_delay = Duration::from_millis(300);
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .batch(50, max_delay)
        .start(&rec)
        .unwrap();
    for i in 0..1000u64 {
        rec.record(&Event::new("k", Severity::Info).field("i", i));
    }
    otlp.flush().unwrap();
    let requests = rx.requests();
    assert_eq!(
        requests.iter().map(|r| r.records.len()).sum::<usize>(),
        1000
    );
    assert!(requests.iter().all(|r| r.records.len() <= 50));
    assert!(requests.len() >= 20);

    // Three events, no flush: the time bound sends them as a partial batch.
    let before = rx.requests().len();
    let recorded_at = Instant::now();
    for _ in 0..3 {
        rec.record(&Event::new("k", Severity::Info).message("late"));
    }
    eventually("the partial batch", || rx.requests().len() > before);
    let r = &rx.requests()[before];
    assert_eq!(r.records.len(), 3);
    assert!(
        r.at.duration_since(recorded_at) >= max_delay,
        "sent after {:?}, before max_delay",
        r.at.duration_since(recorded_at)
    );
    eventually("the answer to be counted", || {
        otlp.stats().events_sent == 1003
    });
}

#[test]
fn a_permanent_refusal_is_dropped_counted_and_not_retried() {
    let rx = Receiver::start();
    rx.set_mode(Mode::Status(400, None));
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .start(&rec)
        .unwrap();
    for _ in 0..10 {
        rec.record(&Event::new("k", Severity::Error).message("refused"));
    }
    match otlp.flush() {
        Err(OtlpError::Dropped { events, reason }) => {
            assert_eq!(events, 10);
            assert!(
                reason.contains("HTTP 400") && reason.contains("not today"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rx.requests().len(), 1, "not retried");
    let st = otlp.stats();
    assert_eq!(
        (st.dropped, st.events_sent, st.failed_requests),
        (10, 0, 1),
        "{st:?}"
    );
    let fault = otlp_fault(&rec).expect("the refusal shows in health");
    assert!(
        fault.contains("HTTP 400") && fault.contains("dropped a batch of 10"),
        "{fault}"
    );

    rx.set_mode(Mode::Ok);
    rec.record(&Event::new("k", Severity::Info).message("accepted"));
    otlp.flush().unwrap();
    assert!(otlp_fault(&rec).is_none());
    let st = otlp.stats();
    assert_eq!((st.events_sent, st.dropped), (1, 10));
    otlp.close().unwrap();
}

#[test]
fn retry_after_is_honoured() {
    let rx = Receiver::start();
    rx.set_mode(Mode::Status(429, Some("1")));
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .start(&rec)
        .unwrap();
    rec.record(&Event::new("k", Severity::Info).message("m"));
    eventually("the first attempt", || !rx.requests().is_empty());
    rx.set_mode(Mode::Ok);
    otlp.flush().unwrap();
    let r = rx.requests();
    assert_eq!(r.len(), 2, "one retry");
    let gap = r[1].at.duration_since(r[0].at);
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
    assert_eq!(otlp.stats().events_sent, 1);
}

#[test]
fn retry_after_as_a_date_is_honoured() {
    let rx = Receiver::start();
    // Two seconds ahead, to the second: a wait of (1 s, 2 s].
    rx.set_mode(Mode::RetryAt(Duration::from_secs(2)));
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .start(&rec)
        .unwrap();
    rec.record(&Event::new("k", Severity::Info).message("m"));
    eventually("the first attempt", || !rx.requests().is_empty());
    rx.set_mode(Mode::Ok);
    otlp.flush().unwrap();
    let r = rx.requests();
    assert_eq!(r.len(), 2, "one retry");
    let gap = r[1].at.duration_since(r[0].at);
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
    assert_eq!(otlp.stats().events_sent, 1);
}

/// A certificate for 127.0.0.1, signed by itself, and its PEM in a file of its own.
fn self_signed(name: &str) -> (rcgen::CertifiedKey<rcgen::KeyPair>, std::path::PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let path =
        std::env::temp_dir().join(format!("flightring-otlp-{}-{name}.pem", std::process::id()));
    std::fs::write(&path, ck.cert.pem()).unwrap();
    (ck, path)
}

#[test]
fn https_with_the_ca_file_delivers() {
    let (ck, ca) = self_signed("ca");
    let rx = Receiver::start_tls(&ck.cert, &ck.signing_key);
    assert!(rx.endpoint().starts_with("https://127.0.0.1:"));
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .ca_file(&ca)
        .header("Authorization", "Bearer s3cr3t")
        .batch(20, Duration::from_millis(20))
        .start(&rec)
        .unwrap();
    for i in 0..50u64 {
        rec.record(&Event::new("tls", Severity::Warning).message(&format!("e{i}")));
    }
    otlp.flush().unwrap();
    let received = rx.accepted();
    assert_eq!(received.len(), 50);
    let unique: std::collections::HashSet<String> = received.iter().map(body).collect();
    assert_eq!(unique.len(), 50, "each once");
    let requests = rx.requests();
    assert!(requests.len() >= 3, "batches of at most 20");
    assert!(requests
        .iter()
        .all(|r| r.headers["authorization"] == "Bearer s3cr3t"));
    let st = otlp.stats();
    assert_eq!(
        (st.events_sent, st.failed_requests, st.dropped, st.lost),
        (50, 0, 0, 0),
        "{st:?}"
    );
    assert!(otlp_fault(&rec).is_none());
    otlp.close().unwrap();
    let _ = std::fs::remove_file(&ca);
}

#[test]
fn https_without_the_ca_is_a_counted_fault() {
    let (ck, ca) = self_signed("unused");
    let _ = std::fs::remove_file(&ca);
    let rx = Receiver::start_tls(&ck.cert, &ck.signing_key);
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .shutdown_timeout(Duration::from_millis(300))
        .start(&rec)
        .unwrap();
    for _ in 0..5 {
        rec.record(&Event::new("tls", Severity::Info).message("m"));
    }
    eventually("the handshake failure in health", || {
        otlp_fault(&rec).is_some_and(|r| r.contains("certificate"))
    });
    let health = rec.health();
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    let fault = otlp_fault(&rec).unwrap();
    assert!(
        fault.starts_with(&format!("otlp: {}: TLS: ", rx.endpoint())),
        "names the endpoint and says it is TLS: {fault}"
    );
    eventually("retries", || otlp.stats().failed_requests >= 2);
    let st = otlp.stats();
    assert_eq!((st.events_sent, st.batches_sent), (0, 0), "{st:?}");
    assert!(st.last_error.as_deref().is_some_and(|e| e.contains("TLS")));
    assert!(rx.requests().is_empty(), "no request got through");
    match otlp.close() {
        Err(OtlpError::Dropped { events, reason }) => {
            assert_eq!(events, 5);
            // The last failure: the TLS one, or the last attempt cut short by the
            // close deadline.
            assert!(
                reason.contains("TLS") || reason.contains("timed out"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(otlp.stats().dropped, 5);
}

#[test]
fn an_idle_connection_the_collector_closed_is_replaced_without_a_failure() {
    let rx = Receiver::start();
    rx.set_mode(Mode::OkThenClose);
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .start(&rec)
        .unwrap();
    for i in 0..3 {
        rec.record(&Event::new("k", Severity::Info).message(&format!("e{i}")));
        otlp.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50)); // the close arrives
    }
    let st = otlp.stats();
    assert_eq!((st.events_sent, st.failed_requests), (3, 0), "{st:?}");
    assert_eq!(rx.state.lock().unwrap().connections, 3, "one per request");
    assert!(otlp_fault(&rec).is_none());
}

#[test]
fn a_failed_connection_is_not_reused() {
    let rx = Receiver::start();
    rx.set_mode(Mode::Stall);
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .request_timeout(Duration::from_millis(200))
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .start(&rec)
        .unwrap();
    rec.record(&Event::new("k", Severity::Info).message("m"));
    eventually("the stalled answer to time out", || {
        otlp_fault(&rec).is_some_and(|f| f.contains("timed out"))
    });
    rx.set_mode(Mode::Ok);
    otlp.flush().unwrap();
    let st = otlp.stats();
    assert!(st.failed_requests >= 1, "{st:?}");
    assert_eq!(st.events_sent, 1);
    let requests = rx.requests().len();
    assert_eq!(
        rx.state.lock().unwrap().connections,
        requests,
        "each attempt after a failure on a fresh connection"
    );
    assert!(otlp_fault(&rec).is_none());
}

#[test]
fn close_gives_up_in_time_and_counts_what_it_left() {
    let rx = Receiver::start();
    rx.set_mode(Mode::Status(503, None));
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .shutdown_timeout(Duration::from_millis(300))
        .start(&rec)
        .unwrap();
    for _ in 0..700 {
        rec.record(&Event::new("k", Severity::Info));
    }
    eventually("a 503", || otlp.stats().failed_requests > 0);
    let t = Instant::now();
    match otlp.close() {
        Err(OtlpError::Dropped { events, reason }) => {
            assert_eq!(events, 700);
            // The last failure: a 503, or the last attempt cut short by the deadline.
            assert!(
                reason.contains("HTTP 503") || reason.contains("timed out"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "close took {:?}",
        t.elapsed()
    );
    let st = otlp.stats();
    assert_eq!(
        (st.events_sent, st.lost, st.dropped, st.pending),
        (0, 0, 700, 0)
    );
    assert!(otlp_fault(&rec).is_some_and(|f| f.contains("700 events unsent")));
    assert!(otlp.close().is_err(), "idempotent");
}

/// Issue #11 item 11: with the collector down, `close()` waits out its
/// `shutdown_timeout` asleep — it used to spin a core for the whole time (the timed
/// wait returned at once once stop was set).
#[test]
fn close_with_the_collector_down_sleeps_instead_of_spinning() {
    let otlp_threads = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|t| t.ok().map(|t| t.path()))
                    .filter(|p| {
                        std::fs::read_to_string(p.join("comm"))
                            .is_ok_and(|c| c.trim() == "flightring-otlp")
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = otlp_threads();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(format!("http://127.0.0.1:{port}/v1/logs"))
        .backoff(Duration::from_secs(5), Duration::from_secs(5))
        .shutdown_timeout(Duration::from_millis(1500))
        .start(&rec)
        .unwrap();
    // The thread names itself once it runs, and other tests in this binary start and
    // stop exporters of their own: the candidates are the new threads of that name,
    // and ours is the one that is gone once `close()` has joined it.
    let mut candidates = Vec::new();
    eventually("the exporter's thread to be named", || {
        candidates = otlp_threads()
            .into_iter()
            .filter(|t| !before.contains(t))
            .collect();
        !candidates.is_empty()
    });
    fn cpu(thread: &std::path::Path) -> Option<f64> {
        let st = std::fs::read_to_string(thread.join("stat")).ok()?;
        let f: Vec<&str> = st.rsplit_once(") ")?.1.split(' ').collect();
        Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
    }
    for _ in 0..100 {
        rec.record(&Event::new("k", Severity::Info));
    }
    eventually("a failed request", || otlp.stats().failed_requests > 0);
    type Seen = std::collections::HashMap<std::path::PathBuf, (f64, f64)>;
    let seen: Seen = candidates
        .iter()
        .filter_map(|t| Some((t.clone(), (cpu(t)?, cpu(t)?))))
        .collect();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(seen));
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let sampler = {
        let (seen, done) = (seen.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                for (t, (_, last)) in seen.lock().unwrap().iter_mut() {
                    if let Some(c) = cpu(t) {
                        *last = c;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    assert!(otlp.close().is_err(), "nothing could be sent");
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let seen = seen.lock().unwrap();
    let ours: Vec<_> = seen.iter().filter(|(t, _)| !t.exists()).collect();
    assert!(
        !ours.is_empty(),
        "the exporter's thread was not found: {seen:?}"
    );
    // Another test's exporter that closed meanwhile is gone too; its CPU is not ours,
    // and ours is the least busy of those that went (a spinning one used ~1.5 s).
    let used = ours
        .iter()
        .map(|(_, (first, last))| last - first)
        .fold(f64::INFINITY, f64::min);
    assert!(
        used < 0.5,
        "the exporter's thread used {used:.2} s of CPU during a 1.5 s close"
    );
}

#[test]
fn bad_settings_fail_start() {
    let rec = Recorder::builder().capacity(64).build().unwrap();
    let cases: Vec<(OtlpConfig, &str)> = vec![
        (
            OtlpConfig {
                endpoint: "ftp://collector:4318/v1/logs".into(),
                ..OtlpConfig::default()
            },
            "endpoint",
        ),
        (
            OtlpConfig {
                endpoint: "https://collector:4318/v1/logs".into(),
                ca_file: Some("/nonexistent/flightring-ca.pem".into()),
                ..OtlpConfig::default()
            },
            "ca_file",
        ),
        (
            OtlpConfig {
                max_batch: 0,
                ..OtlpConfig::default()
            },
            "max_batch",
        ),
        (
            OtlpConfig {
                headers: vec![("X-Key".into(), "a\r\nInjected: 1".into())],
                ..OtlpConfig::default()
            },
            "headers",
        ),
    ];
    let junk =
        std::env::temp_dir().join(format!("flightring-otlp-{}-junk.pem", std::process::id()));
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let no_cert =
        std::env::temp_dir().join(format!("flightring-otlp-{}-none.pem", std::process::id()));
    std::fs::write(&no_cert, "not PEM\n").unwrap();
    let cases = cases
        .into_iter()
        .chain([junk.clone(), no_cert.clone()].map(|path| {
            (
                OtlpConfig {
                    endpoint: "https://collector:4318/v1/logs".into(),
                    ca_file: Some(path),
                    ..OtlpConfig::default()
                },
                "ca_file",
            )
        }));
    for (cfg, field) in cases {
        match OtlpExporter::start(&rec, cfg) {
            Err(OtlpError::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let _ = std::fs::remove_file(junk);
    let _ = std::fs::remove_file(no_cert);
    // An https endpoint is fine, with the public roots or a CA file.
    let otlp = OtlpExporter::start(
        &rec,
        OtlpConfig {
            endpoint: "https://127.0.0.1:9/v1/logs".into(),
            ..OtlpConfig::default()
        },
    )
    .unwrap();
    assert!(otlp.endpoint().starts_with("https://"));
}

/// A sustained stream reaches the loopback receiver whole (every event sent and
/// received, none lost), and the rate is printed. The receiver decodes every body with
/// prost on the same cores. A debug build sends 20 000 events, a release build 500 000
/// for the figure: `cargo test --release --features otlp --test otlp -- --nocapture
/// throughput`.
#[test]
fn throughput() {
    let rx = Receiver::start();
    rx.state.lock().unwrap().count_only = true;
    let n: u64 = if cfg!(debug_assertions) {
        20_000
    } else {
        500_000
    };
    let rec = Recorder::builder().capacity(1 << 20).build().unwrap();
    let otlp = OtlpExporter::builder()
        .endpoint(rx.endpoint())
        .service_name("bench")
        // The flush waits for the whole stream, however busy the machine is (the
        // figure is printed; the test checks that nothing is lost).
        .shutdown_timeout(Duration::from_secs(120))
        .start(&rec)
        .unwrap();
    let t = Instant::now();
    for i in 0..n {
        rec.record(
            &Event::new("rpc", Severity::Info)
                .peer("peer123")
                .message("getReserves answered")
                .field("ms", i % 1000)
                .field("ok", true)
                .field("pool", "0xabc"),
        );
    }
    let recorded = t.elapsed();
    otlp.flush().unwrap();
    let total = t.elapsed();
    let st = otlp.stats();
    let received: usize = rx.requests().iter().map(|r| r.count).sum();
    assert_eq!((st.events_sent, received as u64), (n, n));
    assert_eq!((st.lost, st.dropped), (0, 0));
    if let Some(cpu) = thread_cpu(flightring::integrations::otlp::THREAD_NAME) {
        println!(
            "otlp exporter thread CPU: {cpu:?} ({:.0} ns/event: read, encode, send)",
            cpu.as_nanos() as f64 / n as f64
        );
    }
    println!(
        "otlp throughput: {n} events recorded in {recorded:?}, all accepted after {total:?}: \
         {:.0} events/s, {} requests, {:.0} bytes/event, lost {}",
        n as f64 / total.as_secs_f64(),
        st.batches_sent,
        st.bytes_sent as f64 / n as f64,
        st.lost
    );
}

/// CPU time (user + system) of this process's thread named `name`, from `/proc` (Linux).
fn thread_cpu(name: &str) -> Option<Duration> {
    let tick = 100.0; // USER_HZ on Linux
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
        let (comm, rest) = stat.split_once(") ")?;
        if !comm.ends_with(&format!("({name}")) {
            continue;
        }
        let f: Vec<&str> = rest.split(' ').collect();
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        return Some(Duration::from_secs_f64(ticks / tick));
    }
    None
}
