//! The follower loop's shared parts, written once for every background thread that
//! follows the ring (the file exporter, the OTLP exporter): reading each new event
//! once through a [`Cursor`] and pacing those reads, deadline arithmetic, and showing
//! the thread's current fault in the recorder's health.
//!
//! # Poll pacing
//!
//! After each read the follower sets its next one so that, at the rate events just
//! arrived, no more than a quarter of a shard's slots can be reused before it: between
//! 1 and 20 ms, doubling towards 20 ms while the ring is idle. A follower that keeps to
//! it never loses events to overwrites unless a burst fills a quarter of a shard faster
//! than 1 ms.
//!
//! Writers never meet a follower: it reads the ring through the cursor, like a snapshot.

use std::time::{Duration, Instant};

use crate::model::event::EventRecord;
use crate::recorder::{Cursor, Recorder};

/// Shortest and longest wait between two reads of the ring.
pub(crate) const POLL_MIN: Duration = Duration::from_millis(1);
pub(crate) const POLL_MAX: Duration = Duration::from_millis(20);

/// `t + d`, or a year on (or `t`) when that overflows.
pub(crate) fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(t)
}

/// Reads a recorder's new events once each, and paces the reads.
pub(crate) struct Follower {
    cursor: Cursor,
    /// The last read's events (reused; the OTLP exporter's reads).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    polled: Vec<EventRecord>,
    /// Slots per shard (≥ 1), for the pacing.
    per_shard: f64,
    /// The wait after the last read, in `POLL_MIN ..= POLL_MAX`.
    poll_every: Duration,
    last_poll: Instant,
}

impl Follower {
    /// A follower reading from where `cursor` is.
    pub(crate) fn new(cursor: Cursor) -> Follower {
        let config = cursor.recorder().config();
        Follower {
            // The smallest shard sets the pace: the reserved tier's, when it is on
            // (an error flood laps it sooner than chatter laps the main tier).
            per_shard: {
                let shards = config.shards.max(1);
                let main = config.capacity / shards;
                let reserved = config.reserved_bytes / config.slot_bytes.max(1) / shards;
                if reserved > 0 {
                    main.min(reserved)
                } else {
                    main
                }
                .max(1) as f64
            },
            cursor,
            polled: Vec::new(),
            poll_every: POLL_MIN,
            last_poll: Instant::now(),
        }
    }

    /// The cursor (to take or compare its heads; the OTLP exporter's shutdown does).
    #[cfg(feature = "otlp")]
    pub(crate) fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// Reads everything new (at most one lap of the ring) at `now`, and sets the next
    /// read by the pacing rule. Returns how many events the cursor missed (overwritten
    /// before they were read, or dropped by their writers) and the events read, oldest
    /// first.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn poll(&mut self, now: Instant) -> (u64, std::vec::Drain<'_, EventRecord>) {
        self.polled.clear();
        let lost = self.cursor.poll_into(&mut self.polled, usize::MAX);
        self.pace(now, self.polled.len() as u64 + lost);
        (lost, self.polled.drain(..))
    }

    /// Reads as [`Follower::poll`] does, appending each event to `out` as one JSON line
    /// and where it ends to `ends` (the file exporter's read). Returns how many events
    /// were missed, then how many did not serialise.
    pub(crate) fn poll_lines(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> (u64, u64) {
        let before = ends.len();
        let (lost, failed) = self.cursor.poll_lines(out, ends, usize::MAX);
        self.pace(now, (ends.len() - before) as u64 + lost + failed);
        (lost, failed)
    }

    /// Sets the next read after one at `now` that saw `seen` events.
    fn pace(&mut self, now: Instant, seen: u64) {
        let dt = now.saturating_duration_since(self.last_poll);
        self.last_poll = now;
        self.poll_every = if seen == 0 {
            (self.poll_every * 2).min(POLL_MAX)
        } else {
            let rate = seen as f64 / dt.as_secs_f64().max(1e-6);
            Duration::from_secs_f64(
                (self.per_shard / 4.0 / rate).clamp(POLL_MIN.as_secs_f64(), POLL_MAX.as_secs_f64()),
            )
        };
    }

    /// When the next read is due.
    pub(crate) fn next_poll(&self) -> Instant {
        after(self.last_poll, self.poll_every)
    }
}

/// The fault a follower shows in its recorder's health under its component: changed
/// only when the reason changes, so a steady fault costs nothing per round.
#[derive(Debug, Default)]
pub(crate) struct ShownFault {
    shown: Option<String>,
}

impl ShownFault {
    /// Shows `now` (a reason, or none to clear it) under `component`.
    pub(crate) fn show(&mut self, rec: &Recorder, component: &str, now: Option<&str>) {
        if now == self.shown.as_deref() {
            return;
        }
        match now {
            Some(reason) => rec.set_fault(component, reason.to_owned()),
            None => rec.clear_fault(component),
        }
        self.shown = now.map(str::to_owned);
    }
}
