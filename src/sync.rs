//! The one place where the crate's concurrency primitives come from.
//!
//! Under `--cfg loom` the atomics and fences are loom's, so the loom tests in
//! `tests/loom_*.rs` model-check the real slot and ring code; otherwise they are
//! `std`'s. Everything the lock-free core touches (`slot`, `ring`) imports from here.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU64, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU64, Ordering};
