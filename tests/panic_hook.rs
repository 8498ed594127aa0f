//! The post-mortem panic hook, tested in child processes: each parent test re-runs this
//! test binary with `FLIGHTRING_PANIC_CHILD=<mode>|<path>` and a filter for
//! `child_process`, which installs the hook and panics (from a thread while others keep
//! recording, or from its own thread); the parent checks the exit status, stderr and
//! the dump file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use flightring::{Event, PanicDump, PanicHook, Recorder, Severity};

const CHILD: &str = "FLIGHTRING_PANIC_CHILD";

#[path = "support/temp_dir.rs"]
mod shared_temp_dir;

fn temp_dir(name: &str) -> PathBuf {
    shared_temp_dir::temp_dir("panic", name)
}

/// Runs `child_process` in a child with `mode` and `path`.
fn run_child(mode: &str, path: &Path) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{mode}|{}", path.display()))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The dump files in `dir` (not temporary files).
fn dumps(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("flightring-panic-") && n.ends_with(".json")
        })
        .collect();
    v.sort();
    v
}

/// Starts `n` threads recording until `stop`; returns their handles and the count.
fn writers(
    rec: &Recorder,
    n: usize,
    stop: &Arc<AtomicBool>,
) -> (Vec<thread::JoinHandle<()>>, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let handles = (0..n)
        .map(|i| {
            let (rec, stop, count) = (rec.clone(), Arc::clone(stop), Arc::clone(&count));
            thread::spawn(move || {
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    rec.record(
                        &Event::new("tick", Severity::Debug)
                            .message("writer tick")
                            .field("writer", i as u64)
                            .field("k", k),
                    );
                    k += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                    // Paced, so the ring (65 536 events) holds the panicking thread's
                    // last event for a good second after the panic.
                    if k.is_multiple_of(64) {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();
    (handles, count)
}

/// The body of every child; does nothing unless `FLIGHTRING_PANIC_CHILD` is set.
#[test]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let (mode, path) = spec.split_once('|').unwrap();
    let rec = Recorder::builder()
        .capacity(1 << 16)
        .shards(2)
        .build()
        .unwrap();
    let panic_in_thread = |name: &str, rec: &Recorder, msg: String| {
        let rec = rec.clone();
        let r = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                rec.record(&Event::new("last", Severity::Critical).message("last words"));
                panic!("{msg}");
            })
            .unwrap()
            .join();
        assert!(r.is_err());
    };
    match mode {
        // A worker panics while three others keep recording; exit 42.
        "thread" => {
            flightring::install_panic_hook(&rec, path).unwrap();
            rec.record(&Event::new("boot", Severity::Info).message("before the panic"));
            let stop = Arc::new(AtomicBool::new(false));
            let (handles, count) = writers(&rec, 3, &stop);
            while count.load(Ordering::Relaxed) < 10_000 {
                thread::yield_now();
            }
            panic_in_thread("doomed-worker", &rec, format!("boom {}", 42));
            // The writers were never stopped: they still make progress.
            let after = count.load(Ordering::Relaxed);
            while count.load(Ordering::Relaxed) < after + 1_000 {
                thread::yield_now();
            }
            stop.store(true, Ordering::Relaxed);
            for h in handles {
                h.join().unwrap();
            }
            std::process::exit(42);
        }
        // The test's own thread panics; only the newest 10 events are written.
        "main" => {
            PanicHook::new(path).max_events(10).install(&rec).unwrap();
            for i in 0..100 {
                rec.record(&Event::new("step", Severity::Info).message(&format!("e{i}")));
            }
            panic!("main boom");
        }
        // The directory is gone by the time of the panic: reported, no panic; exit 43.
        "vanished" => {
            flightring::install_panic_hook(&rec, path).unwrap();
            std::fs::remove_dir_all(path).unwrap();
            panic_in_thread("w", &rec, "boom vanished".into());
            std::process::exit(43);
        }
        // The recorder is dropped: the hook only calls the previous one; exit 44.
        "dropped" => {
            flightring::install_panic_hook(&rec, path).unwrap();
            drop(rec);
            panic_in_thread("w", &Recorder::new(), "boom dropped".into());
            std::process::exit(44);
        }
        // Three panics, at most two dumps; exit 45.
        "many" => {
            PanicHook::new(path).max_dumps(2).install(&rec).unwrap();
            for i in 0..3 {
                panic_in_thread("w", &rec, format!("boom {i}"));
            }
            std::process::exit(45);
        }
        // The panicking thread gives up waiting at once and the process exits while
        // the dump may be half written: no half-written dump file appears; exit 46.
        "impatient" => {
            PanicHook::new(path)
                .timeout(Duration::ZERO)
                .install(&rec)
                .unwrap();
            for i in 0..2000 {
                rec.record(&Event::new("step", Severity::Info).message(&format!("e{i}")));
            }
            panic_in_thread("w", &rec, "boom impatient".into());
            std::process::exit(46);
        }
        // Gauges and a field hold NaN and the infinities when the process panics.
        "non_finite" => {
            PanicHook::new(path).install(&rec).unwrap();
            rec.set_gauge("probe_gauge", f64::NAN);
            rec.set_gauge("up", f64::INFINITY);
            rec.set_gauge("down", f64::NEG_INFINITY);
            rec.record(&Event::new("probe", Severity::Info).field("ratio", f64::NAN));
            panic!("non-finite boom");
        }
        other => panic!("unknown mode {other}"),
    }
}

#[test]
fn dump_when_a_thread_panics_while_others_record() {
    let dir = temp_dir("thread");
    let out = run_child("thread", &dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(42), "{err}");
    let files = dumps(&dir);
    assert_eq!(files.len(), 1, "{files:?}\n{err}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(!name.contains(':'), "{name}");
    // Nothing but the dump: the temporary file was renamed.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let text = std::fs::read_to_string(&files[0]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "flightring.panic");
    assert_eq!(v["schema_version"], 1);
    assert!(v["snapshot"]["stats"].is_object() && v["snapshot"]["health"].is_object());

    let dump = PanicDump::from_json(&text).unwrap();
    let p = &dump.panic;
    assert_eq!(p.message, "boom 42");
    assert_eq!(p.thread.as_deref(), Some("doomed-worker"));
    let loc = p.location.as_ref().unwrap();
    assert!(
        loc.file.ends_with("panic_hook.rs") && loc.line > 0,
        "{loc:?}"
    );
    assert!(p.pid > 0 && p.thread_id.starts_with("ThreadId("));
    assert!(p.backtrace.is_none(), "RUST_BACKTRACE unset");
    assert_eq!(p.events_written, dump.snapshot.len());
    assert_eq!(p.events_retained, p.events_written);

    let events = dump.snapshot.events();
    assert!(events.iter().any(|e| e.message == "last words"));
    assert!(events.iter().any(|e| e.kind == "tick"));
    assert!(dump.snapshot.stats().total_recorded >= 10_000);
    assert!(dump.snapshot.taken_at() >= p.timestamp);

    // The dump is reported, and the previous hook still printed the panic.
    assert!(err.contains("flightring: post-mortem dump of"), "{err}");
    assert!(
        err.contains("boom 42") && err.contains("doomed-worker"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dump_to_a_file_with_the_newest_events() {
    let dir = temp_dir("main");
    let path = dir.join("crash.json");
    let out = run_child("main", &path);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(101), "the test panicked: {err}");
    let dump = PanicDump::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(dump.panic.message, "main boom");
    assert_eq!(dump.panic.thread.as_deref(), Some("child_process"));
    assert_eq!(dump.panic.events_retained, 100);
    assert_eq!(dump.panic.events_written, 10);
    let messages: Vec<String> = dump
        .snapshot
        .events()
        .into_iter()
        .map(|e| e.message)
        .collect();
    let want: Vec<String> = (90..100).map(|i| format!("e{i}")).collect();
    assert_eq!(messages, want);
    assert!(err.contains("main boom"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dump_with_nan_and_infinite_gauges_loads() {
    let dir = temp_dir("non_finite");
    let path = dir.join("crash.json");
    let out = run_child("non_finite", &path);
    assert_eq!(out.status.code(), Some(101), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    let dump = PanicDump::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let g = &dump.snapshot.stats().gauges;
    assert!(g["probe_gauge"].is_nan(), "{g:?}");
    assert_eq!((g["up"], g["down"]), (f64::INFINITY, f64::NEG_INFINITY));
    let e = &dump.snapshot.events()[0];
    assert!(e.metadata.get("ratio").unwrap().as_f64().unwrap().is_nan());
    // The post-mortem tools open it too.
    let r = flightring::recording::Recording::open(&path).unwrap();
    assert!(r.stats.unwrap().gauges["probe_gauge"].is_nan());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_write_goes_to_stderr() {
    let dir = temp_dir("vanished");
    let out = run_child("vanished", &dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(43), "{err}");
    assert!(
        err.contains("flightring: writing the panic dump to"),
        "{err}"
    );
    assert!(err.contains("failed"), "{err}");
    assert!(
        err.contains("boom vanished"),
        "the previous hook ran: {err}"
    );
    assert!(!dir.exists());
}

#[test]
fn a_dropped_recorder_is_not_kept_alive() {
    let dir = temp_dir("dropped");
    let out = run_child("dropped", &dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(44), "{err}");
    assert!(!err.contains("flightring:"), "{err}");
    assert!(err.contains("boom dropped"), "{err}");
    assert!(dumps(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn at_most_max_dumps() {
    let dir = temp_dir("many");
    let out = run_child("many", &dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(45), "{err}");
    let files = dumps(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let mut messages: Vec<String> = files
        .iter()
        .map(|f| {
            PanicDump::from_json(&std::fs::read_to_string(f).unwrap())
                .unwrap()
                .panic
                .message
        })
        .collect();
    messages.sort();
    assert_eq!(messages, ["boom 0", "boom 1"]);
    assert!(err.contains("2 panic dumps written already"), "{err}");
    assert!(err.contains("boom 2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dump_cut_short_leaves_no_partial_file() {
    let dir = temp_dir("impatient");
    let out = run_child("impatient", &dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(46), "{err}");
    assert!(err.contains("did not finish within"), "{err}");
    for f in dumps(&dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        PanicDump::from_json(&text).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn install_checks_the_directory() {
    let rec = Recorder::builder().capacity(64).build().unwrap();
    let missing = std::env::temp_dir().join("flightring-no-such-dir/x/crash.json");
    let e = flightring::install_panic_hook(&rec, &missing).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(e.to_string().contains("flightring-no-such-dir"), "{e}");
}

#[test]
fn load_errors_are_typed() {
    assert!(PanicDump::from_json("{").is_err());
    let e = PanicDump::from_json(
        r#"{"schema":"other","schema_version":1,"panic":{"message":"m","location":null,
        "thread":null,"thread_id":"ThreadId(1)","timestamp":"2026-01-01T00:00:00Z","pid":1,
        "backtrace":null,"events_retained":0,"events_written":0},"snapshot":{}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("other"), "{e}");
}
