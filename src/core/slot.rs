//! One slot of the ring: a sequence word plus payload words, all atomic, written and read
//! under a seqlock.
//!
//! # The protocol
//!
//! After H.-J. Boehm, "Can seqlocks get along with programming language memory models?"
//! (HPL-2012-68). The payload lives in `AtomicU64` words, so a reader racing a writer
//! performs atomic loads, never a data race; the sequence word tells it whether what it
//! copied is whole.
//!
//! The sequence word encodes the *position* `pos` (the event's place in its shard's
//! history; the slot index is `pos % slots`) and a state in its two low bits:
//!
//! ```text
//! 0                     never written
//! (pos + 1) << 2 | 0    READY:   holds the event at `pos`, complete
//! (pos + 1) << 2 | 1    WRITING: the writer of `pos` owns the slot
//! (pos + 1) << 2 | 2    DEAD:    the event at `pos` expired or was cleared
//! ```
//!
//! Every transition is one atomic step on the sequence word, and each is taken by
//! exactly one thread, which is what makes the loss accounting exact:
//!
//! * claim (writer): `READY/DEAD/empty(older pos) → WRITING(pos)` by CAS; a READY
//!   predecessor is thereby *overwritten*;
//! * publish (the claiming writer): `WRITING(pos) → READY(pos)` by store;
//! * kill (sweeper, `clear`): `READY(pos) → DEAD(pos)` by CAS; the event is *expired* or
//!   *cleared*.
//!
//! A writer never waits: a slot that is WRITING (an older writer was lapped, or another
//! writer got there first) or already holds a newer position is skipped.
//!
//! # Memory ordering
//!
//! ```text
//! writer                                     reader
//!   CAS seq → WRITING(pos)  (Acquire)          s1 = seq.load(Acquire); READY? else skip
//!   fence(Release)                             w_i = payload[i].load(Relaxed)
//!   payload[i].store(w_i, Relaxed)             fence(Acquire)
//!   seq.store(READY(pos), Release)             s2 = seq.load(Relaxed); s1 == s2 → whole
//! ```
//!
//! The claim is Acquire so the previous writer's payload stores happen before ours (our
//! stores come later in each word's modification order). The Release fence after the
//! claim pairs with the reader's Acquire fence: a reader that saw any of our payload
//! stores sees the WRITING value (or later) in its second load and discards the copy.
//! The kill CAS is preceded by an Acquire fence for the same reason (see [`Slot::kill_if`]).

use crate::sync::{fence, AtomicU64, Ordering};

const STATE_MASK: u64 = 3;
const READY: u64 = 0;
const WRITING: u64 = 1;
const DEAD: u64 = 2;

/// The sequence value for `pos` in state `state`.
#[inline]
const fn seq(pos: u64, state: u64) -> u64 {
    ((pos + 1) << 2) | state
}

/// The position a sequence value names, `None` for a never-written slot.
#[inline]
pub(crate) const fn pos_of(s: u64) -> Option<u64> {
    match s >> 2 {
        0 => None,
        p => Some(p - 1),
    }
}

/// What a writer found when it claimed a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// The slot had never been written.
    Fresh,
    /// The slot held a live event, now overwritten.
    Overwrote,
    /// The slot held an expired or cleared event.
    Reused,
}

/// Why a writer could not claim a slot for its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// The slot holds, or is being written with, this position or a newer one.
    Newer(u64),
    /// A writer of an older position still owns the slot (it was lapped).
    Writing,
}

/// What a slot holds for a position a follower asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    /// The event at that position, copied whole.
    Ready,
    /// A newer event: the asked-for one was overwritten (or never written and skipped).
    Gone,
    /// The event at that position expired or was cleared.
    Dead,
    /// Not written yet (or still being written), or the slot holds an older event.
    Pending,
}

/// A view of one slot: its sequence word and payload words.
#[derive(Clone, Copy)]
pub(crate) struct Slot<'a> {
    pub(crate) seq: &'a AtomicU64,
    pub(crate) payload: &'a [AtomicU64],
}

impl Slot<'_> {
    /// Claims the slot for `pos`, or says why not. Never waits.
    #[inline]
    pub(crate) fn claim(&self, pos: u64) -> Result<Claimed, Busy> {
        let mut cur = self.seq.load(Ordering::Relaxed);
        loop {
            match pos_of(cur) {
                Some(p) if p >= pos => return Err(Busy::Newer(p)),
                _ if cur & STATE_MASK == WRITING => return Err(Busy::Writing),
                _ => {}
            }
            // Acquire: the previous occupant's payload stores happen before ours.
            match self.seq.compare_exchange_weak(
                cur,
                seq(pos, WRITING),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    fence(Ordering::Release);
                    return Ok(match (pos_of(cur), cur & STATE_MASK) {
                        (None, _) => Claimed::Fresh,
                        (Some(_), DEAD) => Claimed::Reused,
                        _ => Claimed::Overwrote,
                    });
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Stores payload word `i` of a claimed slot.
    #[cfg(test)]
    pub(crate) fn store(&self, i: usize, w: u64) {
        self.payload[i].store(w, Ordering::Relaxed);
    }

    /// Publishes the event at `pos`, which this thread claimed.
    #[inline]
    pub(crate) fn publish(&self, pos: u64) {
        self.seq.store(seq(pos, READY), Ordering::Release);
    }

    /// The reader's half of the protocol, first step: the sequence word, Acquire (it
    /// pairs with `publish`'s Release, so the payload words of that write are visible),
    /// if the slot holds a complete event.
    #[inline(always)]
    fn begin_read(&self) -> Option<u64> {
        let s1 = self.seq.load(Ordering::Acquire);
        (s1 & STATE_MASK == READY && s1 != 0).then_some(s1)
    }

    /// The reader's half, last step, after copying the payload with Relaxed loads: the
    /// Acquire fence orders those loads before the sequence word's reload, so if it
    /// still reads `s1`, no writer claimed the slot during the copy and the copy is whole.
    #[inline(always)]
    fn still(&self, s1: u64) -> bool {
        fence(Ordering::Acquire);
        self.seq.load(Ordering::Relaxed) == s1
    }

    /// Copies the payload into `out` (up to `out.len()` words) if the slot holds a
    /// complete event, returning its position; `None` if it is empty, dead, being
    /// written, or changed while being copied.
    #[inline]
    pub(crate) fn read(&self, out: &mut [u64]) -> Option<u64> {
        let s1 = self.begin_read()?;
        for (o, w) in out.iter_mut().zip(self.payload) {
            *o = w.load(Ordering::Relaxed);
        }
        if self.still(s1) {
            pos_of(s1)
        } else {
            None
        }
    }

    /// Like [`Slot::read`], but appends the first `n` payload words to `out` (a
    /// snapshot's buffer: no copy through a local buffer), and only if the event's first
    /// word (its raw timestamp) passes `keep`; on any failure `out` is left as it was.
    #[inline]
    pub(crate) fn read_extend(
        &self,
        out: &mut Vec<u64>,
        n: usize,
        keep: impl FnOnce(u64) -> bool,
    ) -> Option<u64> {
        let s1 = self.begin_read()?;
        let at = out.len();
        out.extend(self.payload[..n].iter().map(|w| w.load(Ordering::Relaxed)));
        if self.still(s1) && keep(out[at]) {
            pos_of(s1)
        } else {
            out.truncate(at);
            None
        }
    }

    /// Marks a complete event dead if `pred(first payload word)` holds, returning whether
    /// this call killed it. The first payload word is the raw timestamp.
    ///
    /// The word is read like a reader reads it; the Acquire fence before the CAS makes
    /// sure that if it came from a newer writer, that writer's claim is ordered before
    /// our CAS, which then fails: a successful kill always judged the event it killed.
    #[inline]
    pub(crate) fn kill_if(&self, pred: impl FnOnce(u64) -> bool) -> Option<u64> {
        let s1 = self.begin_read()?;
        let w0 = self.payload[0].load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if !pred(w0) {
            return None;
        }
        let pos = pos_of(s1)?;
        self.seq
            .compare_exchange(s1, seq(pos, DEAD), Ordering::Relaxed, Ordering::Relaxed)
            .ok()
            .map(|_| pos)
    }

    /// Reads the event at position `pos` specifically (a follower's read): copies it
    /// into `out` if the slot holds it complete, else says what the slot holds.
    #[inline]
    pub(crate) fn read_at(&self, pos: u64, out: &mut [u64]) -> ReadAt {
        for _ in 0..2 {
            let s1 = self.seq.load(Ordering::Acquire);
            match (pos_of(s1), s1 & STATE_MASK) {
                (Some(p), _) if p > pos => return ReadAt::Gone,
                (Some(p), DEAD) if p == pos => return ReadAt::Dead,
                (Some(p), READY) if p == pos => {}
                _ => return ReadAt::Pending,
            }
            for (o, w) in out.iter_mut().zip(self.payload) {
                *o = w.load(Ordering::Relaxed);
            }
            if self.still(s1) {
                return ReadAt::Ready;
            }
        }
        // Changed twice while being copied: it can only have been overwritten or killed.
        match pos_of(self.seq.load(Ordering::Acquire)) {
            Some(p) if p > pos => ReadAt::Gone,
            _ => ReadAt::Dead,
        }
    }

    /// The position of the complete event in the slot, without copying it (for the loom
    /// models and the slot tests).
    #[cfg(any(loom, test, feature = "internals"))]
    #[inline]
    pub(crate) fn ready_pos(&self) -> Option<u64> {
        let s = self.seq.load(Ordering::Acquire);
        if s & STATE_MASK == READY {
            pos_of(s)
        } else {
            None
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn slot(words: &[AtomicU64]) -> Slot<'_> {
        Slot {
            seq: &words[0],
            payload: &words[1..],
        }
    }

    #[test]
    fn state_machine() {
        let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        let s = slot(&words);
        let mut out = [0u64; 3];
        assert_eq!(s.read(&mut out), None, "empty");
        assert_eq!(s.claim(0), Ok(Claimed::Fresh));
        assert_eq!(s.read(&mut out), None, "writing");
        assert_eq!(s.claim(4), Err(Busy::Writing), "older writer still owns it");
        s.store(0, 7);
        s.publish(0);
        assert_eq!(s.read(&mut out), Some(0));
        assert_eq!(out[0], 7);
        assert_eq!(s.claim(0), Err(Busy::Newer(0)));
        assert_eq!(s.kill_if(|ts| ts > 7), None);
        assert_eq!(s.kill_if(|ts| ts == 7), Some(0));
        assert_eq!(s.kill_if(|_| true), None, "already dead");
        assert_eq!(s.read(&mut out), None, "dead");
        assert_eq!(s.claim(4), Ok(Claimed::Reused));
        s.publish(4);
        assert_eq!(s.claim(8), Ok(Claimed::Overwrote));
        s.publish(8);
        assert_eq!(
            s.claim(4),
            Err(Busy::Newer(8)),
            "a lapped writer never goes back"
        );
        assert_eq!(s.ready_pos(), Some(8));
    }
}
