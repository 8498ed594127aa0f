//! THE READ SIDE: everything that reads the ring and the counters without ever making a
//! writer wait — snapshots, queries, cursors, stats, health, exports — and the
//! background thread that samples health and expires old events.
//!
//! [`Shared`] is what every `Recorder` clone points to: the write side's [`Core`] plus
//! the state only readers touch (the health window and verdict, the components'
//! faults, the largest `overwritten` figure reported). Modules here read `Core`; nothing
//! in `crate::core` names anything here.

pub(crate) mod cursor;
pub(crate) mod decode;
pub(crate) mod export;
pub(crate) mod health;
pub(crate) mod query;
pub(crate) mod snapshot;
pub(crate) mod stats;
pub(crate) mod sweeper;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::Core;
use health::Health;
use stats::Totals;
use sweeper::SweeperControl;

/// A window sample: the totals at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Instant,
    pub(crate) totals: Totals,
}

/// The state behind every clone of a `Recorder`: the write side, and what readers keep.
pub(crate) struct Shared {
    pub(crate) core: Core,
    /// Components' current faults, by component (e.g. an exporter's I/O error); each
    /// makes health at least Degraded. Touched only by components and readers.
    faults: Mutex<BTreeMap<String, String>>,
    /// The largest `overwritten` figure reported so far (see `totals`).
    pub(crate) overwritten_seen: AtomicU64,
    /// The verdict the sampler published last.
    /// When the sampler last ran, as nanoseconds since `core.started`.
    pub(crate) last_sample: AtomicU64,
    /// When the sweeper last expired events, as nanoseconds since `core.started`.
    pub(crate) last_sweep: AtomicU64,
    /// The health window's samples, oldest first.
    pub(crate) window: Mutex<VecDeque<Sample>>,
    pub(crate) sweeper: Arc<SweeperControl>,
}

impl Shared {
    /// Wraps `core`, samples it once (so health has a window start) and starts the
    /// background thread.
    pub(crate) fn start(core: Core) -> Arc<Shared> {
        let shared = Arc::new(Shared {
            core,
            faults: Mutex::new(BTreeMap::new()),
            overwritten_seen: AtomicU64::new(0),
            last_sample: AtomicU64::new(0),
            last_sweep: AtomicU64::new(0),
            window: Mutex::new(VecDeque::new()),
            sweeper: Arc::new(SweeperControl::default()),
        });
        shared.sample();
        sweeper::spawn(&shared);
        shared
    }

    /// Expires events past the retention and forgets departed peers; returns how many
    /// events expired.
    pub(crate) fn sweep(&self) -> u64 {
        let n = self.core.sweep();
        self.last_sweep.store(
            self.core.started.elapsed().as_nanos() as u64,
            Ordering::Relaxed,
        );
        n
    }

    /// The health verdict as of this call: the live totals (every event recorded
    /// before the call) against the window start the sampler stored — O(shards), no
    /// event copied — marked stalled when the sampler is late, with the components'
    /// faults added.
    pub(crate) fn health(&self) -> Health {
        let core = &self.core;
        let mut h = self.evaluate_now();
        if !core.closed.load(Ordering::Acquire) {
            let last = Duration::from_nanos(self.last_sample.load(Ordering::Relaxed));
            let age = core.started.elapsed().saturating_sub(last);
            health::mark_stalled(
                &mut h,
                age,
                core.config.health_interval,
                &core.config.health,
            );
        }
        self.add_faults(&mut h);
        let (hist, counters, gauges) = self.names_refused();
        if hist + counters + gauges > 0 {
            health::add_degraded(
                &mut h,
                format!(
                    "names refused, tables full: {hist} histogram observations (max_histograms = {}), \
                     {counters} counter and {gauges} gauge updates ({} names each)",
                    core.config.max_histograms,
                    core.config.max_histograms * 4
                ),
            );
        }
        h.tiers = self.tiers();
        h
    }

    /// Updates refused because a name table was full: histogram observations,
    /// counter updates, gauge updates.
    pub(crate) fn names_refused(&self) -> (u64, u64, u64) {
        let core = &self.core;
        (
            core.histograms_refused(),
            core.counters_named.refused.load(Ordering::Relaxed),
            core.gauges.refused.load(Ordering::Relaxed),
        )
    }

    /// Sets (`Some`) or clears (`None`) `component`'s fault.
    pub(crate) fn set_fault(&self, component: &str, reason: Option<String>) {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        match reason {
            Some(r) => faults.insert(component.to_owned(), r),
            None => faults.remove(component),
        };
    }

    /// The components' current faults, by component.
    pub(crate) fn faults(&self) -> BTreeMap<String, String> {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.sweeper.stop_and_join();
    }
}
