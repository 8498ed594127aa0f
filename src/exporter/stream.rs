//! [`Exporter`]: one background thread that follows the ring with a [`Cursor`] and
//! appends every event once to the stream file; it also rotates that file, keeps the
//! rotated ones in bounds, and rewrites the snapshot file (see the module docs of
//! [`crate::exporter`] for the formats and guarantees).
//!
//! # The thread's loop
//!
//! 1. Poll the cursor for everything new (at most one lap of the ring). Missed events
//!    become one pending gap entry, placed before the batch's events.
//! 2. Write the pending entries when `batch_events` events are pending, when the oldest
//!    has waited `flush_interval`, on `flush()` and on `close()`. Entries leave the
//!    queue only once written. A failed write is cut back to the last whole line and
//!    tried again at once in pieces of half the size, down to a single line, so every
//!    line that fits is written even on a nearly full disk; the entries not written are
//!    kept, and the write is retried `flush_interval` later.
//! 3. Rewrite the snapshot file when due; every minute (and after each rotation)
//!    compress and prune rotated files.
//! 4. Sleep on a condition variable until the next poll (1–20 ms, sooner the faster the
//!    ring fills relative to its capacity), a deadline, `flush()` or `close()`.
//!
//! Writers never meet this thread: it reads the ring through the cursor, like a
//! snapshot does, and its locks are shared only with the `Exporter` handle.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::control::{self, ExitGuard, FlushWait, Thread};
use crate::model::Timestamp;
use crate::recorder::Cursor;
use crate::recorder::Recorder;
use crate::runtime::follower::{after, Follower, ShownFault};

use super::config::ExporterConfig;
use super::error::{ExporterError, Failure};
use super::format::{self, Gap};
use super::maintainer::Maintainer;
use super::rotate::Naming;
use super::snapshot_file::SnapshotFile;

/// The name of the exporter's background thread.
pub const THREAD_NAME: &str = "flightring-export";

/// The component the exporter reports its faults under in
/// [`Recorder::health`](crate::Recorder::health) (one exporter per recorder is assumed).
pub const FAULT_COMPONENT: &str = "exporter";

/// How often rotated files are compressed and pruned besides after each rotation.
const MAINTAIN_EVERY: Duration = Duration::from_secs(60);
/// Largest write handed to the file at once.
const CHUNK_BYTES: usize = 1 << 20;
/// While writes fail, at most this many batches of events are kept.
const BACKLOG_BATCHES: usize = 4;

/// What the exporter has done so far. From [`Exporter::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExporterStats {
    /// Events written to the stream (current and rotated files).
    pub events_written: u64,
    /// Bytes written to the stream, gap lines included.
    pub bytes_written: u64,
    /// Gap lines written.
    pub gaps: u64,
    /// Events known to be missing from the stream: overwritten in the ring before the
    /// exporter read them, dropped when recorded, dropped from the backlog while writes
    /// failed, or unwritten at close. All but the last are reported by gap lines once a
    /// write succeeds; after a successful `flush()` this equals the gap lines' sum.
    pub lost: u64,
    /// Files rotated.
    pub files_rotated: u64,
    /// Snapshot files written.
    pub snapshots_written: u64,
    /// Failed file operations (each retry that fails counts again).
    pub io_errors: u64,
    /// Events read from the ring and not yet written.
    pub pending: u64,
    /// The most recent failure, `"<what> <path>: <os error>"`; kept after recovery
    /// (health shows whether it is current).
    pub last_error: Option<String>,
}

/// Runs the streaming export of one recorder: see [`crate::exporter`].
///
/// `Send + Sync`: flush, read stats or close it from any thread. Dropping it closes it
/// (flushing first).
pub struct Exporter {
    shared: Arc<Shared>,
    thread: Thread,
    path: PathBuf,
    snapshot_path: Option<PathBuf>,
}

/// What the handle and the thread share (see [`crate::control`]). Writers never touch
/// it.
type Shared = control::Shared<Outcomes, ExporterStats>;

/// What the thread leaves for the handle beside the flags.
#[derive(Debug, Default)]
struct Outcomes {
    /// Why the last completed flush left events unwritten.
    flush_error: Option<Failure>,
    /// Why the final round at close failed.
    close_error: Option<Failure>,
}

impl Exporter {
    /// Opens (or creates, appending) `cfg.path`, checks the snapshot path, and starts
    /// the thread, which exports the events recorded from now on.
    ///
    /// Fails with [`ExporterError::Open`] naming the path when it cannot be written
    /// (missing directory, permission denied), [`ExporterError::Config`] for a setting
    /// out of range.
    pub fn start(rec: &Recorder, cfg: ExporterConfig) -> Result<Exporter, ExporterError> {
        Exporter::start_with_cursor(rec.cursor(), cfg)
    }

    /// Like [`Exporter::start`], but exports every event still retained first.
    pub fn start_from_oldest(
        rec: &Recorder,
        cfg: ExporterConfig,
    ) -> Result<Exporter, ExporterError> {
        Exporter::start_with_cursor(rec.cursor_from_oldest(), cfg)
    }

    /// Like [`Exporter::start`], following `cursor` (and its recorder) from where it is.
    pub fn start_with_cursor(
        cursor: Cursor,
        cfg: ExporterConfig,
    ) -> Result<Exporter, ExporterError> {
        validate(&cfg)?;
        let out = Output::open(&cfg.path).map_err(|source| ExporterError::Open {
            path: cfg.path.clone(),
            source,
        })?;
        let naming = Naming::new(&cfg.path);
        let next_seq = naming.next_seq().map_err(|source| ExporterError::Open {
            path: naming.dir().to_owned(),
            source,
        })?;
        let snapshot = cfg
            .snapshot_path
            .as_deref()
            .map(SnapshotFile::new)
            .transpose()?;
        let shared = Shared::new();
        let rec = cursor.recorder().clone();
        let now = Instant::now();
        let path = cfg.path.clone();
        let snapshot_path = cfg.snapshot_path.clone();
        let maintainer = Maintainer::start(naming.clone(), cfg.gzip, cfg.keep_files, cfg.max_age);
        let worker = Worker {
            rec,
            maintainer,
            follower: Follower::new(cursor),
            naming,
            out: Some(out),
            next_seq,
            snapshot,
            shared: Arc::clone(&shared),
            pending: VecDeque::new(),
            pending_events: 0,
            text: Vec::new(),
            text_base: 0,
            polled_ends: Vec::new(),
            pending_since: None,
            chunk: Vec::new(),
            ends: Vec::new(),
            stats: ExporterStats::default(),
            faults: Faults::default(),
            failure: None,
            retry_at: None,
            next_snapshot: None,
            next_maintain: after(now, MAINTAIN_EVERY),
            flushed: 0,
            cfg,
        };
        let thread =
            Thread::spawn(THREAD_NAME, move || worker.run()).map_err(ExporterError::Spawn)?;
        Ok(Exporter {
            shared,
            thread,
            path,
            snapshot_path,
        })
    }

    /// Writes everything recorded before this call to the stream file, and returns once
    /// it is there (written to the operating system, not synced). Events the exporter
    /// could not read in time are in the file as gap lines.
    ///
    /// Fails with [`ExporterError::Io`] when the write failed (the events are kept and
    /// retried), [`ExporterError::Closed`] after [`Exporter::close`].
    pub fn flush(&self) -> Result<(), ExporterError> {
        let (c, wait) = self.shared.flush(None);
        if wait == FlushWait::Closed {
            return Err(ExporterError::Closed);
        }
        match &c.flush_error {
            Some(f) => Err(f.to_error()),
            None => Ok(()),
        }
    }

    /// Flushes, writes a last snapshot (if configured), syncs and stops the thread.
    /// Idempotent: later calls return the first call's outcome. An error means events
    /// were left unwritten (they are counted in [`ExporterStats::lost`] and the
    /// recorder's health keeps the fault) or the last snapshot failed.
    pub fn close(&self) -> Result<(), ExporterError> {
        let c = self.shared.stop_and_join(&self.thread);
        match &c.close_error {
            Some(f) => Err(f.to_error()),
            None => Ok(()),
        }
    }

    /// The figures so far (refreshed by the thread every round, i.e. every few ms).
    pub fn stats(&self) -> ExporterStats {
        self.shared.stats()
    }

    /// Whether the thread is running (false after `close()`).
    pub fn is_running(&self) -> bool {
        self.shared.is_running()
    }

    /// The stream file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter")
            .field("path", &self.path)
            .field("snapshot_path", &self.snapshot_path)
            .field("running", &self.is_running())
            .finish()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn validate(cfg: &ExporterConfig) -> Result<(), ExporterError> {
    let bad = |field, reason: &str| {
        Err(ExporterError::Config {
            field,
            reason: reason.to_owned(),
        })
    };
    if cfg.batch_events == 0 {
        return bad("batch_events", "must be at least 1");
    }
    if cfg.rotate_bytes == 0 {
        return bad(
            "rotate_bytes",
            "must be at least 1 (a huge value never rotates)",
        );
    }
    if let Some(sp) = &cfg.snapshot_path {
        if cfg.snapshot_interval.is_zero() {
            return bad("snapshot_interval", "must be above zero");
        }
        if sp == &cfg.path {
            return bad("snapshot_path", "is the stream file itself");
        }
    }
    Ok(())
}

/// The open stream file.
struct Output {
    file: File,
    /// Bytes in the file that end a whole line: its length at open plus what we wrote.
    len: u64,
    /// A regular file: rotation, cutting back and the identity check apply. (Not for
    /// a device or a pipe: `/dev/full` is written to, never renamed.)
    regular: bool,
    /// (device, inode), to notice the path now names another file or none.
    id: Option<(u64, u64)>,
    /// A failed write may have left part of a line past `len` that could not be cut
    /// yet: cut it before writing more.
    dirty: bool,
}

impl Output {
    fn open(path: &Path) -> io::Result<Output> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        let md = file.metadata()?;
        let regular = md.is_file();
        let mut len = if regular { md.len() } else { 0 };
        if regular && len > 0 && !ends_with_newline(path, len) {
            // An earlier process stopped mid-line: end that line so the next one parses.
            file.write_all(b"\n")?;
            len += 1;
        }
        Ok(Output {
            file,
            len,
            regular,
            id: file_id(&md),
            dirty: false,
        })
    }

    /// Whether `path` still names this file (not removed, not replaced).
    fn is_at(&self, path: &Path) -> bool {
        !self.regular || fs::metadata(path).is_ok_and(|md| file_id(&md) == self.id)
    }

    /// Cuts the file back to its last whole line if a failed write left more.
    fn repair(&mut self) -> io::Result<()> {
        if self.dirty {
            self.file.set_len(self.len)?;
            self.dirty = false;
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.repair()?;
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Part of the chunk may be in the file: cut back to the last whole line
                // (appends go to the new end).
                self.dirty = self.regular && self.file.set_len(self.len).is_err();
                Err(e)
            }
        }
    }
}

/// Appends as many whole lines of `bytes` (newline-terminated lines) as `append` takes,
/// in order: all at once, and after a failure in pieces of half the size, down to one
/// line, so a nearly full disk still takes every line that fits. `append` must write a
/// piece whole or not at all ([`Output::append`] cuts a failed write back). Returns the
/// bytes written, always a whole number of lines, and the error that stopped it.
fn append_whole_lines(
    bytes: &[u8],
    mut append: impl FnMut(&[u8]) -> io::Result<()>,
) -> (usize, Option<io::Error>) {
    let mut done = 0;
    let mut piece = bytes.len();
    while done < bytes.len() {
        let rest = &bytes[done..];
        let first = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        // The longest run of whole lines within `piece`, and at least one line.
        let end = if piece >= rest.len() {
            rest.len()
        } else {
            memchr::memrchr(b'\n', &rest[..piece]).map_or(first, |i| (i + 1).max(first))
        };
        match append(&rest[..end]) {
            Ok(()) => done += end,
            Err(e) if end <= first => return (done, Some(e)),
            Err(_) => piece = end / 2,
        }
    }
    (done, None)
}

fn ends_with_newline(path: &Path, len: u64) -> bool {
    let last = || -> io::Result<u8> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(len - 1))?;
        let mut b = [0u8];
        f.read_exact(&mut b)?;
        Ok(b[0])
    };
    last().map_or(true, |b| b == b'\n')
}

#[cfg(unix)]
fn file_id(md: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((md.dev(), md.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Opens the stream file if it is not open or its path no longer names it.
fn open_output<'a>(out: &'a mut Option<Output>, path: &Path) -> Result<&'a mut Output, Failure> {
    if out.as_ref().is_some_and(|o| !o.is_at(path)) {
        *out = None;
    }
    if out.is_none() {
        *out = Some(Output::open(path).map_err(|e| Failure::new("opening", path, &e))?);
    }
    out.as_mut().ok_or_else(|| {
        Failure::new(
            "opening",
            path,
            &io::Error::other("the file was not opened"),
        )
    })
}

/// A line waiting to be written.
enum Entry {
    /// An event's line, already formatted: bytes `start..end` of the worker's `text`,
    /// as offsets from the first byte `text` ever held (see `Worker::text_base`).
    Event {
        start: u64,
        end: u64,
    },
    Gap(Gap),
}

/// The exporter's current faults, published as one health reason.
#[derive(Default)]
struct Faults {
    write: Option<String>,
    rotate: Option<String>,
    maintain: Option<String>,
    snapshot: Option<String>,
    /// What the recorder shows now.
    shown: ShownFault,
}

impl Faults {
    fn publish(&mut self, rec: &Recorder) {
        let all: Vec<&str> = [&self.write, &self.rotate, &self.maintain, &self.snapshot]
            .into_iter()
            .filter_map(|f| f.as_deref())
            .collect();
        let now = (!all.is_empty()).then(|| all.join("; "));
        self.shown.show(rec, FAULT_COMPONENT, now.as_deref());
    }
}

/// The thread's state.
struct Worker {
    rec: Recorder,
    follower: Follower,
    cfg: ExporterConfig,
    naming: Naming,
    /// Compresses and prunes rotated files on its own thread.
    maintainer: Maintainer,
    out: Option<Output>,
    /// The sequence number the next rotated file gets (at least; taken names are
    /// skipped).
    next_seq: u64,
    snapshot: Option<SnapshotFile>,
    shared: Arc<Shared>,
    /// Lines read and not yet written, oldest first.
    pending: VecDeque<Entry>,
    /// Events (not gaps) in `pending`.
    pending_events: usize,
    /// The pending events' lines, back to back, formatted when read: the follower
    /// writes each event as JSON straight from the ring's bytes, and a write only
    /// copies lines (no owned record or allocation per event).
    text: Vec<u8>,
    /// The offset of `text[0]` among all bytes `text` ever held (grows as written
    /// lines are cut off its front).
    text_base: u64,
    /// Where each line of the last poll ends in `text` (reused).
    polled_ends: Vec<usize>,
    /// When `pending` last became non-empty.
    pending_since: Option<Instant>,
    chunk: Vec<u8>,
    /// Where each line of `chunk` ends (one per pending entry taken into it).
    ends: Vec<usize>,
    stats: ExporterStats,
    faults: Faults,
    /// The failed write that events are waiting on.
    failure: Option<Failure>,
    /// When to retry that write.
    retry_at: Option<Instant>,
    next_snapshot: Option<Instant>,
    next_maintain: Instant,
    /// The last flush ticket completed.
    flushed: u64,
}

impl Worker {
    fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let _exit = ExitGuard(Arc::clone(&shared));
        self.maintain();
        self.write_snapshot();
        loop {
            let (stop, requested) = shared.requests();
            // Everything recorded before the request (or close) is in this poll.
            self.poll();
            let now = Instant::now();
            let forced = stop || requested > self.flushed;
            if !self.pending.is_empty() && (forced || self.write_due(now)) {
                self.write(now);
            }
            if self.next_snapshot.is_some_and(|t| now >= t) {
                self.write_snapshot();
            }
            if now >= self.next_maintain {
                self.maintain();
            }
            let maintained = if requested > self.flushed && self.faults.maintain.is_some() {
                // A flush reports the directory as it is now, not as an earlier pass
                // found it.
                Some(self.maintainer.pass_now())
            } else {
                self.maintainer.take_failures()
            };
            self.collect_maintenance(maintained);
            self.publish();
            if requested > self.flushed {
                self.flushed = requested;
                let error = if self.pending.is_empty() {
                    None
                } else {
                    self.failure.clone()
                };
                shared.complete_flush(requested, |o| o.flush_error = error);
            }
            if stop {
                break;
            }
            let wait = self
                .next_deadline()
                .saturating_duration_since(Instant::now());
            shared.sleep(wait, self.flushed);
        }
        self.finish();
    }

    fn write_due(&self, now: Instant) -> bool {
        if self.retry_at.is_some_and(|t| now < t) {
            return false;
        }
        self.failure.is_some()
            || self.pending_events >= self.cfg.batch_events
            || self
                .pending_since
                .is_some_and(|t| now >= after(t, self.cfg.flush_interval))
    }

    fn next_deadline(&self) -> Instant {
        let mut d = self.follower.next_poll().min(self.next_maintain);
        if let Some(t) = self.retry_at {
            d = d.min(t);
        } else if let Some(t) = self.pending_since {
            d = d.min(after(t, self.cfg.flush_interval));
        }
        if let Some(t) = self.next_snapshot {
            d = d.min(t);
        }
        d
    }

    /// Reads everything new from the ring into `pending`.
    fn poll(&mut self) {
        let now = Instant::now();
        let mark = self.text.len();
        self.polled_ends.clear();
        let (lost, failed) = self
            .follower
            .poll_lines(now, &mut self.text, &mut self.polled_ends);
        // Not expected; left out of the stream and counted rather than stopping it.
        self.stats.lost += failed;
        let n = self.polled_ends.len();
        if lost > 0 {
            self.stats.lost += lost;
            // Before this batch's events.
            let at = Timestamp::now();
            if self.pending.is_empty() {
                self.pending_since = Some(now);
            }
            match self.pending.back_mut() {
                Some(Entry::Gap(g)) => {
                    g.lost += lost;
                    g.at = at;
                }
                _ => self.pending.push_back(Entry::Gap(Gap { lost, at })),
            }
        }
        if n > 0 {
            if self.pending.is_empty() {
                self.pending_since = Some(now);
            }
            self.pending_events += n;
            let base = self.text_base;
            let mut start = mark;
            for &end in &self.polled_ends {
                self.pending.push_back(Entry::Event {
                    start: base + start as u64,
                    end: base + end as u64,
                });
                start = end;
            }
        }
        if self.failure.is_some() {
            self.trim_backlog();
        }
    }

    /// Cuts the lines already written (or dropped) off the front of `text`: all of it
    /// once nothing is pending, else when they are more than half of it.
    fn compact_text(&mut self) {
        let front = self.pending.iter().find_map(|e| match e {
            Entry::Event { start, .. } => Some(*start),
            Entry::Gap(_) => None,
        });
        let cut = match front {
            None => self.text.len(),
            Some(start) => {
                let k = (start - self.text_base) as usize;
                if k <= self.text.len() / 2 {
                    return;
                }
                k
            }
        };
        self.text.drain(..cut);
        self.text_base += cut as u64;
    }

    /// While writes fail, keeps at most `BACKLOG_BATCHES × batch_events` events: the
    /// oldest go, counted, into a gap at the front.
    fn trim_backlog(&mut self) {
        let cap = self.cfg.batch_events.saturating_mul(BACKLOG_BATCHES);
        if self.pending_events <= cap {
            return;
        }
        let mut dropped = 0;
        while self.pending_events > cap {
            match self.pending.pop_front() {
                Some(Entry::Event { .. }) => {
                    self.pending_events -= 1;
                    self.stats.lost += 1;
                    dropped += 1;
                }
                // Already counted when it was noticed.
                Some(Entry::Gap(g)) => dropped += g.lost,
                None => break,
            }
        }
        let at = Timestamp::now();
        match self.pending.front_mut() {
            Some(Entry::Gap(g)) => {
                g.lost += dropped;
                g.at = at;
            }
            _ => self
                .pending
                .push_front(Entry::Gap(Gap { lost: dropped, at })),
        }
        self.compact_text();
    }

    fn write(&mut self, now: Instant) {
        match self.write_pending() {
            Ok(()) => {
                self.failure = None;
                self.retry_at = None;
                self.pending_since = None;
                self.faults.write = None;
            }
            Err(f) => {
                self.count(&f);
                self.faults.write = Some(f.reason());
                self.failure = Some(f);
                self.retry_at = Some(after(now, self.cfg.flush_interval));
                self.trim_backlog();
            }
        }
    }

    /// Writes the pending lines, rotating on the way; `Ok` when none is left.
    fn write_pending(&mut self) -> Result<(), Failure> {
        let mut rotation_failed = false;
        while !self.pending.is_empty() {
            let out = open_output(&mut self.out, &self.cfg.path)?;
            let limit = if out.regular && !rotation_failed {
                self.cfg.rotate_bytes
            } else {
                u64::MAX
            };
            self.chunk.clear();
            // A new file (or stream) starts with the header line naming the format's
            // version; it is written with the first lines, and counted in the bytes.
            if out.len == 0 {
                let _ = format::write_header(&mut self.chunk);
            }
            let head = self.chunk.len();
            // Where each taken entry's line ends in the chunk.
            self.ends.clear();
            let mut full = false;
            for entry in &self.pending {
                let before = self.chunk.len();
                let ok = match *entry {
                    Entry::Event { start, end } => {
                        let at = (start - self.text_base) as usize;
                        let to = (end - self.text_base) as usize;
                        self.chunk.extend_from_slice(&self.text[at..to]);
                        true
                    }
                    Entry::Gap(ref g) => format::write_gap(&mut self.chunk, g).is_ok(),
                };
                if !ok {
                    // Not expected for these types; skipped and counted rather than
                    // stopping the stream.
                    self.chunk.truncate(before);
                    self.ends.push(before);
                    continue;
                }
                // Over the limit, unless it is the file's first line (a line longer
                // than the limit still goes somewhere).
                if out.len + self.chunk.len() as u64 > limit && out.len + (before - head) as u64 > 0
                {
                    self.chunk.truncate(before);
                    full = true;
                    break;
                }
                self.ends.push(self.chunk.len());
                if self.chunk.len() >= CHUNK_BYTES {
                    break;
                }
            }
            // As many whole lines as fit: on a nearly full disk, every line that fits
            // goes out, and only the rest waits (counted exactly below).
            let (written, error) = append_whole_lines(&self.chunk, |piece| out.append(piece));
            let taken = self.ends.partition_point(|&end| end <= written);
            let (mut events, mut gaps, mut unserialisable) = (0, 0, 0);
            for (i, entry) in self.pending.drain(..taken).enumerate() {
                let empty = self.ends[i] == if i == 0 { head } else { self.ends[i - 1] };
                match entry {
                    Entry::Event { .. } if empty => unserialisable += 1,
                    Entry::Event { .. } => events += 1,
                    Entry::Gap(_) if empty => {}
                    Entry::Gap(_) => gaps += 1,
                }
            }
            self.pending_events -= (events + unserialisable) as usize;
            self.stats.events_written += events;
            self.stats.gaps += gaps;
            self.stats.lost += unserialisable;
            self.stats.bytes_written += written as u64;
            self.compact_text();
            if let Some(e) = error {
                return Err(Failure::new("writing", &self.cfg.path, &e));
            }
            if full {
                match self.rotate() {
                    Ok(()) => self.faults.rotate = None,
                    Err(f) => {
                        // Keep writing, past the limit, into the current file; retried
                        // with the next write.
                        self.count(&f);
                        self.faults.rotate = Some(f.reason());
                        rotation_failed = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// Renames the full current file to the next sequence number; the next write
    /// creates a new current file.
    fn rotate(&mut self) -> Result<(), Failure> {
        let path = &self.cfg.path;
        if let Some(mut out) = self.out.take() {
            // Complete and on disk before it gets its final name.
            let synced = out.repair().and_then(|()| out.file.sync_all());
            if let Err(e) = synced {
                self.out = Some(out);
                return Err(Failure::new("syncing", path, &e));
            }
        }
        // Only a regular file is ever renamed (never a device such as `/dev/full`).
        match fs::symlink_metadata(path) {
            Ok(md) if md.is_file() => {}
            Ok(_) => return Ok(()),
            Err(e) => return Err(Failure::new("rotating", path, &e)),
        }
        let mut seq = self.next_seq;
        while fs::symlink_metadata(self.naming.rotated(seq, false)).is_ok()
            || fs::symlink_metadata(self.naming.rotated(seq, true)).is_ok()
        {
            seq += 1;
        }
        let target = self.naming.rotated(seq, false);
        fs::rename(path, &target).map_err(|e| Failure::new("rotating", path, &e))?;
        self.next_seq = seq + 1;
        self.stats.files_rotated += 1;
        self.maintain();
        Ok(())
    }

    /// Asks for rotated files to be compressed and pruned (on the maintainer's thread).
    fn maintain(&mut self) {
        self.maintainer.wake();
        self.next_maintain = after(Instant::now(), MAINTAIN_EVERY);
    }

    /// Counts and shows what the maintainer's latest pass found failing.
    fn collect_maintenance(&mut self, failures: Option<Vec<Failure>>) {
        let Some(failures) = failures else {
            return;
        };
        for f in &failures {
            self.count(f);
        }
        self.faults.maintain = failures.first().map(Failure::reason);
    }

    /// Rewrites the snapshot file (if configured).
    fn write_snapshot(&mut self) -> Option<Failure> {
        let result = self.snapshot.as_ref()?.write(&self.rec);
        self.next_snapshot = Some(after(Instant::now(), self.cfg.snapshot_interval));
        match result {
            Ok(()) => {
                self.stats.snapshots_written += 1;
                self.faults.snapshot = None;
                None
            }
            Err(f) => {
                self.count(&f);
                self.faults.snapshot = Some(f.reason());
                Some(f)
            }
        }
    }

    fn count(&mut self, f: &Failure) {
        self.stats.io_errors += 1;
        self.stats.last_error = Some(f.reason());
    }

    fn publish(&mut self) {
        self.stats.pending = self.pending_events as u64;
        self.shared.publish(&self.stats);
        self.faults.publish(&self.rec);
    }

    /// The end, after the last round wrote what was recorded before `close()`.
    fn finish(&mut self) {
        let maintained = self.maintainer.finish();
        self.collect_maintenance(Some(maintained));
        let mut close_error = self.write_snapshot();
        if let Some(out) = self.out.take() {
            if let Err(e) = out.file.sync_all() {
                if out.regular {
                    let f = Failure::new("syncing", &self.cfg.path, &e);
                    self.count(&f);
                    close_error.get_or_insert(f);
                }
            }
        }
        if self.pending.is_empty() {
            self.faults = Faults {
                shown: std::mem::take(&mut self.faults.shown),
                ..Faults::default()
            };
        } else {
            let unwritten = self.pending_events as u64;
            self.stats.lost += unwritten;
            let why = self
                .failure
                .as_ref()
                .map_or_else(|| "no write attempted".to_owned(), Failure::reason);
            self.faults.write = Some(format!("closed with {unwritten} events unwritten: {why}"));
            close_error = self.failure.clone().or(close_error);
        }
        self.pending.clear();
        self.pending_events = 0;
        self.compact_text();
        self.publish();
        self.shared.update(|o| o.close_error = close_error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk with `free` bytes: a write is taken whole or refused (as
    /// `Output::append` leaves it), and space can come back.
    struct Disk {
        data: Vec<u8>,
        free: usize,
        attempts: usize,
    }

    impl Disk {
        fn append(&mut self, b: &[u8]) -> io::Result<()> {
            self.attempts += 1;
            if b.len() > self.free {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space"));
            }
            self.free -= b.len();
            self.data.extend_from_slice(b);
            Ok(())
        }
    }

    fn lines(n: usize, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let mut l = format!("{i:0len$}").into_bytes();
            l.truncate(len - 1);
            l.push(b'\n');
            out.extend_from_slice(&l);
        }
        out
    }

    #[test]
    fn a_nearly_full_disk_takes_every_line_that_fits() {
        // 1 MiB of 100-byte lines, 948 KiB free: all but the lines past the space.
        let bytes = lines(10_486, 100);
        let mut disk = Disk {
            data: Vec::new(),
            free: 948 << 10,
            attempts: 0,
        };
        let (done, err) = append_whole_lines(&bytes, |b| disk.append(b));
        assert!(err.is_some());
        assert_eq!(done, disk.data.len());
        assert_eq!(done % 100, 0, "whole lines only");
        assert_eq!(done, (948 << 10) / 100 * 100, "every line that fits");
        assert_eq!(&bytes[..done], &disk.data[..]);
        assert!(disk.attempts < 200, "{} attempts", disk.attempts);
        // Space comes back: the rest goes at the next try.
        disk.free = usize::MAX;
        let (rest, err) = append_whole_lines(&bytes[done..], |b| disk.append(b));
        assert!(err.is_none());
        assert_eq!(done + rest, bytes.len());
        assert_eq!(disk.data, bytes);
    }

    #[test]
    fn a_line_that_never_fits_stops_with_nothing_cut() {
        let bytes = lines(3, 50);
        let mut disk = Disk {
            data: Vec::new(),
            free: 120,
            attempts: 0,
        };
        let (done, err) = append_whole_lines(&bytes, |b| disk.append(b));
        assert_eq!((done, disk.data.len()), (100, 100));
        assert_eq!(err.unwrap().kind(), io::ErrorKind::StorageFull);
        let mut none = Disk {
            data: Vec::new(),
            free: 10,
            attempts: 0,
        };
        assert_eq!(append_whole_lines(&bytes, |b| none.append(b)).0, 0);
        // A last line without a newline counts as one line.
        let mut disk = Disk {
            data: Vec::new(),
            free: 1000,
            attempts: 0,
        };
        let (n, e) = append_whole_lines(b"a\nbc", |b| disk.append(b));
        assert_eq!((n, e.is_none()), (4, true));
    }
}
