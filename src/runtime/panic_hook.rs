//! Post-mortem dump on panic: [`install_panic_hook`], [`PanicHook`] (where the hook's
//! behaviour and the dump format are documented), [`PanicDump`].

use std::cell::Cell;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::event::EventRecord;
use crate::model::Timestamp;
use crate::read::export::ImportError;
use crate::read::snapshot::{Events, Snapshot};
use crate::read::Shared;
use crate::recorder::Recorder;

/// The `schema` value of a panic dump.
pub const PANIC_SCHEMA: &str = "flightring.panic";
/// The version of the panic dump format.
pub const PANIC_SCHEMA_VERSION: u32 = 1;

thread_local! {
    /// Set on the thread writing a dump, so a panic while dumping is not dumped again.
    static IN_DUMP: Cell<bool> = const { Cell::new(false) };
}

/// Installs a panic hook that writes `rec`'s retained events, stats and health to
/// `path` (a file, or a directory to write a new file in) when any thread panics; see
/// [`PanicHook`]. Same as `PanicHook::new(path).install(rec)`.
///
/// Fails if the directory the dumps would go to does not exist, or if called while the
/// current thread is panicking.
///
/// ```no_run
/// let rec = flightring::Recorder::builder().capacity(65_536).build()?;
/// flightring::install_panic_hook(&rec, "/var/log/mynode")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn install_panic_hook(rec: &Recorder, path: impl Into<PathBuf>) -> io::Result<()> {
    PanicHook::new(path).install(rec)
}

/// A post-mortem dump hook with options; [`PanicHook::install`] installs it.
///
/// The hook chains onto the panic hook installed before it (`std::panic::take_hook`).
/// When any thread panics it writes the recorder's newest events, stats and health to a
/// JSON file, reports the file on stderr, and then calls the previous hook (which
/// usually prints the panic message).
///
/// # The dump file
///
/// ```text
/// {
///   "schema": "flightring.panic", "schema_version": 1,
///   "panic": {                          // a PanicRecord
///     "message": "index out of bounds: …",
///     "location": { "file": "src/node.rs", "line": 42, "column": 9 },   // or null
///     "thread": "worker-3",             // or null for an unnamed thread
///     "thread_id": "ThreadId(7)",
///     "timestamp": "2026-11-22T05:54:58.123456789Z",
///     "pid": 4242,
///     "backtrace": "…",                 // null unless RUST_BACKTRACE asks for one
///     "events_retained": 65536,         // events in the ring at the panic
///     "events_written": 1000            // events in "snapshot" (the newest ones)
///   },
///   "snapshot": { … }                   // the export document (README, "Export format")
/// }
/// ```
///
/// `snapshot` is exactly what [`Recorder::export_json`] writes, so
/// [`PanicDump::from_json`] (or [`Snapshot::from_json`] on that member) loads it back.
///
/// # Where
///
/// The path given is a file, or an existing directory: then each dump goes to a new
/// file in it, `flightring-panic-<RFC 3339 time, ':' as '-'>-<pid>[-<n>].json`. A file
/// path is overwritten by a later panic's dump; use a directory to keep each. Either
/// way a dump is written to a temporary file in the same directory, synced, and renamed
/// into place, so a reader never sees half a dump. At most
/// [`PanicHook::max_dumps`] dumps are written per installed hook (default 16), so a
/// panic loop cannot fill the disk.
///
/// # Safety of the hook
///
/// - It works while other threads keep recording: a snapshot never blocks writers.
/// - It never panics: every failure is reported on stderr and the previous hook still
///   runs. The dump is taken on a helper thread inside `catch_unwind`; a panic there is
///   reported, not re-dumped.
/// - It does not deadlock when the panicking thread holds a lock the dump needs (a
///   recorder's health or peer table): the panicking thread waits for the helper at
///   most [`PanicHook::timeout`] (default 10 s), then reports the time-out and goes on.
///   If no thread can be spawned, the dump is written on the panicking thread.
/// - It holds the recorder weakly: it does not keep a dropped recorder (or its sweeper
///   thread) alive; after the recorder is gone the hook only calls the previous one.
///
///
/// ```no_run
/// use std::time::Duration;
/// use flightring::{PanicHook, Recorder};
/// let rec = Recorder::new();
/// PanicHook::new("crash.json")
///     .max_events(10_000)
///     .timeout(Duration::from_secs(30))
///     .install(&rec)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "builders do nothing unless used"]
#[derive(Debug, Clone)]
pub struct PanicHook {
    path: PathBuf,
    max_events: Option<usize>,
    max_dumps: u32,
    timeout: Duration,
}

impl PanicHook {
    /// A hook writing to `path` (a file, or an existing directory), with every retained
    /// event, at most 16 dumps, a 10 s time-out.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PanicHook {
            path: path.into(),
            max_events: None,
            max_dumps: 16,
            timeout: Duration::from_secs(10),
        }
    }

    /// Writes only the newest `n` events (default: all retained).
    pub fn max_events(mut self, n: usize) -> Self {
        self.max_events = Some(n);
        self
    }

    /// Writes at most `n` dumps over the hook's life (default 16); later panics are only
    /// reported on stderr.
    pub fn max_dumps(mut self, n: u32) -> Self {
        self.max_dumps = n;
        self
    }

    /// How long the panicking thread waits for the dump (default 10 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Installs the hook for `rec`, chained onto the current one.
    pub fn install(self, rec: &Recorder) -> io::Result<()> {
        if thread::panicking() {
            return Err(io::Error::other(
                "cannot install a panic hook while the thread is panicking",
            ));
        }
        let into_dir = self.path.is_dir();
        let dir = if into_dir {
            self.path.clone()
        } else {
            match self.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "panic dump directory {} does not exist (for {})",
                    dir.display(),
                    self.path.display()
                ),
            ));
        }
        let state = Arc::new(HookState {
            recorder: Arc::downgrade(&rec.inner),
            opts: self,
            into_dir,
            dumps: AtomicU32::new(0),
        });
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            state.on_panic(info);
            prev(info);
        }));
        Ok(())
    }
}

/// Where a panic happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanicLocation {
    /// Source file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The `panic` member of a dump: what panicked, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanicRecord {
    /// The panic message (`"Box<dyn Any>"` when the payload is not a string).
    pub message: String,
    /// Where it panicked, when known.
    pub location: Option<PanicLocation>,
    /// The panicking thread's name, if it has one.
    pub thread: Option<String>,
    /// The panicking thread's id, as `Debug` prints it.
    pub thread_id: String,
    /// When it panicked.
    pub timestamp: Timestamp,
    /// The process id.
    pub pid: u32,
    /// A backtrace, when `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` enables them.
    pub backtrace: Option<String>,
    /// Events the ring retained at the panic.
    pub events_retained: usize,
    /// Events written to `snapshot`: the newest `min(retained, max_events)`.
    pub events_written: usize,
}

impl PanicRecord {
    fn from_info(info: &PanicHookInfo<'_>) -> Self {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_owned());
        let me = thread::current();
        let bt = std::backtrace::Backtrace::capture();
        PanicRecord {
            message,
            location: info.location().map(|l| PanicLocation {
                file: l.file().to_owned(),
                line: l.line(),
                column: l.column(),
            }),
            thread: me.name().map(str::to_owned),
            thread_id: format!("{:?}", me.id()),
            timestamp: Timestamp::now(),
            pid: std::process::id(),
            backtrace: (bt.status() == std::backtrace::BacktraceStatus::Captured)
                .then(|| bt.to_string()),
            events_retained: 0,
            events_written: 0,
        }
    }
}

/// A panic dump loaded back; the format is described on [`PanicHook`].
#[derive(Debug, Clone)]
pub struct PanicDump {
    /// What panicked.
    pub panic: PanicRecord,
    /// The recorder's events, stats, health and config at the panic.
    pub snapshot: Snapshot,
}

impl PanicDump {
    /// Loads a dump. Errors inside `snapshot` give positions in that member as
    /// re-serialised on one line, with paths starting at the snapshot's top.
    pub fn from_json(s: &str) -> Result<PanicDump, ImportError> {
        #[derive(Deserialize)]
        struct Doc {
            schema: String,
            schema_version: u32,
            panic: PanicRecord,
            snapshot: serde_json::Value,
        }
        let doc: Doc = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(s))
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                ImportError::Invalid {
                    line: inner.line(),
                    column: inner.column(),
                    path,
                    message: inner.to_string(),
                }
            })?;
        if doc.schema != PANIC_SCHEMA {
            return Err(ImportError::Schema { found: doc.schema });
        }
        if doc.schema_version > PANIC_SCHEMA_VERSION {
            return Err(ImportError::Version {
                found: doc.schema_version,
                supported: PANIC_SCHEMA_VERSION,
            });
        }
        let snapshot = Snapshot::from_json(&doc.snapshot.to_string())?;
        Ok(PanicDump {
            panic: doc.panic,
            snapshot,
        })
    }
}

struct HookState {
    recorder: Weak<Shared>,
    opts: PanicHook,
    /// Whether `opts.path` was a directory at install (each dump a new file in it).
    into_dir: bool,
    /// Dumps started so far, `0..=max_dumps` (counts past it are not stored).
    dumps: AtomicU32,
}

impl HookState {
    /// Runs in the panicking thread, before the previous hook. Must not panic.
    fn on_panic(&self, info: &PanicHookInfo<'_>) {
        if IN_DUMP.with(Cell::get) {
            eprintln!("flightring: panicked while writing a panic dump; not dumped again");
            return;
        }
        let Some(inner) = self.recorder.upgrade() else {
            return;
        };
        let rec = Recorder { inner };
        let n = self
            .dumps
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.opts.max_dumps).then_some(n + 1)
            });
        let Ok(seq) = n else {
            eprintln!(
                "flightring: {} panic dumps written already; this panic is not dumped",
                self.opts.max_dumps
            );
            return;
        };
        let record = PanicRecord::from_info(info);
        let job = {
            let max_events = self.opts.max_events;
            let target = dump_path(&self.opts.path, self.into_dir, &record, seq);
            move || {
                IN_DUMP.with(|f| f.set(true));
                let r = panic::catch_unwind(AssertUnwindSafe(|| {
                    write_dump(&rec, record, max_events, &target, seq)
                }));
                IN_DUMP.with(|f| f.set(false));
                r
            }
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let job = Arc::new(std::sync::Mutex::new(Some(job)));
        let for_thread = Arc::clone(&job);
        let spawned = thread::Builder::new()
            .name("flightring-panic-dump".into())
            .spawn(move || {
                let job = for_thread.lock().ok().and_then(|mut j| j.take());
                if let Some(job) = job {
                    let _ = tx.send(job());
                }
            });
        let outcome = match spawned {
            Ok(_) => match rx.recv_timeout(self.opts.timeout) {
                Ok(r) => r,
                Err(_) => {
                    eprintln!(
                        "flightring: the panic dump did not finish within {:?}; going on",
                        self.opts.timeout
                    );
                    return;
                }
            },
            // No thread to be had: dump here (a panic in it would abort the process).
            Err(_) => match job.lock().ok().and_then(|mut j| j.take()) {
                Some(job) => job(),
                None => return,
            },
        };
        match outcome {
            Ok(Ok((path, written))) => eprintln!(
                "flightring: post-mortem dump of {written} events written to {}",
                path.display()
            ),
            Ok(Err(e)) => eprintln!(
                "flightring: writing the panic dump to {} failed: {e}",
                self.opts.path.display()
            ),
            Err(_) => eprintln!("flightring: writing the panic dump panicked; no dump"),
        }
    }
}

/// The file a dump goes to.
fn dump_path(path: &Path, into_dir: bool, record: &PanicRecord, seq: u32) -> PathBuf {
    if into_dir {
        let time = record.timestamp.to_string().replace(':', "-");
        let suffix = if seq == 0 {
            String::new()
        } else {
            format!("-{seq}")
        };
        path.join(format!(
            "flightring-panic-{time}-{}{suffix}.json",
            record.pid
        ))
    } else {
        path.to_owned()
    }
}

/// Takes the snapshot and writes the dump to `target` (through a temporary file beside
/// it); returns the file and the events written.
fn write_dump(
    rec: &Recorder,
    mut record: PanicRecord,
    max_events: Option<usize>,
    target: &Path,
    seq: u32,
) -> io::Result<(PathBuf, usize)> {
    let snap = rec.snapshot();
    record.events_retained = snap.len();
    let snap = newest(snap, max_events);
    record.events_written = snap.len();
    let name = target.file_name().map_or_else(
        || "flightring-panic".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = target.with_file_name(format!(".{name}.tmp-{}-{seq}", record.pid));
    let result = write_file(&tmp, &record, &snap).and_then(|()| fs::rename(&tmp, target));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| (target.to_owned(), record.events_written))
}

fn write_file(tmp: &Path, record: &PanicRecord, snap: &Snapshot) -> io::Result<()> {
    let mut w = BufWriter::new(File::create(tmp)?);
    write!(
        w,
        "{{\"schema\":\"{PANIC_SCHEMA}\",\"schema_version\":{PANIC_SCHEMA_VERSION},\"panic\":"
    )?;
    serde_json::to_writer(&mut w, record)?;
    w.write_all(b",\"snapshot\":")?;
    snap.write_json(&mut w).map_err(io::Error::other)?;
    w.write_all(b"}\n")?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()
}

/// `snap` with only its newest `max` events (all when `max` is `None`).
fn newest(snap: Snapshot, max: Option<usize>) -> Snapshot {
    let len = snap.len();
    match max {
        Some(n) if n < len => {
            let events: Vec<EventRecord> = (len - n..len).filter_map(|i| snap.get(i)).collect();
            Snapshot {
                taken_at: snap.taken_at,
                config: snap.config,
                stats: snap.stats,
                health: snap.health,
                events: Events::Owned(events),
            }
        }
        _ => snap,
    }
}
