//! Named counters and gauges: for figures that are not events — RPC successes per
//! endpoint, cache hits, queue depths — and for the `metrics` facade.
//!
//! Names are interned into a fixed table ([`crate::kind::Interner`]), values are
//! atomics: adding is a lock-free lookup and one `fetch_add` (a cached [`Counter`] skips
//! the lookup). Values are not cache-padded: these are per-block or per-call figures,
//! not per-event ones, and padding would cost 128 bytes a name up front. Counters only grow; gauges hold an `f64` that can be set or moved.
//! Unlike events, they are kept while the recorder is disabled or below level: they
//! are the program's own figures, not filtered diagnostics.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::kind::Interner;

/// A table of named `u64` values.
pub(crate) struct NamedValues {
    names: Interner,
    /// Value by id; `0` (or `0.0` for gauges, bit pattern `0`) until first set.
    values: Box<[AtomicU64]>,
    /// Updates refused because the table was full.
    pub(crate) refused: AtomicU64,
}

impl fmt::Debug for NamedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedValues")
            .field("names", &self.names)
            .finish()
    }
}

impl NamedValues {
    pub(crate) fn new(capacity: usize) -> Self {
        NamedValues {
            names: Interner::new(capacity),
            values: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            refused: AtomicU64::new(0),
        }
    }

    /// The value cell for `name`, interning it; `None` (counted) when full.
    #[inline]
    pub(crate) fn cell(&self, name: &str) -> Option<&AtomicU64> {
        self.id(name).map(|id| self.by_id(id))
    }

    /// The id of `name`, interning it; `None` (counted) when full.
    pub(crate) fn id(&self, name: &str) -> Option<u16> {
        let id = self.names.lookup(name).or_else(|| self.names.intern(name));
        if id.is_none() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        id
    }

    /// The cell of an id from [`NamedValues::id`].
    #[inline]
    pub(crate) fn by_id(&self, id: u16) -> &AtomicU64 {
        &self.values[usize::from(id)]
    }

    /// The cell for `name` if it exists.
    pub(crate) fn get(&self, name: &str) -> Option<&AtomicU64> {
        self.names
            .lookup(name)
            .map(|id| &self.values[usize::from(id)])
    }

    /// Every `(name, raw value)`.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, u64)> {
        (0..self.names.len()).filter_map(move |i| {
            let name = self.names.name(i as u16)?;
            Some((&**name, self.values[i].load(Ordering::Relaxed)))
        })
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.names.memory_bytes() + self.values.len() * std::mem::size_of::<AtomicU64>()
    }
}

/// Adds `d` to the `f64` stored as bits in `cell`.
pub(crate) fn add_f64(cell: &AtomicU64, d: f64) {
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
        Some((f64::from_bits(bits) + d).to_bits())
    });
}

/// A cached counter handle from [`Recorder::counter`](crate::Recorder::counter): adding
/// through it is one `fetch_add`, with no name lookup. When the counter table was full
/// as the handle was made, the handle counts nothing and every `add` is counted in
/// [`Stats::counters_refused`](crate::Stats::counters_refused).
#[derive(Clone)]
pub struct Counter {
    pub(crate) rec: crate::Recorder,
    /// The counter's id in the named-counter table; `None` when the table was full.
    pub(crate) id: Option<u16>,
    pub(crate) name: std::sync::Arc<str>,
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
        let table = &self.rec.inner.counters_named;
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
                .counters_named
                .by_id(id)
                .load(Ordering::Relaxed)
        })
    }
}
