//! A soak run with a report: everything flightring runs, at once, for a while, with the
//! figures a person needs to trust it — memory over time, rates, every loss by cause,
//! torn reads, and the accounting identity.
//!
//! ```text
//! cargo run --release --all-features --example soak -- --seconds 600 --report soak.json
//!     [--rate 20000] [--sample-ms 2000] [--plot soak.png] [--dir DIR] [--keep]
//! ```
//!
//! What runs:
//! - two writer threads record the realistic mix of the benches
//!   (`benches/support/mix.rs`: 1,000 peers, half with 52-character libp2p ids and
//!   multiaddrs, logfmt messages, 8 kinds, 30 % Debug … 5 % Critical) at `--rate`
//!   events/s in all, ten times that for one second in every ten (a burst); each event
//!   carries `writer`, `seq` and `check`, a checksum of its kind, peer, message, writer,
//!   seq and size;
//! - a checker follows the ring with a `Cursor` and validates every event it reads
//!   against its checksum (a mismatch is a torn read);
//! - the file exporter streams to a JSON Lines file rotated every 4 MiB, gzipped, the
//!   newest 8 kept; the sweeper expires events older than 1 s (retention);
//! - the HTTP endpoint, scraped every second at `/metrics` and `/health`; two
//!   `/events/stream` (SSE) clients, one reading 4 KiB every 250 ms, one that never
//!   reads;
//! - the OTLP exporter, to a loopback receiver that decodes every request;
//! - a block monitor fed a 20-blocks-a-second chain with a six-block gap every 200
//!   blocks, its rules sending alerts to a loopback webhook.
//!
//! Every `--sample-ms` the writers pause for a moment (the monitor feeder too) so the
//! ring is quiescent, and the run samples RSS, events/s, losses by cause, and checks the
//! identity `recorded = retained + overwritten + expired + cleared` against what the
//! ring really holds: `snapshot()` must hold between `retained − E` and `retained`
//! events, where `E` is what a sweep right after the snapshot expires (events crossing
//! the retention age while it is taken). At the end: the exporter's `written + lost` =
//! `recorded + dropped`, the OTLP exporter's `sent + lost + dropped` likewise and the
//! receiver decoded exactly `sent` records.
//!
//! The report (`--report`, JSON) has `seconds`, `events`, `torn`, `validated`,
//! `conservation_ok`, `rss_start_kb`, `rss_max_kb`, `rss_end_kb`, `rss_warm_kb` (the
//! first sample after the first burst and a tenth of the run: buffers have grown to
//! the peak load once), `losses` by cause, per-part
//! figures, every sample, and `failures`; the plot (`--plot`, default the report's path
//! with `.png`) draws RSS and the rates over time. The run exits 1 if any event was
//! torn, an accounting check failed, an HTTP scrape got no answer, no alert reached
//! the webhook, or RSS grew past `rss_warm × 1.25 + 16 MiB`.

#[path = "../benches/support/mix.rs"]
mod mix;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use flightring::alert::{AlertManager, Condition, Rule, RuleEngine, WebhookChannel};
use flightring::exporter::{Exporter, ExporterConfig};
use flightring::integrations::otlp::{OtlpConfig, OtlpExporter};
use flightring::monitor::{BlockInfo, BlockMonitor, MonitorConfig};
use flightring::{Event, EventRecord, Recorder, Value};
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Writer threads.
const WRITERS: usize = 2;
/// A burst multiplies the rate by this, for one second in every `BURST_EVERY`.
const BURST_FACTOR: f64 = 10.0;
const BURST_EVERY: u64 = 10;
/// The sweeper's retention and interval.
const RETENTION: Duration = Duration::from_secs(1);
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);
/// RSS may grow by this factor and this many KiB past the warm-up sample.
const RSS_FACTOR: f64 = 1.25;
const RSS_SLACK_KB: u64 = 16 * 1024;

struct Args {
    seconds: u64,
    report: PathBuf,
    plot: Option<PathBuf>,
    rate: u64,
    sample: Duration,
    dir: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 60,
        report: "soak.json".into(),
        plot: None,
        rate: 20_000,
        sample: Duration::from_secs(2),
        dir: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| -> Result<u64, String> {
            v.parse().map_err(|e| format!("{name} {v:?}: {e}"))
        };
        match flag.as_str() {
            "--seconds" => a.seconds = number("--seconds", value("--seconds")?)?,
            "--rate" => a.rate = number("--rate", value("--rate")?)?,
            "--sample-ms" => {
                a.sample = Duration::from_millis(number("--sample-ms", value("--sample-ms")?)?)
            }
            "--report" => a.report = value("--report")?.into(),
            "--plot" => a.plot = Some(value("--plot")?.into()),
            "--dir" => a.dir = Some(value("--dir")?.into()),
            "--keep" => a.keep = true,
            "-h" | "--help" => {
                println!("usage: soak [--seconds N] [--report PATH] [--plot PATH] [--rate EVENTS_PER_S] [--sample-ms MS] [--dir DIR] [--keep]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if a.seconds == 0 || a.rate == 0 || a.sample < Duration::from_millis(100) {
        return Err("--seconds and --rate must be at least 1, --sample-ms at least 100".into());
    }
    Ok(a)
}

/// FNV-1a over what a torn read would change.
fn checksum(writer: u64, seq: u64, kind: &str, peer: &str, msg: &str, size: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in writer
        .to_le_bytes()
        .iter()
        .chain(&seq.to_le_bytes())
        .chain(&size.to_le_bytes())
        .chain(kind.as_bytes())
        .chain(peer.as_bytes())
        .chain(msg.as_bytes())
    {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// `Some(true)` if `e` is a writer's event and validates, `Some(false)` if it is one and
/// does not (torn), `None` for other events (the monitor's, the alerts').
fn validate(e: &EventRecord) -> Option<bool> {
    let get = |k: &str| match e.metadata.get(k) {
        Some(Value::U64(v)) => Some(*v),
        _ => None,
    };
    let check = get("check")?;
    let ok = match (get("writer"), get("seq"), get("size")) {
        (Some(w), Some(s), Some(size)) => {
            check
                == checksum(
                    w,
                    s,
                    &e.kind,
                    e.peer.as_deref().unwrap_or(""),
                    &e.message,
                    size,
                )
        }
        _ => false,
    };
    Some(ok && !e.truncated)
}

/// Writers (and the monitor feeder) park here while the main thread samples.
struct Pause {
    on: AtomicBool,
    parked: AtomicUsize,
}

impl Pause {
    fn wait_if_paused(&self) {
        if self.on.load(Ordering::Acquire) {
            self.parked.fetch_add(1, Ordering::AcqRel);
            while self.on.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_micros(200));
            }
            self.parked.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Pauses `n` participants; false if they did not all park within a second.
    fn pause(&self, n: usize) -> bool {
        self.on.store(true, Ordering::Release);
        let t = Instant::now();
        while self.parked.load(Ordering::Acquire) < n {
            if t.elapsed() > Duration::from_secs(1) {
                return false;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        true
    }

    fn resume(&self) {
        self.on.store(false, Ordering::Release);
    }
}

struct Shared {
    stop: AtomicBool,
    pause: Pause,
    /// Events handed to `record` by the writers.
    written: AtomicU64,
}

fn writer(rec: Recorder, mix: Arc<mix::Mix>, w: usize, rate: u64, sh: Arc<Shared>) {
    let per_writer = rate as f64 / WRITERS as f64;
    let start = Instant::now();
    let mut seq = 0u64;
    // Events due: integrated over time, so a pause or a slow second is caught up.
    let mut due = 0.0f64;
    let mut last = start;
    while !sh.stop.load(Ordering::Relaxed) {
        sh.pause.wait_if_paused();
        let now = Instant::now();
        let secs = now.duration_since(start).as_secs();
        let r = if secs % BURST_EVERY == BURST_EVERY - 1 {
            per_writer * BURST_FACTOR
        } else {
            per_writer
        };
        due += now.duration_since(last).as_secs_f64() * r;
        last = now;
        // At most 10 ms worth at once, so a pause is not followed by a flood.
        let n = (due as u64).min((r / 100.0) as u64 + 1);
        due -= n as f64;
        for _ in 0..n {
            let i = (w * 4099 + seq as usize) % mix::EVENTS;
            let s = mix.spec(i);
            let (peer, addr) = &mix.peers[usize::from(s.peer)];
            let kind = mix::KINDS[usize::from(s.kind)];
            let msg = &mix.messages[usize::from(s.message)];
            let check = checksum(w as u64, seq, kind, peer, msg, s.size);
            rec.record(
                &Event::new(kind, s.severity)
                    .peer(peer)
                    .message(msg)
                    .field("address", addr.as_str())
                    .field("size", s.size)
                    .field("writer", w as u64)
                    .field("seq", seq)
                    .field("check", check),
            );
            seq += 1;
        }
        sh.written.fetch_add(n, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[derive(Default)]
struct CheckerCounts {
    validated: AtomicU64,
    torn: AtomicU64,
    other: AtomicU64,
    lost: AtomicU64,
    first_torn: Mutex<Option<String>>,
}

fn checker(rec: Recorder, sh: Arc<Shared>, c: Arc<CheckerCounts>) {
    let mut cursor = rec.cursor();
    let mut out = Vec::new();
    loop {
        let stopping = sh.stop.load(Ordering::Relaxed);
        out.clear();
        let lost = cursor.poll_into(&mut out, 8192);
        c.lost.fetch_add(lost, Ordering::Relaxed);
        for e in &out {
            match validate(e) {
                Some(true) => c.validated.fetch_add(1, Ordering::Relaxed),
                Some(false) => {
                    let mut first = c.first_torn.lock().unwrap_or_else(|p| p.into_inner());
                    first.get_or_insert_with(|| format!("{e:?}"));
                    c.torn.fetch_add(1, Ordering::Relaxed)
                }
                None => c.other.fetch_add(1, Ordering::Relaxed),
            };
        }
        if stopping && out.is_empty() {
            return;
        }
        if out.len() < 8192 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Reads one HTTP/1.1 request (head and `content-length` body); `None` at EOF.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let request_line = line.trim_end().to_owned();
    let mut len = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((request_line, body))
}

/// What a loopback receiver got.
#[derive(Default)]
struct Received {
    requests: AtomicU64,
    bytes: AtomicU64,
    /// OTLP log records decoded, or webhook alerts.
    items: AtomicU64,
    bad: AtomicU64,
}

/// A loopback HTTP receiver answering 200 to every request; `count` says how many items
/// a body holds (`None`: it does not parse).
fn receiver(
    count: fn(&[u8]) -> Option<u64>,
) -> Result<(SocketAddr, Arc<Received>), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let got = Arc::new(Received::default());
    let g = Arc::clone(&got);
    std::thread::Builder::new()
        .name("soak-receiver".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    let mut r = BufReader::new(stream);
                    while let Some((_, body)) = read_request(&mut r) {
                        g.requests.fetch_add(1, Ordering::Relaxed);
                        g.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                        match count(&body) {
                            Some(n) => g.items.fetch_add(n, Ordering::Relaxed),
                            None => g.bad.fetch_add(1, Ordering::Relaxed),
                        };
                        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
                        if r.get_mut().write_all(ok).is_err() {
                            return;
                        }
                    }
                });
            }
        })?;
    Ok((addr, got))
}

fn otlp_records(body: &[u8]) -> Option<u64> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use prost::Message;
    let req = ExportLogsServiceRequest::decode(body).ok()?;
    Some(
        req.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len() as u64)
            .sum(),
    )
}

fn webhook_alerts(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("rule")?;
    Some(1)
}

/// The monitor's chain: 20 blocks a second (simulated 12 s slots), a six-block gap every
/// 200 blocks; rules checked after every block.
fn feeder(
    mon: Arc<Mutex<BlockMonitor>>,
    mgr: Arc<AlertManager>,
    sh: Arc<Shared>,
    fed: Arc<AtomicU64>,
) {
    let mut rules = match RuleEngine::new(vec![
        Rule::new("missed-streak", Condition::MissedStreak(5)),
        Rule::new(
            "severe-miss",
            Condition::MissedSeverity(flightring::monitor::MissSeverity::High),
        ),
    ]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: rules: {e}");
            return;
        }
    };
    let genesis = 1_700_000_000u64;
    let hash = |n: u64| format!("0x{:064x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut n = 1u64;
    while !sh.stop.load(Ordering::Relaxed) {
        sh.pause.wait_if_paused();
        if n.is_multiple_of(200) {
            n += 6; // the gap: these heights never arrive
        }
        let info = BlockInfo {
            number: n,
            hash: hash(n),
            parent_hash: hash(n - 1),
            timestamp: genesis + 12 * n,
        };
        let at = UNIX_EPOCH + Duration::from_secs(genesis + 12 * n + 1);
        {
            let mut m = mon.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = m.process_block_at(&info, at) {
                eprintln!("soak: monitor: {e}");
            }
            rules.check_monitor(&m, &mgr);
        }
        fed.fetch_add(1, Ordering::Relaxed);
        n += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One SSE client: `GET /events/stream`, then reading `chunk` bytes every `every`
/// (never, with `None`) until stopped. Returns bytes read and `event: lost` frames seen.
fn sse_client(
    addr: SocketAddr,
    read: Option<(usize, Duration)>,
    sh: Arc<Shared>,
) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return (0, 0);
        };
        let _ = s.write_all(
            b"GET /events/stream HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n\r\n",
        );
        let (mut bytes, mut lost) = (0u64, 0u64);
        let mut buf = vec![0u8; read.map_or(1, |r| r.0)];
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut tail = Vec::new();
        while !sh.stop.load(Ordering::Relaxed) {
            match read {
                None => std::thread::sleep(Duration::from_millis(100)),
                Some((_, every)) => {
                    match s.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            bytes += n as u64;
                            // Count `event: lost` across chunk boundaries.
                            tail.extend_from_slice(&buf[..n]);
                            let text = String::from_utf8_lossy(&tail);
                            lost += text.matches("event: lost").count() as u64;
                            let keep = tail.len().min(16);
                            tail.drain(..tail.len() - keep);
                            if String::from_utf8_lossy(&tail).contains("event: lost") {
                                tail.clear();
                            }
                        }
                        Err(_) => {}
                    }
                    std::thread::sleep(every);
                }
            }
        }
        (bytes, lost)
    })
}

/// What the scraper saw.
#[derive(Default)]
struct Scrapes {
    done: AtomicU64,
    failures: AtomicU64,
    statuses: Mutex<BTreeMap<String, u64>>,
    sse_buffered_max: AtomicU64,
    sse_buffered_last: AtomicU64,
    write_timeouts: AtomicU64,
    first_failure: Mutex<Option<String>>,
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l[name.len()..].trim().parse().ok())
}

fn scraper(addr: SocketAddr, sh: Arc<Shared>, s: Arc<Scrapes>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    while !sh.stop.load(Ordering::Relaxed) {
        for path in ["/metrics", "/health"] {
            let url = format!("http://{addr}{path}");
            match agent.get(&url).call() {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.body_mut().read_to_string().unwrap_or_default();
                    s.done.fetch_add(1, Ordering::Relaxed);
                    *s.statuses
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(format!("{path} {status}"))
                        .or_default() += 1;
                    if path == "/metrics" {
                        if let Some(b) = metric(&body, "flightring_http_sse_buffered_bytes") {
                            s.sse_buffered_max.fetch_max(b as u64, Ordering::Relaxed);
                            s.sse_buffered_last.store(b as u64, Ordering::Relaxed);
                        }
                        if let Some(t) = metric(&body, "flightring_http_write_timeouts_total") {
                            s.write_timeouts.store(t as u64, Ordering::Relaxed);
                        }
                    }
                }
                Err(e) => {
                    s.failures.fetch_add(1, Ordering::Relaxed);
                    let mut f = s.first_failure.lock().unwrap_or_else(|p| p.into_inner());
                    f.get_or_insert_with(|| format!("{path}: {e}"));
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Resident set size, KiB (`VmRSS` of `/proc/self/status`; 0 where there is none).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Debug, Clone, serde::Serialize)]
struct Sample {
    t: f64,
    rss_kb: u64,
    recorded: u64,
    events_per_s: f64,
    exporter_written_per_s: f64,
    otlp_sent_per_s: f64,
    overwritten: u64,
    dropped: u64,
    truncated: u64,
    expired: u64,
    exporter_lost: u64,
    otlp_lost: u64,
    checker_lost: u64,
    torn: u64,
    retained: u64,
    in_snapshot: u64,
    conservation_ok: bool,
    quiescent: bool,
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> Result<bool, Error> {
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("flightring-soak-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir)?;
    let rss_start_kb = rss_kb();
    let rec = Recorder::builder()
        .retention(RETENTION)
        .sweep_interval(SWEEP_INTERVAL)
        .build()?;

    // The followers start before the first event, so each must account for all.
    let exporter = Exporter::start(
        &rec,
        ExporterConfig {
            path: dir.join("flight_recorder.jsonl"),
            rotate_bytes: 4 << 20,
            keep_files: 8,
            gzip: true,
            ..ExporterConfig::default()
        },
    )?;
    let (otlp_addr, otlp_got) = receiver(otlp_records)?;
    let otlp = OtlpExporter::start(
        &rec,
        OtlpConfig {
            endpoint: format!("http://{otlp_addr}/v1/logs"),
            service_name: "soak".into(),
            ..OtlpConfig::default()
        },
    )?;
    let (hook_addr, hook_got) = receiver(webhook_alerts)?;
    let mgr = Arc::new(
        AlertManager::builder()
            .channel(WebhookChannel::new(
                &format!("http://{hook_addr}/hook"),
                Duration::from_secs(5),
            )?)
            .throttle_window(Duration::from_secs(1))
            .build()?,
    );
    let mon = Arc::new(Mutex::new(BlockMonitor::new(
        rec.clone(),
        MonitorConfig::default(),
    )?));
    let server = flightring::http::serve_with(
        rec.clone(),
        "127.0.0.1:0",
        flightring::http::HttpOptions::default()
            .monitor(Arc::clone(&mon))
            .alerts(Arc::clone(&mgr)),
    )?;
    let http_addr = server.local_addr();

    let sh = Arc::new(Shared {
        stop: AtomicBool::new(false),
        pause: Pause {
            on: AtomicBool::new(false),
            parked: AtomicUsize::new(0),
        },
        written: AtomicU64::new(0),
    });
    let mix = Arc::new(mix::Mix::new());
    let counts = Arc::new(CheckerCounts::default());
    let scrapes = Arc::new(Scrapes::default());
    let fed = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let (rec, mix, sh) = (rec.clone(), Arc::clone(&mix), Arc::clone(&sh));
        let rate = args.rate;
        threads.push(std::thread::spawn(move || writer(rec, mix, w, rate, sh)));
    }
    {
        let (mon, mgr, sh, fed) = (
            Arc::clone(&mon),
            Arc::clone(&mgr),
            Arc::clone(&sh),
            Arc::clone(&fed),
        );
        threads.push(std::thread::spawn(move || feeder(mon, mgr, sh, fed)));
    }
    let paused_parts = WRITERS + 1;
    let checker_thread = {
        let (rec, sh, c) = (rec.clone(), Arc::clone(&sh), Arc::clone(&counts));
        std::thread::spawn(move || checker(rec, sh, c))
    };
    {
        let (sh, s) = (Arc::clone(&sh), Arc::clone(&scrapes));
        threads.push(std::thread::spawn(move || scraper(http_addr, sh, s)));
    }
    let slow = sse_client(
        http_addr,
        Some((4096, Duration::from_millis(250))),
        Arc::clone(&sh),
    );
    let stalled = sse_client(http_addr, None, Arc::clone(&sh));

    println!(
        "soak: {} s at {} events/s ({}x for 1 s in {}), sampling every {} ms; files in {}; http://{http_addr}/",
        args.seconds,
        args.rate,
        BURST_FACTOR,
        BURST_EVERY,
        args.sample.as_millis(),
        dir.display()
    );
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(args.seconds);
    let mut samples: Vec<Sample> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let (mut last_t, mut last_rec, mut last_exp, mut last_otlp) = (0.0f64, 0u64, 0u64, 0u64);
    let mut conservation_checks = 0u64;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep(args.sample.min(end - now));
        // Quiescent: writers and the feeder parked, so the counters and the ring agree.
        let quiescent = sh.pause.pause(paused_parts);
        rec.sweep_now();
        let s = rec.stats();
        let in_snapshot = rec.snapshot().len() as u64;
        let expired_meanwhile = rec.sweep_now();
        sh.pause.resume();
        let identity = s.total_recorded == s.retained + s.overwritten + s.expired + s.cleared;
        let holds = in_snapshot <= s.retained && in_snapshot + expired_meanwhile >= s.retained;
        let conservation_ok = !quiescent || (identity && holds);
        if quiescent {
            conservation_checks += 1;
            if !conservation_ok {
                failures.push(format!(
                    "conservation at {:.1} s: recorded {} retained {} overwritten {} expired {} cleared {}, snapshot {} (+{} expired meanwhile)",
                    t0.elapsed().as_secs_f64(), s.total_recorded, s.retained, s.overwritten,
                    s.expired, s.cleared, in_snapshot, expired_meanwhile
                ));
            }
        }
        let t = t0.elapsed().as_secs_f64();
        let es = exporter.stats();
        let os = otlp.stats();
        let dt = (t - last_t).max(1e-3);
        let sample = Sample {
            t: (t * 100.0).round() / 100.0,
            rss_kb: rss_kb(),
            recorded: s.total_recorded,
            events_per_s: (s.total_recorded - last_rec) as f64 / dt,
            exporter_written_per_s: (es.events_written - last_exp) as f64 / dt,
            otlp_sent_per_s: (os.events_sent - last_otlp) as f64 / dt,
            overwritten: s.overwritten,
            dropped: s.dropped,
            truncated: s.truncated,
            expired: s.expired,
            exporter_lost: es.lost,
            otlp_lost: os.lost + os.dropped,
            checker_lost: counts.lost.load(Ordering::Relaxed),
            torn: counts.torn.load(Ordering::Relaxed),
            retained: s.retained,
            in_snapshot,
            conservation_ok,
            quiescent,
        };
        println!(
            "{:>7.1} s  rss {:>7} KiB  {:>8.0} ev/s  exporter {:>8.0}/s  otlp {:>8.0}/s  lost: exporter {} otlp {} checker {}  overwritten {}  expired {}  torn {}  {}",
            sample.t, sample.rss_kb, sample.events_per_s, sample.exporter_written_per_s,
            sample.otlp_sent_per_s, sample.exporter_lost, sample.otlp_lost, sample.checker_lost,
            sample.overwritten, sample.expired, sample.torn,
            if !quiescent { "(not quiescent)" } else if conservation_ok { "identity ok" } else { "IDENTITY FAILED" }
        );
        (last_t, last_rec, last_exp, last_otlp) =
            (t, s.total_recorded, es.events_written, os.events_sent);
        samples.push(sample);
    }

    // Stop the load, then let every follower finish.
    sh.stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let (slow_bytes, slow_lost) = slow.join().unwrap_or((0, 0));
    let _ = stalled.join();
    let _ = checker_thread.join();
    let seconds = t0.elapsed().as_secs_f64();
    exporter.flush()?;
    exporter.close()?;
    let es = exporter.stats();
    let oc = otlp.close();
    let os = otlp.stats();
    mgr.flush(Duration::from_secs(10));
    let alert_stats = mgr.stats();
    let mon_stats = mon.lock().unwrap_or_else(|p| p.into_inner()).stats();
    std::thread::sleep(Duration::from_millis(200)); // the receivers' last counts
    let s = rec.stats();
    let rss_end_kb = rss_kb();

    // Final accounting.
    let recorded = s.total_recorded;
    let exporter_ok = es.events_written + es.lost == recorded + s.dropped;
    if !exporter_ok {
        failures.push(format!(
            "exporter: written {} + lost {} != recorded {} + dropped {}",
            es.events_written, es.lost, recorded, s.dropped
        ));
    }
    let otlp_ok = os.events_sent + os.lost + os.dropped + os.pending == recorded + s.dropped
        && otlp_got.items.load(Ordering::Relaxed) == os.events_sent
        && otlp_got.bad.load(Ordering::Relaxed) == 0;
    if !otlp_ok {
        failures.push(format!(
            "otlp: sent {} + lost {} + dropped {} + pending {} vs recorded {} + dropped {}; receiver decoded {} ({} bad requests); close: {oc:?}",
            os.events_sent, os.lost, os.dropped, os.pending, recorded, s.dropped,
            otlp_got.items.load(Ordering::Relaxed), otlp_got.bad.load(Ordering::Relaxed)
        ));
    }
    let torn = counts.torn.load(Ordering::Relaxed);
    if torn > 0 {
        let first = first_of(&counts.first_torn);
        failures.push(format!("{torn} torn reads; first: {first}"));
    }
    let scrape_failures = scrapes.failures.load(Ordering::Relaxed);
    if scrape_failures > 0 {
        let first = first_of(&scrapes.first_failure);
        failures.push(format!(
            "{scrape_failures} HTTP scrapes got no answer; first: {first}"
        ));
    }
    let alerts_received = hook_got.items.load(Ordering::Relaxed);
    if mon_stats.missed > 0 && alerts_received == 0 {
        failures.push(format!(
            "{} blocks missed but no alert reached the webhook ({alert_stats:?})",
            mon_stats.missed
        ));
    }
    // Warm: after the first burst (the peak load) has passed, and a tenth of the run.
    let warm_at = (seconds / 10.0).max((BURST_EVERY + 1) as f64);
    let rss_warm_kb = samples
        .iter()
        .find(|x| x.t >= warm_at)
        .map_or(rss_end_kb, |x| x.rss_kb);
    let rss_max_kb = samples
        .iter()
        .map(|x| x.rss_kb)
        .chain([rss_start_kb, rss_end_kb])
        .max()
        .unwrap_or(0);
    let rss_limit = (rss_warm_kb as f64 * RSS_FACTOR) as u64 + RSS_SLACK_KB;
    if rss_end_kb > rss_limit || rss_max_kb > rss_limit {
        failures.push(format!(
            "RSS grew: {rss_warm_kb} KiB after warm-up, max {rss_max_kb}, end {rss_end_kb} (limit {rss_limit})"
        ));
    }
    let conservation_ok = samples.iter().all(|x| x.conservation_ok) && exporter_ok && otlp_ok;
    let quiescent_samples = samples.iter().filter(|x| x.quiescent).count();

    let plot = args
        .plot
        .clone()
        .unwrap_or_else(|| args.report.with_extension("png"));
    let plot_error = draw(&plot, &samples).err().map(|e| e.to_string());
    if let Some(e) = &plot_error {
        eprintln!("soak: no plot: {e}");
    }

    let statuses = scrapes
        .statuses
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let report = json!({
        "seconds": (seconds * 10.0).round() / 10.0,
        "rate": args.rate,
        "events": recorded,
        "events_per_s": recorded as f64 / seconds,
        "torn": torn,
        "validated": counts.validated.load(Ordering::Relaxed),
        "conservation_ok": conservation_ok,
        "conservation_checks": conservation_checks,
        "quiescent_samples": quiescent_samples,
        "rss_start_kb": rss_start_kb,
        "rss_warm_kb": rss_warm_kb,
        "rss_max_kb": rss_max_kb,
        "rss_end_kb": rss_end_kb,
        "losses": {
            "overwritten": s.overwritten,
            "dropped": s.dropped,
            "truncated": s.truncated,
            "expired": s.expired,
            "cleared": s.cleared,
            "rejected": s.rejected.disabled + s.rejected.below_level + s.rejected.closed,
            "exporter_lost": es.lost,
            "otlp_lost": os.lost,
            "otlp_dropped": os.dropped,
            "checker_lost": counts.lost.load(Ordering::Relaxed),
            "sse_lost_notices_slow_client": slow_lost,
            "http_write_timeouts": scrapes.write_timeouts.load(Ordering::Relaxed),
        },
        "exporter": {
            "written": es.events_written,
            "bytes": es.bytes_written,
            "files_rotated": es.files_rotated,
            "io_errors": es.io_errors,
            "accounting_ok": exporter_ok,
        },
        "otlp": {
            "sent": os.events_sent,
            "batches": os.batches_sent,
            "bytes": os.bytes_sent,
            "failed_requests": os.failed_requests,
            "receiver_records": otlp_got.items.load(Ordering::Relaxed),
            "receiver_requests": otlp_got.requests.load(Ordering::Relaxed),
            "accounting_ok": otlp_ok,
        },
        "http": {
            "scrapes": scrapes.done.load(Ordering::Relaxed),
            "scrape_failures": scrape_failures,
            "statuses": statuses,
            "sse_buffered_max_bytes": scrapes.sse_buffered_max.load(Ordering::Relaxed),
            "sse_buffered_last_bytes": scrapes.sse_buffered_last.load(Ordering::Relaxed),
            "sse_slow_client_bytes": slow_bytes,
        },
        "monitor": {
            "blocks_fed": fed.load(Ordering::Relaxed),
            "processed": mon_stats.processed,
            "missed": mon_stats.missed,
            "longest_streak": mon_stats.longest_streak,
        },
        "alerts": {
            "sent": alert_stats.sent,
            "dropped": alert_stats.dropped,
            "throttled": alert_stats.throttled,
            "webhook_received": alerts_received,
        },
        "checker": {
            "validated": counts.validated.load(Ordering::Relaxed),
            "other_events": counts.other.load(Ordering::Relaxed),
        },
        "plot": plot_error.is_none().then(|| plot.display().to_string()),
        "plot_error": plot_error,
        "samples": samples,
        "failures": failures,
        "ok": failures.is_empty(),
    });
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(&args.report, text + "\n")?;
    drop(server);
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "soak: {:.1} s, {recorded} events, {torn} torn, conservation {}, RSS {rss_start_kb} → max {rss_max_kb} → end {rss_end_kb} KiB; report {}{}",
        seconds,
        if conservation_ok { "ok" } else { "FAILED" },
        args.report.display(),
        if plot_error.is_none() { format!(", plot {}", plot.display()) } else { String::new() }
    );
    for f in &failures {
        eprintln!("soak: FAILED: {f}");
    }
    Ok(failures.is_empty())
}

/// A TTF for the plot's text, from where Linux distributions put DejaVu or Liberation.
fn font() -> Option<&'static [u8]> {
    const PATHS: [&str; 5] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    ];
    PATHS
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .map(|b| &*Box::leak(b.into_boxed_slice()))
}

/// RSS (MiB) above, rates (thousand events/s) below, over seconds.
fn draw(path: &Path, samples: &[Sample]) -> Result<(), Error> {
    use plotters::prelude::*;
    let bytes = font().ok_or("no TTF font found (install fonts-dejavu-core)")?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| "the font does not load")?;
    if samples.is_empty() {
        return Err("no samples".into());
    }
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(380);
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let mib = |kb: u64| kb as f64 / 1024.0;
    let rss_max = samples.iter().map(|s| mib(s.rss_kb)).fold(1.0, f64::max) * 1.2;
    let mut c = ChartBuilder::on(&top)
        .caption("flightring soak: resident memory", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_max, 0.0..rss_max)?;
    c.configure_mesh()
        .x_desc("seconds")
        .y_desc("RSS, MiB")
        .draw()?;
    c.draw_series(LineSeries::new(
        samples.iter().map(|s| (s.t, mib(s.rss_kb))),
        BLUE.stroke_width(2),
    ))?
    .label("RSS")
    .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;

    fn k(v: f64) -> f64 {
        v / 1000.0
    }
    let rate_max = samples
        .iter()
        .flat_map(|s| [s.events_per_s, s.exporter_written_per_s, s.otlp_sent_per_s])
        .map(k)
        .fold(1.0, f64::max)
        * 1.15;
    let mut c = ChartBuilder::on(&bottom)
        .caption("rates and losses", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_max, 0.0..rate_max)?;
    c.configure_mesh()
        .x_desc("seconds")
        .y_desc("thousand events/s")
        .draw()?;
    type Series = (&'static str, RGBColor, fn(&Sample) -> f64);
    let series: [Series; 4] = [
        ("recorded", BLACK, |s| k(s.events_per_s)),
        ("file exporter written", GREEN, |s| {
            k(s.exporter_written_per_s)
        }),
        ("OTLP sent", BLUE, |s| k(s.otlp_sent_per_s)),
        ("lost by followers (cumulative, thousands)", RED, |s| {
            k((s.exporter_lost + s.otlp_lost + s.checker_lost) as f64)
        }),
    ];
    for (name, color, f) in series {
        c.draw_series(LineSeries::new(
            samples.iter().map(|s| (s.t, f(s))),
            color.stroke_width(2),
        ))?
        .label(name)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The first failure a thread noted, or "" when none was.
fn first_of(slot: &Mutex<Option<String>>) -> String {
    slot.lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}
