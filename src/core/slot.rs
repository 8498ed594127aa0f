//! One cell's sequence word: the seqlock state of a cell of the ring, and the one-step
//! transitions writers, killers and readers take on it.
//!
//! # The protocol
//!
//! After H.-J. Boehm, "Can seqlocks get along with programming language memory models?"
//! (HPL-2012-68). A cell is a sequence word plus [`CELL_WORDS`] payload words, all
//! atomic (the payload words live in the shard's data array, see
//! [`crate::core::ring`]), so a reader racing a writer performs atomic loads, never a
//! data race; the sequence words tell it whether what it copied is whole.
//!
//! An event takes `k` consecutive cells (`1..=`[`MAX_CELLS`]): a *head* cell, whose
//! sequence word carries `k`, then `k − 1` *continuation* cells, whose words carry their
//! offset `i` from the head. The sequence word encodes the cell's *position* `pos` (its
//! place in its shard's history; the cell index is `pos % cells`), that number, and a
//! state:
//!
//! ```text
//! bits 63..12  pos + 1        (0: never written)
//! bits 11..3   n              k for a head, i for a continuation
//! bit  2       continuation
//! bits  1..0   state          0 READY, 1 WRITING, 2 DEAD
//! ```
//!
//! Every transition is one atomic step on one sequence word, taken by exactly one
//! thread, which is what makes the loss accounting exact:
//!
//! * claim (writer of `pos`): `READY/DEAD/empty (older pos) → WRITING(pos)` by CAS; a
//!   READY *head* found there is thereby *overwritten* ([`Prior::Head`]);
//! * publish (the claiming writer): `WRITING(pos) → READY(pos, head k or cont i)` by
//!   store, the head *first*: so whoever claims a continuation afterwards sees the head
//!   published (the claim reads the continuation's Release store);
//! * break (a writer that claimed a READY continuation whose head, before its own
//!   range, is still READY): `READY(head) → DEAD(head)` by CAS; that event has lost a
//!   cell, so it is *overwritten*, counted by this writer;
//! * abandon (a writer that could not claim all of its cells): `WRITING(pos) →
//!   DEAD(pos, 0)` by store, for each cell it did claim;
//! * kill (sweeper, `clear`): `READY(pos, k) → DEAD(pos, k)` by CAS on a head; the
//!   event is *expired* or *cleared*.
//!
//! A writer never waits: a cell that is WRITING (an older writer was lapped) or already
//! holds a newer position is not claimed, and the event is dropped (counted).
//!
//! # Memory ordering
//!
//! ```text
//! writer                                     reader
//!   CAS seq_i → WRITING(pos+i) (Acquire)       s_i = seq_i.load(Acquire), i in 0..k
//!   fence(Release)                             w = payload.load(Relaxed) ...
//!   payload.store(w, Relaxed) ...              fence(Acquire)
//!   seq_i.store(READY(..), Release)            seq_i.load(Relaxed) == s_i for every i
//! ```
//!
//! A claim is Acquire so the previous occupant's payload stores happen before ours (our
//! stores come later in each word's modification order). The Release fence after the
//! claims pairs with the reader's Acquire fence: a reader that saw any of our payload
//! stores sees the WRITING value (or later) in its second load of that cell and
//! discards the copy. A reader accepts a record only if every one of its cells still
//! holds the generation it started with; since each position is handed out once, a
//! continuation cell at `pos + i` READY belongs to the writer of the head at `pos`.

use crate::sync::{AtomicU64, Ordering};

const STATE_MASK: u64 = 3;
const READY: u64 = 0;
const WRITING: u64 = 1;
const DEAD: u64 = 2;
const CONT: u64 = 4;
const CELLS_SHIFT: u32 = 3;
const POS_SHIFT: u32 = 12;

/// Payload words per cell: a cell is 64 bytes of ring, 8 of them the sequence word.
pub const CELL_WORDS: usize = 7;
/// Payload bytes per cell.
pub const CELL_PAYLOAD: usize = CELL_WORDS * 8;
/// Bytes of ring a cell takes (sequence word and payload).
pub const CELL_BYTES: usize = 64;
/// The most cells one event can take (the width of the cell-count field).
pub const MAX_CELLS: usize = (1 << (POS_SHIFT - CELLS_SHIFT)) - 1;

/// The sequence value of a head at `pos` of `cells` cells in state `state`.
#[inline(always)]
pub(crate) const fn seq(pos: u64, cells: usize, state: u64) -> u64 {
    ((pos + 1) << POS_SHIFT) | ((cells as u64) << CELLS_SHIFT) | state
}

/// The sequence value of a continuation at `pos`, `offset` cells after its head.
#[inline(always)]
pub(crate) const fn cont_seq(pos: u64, offset: usize, state: u64) -> u64 {
    seq(pos, offset, state) | CONT
}

/// The position a sequence value names, `None` for a never-written cell.
#[inline(always)]
pub(crate) const fn pos_of(s: u64) -> Option<u64> {
    match s >> POS_SHIFT {
        0 => None,
        p => Some(p - 1),
    }
}

/// The number a sequence value carries: `k` for a head, the offset for a continuation.
#[inline(always)]
pub(crate) const fn cells_of(s: u64) -> usize {
    ((s >> CELLS_SHIFT) as usize) & MAX_CELLS
}

/// What a sequence value says, for readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Never written.
    Empty,
    /// Being written (or abandoned mid-claim by a writer that has not marked it yet).
    Writing(u64),
    /// A complete head of `cells` cells at `pos`.
    Head(u64, usize),
    /// A complete continuation cell at `pos`, this many cells after its head.
    Cont(u64, usize),
    /// A killed head of `cells` cells at `pos` (expired or cleared).
    DeadHead(u64, usize),
    /// A dead cell that is no head: abandoned by a dropped writer.
    DeadCell(u64),
}

#[inline(always)]
pub(crate) fn state(s: u64) -> State {
    let Some(pos) = pos_of(s) else {
        return State::Empty;
    };
    let cells = cells_of(s);
    match (s & STATE_MASK, s & CONT != 0) {
        (WRITING, _) => State::Writing(pos),
        (READY, true) => State::Cont(pos, cells),
        (READY, false) => State::Head(pos, cells),
        (_, true) => State::DeadCell(pos),
        (_, false) => State::DeadHead(pos, cells),
    }
}

/// What a writer found in a cell it claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// The cell had never been written.
    Fresh,
    /// The cell held the head of a live event, now overwritten.
    Head,
    /// The cell held a live event's continuation, this many cells after its head at
    /// position `.0`.
    Cont(u64, usize),
    /// A dead cell, or the head of an expired/cleared event.
    Other,
}

/// Claims cell `seq_word` for `pos`, or fails (the cell is WRITING for an older
/// position, or holds this position or a newer one). Never waits.
#[inline(always)]
pub(crate) fn claim(seq_word: &AtomicU64, pos: u64) -> Result<Prior, ()> {
    let mut cur = seq_word.load(Ordering::Relaxed);
    loop {
        match pos_of(cur) {
            Some(p) if p >= pos => return Err(()),
            _ if cur & STATE_MASK == WRITING => return Err(()),
            _ => {}
        }
        // Acquire: the previous occupant's payload stores happen before ours.
        match seq_word.compare_exchange_weak(
            cur,
            seq(pos, 0, WRITING),
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => {
                return Ok(match state(cur) {
                    State::Empty => Prior::Fresh,
                    State::Head(..) => Prior::Head,
                    State::Cont(p, i) => Prior::Cont(p - i as u64, i),
                    _ => Prior::Other,
                })
            }
            Err(actual) => cur = actual,
        }
    }
}

/// Whether this cell is WRITING for `pos` (so the caller, the writer of `pos`, owns it).
#[inline]
pub(crate) fn owned(seq_word: &AtomicU64, pos: u64) -> bool {
    seq_word.load(Ordering::Relaxed) == seq(pos, 0, WRITING)
}

/// Publishes the head at `pos`, which this thread claimed, of a `cells`-cell event.
#[inline(always)]
pub(crate) fn publish(seq_word: &AtomicU64, pos: u64, cells: usize) {
    seq_word.store(seq(pos, cells, READY), Ordering::Release);
}

/// Publishes continuation `pos`, `offset` cells after its head, which this thread
/// claimed (after the head).
#[inline(always)]
pub(crate) fn publish_cont(seq_word: &AtomicU64, pos: u64, offset: usize) {
    seq_word.store(cont_seq(pos, offset, READY), Ordering::Release);
}

/// The READY value of continuation `pos`, `offset` cells after its head.
#[inline(always)]
pub(crate) const fn ready_cont(pos: u64, offset: usize) -> u64 {
    cont_seq(pos, offset, READY)
}

/// Marks cell `pos`, which this thread claimed, dead (its event was dropped).
#[inline]
pub(crate) fn abandon(seq_word: &AtomicU64, pos: u64) {
    seq_word.store(cont_seq(pos, 0, DEAD), Ordering::Release);
}

/// Kills the head at position `head` if the cell still holds it READY (a writer that
/// took one of its continuations breaks it); returns whether this call killed it.
#[inline]
pub(crate) fn break_head(seq_word: &AtomicU64, head: u64) -> bool {
    let s = seq_word.load(Ordering::Relaxed);
    matches!(state(s), State::Head(p, _) if p == head) && kill(seq_word, s)
}

/// Kills head `s` (a READY head value just read) if the cell still holds it.
#[inline]
pub(crate) fn kill(seq_word: &AtomicU64, s: u64) -> bool {
    match pos_of(s) {
        Some(pos) => seq_word
            .compare_exchange(
                s,
                seq(pos, cells_of(s), DEAD),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok(),
        None => false,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn state_machine() {
        let w = AtomicU64::new(0);
        assert_eq!(state(w.load(Ordering::Relaxed)), State::Empty);
        assert_eq!(claim(&w, 0), Ok(Prior::Fresh));
        assert_eq!(claim(&w, 8), Err(()), "an older writer still owns it");
        assert!(owned(&w, 0));
        publish(&w, 0, 3);
        let s = w.load(Ordering::Relaxed);
        assert_eq!(state(s), State::Head(0, 3));
        assert_eq!(claim(&w, 0), Err(()), "never twice");
        assert!(kill(&w, s));
        assert!(!kill(&w, s), "already dead");
        assert_eq!(state(w.load(Ordering::Relaxed)), State::DeadHead(0, 3));
        assert_eq!(claim(&w, 8), Ok(Prior::Other), "a dead head is reused");
        publish_cont(&w, 8, 3);
        assert_eq!(state(w.load(Ordering::Relaxed)), State::Cont(8, 3));
        assert_eq!(claim(&w, 16), Ok(Prior::Cont(5, 3)), "a continuation");
        publish(&w, 16, MAX_CELLS);
        assert_eq!(state(w.load(Ordering::Relaxed)), State::Head(16, MAX_CELLS));
        assert_eq!(claim(&w, 24), Ok(Prior::Head), "a live head is overwritten");
        abandon(&w, 24);
        assert_eq!(state(w.load(Ordering::Relaxed)), State::DeadCell(24));
        assert_eq!(claim(&w, 16), Err(()), "a lapped writer never goes back");
    }
}
