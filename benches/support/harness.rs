//! Measuring helpers shared by the benches and the bench command: a persistent thread
//! pool for multi-thread throughput, a cheap cycle timer and tail-latency percentiles,
//! a byte-counting sink, and a median.
//!
//! Included with `#[path = "support/harness.rs"] mod harness;`.

#![allow(dead_code)]

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A fixed set of worker threads that each run their job `iters` times on
/// [`Pool::run`], all released together; `run` returns the wall time until the last one
/// finished. Threads persist across runs (warm caches, stable shard assignment).
pub struct Pool {
    cmds: Vec<mpsc::Sender<u64>>,
    start: Arc<Barrier>,
    end: Arc<Barrier>,
    handles: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Spawns `n` workers; worker `i` runs `make(i)`. The workers are started one after
    /// another and each runs its job once before the next is spawned, so they take
    /// consecutive thread numbers (and, with `n` shards, distinct recorder shards).
    pub fn new<F, J>(n: usize, make: F) -> Pool
    where
        F: Fn(usize) -> J,
        J: FnMut(u64) + Send + 'static,
    {
        let start = Arc::new(Barrier::new(n + 1));
        let end = Arc::new(Barrier::new(n + 1));
        let mut cmds = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let mut job = make(i);
            let (tx, rx) = mpsc::channel::<u64>();
            let (ready_tx, ready_rx) = mpsc::channel::<()>();
            let (s, e) = (Arc::clone(&start), Arc::clone(&end));
            handles.push(
                std::thread::Builder::new()
                    .name(format!("bench-worker-{i}"))
                    .spawn(move || {
                        job(1);
                        let _ = ready_tx.send(());
                        while let Ok(iters) = rx.recv() {
                            s.wait();
                            job(iters);
                            e.wait();
                        }
                    })
                    .expect("spawn a worker"),
            );
            ready_rx.recv().expect("worker warmed up");
            cmds.push(tx);
        }
        Pool {
            cmds,
            start,
            end,
            handles,
        }
    }

    /// Every worker runs its job `iters` times; the wall time from the common start to
    /// the last worker's end.
    pub fn run(&self, iters: u64) -> Duration {
        for c in &self.cmds {
            c.send(iters).expect("worker alive");
        }
        self.start.wait();
        let t0 = Instant::now();
        self.end.wait();
        t0.elapsed()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.cmds.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// A thread that runs `f` in a loop until dropped; counts the rounds.
pub struct Background {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Background {
    /// Starts `f` looping on its own thread.
    pub fn start(mut f: impl FnMut() + Send + 'static) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("bench-reader".into())
            .spawn(move || {
                let mut rounds = 0u64;
                while !s.load(Ordering::Relaxed) {
                    f();
                    rounds += 1;
                }
                rounds
            })
            .expect("spawn the reader");
        Background {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the loop; how many rounds it ran.
    pub fn stop(mut self) -> u64 {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .map_or(0, |h| h.join().expect("reader did not panic"))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// A raw cycle-counter reading (TSC on x86-64, else nanoseconds since first use).
#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` has no preconditions on x86-64; it only reads a counter.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Nanoseconds per [`ticks`] unit, measured against `Instant` over ~20 ms.
pub fn ns_per_tick() -> f64 {
    let (i0, t0) = (Instant::now(), ticks());
    while i0.elapsed() < Duration::from_millis(20) {
        std::hint::spin_loop();
    }
    let (ns, t) = (i0.elapsed().as_nanos() as f64, ticks() - t0);
    ns / t.max(1) as f64
}

/// Writer latency percentiles, in nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tail {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Timed calls.
    pub samples: usize,
    /// Median cost of timing an empty call (included in every figure).
    pub timer_overhead: f64,
}

/// Calls `f(i)` for `i` in `0..total`, timing every `every`-th call on its own; the
/// percentiles of those times.
pub fn measure_tail(
    total: usize,
    every: usize,
    ns_per_tick: f64,
    mut f: impl FnMut(usize),
) -> Tail {
    let every = every.max(1);
    let mut samples: Vec<u64> = Vec::with_capacity(total / every + 1);
    let mut empty: Vec<u64> = Vec::with_capacity(1024);
    for _ in 0..1024 {
        let t0 = ticks();
        let t1 = ticks();
        empty.push(t1.wrapping_sub(t0));
    }
    for i in 0..total {
        if i % every == 0 {
            let t0 = ticks();
            f(i);
            let t1 = ticks();
            samples.push(t1.wrapping_sub(t0));
        } else {
            f(i);
        }
    }
    samples.sort_unstable();
    empty.sort_unstable();
    let pick = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i] as f64 * ns_per_tick
    };
    Tail {
        p50: pick(0.5),
        p99: pick(0.99),
        p999: pick(0.999),
        max: *samples.last().unwrap_or(&0) as f64 * ns_per_tick,
        samples: samples.len(),
        timer_overhead: empty[empty.len() / 2] as f64 * ns_per_tick,
    }
}

/// A writer that throws the bytes away and counts them.
#[derive(Debug, Default)]
pub struct CountingSink {
    /// Bytes written so far.
    pub bytes: u64,
}

impl io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The median of `v` (sorts it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
