//! The one place where the crate's concurrency primitives come from.
//!
//! Under `--cfg loom` the atomics, fences and the insert mutex are loom's, so the loom
//! tests in `tests/loom_*.rs` model-check the real slot, ring, interner and snapshot
//! code; otherwise they are `std`'s. Every atomic the write side (`crate::core`) shares
//! between threads comes from here. Two kinds stay on `std` on purpose, named where
//! they are used: process-wide id counters in `static`s (loom atomics cannot be built in
//! a `const` context, and they guard no protocol, only uniqueness), and `OnceLock`
//! (loom has no equivalent; it is `std`'s own, already-checked synchronisation).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::Mutex;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::Mutex;
