//! The property the `http` fuzz target checks (shared with `tests/fuzz_corpus.rs`,
//! which includes this file under the `http` and `monitor` features): the bytes become
//! requests to the real router ([`flightring::http::router_with`], with a block monitor
//! and a recordings directory attached) — a method, one of the routes with fuzzed path
//! segments, a fuzzed query string, a bearer token or none, and a fuzzed body. For
//! every request:
//!
//! * the router answers (no panic) and never with a 500;
//! * every error (4xx, 5xx) is a JSON object whose `error` names what was wrong;
//! * nothing is created outside the recordings directory (names like `../x` or
//!   `/etc/x` are refused), and the recorder still records and reads afterwards.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use flightring::http::{router_with, HttpOptions};
use flightring::monitor::{BlockMonitor, MonitorConfig};
use flightring::{Event, Recorder, Severity};
use tower::ServiceExt;

/// Route templates; `{}` takes a fuzzed segment.
const ROUTES: [&str; 27] = [
    "/health",
    "/stats",
    "/report",
    "/metrics",
    "/events",
    "/export",
    "/histograms/{}",
    "/blocks",
    "/blocks/missed",
    "/alerts",
    "/api/recordings",
    "/api/recordings/{}",
    "/api/recordings/{}/events",
    "/api/recordings/{}/fields",
    "/api/record/start",
    "/api/record/event",
    "/api/record/stop",
    "/api/record/status",
    "/api/replay/start/{}",
    "/api/replay/pause",
    "/api/replay/speed",
    "/api/replay/stop",
    "/api/info",
    "/api/replay/status",
    "/",
    "/{}",
    "/assets/app.js",
];

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::HEAD,
    Method::PUT,
    Method::DELETE,
];

/// Path segments that try to leave the recordings directory, mixed into the fuzzed ones.
const HOSTILE: [&str; 6] = [
    "..",
    "../escape",
    "%2e%2e%2fescape",
    "/tmp/escape",
    "a/../../escape",
    "..%2F..%2Fescape",
];

/// The bytes cut into fields by `0xff`.
fn fields(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == 0xff).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Percent-encodes what a request target cannot hold, so the request builds.
fn target_safe(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every file under `root` except those under `keep`.
fn strays(root: &Path, keep: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p == keep {
            continue;
        }
        out.push(p);
    }
    out
}

/// See the module docs.
pub fn http(data: &[u8]) {
    let root = std::env::temp_dir().join(format!("flightring-fuzz-http-{}", std::process::id()));
    let dir = root.join("recordings");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let rec = Recorder::builder()
        .capacity(4096)
        .build()
        .expect("a recorder");
    for i in 0..20u64 {
        rec.record(
            &Event::new("rpc_call", Severity::ALL[(i % 5) as usize])
                .message("method=eth_call took=12ms")
                .peer("12D3KooWJBKrX7G3CCD7hCRuG4nNvJc2MEKd7VZAEyKdpFbS2LEF")
                .field("block", 1_000 + i),
        );
        rec.observe("rpc.latency", std::time::Duration::from_millis(i));
    }
    let mon = BlockMonitor::new(rec.clone(), MonitorConfig::default()).expect("a monitor");
    let opts = HttpOptions::default()
        .recordings_dir(&dir)
        .monitor(Arc::new(Mutex::new(mon)));
    let app = router_with(rec.clone(), opts);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let f = fields(data);
    for req in f.chunks(4) {
        let head = req.first().copied().unwrap_or(&[]);
        let sel = head.first().copied().unwrap_or(0);
        let how = head.get(1).copied().unwrap_or(0);
        let method = METHODS[usize::from(how) % METHODS.len()].clone();
        let segment = if how & 0x80 != 0 {
            HOSTILE[usize::from(sel) % HOSTILE.len()].to_owned()
        } else {
            text(req.get(1).copied().unwrap_or(b"x"))
        };
        let route = ROUTES[usize::from(sel) % ROUTES.len()].replace("{}", &segment);
        let query = text(req.get(2).copied().unwrap_or(&[]));
        let body = req.get(3).copied().unwrap_or(&[]).to_vec();
        let uri = if query.is_empty() && how & 0x40 == 0 {
            target_safe(&route)
        } else {
            format!("{}?{}", target_safe(&route), target_safe(&query))
        };
        let mut builder = Request::builder().method(method.clone()).uri(&uri);
        if how & 0x20 != 0 {
            builder = builder.header("content-type", "application/json");
        }
        let Ok(request) = builder.body(Body::from(body)) else {
            continue; // not a request a client could send
        };
        let resp = rt
            .block_on(app.clone().oneshot(request))
            .expect("the router is infallible");
        let status = resp.status();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {uri}");
        if (status.is_client_error() || status.is_server_error()) && method != Method::HEAD {
            let bytes = rt
                .block_on(to_bytes(resp.into_body(), 1 << 20))
                .expect("an error body under 1 MiB");
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{method} {uri}: {status} body is not JSON ({e}): {:?}",
                    text(&bytes)
                )
            });
            // `/health` answers 503 with its verdict when the recorder is Unhealthy
            // (a supervisor's probe): that body is the health report, not an error.
            let verdict = status == StatusCode::SERVICE_UNAVAILABLE
                && v.get("status").and_then(|s| s.as_str()) == Some("Unhealthy");
            assert!(
                verdict
                    || v.get("error")
                        .and_then(|e| e.as_str())
                        .is_some_and(|e| !e.is_empty()),
                "{method} {uri}: {status} body names no error: {v}"
            );
        }
        let out = strays(&root, &dir);
        assert!(
            out.is_empty(),
            "{method} {uri} wrote outside the recordings directory: {out:?}"
        );
    }
    rt.block_on(async {
        let _ = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/api/record/stop")
                    .method(Method::POST)
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await;
    });
    drop(app);
    let before = rec.stats().total_recorded;
    rec.record(&Event::new("after", Severity::Info));
    // At least: a replay the input started may still be re-recording into it.
    assert!(
        rec.stats().total_recorded > before,
        "the recorder still records"
    );
    assert!(!rec.snapshot().is_empty());
    let _ = std::fs::remove_dir_all(&root);
}
