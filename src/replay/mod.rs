//! Replay: a [`Recording`](crate::recording::Recording) played back at its recorded
//! pace times a speed (0.01×–1000×) or as fast as possible, through a
//! [`Filter`](crate::recording::Filter), into a [`Target`]: a [`crate::Recorder`]
//! (events re-recorded with their kinds, severities, peers and fields), a
//! [`Callback`], or `tracing` ([`TracingTarget`], feature `tracing`).
//!
//! [`Replayer::run`] plays on the calling thread; [`Replayer::spawn`] on its own,
//! returning a [`ReplayHandle`] that pauses, resumes, stops and changes speed while it
//! runs. Progress goes to [`Replayer::on_progress`] as `(done, total)`. Gaps in the
//! recording are passed to [`Target::gap`], never skipped silently. The report says
//! how late, against their due time, events were emitted (`late_p99_ms`).
//!
//! This module uses the crate's public API only.

mod control;
mod replayer;
mod report;
mod target;

pub use control::{check_speed, ReplayHandle, MAX_SPEED, MIN_SPEED};
pub use replayer::Replayer;
pub use report::{ReplayError, ReplayReport};
#[cfg(feature = "tracing")]
pub use target::TracingTarget;
pub use target::{record_into, Callback, Replayed, Target, GAP_KIND};
