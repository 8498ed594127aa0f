//! [`ReplayHandle`] and the shared pacing state it steers: pause, resume, stop and a
//! change of speed, taking effect while the replay runs.
//!
//! # Pacing
//!
//! The replay keeps an anchor — a wall-clock instant and the recording offset it
//! stands for — and a speed. An event at recording offset `o` is due at
//! `anchor_wall + (o − anchor_offset) / speed`. Pausing stores the offset reached;
//! resuming and changing speed re-anchor at the offset reached, so neither makes the
//! replay jump or rush to catch up. The replay thread waits on a condition variable
//! until 1 ms before an event is due, then yields until it is due (the wait alone
//! overshoots by the scheduler's wake-up latency).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::report::{ReplayError, ReplayReport};

/// The slowest speed accepted: 0.01×.
pub const MIN_SPEED: f64 = 0.01;
/// The fastest paced speed accepted: 1000× (faster: as fast as possible).
pub const MAX_SPEED: f64 = 1000.0;

/// Checks a speed multiplier: finite and within `MIN_SPEED..=MAX_SPEED`.
pub fn check_speed(x: f64) -> Result<f64, ReplayError> {
    if x.is_finite() && (MIN_SPEED..=MAX_SPEED).contains(&x) {
        Ok(x)
    } else {
        Err(ReplayError::Speed(x))
    }
}

#[derive(Debug)]
pub(crate) struct State {
    /// `None`: as fast as possible.
    pub(crate) speed: Option<f64>,
    pub(crate) paused: bool,
    pub(crate) stopped: bool,
    pub(crate) anchor_wall: Instant,
    pub(crate) anchor_offset: Duration,
    /// The offset of the last event emitted (the position when pacing is off).
    pub(crate) last_offset: Duration,
    pub(crate) done: u64,
    pub(crate) total: u64,
}

impl State {
    /// The recording offset the replay has reached at `now`.
    pub(crate) fn position(&self, now: Instant) -> Duration {
        match (self.speed, self.paused) {
            (Some(s), false) => {
                let wall = now.saturating_duration_since(self.anchor_wall);
                self.anchor_offset + wall.mul_f64(s)
            }
            _ => self.anchor_offset.max(self.last_offset),
        }
    }

    /// When an event at offset `o` is due (`None` when pacing is off).
    pub(crate) fn due(&self, o: Duration) -> Option<Instant> {
        let s = self.speed?;
        let ahead = o.saturating_sub(self.anchor_offset);
        Some(self.anchor_wall + ahead.div_f64(s))
    }
}

#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) state: Mutex<State>,
    pub(crate) wake: Condvar,
}

impl Control {
    pub(crate) fn new(speed: Option<f64>, start_offset: Duration, total: u64) -> Arc<Control> {
        Arc::new(Control {
            state: Mutex::new(State {
                speed,
                paused: false,
                stopped: false,
                anchor_wall: Instant::now(),
                anchor_offset: start_offset,
                last_offset: start_offset,
                done: 0,
                total,
            }),
            wake: Condvar::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the event at offset `o` is due. `false` when the replay was
    /// stopped meanwhile.
    pub(crate) fn wait_until_due(&self, o: Duration) -> bool {
        let mut st = self.lock();
        loop {
            if st.stopped {
                return false;
            }
            if st.paused {
                st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let Some(due) = st.due(o) else { return true };
            let now = Instant::now();
            if now >= due {
                return true;
            }
            let left = due - now;
            if left > Duration::from_millis(1) {
                st = self
                    .wake
                    .wait_timeout(st, left - Duration::from_millis(1))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            }
            // Under a millisecond: yield until due, checking for a pause or stop.
            drop(st);
            while Instant::now() < due {
                thread::yield_now();
            }
            st = self.lock();
        }
    }

    fn pause(&self) {
        let mut st = self.lock();
        if !st.paused {
            let pos = st.position(Instant::now());
            st.anchor_offset = pos;
            st.paused = true;
        }
        self.wake.notify_all();
    }

    fn resume(&self) {
        let mut st = self.lock();
        if st.paused {
            st.paused = false;
            st.anchor_wall = Instant::now();
        }
        self.wake.notify_all();
    }

    fn set_speed(&self, speed: Option<f64>) {
        let mut st = self.lock();
        let now = Instant::now();
        let pos = st.position(now);
        st.anchor_offset = pos;
        st.anchor_wall = now;
        st.speed = speed;
        self.wake.notify_all();
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.wake.notify_all();
    }
}

/// Steers a replay running on its own thread ([`super::Replayer::spawn`]). Dropping the
/// handle does not stop the replay; [`ReplayHandle::stop`] does.
#[derive(Debug)]
pub struct ReplayHandle {
    pub(crate) control: Arc<Control>,
    pub(crate) thread: Option<thread::JoinHandle<ReplayReport>>,
}

impl ReplayHandle {
    /// Pauses: no event is emitted until [`ReplayHandle::resume`]; the time paused
    /// does not count.
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Resumes after a pause, from where it was.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Whether the replay is paused.
    pub fn is_paused(&self) -> bool {
        self.control.lock().paused
    }

    /// Stops: no further event is emitted; [`ReplayHandle::join`] returns soon.
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Changes the speed from the position reached (validated as
    /// [`super::Replayer::speed`] does).
    pub fn set_speed(&self, x: f64) -> Result<(), ReplayError> {
        self.control.set_speed(Some(check_speed(x)?));
        Ok(())
    }

    /// From now on, emits as fast as possible.
    pub fn as_fast_as_possible(&self) {
        self.control.set_speed(None);
    }

    /// `(done, total)`: events emitted so far, and to emit in all.
    pub fn progress(&self) -> (u64, u64) {
        let st = self.control.lock();
        (st.done, st.total)
    }

    /// Whether the replay thread has finished.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the replay to finish and returns its report.
    pub fn join(mut self) -> Result<ReplayReport, ReplayError> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| ReplayError::TargetPanicked),
            None => Err(ReplayError::TargetPanicked),
        }
    }
}
