//! The dashboard in a real browser: headless Chromium driven by playwright-core
//! (tests/browser/dashboard.mjs), against the HTTP endpoint on loopback. `.ci/test`
//! installs Debian's `chromium` and the npm package `playwright-core` (into
//! target/node) when missing, and sets `FLIGHTRING_REQUIRE_TOOLS=1` so a missing
//! browser fails these tests instead of skipping them. Each scenario saves a
//! screenshot as target/dashboard-SCENARIO.png.
#![cfg(feature = "http")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use flightring::http::{self, HttpOptions};
use flightring::{Event, Recorder, Severity};

#[path = "support/temp_dir.rs"]
mod temp_dir;

/// One browser at a time: the machine has two cores.
static BROWSER: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Node, Chromium and playwright-core, or `None` (the test is skipped) unless
/// `FLIGHTRING_REQUIRE_TOOLS=1`.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let pw = root().join("target/node/node_modules/playwright-core");
    let node = Command::new("node").arg("--version").output().is_ok();
    let required = std::env::var_os("FLIGHTRING_REQUIRE_TOOLS").is_some_and(|v| v == "1");
    match chromium {
        Some(c) if node && pw.join("package.json").exists() => Some((c, pw)),
        _ => {
            assert!(
                !required,
                "node, chromium and target/node/node_modules/playwright-core are required (FLIGHTRING_REQUIRE_TOOLS=1; .ci/test installs them)"
            );
            eprintln!("skipped: node, chromium or playwright-core missing (run .ci/test)");
            None
        }
    }
}

/// Runs `scenario` against `url`; `act` performs each `ACTION name` the script asks
/// for. Returns the script's result object.
fn run(scenario: &str, url: &str, mut act: impl FnMut(&str)) -> Option<serde_json::Value> {
    let (chromium, pw) = tools()?;
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let shot = root().join(format!("target/dashboard-{scenario}.png"));
    let mut child = Command::new("node")
        .arg(root().join("tests/browser/dashboard.mjs"))
        .args([scenario, url])
        .arg(&shot)
        .env("CHROMIUM", chromium)
        .env("PLAYWRIGHT_CORE", pw)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let mut stdin = child.stdin.take().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut verdict = None;
    for line in out.lines() {
        let line = line.unwrap();
        eprintln!("[{scenario}] {line}");
        if let Some(name) = line.strip_prefix("ACTION ") {
            act(name);
            writeln!(stdin, "ok").unwrap();
            stdin.flush().unwrap();
        } else if line.starts_with("PASS ") || line.starts_with("FAIL ") {
            verdict = Some(line);
        }
    }
    let status = child.wait().unwrap();
    let verdict = verdict.unwrap_or_else(|| panic!("{scenario}: no verdict ({status})"));
    let json = verdict
        .strip_prefix("PASS ")
        .unwrap_or_else(|| panic!("{scenario}: {verdict}"));
    assert!(status.success(), "{scenario}: {status}");
    assert!(
        shot.exists(),
        "{scenario}: no screenshot at {}",
        shot.display()
    );
    Some(serde_json::from_str(json).unwrap())
}

fn recorder(capacity: usize) -> Recorder {
    Recorder::builder().capacity(capacity).build().unwrap()
}

fn some_traffic(rec: &Recorder) {
    for i in 0..20u64 {
        rec.record(
            &Event::new("block_processed", Severity::Info)
                .message("block processed")
                .field("height", 812_000 + i),
        );
        rec.observe(
            "rpc.eth_call",
            std::time::Duration::from_micros(800 + 50 * i),
        );
        rec.observe("block.process", std::time::Duration::from_millis(30 + i));
    }
    rec.peer_connected("12D3KooWpeer1", "10.0.0.1:8333");
}

#[test]
fn page_loads_without_console_errors_offline_and_fast() {
    let rec = recorder(4096);
    some_traffic(&rec);
    let server = http::serve(rec.clone(), "127.0.0.1:0").unwrap();
    let url = format!("http://{}/", server.local_addr());
    let Some(r) = run("load", &url, |_| {}) else {
        return;
    };
    eprintln!(
        "dashboard load: {:.0} ms to the load event, {} bytes transferred ({} decoded) in {} requests",
        r["load_ms"].as_f64().unwrap(),
        r["page_bytes"],
        r["page_body_bytes"],
        r["requests"]
    );
    assert!(r["page_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn health_badge_changes_when_the_node_turns_degraded() {
    let rec = recorder(4096);
    some_traffic(&rec);
    let server = http::serve(rec.clone(), "127.0.0.1:0").unwrap();
    let url = format!("http://{}/", server.local_addr());
    let r = run("degrade", &url, |a| {
        assert_eq!(a, "degrade");
        rec.set_fault("exporter", "disk full");
        rec.sweep_now();
    });
    if let Some(r) = r {
        assert_ne!(r["colours"][0], r["colours"][1]);
    }
}

#[test]
fn severity_filter_narrows_the_table() {
    let rec = recorder(4096);
    for i in 0..5u64 {
        rec.record(&Event::new("noise", Severity::Info).field("i", i));
    }
    for i in 0..4u64 {
        rec.record(&Event::new("noise", Severity::Warning).field("i", i));
    }
    for i in 0..3u64 {
        rec.record(
            &Event::new("filter_test", Severity::Error)
                .peer("12D3KooWbad")
                .message("handshake failed")
                .field("attempt", i),
        );
    }
    let server = http::serve(rec.clone(), "127.0.0.1:0").unwrap();
    run(
        "filter",
        &format!("http://{}/", server.local_addr()),
        |_| {},
    );
}

#[test]
fn live_tail_adds_rows_pauses_and_shows_lost_notices() {
    let rec = recorder(1024);
    let opts = HttpOptions::default().stream_poll(std::time::Duration::from_millis(200));
    let server = http::serve_with(rec.clone(), "127.0.0.1:0", opts).unwrap();
    let url = format!("http://{}/", server.local_addr());
    let r = run("tail", &url, |a| match a {
        "record5" => {
            for i in 0..5u64 {
                rec.record(&Event::new("tail_test", Severity::Info).field("i", i));
            }
        }
        "record_paused" => {
            for _ in 0..3 {
                rec.record(&Event::new("while_paused", Severity::Info));
            }
        }
        "burst" => {
            // Far more than the ring holds, faster than the stream polls: the
            // stream's cursor is overtaken and the page must say so.
            for i in 0..100_000u64 {
                rec.record(&Event::new("burst", Severity::Info).field("i", i));
            }
        }
        other => panic!("unexpected action {other}"),
    });
    if let Some(r) = r {
        assert!(
            r["lost_notice"].as_str().unwrap().starts_with("lost "),
            "{r}"
        );
    }
}

#[test]
fn recorded_markup_renders_as_text() {
    let rec = recorder(4096);
    some_traffic(&rec);
    let evil = "<img src=x onerror=alert(1)>";
    let server = http::serve(rec.clone(), "127.0.0.1:0").unwrap();
    let url = format!("http://{}/", server.local_addr());
    let Some(r) = run("xss", &url, |a| {
        assert_eq!(a, "xss");
        rec.record(
            &Event::new("xss", Severity::Warning)
                .peer("<b class=injected>peer</b>")
                .message(evil)
                .field("html", "<script>window.__xss=1</script>"),
        );
    }) else {
        return;
    };
    assert_eq!(r["scenario"], "xss");
}

#[test]
fn with_a_token_the_page_asks_for_it_and_keeps_it() {
    let rec = recorder(4096);
    some_traffic(&rec);
    let opts = HttpOptions::default().bearer_token("s3cret-token");
    let server = http::serve_with(rec.clone(), "127.0.0.1:0", opts).unwrap();
    run("token", &format!("http://{}/", server.local_addr()), |_| {});
}

/// A seed-shaped recording of 200 events, 100 ms apart (20 s at 1×).
fn write_demo(dir: &Path) {
    let events: Vec<serde_json::Value> = (0..200u64)
        .map(|i| {
            serde_json::json!({
                "timestamp_offset_ms": i * 100,
                "event_name": if i % 10 == 0 { "RpcCall" } else { "BlockProcessed" },
                "event_data": {"block": 812_000 + i},
                "source": "demo",
            })
        })
        .collect();
    let doc = serde_json::json!({
        "session_name": "demo", "start_time": "2026-12-01T10:00:00Z",
        "duration_ms": 20_000, "total_events": 200, "events": events,
    });
    std::fs::write(dir.join("demo.recording.json"), doc.to_string()).unwrap();
}

#[test]
fn replay_started_from_the_page_shows_progress_and_pauses() {
    let dir = temp_dir::temp_dir("dashboard", "replay");
    write_demo(&dir);
    let rec = recorder(4096);
    some_traffic(&rec);
    let opts = HttpOptions::default().recordings_dir(&dir);
    let server = http::serve_with(rec.clone(), "127.0.0.1:0", opts).unwrap();
    let r = run(
        "replay",
        &format!("http://{}/", server.local_addr()),
        |_| {},
    );
    if let Some(r) = r {
        let at = r["paused_at"].as_f64().unwrap();
        assert!(at > 0.0 && at < 200.0, "{r}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
