//! [`OtlpExporter`]: one background thread that follows the ring with a [`Cursor`],
//! batches what it reads, and posts each batch to the collector until it is accepted
//! (see [`crate::integrations::otlp`] for the behaviour users rely on).
//!
//! # The thread's loop
//!
//! 1. Unless it is waiting to retry, or a full batch is already pending, read
//!    everything new from the ring (at most one lap of it) into the pending queue.
//! 2. Post the oldest `max_batch` pending events when that many are pending, when the
//!    oldest has waited `max_delay`, or at once while a `flush()` or `close()` waits.
//!    Accepted (2xx) or refused for good: they leave the queue, counted. Retryable
//!    failure: they stay, and nothing is read or posted until the backoff has passed.
//! 3. Sleep on a condition variable until the next read (1–20 ms, sooner the faster the
//!    ring fills), the batch's deadline, the retry, `flush()` or `close()`.
//!
//! While the collector is down the ring is the buffer: the queue holds at most one
//! lap plus one batch, and events the ring overwrites before the exporter reads them
//! are counted by the cursor as lost.
//!
//! Writers never meet this thread: it reads the ring through the cursor, like a
//! snapshot does, and its locks are shared only with the `OtlpExporter` handle.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::control::{self, ExitGuard, FlushWait, Thread};
use crate::model::event::EventRecord;
use crate::model::Timestamp;
use crate::recorder::Cursor;
use crate::recorder::Recorder;
use crate::runtime::follower::{after, Follower, ShownFault, POLL_MAX};

use super::client::{Client, Outcome};
use super::config::{OtlpBuilder, OtlpConfig, OtlpError};
use super::encode::{partial_success, RequestEncoder};

/// The name of the exporter's background thread.
pub const THREAD_NAME: &str = "flightring-otlp";

/// The component the exporter reports its faults under in
/// [`Recorder::health`](crate::Recorder::health) (one OTLP exporter per recorder is
/// assumed).
pub const FAULT_COMPONENT: &str = "otlp";

/// Flush outcomes kept for callers that have not looked yet.
const RESULTS_KEPT: usize = 64;

/// What the exporter has done so far. From [`OtlpExporter::stats`].
///
/// Every event the exporter's cursor passes is counted once: `events_sent + dropped +
/// pending` events were read from the ring, and `lost` more were missed. At rest —
/// after [`OtlpExporter::close`], or after a successful [`OtlpExporter::flush`] with
/// recording paused — `events_sent + lost + dropped` equals the events recorded since
/// start plus those dropped by their writers (`Stats::total_recorded` +
/// `Stats::dropped`), less any that expired or were cleared before the exporter read
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpStats {
    /// Log records the collector accepted (answered 2xx and did not report rejecting in
    /// a partial success).
    pub events_sent: u64,
    /// Requests the collector accepted.
    pub batches_sent: u64,
    /// Bytes of the bodies of those requests.
    pub bytes_sent: u64,
    /// Requests that failed: connection errors, timeouts, and non-2xx answers. Each
    /// failed retry counts again.
    pub failed_requests: u64,
    /// Events the cursor missed: overwritten in the ring before the exporter read them
    /// (it fell a lap behind, typically while the collector was down) or dropped by
    /// their writer.
    pub lost: u64,
    /// Events read but given up on: in a request the collector refused for good (a
    /// status other than 2xx, 429, 502, 503 and 504), reported rejected in a partial
    /// success, or unsent when `close()`'s time ran out.
    pub dropped: u64,
    /// Events read from the ring and not yet accepted or dropped.
    pub pending: u64,
    /// The most recent failure; kept after recovery (health shows whether it is
    /// current).
    pub last_error: Option<String>,
}

/// Ships a recorder's events to an OpenTelemetry collector as OTLP logs: see
/// [`crate::integrations::otlp`].
///
/// `Send + Sync`: flush, read stats or close it from any thread. Dropping it closes it.
pub struct OtlpExporter {
    shared: Arc<Shared>,
    thread: Thread,
    endpoint: String,
    wait: Duration,
}

/// What the handle and the thread share (see [`crate::control`]). Writers never touch
/// it.
type Shared = control::Shared<Outcomes, OtlpStats>;

/// What the thread leaves for the handle beside the flags.
#[derive(Debug, Default)]
struct Outcomes {
    /// Completed flushes during which events were dropped: (first ticket, last ticket,
    /// events, reason). The newest [`RESULTS_KEPT`].
    dropped: VecDeque<(u64, u64, u64, String)>,
    /// Events left unsent at close, and why.
    close_error: Option<(u64, String)>,
}

impl OtlpExporter {
    /// A builder with the default settings ([`OtlpConfig::default`]).
    pub fn builder() -> OtlpBuilder {
        OtlpBuilder::default()
    }

    /// Checks `cfg` and starts the thread, which exports the events recorded from now
    /// on. Nothing is sent yet: an unreachable collector shows up later, in
    /// [`OtlpExporter::stats`] and the recorder's health.
    ///
    /// Fails with [`OtlpError::Config`] for a malformed endpoint, header, a CA file that
    /// cannot be read or holds no usable certificate, or a setting out of range.
    pub fn start(rec: &Recorder, cfg: OtlpConfig) -> Result<OtlpExporter, OtlpError> {
        OtlpExporter::start_with_cursor(rec.cursor(), cfg)
    }

    /// Like [`OtlpExporter::start`], but exports every event still retained first.
    pub fn start_from_oldest(rec: &Recorder, cfg: OtlpConfig) -> Result<OtlpExporter, OtlpError> {
        OtlpExporter::start_with_cursor(rec.cursor_from_oldest(), cfg)
    }

    /// Like [`OtlpExporter::start`], following `cursor` (and its recorder) from where
    /// it is.
    pub fn start_with_cursor(cursor: Cursor, cfg: OtlpConfig) -> Result<OtlpExporter, OtlpError> {
        let (endpoint, ca) = cfg.validate()?;
        let shared = Shared::new();
        let rec = cursor.recorder().clone();
        let worker = Worker {
            client: Client::new(endpoint, &cfg.headers, cfg.request_timeout, ca),
            encoder: RequestEncoder::new(&cfg.service_name, &cfg.resource_attributes),
            rec,
            follower: Follower::new(cursor),
            shared: Arc::clone(&shared),
            pending: VecDeque::new(),
            body: Vec::new(),
            stats: OtlpStats::default(),
            taken: 0,
            resolved: 0,
            marks: VecDeque::new(),
            seen_ticket: 0,
            backoff: cfg.backoff_initial,
            retry_at: None,
            rng: seed(),
            fault: None,
            fault_shown: ShownFault::default(),
            stop: None,
            cfg: cfg.clone(),
        };
        let thread = Thread::spawn(THREAD_NAME, move || worker.run()).map_err(OtlpError::Spawn)?;
        Ok(OtlpExporter {
            shared,
            thread,
            endpoint: cfg.endpoint,
            wait: cfg.shutdown_timeout,
        })
    }

    /// Sends everything recorded before this call, and returns once the collector has
    /// accepted it, waiting at most `shutdown_timeout`. Events the exporter could not
    /// read in time are counted in [`OtlpStats::lost`].
    ///
    /// Fails with [`OtlpError::Timeout`] when the collector has not accepted them in
    /// time (they stay queued and are retried), [`OtlpError::Dropped`] when some were
    /// refused for good, [`OtlpError::Closed`] after [`OtlpExporter::close`].
    pub fn flush(&self) -> Result<(), OtlpError> {
        let start = Instant::now();
        let deadline = after(start, self.wait);
        let (c, wait) = self.shared.flush(Some(deadline));
        let ticket = match wait {
            FlushWait::Done(ticket) => ticket,
            FlushWait::Closed => return Err(OtlpError::Closed),
            FlushWait::TimedOut => {
                drop(c);
                let stats = self.stats();
                return Err(OtlpError::Timeout {
                    waited: start.elapsed(),
                    pending: stats.pending,
                    last_error: stats.last_error,
                });
            }
        };
        match c.dropped.iter().find(|d| d.0 <= ticket && ticket <= d.1) {
            Some((_, _, events, reason)) => Err(OtlpError::Dropped {
                events: *events,
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Sends what was recorded before this call (trying for at most
    /// `shutdown_timeout`) and stops the thread. Idempotent: later calls return the
    /// first call's outcome. [`OtlpError::Dropped`] means events were left unsent; they
    /// are counted in [`OtlpStats::dropped`] and the recorder's health keeps the fault.
    pub fn close(&self) -> Result<(), OtlpError> {
        let c = self.shared.stop_and_join(&self.thread);
        match &c.close_error {
            Some((events, reason)) => Err(OtlpError::Dropped {
                events: *events,
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The figures so far (refreshed by the thread every round, i.e. every few ms).
    pub fn stats(&self) -> OtlpStats {
        self.shared.stats()
    }

    /// Whether the thread is running (false after `close()`).
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("endpoint", &self.endpoint)
            .field("running", &self.is_running())
            .finish()
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// An event read from the ring, waiting to be accepted.
struct Pending {
    event: EventRecord,
    /// `observed_time_unix_nano`: when the exporter read it.
    observed: i64,
    /// When it was read, for `max_delay`.
    read_at: Instant,
}

/// Where a flush (or close) stands: done once the cursor has passed `heads` and every
/// event read until then is resolved.
struct Mark {
    /// Tickets `first..=last` complete with this mark.
    first: u64,
    last: u64,
    /// The shards' heads when the flush was seen.
    heads: Vec<u64>,
    /// `Worker::taken` once the cursor passed `heads`.
    taken: Option<u64>,
    /// `OtlpStats::dropped` when the flush was seen.
    dropped_before: u64,
}

/// Closing: the drain's target and deadline.
struct Stopping {
    heads: Vec<u64>,
    deadline: Instant,
}

/// The thread's state.
struct Worker {
    rec: Recorder,
    follower: Follower,
    cfg: OtlpConfig,
    client: Client,
    encoder: RequestEncoder,
    shared: Arc<Shared>,
    /// Events read and not yet resolved, oldest first. At most `max_batch - 1` plus one
    /// lap of the ring.
    pending: VecDeque<Pending>,
    /// The request body, reused.
    body: Vec<u8>,
    stats: OtlpStats,
    /// Events read from the ring, ever.
    taken: u64,
    /// Events sent or dropped, ever (`taken - resolved` are pending).
    resolved: u64,
    /// Flushes waiting, in ticket order.
    marks: VecDeque<Mark>,
    /// The last flush ticket seen.
    seen_ticket: u64,
    /// The next retry's backoff (before jitter).
    backoff: Duration,
    /// No reading or posting before this, after a retryable failure.
    retry_at: Option<Instant>,
    /// xorshift64 state for the jitter.
    rng: u64,
    /// The fault the recorder should show, and the one it shows.
    fault: Option<String>,
    fault_shown: ShownFault,
    stop: Option<Stopping>,
}

/// A per-exporter jitter seed (std's randomly keyed hasher); never zero.
fn seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(Timestamp::now()) | 1
}

impl Worker {
    fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let _exit = ExitGuard(Arc::clone(&shared));
        loop {
            let (stop, requested) = shared.requests();
            if requested > self.seen_ticket {
                self.marks.push_back(Mark {
                    first: self.seen_ticket + 1,
                    last: requested,
                    heads: self.follower.cursor().heads(),
                    taken: None,
                    dropped_before: self.stats.dropped,
                });
                self.seen_ticket = requested;
            }
            if stop && self.stop.is_none() {
                self.stop = Some(Stopping {
                    heads: self.follower.cursor().heads(),
                    deadline: after(Instant::now(), self.cfg.shutdown_timeout),
                });
            }
            let now = Instant::now();
            if self.stop.as_ref().is_some_and(|s| now >= s.deadline) {
                break;
            }
            let waiting = self.retry_at.is_some_and(|t| now < t);
            if self.may_read(waiting) {
                self.poll(now);
            }
            self.settle();
            if !waiting && self.send_due(now) {
                self.send();
                self.settle();
                self.publish();
                continue;
            }
            self.publish();
            if let Some(s) = &self.stop {
                let drained = self.pending.is_empty() && self.follower.cursor().reached(&s.heads);
                if drained {
                    break;
                }
            }
            let wait = self
                .next_deadline(now, waiting)
                .saturating_duration_since(Instant::now());
            if self.stop.is_some() {
                shared.sleep_stopping(wait, self.seen_ticket);
            } else {
                shared.sleep(wait, self.seen_ticket);
            }
        }
        self.finish();
    }

    /// Whether to read the ring now: not while waiting to retry (the ring is the
    /// buffer), not with a full batch pending, not past the close target.
    fn may_read(&self, waiting: bool) -> bool {
        !waiting
            && self.pending.len() < self.cfg.max_batch
            && self
                .stop
                .as_ref()
                .is_none_or(|s| !self.follower.cursor().reached(&s.heads))
    }

    fn send_due(&self, now: Instant) -> bool {
        let Some(oldest) = self.pending.front() else {
            return false;
        };
        self.pending.len() >= self.cfg.max_batch
            || self.stop.is_some()
            || !self.marks.is_empty()
            || now >= after(oldest.read_at, self.cfg.max_delay)
    }

    fn next_deadline(&self, now: Instant, waiting: bool) -> Instant {
        let mut d = after(now, POLL_MAX * 50);
        if let Some(t) = self.retry_at.filter(|_| waiting) {
            d = d.min(t);
        } else if let Some(p) = self.pending.front() {
            d = d.min(after(p.read_at, self.cfg.max_delay));
        }
        if self.may_read(waiting) {
            d = d.min(self.follower.next_poll());
        }
        if let Some(s) = &self.stop {
            d = d.min(s.deadline);
        }
        d
    }

    /// Reads everything new from the ring into `pending`.
    fn poll(&mut self, now: Instant) {
        let (lost, events) = self.follower.poll(now);
        self.stats.lost += lost;
        self.taken += events.len() as u64;
        let observed = Timestamp::now().as_unix_nanos();
        self.pending.extend(events.map(|event| Pending {
            event,
            observed,
            read_at: now,
        }));
    }

    /// Posts the oldest `max_batch` pending events once.
    fn send(&mut self) {
        let n = self.pending.len().min(self.cfg.max_batch);
        let batch = self.pending.range(..n).map(|p| (&p.event, p.observed));
        self.encoder.encode(batch, &mut self.body);
        let limit = self.stop.as_ref().map(|s| s.deadline);
        match self.client.post(&self.body, limit) {
            Outcome::Accepted { body } => {
                let (rejected, why) = partial_success(&body).unwrap_or_default();
                let rejected = rejected.min(n as u64);
                self.stats.events_sent += n as u64 - rejected;
                self.stats.batches_sent += 1;
                self.stats.bytes_sent += self.body.len() as u64;
                self.resolve(n, rejected);
                self.backoff = self.cfg.backoff_initial;
                self.retry_at = None;
                self.fault = None;
                if rejected > 0 {
                    let e = format!(
                        "{}: the collector rejected {rejected} of {n} log records: {why}",
                        self.client.endpoint()
                    );
                    self.stats.last_error = Some(e.clone());
                    self.fault = Some(e);
                }
            }
            Outcome::Retry {
                reason,
                retry_after,
            } => {
                self.stats.failed_requests += 1;
                let e = format!("{}: {reason}", self.client.endpoint());
                self.stats.last_error = Some(e.clone());
                self.fault = Some(e);
                let mut delay = self.jittered(self.backoff);
                if let Some(r) = retry_after {
                    delay = delay.max(r);
                }
                self.retry_at = Some(after(Instant::now(), delay));
                self.backoff = (self.backoff * 2).min(self.cfg.backoff_max);
            }
            Outcome::Rejected { reason, .. } => {
                self.stats.failed_requests += 1;
                let e = format!(
                    "{}: {reason} (dropped a batch of {n} log records)",
                    self.client.endpoint()
                );
                self.stats.last_error = Some(e.clone());
                self.fault = Some(e);
                self.resolve(n, n as u64);
                self.backoff = self.cfg.backoff_initial;
                self.retry_at = None;
            }
        }
    }

    /// The oldest `n` pending events are done with; `dropped` of them were given up on.
    fn resolve(&mut self, n: usize, dropped: u64) {
        self.pending.drain(..n);
        self.resolved += n as u64;
        self.stats.dropped += dropped;
    }

    /// A wait drawn from `[b/2, b]` when jitter is on.
    fn jittered(&mut self, b: Duration) -> Duration {
        if !self.cfg.jitter {
            return b;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let half = b / 2;
        let frac = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        half + half.mul_f64(frac)
    }

    /// Completes the flushes whose events are all resolved.
    fn settle(&mut self) {
        for m in self.marks.iter_mut().filter(|m| m.taken.is_none()) {
            if self.follower.cursor().reached(&m.heads) {
                m.taken = Some(self.taken);
            }
        }
        let mut completed = Vec::new();
        while let Some(m) = self.marks.front() {
            match m.taken {
                Some(t) if self.resolved >= t => {
                    completed.extend(self.marks.pop_front());
                }
                _ => break,
            }
        }
        let Some(last) = completed.last() else {
            return;
        };
        // The caller reads the stats next: make them current first.
        self.publish();
        let stats = &self.stats;
        self.shared.complete_flush(last.last, |o| {
            for m in &completed {
                let dropped = stats.dropped - m.dropped_before;
                if dropped > 0 {
                    let why = stats.last_error.clone().unwrap_or_default();
                    o.dropped.push_back((m.first, m.last, dropped, why));
                    if o.dropped.len() > RESULTS_KEPT {
                        o.dropped.pop_front();
                    }
                }
            }
        });
    }

    fn publish(&mut self) {
        self.stats.pending = self.pending.len() as u64;
        self.shared.publish(&self.stats);
        self.fault_shown
            .show(&self.rec, FAULT_COMPONENT, self.fault.as_deref());
    }

    /// The end: whatever was recorded before `close()` and is still unsent is dropped,
    /// counted.
    fn finish(&mut self) {
        if let Some(s) = &self.stop {
            if !self.follower.cursor().reached(&s.heads) {
                // Time ran out before the drain read everything: read the rest so it is
                // counted.
                self.poll(Instant::now());
            }
        }
        let unsent = self.pending.len();
        let mut close_error = None;
        if unsent > 0 {
            let why = self
                .stats
                .last_error
                .clone()
                .unwrap_or_else(|| "no request completed in time".to_owned());
            self.fault = Some(format!("closed with {unsent} events unsent: {why}"));
            close_error = Some((unsent as u64, why));
            self.resolve(unsent, unsent as u64);
        }
        self.settle();
        self.publish();
        self.shared.update(|o| o.close_error = close_error);
    }
}
/// Starting an exporter from its builder (here, so the builder's module need not name
/// the exporter).
impl OtlpBuilder {
    /// Starts exporting the events recorded from now on: [`OtlpExporter::start`].
    pub fn start(self, rec: &Recorder) -> Result<OtlpExporter, OtlpError> {
        OtlpExporter::start(rec, self.cfg)
    }

    /// Exports every event still retained first: [`OtlpExporter::start_from_oldest`].
    pub fn start_from_oldest(self, rec: &Recorder) -> Result<OtlpExporter, OtlpError> {
        OtlpExporter::start_from_oldest(rec, self.cfg)
    }
}
