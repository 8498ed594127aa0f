//! Settings from environment variables (through a lookup function, and once from the
//! real environment of a child process) and from TOML files: good values, bad values
//! naming the variable or the line, unknown keys, and precedence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use flightring::{Recorder, Settings, SettingsError, Severity, ENV_VARS};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

fn from_env(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    Settings::from_env_map(env(pairs))
}

#[path = "support/temp_dir.rs"]
mod shared_temp_dir;

fn temp_dir(name: &str) -> PathBuf {
    shared_temp_dir::temp_dir("settings", name)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn no_variables_means_defaults() {
    let s = from_env(&[]).unwrap();
    assert_eq!(s.capacity, None);
    assert!(s.exporter.is_none());
    assert!(s.redaction.enabled);
    let rec = s.build().unwrap();
    assert_eq!(rec.capacity(), 65_536);
    // Empty values count as unset.
    let empty: Vec<(&str, &str)> = ENV_VARS.iter().map(|&v| (v, "")).collect();
    let s = from_env(&empty).unwrap();
    assert_eq!(s.capacity, None);
    assert!(s.exporter.is_none());
}

#[test]
fn every_variable_applies() {
    let s = from_env(&[
        ("FLIGHTRING_ENABLED", "off"),
        ("FLIGHTRING_OUTPUT", "/tmp/fr.jsonl"),
        ("FLIGHTRING_CAPACITY", "100_000"),
        ("FLIGHTRING_SHARDS", "4"),
        ("FLIGHTRING_SLOT_BYTES", "256"),
        ("FLIGHTRING_MIN_SEVERITY", "Warning"),
        ("FLIGHTRING_RETENTION", "1h30m"),
        ("FLIGHTRING_SWEEP_INTERVAL", "10s"),
        ("FLIGHTRING_HEALTH_INTERVAL", "250ms"),
        ("FLIGHTRING_REDACTION", "no"),
        ("FLIGHTRING_REDACT_KEYS", "session_id, otp,,"),
    ])
    .unwrap();
    assert_eq!(s.enabled, Some(false));
    assert_eq!(s.capacity, Some(100_000));
    assert_eq!(s.shards, Some(4));
    assert_eq!(s.slot_bytes, Some(256));
    assert_eq!(s.min_severity, Some(Severity::Warning));
    assert_eq!(s.retention, Some(Duration::from_secs(5_400)));
    assert_eq!(s.sweep_interval, Some(Duration::from_secs(10)));
    assert_eq!(s.health_interval, Some(Duration::from_millis(250)));
    let exporter = s.exporter.clone().unwrap();
    assert_eq!(exporter.path, PathBuf::from("/tmp/fr.jsonl"));
    assert_eq!(
        exporter.rotate_bytes,
        10 << 20,
        "other exporter settings default"
    );
    assert!(!s.redaction.enabled);
    assert_eq!(s.redaction.extra_deny_keys, ["session_id", "otp"]);

    let rec = s.build().unwrap();
    let c = rec.config();
    // 100,000 × 256 bytes over 4 shards, rounded down to 2^16 cells a shard.
    assert_eq!((c.capacity, c.shards, c.slot_bytes), (65_536, 4, 256));
    assert_eq!(c.min_severity, Severity::Warning);
    assert_eq!(c.retention, Duration::from_secs(5_400));
    assert!(!c.enabled && !rec.is_enabled());
}

#[test]
fn booleans_and_severities_in_any_case() {
    for (v, want) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("On", true),
        (" on ", true),
        ("false", false),
        ("0", false),
        ("No", false),
        ("OFF", false),
    ] {
        let s = from_env(&[("FLIGHTRING_ENABLED", v)]).unwrap();
        assert_eq!(s.enabled, Some(want), "{v}");
    }
    for (v, want) in [
        ("DEBUG", Severity::Debug),
        ("info", Severity::Info),
        ("Warning", Severity::Warning),
        ("warn", Severity::Warning),
        ("ERROR", Severity::Error),
        ("critical", Severity::Critical),
    ] {
        let s = from_env(&[("FLIGHTRING_MIN_SEVERITY", v)]).unwrap();
        assert_eq!(s.min_severity, Some(want), "{v}");
    }
}

#[test]
fn bad_values_name_the_variable_and_the_value() {
    for (var, value, reason) in [
        ("FLIGHTRING_ENABLED", "maybe", "expected true/false"),
        ("FLIGHTRING_CAPACITY", "lots", "whole number"),
        ("FLIGHTRING_CAPACITY", "-5", "whole number"),
        ("FLIGHTRING_CAPACITY", "0", "capacity must be at least 1"),
        ("FLIGHTRING_CAPACITY", "99999999999", "over the maximum"),
        ("FLIGHTRING_SHARDS", "0", "shards must be at least 1"),
        ("FLIGHTRING_SLOT_BYTES", "100", "slot_bytes must be one of"),
        (
            "FLIGHTRING_MAX_EVENT_BYTES",
            "20",
            "max_event_bytes must be between",
        ),
        (
            "FLIGHTRING_CAPACITY_BYTES",
            "10",
            "capacity_bytes must be between",
        ),
        ("FLIGHTRING_MIN_SEVERITY", "loud", "expected one of DEBUG"),
        ("FLIGHTRING_RETENTION", "forever", "expected a number"),
        ("FLIGHTRING_RETENTION", "10x", "unknown unit"),
        (
            "FLIGHTRING_RETENTION",
            "0s",
            "retention must be greater than zero",
        ),
        ("FLIGHTRING_SWEEP_INTERVAL", "5 parsecs", "missing unit"),
        ("FLIGHTRING_HEALTH_INTERVAL", "0", "greater than zero"),
        (
            "FLIGHTRING_HEALTH_INTERVAL",
            "1ns",
            "health_interval must be at least 10ms",
        ),
        (
            "FLIGHTRING_SWEEP_INTERVAL",
            "1ns",
            "sweep_interval must be at least 10ms",
        ),
        (
            "FLIGHTRING_RETENTION",
            "1ns",
            "retention must be at least 1s",
        ),
        ("FLIGHTRING_RESERVED_SHARE", "lots", "expected a fraction"),
        ("FLIGHTRING_RESERVED_SHARE", "1/0", "expected a fraction"),
        (
            "FLIGHTRING_RESERVED_SHARE",
            "90%",
            "reserved_share must be between",
        ),
        ("FLIGHTRING_REDACTION", "sometimes", "expected true/false"),
    ] {
        let e = from_env(&[(var, value)]).unwrap_err();
        match &e {
            SettingsError::Env {
                var: v,
                value: got,
                reason: r,
            } => {
                assert_eq!((*v, got.as_str()), (var, value));
                assert!(r.contains(reason), "{var}={value}: {r}");
            }
            other => panic!("{var}={value}: {other:?}"),
        }
        assert_eq!(e.var(), Some(var));
        let text = e.to_string();
        assert!(text.contains(var) && text.contains(value), "{text}");
    }
    // A combination is blamed on the variable that was set.
    let e = from_env(&[("FLIGHTRING_CAPACITY", "4"), ("FLIGHTRING_SHARDS", "8")]).unwrap_err();
    assert_eq!(e.var(), Some("FLIGHTRING_SHARDS"), "{e}");
    assert!(e.to_string().contains("must not exceed capacity"), "{e}");
}

const FULL: &str = r#"
# every setting
enabled = true
capacity = 4096
shards = 2
slot_bytes = 256
min_severity = "info"
retention = "2h"
sweep_interval = 30
health_interval = "500ms"
max_kinds = 100
max_histograms = 32
max_peers = 1000
histogram_max = 1_000_000

[health]
window = "30s"
error_rate_degraded = 0.1
overwrite_rate_degraded = 0.5

[exporter]
path = "out/events.jsonl"
batch_events = 100
flush_interval = "2s"
rotate_bytes = 1048576
keep_files = 3
max_age = "1d"
gzip = false
snapshot_path = "out/snapshot.json"
snapshot_interval = "1m"

[redaction]
enabled = true
extra_deny_keys = ["session_id"]
allow_keys = ["token_in"]
url_credentials = true
key_value_pairs = false
"#;

#[test]
fn toml_with_every_setting() {
    let s = Settings::from_toml_str(FULL).unwrap();
    assert_eq!(s.capacity, Some(4096));
    assert_eq!(s.min_severity, Some(Severity::Info));
    assert_eq!(s.retention, Some(Duration::from_secs(7_200)));
    assert_eq!(s.sweep_interval, Some(Duration::from_secs(30)));
    assert_eq!(s.health_interval, Some(Duration::from_millis(500)));
    assert_eq!(s.histogram_max, Some(1_000_000));
    let h = s.health.clone().unwrap();
    assert_eq!(h.window, Duration::from_secs(30));
    assert_eq!(h.error_rate_degraded, 0.1);
    assert_eq!(h.overwrite_rate_degraded, Some(0.5));
    assert_eq!(
        h.critical_unhealthy, 10,
        "unset health keys keep their defaults"
    );
    let x = s.exporter.clone().unwrap();
    assert_eq!(x.path, PathBuf::from("out/events.jsonl"));
    assert_eq!(x.flush_interval, Duration::from_secs(2));
    assert_eq!(x.max_age, Duration::from_secs(86_400));
    assert!(!x.gzip);
    assert_eq!(x.snapshot_path, Some(PathBuf::from("out/snapshot.json")));
    assert_eq!(s.redaction.allow_keys, ["token_in"]);
    assert!(!s.redaction.key_value_pairs);

    let rec = s.build().unwrap();
    let c = rec.config();
    assert_eq!((c.capacity, c.shards, c.slot_bytes), (4096, 2, 256));
    assert_eq!(c.max_peers, 1000);
    assert_eq!(c.health.window, Duration::from_secs(30));

    // An empty file is all defaults.
    let s = Settings::from_toml_str("").unwrap();
    assert!(s.capacity.is_none() && s.exporter.is_none());
}

fn file_error(text: &str) -> (usize, usize, Option<String>, String) {
    match Settings::from_toml_str(text) {
        Err(SettingsError::File {
            line,
            column,
            key,
            message,
            ..
        }) => (line, column, key, message),
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let (line, col, key, msg) = file_error("capacity = 10\ncapacty = 20\n");
    assert_eq!((line, col), (2, 1));
    assert_eq!(key.as_deref(), Some("capacty"));
    assert!(msg.starts_with("unknown key `capacty`"), "{msg}");

    let (line, _, key, msg) = file_error("capacity = 10\n\n[exporter]\npath = \"x\"\nrotate = 5\n");
    assert_eq!(line, 5);
    assert_eq!(key.as_deref(), Some("exporter.rotate"));
    assert!(
        msg.contains("rotate_bytes"),
        "suggests the known keys: {msg}"
    );

    let (line, _, key, _) = file_error("[redaction]\ndeny = [\"x\"]\n");
    assert_eq!((line, key.as_deref()), (2, Some("redaction.deny")));

    let (line, _, key, _) = file_error("[health]\nwindow = \"1m\"\nwindw = \"1m\"\n");
    assert_eq!((line, key.as_deref()), (3, Some("health.windw")));

    let (line, _, key, _) = file_error("[recorder]\ncapacity = 1\n");
    assert_eq!((line, key.as_deref()), (1, Some("recorder")));
}

#[test]
fn bad_values_in_toml_name_the_line() {
    for (text, want_line, want_key, want) in [
        ("capacity = \"lots\"\n", 1, "capacity", "invalid type"),
        (
            "\nmin_severity = \"loud\"\n",
            2,
            "min_severity",
            "unknown severity",
        ),
        (
            "retention = \"forever\"\n",
            1,
            "retention",
            "invalid duration",
        ),
        ("enabled = 1\n", 1, "enabled", "invalid type"),
        ("capacity = 0\n", 1, "capacity", "at least 1"),
        (
            "\nhealth_interval = \"1ns\"\n",
            2,
            "health_interval",
            "must be at least 10ms",
        ),
        (
            "sweep_interval = 0.001\n",
            1,
            "sweep_interval",
            "must be at least 10ms",
        ),
        (
            "retention = \"1ns\"\n",
            1,
            "retention",
            "must be at least 1s",
        ),
        ("\n\nslot_bytes = 100\n", 3, "slot_bytes", "must be one of"),
        (
            "[exporter]\nrotate_bytes = \"big\"\n",
            2,
            "exporter.rotate_bytes",
            "invalid type",
        ),
        (
            "[exporter]\nflush_interval = \"soon\"\n",
            2,
            "exporter.flush_interval",
            "invalid duration",
        ),
        (
            "[health]\nerror_rate_degraded = 2.0\n",
            1,
            "health.error_rate_degraded",
            "rates in 0..=1",
        ),
        ("capacity = 10\ncapacity = 11\n", 2, "", "duplicate key"),
        ("capacity = [\n", 2, "", ""),
    ] {
        let (line, _, key, msg) = file_error(text);
        assert_eq!(line, want_line, "{text:?}: {msg}");
        if !want_key.is_empty() {
            assert_eq!(key.as_deref(), Some(want_key), "{text:?}: {msg}");
        }
        assert!(msg.contains(want), "{text:?}: {msg}");
    }
}

#[test]
fn file_then_variables() {
    let dir = temp_dir("layer");
    let path = write(
        &dir,
        "fr.toml",
        "capacity = 4096\nmin_severity = \"error\"\nslot_bytes = 100\n[exporter]\npath = \"a.jsonl\"\n",
    );
    // The file alone is refused (slot_bytes), naming the file and line.
    let e = Settings::from_toml_file(&path).unwrap_err();
    assert_eq!(e.line(), Some(3), "{e}");
    assert!(e.to_string().contains("fr.toml: line 3"), "{e}");
    assert!(Recorder::from_toml_file(&path).is_err());

    // A variable overrides the file, including its bad value.
    let p = path.to_str().unwrap();
    let s = from_env(&[
        ("FLIGHTRING_CONFIG", p),
        ("FLIGHTRING_SLOT_BYTES", "128"),
        ("FLIGHTRING_CAPACITY", "8192"),
        ("FLIGHTRING_OUTPUT", "b.jsonl"),
    ])
    .unwrap();
    assert_eq!(s.capacity, Some(8192));
    assert_eq!(s.min_severity, Some(Severity::Error), "from the file");
    assert_eq!(s.exporter.unwrap().path, PathBuf::from("b.jsonl"));

    // Blame goes to where the bad value came from.
    let e = from_env(&[("FLIGHTRING_CONFIG", p), ("FLIGHTRING_CAPACITY", "8192")]).unwrap_err();
    assert_eq!(e.line(), Some(3), "{e}");

    let good = write(&dir, "good.toml", "capacity = 1024\nshards = 1\n");
    let rec = Recorder::from_toml_file(&good).unwrap();
    assert_eq!(rec.capacity(), 1024);

    let missing = dir.join("missing.toml");
    match Settings::from_toml_file(&missing) {
        Err(SettingsError::Io { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let e = from_env(&[("FLIGHTRING_CONFIG", missing.to_str().unwrap())]).unwrap_err();
    assert!(e.to_string().contains("missing.toml"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

const CHILD: &str = "FLIGHTRING_TEST_SETTINGS_CHILD";

/// Runs in a child process (see `recorder_from_the_real_environment`).
#[test]
fn child_reads_the_real_environment() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let rec = Recorder::from_env().unwrap();
    assert_eq!(rec.capacity(), 2048);
    assert_eq!(rec.min_severity(), Severity::Error);
    let s = Settings::from_env().unwrap();
    assert_eq!(s.exporter.unwrap().path, PathBuf::from("child.jsonl"));
}

/// `Recorder::from_env` in a child process given `FLIGHTRING_*` variables, so this
/// test never changes its own process's environment.
#[test]
fn recorder_from_the_real_environment() {
    let exe = std::env::current_exe().unwrap();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "child_reads_the_real_environment",
            "--test-threads=1",
        ]);
        for &v in ENV_VARS {
            cmd.env_remove(v);
        }
        cmd.env(CHILD, "1").envs(vars.iter().copied());
        cmd.output().unwrap()
    };
    let ok = run(&[
        ("FLIGHTRING_CAPACITY", "2048"),
        ("FLIGHTRING_SHARDS", "2"),
        ("FLIGHTRING_MIN_SEVERITY", "ERROR"),
        ("FLIGHTRING_OUTPUT", "child.jsonl"),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = run(&[("FLIGHTRING_CAPACITY", "many")]);
    assert!(!bad.status.success());
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("FLIGHTRING_CAPACITY") && out.contains("many"),
        "{out}"
    );
}

#[test]
fn ring_bytes_and_the_event_size_limit_from_the_environment_and_a_file() {
    let s = from_env(&[
        ("FLIGHTRING_CAPACITY_BYTES", "1048576"),
        ("FLIGHTRING_MAX_EVENT_BYTES", "4096"),
        ("FLIGHTRING_SHARDS", "2"),
    ])
    .unwrap();
    assert_eq!(
        (s.capacity_bytes, s.max_event_bytes),
        (Some(1 << 20), Some(4096))
    );
    let c = s.build().unwrap().config().clone();
    assert_eq!((c.capacity_bytes, c.max_event_bytes), (1 << 20, 4096));
    assert_eq!(c.capacity, (1 << 20) / 128, "events of slot_bytes each");
    let s = Settings::from_toml_str("capacity_bytes = 65536\nmax_event_bytes = 512\n").unwrap();
    let c = s.build().unwrap().config().clone();
    assert_eq!((c.capacity_bytes, c.max_event_bytes), (65_536, 512));
}

#[test]
fn the_reserved_share_from_the_environment_and_a_file() {
    for (value, share) in [
        ("1/4", 0.25),
        ("12.5%", 0.125),
        ("0.0625", 0.0625),
        ("0", 0.0),
    ] {
        let s = from_env(&[("FLIGHTRING_RESERVED_SHARE", value)]).unwrap();
        let c = s.build().unwrap().config().clone();
        assert_eq!(c.reserved_share, share, "{value}");
        assert_eq!(
            c.reserved_bytes as f64,
            c.capacity_bytes as f64 * share,
            "{value}"
        );
    }
    let s = Settings::from_toml_str("reserved_share = 0.5\n").unwrap();
    assert_eq!(s.build().unwrap().config().reserved_share, 0.5);
}

#[cfg(feature = "monitor")]
#[test]
fn relay_tables_read_sizes_and_durations_in_both_forms() {
    let s = Settings::from_toml_str(
        r#"
[monitoring]
expected_block_time = 12
max_block_delay = "30s"
retry_delay = "1m 30s"
alert_threshold = 7
learn_block_time = true

[logging]
log_file = "logs/missed.jsonl"
max_file_size = "100MB"
backup_count = 3
log_level = "WARNING"

[alerts]
console = false
webhook_url = "http://127.0.0.1:9/hook"
throttle_window = 60
max_retries = 5
retry_delay = "250ms"

[alerts.email]
smtp_host = "127.0.0.1"
smtp_port = 2525
use_tls = false
from = "relay@example.com"
to = ["ops@example.com"]
"#,
    )
    .unwrap();
    let m = s.monitoring.unwrap();
    assert_eq!(m.expected_block_time, Duration::from_secs(12));
    assert_eq!(m.max_block_delay, Duration::from_secs(30));
    assert_eq!(m.retry_delay, Duration::from_secs(90));
    assert_eq!(m.alert_threshold, 7);
    assert!(m.learn_block_time);
    assert_eq!(m.retry_attempts, 3, "unset keys keep the defaults");
    let l = s.logging.unwrap();
    assert_eq!(l.log_file, PathBuf::from("logs/missed.jsonl"));
    assert_eq!(l.max_file_size, 100 * 1024 * 1024);
    assert_eq!((l.backup_count, l.log_level), (3, Severity::Warning));
    let a = s.alerts.unwrap();
    assert!(!a.console);
    assert_eq!(a.webhook_url.as_deref(), Some("http://127.0.0.1:9/hook"));
    assert_eq!(a.throttle_window, Duration::from_secs(60));
    assert_eq!(
        (a.max_retries, a.retry_delay),
        (5, Duration::from_millis(250))
    );
    let e = a.email.unwrap();
    assert_eq!(
        (e.smtp_host.as_str(), e.smtp_port, e.use_tls),
        ("127.0.0.1", 2525, false)
    );
    for size in ["512KiB", "1.5GB", "1048576", "7 MB"] {
        let s = Settings::from_toml_str(&format!("[logging]\nmax_file_size = {size:?}\n")).unwrap();
        assert!(s.logging.unwrap().max_file_size > 0, "{size}");
    }
    let s = Settings::from_toml_str("[logging]\nmax_file_size = 4096\n").unwrap();
    assert_eq!(s.logging.unwrap().max_file_size, 4096);
}

#[cfg(feature = "monitor")]
#[test]
fn relay_table_errors_name_the_key_and_line() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "[monitoring]\nexpected_block_time = 12\nalert_threshold = 0\n",
            "monitoring.alert_threshold",
            3,
        ),
        (
            "[monitoring]\nmax_block_delay = \"soon\"\n",
            "monitoring.max_block_delay",
            2,
        ),
        (
            "[monitoring]\nmax_blok_delay = 3\n",
            "monitoring.max_blok_delay",
            2,
        ),
        (
            "[logging]\nmax_file_size = \"100XB\"\n",
            "logging.max_file_size",
            2,
        ),
        (
            "[logging]\nmax_file_size = -1\n",
            "logging.max_file_size",
            2,
        ),
        ("[logging]\nbackup_count = 0\n", "logging.backup_count", 2),
        (
            "[alerts]\n\nwebhook_url = \"ftp://x\"\n",
            "alerts.webhook_url",
            3,
        ),
        ("[alerts]\nqueue_size = 0\n", "alerts.queue_size", 2),
        ("[alerts]\nthrottle = \"10s\"\n", "alerts.throttle", 2),
        (
            "[alerts.email]\nsmtp_host = \"h\"\nfrom = \"a@b\"\nto = []\n",
            "alerts.email.to",
            4,
        ),
    ];
    for &(text, key, line) in cases {
        let err = Settings::from_toml_str(text).unwrap_err();
        assert_eq!(err.key(), Some(key), "{text}: {err}");
        assert_eq!(err.line(), Some(line), "{text}: {err}");
        assert!(
            err.to_string().contains(key.rsplit('.').next().unwrap()),
            "{err}"
        );
    }
}

#[cfg(feature = "alerts")]
#[test]
fn alert_settings_build_a_manager_that_delivers_to_the_webhook() {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut r = BufReader::new(stream);
        let mut len = 0;
        let mut line = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        r.get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()
    });
    let s = Settings::from_toml_str(&format!(
        "[alerts]\nconsole = false\nwebhook_url = \"http://{addr}/hook\"\nthrottle_window = 0\n"
    ))
    .unwrap();
    let mgr = s.alerts.unwrap().builder(None).unwrap().build().unwrap();
    mgr.send(flightring::alert::Alert::new(
        "missed-streak",
        "streak",
        flightring::monitor::MissSeverity::High,
        "5 blocks missed",
        "in a row",
    ));
    let body = server.join().unwrap();
    assert_eq!(body["rule"], "missed-streak");
    assert_eq!(body["title"], "5 blocks missed");
    assert!(mgr.flush(Duration::from_secs(10)));
    assert_eq!(mgr.stats().channels[0].delivered, 1);
}

#[test]
fn the_seed_recorders_variable_names_are_aliases_and_start_runs_the_exporter() {
    let dir =
        std::env::temp_dir().join(format!("flightring-settings-alias-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("seed.jsonl");
    let out_s = out.display().to_string();
    let env = |var: &str| match var {
        "FLIGHT_RECORDER_ENABLED" => Some("true".to_owned()),
        "FLIGHT_RECORDER_OUTPUT" => Some(out_s.clone()),
        "FLIGHTRING_CAPACITY" => Some("1024".to_owned()),
        _ => None,
    };
    let s = Settings::from_env_map(env).unwrap();
    assert_eq!(s.enabled, Some(true));
    assert_eq!(
        s.exporter.as_ref().map(|e| e.path.clone()),
        Some(out.clone())
    );
    // Ours wins over the alias.
    let both = |var: &str| match var {
        "FLIGHT_RECORDER_ENABLED" => Some("true".to_owned()),
        "FLIGHTRING_ENABLED" => Some("false".to_owned()),
        _ => None,
    };
    assert_eq!(Settings::from_env_map(both).unwrap().enabled, Some(false));
    // One call starts everything the variables say: the exporter writes the file.
    let started = s.start().unwrap();
    started
        .recorder
        .record(&flightring::Event::new("boot", flightring::Severity::Info));
    let exporter = started.exporter.expect("an output was set");
    exporter.flush().unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"event_type\":\"boot\""), "{text}");
    drop(exporter);
    let _ = std::fs::remove_dir_all(&dir);
}
