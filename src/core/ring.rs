//! The sharded ring: each shard is a power-of-two array of [`Slot`]s with a position
//! hint; the ring owns the shards.
//!
//! # Claiming a slot
//!
//! A writer takes the next position of its shard with one `fetch_add` on `head`, then
//! claims the slot `pos % slots` for it by CAS on the slot's sequence word (see
//! [`crate::core::slot`]), writes the payload and publishes. Writers that share a shard get
//! distinct positions from the `fetch_add`, so they never compete for a slot; the CAS
//! fails only when a writer was lapped — preempted for a whole turn of the ring, so
//! that the writer one lap ahead (or behind) holds the slot. The lapped writer drops
//! its event and counts it; it never waits.
//!
//! # Accounting
//!
//! Every successful claim consumes a slot that was either never written (`fresh`), held
//! a dead event (`reused`) or held a live one (overwritten). So the writer counts only
//! the first two, which are rare, and `overwritten = recorded − fresh − reused`.
//!
//! # Memory ordering
//!
//! `head` hands out positions (Relaxed: it orders nothing; the sequence word protocol
//! of [`crate::core::slot`] does). Counters are Relaxed: statistics, exact at quiescence.

use crossbeam_utils::CachePadded;

use crate::core::slot::{Claimed, ReadAt, Slot};
use crate::sync::{AtomicU64, Ordering};

/// How many positions ahead a writer prefetches.
const PREFETCH_AHEAD: u64 = 4;

/// The fields a shard's writers touch on every event, on their own cache line.
#[derive(Debug)]
struct WriterState {
    /// The next position to hand out; every position below it has been claimed by
    /// exactly one writer. Only grows.
    head: AtomicU64,
    /// Claims that found a never-written slot, `0..=slots`.
    fresh: AtomicU64,
    /// Claims that found a dead (expired or cleared) slot.
    reused: AtomicU64,
    /// Events dropped because their slot was still owned by a writer a full lap
    /// behind, or already held a newer event (the writer itself was lapped).
    dropped: AtomicU64,
}

/// One shard: `slots` slots of `words_per_slot` words (sequence word first).
pub struct Shard {
    state: CachePadded<WriterState>,
    /// Backing words; slot `i` starts at `base + i * words_per_slot`.
    words: Box<[AtomicU64]>,
    /// Offset of the first slot, chosen so slots start on a 64-byte boundary.
    base: usize,
    /// Number of slots, a power of two.
    slots: usize,
    /// Words per slot including the sequence word, `>= 2`.
    words_per_slot: usize,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("slots", &self.slots)
            .field("words_per_slot", &self.words_per_slot)
            .field("head", &self.head())
            .finish()
    }
}

impl Shard {
    /// A shard of `slots` slots (rounded up to a power of two) of `words_per_slot` words.
    pub fn new(slots: usize, words_per_slot: usize) -> Shard {
        let slots = slots.max(1).next_power_of_two();
        let words_per_slot = words_per_slot.max(2);
        let words: Box<[AtomicU64]> = (0..slots * words_per_slot + 7)
            .map(|_| AtomicU64::new(0))
            .collect();
        let addr = words.as_ptr() as usize;
        let base = ((64 - addr % 64) % 64) / 8;
        Shard {
            state: CachePadded::new(WriterState {
                head: AtomicU64::new(0),
                fresh: AtomicU64::new(0),
                reused: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
            }),
            words,
            base,
            slots,
            words_per_slot,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Payload words per slot.
    #[cfg(any(loom, feature = "internals"))]
    pub fn payload_words(&self) -> usize {
        self.words_per_slot - 1
    }

    #[inline]
    fn slot(&self, idx: usize) -> Slot<'_> {
        let start = self.base + (idx & (self.slots - 1)) * self.words_per_slot;
        // One bounds check; the split cannot fail (`words_per_slot >= 2`).
        match self.words[start..start + self.words_per_slot].split_first() {
            Some((seq, payload)) => Slot { seq, payload },
            None => unreachable!("a slot has at least two words"),
        }
    }

    /// Writes one event's payload (`payload.len()` a multiple of 8, at most
    /// `payload_words() * 8`), returning its position and what it replaced, or `None`
    /// if it was dropped (counted) because a writer lapped by a full turn of the ring
    /// still owns the slot. Never waits.
    #[cfg(any(loom, test, feature = "internals"))]
    #[inline]
    pub fn write(&self, payload: &[u8]) -> Option<(u64, Claimed)> {
        self.write_with(|words| {
            let mut sink = WordSink::new(words);
            for chunk in payload.chunks_exact(8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                sink.push(u64::from_le_bytes(w));
            }
        })
    }

    /// Like [`Shard::write`], but `fill` produces the payload straight into the claimed
    /// slot's payload words (through a [`WordSink`], say), so no copy of it exists
    /// anywhere else.
    #[inline(always)]
    pub fn write_with(&self, fill: impl FnOnce(&[AtomicU64])) -> Option<(u64, Claimed)> {
        let st = &*self.state;
        let pos = st.head.fetch_add(1, Ordering::Relaxed);
        self.prefetch_for_write(pos + PREFETCH_AHEAD);
        let slot = self.slot(pos as usize);
        match slot.claim(pos) {
            Ok(claimed) => {
                fill(slot.payload);
                slot.publish(pos);
                match claimed {
                    Claimed::Fresh => {
                        st.fresh.fetch_add(1, Ordering::Relaxed);
                    }
                    Claimed::Reused => {
                        st.reused.fetch_add(1, Ordering::Relaxed);
                    }
                    Claimed::Overwrote => {}
                }
                Some((pos, claimed))
            }
            Err(_) => {
                st.dropped.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Asks the cache for the slot of position `pos` ahead of time: by the time this
    /// shard's writer gets there, the lines are in its cache and its stores do not stall
    /// on them (the locked claim of the next event would wait for those stores). The
    /// hint is `prefetchw` where the build enables it, else `prefetcht0`, which brings a
    /// line no other core holds in the exclusive state, ready to be written.
    #[inline(always)]
    fn prefetch_for_write(&self, pos: u64) {
        #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
        {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
            let start = self.base + (pos as usize & (self.slots - 1)) * self.words_per_slot;
            // In bounds (`start` is a slot's first word); no check needed for a hint.
            let p = self.words.as_ptr().wrapping_add(start).cast::<i8>();
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch is only a hint:
            // it never faults and changes no program state, whatever the address.
            unsafe {
                _mm_prefetch::<_MM_HINT_ET0>(p);
                if self.words_per_slot > 8 {
                    _mm_prefetch::<_MM_HINT_ET0>(p.wrapping_add(64));
                }
            }
        }
        #[cfg(not(all(target_arch = "x86_64", not(loom), not(miri))))]
        let _ = pos;
    }

    /// Copies slot `idx`'s payload into `out` if it holds a complete event; returns the
    /// event's position.
    #[inline]
    pub fn read(&self, idx: usize, out: &mut [u64]) -> Option<u64> {
        self.slot(idx).read(out)
    }

    /// Appends slot `idx`'s first `n` payload words to `out` if it holds a complete
    /// event whose raw timestamp passes `keep`; returns the event's position.
    #[inline]
    pub fn read_extend(
        &self,
        idx: usize,
        out: &mut Vec<u64>,
        n: usize,
        keep: impl FnOnce(u64) -> bool,
    ) -> Option<u64> {
        self.slot(idx).read_extend(out, n, keep)
    }

    /// Reads the event at position `pos` (see [`ReadAt`]).
    #[inline]
    pub fn read_at(&self, pos: u64, out: &mut [u64]) -> ReadAt {
        self.slot(pos as usize).read_at(pos, out)
    }

    /// Kills the event in slot `idx` if `pred(raw timestamp)`; returns its position.
    #[inline]
    pub fn kill_if(&self, idx: usize, pred: impl FnOnce(u64) -> bool) -> Option<u64> {
        self.slot(idx).kill_if(pred)
    }

    /// The position of the complete event in slot `idx`, without copying it.
    #[cfg(any(loom, feature = "internals"))]
    #[inline]
    pub fn ready_pos(&self, idx: usize) -> Option<u64> {
        self.slot(idx).ready_pos()
    }

    /// The next position writers will try (a hint).
    pub fn head(&self) -> u64 {
        self.state.head.load(Ordering::Relaxed)
    }

    /// Claims of never-written slots.
    pub fn fresh(&self) -> u64 {
        self.state.fresh.load(Ordering::Relaxed)
    }

    /// Claims of dead slots.
    pub fn reused(&self) -> u64 {
        self.state.reused.load(Ordering::Relaxed)
    }

    /// Events dropped because no slot could be claimed.
    pub fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::Relaxed)
    }

    /// Bytes of memory this shard holds.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.words.len() * std::mem::size_of::<AtomicU64>()
    }
}

/// Stores words, in order, into the payload of a slot its writer has claimed. Words past
/// the payload are ignored (the encoder never produces them: it checks sizes first).
/// The record path fills slots with the codec's own sink; this one serves
/// [`Shard::write`], which the tests and the loom models use.
#[cfg(any(loom, test, feature = "internals"))]
#[derive(Debug)]
pub struct WordSink<'a> {
    words: &'a [AtomicU64],
    /// Index of the next word, `0..`.
    next: usize,
}

#[cfg(any(loom, test, feature = "internals"))]
impl<'a> WordSink<'a> {
    /// A sink that stores from `words[0]` on. Keep it in a local variable: behind a
    /// reference, its fields are reloaded after every store.
    #[inline(always)]
    pub fn new(words: &'a [AtomicU64]) -> Self {
        WordSink { words, next: 0 }
    }

    /// Stores the next payload word.
    #[inline(always)]
    pub fn push(&mut self, w: u64) {
        if let Some(a) = self.words.get(self.next) {
            a.store(w, Ordering::Relaxed);
        }
        self.next += 1;
    }
}

/// All shards of a recorder.
#[derive(Debug)]
pub(crate) struct Ring {
    pub(crate) shards: Box<[Shard]>,
}

impl Ring {
    pub(crate) fn new(shards: usize, slots_per_shard: usize, words_per_slot: usize) -> Ring {
        Ring {
            shards: (0..shards)
                .map(|_| Shard::new(slots_per_shard, words_per_slot))
                .collect(),
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.shards.iter().map(Shard::memory_bytes).sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_accounts() {
        let s = Shard::new(4, 3);
        let mut out = [0u64; 2];
        for i in 0..10u64 {
            let (pos, claimed) = s.write(&i.to_le_bytes()).unwrap();
            assert_eq!(pos, i);
            assert_eq!(claimed == Claimed::Fresh, i < 4);
        }
        assert_eq!(s.fresh(), 4);
        // Positions 6..10 are retained, oldest at slot 6 % 4.
        for i in 6..10u64 {
            assert_eq!(s.read(i as usize, &mut out), Some(i));
            assert_eq!(out[0], i);
        }
        assert_eq!(s.kill_if(6, |_| true), Some(6));
        assert_eq!(s.write(&[0u8; 8]).unwrap(), (10, Claimed::Reused));
        assert_eq!(s.reused(), 1);
        assert_eq!(s.dropped(), 0);
    }

    #[test]
    fn slots_start_on_cache_lines() {
        for wps in [8usize, 16, 32] {
            let s = Shard::new(8, wps);
            let p = s.slot(0).seq as *const AtomicU64 as usize;
            assert_eq!(p % 64, 0);
        }
    }
}
