//! `monitor`: what the missed-block monitor costs per processed block, beside a simple
//! baseline in the same run — the check a relay writes by hand (is this height the
//! head + 1, does its parent hash match, remember the hash) — on a realistic chain: one
//! block in 50 missing, one reorg in 500, a delayed block now and then, events recorded
//! into a recorder as in production (`enable_logging` on).
//!
//! ```text
//! cargo bench --bench monitor --features monitor
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
}
