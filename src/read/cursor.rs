//! [`Cursor`]: follows the ring, returning each new event once and counting the ones it
//! missed.
//!
//! A cursor keeps, per shard, the next position (cell) it has not read. Each
//! `Cursor::poll` reads from there up to the shard's head with the ring's
//! position-checked read: an event whose head cell still holds it is returned and the
//! cursor moves past its cells; a continuation cell, or a cell a dropped writer
//! abandoned, is stepped over; a cell already holding a newer position was overwritten
//! and is stepped over too; if the cursor fell a whole lap behind, it jumps to the
//! oldest position still in the ring. Expired and cleared events are skipped. A
//! position whose writer has not published yet stops the shard's read until the next
//! poll; one still unwritten after half a lap of newer cells belonged to a writer that
//! was lapped, and is stepped over.
//!
//! # Counting what was missed
//!
//! Cells are not events, so what was missed is counted from the writers' counters
//! rather than from the cells passed: per shard, the cursor knows how many events it
//! accounted for (returned, or skipped as expired/cleared, plus those before its start)
//! and, whenever it has caught up with the shard's head, how many events the shard's
//! writers recorded or dropped up to then (read *before* the head, so each of those
//! events has a position the cursor has passed). The difference is what it missed:
//! events overwritten before it read them, and events dropped when recorded. It only
//! grows, and at quiescence `returned + lost + skipped = recorded + dropped` exactly. An
//! event still being written when a cursor is made at the heads, or expired/cleared and
//! then overwritten before a cursor got to it, counts as lost.
//!
//! Cursors never make writers wait: they read like snapshots do. Streaming exporters,
//! server-sent events and replays are built on them.

use std::time::{Duration, Instant};

use crate::core::codec::{self, HEADER_BYTES};
use crate::core::ring::ReadAt;
use crate::core::slot::State;
use crate::core::Core;
use crate::model::{EventRecord, Timestamp};
use crate::read::decode::{to_record, with_record_ref, RecordRef};

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
    /// Next unread position (cell) per shard.
    next: Vec<u64>,
    /// Per shard: events accounted for (returned, skipped dead, before the start, or
    /// counted lost).
    accounted: Vec<u64>,
    /// Events missed so far.
    lost: u64,
    /// The last poll's payload words, back to back (reused).
    words: Vec<u64>,
    /// The last poll's events, by where their words are (reused).
    order: Vec<Pending>,
    bytes: Vec<u8>,
    /// Per shard: the position a read has been stopped at (a cell below the head not
    /// yet written for it) and since when; see [`STALL`].
    stuck: Vec<Option<(u64, Instant)>>,
}

/// How long a read waits at a cell below the head that does not hold its position yet
/// before stepping over it. Usually such a cell's writer is a few instructions from
/// claiming it; but a writer lapped by another on its shard fails its claim while the
/// cell is still being written for the older position, drops its event (counted) and
/// leaves the cell with that older event for good. Without a limit the read would stop
/// there until half a ring of newer events pushed it on, holding back every later
/// event of the shard and their accounting (a flush would leave them unread). A
/// writer that is merely preempted for longer than this loses its event to the read,
/// counted as missed like any other.
pub(crate) const STALL: Duration = Duration::from_millis(50);

/// An event a poll copied and has not decoded yet.
#[derive(Debug, Clone, Copy)]
struct Pending {
    timestamp: Timestamp,
    id: u64,
    /// Its payload: `len` words from `at` in `Positions::words`.
    at: usize,
    len: usize,
}

/// Events shard `s` has recorded or dropped so far.
fn shard_events(core: &Core, s: usize) -> u64 {
    core.counters[s].recorded() + core.ring.shards[s].dropped()
}

impl Positions {
    /// At every shard's head: only events recorded from now on.
    pub(crate) fn at_heads(core: &Core) -> Positions {
        let accounted = (0..core.ring.shards.len())
            .map(|s| shard_events(core, s))
            .collect();
        Positions::new(heads(core), accounted)
    }

    /// At every shard's oldest retained position: everything retained, then new events.
    /// The events before it are those the shard counted less the heads in the ring.
    pub(crate) fn at_oldest(core: &Core) -> Positions {
        let mut next = Vec::new();
        let mut accounted = Vec::new();
        for (s, shard) in core.ring.shards.iter().enumerate() {
            let before = shard_events(core, s);
            let head = shard.head();
            let start = head.saturating_sub(shard.cells() as u64);
            let in_ring = (start..head)
                .filter(|&p| {
                    matches!(shard.state_at(p as usize),
                        State::Head(q, _) | State::DeadHead(q, _) if q >= start)
                })
                .count() as u64;
            next.push(start);
            accounted.push(before.saturating_sub(in_ring));
        }
        Positions::new(next, accounted)
    }

    fn new(next: Vec<u64>, accounted: Vec<u64>) -> Positions {
        let n = next.len();
        Positions {
            next,
            accounted,
            lost: 0,
            words: Vec::new(),
            order: Vec::new(),
            bytes: Vec::new(),
            stuck: vec![None; n],
        }
    }

    /// Reads up to about `max` new events of `core` into `out` (at least one per shard
    /// with news); returns how many were lost.
    pub(crate) fn poll_into(&mut self, core: &Core, out: &mut Vec<EventRecord>, max: usize) -> u64 {
        self.poll_with(core, max, |r| out.push(to_record(r)))
    }

    /// Reads as [`Positions::poll_into`] does, but appends each event to `out` as one
    /// JSON line (the [`EventRecord`] serialisation and a `\n`) with no owned record in
    /// between, and pushes where each line ends to `ends`: the file exporter's read,
    /// which allocates nothing once its buffers have grown. An event that does not
    /// serialise (not expected) is left out and counted in the second value returned.
    pub(crate) fn poll_lines(
        &mut self,
        core: &Core,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
        max: usize,
    ) -> (u64, u64) {
        let mut failed = 0;
        let lost = self.poll_with(core, max, |r| {
            let before = out.len();
            if serde_json::to_writer(&mut *out, r).is_ok() {
                out.push(b'\n');
                ends.push(out.len());
            } else {
                out.truncate(before);
                failed += 1;
            }
        });
        (lost, failed)
    }

    /// The read both polls share. Each new event's payload words are appended once to
    /// `self.words` with its `(timestamp, id, where)` in `self.order`; the order is
    /// sorted by `(timestamp, id)` and each event is then decoded in place and handed
    /// to `emit`, oldest first. Returns how many events were lost.
    fn poll_with(&mut self, core: &Core, max: usize, mut emit: impl FnMut(&RecordRef<'_>)) -> u64 {
        let nshards = core.ring.shards.len() as u64;
        self.words.clear();
        self.order.clear();
        let mut lost = 0;
        for (s, shard) in core.ring.shards.iter().enumerate() {
            // Counted before the head is read: every event counted here has a position
            // below `head`.
            let events = shard_events(core, s);
            let head = shard.head();
            let cells = shard.cells() as u64;
            let max_cells = shard.max_cells() as u64;
            let next = &mut self.next[s];
            if head > *next + cells {
                *next = head - cells;
            }
            let mut caught_up = true;
            while *next < head {
                if self.order.len() >= max.max(1) {
                    caught_up = false;
                    break;
                }
                let at = self.words.len();
                match shard.read_at(*next, &mut self.words) {
                    ReadAt::Ready(k) => {
                        // A payload too short for its header is stepped over (as a
                        // decode failure is below): accounted for, not returned.
                        if self.words.len() - at >= HEADER_BYTES / 8 {
                            let raw_ts = self.words[at];
                            self.order.push(Pending {
                                timestamp: core.cal.to_timestamp(raw_ts),
                                id: *next * nshards + s as u64,
                                at,
                                len: self.words.len() - at,
                            });
                        } else {
                            self.words.truncate(at);
                        }
                        self.accounted[s] += 1;
                        *next += k as u64;
                        self.stuck[s] = None;
                    }
                    ReadAt::Dead(k) => {
                        self.accounted[s] += 1;
                        *next += k as u64;
                        self.stuck[s] = None;
                    }
                    ReadAt::Skip | ReadAt::Gone => *next += 1,
                    ReadAt::Pending if head - *next > (cells / 2).max(1) => *next += 1,
                    ReadAt::Pending => {
                        // Stepped over once it has been stuck for `STALL`, with the
                        // rest of a dropped event's range (up to one event's cells).
                        let stuck = &mut self.stuck[s];
                        let now = Instant::now();
                        match *stuck {
                            Some((at, since))
                                if (at..at + max_cells).contains(&*next)
                                    && now.saturating_duration_since(since) >= STALL =>
                            {
                                *next += 1;
                            }
                            Some((at, _)) if at == *next => {
                                caught_up = false;
                                break;
                            }
                            _ => {
                                *stuck = Some((*next, now));
                                caught_up = false;
                                break;
                            }
                        }
                    }
                }
            }
            if caught_up && events > self.accounted[s] {
                lost += events - self.accounted[s];
                self.accounted[s] = events;
            }
        }
        self.order.sort_unstable_by_key(|p| (p.timestamp, p.id));
        for p in &self.order {
            self.bytes.resize(p.len * 8, 0);
            codec::words_to_bytes(&self.words[p.at..p.at + p.len], &mut self.bytes);
            with_record_ref(core, &self.bytes, p.id, &mut emit);
        }
        self.lost += lost;
        lost
    }

    /// Events missed over the cursor's life.
    pub(crate) fn lost(&self) -> u64 {
        self.lost
    }

    /// The cursor's place as text, for a client to hand back (an SSE `Last-Event-ID`):
    /// `SUM-` then each shard's next position and events accounted for, in hex,
    /// `.`-separated. `SUM` is the sum of the positions: positions only grow, so
    /// successive tokens of one stream increase.
    #[cfg(feature = "http")]
    pub(crate) fn token(&self) -> String {
        use std::fmt::Write as _;
        let mut t = self.next.iter().sum::<u64>().to_string();
        t.push('-');
        for (i, (n, a)) in self.next.iter().zip(&self.accounted).enumerate() {
            if i > 0 {
                t.push('.');
            }
            let _ = write!(t, "{n:x}.{a:x}");
        }
        t
    }

    /// The place a [`Positions::token`] names, if it is one of `core`'s: as many shards,
    /// no position past a shard's head, no more events accounted for than it counted.
    /// Reading on from it returns what was recorded since, and counts as lost what the
    /// ring overwrote meanwhile, exactly.
    #[cfg(feature = "http")]
    pub(crate) fn from_token(core: &Core, token: &str) -> Option<Positions> {
        let (sum, rest) = token.trim().split_once('-')?;
        let words: Vec<u64> = rest
            .split('.')
            .map(|w| u64::from_str_radix(w, 16).ok())
            .collect::<Option<_>>()?;
        let n = core.ring.shards.len();
        if words.len() != 2 * n {
            return None;
        }
        let (mut next, mut accounted) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (s, pair) in words.chunks(2).enumerate() {
            if pair[0] > core.ring.shards[s].head() || pair[1] > shard_events(core, s) {
                return None;
            }
            next.push(pair[0]);
            accounted.push(pair[1]);
        }
        (sum.parse::<u64>().ok()? == next.iter().sum::<u64>())
            .then(|| Positions::new(next, accounted))
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
