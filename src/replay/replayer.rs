//! [`Replayer`]: a recording played back at its recorded pace (times a speed), or as
//! fast as possible, through a filter, into a [`Target`].

use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::recording::{Filter, Recording};

use super::control::{check_speed, Control, ReplayHandle};
use super::report::{ReplayError, ReplayReport};
use super::target::{Replayed, Target};

type Progress = Box<dyn FnMut(u64, u64) + Send>;

/// Plays a recording back; see the crate README ("Replay").
///
/// ```
/// use std::time::Duration;
/// use flightring::recording::{Filter, Recording};
/// use flightring::replay::{Callback, Replayer};
/// use flightring::{Event, Recorder, Severity};
///
/// let rec = Recorder::builder().capacity(1024).build()?;
/// let session = rec.start_recording("demo");
/// rec.record(&Event::new("block", Severity::Info).message("one"));
/// rec.record(&Event::new("rpc", Severity::Warning).peer("infura").field("duration_ns", 950_000u64));
/// let recording = session.stop();
///
/// // Into another recorder, as fast as possible: kinds, severities, peers and fields kept.
/// let target = Recorder::builder().capacity(1024).build()?;
/// let report = Replayer::new(recording.clone()).as_fast_as_possible().run(&target)?;
/// assert_eq!(report.replayed, 2);
/// let back = target.snapshot().events();
/// assert_eq!(back[1].peer.as_deref(), Some("infura"));
///
/// // Into a callback, at 10× the recorded pace, warnings only.
/// let mut seen = Vec::new();
/// Replayer::new(recording)
///     .speed(10.0)?
///     .filter(Filter::new().min_severity(Severity::Warning))
///     .run(Callback(|ev: &flightring::replay::Replayed| seen.push(ev.event.kind.clone())))?;
/// assert_eq!(seen, ["rpc"]);
/// assert!(Replayer::new(Recording::from_events("x", vec![])).speed(5000.0).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a replayer does nothing until run or spawned"]
pub struct Replayer {
    recording: Recording,
    speed: Option<f64>,
    filter: Filter,
    progress: Option<Progress>,
}

impl std::fmt::Debug for Replayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer")
            .field("recording", &self.recording.name)
            .field("events", &self.recording.events.len())
            .field("speed", &self.speed)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Replayer {
    /// Opens a recording (any file [`Recording::open`] reads), to replay at 1×.
    pub fn open(path: impl AsRef<Path>) -> Result<Replayer, ReplayError> {
        Ok(Replayer::new(Recording::open(path)?))
    }

    /// Replays `recording` at 1×.
    pub fn new(recording: Recording) -> Replayer {
        Replayer {
            recording,
            speed: Some(1.0),
            filter: Filter::new(),
            progress: None,
        }
    }

    /// The recording to be replayed.
    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Plays at `x` times the recorded pace: `0.01 ≤ x ≤ 1000`, else
    /// [`ReplayError::Speed`].
    pub fn speed(mut self, x: f64) -> Result<Replayer, ReplayError> {
        self.speed = Some(check_speed(x)?);
        Ok(self)
    }

    /// Emits every event at once, in order, without waiting.
    pub fn as_fast_as_possible(mut self) -> Replayer {
        self.speed = None;
        self
    }

    /// Replays only the events `filter` keeps (gaps are always passed on). Timing
    /// starts at the first kept event.
    pub fn filter(mut self, filter: Filter) -> Replayer {
        self.filter = filter;
        self
    }

    /// Calls `f(done, total)` after each event emitted.
    pub fn on_progress(mut self, f: impl FnMut(u64, u64) + Send + 'static) -> Replayer {
        self.progress = Some(Box::new(f));
        self
    }

    /// Replays on this thread, until the end; returns what it did.
    pub fn run<T: Target>(self, target: T) -> Result<ReplayReport, ReplayError> {
        let (control, plan) = self.prepare();
        Ok(play(&control, plan, target))
    }

    /// Replays on a new thread (`flightring-replay`); the handle pauses, resumes,
    /// stops and changes speed while it runs.
    pub fn spawn<T: Target + Send + 'static>(self, target: T) -> Result<ReplayHandle, ReplayError> {
        let (control, plan) = self.prepare();
        let c2 = control.clone();
        let thread = thread::Builder::new()
            .name("flightring-replay".into())
            .spawn(move || play(&c2, plan, target))
            .map_err(ReplayError::Spawn)?;
        Ok(ReplayHandle {
            control,
            thread: Some(thread),
        })
    }

    fn prepare(self) -> (Arc<Control>, Plan) {
        let r = &self.recording;
        let keep: Vec<bool> = r
            .events
            .iter()
            .map(|e| self.filter.matches(e, r.offset(e)))
            .collect();
        let total = keep.iter().filter(|k| **k).count() as u64;
        let first = r
            .events
            .iter()
            .zip(&keep)
            .find(|(_, k)| **k)
            .map_or(Duration::ZERO, |(e, _)| r.offset(e));
        let control = Control::new(self.speed, first, total);
        (
            control,
            Plan {
                recording: self.recording,
                keep,
                total,
                progress: self.progress,
            },
        )
    }
}

struct Plan {
    recording: Recording,
    keep: Vec<bool>,
    total: u64,
    progress: Option<Progress>,
}

fn play<T: Target>(control: &Control, mut plan: Plan, mut target: T) -> ReplayReport {
    let started = Instant::now();
    control.lock().anchor_wall = started;
    let r = &plan.recording;
    let mut report = ReplayReport {
        filtered_out: plan.keep.iter().filter(|k| !**k).count() as u64,
        ..ReplayReport::default()
    };
    let mut late =
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("bounds");
    let mut gaps = r.gaps.iter().peekable();
    let mut done = 0u64;
    for (i, e) in r.events.iter().enumerate() {
        while let Some(g) = gaps.next_if(|g| g.before <= i) {
            report.gaps += 1;
            report.lost += g.lost;
            target.gap(g.lost, r.offset_at(g.at));
        }
        if !plan.keep[i] {
            continue;
        }
        let o = r.offset(e);
        if !control.wait_until_due(o) {
            report.stopped = true;
            break;
        }
        let due = control.lock().due(o);
        target.event(&Replayed {
            event: e,
            offset: o,
            index: done,
            total: plan.total,
        });
        if let Some(due) = due {
            let l = Instant::now().saturating_duration_since(due);
            late.saturating_record(u64::try_from(l.as_nanos()).unwrap_or(u64::MAX).max(1));
        }
        done += 1;
        {
            let mut st = control.lock();
            st.done = done;
            st.last_offset = o;
        }
        if let Some(p) = plan.progress.as_mut() {
            p(done, plan.total);
        }
    }
    if !report.stopped {
        for g in gaps {
            report.gaps += 1;
            report.lost += g.lost;
            target.gap(g.lost, r.offset_at(g.at));
        }
    }
    report.replayed = done;
    report.elapsed_secs = started.elapsed().as_secs_f64();
    if !late.is_empty() {
        let ms = |ns: u64| ns as f64 / 1e6;
        report.late_p50_ms = ms(late.value_at_quantile(0.5));
        report.late_p99_ms = ms(late.value_at_quantile(0.99));
        report.late_max_ms = ms(late.max());
    }
    report
}
