//! The relay operator's main job: a simulated chain, fed block by block to a
//! [`BlockMonitor`], with alert rules delivering to the console and to a webhook.
//!
//! The chain runs at a fast cadence (one 12 s block every 2 ms of real time, on a
//! simulated clock) and has, in order: a 3-block gap that later arrives out of order
//! (a late recovery), an 8-block outage the relay re-fetches (`mark_recovered`, 2
//! attempts each), a reorg (a block whose parent is not the head), and a block 45 s
//! late. The rules alert on a missed streak of 5 or more and on any High or Critical
//! miss; alerts go to stdout and to a webhook receiver this example starts on
//! loopback, which prints what it receives. At the end it prints the monitor's and the
//! alert manager's figures and writes the missed blocks as CSV.
//!
//! ```text
//! cargo run --example relay_monitor --features monitor,alerts [-- OUT.csv]
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flightring::alert::{
    AlertManager, Condition, ConsoleChannel, Rule, RuleEngine, WebhookChannel,
};
use flightring::monitor::{BlockInfo, BlockMonitor, MissSeverity, MonitorConfig};
use flightring::Recorder;

const GENESIS: u64 = 1_700_000_000;
const FIRST: u64 = 1000;
const LAST: u64 = 1200;

fn hash(n: u64, fork: u64) -> String {
    format!("0x{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ fork)
}

fn block(n: u64, fork: u64, parent_fork: u64) -> BlockInfo {
    BlockInfo {
        number: n,
        hash: hash(n, fork),
        parent_hash: hash(n - 1, parent_fork),
        timestamp: GENESIS + 12 * (n - FIRST),
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A webhook receiver on loopback: answers 200 to every POST and prints its title.
fn webhook_receiver() -> std::io::Result<(String, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let received = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream);
            loop {
                let mut len = 0usize;
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                loop {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    break;
                }
                count.fetch_add(1, Ordering::Relaxed);
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                println!(
                    "[webhook] received: {} (rule {}, repeats {})",
                    v["title"].as_str().unwrap_or("?"),
                    v["rule"].as_str().unwrap_or("?"),
                    v["repeat_count"]
                );
                let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                if r.get_mut().write_all(ok).is_err() {
                    break;
                }
            }
        }
    });
    Ok((url, received))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("relay_missed_blocks.csv"));
    let rec = Recorder::builder().capacity(1 << 14).build()?;
    let mut mon = BlockMonitor::new(rec.clone(), MonitorConfig::default())?;
    let (url, received) = webhook_receiver()?;
    let mgr = AlertManager::builder()
        .channel(ConsoleChannel::stdout())
        .channel(WebhookChannel::new(&url, Duration::from_secs(5))?)
        .throttle_window(Duration::from_millis(200))
        .recorder(rec.clone())
        .build()?;
    let mut rules = RuleEngine::new(vec![
        Rule::new("missed-streak", Condition::MissedStreak(5)),
        Rule::new("severe-miss", Condition::MissedSeverity(MissSeverity::High)),
    ])?;

    let gap = 1020..=1022; // arrives late, after 1030
    let outage = 1050..=1057; // re-fetched by the relay at 1070
    let reorg_at = 1100; // its parent is on another fork
    let late = 1130; // 45 s late
    let mut fork = 0;
    for n in FIRST..=LAST {
        if gap.contains(&n) || outage.contains(&n) {
            continue;
        }
        let parent_fork = if n == reorg_at { 7 } else { fork };
        if n == reorg_at {
            fork = 7;
        }
        let b = block(n, fork, parent_fork);
        let delay = if n == late { 45 } else { 1 };
        mon.process_block_at(&b, at(b.timestamp + delay))?;
        if n == 1030 {
            for m in gap.clone() {
                mon.process_block_at(&block(m, 0, 0), at(b.timestamp + 2))?;
            }
        }
        if n == 1070 {
            for m in outage.clone() {
                mon.mark_recovered_at(m, 2, at(b.timestamp + 3))?;
            }
        }
        rules.check_monitor(&mon, &mgr);
        std::thread::sleep(Duration::from_millis(2));
    }
    mgr.flush(Duration::from_secs(10));

    let s = mon.stats();
    println!("\n== monitor ==");
    println!(
        "processed {}  missed {}  recovered {}  duplicates {}  out of order {}",
        s.processed, s.missed, s.recovered, s.duplicates, s.out_of_order
    );
    println!(
        "reorgs {} (deepest {})  delayed {}  streak {} (longest {})",
        s.reorgs, s.deepest_reorg, s.delayed, s.current_streak, s.longest_streak
    );
    println!(
        "missed rate {:.2}%  recovery rate {:.0}%  recovery avg {:?} p99 {:?}",
        s.missed_rate * 100.0,
        s.recovery_rate * 100.0,
        s.avg_recovery,
        s.p99_recovery
    );
    let a = mgr.stats();
    println!("\n== alerts ==");
    println!(
        "sent {}  throttled {}  dropped {}",
        a.sent, a.throttled, a.dropped
    );
    for c in &a.channels {
        println!(
            "{}: delivered {} failed {} retries {} dropped {}",
            c.name, c.delivered, c.failed, c.retries, c.dropped
        );
    }
    println!("webhook receiver got {}", received.load(Ordering::Relaxed));
    mon.write_csv(std::fs::File::create(&out)?)?;
    println!("\nmissed blocks written to {}", out.display());
    mgr.shutdown(Duration::from_secs(5));
    Ok(())
}
