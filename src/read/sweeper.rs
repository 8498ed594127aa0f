//! The background thread: samples the counters and publishes health every
//! `health_interval`, and every `sweep_interval` expires events older than the
//! retention and forgets departed peers.
//!
//! It holds only a `Weak` reference to the recorder, so dropping the last `Recorder`
//! clone frees it; it waits on a condition variable, so `close()` or that drop stops it
//! at once rather than after its interval. Writers never touch its lock.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::control::{self, ExitGuard, Thread};
use crate::read::Shared;

/// Start/stop handshake between the recorder and its background thread: the stop flag
/// and timed sleep of [`control::Shared`], and the [`Thread`] handle.
#[derive(Debug)]
pub(crate) struct SweeperControl {
    ctl: Arc<control::Shared<(), ()>>,
    thread: std::sync::Mutex<Option<Thread>>,
}

impl Default for SweeperControl {
    fn default() -> Self {
        SweeperControl {
            ctl: control::Shared::new(),
            thread: std::sync::Mutex::new(None),
        }
    }
}

impl SweeperControl {
    /// Asks the thread to stop and waits for it (unless called from the thread itself,
    /// which happens when it held the last reference to the recorder).
    pub(crate) fn stop_and_join(&self) {
        self.ctl.stop();
        let thread = control::lock(&self.thread).take();
        if let Some(t) = thread {
            t.join();
        }
    }
}

/// Starts the background thread of `inner`.
pub(crate) fn spawn(inner: &Arc<Shared>) {
    let weak = Arc::downgrade(inner);
    let ctl = Arc::clone(&inner.sweeper.ctl);
    let tick = inner
        .core
        .config
        .health_interval
        .min(inner.core.config.sweep_interval);
    let sweep_every = inner.core.config.sweep_interval;
    match Thread::spawn("flightring-sweeper", move || {
        run(weak, ctl, tick, sweep_every)
    }) {
        Ok(t) => *control::lock(&inner.sweeper.thread) = Some(t),
        // No thread: health reports the sampler as stalled, and `sweep_now` still works.
        Err(e) => eprintln!("flightring: could not start the sweeper thread: {e}"),
    }
}

fn run(
    weak: Weak<Shared>,
    ctl: Arc<control::Shared<(), ()>>,
    tick: Duration,
    sweep_every: Duration,
) {
    let _exit = ExitGuard(Arc::clone(&ctl));
    let mut next_sweep = Instant::now() + sweep_every;
    loop {
        if ctl.sleep(tick, 0) {
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
