//! The handles a [`Recorder`] hands out: each holds a clone of it and skips a lookup
//! ([`Counter`], [`Histogram`]) or keeps a place in the ring ([`Cursor`]).

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Recorder;
use crate::core::GATE_DISABLED;
use crate::model::EventRecord;
use crate::read::cursor::{self, Batch, Positions};

/// A cached counter handle from [`Recorder::counter`](crate::Recorder::counter): adding
/// through it is one `fetch_add`, with no name lookup. When the counter table was full
/// as the handle was made, the handle counts nothing and every `add` is counted in
/// [`Stats::counters_refused`](crate::Stats::counters_refused).
#[derive(Clone)]
pub struct Counter {
    pub(crate) rec: Recorder,
    /// The counter's id in the named-counter table; `None` when the table was full.
    pub(crate) id: Option<u16>,
    pub(crate) name: Arc<str>,
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counter").field("name", &self.name).finish()
    }
}

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        let table = &self.rec.inner.core.counters_named;
        match self.id {
            Some(id) => {
                table.by_id(id).fetch_add(n, Ordering::Relaxed);
            }
            None => {
                table.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Adds one.
    #[inline]
    pub fn increment(&self) {
        self.add(1);
    }

    /// The current value.
    pub fn value(&self) -> u64 {
        self.id.map_or(0, |id| {
            self.rec
                .inner
                .core
                .counters_named
                .by_id(id)
                .load(Ordering::Relaxed)
        })
    }
}

/// A cached histogram handle from [`Recorder::histogram`]: observing through it skips
/// the name lookup. Holds a clone of its recorder.
#[derive(Clone)]
pub struct Histogram {
    pub(super) rec: Recorder,
    pub(super) id: u16,
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram").field("id", &self.id).finish()
    }
}

impl Histogram {
    /// Records a duration (nanoseconds).
    #[inline]
    pub fn observe(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records a value.
    #[inline]
    pub fn record(&self, v: u64) {
        let inner = &self.rec.inner.core;
        if inner.gate() >= GATE_DISABLED {
            return;
        }
        if let Some(h) = inner.histograms[usize::from(self.id)].get() {
            h.record(v, inner.shard());
        }
    }
}

/// Follows one recorder's ring. Holds a clone of the recorder.
///
/// ```
/// use flightring::{Event, Recorder, Severity};
/// // Room for 64 events of one 64-byte cell (a small event takes one).
/// let rec = Recorder::builder().capacity(64).slot_bytes(64).shards(1).build().unwrap();
/// let mut cursor = rec.cursor();
/// rec.record(&Event::new("k", Severity::Info).message("one"));
/// let batch = cursor.poll(100);
/// assert_eq!(batch.events.len(), 1);
/// assert_eq!(batch.lost, 0);
/// assert!(cursor.poll(100).events.is_empty(), "each event once");
/// for _ in 0..200 {
///     rec.record(&Event::new("k", Severity::Info));
/// }
/// let batch = cursor.poll(1000);
/// assert_eq!(batch.events.len(), 64);
/// assert_eq!(batch.lost, 136, "overwritten before the cursor read them");
/// ```
#[derive(Debug)]
#[must_use = "a cursor does nothing until polled"]
pub struct Cursor {
    rec: Recorder,
    pos: Positions,
}

impl Recorder {
    /// A cursor that returns the events recorded from now on.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            rec: self.clone(),
            pos: Positions::at_heads(&self.inner.core),
        }
    }

    /// A cursor resuming from a [`Cursor::token`] of this recorder (an SSE
    /// `Last-Event-ID`), or `None` if the token is not one of its.
    #[cfg(feature = "http")]
    pub(crate) fn cursor_from_token(&self, token: &str) -> Option<Cursor> {
        Some(Cursor {
            rec: self.clone(),
            pos: Positions::from_token(&self.inner.core, token)?,
        })
    }

    /// A cursor that returns every retained event first, then the new ones.
    pub fn cursor_from_oldest(&self) -> Cursor {
        Cursor {
            rec: self.clone(),
            pos: Positions::at_oldest(&self.inner.core),
        }
    }
}

impl Cursor {
    /// Reads up to about `max` new events (at least one per shard with news).
    #[must_use]
    pub fn poll(&mut self, max: usize) -> Batch {
        let mut events = Vec::new();
        let lost = self.poll_into(&mut events, max);
        Batch { events, lost }
    }

    /// Like [`Cursor::poll`], appending to `out`; returns how many events were lost.
    pub fn poll_into(&mut self, out: &mut Vec<EventRecord>, max: usize) -> u64 {
        self.pos.poll_into(&self.rec.inner.core, out, max)
    }

    /// Like [`Cursor::poll_into`], appending each event to `out` as one JSON line and
    /// where it ends to `ends`; returns how many events were lost, then how many did
    /// not serialise (left out).
    pub(crate) fn poll_lines(
        &mut self,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
        max: usize,
    ) -> (u64, u64) {
        self.pos.poll_lines(&self.rec.inner.core, out, ends, max)
    }

    /// Events missed over the cursor's life.
    pub fn lost(&self) -> u64 {
        self.pos.lost()
    }

    /// This cursor's place as text (see `Recorder::cursor_from_token`).
    #[cfg(feature = "http")]
    pub(crate) fn token(&self) -> String {
        self.pos.token()
    }

    /// The recorder this cursor follows.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// Each shard's head now: the positions claimed so far. With [`Cursor::reached`],
    /// tells when everything recorded before a moment has been read.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn heads(&self) -> Vec<u64> {
        cursor::heads(&self.rec.inner.core)
    }

    /// Whether every position before `heads` (from [`Cursor::heads`]) has been read,
    /// counted lost or skipped.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn reached(&self, heads: &[u64]) -> bool {
        self.pos.reached(heads)
    }
}

#[cfg(test)]
mod tests {
    use crate::read::cursor::STALL;
    use crate::{Event, Recorder, Severity};

    /// A writer lapped on its shard while the cell it needs is still being written for
    /// the older position drops its event and leaves that cell with the older event for
    /// good. The cursor used to stop there until half a ring of newer events pushed it
    /// on: the events after it were not delivered and not counted (the exporter's
    /// `written + lost` fell short of what was recorded). Now it steps over after
    /// `STALL`.
    #[test]
    fn a_cursor_steps_over_the_cell_a_dropped_writer_left() {
        let rec = Recorder::builder()
            .capacity(64)
            .slot_bytes(64)
            .shards(1)
            .reserved_share(0.0)
            .build()
            .unwrap();
        let shard = &rec.inner.core.ring.shards[0];
        let cells = shard.cells() as u64;
        let one = |i: u64| Event::new("k", Severity::Info).field("i", i);
        let mut cursor = rec.cursor();
        // A writer takes a position and is preempted mid-record; the others write a
        // whole lap behind it, and the next one lands on its cell, still being written.
        let held = shard.hold_next_for_test();
        for i in 1..cells {
            rec.record(&one(i));
        }
        assert_eq!(shard.head(), held + cells, "one cell per event");
        rec.record(&one(cells));
        assert_eq!(shard.dropped(), 1, "lapped on a cell still being written");
        shard.publish_held_for_test(held);
        // Two more events after the dropped one.
        rec.record(&one(cells + 1));
        rec.record(&one(cells + 2));
        let mut seen = Vec::new();
        let mut lost = cursor.poll_into(&mut seen, usize::MAX);
        let field_i = |e: &crate::EventRecord| e.metadata.get("i").cloned();
        let later = |seen: &[crate::EventRecord]| {
            seen.iter()
                .filter(|e| matches!(field_i(e), Some(crate::Value::U64(i)) if i > cells))
                .count()
        };
        std::thread::sleep(STALL + std::time::Duration::from_millis(10));
        lost += cursor.poll_into(&mut seen, usize::MAX);
        assert_eq!(
            later(&seen),
            2,
            "the events after the dropped one are delivered"
        );
        // Every event recorded or dropped is returned or counted lost; the held one
        // was never counted by its (fake) writer.
        let st = rec.stats();
        assert_eq!(
            seen.len() as u64 + lost,
            st.total_recorded + st.dropped,
            "delivered {} lost {lost}",
            seen.len()
        );
    }
}
