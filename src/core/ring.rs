//! The sharded ring: each shard is a power-of-two array of 64-byte cells (see
//! [`crate::core::slot`]); an event takes as many consecutive cells as it needs.
//!
//! # Why this design
//!
//! It is the proven one-slot seqlock protocol, generalised: every cell keeps its own
//! sequence word, so a reader validates exactly what it copied, a lapped writer is
//! detected by the cell it fails to claim, and every fate of an event is one atomic
//! step on its head cell. The alternative, the kernel's printk ring (a descriptor ring
//! plus a data ring whose tail moves only past reusable descriptors), spends one CAS
//! per record instead of one per cell, but needs a second ring, a tail pointer every
//! writer pushes, and a reservation that can fail when the oldest descriptor is still
//! being written; its extra machinery buys little at our sizes (typical events take
//! two cells) and would have had to be proved anew.
//!
//! # Layout
//!
//! A shard holds `cells` sequence words and a data array of `(cells + max_cells − 1) ×
//! words_per_cell` payload words. Cell `j`'s payload normally lives at
//! `data[j × words_per_cell ..]`; a record whose cells run past the end of the shard
//! (a *wrapping* record: head at index `i`, `i + k > cells`) keeps its payload
//! contiguous by writing the tail cells' payload into the extra area past the end,
//! `data[(cells + j) × words_per_cell ..]`, which aliases cell `j`. Either location of
//! cell `j` is written only by the writer that holds cell `j`'s sequence word in
//! WRITING, so the per-cell seqlock argument covers both; and every record's payload is
//! one contiguous slice, for the encoder and for readers.
//!
//! # Claiming cells
//!
//! A writer needing `k` cells takes positions `pos .. pos + k` with one `fetch_add(k)`
//! on `head`, claims each cell by CAS (see [`crate::core::slot::claim`]), writes the
//! payload, publishes the head and then the continuations. Records wrap naturally
//! modulo the shard size. Writers sharing a shard get distinct positions, so they never
//! compete for a cell; a claim fails only when a writer was lapped (preempted for a
//! whole turn of the ring). Such a writer still tries every cell of its range, marks
//! the ones it claimed DEAD, counts the event dropped, and never waits.
//!
//! # Accounting without a read-modify-write per event
//!
//! At quiescence every published event's head is in exactly one state: READY
//! (retained), claimed while READY by a later writer, or broken (a later writer took one
//! of its continuations and killed the head; both count as overwritten), or killed by
//! the sweeper or `clear` (expired, cleared). So `overwritten` is the number of claims
//! that found a READY head plus the breaks. A READY head at quiescence is whole: a
//! writer that claims a READY continuation loads the head (positions say where it is)
//! and breaks it if it is still READY; it sees the head's publish, because heads are
//! published before their continuations and the claim reads the continuation's Release
//! store. (Publishing the head last would let a writer lapped mid-record — its claim
//! of a head still WRITING fails, and it takes that event's continuations — leave a
//! READY head whose cells are gone: the loom model `a_writer_lapped_mid_record…` found
//! exactly that.) Only the record overlapping the start of a writer's range can have
//! its head outside it (or, after a failed claim, in it but not claimed), so the check
//! is one load in the common case, and the break
//! (one CAS and a counter) happens only when writers on one shard race or lap.
//!
//! Counting those claims directly would cost a `fetch_add` per event once the ring is
//! full. Instead a writer that overwrote `d` heads adds `d − 1` to `extra` when `d > 1`
//! and 1 to `missing` when `d = 0`; the common `d = 1` (one event in, one out) costs
//! nothing. A dropped writer adds its `d` to `extra`. Then
//! `overwritten = recorded + extra − missing`, exactly, at quiescence. While writers
//! run, the read side reads `extra` before the event counts and `missing` after them,
//! so the figure can only fall short (see `read::stats`).
//!
//! # Memory ordering
//!
//! `head` hands out positions (Relaxed: it orders nothing; the sequence words do).
//! Counters are Relaxed: statistics, exact at quiescence; the event count the writer
//! bumps afterwards is Release (see `ShardCounters::count`).

use crossbeam_utils::CachePadded;

use crate::core::slot::{self, Prior, State};
use crate::sync::{fence, AtomicU64, Ordering};

/// How many cells ahead a writer prefetches.
const PREFETCH_AHEAD: u64 = 4;

/// The fields a shard's writers touch on every event, on their own cache line.
#[derive(Debug)]
struct WriterState {
    /// The next position to hand out; every position below it has been handed to
    /// exactly one writer. Only grows.
    head: AtomicU64,
    /// Events dropped because one of their cells could not be claimed (the writer was
    /// lapped).
    dropped: AtomicU64,
    /// Overwritten heads beyond one per recorded event, plus those a dropped writer
    /// overwrote (see the module docs).
    extra: AtomicU64,
    /// Recorded events that overwrote no head (the first lap, cells freed by kills).
    missing: AtomicU64,
}

/// One shard: `cells` cells of `words_per_cell` payload words each.
pub struct Shard {
    state: CachePadded<WriterState>,
    /// One sequence word per cell.
    seqs: Box<[AtomicU64]>,
    /// Payload words: `(cells + max_cells − 1) × words_per_cell` (see the module docs).
    data: Box<[AtomicU64]>,
    /// Number of cells, a power of two.
    cells: usize,
    /// `cells − 1`.
    mask: usize,
    /// Payload words per cell, `>= 2` (the head cell holds the timestamp and header).
    words_per_cell: usize,
    /// The most cells one event may take, `1..=min(cells, MAX_CELLS)`.
    max_cells: usize,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("cells", &self.cells)
            .field("words_per_cell", &self.words_per_cell)
            .field("max_cells", &self.max_cells)
            .field("head", &self.head())
            .finish()
    }
}

/// What a cursor finds at the position it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    /// The event whose head is at that position, copied whole; it took `cells` cells.
    Ready(usize),
    /// The head of an expired or cleared event of `cells` cells.
    Dead(usize),
    /// Not the head of an event: a continuation, or a cell a dropped writer abandoned.
    Skip,
    /// A newer position: what was at the asked-for one was overwritten.
    Gone,
    /// Not written yet (or still being written), or the cell holds an older position.
    Pending,
}

impl Shard {
    /// A shard of `cells` cells (rounded up to a power of two) of `words_per_cell`
    /// payload words, for events of at most `max_cells` cells (clamped to the shard).
    ///
    /// Panics if the memory cannot be had; [`Shard::try_new`] says so instead.
    #[cfg(any(loom, test, feature = "internals"))]
    pub fn new(cells: usize, words_per_cell: usize, max_cells: usize) -> Shard {
        Shard::try_new(cells, words_per_cell, max_cells)
            .unwrap_or_else(|bytes| panic!("could not allocate a shard of {bytes} bytes"))
    }

    /// [`Shard::new`], or the bytes it needed if the allocator could not give them.
    pub fn try_new(cells: usize, words_per_cell: usize, max_cells: usize) -> Result<Shard, usize> {
        let cells = cells.max(1).next_power_of_two();
        let words_per_cell = words_per_cell.max(2);
        let max_cells = max_cells.clamp(1, cells.min(slot::MAX_CELLS));
        let words = (cells + max_cells - 1)
            .checked_mul(words_per_cell)
            .ok_or(usize::MAX)?;
        let bytes = (cells + words).saturating_mul(std::mem::size_of::<AtomicU64>());
        Ok(Shard {
            state: CachePadded::new(WriterState {
                head: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                extra: AtomicU64::new(0),
                missing: AtomicU64::new(0),
            }),
            seqs: zeroed(cells).ok_or(bytes)?,
            data: zeroed(words).ok_or(bytes)?,
            cells,
            mask: cells - 1,
            words_per_cell,
            max_cells,
        })
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// The most cells one event may take (one event's largest footprint).
    pub fn max_cells(&self) -> usize {
        self.max_cells
    }

    /// Payload words per cell.
    #[cfg(any(loom, feature = "internals"))]
    pub fn words_per_cell(&self) -> usize {
        self.words_per_cell
    }

    #[inline(always)]
    fn seq_at(&self, pos: u64) -> &AtomicU64 {
        &self.seqs[pos as usize & self.mask]
    }

    /// The payload words of a record of `k` cells whose head is at index `idx`.
    #[inline(always)]
    fn payload(&self, idx: usize, k: usize) -> &[AtomicU64] {
        let w = self.words_per_cell;
        &self.data[idx * w..(idx + k) * w]
    }

    /// Writes one event's payload (`payload.len()` a multiple of 8, at most
    /// `max_cells() × words_per_cell() × 8`) in as few cells as it needs, returning its
    /// position and how many live events it overwrote, or `None` if it was dropped
    /// (counted). Never waits.
    #[cfg(any(loom, test, feature = "internals"))]
    pub fn write(&self, payload: &[u8]) -> Option<(u64, usize)> {
        let words = payload.len().div_ceil(8).max(1);
        let k = words.div_ceil(self.words_per_cell).min(self.max_cells);
        self.write_with(k, |out| {
            for (o, chunk) in out.iter().zip(payload.chunks(8)) {
                let mut w = [0u8; 8];
                w[..chunk.len()].copy_from_slice(chunk);
                o.store(u64::from_le_bytes(w), Ordering::Relaxed);
            }
        })
    }

    /// Claims `k` cells (`1..=max_cells()`), lets `fill` store the payload straight
    /// into their `k × words_per_cell()` payload words, and publishes them; returns the
    /// head's position and how many live events the claims overwrote, or `None` if the
    /// event was dropped (counted) because a cell could not be claimed. Never waits.
    #[inline(always)]
    pub fn write_with(&self, k: usize, fill: impl FnOnce(&[AtomicU64])) -> Option<(u64, usize)> {
        debug_assert!((1..=self.max_cells).contains(&k));
        let k = k.clamp(1, self.max_cells);
        let st = &*self.state;
        let pos = st.head.fetch_add(k as u64, Ordering::Relaxed);
        self.prefetch_for_write(pos + PREFETCH_AHEAD);
        let mut heads = 0usize;
        let mut failed = false;
        for i in 0..k as u64 {
            match slot::claim(self.seq_at(pos + i), pos + i) {
                Ok(Prior::Head) => heads += 1,
                // A continuation of an event whose head is before this range, or in
                // it but not claimed (a failed claim): that event has lost a cell;
                // break its head if nobody claimed it yet.
                Ok(Prior::Cont(h, off)) if off as u64 > i || failed => {
                    if slot::break_head(self.seq_at(h), h) {
                        heads += 1;
                    }
                }
                Ok(_) => {}
                Err(()) => failed = true,
            }
        }
        if failed {
            self.abandon(pos, k, heads);
            return None;
        }
        // Orders the claims before the payload stores (see `slot`).
        fence(Ordering::Release);
        fill(self.payload(pos as usize & self.mask, k));
        // The head first (see the module docs).
        slot::publish(self.seq_at(pos), pos, k);
        for i in 1..k {
            slot::publish_cont(self.seq_at(pos + i as u64), pos + i as u64, i);
        }
        match heads {
            1 => {}
            0 => {
                st.missing.fetch_add(1, Ordering::Relaxed);
            }
            d => {
                st.extra.fetch_add(d as u64 - 1, Ordering::Relaxed);
            }
        }
        Some((pos, heads))
    }

    /// Test support: takes the next position as a writer does and claims its cell,
    /// leaving it WRITING (a writer preempted mid-record); returns the position.
    #[cfg(test)]
    pub(crate) fn hold_next_for_test(&self) -> u64 {
        let pos = self.state.head.fetch_add(1, Ordering::Relaxed);
        assert!(slot::claim(self.seq_at(pos), pos).is_ok());
        pos
    }

    /// Test support: publishes the one-cell record held by `hold_next_for_test`.
    #[cfg(test)]
    pub(crate) fn publish_held_for_test(&self, pos: u64) {
        slot::publish(self.seq_at(pos), pos, 1);
    }

    /// A lapped writer's way out: marks the cells of `pos .. pos + k` it claimed dead
    /// and counts the drop and the `heads` it overwrote.
    #[cold]
    #[inline(never)]
    fn abandon(&self, pos: u64, k: usize, heads: usize) {
        for i in 0..k as u64 {
            let s = self.seq_at(pos + i);
            if slot::owned(s, pos + i) {
                slot::abandon(s, pos + i);
            }
        }
        let st = &*self.state;
        st.dropped.fetch_add(1, Ordering::Relaxed);
        if heads > 0 {
            st.extra.fetch_add(heads as u64, Ordering::Relaxed);
        }
    }

    /// Asks the cache for the cells of position `pos` ahead of time (a hint: it never
    /// faults and changes no program state).
    #[inline(always)]
    fn prefetch_for_write(&self, pos: u64) {
        #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
        {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
            let idx = pos as usize & self.mask;
            let p = self
                .data
                .as_ptr()
                .wrapping_add(idx * self.words_per_cell)
                .cast::<i8>();
            let s = self.seqs.as_ptr().wrapping_add(idx).cast::<i8>();
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch is only a hint:
            // it never faults and changes no program state, whatever the address.
            unsafe {
                _mm_prefetch::<_MM_HINT_ET0>(s);
                _mm_prefetch::<_MM_HINT_ET0>(p);
                _mm_prefetch::<_MM_HINT_ET0>(p.wrapping_add(64));
            }
        }
        #[cfg(not(all(target_arch = "x86_64", not(loom), not(miri))))]
        let _ = pos;
    }

    /// What cell `idx` holds.
    #[inline]
    pub(crate) fn state_at(&self, idx: usize) -> State {
        slot::state(self.seqs[idx & self.mask].load(Ordering::Acquire))
    }

    /// Validates a copy: the Acquire fence orders the payload loads before the
    /// sequence words' reloads; if every cell still holds what it held before the copy,
    /// no writer claimed any of them during it and the copy is whole.
    #[inline(always)]
    fn still(&self, s0: u64, pos: u64, k: usize) -> bool {
        fence(Ordering::Acquire);
        if self.seq_at(pos).load(Ordering::Relaxed) != s0 {
            return false;
        }
        (1..k).all(|i| {
            let p = pos + i as u64;
            self.seq_at(p).load(Ordering::Relaxed) == slot::ready_cont(p, i)
        })
    }

    /// The first step of a read: the head's sequence value, if cell `idx` holds the
    /// complete head of an event, and every continuation cell is complete and its own.
    #[inline(always)]
    fn begin(&self, idx: usize) -> Option<(u64, u64, usize)> {
        let s0 = self.seqs[idx & self.mask].load(Ordering::Acquire);
        let State::Head(pos, k) = slot::state(s0) else {
            return None;
        };
        if k > self.max_cells {
            return None;
        }
        for i in 1..k {
            let p = pos + i as u64;
            if self.seq_at(p).load(Ordering::Acquire) != slot::ready_cont(p, i) {
                return None;
            }
        }
        Some((s0, pos, k))
    }

    /// Appends the payload of the event whose head is in cell `idx` (`k ×
    /// words_per_cell()` words) to `out`, if the cell holds a complete head, the copy
    /// is whole, and its first word (the raw timestamp) passes `keep`; returns the
    /// event's position and cell count. On any failure `out` is left as it was.
    #[inline]
    pub fn read_record(
        &self,
        idx: usize,
        out: &mut Vec<u64>,
        keep: impl FnOnce(u64) -> bool,
    ) -> Option<(u64, usize)> {
        let (s0, pos, k) = self.begin(idx)?;
        let at = out.len();
        out.extend(
            self.payload(pos as usize & self.mask, k)
                .iter()
                .map(|w| w.load(Ordering::Relaxed)),
        );
        if self.still(s0, pos, k) && keep(out[at]) {
            Some((pos, k))
        } else {
            out.truncate(at);
            None
        }
    }

    /// Copies the first `out.len()` (at most `words_per_cell()`) payload words of the
    /// head in cell `idx`, validated against the head cell alone: enough for filters
    /// on the fixed header. Returns the event's position and cell count.
    #[inline]
    pub fn read_head(&self, idx: usize, out: &mut [u64]) -> Option<(u64, usize)> {
        let s0 = self.seqs[idx & self.mask].load(Ordering::Acquire);
        let State::Head(pos, k) = slot::state(s0) else {
            return None;
        };
        let base = (idx & self.mask) * self.words_per_cell;
        for (o, w) in out
            .iter_mut()
            .zip(&self.data[base..base + self.words_per_cell])
        {
            *o = w.load(Ordering::Relaxed);
        }
        fence(Ordering::Acquire);
        (self.seqs[idx & self.mask].load(Ordering::Relaxed) == s0).then_some((pos, k))
    }

    /// Reads the event whose head is at position `pos` specifically (a follower's
    /// read): appends its payload to `out` if the cell holds it complete, else says
    /// what the cell holds.
    #[inline]
    pub fn read_at(&self, pos: u64, out: &mut Vec<u64>) -> ReadAt {
        for _ in 0..2 {
            match self.state_at(pos as usize) {
                State::Empty => return ReadAt::Pending,
                State::Writing(p) | State::Head(p, _) | State::Cont(p, _) if p < pos => {
                    return ReadAt::Pending
                }
                State::DeadHead(p, _) | State::DeadCell(p) if p < pos => return ReadAt::Pending,
                State::Writing(p)
                | State::Head(p, _)
                | State::Cont(p, _)
                | State::DeadHead(p, _)
                | State::DeadCell(p)
                    if p > pos =>
                {
                    return ReadAt::Gone
                }
                State::Writing(_) => return ReadAt::Pending,
                State::Cont(..) | State::DeadCell(_) => return ReadAt::Skip,
                State::DeadHead(_, k) => return ReadAt::Dead(k),
                State::Head(..) => {
                    if let Some((p, k)) = self.read_record(pos as usize, out, |_| true) {
                        if p == pos {
                            return ReadAt::Ready(k);
                        }
                        out.truncate(out.len() - k * self.words_per_cell);
                    }
                }
            }
        }
        // Changed twice while being copied: overwritten or killed.
        match self.state_at(pos as usize) {
            State::DeadHead(p, k) if p == pos => ReadAt::Dead(k),
            _ => ReadAt::Gone,
        }
    }

    /// Kills the event whose head is in cell `idx` if `pred(raw timestamp)`; returns
    /// its position.
    ///
    /// The first word is read like a reader reads it; the Acquire fence before the CAS
    /// makes sure that if it came from a newer writer, that writer's claim is ordered
    /// before our CAS, which then fails: a successful kill always judged the event it
    /// killed.
    #[inline]
    pub fn kill_if(&self, idx: usize, pred: impl FnOnce(u64) -> bool) -> Option<u64> {
        let seq_word = &self.seqs[idx & self.mask];
        let s0 = seq_word.load(Ordering::Acquire);
        let State::Head(pos, _) = slot::state(s0) else {
            return None;
        };
        let w0 = self.data[(idx & self.mask) * self.words_per_cell].load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (pred(w0) && slot::kill(seq_word, s0)).then_some(pos)
    }

    /// The position and cell count of the complete head in cell `idx`, without
    /// copying it.
    #[cfg(any(loom, feature = "internals"))]
    pub fn ready_head(&self, idx: usize) -> Option<(u64, usize)> {
        match self.state_at(idx) {
            State::Head(p, k) => Some((p, k)),
            _ => None,
        }
    }

    /// The next position writers will try (a hint).
    pub fn head(&self) -> u64 {
        self.state.head.load(Ordering::Relaxed)
    }

    /// Events dropped because no cell could be claimed.
    pub fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::Relaxed)
    }

    /// Overwritten heads beyond one per recorded event (see the module docs).
    pub fn overwrite_extra(&self) -> u64 {
        self.state.extra.load(Ordering::Relaxed)
    }

    /// Recorded events that overwrote no head (see the module docs).
    pub fn overwrite_missing(&self) -> u64 {
        self.state.missing.load(Ordering::Relaxed)
    }

    /// Bytes of memory this shard holds.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.seqs.len() + self.data.len()) * std::mem::size_of::<AtomicU64>()
    }
}

/// `n` zeroed atomic words, or `None` if the allocator cannot give them: the ring's
/// budget comes from users, so asking more than the machine has is an error, not an
/// abort.
fn zeroed(n: usize) -> Option<Box<[AtomicU64]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.extend((0..n).map(|_| AtomicU64::new(0)));
    Some(v.into_boxed_slice())
}

/// All shards of a recorder: `main` shards of the main tier, then as many of the
/// reserved tier (Warning and above) when it is on. Readers treat them alike; only the
/// writer's choice of shard (see `Core::write_plain`) and the per-tier figures know
/// which is which.
#[derive(Debug)]
pub(crate) struct Ring {
    pub(crate) shards: Box<[Shard]>,
    /// How many shards the main tier has (the reserved tier's are `main..`).
    pub(crate) main: usize,
}

impl Ring {
    /// `shards` main shards of `cells` cells and, if `reserved_cells > 0`, as many
    /// reserved shards of `reserved_cells` cells; or the bytes a shard needed if the
    /// allocator could not give them.
    pub(crate) fn try_new(
        shards: usize,
        cells: usize,
        reserved_cells: usize,
        max_cells: usize,
    ) -> Result<Ring, usize> {
        let tiers = if reserved_cells > 0 { 2 } else { 1 };
        Ok(Ring {
            shards: (0..shards * tiers)
                .map(|i| {
                    let n = if i < shards { cells } else { reserved_cells };
                    Shard::try_new(n, slot::CELL_WORDS, max_cells)
                })
                .collect::<Result<_, _>>()?,
            main: shards,
        })
    }

    /// The shards of tier `t` (0 main, 1 reserved; empty when the tier is off), with
    /// their indices.
    pub(crate) fn tier(&self, t: usize) -> impl Iterator<Item = (usize, &Shard)> {
        let range = if t == 0 {
            0..self.main
        } else {
            self.main..self.shards.len()
        };
        range.map(move |i| (i, &self.shards[i]))
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.shards.iter().map(Shard::memory_bytes).sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn words(s: &Shard, idx: usize) -> Option<(u64, usize, Vec<u64>)> {
        let mut out = Vec::new();
        s.read_record(idx, &mut out, |_| true)
            .map(|(p, k)| (p, k, out))
    }

    #[test]
    fn records_take_the_cells_they_need_and_wrap() {
        // 8 cells of 2 words: a 3-word record takes 2 cells.
        let s = Shard::new(8, 2, 4);
        let ev = |i: u64, n: usize| -> Vec<u8> {
            (0..n as u64)
                .flat_map(|j| (i * 100 + j).to_le_bytes())
                .collect()
        };
        assert_eq!(s.write(&ev(0, 3)), Some((0, 0)));
        assert_eq!(s.write(&ev(1, 1)), Some((2, 0)));
        assert_eq!(s.write(&ev(2, 8)), Some((3, 0)));
        // Positions 7..10 wrap: cells 7, 0, 1; it overwrites the head at 0 only.
        assert_eq!(s.write(&ev(3, 5)), Some((7, 1)));
        let (p, k, w) = words(&s, 7).unwrap();
        assert_eq!((p, k), (7, 3));
        assert_eq!(&w[..5], &[300, 301, 302, 303, 304]);
        assert!(words(&s, 0).is_none(), "a continuation is no head");
        assert_eq!(words(&s, 2).unwrap().2, vec![100, 0]);
        assert_eq!(words(&s, 3).unwrap().1, 4);
        // Accounting: 4 recorded, 1 overwritten = 4 + extra − missing.
        assert_eq!(
            (s.overwrite_extra(), s.overwrite_missing(), s.dropped()),
            (0, 3, 0)
        );
        let mut out = Vec::new();
        assert_eq!(s.read_at(7, &mut out), ReadAt::Ready(3));
        assert_eq!(s.read_at(8, &mut out), ReadAt::Skip);
        assert_eq!(s.read_at(0, &mut out), ReadAt::Gone);
        assert_eq!(s.read_at(11, &mut out), ReadAt::Pending);
        assert_eq!(s.kill_if(3, |_| true), Some(3));
        assert_eq!(s.read_at(3, &mut out), ReadAt::Dead(4));
    }

    #[test]
    fn a_writer_that_cannot_claim_every_cell_drops_and_frees_the_rest() {
        let s = Shard::new(4, 2, 4);
        // A writer of position 0 holds cell 0 (lapped: preempted mid-record).
        assert_eq!(slot::claim(&s.seqs[0], 0), Ok(Prior::Fresh));
        s.state.head.store(4, Ordering::Relaxed);
        assert_eq!(s.write(&[1; 24]), None, "cell 0 is still owned");
        assert_eq!(s.dropped(), 1);
        assert_eq!(s.state_at(1), State::DeadCell(5), "its other cell is freed");
        assert_eq!(s.state_at(0), State::Writing(0));
    }
}
