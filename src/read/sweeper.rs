//! The background thread: samples the counters and publishes health every
//! `health_interval`, and every `sweep_interval` expires events older than the
//! retention and forgets departed peers.
//!
//! It holds only a `Weak` reference to the recorder, so dropping the last `Recorder`
//! clone frees it; it waits on a condition variable, so `close()` or that drop stops it
//! at once rather than after its interval. Writers never touch its lock.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crate::read::Shared;

/// Start/stop handshake between the recorder and its background thread.
#[derive(Debug, Default)]
pub(crate) struct SweeperControl {
    stop: Mutex<bool>,
    wake: Condvar,
    handle: Mutex<Option<JoinHandle<()>>>,
    thread: Mutex<Option<ThreadId>>,
}

impl SweeperControl {
    /// Asks the thread to stop and waits for it (unless called from the thread itself,
    /// which happens when it held the last reference to the recorder).
    pub(crate) fn stop_and_join(&self) {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
        let me = std::thread::current().id();
        if *self.thread.lock().unwrap_or_else(|p| p.into_inner()) == Some(me) {
            return;
        }
        let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// Sleeps up to `d`; returns `true` if asked to stop.
    fn sleep(&self, d: Duration) -> bool {
        let g = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        let (g, _) = self
            .wake
            .wait_timeout_while(g, d, |stop| !*stop)
            .unwrap_or_else(|p| p.into_inner());
        *g
    }
}

/// Starts the background thread of `inner`.
pub(crate) fn spawn(inner: &Arc<Shared>) {
    let weak = Arc::downgrade(inner);
    let ctl = Arc::clone(&inner.sweeper);
    let tick = inner
        .core
        .config
        .health_interval
        .min(inner.core.config.sweep_interval);
    let sweep_every = inner.core.config.sweep_interval;
    let spawned = std::thread::Builder::new()
        .name("flightring-sweeper".into())
        .spawn(move || run(weak, ctl, tick, sweep_every));
    match spawned {
        Ok(h) => {
            *inner
                .sweeper
                .thread
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(h.thread().id());
            *inner
                .sweeper
                .handle
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(h);
        }
        // No thread: health reports the sampler as stalled, and `sweep_now` still works.
        Err(e) => eprintln!("flightring: could not start the sweeper thread: {e}"),
    }
}

fn run(weak: Weak<Shared>, ctl: Arc<SweeperControl>, tick: Duration, sweep_every: Duration) {
    let mut next_sweep = Instant::now() + sweep_every;
    loop {
        if ctl.sleep(tick) {
            return;
        }
        let Some(inner) = weak.upgrade() else { return };
        if Instant::now() >= next_sweep {
            inner.sweep();
            next_sweep = Instant::now() + sweep_every;
        }
        inner.sample();
    }
}
