//! [`Cursor`]: follows the ring, returning each new event once and counting the ones it
//! missed.
//!
//! A cursor keeps, per shard, the next position it has not read. Each [`Cursor::poll`]
//! reads from there up to the shard's head with [`crate::slot`]'s position-checked read:
//! an event still in its slot is returned; a position whose slot already holds a newer
//! event is counted as *lost*; if the cursor fell a whole lap behind, the positions it
//! can no longer reach are counted lost in one go. Expired and cleared events are
//! skipped without counting (they were removed on purpose). A position whose writer has
//! not published yet stops the shard's read until the next poll; one still unwritten
//! after half a lap of newer events was dropped by its writer and is counted lost.
//!
//! So `lost` is everything missing from the cursor's stream: events overwritten before
//! it read them, and events dropped when recorded (also in `Stats::dropped`). Over a
//! cursor's life, `returned + lost + expired-or-cleared-skipped = positions passed`.
//!
//! Cursors never make writers wait: they read like snapshots do. Streaming exporters,
//! server-sent events and replays are built on them.

use crate::codec::Header;
use crate::event::EventRecord;
use crate::recorder::Recorder;
use crate::slot::ReadAt;
use crate::snapshot::decode_record;

/// Follows one recorder's ring. Holds a clone of the recorder.
///
/// ```
/// use flightring::{Event, Recorder, Severity};
/// let rec = Recorder::builder().capacity(64).shards(1).build().unwrap();
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
pub struct Cursor {
    rec: Recorder,
    /// Next unread position per shard.
    next: Vec<u64>,
    /// Events missed so far.
    lost: u64,
    words: Vec<u64>,
    bytes: Vec<u8>,
}

/// What one [`Cursor::poll`] returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// New events, ordered by `(timestamp, id)`.
    pub events: Vec<EventRecord>,
    /// Events this poll could not return: overwritten before it read them, or dropped
    /// when recorded.
    pub lost: u64,
}

impl Recorder {
    /// A cursor that returns the events recorded from now on.
    #[must_use]
    pub fn cursor(&self) -> Cursor {
        let next = self.inner.ring.shards.iter().map(|s| s.head()).collect();
        Cursor::new(self, next)
    }

    /// A cursor that returns every retained event first, then the new ones.
    #[must_use]
    pub fn cursor_from_oldest(&self) -> Cursor {
        let next = self
            .inner
            .ring
            .shards
            .iter()
            .map(|s| s.head().saturating_sub(s.slots() as u64))
            .collect();
        Cursor::new(self, next)
    }
}

impl Cursor {
    fn new(rec: &Recorder, next: Vec<u64>) -> Cursor {
        let words = rec.inner.payload_bytes() / 8;
        Cursor {
            rec: rec.clone(),
            next,
            lost: 0,
            words: vec![0; words],
            bytes: vec![0; words * 8],
        }
    }

    /// Reads up to about `max` new events (at least one per shard with news).
    #[must_use]
    pub fn poll(&mut self, max: usize) -> Batch {
        let mut events = Vec::new();
        let lost = self.poll_into(&mut events, max);
        Batch { events, lost }
    }

    /// Like [`Cursor::poll`], appending to `out`; returns how many events were lost.
    pub fn poll_into(&mut self, out: &mut Vec<EventRecord>, max: usize) -> u64 {
        let inner = &*self.rec.inner;
        let nshards = inner.ring.shards.len() as u64;
        let start = out.len();
        let mut lost = 0;
        for (s, shard) in inner.ring.shards.iter().enumerate() {
            let head = shard.head();
            let slots = shard.slots() as u64;
            let next = &mut self.next[s];
            if head > *next + slots {
                lost += head - slots - *next;
                *next = head - slots;
            }
            while *next < head && out.len() - start < max.max(1) {
                match shard.read_at(*next, &mut self.words) {
                    ReadAt::Ready => {
                        for (i, w) in self.words.iter().enumerate() {
                            self.bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
                        }
                        if Header::read(&self.bytes).is_some() {
                            if let Some(rec) =
                                decode_record(inner, &self.bytes, *next * nshards + s as u64)
                            {
                                out.push(rec);
                            }
                        }
                    }
                    ReadAt::Gone => lost += 1,
                    ReadAt::Dead => {}
                    ReadAt::Pending if head - *next > (slots / 2).max(1) => lost += 1,
                    ReadAt::Pending => break,
                }
                *next += 1;
            }
        }
        out[start..].sort_by_key(|e| (e.timestamp, e.id));
        self.lost += lost;
        lost
    }

    /// Events missed over the cursor's life.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The recorder this cursor follows.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// Each shard's head now: the positions claimed so far. With [`Cursor::reached`],
    /// tells when everything recorded before a moment has been read.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn heads(&self) -> Vec<u64> {
        self.rec
            .inner
            .ring
            .shards
            .iter()
            .map(|s| s.head())
            .collect()
    }

    /// Whether every position before `heads` (from [`Cursor::heads`]) has been read,
    /// counted lost or skipped.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn reached(&self, heads: &[u64]) -> bool {
        self.next.iter().zip(heads).all(|(n, h)| n >= h)
    }
}
