//! Faults a node survives, each with the real failure: a writer process killed with
//! SIGKILL in the middle of its stream, a panicking alert channel, and a panicking
//! `Display` inside a `tracing` event, and (as root) a small tmpfs that fills while the
//! exporter writes and compresses rotated files, then grows. (`/dev/full`, a removed or
//! read-only directory and file-size limits are in `tests/exporter.rs`; OTLP outages,
//! refusals and stalls in `tests/otlp.rs`; webhook and SMTP receivers down and back in
//! `tests/alerts.rs`.)

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flightring::exporter::{read_stream_file_partial, Exporter, ExporterConfig, StreamLine};
use flightring::{Event, ImportError, ReadLimits, Recorder, Severity};

#[path = "support/temp_dir.rs"]
mod temp_dir;

/// The child of `a_writer_killed_mid_stream_leaves_lines_that_all_load`: records and
/// streams flat out until it is killed, saying `STREAMING` once the first lines are out.
#[test]
fn child_streams_until_killed() {
    let Ok(path) = std::env::var("FLIGHTRING_KILL_CHILD") else {
        return;
    };
    let rec = Recorder::builder().capacity(1 << 14).build().unwrap();
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            path: PathBuf::from(path),
            flush_interval: Duration::from_millis(1),
            batch_events: 64,
            rotate_bytes: 256 << 10,
            gzip: std::env::var_os("FLIGHTRING_KILL_GZIP").is_some(),
            ..ExporterConfig::default()
        },
    )
    .unwrap();
    let mut said = false;
    for i in 0u64.. {
        rec.record(
            &Event::new("block_received", Severity::Info)
                .peer("12D3KooWJBKrX7G3CCD7hCRuG4nNvJc2MEKd7VZAEyKdpFbS2LEF")
                .message("height=1000 hash=0x4f2a took_ms=12 from=/ip4/10.0.0.1/tcp/30303")
                .field("i", i),
        );
        if !said && exp.stats().events_written > 0 {
            println!("STREAMING");
            said = true;
        }
    }
}

/// The line an import error is about.
fn error_line(e: &ImportError) -> Option<usize> {
    match e {
        ImportError::Invalid { line, .. }
        | ImportError::Damaged { line, .. }
        | ImportError::InvalidUtf8 { line, .. }
        | ImportError::LineTooLong { line, .. } => Some(*line),
        _ => None,
    }
}

/// Runs the child, kills it with SIGKILL once `dir` holds `bytes`, and returns the
/// stream files it left.
fn kill_mid_stream(dir: &Path, gzip: bool, bytes: u64) -> Vec<PathBuf> {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_streams_until_killed", "--nocapture"])
        .env("FLIGHTRING_KILL_CHILD", dir.join("flight.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if gzip {
        cmd.env("FLIGHTRING_KILL_GZIP", "1");
    }
    let mut child = cmd.spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let streaming = out.lines().map_while(Result::ok).any(|l| l == "STREAMING");
    assert!(streaming, "the child never streamed");
    let size = || -> u64 {
        fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    let start = Instant::now();
    while size() < bytes && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no last pass
    child.wait().unwrap();
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// The events `read_stream_file_partial` keeps of `path`, checked against the file's
/// bytes: every newline-terminated line loads; a last line without one is reported
/// (its line number), never a failure of the lines before it.
fn check_file(path: &Path) -> Vec<u64> {
    let bytes = fs::read(path).unwrap();
    let (lines, err) = read_stream_file_partial(path, &ReadLimits::default());
    let events: Vec<u64> = lines
        .iter()
        .filter_map(|l| match l {
            StreamLine::Event(e) => e.metadata.get("i").and_then(|v| v.as_u64()),
            StreamLine::Gap(_) => None,
        })
        .collect();
    let plain = !bytes.starts_with(&[0x1f, 0x8b]);
    if plain {
        let whole = bytes.iter().filter(|&&b| b == b'\n').count();
        let torn = !bytes.is_empty() && !bytes.ends_with(b"\n");
        // Every whole line is an item but the first, the stream's version line (a file
        // the kill caught just after a rotation may be empty).
        assert_eq!(
            lines.len(),
            whole.saturating_sub(1),
            "{}: {err:?}",
            path.display()
        );
        match (&err, torn) {
            (None, false) => {}
            (Some(e), true) => assert_eq!(
                error_line(e),
                Some(whole + 1),
                "{}: the torn last line is reported: {e}",
                path.display()
            ),
            (e, torn) => panic!("{}: torn {torn}, error {e:?}", path.display()),
        }
    } else if let Some(e) = &err {
        // A gzip member cut short: what came before it is kept, the cut is named.
        assert!(
            matches!(e, ImportError::Damaged { .. }),
            "{}: {e}",
            path.display()
        );
    }
    events
}

#[test]
fn a_writer_killed_mid_stream_leaves_lines_that_all_load() {
    let dir = temp_dir::temp_dir("faults", "sigkill");
    let files = kill_mid_stream(&dir, false, 600 << 10);
    let mut all = Vec::new();
    for f in &files {
        all.extend(check_file(f));
    }
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "no event is in two files");
    assert!(n > 1_000, "{n} events in {files:?}");
    // The torn-line path, whatever byte the kill landed on: cut the largest file in
    // the middle of a line (the kill may have come between a rotation and the next
    // file).
    let largest = files
        .iter()
        .max_by_key(|f| fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .unwrap();
    let bytes = fs::read(largest).unwrap();
    let nl: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    assert!(nl.len() > 3, "{} lines in the current file", nl.len());
    let cut = dir.join("cut.jsonl");
    fs::write(&cut, &bytes[..nl[nl.len() / 2] + 20]).unwrap();
    let (lines, err) = read_stream_file_partial(&cut, &ReadLimits::default());
    assert_eq!(lines.len() + 1, nl.len() / 2 + 1);
    assert_eq!(
        err.as_ref().and_then(error_line),
        Some(nl.len() / 2 + 2),
        "{err:?}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_writer_killed_while_rotating_and_gzipping_leaves_files_that_load() {
    let dir = temp_dir::temp_dir("faults", "sigkill-gzip");
    let files = kill_mid_stream(&dir, true, 2 << 20);
    assert!(files.len() > 1, "rotated: {files:?}");
    let mut all = Vec::new();
    // A `.tmp` is a compression the kill cut short: not a stream file (the next start
    // removes it, see `retention_by_count_and_age_and_crash_leftovers`).
    for f in files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "tmp"))
    {
        all.extend(check_file(f));
    }
    assert!(all.len() > 1_000, "{} events in {files:?}", all.len());
    let _ = fs::remove_dir_all(&dir);
}

/// A channel of a user's own whose formatter panics on the alerts it is given first.
#[cfg(feature = "alerts")]
struct Bomb {
    panics_left: u32,
    got: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[cfg(feature = "alerts")]
impl flightring::alert::Channel for Bomb {
    fn name(&self) -> &str {
        "bomb"
    }
    fn deliver(
        &mut self,
        alert: &flightring::alert::Alert,
    ) -> Result<(), flightring::alert::DeliveryError> {
        if self.panics_left > 0 {
            self.panics_left -= 1;
            panic!("formatter bug on {}", alert.key);
        }
        self.got.lock().unwrap().push(alert.key.clone());
        Ok(())
    }
}

#[cfg(feature = "alerts")]
#[test]
fn a_panicking_alert_channel_fails_that_alert_and_delivers_the_next() {
    use flightring::alert::{Alert, AlertManager};
    use flightring::monitor::MissSeverity;
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let got = std::sync::Arc::default();
    let mgr = AlertManager::builder()
        .channel(Bomb {
            panics_left: 1,
            got: std::sync::Arc::clone(&got),
        })
        .retry(3, Duration::from_millis(1), Duration::from_millis(2))
        .throttle_window(Duration::ZERO)
        .recorder(rec.clone())
        .build()
        .unwrap();
    let alert = |key: &str| Alert::new("r", key, MissSeverity::High, "title", "why");
    mgr.send(alert("first"));
    assert!(
        mgr.flush(Duration::from_secs(10)),
        "the channel's thread lives"
    );
    let s = mgr.stats().channels[0].clone();
    assert_eq!((s.failed, s.retries, s.delivered), (1, 0, 0), "{s:?}");
    let why = s.last_error.unwrap();
    assert!(
        why.contains("panicked") && why.contains("formatter bug on first"),
        "{why}"
    );
    mgr.send(alert("second"));
    assert!(mgr.flush(Duration::from_secs(10)));
    assert_eq!(*got.lock().unwrap(), ["second"]);
    assert_eq!(mgr.stats().channels[0].delivered, 1);
    // The failure is an event like any other, and recording goes on.
    let snap = rec.snapshot();
    assert!(snap
        .events()
        .iter()
        .any(|e| e.kind == "alert_delivery_failed"));
    rec.record(&Event::new("after", Severity::Info));
    assert!(rec.snapshot().events().iter().any(|e| e.kind == "after"));
}

#[cfg(feature = "tracing")]
#[test]
fn a_panicking_display_in_a_tracing_event_leaves_the_recorder_working() {
    use flightring::integrations::tracing::FlightringLayer;
    use tracing_subscriber::layer::SubscriberExt;
    struct Bad;
    impl std::fmt::Display for Bad {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("Display bug")
        }
    }
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(FlightringLayer::new(rec.clone())),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("ok");
        let r = std::panic::catch_unwind(|| {
            tracing::warn!(value = %Bad, "never whole");
        });
        assert!(
            r.is_err(),
            "the panic reaches the caller, as with any subscriber"
        );
        tracing::info!(n = 3u64, "still recording");
    });
    let messages: Vec<String> = rec
        .snapshot()
        .events()
        .iter()
        .map(|e| e.message.clone())
        .collect();
    assert!(messages.iter().any(|m| m == "ok"), "{messages:?}");
    assert!(
        messages.iter().any(|m| m == "still recording"),
        "{messages:?}"
    );
    let kinds = messages;
    // Plain recording and every read still work: nothing was left locked or half-done.
    rec.record(&Event::new("plain", Severity::Info));
    assert_eq!(rec.stats().total_recorded as usize, kinds.len() + 1);
    assert!(rec.health().reasons.iter().all(|r| !r.contains("poison")));
}

/// A tmpfs mounted for one test (needs root; `mount` refuses otherwise), unmounted and
/// removed when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts `kib` KiB at a fresh directory, or says why it cannot.
    fn mount(name: &str, kib: u64) -> Result<Tmpfs, String> {
        let dir = temp_dir::temp_dir("faults", name);
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            let _ = fs::remove_dir_all(&dir);
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs(dir))
    }

    /// `mount -o remount,<opts>`. (Not `ro`: the kernel refuses it, busy, while the
    /// exporter holds its file open for writing.)
    fn remount(&self, opts: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount {opts}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The events (their `i`) and the gap lines' sum in every stream file of `path`, each
/// file loaded whole by the library's reader.
fn load_stream(path: &Path) -> (Vec<u64>, u64, Vec<PathBuf>) {
    let files = flightring::exporter::stream_files(path).unwrap();
    let (mut events, mut lost) = (Vec::new(), 0);
    for f in &files {
        let lines = flightring::exporter::read_stream_file(f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for l in lines {
            match l {
                StreamLine::Event(e) => events.push(e.metadata.get("i").unwrap().as_u64().unwrap()),
                StreamLine::Gap(g) => lost += g.lost,
            }
        }
    }
    (events, lost, files)
}

/// Records `n` realistic events numbered from `*next`.
fn record_n(rec: &Recorder, next: &mut u64, n: u64) {
    for _ in 0..n {
        rec.record(
            &Event::new("block_received", Severity::Info)
                .peer("12D3KooWJBKrX7G3CCD7hCRuG4nNvJc2MEKd7VZAEyKdpFbS2LEF")
                .message("height=1000 hash=0x4f2a took_ms=12 from=/ip4/10.0.0.1/tcp/30303")
                .field("i", *next),
        );
        *next += 1;
    }
}

/// Retries `flush()` until it succeeds (the first retries after space returns may
/// still meet the fault a pass saw a moment before).
fn flush_until_ok(exp: &Exporter) {
    let t = Instant::now();
    loop {
        match exp.flush() {
            Ok(()) => return,
            Err(e) => assert!(t.elapsed() < Duration::from_secs(10), "still failing: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The checks after a fault and its recovery: every event recorded was written once or
/// counted lost, the gap lines say exactly how many, every file loads whole, every
/// rotated file ended up compressed, and the events recorded after recovery are all
/// there.
fn check_recovered(rec: &Recorder, exp: Exporter, path: &Path, after: std::ops::Range<u64>) {
    exp.close().unwrap();
    let st = exp.stats();
    eprintln!("after recovery: {st:?}");
    let recorded = rec.stats().total_recorded;
    assert_eq!(rec.stats().dropped, 0);
    assert_eq!(st.events_written + st.lost, recorded, "{st:?}");
    assert!(st.lost > 0, "the fault cost events, counted: {st:?}");
    let (mut events, gap_sum, files) = load_stream(path);
    assert_eq!(events.len() as u64, st.events_written, "{files:?}");
    assert_eq!(gap_sum, st.lost, "the gap lines say exactly what was lost");
    for f in &files[..files.len() - 1] {
        assert!(
            f.to_string_lossy().ends_with(".gz"),
            "rotated files are compressed once space is back: {files:?}"
        );
    }
    let tail: Vec<u64> = events[events.len() - after.clone().count()..].to_vec();
    assert_eq!(
        tail,
        after.collect::<Vec<_>>(),
        "after recovery, every event"
    );
    let n = events.len();
    events.sort_unstable();
    events.dedup();
    assert_eq!(events.len(), n, "no event written twice");
}

#[test]
fn a_small_tmpfs_filling_while_writing_and_rotating_recovers_when_space_returns() {
    let fs_ = match Tmpfs::mount("tmpfs-full", 256) {
        Ok(m) => m,
        Err(why) => {
            // Without root the disk-full path is still tested on /dev/full
            // (tests/exporter.rs a_full_device_degrades_health_and_recording_goes_on).
            eprintln!("no tmpfs here ({why}); nothing to check");
            return;
        }
    };
    let path = fs_.0.join("flight.jsonl");
    let rec = Recorder::builder().capacity(1 << 16).build().unwrap();
    let exp = Exporter::start(
        &rec,
        ExporterConfig {
            path: path.clone(),
            batch_events: 64,
            flush_interval: Duration::from_millis(5),
            rotate_bytes: 32 << 10,
            keep_files: 1000,
            gzip: true,
            ..ExporterConfig::default()
        },
    )
    .unwrap();
    let mut next = 0;
    // Fill it: rotations keep coming (each leaves a compressed file behind) until a
    // write or a compression finds no space.
    let full = loop {
        record_n(&rec, &mut next, 100);
        if let Err(e) = exp.flush() {
            break e;
        }
        assert!(next < 200_000, "256 KiB never filled");
    };
    assert!(full.to_string().contains("os error 28"), "ENOSPC: {full}");
    eprintln!("full after {next} events: {full}; {:?}", exp.stats());
    assert!(exp.stats().files_rotated > 0, "it filled while rotating");
    let h = rec.health();
    assert_eq!(h.status, flightring::HealthStatus::Degraded, "{h:?}");
    assert!(
        h.reasons
            .iter()
            .any(|r| r.starts_with("exporter:") && r.contains("os error 28")),
        "{:?}",
        h.reasons
    );
    // Recording goes on while the disk is full.
    let before = rec.stats().total_recorded;
    record_n(&rec, &mut next, 5_000);
    assert_eq!(rec.stats().total_recorded, before + 5_000);
    assert!(exp.flush().is_err(), "still full");
    // Space returns.
    fs_.remount("size=64m");
    flush_until_ok(&exp);
    assert!(
        rec.health().reasons.iter().all(|r| !r.contains("exporter")),
        "the fault clears once writes succeed: {:?}",
        rec.health().reasons
    );
    let from = next;
    record_n(&rec, &mut next, 2_000);
    check_recovered(&rec, exp, &path, from..next);
}
