//! [`Cursor`]: follows the ring, returning each new event once and counting the ones it
//! missed.
//!
//! A cursor keeps, per shard, the next position it has not read. Each `Cursor::poll`
//! reads from there up to the shard's head with `core::slot`'s position-checked read:
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

use crate::core::codec::{self, Header};
use crate::core::slot::ReadAt;
use crate::core::Core;
use crate::model::EventRecord;
use crate::read::decode::decode_record;

/// What one [`Cursor::poll`](crate::Cursor::poll) returned.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Batch {
    /// New events, ordered by `(timestamp, id)`.
    pub events: Vec<EventRecord>,
    /// Events this poll could not return: overwritten before it read them, or dropped
    /// when recorded.
    pub lost: u64,
}

/// A cursor's place in the ring: per shard, the next position not read yet. The public
/// [`Cursor`](crate::Cursor) pairs it with the recorder it follows.
#[derive(Debug)]
pub(crate) struct Positions {
    /// Next unread position per shard.
    next: Vec<u64>,
    /// Events missed so far.
    lost: u64,
    words: Vec<u64>,
    bytes: Vec<u8>,
}

impl Positions {
    /// At every shard's head: only events recorded from now on.
    pub(crate) fn at_heads(core: &Core) -> Positions {
        Positions::new(core, heads(core))
    }

    /// At every shard's oldest retained position: everything retained, then new events.
    pub(crate) fn at_oldest(core: &Core) -> Positions {
        let next = core
            .ring
            .shards
            .iter()
            .map(|s| s.head().saturating_sub(s.slots() as u64))
            .collect();
        Positions::new(core, next)
    }

    fn new(core: &Core, next: Vec<u64>) -> Positions {
        let words = core.payload_bytes() / 8;
        Positions {
            next,
            lost: 0,
            words: vec![0; words],
            bytes: vec![0; words * 8],
        }
    }

    /// Reads up to about `max` new events of `core` into `out` (at least one per shard
    /// with news); returns how many were lost.
    pub(crate) fn poll_into(&mut self, core: &Core, out: &mut Vec<EventRecord>, max: usize) -> u64 {
        let inner = core;
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
                        codec::words_to_bytes(&self.words, &mut self.bytes);
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
    pub(crate) fn lost(&self) -> u64 {
        self.lost
    }

    /// Whether every position before `heads` (from [`heads`]) has been read, counted
    /// lost or skipped.
    pub(crate) fn reached(&self, heads: &[u64]) -> bool {
        self.next.iter().zip(heads).all(|(n, h)| n >= h)
    }
}

/// Each shard's head now: the positions claimed so far. With [`Positions::reached`],
/// tells when everything recorded before a moment has been read.
pub(crate) fn heads(core: &Core) -> Vec<u64> {
    core.ring.shards.iter().map(|s| s.head()).collect()
}
