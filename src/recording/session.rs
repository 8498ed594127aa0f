//! [`RecordingSession`]: `rec.start_recording(name)` … `stop()` / `save(dir)` — a
//! recording taken live from a recorder.
//!
//! The session follows the recorder with a [`crate::Cursor`] on a helper thread
//! (`flightring-recording`) that polls every 5 ms, so the ring may turn over many times
//! during a long session: each event recorded after the start is in the recording
//! exactly once, or counted in a gap (overwritten before the helper read it, or
//! dropped by its writer). Writers are never slowed: the helper reads like a snapshot.
//! The recording is held in memory; past `max_events` (default 10,000,000) further
//! events are counted in a gap instead of kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{EventRecord, Recorder, Timestamp};

use super::{GapMark, Recording, RecordingError, Source};

const POLL_EVERY: Duration = Duration::from_millis(5);
const DEFAULT_MAX_EVENTS: usize = 10_000_000;

struct Taken {
    events: Vec<EventRecord>,
    gaps: Vec<GapMark>,
}

/// A recording being taken; see the module docs. Dropping it without
/// [`RecordingSession::stop`] stops the helper and discards the recording.
#[must_use = "a recording session is discarded when dropped; call stop() or save()"]
pub struct RecordingSession {
    name: String,
    start: Timestamp,
    started: Instant,
    stop: Arc<AtomicBool>,
    taken: Arc<Mutex<Taken>>,
    helper: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for RecordingSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSession")
            .field("name", &self.name)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

fn poll_once(
    cursor: &mut crate::Cursor,
    taken: &Mutex<Taken>,
    buf: &mut Vec<EventRecord>,
    max: usize,
) {
    buf.clear();
    let lost = cursor.poll_into(buf, 65_536);
    let Ok(mut t) = taken.lock() else { return };
    let mut lost = lost;
    let room = max.saturating_sub(t.events.len());
    if buf.len() > room {
        lost += (buf.len() - room) as u64;
        buf.truncate(room);
    }
    if lost > 0 {
        let before = t.events.len();
        t.gaps.push(GapMark {
            before,
            lost,
            at: Timestamp::now(),
        });
    }
    t.events.append(buf);
}

impl Recorder {
    /// Starts recording a session named `name`: every event recorded from now until
    /// [`RecordingSession::stop`]. See [`crate::recording::Recording`] for an example.
    pub fn start_recording(&self, name: impl Into<String>) -> RecordingSession {
        self.start_recording_with_limit(name, DEFAULT_MAX_EVENTS)
    }

    /// Like [`Recorder::start_recording`], keeping at most `max_events` events (the
    /// rest are counted in a gap).
    pub fn start_recording_with_limit(
        &self,
        name: impl Into<String>,
        max_events: usize,
    ) -> RecordingSession {
        let mut cursor = self.cursor();
        let start = Timestamp::now();
        let stop = Arc::new(AtomicBool::new(false));
        let taken = Arc::new(Mutex::new(Taken {
            events: Vec::new(),
            gaps: Vec::new(),
        }));
        let (s2, t2) = (stop.clone(), taken.clone());
        let helper = thread::Builder::new()
            .name("flightring-recording".into())
            .spawn(move || {
                let mut buf = Vec::new();
                loop {
                    let done = s2.load(Ordering::Acquire);
                    poll_once(&mut cursor, &t2, &mut buf, max_events);
                    if done {
                        // One more poll after the stop flag: everything recorded
                        // before stop() returned is read.
                        poll_once(&mut cursor, &t2, &mut buf, max_events);
                        break;
                    }
                    thread::sleep(POLL_EVERY);
                }
            })
            .ok();
        RecordingSession {
            name: name.into(),
            start,
            started: Instant::now(),
            stop,
            taken,
            helper,
        }
    }
}

impl RecordingSession {
    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it started.
    pub fn start_time(&self) -> Timestamp {
        self.start
    }

    /// Events taken so far.
    pub fn len(&self) -> usize {
        self.taken.lock().map_or(0, |t| t.events.len())
    }

    /// Whether no event has been taken yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn finish(&mut self) -> Recording {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.helper.take() {
            let _ = h.join();
        }
        let duration = self.started.elapsed();
        let (events, gaps) = match self.taken.lock() {
            Ok(mut t) => (std::mem::take(&mut t.events), std::mem::take(&mut t.gaps)),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let mut r = Recording {
            name: self.name.clone(),
            start_time: self.start,
            duration,
            events,
            gaps,
            source: Source::Recording,
            stats: None,
            panic: None,
        };
        r.sort_events();
        r
    }

    /// Stops the session and returns the recording.
    pub fn stop(mut self) -> Recording {
        self.finish()
    }

    /// Stops the session and saves the recording in directory `dir` (see
    /// [`Recording::save`]); returns the recording and the file's path.
    pub fn save(self, dir: impl AsRef<Path>) -> Result<(Recording, PathBuf), RecordingError> {
        let r = self.stop();
        let p = r.save(dir)?;
        Ok((r, p))
    }
}

impl Drop for RecordingSession {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.helper.take() {
            let _ = h.join();
        }
    }
}
