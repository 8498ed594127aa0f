//! `monitor`: what the missed-block monitor costs per processed block, beside a simple
//! baseline in the same run — the check a relay writes by hand (is this height the
//! head + 1, does its parent hash match, remember the hash) — on a realistic chain: one
//! block in 50 missing, one reorg in 500, a delayed block now and then, events recorded
//! into a recorder as in production (`enable_logging` on).
//!
//! With feature `alerts` it also measures alert delivery to a webhook receiver on
//! loopback (keep-alive HTTP/1.1, answering 200): what `AlertManager::send` costs the
//! caller, against posting the same alert synchronously with `ureq` (the simple
//! baseline), and the delivery rate and completeness (delivered + failed + dropped).
//!
//! ```text
//! cargo bench --bench monitor --features monitor   # the monitor only
//! cargo bench --bench monitor --features alerts    # and alert delivery
//! ```
//! Prints ns/block for both (median of 7 runs of 100 000 blocks) and the ratio.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flightring::monitor::{BlockInfo, BlockMonitor, MonitorConfig};
use flightring::Recorder;

const BLOCKS: u64 = 100_000;
const RUNS: usize = 7;

/// The chain: (block, arrival). Hashes are formatted once, outside the timing.
fn chain() -> Vec<(BlockInfo, SystemTime)> {
    let h = |n: u64, fork: u64| format!("0x{:064x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ fork);
    let mut fork = 0;
    let mut out = Vec::new();
    for n in 1..=BLOCKS {
        if n % 50 == 0 {
            continue; // missed
        }
        let parent_fork = fork;
        if n % 500 == 1 {
            fork += 1; // reorg: the parent is on the old fork
        }
        let ts = 1_700_000_000 + 12 * n;
        let late = if n % 97 == 0 { 40 } else { 1 };
        out.push((
            BlockInfo {
                number: n,
                hash: h(n, fork),
                parent_hash: h(n - 1, parent_fork),
                timestamp: ts,
            },
            UNIX_EPOCH + Duration::from_secs(ts + late),
        ));
    }
    out
}

/// The hand-written check: gaps and parent mismatches counted, hashes remembered in a
/// bounded map.
fn baseline(chain: &[(BlockInfo, SystemTime)]) -> Duration {
    let start = Instant::now();
    let mut seen: HashMap<u64, String> = HashMap::new();
    let (mut head, mut missed, mut reorgs) = (0u64, 0u64, 0u64);
    for (b, _) in chain {
        if head != 0 && b.number > head + 1 {
            missed += b.number - head - 1;
        }
        if seen
            .get(&(b.number - 1))
            .is_some_and(|p| *p != b.parent_hash)
        {
            reorgs += 1;
        }
        seen.insert(b.number, b.hash.clone());
        if b.number > 256 {
            seen.remove(&(b.number - 256));
        }
        head = head.max(b.number);
    }
    black_box((missed, reorgs));
    start.elapsed()
}

fn monitored(chain: &[(BlockInfo, SystemTime)]) -> Duration {
    let rec = Recorder::builder()
        .capacity(1 << 16)
        .build()
        .expect("valid");
    let mut mon = BlockMonitor::new(rec, MonitorConfig::default()).expect("valid");
    let start = Instant::now();
    for (b, arrived) in chain {
        black_box(mon.process_block_at(b, *arrived).expect("has a hash"));
    }
    let d = start.elapsed();
    black_box(mon.stats());
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("monitor: bench");
        return;
    }
    let chain = chain();
    let n = chain.len() as f64;
    let (mut base, mut mon) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        base.push(baseline(&chain));
        mon.push(monitored(&chain));
    }
    let b = median(base).as_nanos() as f64 / n;
    let m = median(mon).as_nanos() as f64 / n;
    println!("monitor/baseline (hand-written gap + parent check): {b:8.1} ns/block");
    println!("monitor/BlockMonitor::process_block_at (logging on): {m:8.1} ns/block");
    println!("monitor/ratio: {:.1}x", m / b);
    #[cfg(feature = "alerts")]
    alerts::run();
}

#[cfg(feature = "alerts")]
mod alerts {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use flightring::alert::{Alert, AlertManager, WebhookChannel};
    use flightring::monitor::MissSeverity;

    const ALERTS: u64 = 2_000;

    /// A keep-alive receiver: counts bodies, answers 200.
    fn receiver() -> (String, Arc<AtomicU64>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", l.local_addr().expect("addr"));
        let got = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&got);
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    let mut r = BufReader::new(s);
                    let mut line = String::new();
                    loop {
                        let mut len = 0usize;
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                                break;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; len];
                        if r.read_exact(&mut body).is_err() {
                            return;
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if r.get_mut().write_all(ok).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, got)
    }

    fn alert(i: u64) -> Alert {
        Alert::new(
            "missed-streak",
            format!("node-{i}"),
            MissSeverity::High,
            "5 consecutive missed blocks",
            "blocks 1001..=1005 never arrived",
        )
    }

    pub(super) fn run() {
        let (url, got) = receiver();
        // Baseline: the caller posts each alert itself and waits for the answer.
        let agent = ureq::Agent::new_with_defaults();
        let body =
            serde_json::json!({"rule": "missed-streak", "title": "5 consecutive missed blocks"})
                .to_string();
        let start = Instant::now();
        for _ in 0..ALERTS {
            agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.as_str())
                .expect("the receiver answers");
        }
        let sync_ns = start.elapsed().as_nanos() as f64 / ALERTS as f64;
        let base = got.load(Ordering::Relaxed);

        let mgr = AlertManager::builder()
            .channel(WebhookChannel::new(&url, Duration::from_secs(5)).expect("url"))
            .throttle_window(Duration::ZERO)
            .queue_capacity(ALERTS as usize)
            .channel_queue_capacity(ALERTS as usize)
            .build()
            .expect("valid");
        let alerts: Vec<Alert> = (0..ALERTS).map(alert).collect();
        let start = Instant::now();
        for a in alerts {
            mgr.send(a);
        }
        let send_ns = start.elapsed().as_nanos() as f64 / ALERTS as f64;
        assert!(
            mgr.flush(Duration::from_secs(120)),
            "delivery did not finish"
        );
        let all = start.elapsed();
        let s = mgr.stats();
        let c = &s.channels[0];
        println!("alerts/baseline (synchronous ureq POST per alert): {sync_ns:10.0} ns/alert for the caller");
        println!("alerts/AlertManager::send (caller side):          {send_ns:10.0} ns/alert");
        println!("alerts/caller ratio: {:.0}x cheaper", sync_ns / send_ns);
        println!(
            "alerts/delivery: {} sent, {} delivered, {} failed, {} dropped, {} retries; {:.0} alerts/s end to end; receiver got {}",
            s.sent,
            c.delivered,
            c.failed,
            c.dropped + s.dropped,
            c.retries,
            ALERTS as f64 / all.as_secs_f64(),
            got.load(Ordering::Relaxed) - base
        );
    }
}
