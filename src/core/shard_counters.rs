//! The writers' per-shard counters: events written by `[kind][severity]`, truncated,
//! and rejected. Bumped on the record path; summed by the read side's `stats`.

use crate::sync::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use crate::model::Severity;

/// Per-shard writer counters.
#[derive(Debug)]
pub(crate) struct ShardCounters {
    /// Events written, by `[kind row][severity]`: `(max_kinds + 1) * 5` cells; the last
    /// row counts kinds that did not fit the kind table.
    pub(crate) counts: Box<[AtomicU64]>,
    pub(crate) misc: CachePadded<MiscCounters>,
}

/// Rarely-touched per-shard counters.
#[derive(Debug, Default)]
pub(crate) struct MiscCounters {
    /// Events written with something cut.
    pub(crate) truncated: AtomicU64,
    /// Rejected while disabled. Counted with a relaxed load and store, not a
    /// read-modify-write, to keep the rejected path at ~1 ns: exact when a shard has one
    /// writer, may undercount when threads share a shard.
    pub(crate) rejected_disabled: AtomicU64,
    /// Rejected below the minimum severity (counted like `rejected_disabled`).
    pub(crate) rejected_below: AtomicU64,
    /// Rejected after `close()` (counted exactly).
    pub(crate) rejected_closed: AtomicU64,
}

impl ShardCounters {
    pub(crate) fn new(kind_rows: usize) -> Self {
        ShardCounters {
            counts: (0..kind_rows * 5).map(|_| AtomicU64::new(0)).collect(),
            misc: CachePadded::new(MiscCounters::default()),
        }
    }

    /// Counts a written event. Release: a reader that sees this count also sees the
    /// ring's fresh/reused count the writer bumped before it (see `Inner::totals`).
    #[inline]
    pub(crate) fn count(&self, row: usize, severity: Severity) {
        self.counts[row * 5 + severity as usize].fetch_add(1, Ordering::Release);
    }

    /// Events written to this shard so far (Acquire, like `Shared::totals`).
    pub(crate) fn recorded(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Acquire)).sum()
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.counts.len() * 8 + std::mem::size_of::<MiscCounters>()
    }
}

/// Adds one to a counter with a relaxed load and store (see [`MiscCounters`]).
#[inline]
pub(crate) fn bump_unsynchronised(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}
