//! The thread that compresses and prunes rotated files, so that gzip never holds up the
//! exporter's reads and writes: the writer renames a full file and wakes it, it runs
//! [`rotate::maintain`] over the directory, and leaves what failed for the writer to
//! count and show.
//!
//! Only this thread compresses or removes rotated files, one pass at a time, and the
//! writer only ever creates the current file and renames it to a sequence number no
//! file has: the two never touch the same name. A rotated file waits uncompressed
//! until a pass reaches it (under a load that outruns gzip, several do, and the next
//! pass takes them all). Closing runs one last pass and waits for it.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::control::{lock, Thread};

use super::error::Failure;
use super::rotate::{self, Naming};

/// The maintenance thread's name.
const THREAD_NAME: &str = "flightring-gzip";

/// What a pass works on.
struct Work {
    naming: Naming,
    gzip: bool,
    keep: usize,
    max_age: Duration,
}

impl Work {
    fn pass(&self) -> Vec<Failure> {
        rotate::maintain(&self.naming, self.gzip, self.keep, self.max_age)
    }
}

#[derive(Default)]
struct State {
    /// Passes asked for, and passes done (a pass done covers every request made
    /// before it started).
    requested: u64,
    done: u64,
    stop: bool,
    /// What the latest pass found failing, until the writer takes it.
    failures: Option<Vec<Failure>>,
}

struct Shared {
    work: Work,
    state: Mutex<State>,
    wake: Condvar,
    /// Signalled when a pass finishes.
    passed: Condvar,
}

/// The writer's handle on the maintenance thread.
pub(crate) struct Maintainer {
    shared: Arc<Shared>,
    /// `None` when the thread could not be started: passes then run on the writer.
    thread: Option<Thread>,
}

impl Maintainer {
    /// Starts the thread (or, when the system refuses one, runs passes inline).
    pub(crate) fn start(naming: Naming, gzip: bool, keep: usize, max_age: Duration) -> Self {
        let shared = Arc::new(Shared {
            work: Work {
                naming,
                gzip,
                keep,
                max_age,
            },
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            passed: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = Thread::spawn(THREAD_NAME, move || run(&worker)).ok();
        Maintainer { shared, thread }
    }

    /// Asks for a pass; returns at once.
    pub(crate) fn wake(&self) {
        if self.thread.is_none() {
            let failures = self.shared.work.pass();
            lock(&self.shared.state).failures = Some(failures);
            return;
        }
        lock(&self.shared.state).requested += 1;
        self.shared.wake.notify_one();
    }

    /// Runs a pass now and waits for it: what it found failing. A flush uses it while
    /// a fault from an earlier pass is shown, so a directory that came back clears the
    /// fault by the time `flush()` returns.
    pub(crate) fn pass_now(&self) -> Vec<Failure> {
        if self.thread.is_none() {
            return self.shared.work.pass();
        }
        let mut st = lock(&self.shared.state);
        st.requested += 1;
        let target = st.requested;
        self.shared.wake.notify_one();
        while st.done < target && !st.stop {
            st = self
                .shared
                .passed
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
        st.failures.take().unwrap_or_default()
    }

    /// What the latest finished pass found failing (empty when all went well), once;
    /// `None` when no pass has finished since the last call.
    pub(crate) fn take_failures(&self) -> Option<Vec<Failure>> {
        lock(&self.shared.state).failures.take()
    }

    /// Runs a last pass, waits for it, stops the thread, and returns what it found
    /// failing.
    pub(crate) fn finish(&mut self) -> Vec<Failure> {
        match self.thread.take() {
            None => self.shared.work.pass(),
            Some(thread) => {
                {
                    let mut st = lock(&self.shared.state);
                    st.requested += 1;
                    st.stop = true;
                }
                self.shared.wake.notify_one();
                thread.join();
                lock(&self.shared.state).failures.take().unwrap_or_default()
            }
        }
    }
}

impl Drop for Maintainer {
    /// Stops the thread without a last pass (after `finish`, nothing is left to stop).
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            lock(&self.shared.state).stop = true;
            self.shared.wake.notify_one();
            thread.join();
        }
    }
}

fn run(shared: &Shared) {
    loop {
        let target = {
            let mut st = lock(&shared.state);
            while st.requested == st.done && !st.stop {
                st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.requested == st.done {
                return;
            }
            st.requested
        };
        let failures = shared.work.pass();
        let mut st = lock(&shared.state);
        st.done = target;
        st.failures = Some(failures);
        shared.passed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_pass_compresses_what_was_rotated_and_finish_waits_for_the_last() {
        let dir = std::env::temp_dir().join(format!("flightring-maint-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let naming = Naming::new(&dir.join("f.jsonl"));
        let mut m = Maintainer::start(naming.clone(), true, 10, Duration::from_secs(3600));
        fs::write(naming.rotated(1, false), b"{\"a\":1}\n").unwrap();
        m.wake();
        fs::write(naming.rotated(2, false), b"{\"a\":2}\n").unwrap();
        assert!(m.finish().is_empty());
        assert!(naming.rotated(1, true).exists() && naming.rotated(2, true).exists());
        assert!(!naming.rotated(1, false).exists() && !naming.rotated(2, false).exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn failures_reach_the_writer_once() {
        let dir =
            std::env::temp_dir().join(format!("flightring-maint-gone-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // The directory does not exist: listing it fails.
        let m = Maintainer::start(
            Naming::new(&dir.join("f.jsonl")),
            true,
            10,
            Duration::from_secs(3600),
        );
        m.wake();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let failures = loop {
            if let Some(f) = m.take_failures() {
                break f;
            }
            assert!(std::time::Instant::now() < deadline, "no pass finished");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].what, "listing");
        assert!(m.take_failures().is_none());
    }
}
