//! A real Prometheus server scrapes flightring's HTTP endpoint on loopback every
//! second (with a bearer token), and its query API must report what was recorded.
//!
//! Needs the `prometheus` binary: `bash .ci/test` installs Debian's package when it is
//! missing; `PROMETHEUS=/path/to/prometheus` points at another one.
#![cfg(feature = "http")]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flightring::http::{self, HttpOptions};
use flightring::{Event, Recorder, Severity};
use serde_json::Value as Json;

#[path = "support/temp_dir.rs"]
mod temp_dir;

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(target: SocketAddr, token: &str) -> (Server, SocketAddr) {
    let dir = temp_dir::temp_dir("prometheus", "server");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n\
             scrape_configs:\n  - job_name: flightring\n    \
             authorization:\n      credentials: {token}\n    \
             static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let bin = std::env::var("PROMETHEUS").unwrap_or_else(|_| "prometheus".into());
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {bin}: {e}. Run `bash .ci/test` (it installs Debian's \
                 prometheus package) or set PROMETHEUS to the binary"
            )
        });
    (Server(child), listen)
}

/// The value of an instant query whose result is one sample, if it has one yet.
fn query(prom: SocketAddr, promql: &str) -> Option<f64> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut resp = agent
        .get(format!("http://{prom}/api/v1/query"))
        .query("query", promql)
        .call()
        .ok()?;
    let body: Json = serde_json::from_str(&resp.body_mut().read_to_string().ok()?).ok()?;
    assert_eq!(body["status"], "success", "{promql}: {body}");
    let result = body["data"]["result"].as_array()?;
    let sample = result.first()?;
    sample["value"][1].as_str()?.parse().ok()
}

/// Waits (up to a minute: Prometheus starts, then scrapes every second) for `promql`
/// to equal `want`.
fn wait_for(prom: SocketAddr, promql: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = query(prom, promql);
        if last == Some(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{promql}: Prometheus reports {last:?}, want {want}");
}

#[test]
fn prometheus_scrapes_what_was_recorded() {
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let token = "scrape-token";
    let server = http::serve_with(
        rec.clone(),
        "127.0.0.1:0",
        HttpOptions::default().bearer_token(token),
    )
    .unwrap();
    let sevs = [Severity::Info, Severity::Warning, Severity::Debug];
    for i in 0..12_345u64 {
        rec.record(
            &Event::new(["rpc", "block"][i as usize % 2], sevs[i as usize % 3]).field("i", i),
        );
    }
    for ms in [1, 2, 3, 40] {
        rec.observe("rpc.getblock", Duration::from_millis(ms));
    }
    let (_prometheus, prom) = start_prometheus(server.local_addr(), token);

    wait_for(prom, "sum(flightring_events_total)", 12_345.0);
    wait_for(prom, r#"sum(flightring_events_total{kind="rpc"})"#, 6_173.0);
    wait_for(
        prom,
        r#"sum(flightring_events_total{severity="warning"})"#,
        4_115.0,
    );
    wait_for(prom, "flightring_capacity_events", 4096.0);
    wait_for(prom, "flightring_health_status", 0.0);
    wait_for(
        prom,
        r#"flightring_duration_seconds_count{name="rpc.getblock"}"#,
        4.0,
    );
    wait_for(
        prom,
        r#"flightring_duration_seconds_bucket{name="rpc.getblock",le="0.0025"}"#,
        2.0,
    );
    wait_for(prom, r#"up{job="flightring"}"#, 1.0);

    // Later scrapes follow the counters.
    for _ in 0..655 {
        rec.record(&Event::new("rpc", Severity::Critical));
    }
    wait_for(prom, "sum(flightring_events_total)", 13_000.0);
    wait_for(
        prom,
        r#"sum(flightring_events_total{severity="critical"})"#,
        655.0,
    );
    assert_eq!(rec.stats().total_recorded, 13_000);
}

#[test]
fn an_alert_on_the_first_critical_event_fires() {
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let token = "scrape-token";
    let server = http::serve_with(
        rec.clone(),
        "127.0.0.1:0",
        HttpOptions::default().bearer_token(token),
    )
    .unwrap();
    let kind = rec.kind("fault");
    rec.record(&Event::new("startup", Severity::Info));
    let (_prometheus, prom) = start_prometheus(server.local_addr(), token);
    // Both series exist at 0 before any critical event: a kind seen or given a handle,
    // and the severity over all kinds.
    wait_for(
        prom,
        r#"flightring_events_by_severity_total{severity="critical"}"#,
        0.0,
    );
    wait_for(
        prom,
        r#"flightring_events_total{kind="fault",severity="critical"}"#,
        0.0,
    );
    // The first critical event of a kind never seen before, and of the handled kind.
    rec.record(&Event::new("brand_new", Severity::Critical));
    rec.record(&Event::with_kind(&kind, Severity::Critical));
    wait_for(
        prom,
        r#"increase(flightring_events_by_severity_total{severity="critical"}[1m]) > bool 0"#,
        1.0,
    );
    wait_for(
        prom,
        r#"increase(flightring_events_total{kind="fault",severity="critical"}[1m]) > bool 0"#,
        1.0,
    );
}

/// Issue #11 item 9: with ten buckets a decade, Prometheus's `histogram_quantile` over
/// the scraped buckets agrees within 10 % with the quantiles flightring reports, on
/// latencies shaped like the demo's (a median, a shoulder, and a tail 8–48× out).
#[test]
fn histogram_quantile_agrees_with_the_recorders_quantiles() {
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let token = "quantile-token";
    let server = http::serve_with(
        rec.clone(),
        "127.0.0.1:0",
        HttpOptions::default().bearer_token(token),
    )
    .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut below = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let names = [
        ("rpc.eth_call", 2_400),
        ("block.process", 40_000),
        ("rpc.getReserves", 850),
    ];
    for (name, median_us) in names {
        for _ in 0..20_000 {
            let factor = match below(1000) {
                0..=499 => 500 + below(500),
                500..=899 => 1000 + below(1000),
                900..=989 => 2000 + below(6000),
                _ => 8000 + below(40_000),
            };
            rec.observe(name, Duration::from_micros(median_us * factor / 1000));
        }
    }
    let (_prometheus, prom) = start_prometheus(server.local_addr(), token);
    wait_for(
        prom,
        r#"flightring_duration_seconds_count{name="rpc.getReserves"}"#,
        20_000.0,
    );
    for (name, _) in names {
        let ours = rec.histogram_summary(name).unwrap();
        for (q, want) in [(0.5, ours.p50), (0.9, ours.p90), (0.99, ours.p99)] {
            let promql = format!(
                r#"histogram_quantile({q}, flightring_duration_seconds_bucket{{name="{name}"}})"#
            );
            let got = query(prom, &promql).unwrap_or_else(|| panic!("{promql}: no answer"));
            let want = want as f64 / 1e9;
            let off = (got - want).abs() / want;
            assert!(
                off <= 0.10,
                "{name} p{}: Prometheus {got:.6} s, /stats {want:.6} s ({:.1} % off)",
                q * 100.0,
                off * 100.0
            );
        }
    }
}
