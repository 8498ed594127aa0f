//! [`Kind`]: a cached handle for one event kind (the table behind it is
//! `core::interner`).

use std::fmt;
use std::sync::Arc;

/// A cached handle for one event kind of one recorder: recording with it skips the kind
/// table lookup. Get one with [`Recorder::kind`](crate::Recorder::kind).
///
/// ```
/// use flightring::{Event, Recorder, Severity};
/// let rec = Recorder::builder().capacity(1024).build().unwrap();
/// let block = rec.kind("block_processed");
/// rec.record(&Event::with_kind(&block, Severity::Info).message("block 17"));
/// assert_eq!(rec.snapshot().events()[0].kind, "block_processed");
/// ```
#[derive(Clone)]
pub struct Kind {
    /// Id in the owning table; `u16::MAX` when the table was full.
    pub(crate) id: u16,
    /// Which table the id belongs to (the interner's table id).
    pub(crate) table: u64,
    pub(crate) name: Arc<str>,
}

impl Kind {
    /// The kind's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kind")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}
