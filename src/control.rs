//! The control plane between a background thread and its handle, written once:
//!
//! - [`Thread`]: start a named thread, join it once on stop or drop — never from the
//!   thread itself (a thread holding the last handle to its owner drops it). Every
//!   background thread of the crate is one: the sweeper, the file and OTLP exporters,
//!   the HTTP server.
//! - [`Shared`]: a stop flag and a wake-up the thread sleeps on (a timed wait), plus,
//!   for the exporters, flush tickets with replies and published figures. The sweeper
//!   uses its stop and timed sleep; the exporters all of it. (The HTTP server's stop is
//!   a Tokio `watch` channel, since its loop is async; the panic hook's helper thread is
//!   joined with a time-out instead, and owns nothing to stop.)
//!
//! Writers never touch any of it.
//!
//! The handle asks for a flush by taking a ticket (`flush_requested + 1`) and waits
//! until the thread reports `flush_done` at or past it, or the thread ends; `close`
//! sets `stop`, joins the thread and returns what it left behind. The thread reads
//! `(stop, flush_requested)` each round, completes tickets in order, publishes its
//! figures, and sleeps until a deadline, a new ticket or stop. An [`ExitGuard`] clears
//! `running` even when the thread unwinds, so no caller waits forever.

use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Locks `m`, recovering from poisoning (the data are plain figures and flags).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The shared flags, plus the worker's own fields `X` (reached through `Deref`).
#[derive(Debug, Default)]
pub(crate) struct Control<X> {
    pub(crate) stop: bool,
    /// The thread is alive (cleared when it ends, even by a panic).
    pub(crate) running: bool,
    /// Flush tickets handed out; the thread completes them in order.
    pub(crate) flush_requested: u64,
    /// Tickets up to this one are complete.
    pub(crate) flush_done: u64,
    pub(crate) extra: X,
}

impl<X> Deref for Control<X> {
    type Target = X;
    fn deref(&self) -> &X {
        &self.extra
    }
}

impl<X> DerefMut for Control<X> {
    fn deref_mut(&mut self) -> &mut X {
        &mut self.extra
    }
}

/// What the handle and the thread share: the control block, two condition variables
/// and a copy of the thread's figures `S`.
#[derive(Debug)]
pub(crate) struct Shared<X, S> {
    ctl: Mutex<Control<X>>,
    /// Wakes the thread: a flush request or stop.
    wake: Condvar,
    /// Wakes `flush()`/`close()` callers: a flush completed, or the thread ended.
    done: Condvar,
    stats: Mutex<S>,
}

/// How a [`Shared::flush`] wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlushWait {
    /// The thread completed the ticket.
    Done(u64),
    /// The thread was stopped or ended first.
    Closed,
    /// The deadline passed first.
    TimedOut,
}

impl<X: Default, S: Default> Shared<X, S> {
    /// A control block for a thread about to start (`running`).
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Shared {
            ctl: Mutex::new(Control {
                running: true,
                ..Control::default()
            }),
            wake: Condvar::new(),
            done: Condvar::new(),
            stats: Mutex::new(S::default()),
        })
    }
}

impl<X, S: Clone> Shared<X, S> {
    /// Takes a flush ticket and waits until the thread completes it, ends, or
    /// `deadline` (if any) passes. Returns the control block for the caller to read
    /// the outcome the thread left in `X`.
    pub(crate) fn flush(
        &self,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'_, Control<X>>, FlushWait) {
        let mut c = lock(&self.ctl);
        if c.stop || !c.running {
            return (c, FlushWait::Closed);
        }
        c.flush_requested += 1;
        let ticket = c.flush_requested;
        self.wake.notify_all();
        while c.flush_done < ticket && c.running {
            c = match deadline {
                None => self.done.wait(c).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return (c, FlushWait::TimedOut);
                    }
                    self.done
                        .wait_timeout(c, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        let outcome = if c.flush_done < ticket {
            FlushWait::Closed
        } else {
            FlushWait::Done(ticket)
        };
        (c, outcome)
    }

    /// Asks the thread to stop and wakes it. Idempotent.
    pub(crate) fn stop(&self) {
        lock(&self.ctl).stop = true;
        self.wake.notify_all();
    }

    /// Stops the thread, joins it, and returns the control block it left.
    /// Idempotent.
    pub(crate) fn stop_and_join(&self, thread: &Thread) -> MutexGuard<'_, Control<X>> {
        self.stop();
        thread.join();
        let mut c = lock(&self.ctl);
        while c.running {
            c = self.done.wait(c).unwrap_or_else(|p| p.into_inner());
        }
        c
    }

    /// Whether the thread runs and was not asked to stop.
    pub(crate) fn is_running(&self) -> bool {
        let c = lock(&self.ctl);
        c.running && !c.stop
    }

    /// The figures the thread published last.
    pub(crate) fn stats(&self) -> S {
        lock(&self.stats).clone()
    }

    // ------------------------------------------------------------- the thread's side

    /// `(stop, flush_requested)` now.
    pub(crate) fn requests(&self) -> (bool, u64) {
        let c = lock(&self.ctl);
        (c.stop, c.flush_requested)
    }

    /// Marks tickets up to `upto` complete, after `outcome` records how they went,
    /// and wakes the callers waiting on them.
    pub(crate) fn complete_flush(&self, upto: u64, outcome: impl FnOnce(&mut X)) {
        let mut c = lock(&self.ctl);
        c.flush_done = c.flush_done.max(upto);
        outcome(&mut c.extra);
        drop(c);
        self.done.notify_all();
    }

    /// Changes the worker's own fields.
    pub(crate) fn update(&self, f: impl FnOnce(&mut X)) {
        f(&mut lock(&self.ctl).extra);
    }

    /// Publishes the thread's figures.
    pub(crate) fn publish(&self, stats: &S) {
        lock(&self.stats).clone_from(stats);
    }

    /// [`Shared::sleep`] for a thread that already knows it is stopping (and is draining
    /// until a deadline): only a ticket past `seen`, or the time, wakes it. (Waiting on
    /// the stop flag again would return at once, and the drain would spin a core.)
    #[cfg(feature = "otlp")]
    pub(crate) fn sleep_stopping(&self, wait: Duration, seen: u64) {
        let c = lock(&self.ctl);
        drop(
            self.wake
                .wait_timeout_while(c, wait, |c| c.flush_requested == seen)
                .unwrap_or_else(|p| p.into_inner()),
        );
    }

    /// Sleeps up to `wait`, or until stop or a ticket past `seen` arrives. Returns
    /// whether the thread was asked to stop.
    pub(crate) fn sleep(&self, wait: Duration, seen: u64) -> bool {
        let c = lock(&self.ctl);
        let (c, _) = self
            .wake
            .wait_timeout_while(c, wait, |c| !c.stop && c.flush_requested == seen)
            .unwrap_or_else(|p| p.into_inner());
        c.stop
    }
}

/// A background thread's handle: joined at most once, by [`Thread::join`] or on drop,
/// and never by the thread itself (it is detached then: it is already returning).
#[derive(Debug, Default)]
pub(crate) struct Thread {
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Thread {
    /// Starts `f` on a new thread called `name`.
    pub(crate) fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<Thread> {
        let h = std::thread::Builder::new().name(name.into()).spawn(f)?;
        Ok(Thread {
            handle: Mutex::new(Some(h)),
        })
    }

    /// Waits for the thread to end (at once if it already did, or if called from the
    /// thread itself). Idempotent.
    pub(crate) fn join(&self) {
        let Some(h) = lock(&self.handle).take() else {
            return;
        };
        if h.thread().id() != std::thread::current().id() {
            let _ = h.join();
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        self.join();
    }
}

/// Marks the thread ended when dropped, even when it unwinds, and wakes whoever waits
/// on it. The thread holds one for its whole life.
#[derive(Debug)]
pub(crate) struct ExitGuard<X, S>(pub(crate) Arc<Shared<X, S>>);

impl<X, S> Drop for ExitGuard<X, S> {
    fn drop(&mut self) {
        lock(&self.0.ctl).running = false;
        self.0.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_tickets_complete_in_order_and_close_returns_what_the_thread_left() {
        let shared: Arc<Shared<Option<String>, u64>> = Shared::new();
        let t = Arc::clone(&shared);
        let thread = Thread::spawn("control-test", move || {
            let _exit = ExitGuard(Arc::clone(&t));
            let mut done = 0;
            loop {
                let (stop, requested) = t.requests();
                if requested > done {
                    done = requested;
                    t.publish(&done);
                    t.complete_flush(requested, |x| *x = Some(format!("flushed {requested}")));
                }
                if stop {
                    t.update(|x| *x = Some("closed".into()));
                    break;
                }
                t.sleep(Duration::from_secs(5), done);
            }
        })
        .unwrap();
        let (c, w) = shared.flush(None);
        assert_eq!(w, FlushWait::Done(1));
        assert_eq!(c.as_deref(), Some("flushed 1"));
        drop(c);
        assert_eq!(shared.stats(), 1);
        assert!(shared.is_running());
        let c = shared.stop_and_join(&thread);
        assert_eq!(c.as_deref(), Some("closed"));
        assert!(!c.running);
        drop(c);
        assert!(!shared.is_running());
        assert_eq!(shared.flush(None).1, FlushWait::Closed);
        drop(shared.stop_and_join(&thread)); // idempotent
    }

    #[test]
    fn a_thread_that_drops_its_own_handle_is_not_joined_by_itself() {
        let slot: Arc<Mutex<Option<Thread>>> = Arc::default();
        let (go, wait_go) = std::sync::mpsc::channel();
        let (done, finished) = std::sync::mpsc::channel();
        let inner = Arc::clone(&slot);
        let t = Thread::spawn("control-self", move || {
            let _ = wait_go.recv();
            // Joining oneself fails (a panic) or deadlocks; this must return.
            let own = lock(&inner).take();
            drop(own);
            let _ = done.send(());
        })
        .unwrap();
        *lock(&slot) = Some(t);
        go.send(()).unwrap();
        assert_eq!(finished.recv_timeout(Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn a_flush_times_out_when_the_thread_does_not_answer() {
        let shared: Arc<Shared<(), ()>> = Shared::new();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert_eq!(shared.flush(Some(deadline)).1, FlushWait::TimedOut);
        drop(ExitGuard(Arc::clone(&shared)));
        assert_eq!(shared.flush(None).1, FlushWait::Closed);
    }
}
