//! Named counters and gauges: for figures that are not events — RPC successes per
//! endpoint, cache hits, queue depths — and for the `metrics` facade.
//!
//! Names are interned into a fixed table ([`crate::core::interner::Interner`]), values are
//! atomics: adding is a lock-free lookup and one `fetch_add` (a cached [`Counter`] skips
//! the lookup). Values are not cache-padded: these are per-block or per-call figures,
//! not per-event ones, and padding would cost 128 bytes a name up front. Counters only grow; gauges hold an `f64` that can be set or moved.
//! Unlike events, they are kept while the recorder is disabled or below level: they
//! are the program's own figures, not filtered diagnostics.

use crate::sync::{AtomicU64, Ordering};
use std::fmt;

use crate::core::interner::Interner;

/// A table of named `u64` values.
pub(crate) struct NamedValues {
    names: Interner,
    /// Value by id; `0` (or `0.0` for gauges, bit pattern `0`) until first set.
    values: Box<[AtomicU64]>,
    /// Updates refused because the table was full.
    pub(crate) refused: AtomicU64,
    /// Ids `0..reserved` are the crate's own names (see `model::names`).
    reserved: usize,
}

impl fmt::Debug for NamedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedValues")
            .field("names", &self.names)
            .finish()
    }
}

impl NamedValues {
    /// A table of `capacity` names, plus room for `reserved`, interned now (and left
    /// out of [`NamedValues::entries`] until they hold a value).
    pub(crate) fn new(capacity: usize, reserved: &'static [&'static str]) -> Self {
        let total = capacity + reserved.len();
        let names = Interner::new(total);
        for name in reserved {
            let _ = names.intern(name);
        }
        NamedValues {
            names,
            values: (0..total).map(|_| AtomicU64::new(0)).collect(),
            refused: AtomicU64::new(0),
            reserved: reserved.len(),
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
            let v = self.values[i].load(Ordering::Relaxed);
            (i >= self.reserved || v != 0).then_some((&**name, v))
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
