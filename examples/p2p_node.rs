//! A simulated P2P node recording into flightring at full speed.
//!
//! Several worker threads each own a slice of a few hundred peers. Peers connect and
//! leave, exchange messages of a dozen types, time out, hit RPC endpoints with
//! realistic latencies; a block processor records blocks, phases, RPC calls and
//! decisions with the flight-recorder helpers; partway through, an incident (a burst of
//! errors and a critical event) happens. Every second the main thread prints a progress
//! line; at the end it prints health, stats with latency percentiles, the network
//! report, the ten newest warnings, and writes a JSON snapshot.
//!
//! The recorder is built with `Settings::from_env()`, so every `FLIGHTRING_*` variable
//! applies (`FLIGHTRING_CAPACITY`, `FLIGHTRING_MIN_SEVERITY`, `FLIGHTRING_RETENTION`,
//! `FLIGHTRING_CONFIG` for a TOML file, …). The streaming exporter writes every event
//! to `FLIGHTRING_OUTPUT` (default `flight_recorder.jsonl`) as it runs, and a panic
//! anywhere writes a post-mortem dump to the current directory.
//!
//! ```text
//! cargo run --release --example p2p_node -- [--seconds 10] [--threads 4] [--peers 300]
//!                                           [--rate 0] [--snapshot flightring_export.json]
//! cargo run --release --features http --example p2p_node -- --serve 127.0.0.1:9184 [--linger 60]
//!                                           [--recordings DIR]
//! ```
//! `--rate` caps events per second per thread (0: as fast as possible). `--serve ADDR`
//! (feature `http`) serves the HTTP endpoint and its dashboard (`/`, `/health`,
//! `/metrics`, `/events`, `/events/stream`, `/export`, `/api/recordings`, …) while the
//! node runs, and `--linger N` keeps it up N seconds after the workload ends;
//! `FLIGHTRING_HTTP_TOKEN` sets a bearer token. Recordings made or replayed from the
//! dashboard live in `--recordings DIR` (default `flightring_recordings`). With the
//! `monitor` feature too, a block monitor follows the block processor and is served at
//! `/blocks` and `/blocks/missed`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flightring::{Direction, Event, PhaseResult, Query, Recorder, Severity};

const MESSAGE_TYPES: [(&str, u64); 12] = [
    ("version", 150),
    ("verack", 24),
    ("ping", 32),
    ("pong", 32),
    ("inv", 1_200),
    ("getdata", 900),
    ("block", 1_200_000),
    ("tx", 450),
    ("headers", 16_000),
    ("addr", 3_000),
    ("getheaders", 1_000),
    ("cmpctblock", 18_000),
];
const RPC_METHODS: [(&str, u64); 4] = [
    ("rpc.getReserves", 850),
    ("rpc.eth_call", 2_400),
    ("rpc.getBlockByNumber", 9_000),
    ("rpc.sendRawTransaction", 15_000),
];

struct Args {
    seconds: u64,
    threads: usize,
    peers: usize,
    rate: u64,
    snapshot: String,
    serve: Option<String>,
    linger: u64,
    recordings: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 10,
        threads: 4,
        peers: 300,
        rate: 0,
        snapshot: "flightring_export.json".into(),
        serve: None,
        recordings: "flightring_recordings".into(),
        linger: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--seconds" => {
                a.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?
            }
            "--threads" => {
                a.threads = value("--threads")?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?
            }
            "--peers" => {
                a.peers = value("--peers")?
                    .parse()
                    .map_err(|e| format!("--peers: {e}"))?
            }
            "--rate" => {
                a.rate = value("--rate")?
                    .parse()
                    .map_err(|e| format!("--rate: {e}"))?
            }
            "--snapshot" => a.snapshot = value("--snapshot")?,
            "--serve" => a.serve = Some(value("--serve")?),
            "--recordings" => a.recordings = value("--recordings")?,
            "--linger" => {
                a.linger = value("--linger")?
                    .parse()
                    .map_err(|e| format!("--linger: {e}"))?
            }
            "-h" | "--help" => {
                println!("usage: p2p_node [--seconds N] [--threads N] [--peers N] [--rate EVENTS_PER_S_PER_THREAD] [--snapshot PATH] [--serve ADDR] [--linger SECONDS] [--recordings DIR]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if a.threads == 0 || a.peers == 0 {
        return Err("--threads and --peers must be at least 1".into());
    }
    Ok(a)
}

/// xorshift64*: a fast, allocation-free random source per worker.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A latency around `median_us` with a long tail, in microseconds.
    fn latency_us(&mut self, median_us: u64) -> u64 {
        let r = self.below(1000);
        let factor = match r {
            0..=499 => 500 + self.below(500),
            500..=899 => 1000 + self.below(1000),
            900..=989 => 2000 + self.below(6000),
            _ => 8000 + self.below(40_000),
        };
        median_us * factor / 1000
    }
}

#[derive(Debug)]
struct SimError(&'static str);
impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for SimError {}

fn worker(
    rec: Recorder,
    id: usize,
    peers: Vec<(String, String)>,
    args_rate: u64,
    stop: Arc<AtomicBool>,
    incident: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    let mut connected = vec![false; peers.len()];
    let block_kind = rec.kind("block_processed");
    let mut text = String::with_capacity(128);
    let mut n: u64 = 0;
    let started = Instant::now();
    let mut height = 812_000 + id as u64 * 1_000_000;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..256 {
            let p = rng.below(peers.len() as u64) as usize;
            let (peer, addr) = &peers[p];
            let roll = rng.below(10_000);
            let burst = incident.load(Ordering::Relaxed);
            if !connected[p] {
                rec.peer_connected(peer, addr);
                connected[p] = true;
            } else if roll < 5 {
                let reason =
                    ["timeout", "misbehaving", "eof", "too many peers"][rng.below(4) as usize];
                rec.peer_disconnected(peer, addr, reason);
                connected[p] = false;
            } else if roll < 8 || (burst && roll < 400) {
                let err = [
                    SimError("connection reset by peer"),
                    SimError("handshake timed out"),
                    SimError("invalid checksum"),
                ][rng.below(3) as usize]
                    .0;
                rec.error(peer, &SimError(err), if burst { "incident" } else { "p2p" });
            } else if roll < 60 {
                text.clear();
                let ms = rng.below(900) + 100;
                let _ = write!(text, "peer slow to respond: {ms} ms for getdata");
                rec.record(
                    &Event::new("slow_peer", Severity::Warning)
                        .peer(peer)
                        .message(&text)
                        .field("latency_ms", ms),
                );
            } else if roll < 160 {
                let (method, median) = RPC_METHODS[rng.below(RPC_METHODS.len() as u64) as usize];
                rec.observe(method, Duration::from_micros(rng.latency_us(median)));
            } else if roll < 170 {
                height += 1;
                let ms = rng.latency_us(40_000) / 1000;
                text.clear();
                let _ = write!(text, "block {height} processed");
                rec.record(
                    &Event::with_kind(&block_kind, Severity::Info)
                        .message(&text)
                        .field("height", height)
                        .field("ms", ms),
                );
                rec.observe("block.process", Duration::from_millis(ms));
            } else {
                let (t, size) = MESSAGE_TYPES[rng.below(MESSAGE_TYPES.len() as u64) as usize];
                let dir = if roll & 1 == 0 {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                rec.message(peer, t, dir, size / 2 + rng.below(size));
            }
            n += 1;
        }
        if args_rate > 0 {
            let due = Duration::from_secs_f64(n as f64 / args_rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        done.fetch_add(256, Ordering::Relaxed);
    }
}

/// A block processor: every 50 ms a block goes through its phases (a cached fetch, RPC
/// calls to two endpoints, route generation, a decision), recorded with the typed
/// flight-recorder helpers. Now and then a block is skipped or a gap is seen.
fn block_processor(rec: Recorder, stop: Arc<AtomicBool>, mut on_block: impl FnMut(u64)) {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut block = 812_000u64;
    let endpoints = ["alchemy", "infura"];
    let methods = ["eth_call", "eth_getLogs", "getReserves"];
    while !stop.load(Ordering::Relaxed) {
        block += 1;
        if rng.below(100) == 0 {
            rec.block_skipped(block, "node behind head", block - 1);
            continue;
        }
        if rng.below(200) == 0 {
            rec.block_gap(block, block + 3);
            block += 3;
        }
        let started = Instant::now();
        rec.block_start(block);
        on_block(block);
        {
            let mut fetch = rec.phase("jit_fetch", Some(block));
            fetch.set_result(if rng.below(4) == 0 {
                PhaseResult::CacheMiss
            } else {
                PhaseResult::CacheHit
            });
        }
        for _ in 0..3 + rng.below(4) {
            let ok = rng.below(50) != 0;
            let ms = rng.latency_us(9_000) / 1000;
            let (endpoint, method) = (
                endpoints[rng.below(2) as usize],
                methods[rng.below(3) as usize],
            );
            let dur = Duration::from_millis(ms);
            flightring::record_rpc_call!(
                rec,
                endpoint,
                method,
                dur,
                ok,
                Some(block),
                512 + rng.below(4096),
                10,
                if ok { 10 } else { 0 }
            );
        }
        let discovered = rng.below(20);
        rec.pools_discovered(discovered);
        let failed = rng.below(discovered / 5 + 1);
        rec.pools_validated(discovered - failed.min(discovered), failed.min(discovered));
        let routes = 100 + rng.below(50);
        let filtered = routes * 3 / 4;
        {
            let _routes = rec.phase("route_gen", Some(block));
        }
        let opportunities = rng.below(3);
        if opportunities > 0 {
            rec.decision(
                "executor",
                "submit",
                "profitable route",
                "min_profit=0.3%",
                Some(block),
            );
        } else {
            rec.decision(
                "executor",
                "skip",
                "no route above threshold",
                "min_profit=0.3%",
                Some(block),
            );
        }
        rec.block_end(
            block,
            started.elapsed() + Duration::from_millis(rng.latency_us(40_000) / 1000),
            routes,
            filtered,
            opportunities,
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("p2p_node: {e}");
            std::process::exit(2);
        }
    };
    let settings = match flightring::Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("p2p_node: {e}");
            std::process::exit(2);
        }
    };
    for w in settings.warnings() {
        eprintln!("p2p_node: warning: {w}");
    }
    let rec = match settings.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("p2p_node: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = flightring::install_panic_hook(&rec, ".") {
        eprintln!("p2p_node: no post-mortem dump on panic: {e}");
    }
    let exporter = match flightring::exporter::Exporter::start(
        &rec,
        settings.exporter.clone().unwrap_or_default(),
    ) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("p2p_node: {e}");
            std::process::exit(2);
        }
    };
    let monitor = block_monitor(&rec);
    let server = args
        .serve
        .as_deref()
        .map(|addr| serve(&rec, addr, &args.recordings, &monitor));
    println!(
        "flightring p2p_node: {} threads, {} peers, {} s; ring of {} events in {} shards, {:.1} MiB",
        args.threads,
        args.peers,
        args.seconds,
        rec.capacity(),
        rec.config().shards,
        rec.memory_bytes() as f64 / (1 << 20) as f64
    );
    let stop = Arc::new(AtomicBool::new(false));
    let incident = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..args.threads {
        let peers: Vec<(String, String)> = (0..args.peers)
            .filter(|p| p % args.threads == t)
            .map(|p| {
                (
                    format!("12D3KooW{:012x}", p * 7919 + 1),
                    format!("10.{}.{}.{}:8333", p / 65_536 % 256, p / 256 % 256, p % 256),
                )
            })
            .collect();
        let (rec, stop, incident, done) = (
            rec.clone(),
            Arc::clone(&stop),
            Arc::clone(&incident),
            Arc::clone(&done),
        );
        let rate = args.rate;
        handles.push(std::thread::spawn(move || {
            worker(rec, t, peers, rate, stop, incident, done)
        }));
    }
    let blocks = {
        let (rec, stop) = (rec.clone(), Arc::clone(&stop));
        let on_block = feed(&monitor);
        std::thread::spawn(move || block_processor(rec, stop, on_block))
    };
    let started = Instant::now();
    let mut last = 0u64;
    for sec in 1..=args.seconds {
        let incident_now = args.seconds >= 4 && sec == args.seconds * 6 / 10;
        incident.store(incident_now, Ordering::Relaxed);
        if incident_now {
            rec.record(
                &Event::new("consensus", Severity::Critical)
                    .message("fork detected: peers disagree on block hash")
                    .field("height", 812_345u64),
            );
        }
        std::thread::sleep(
            (started + Duration::from_secs(sec)).saturating_duration_since(Instant::now()),
        );
        let total = done.load(Ordering::Relaxed);
        let s = rec.stats();
        let h = rec.health();
        println!(
            "[{sec:>3}s] {:>12.0} events/s  retained {:>6}  peers {:>4}  health {:?}{}",
            (total - last) as f64,
            s.retained,
            s.active_peers,
            h.status,
            if incident_now {
                "  (incident: error burst)"
            } else {
                ""
            }
        );
        last = total;
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let _ = blocks.join();
    let elapsed = started.elapsed().as_secs_f64();
    rec.sweep_now();

    let s = rec.stats();
    let h = rec.health();
    println!("\n== health: {:?} — {}", h.status, h.message);
    for r in &h.reasons {
        println!("   reason: {r}");
    }
    println!("\n== stats");
    println!(
        "   recorded {} events in {elapsed:.1} s: {:.0} events/s",
        s.total_recorded,
        s.total_recorded as f64 / elapsed
    );
    println!(
        "   retained {} of {}   overwritten {}   dropped {}   truncated {}   rejected {}",
        s.retained,
        s.capacity,
        s.overwritten,
        s.dropped,
        s.truncated,
        s.rejected.total()
    );
    for t in &s.tiers {
        println!("   tier {:<8} {t}   overwritten {}", t.tier, t.overwritten);
    }
    println!(
        "   memory {:.1} MiB ({:.0} bytes per retained event)",
        s.memory_bytes as f64 / (1 << 20) as f64,
        s.memory_bytes as f64 / s.capacity as f64
    );
    println!(
        "   error rate {:.4}% all time, {:.4}% over the last {:.0} s",
        s.error_rate * 100.0,
        s.window.error_rate * 100.0,
        s.window.seconds
    );
    println!("   active peers {}", s.active_peers);
    let sev: Vec<String> = s
        .by_severity
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("   by severity: {}", sev.join(", "));
    let mut kinds: Vec<(&String, &u64)> = s.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    let kinds: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("   by kind: {}", kinds.join(", "));
    println!("\n== latency (µs)         count       p50       p90       p99     p99.9       max");
    for (name, h) in &s.histograms {
        println!(
            "   {name:<22} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            h.count,
            h.p50 as f64 / 1e3,
            h.p90 as f64 / 1e3,
            h.p99 as f64 / 1e3,
            h.p999 as f64 / 1e3,
            h.max as f64 / 1e3
        );
    }
    let report = rec.report(Duration::from_secs(args.seconds));
    println!("\n== network report");
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    println!("\n== 10 newest warnings and worse");
    for e in rec.query(&Query::new().limit(10).min_severity(Severity::Warning)) {
        println!(
            "   {} {:<8} {:<10} {:<20} {}",
            e.timestamp,
            e.severity,
            e.kind,
            e.peer.as_deref().unwrap_or("-"),
            e.message
        );
    }
    let write = || -> Result<u64, Box<dyn std::error::Error>> {
        let file = std::fs::File::create(&args.snapshot)?;
        rec.write_json(file)?;
        Ok(std::fs::metadata(&args.snapshot)?.len())
    };
    match write() {
        Ok(bytes) => println!(
            "\nwrote {} ({:.1} MiB, {} events)",
            args.snapshot,
            bytes as f64 / (1 << 20) as f64,
            rec.snapshot().len()
        ),
        Err(e) => {
            eprintln!("p2p_node: could not write {}: {e}", args.snapshot);
            std::process::exit(1);
        }
    }
    let closed = exporter.close();
    let x = exporter.stats();
    println!(
        "streamed {} events ({:.1} MiB, {:.0} events/s) to {}; {} lost to the ring before export, in {} gap lines; {} files rotated{}",
        x.events_written,
        x.bytes_written as f64 / (1 << 20) as f64,
        x.events_written as f64 / elapsed,
        exporter.path().display(),
        x.lost,
        x.gaps,
        x.files_rotated,
        match closed {
            Ok(()) => String::new(),
            Err(e) => format!("; exporter: {e}"),
        }
    );
    // `_server` (bound, not `_`, so it lives to the end of the block) shuts the endpoint
    // down as it goes out of scope.
    if let Some(_server) = server {
        if args.linger > 0 {
            println!("serving for {} s more; Ctrl-C to stop", args.linger);
            std::thread::sleep(Duration::from_secs(args.linger));
        }
    }
    rec.close();
}

#[cfg(feature = "monitor")]
type Monitor = Option<Arc<std::sync::Mutex<flightring::monitor::BlockMonitor>>>;
#[cfg(not(feature = "monitor"))]
type Monitor = Option<()>;

/// A block monitor over `rec` (feature `monitor`).
#[cfg(feature = "monitor")]
fn block_monitor(rec: &Recorder) -> Monitor {
    use flightring::monitor::{BlockMonitor, MonitorConfig};
    match BlockMonitor::new(rec.clone(), MonitorConfig::default()) {
        Ok(m) => Some(Arc::new(std::sync::Mutex::new(m))),
        Err(e) => {
            eprintln!("p2p_node: no block monitor: {e}");
            None
        }
    }
}

#[cfg(not(feature = "monitor"))]
fn block_monitor(_rec: &Recorder) -> Monitor {
    None
}

/// What the block processor calls for each block it delivers: the monitor's
/// `process_block`, on a simulated 12 s chain.
#[cfg(feature = "monitor")]
fn feed(monitor: &Monitor) -> impl FnMut(u64) + Send + 'static {
    let monitor = monitor.clone();
    move |n: u64| {
        if let Some(m) = &monitor {
            let info = flightring::monitor::BlockInfo {
                number: n,
                hash: format!("0x{n:x}"),
                parent_hash: String::new(),
                timestamp: 1_700_000_000 + 12 * n,
            };
            let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
            let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 12 * n);
            let _ = m.process_block_at(&info, now);
        }
    }
}

#[cfg(not(feature = "monitor"))]
fn feed(_monitor: &Monitor) -> impl FnMut(u64) + Send + 'static {
    |_| {}
}

/// Starts the HTTP endpoint on `addr` (feature `http`); exits if it cannot.
#[cfg(feature = "http")]
fn serve(
    rec: &Recorder,
    addr: &str,
    recordings: &str,
    monitor: &Monitor,
) -> flightring::http::HttpServer {
    let mut opts = flightring::http::HttpOptions::default();
    if let Ok(token) = std::env::var("FLIGHTRING_HTTP_TOKEN") {
        opts = opts.bearer_token(token);
    }
    match std::fs::create_dir_all(recordings) {
        Ok(()) => opts = opts.recordings_dir(recordings),
        Err(e) => eprintln!("p2p_node: no recordings directory {recordings}: {e}"),
    }
    #[cfg(feature = "monitor")]
    if let Some(m) = monitor {
        opts = opts.monitor(m.clone());
    }
    let _ = monitor;
    match flightring::http::serve_with(rec.clone(), addr, opts) {
        Ok(server) => {
            let a = server.local_addr();
            println!("dashboard at http://{a}/ (API: /health /stats /report /metrics /events /events/stream /export /api/recordings)");
            server
        }
        Err(e) => {
            eprintln!("p2p_node: {e}");
            std::process::exit(2);
        }
    }
}

#[cfg(not(feature = "http"))]
fn serve(_rec: &Recorder, _addr: &str, _recordings: &str, _monitor: &Monitor) {
    eprintln!(
        "p2p_node: --serve needs the http feature: cargo run --release --features http --example p2p_node -- --serve ADDR"
    );
    std::process::exit(2);
}
