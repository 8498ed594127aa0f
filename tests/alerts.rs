//! Alert delivery against real receivers on loopback: HTTP servers that accept, are
//! down then up, are slow, answer 500 then 200; Slack and Discord bodies field by
//! field; an SMTP server (Python's aiosmtpd, installed by .ci/test); throttling; a full
//! queue; file rotation; rules.
#![cfg(feature = "alerts")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use flightring::alert::{
    Alert, AlertManager, Condition, ConsoleChannel, DeliveryState, EmailChannel, EmailConfig,
    FileChannel, Rule, RuleEngine, SmtpSecurity, WebhookChannel,
};
use flightring::monitor::{BlockInfo, BlockMonitor, MissSeverity, MonitorConfig};
use flightring::{HealthStatus, Recorder};

const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
struct Req {
    at: Instant,
    path: String,
    body: serde_json::Value,
}

/// A real HTTP/1.1 server on loopback answering each request with the next status of
/// `statuses` (the last one repeated), after `gate` lets it (when given).
fn http_server(
    listener: TcpListener,
    statuses: Vec<u16>,
    gate: Option<mpsc::Receiver<()>>,
) -> Arc<Mutex<Vec<Req>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut i = 0;
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            if let Some(gate) = &gate {
                let _ = gate.recv();
            }
            let status = statuses[i.min(statuses.len() - 1)];
            i += 1;
            g.lock().unwrap().push(Req {
                at: Instant::now(),
                path,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            });
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            );
        }
    });
    got
}

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn alert(rule: &str, key: &str) -> Alert {
    Alert::new(rule, key, MissSeverity::High, "test alert", "because")
}

fn until(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn webhook_receives_the_alert_json() {
    let (l, addr) = listener();
    let got = http_server(l, vec![200], None);
    let mgr = AlertManager::builder()
        .channel(
            WebhookChannel::new(&format!("http://{addr}/hook"), Duration::from_secs(5)).unwrap(),
        )
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    assert!(mgr.send(alert("r1", "k1")));
    assert!(mgr.flush(WAIT));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/hook");
    assert_eq!(got[0].body["rule"], "r1");
    assert_eq!(got[0].body["key"], "k1");
    assert_eq!(got[0].body["severity"], "High");
    assert_eq!(got[0].body["repeat_count"], 1);
    let s = mgr.stats();
    assert_eq!((s.channels[0].delivered, s.channels[0].failed), (1, 0));
    assert_eq!(
        mgr.recent()[0].state,
        DeliveryState::Delivered { attempts: 1 }
    );
}

#[test]
fn retries_with_exponential_backoff_after_500s() {
    let (l, addr) = listener();
    let got = http_server(l, vec![500, 500, 200], None);
    let base = Duration::from_millis(100);
    let mgr = AlertManager::builder()
        .channel(WebhookChannel::new(&format!("http://{addr}/"), Duration::from_secs(5)).unwrap())
        .retry(3, base, Duration::from_secs(5))
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    mgr.send(alert("r", "k"));
    assert!(mgr.flush(WAIT));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 3);
    // the waits between attempts are the backoff: base, then 2 × base
    assert!(got[1].at - got[0].at >= base);
    assert!(got[2].at - got[1].at >= base * 2);
    let s = &mgr.stats().channels[0];
    assert_eq!((s.delivered, s.retries, s.failed), (1, 2, 0));
    assert_eq!(
        mgr.recent()[0].state,
        DeliveryState::Delivered { attempts: 3 }
    );
}

#[test]
fn a_receiver_down_then_up_gets_the_alert_and_failures_are_visible() {
    let (l, addr) = listener();
    drop(l); // nothing listens: connection refused
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let mgr = AlertManager::builder()
        .channel(WebhookChannel::new(&format!("http://{addr}/"), Duration::from_secs(2)).unwrap())
        .retry(1, Duration::from_millis(10), Duration::from_millis(20))
        .throttle_window(Duration::ZERO)
        .recorder(rec.clone())
        .fault_after(2)
        .build()
        .unwrap();
    mgr.send(alert("r", "a"));
    mgr.send(alert("r", "b"));
    assert!(mgr.flush(WAIT));
    let s = &mgr.stats().channels[0];
    assert_eq!((s.failed, s.consecutive_failures), (2, 2));
    assert!(
        s.last_error.as_deref().unwrap().contains("HTTP transport"),
        "{s:?}"
    );
    let h = rec.health();
    assert_ne!(h.status, HealthStatus::Healthy);
    assert!(
        h.reasons.iter().any(|r| r.contains("alerts.webhook")),
        "{:?}",
        h.reasons
    );
    assert!(matches!(
        mgr.recent()[0].state,
        DeliveryState::Failed { attempts: 2, .. }
    ));
    // it comes back: the next alert is delivered, the fault clears
    let got = match TcpListener::bind(addr) {
        Ok(l) => http_server(l, vec![200], None),
        Err(_) => return, // the port was taken meanwhile; nothing to check
    };
    mgr.send(alert("r", "c"));
    assert!(mgr.flush(WAIT));
    assert_eq!(got.lock().unwrap().len(), 1);
    let s = &mgr.stats().channels[0];
    assert_eq!((s.delivered, s.consecutive_failures), (1, 0));
    assert!(!rec
        .health()
        .reasons
        .iter()
        .any(|r| r.contains("alerts.webhook")));
}

#[test]
fn a_slow_receiver_blocks_neither_the_caller_nor_other_channels() {
    let (l, addr) = listener();
    let (open, gate) = mpsc::channel();
    let slow = http_server(l, vec![200], Some(gate));
    let (l2, addr2) = listener();
    let fast = http_server(l2, vec![200], None);
    let mgr = AlertManager::builder()
        .channel(WebhookChannel::new(&format!("http://{addr}/"), Duration::from_secs(30)).unwrap())
        .channel(
            WebhookChannel::with_format(
                "fast",
                &format!("http://{addr2}/"),
                Duration::from_secs(5),
                flightring::alert::WebhookFormat::Json,
            )
            .unwrap(),
        )
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let mut mon = BlockMonitor::new(rec, MonitorConfig::default()).unwrap();
    for i in 0..5 {
        assert!(mgr.send(alert("r", &i.to_string())));
        let b = BlockInfo {
            number: i,
            hash: format!("h{i}"),
            parent_hash: String::new(),
            timestamp: i,
        };
        mon.process_block(&b).unwrap();
    }
    // the slow receiver has answered nothing yet, the caller went on, the fast one got all
    assert!(until(|| fast.lock().unwrap().len() == 5));
    assert_eq!(slow.lock().unwrap().len(), 0);
    for _ in 0..5 {
        open.send(()).unwrap();
    }
    assert!(mgr.flush(WAIT));
    assert_eq!(slow.lock().unwrap().len(), 5);
}

#[test]
fn a_full_queue_counts_its_drops() {
    let (l, addr) = listener();
    let (open, gate) = mpsc::channel();
    let got = http_server(l, vec![200], Some(gate));
    let mgr = AlertManager::builder()
        .channel(WebhookChannel::new(&format!("http://{addr}/"), Duration::from_secs(30)).unwrap())
        .queue_capacity(2)
        .channel_queue_capacity(2)
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    let mut accepted = 0;
    for i in 0..50 {
        accepted += u64::from(mgr.send(alert("r", &i.to_string())));
    }
    let s = mgr.stats();
    assert_eq!(s.sent, accepted);
    assert_eq!(s.sent + s.dropped, 50);
    assert!(s.dropped > 0);
    for _ in 0..50 {
        let _ = open.send(());
    }
    assert!(mgr.flush(WAIT));
    let s = mgr.stats();
    let c = &s.channels[0];
    // every accepted alert was delivered or dropped at the channel's queue, and counted
    assert_eq!(c.delivered + c.dropped, s.sent);
    assert_eq!(got.lock().unwrap().len() as u64, c.delivered);
}

#[test]
fn throttling_sends_the_first_alert_at_once_and_folds_repeats_into_the_next() {
    let (l, addr) = listener();
    let got = http_server(l, vec![200], None);
    // A window longer than the waits below: whatever arrives came without waiting for it.
    let mgr = AlertManager::builder()
        .channel(WebhookChannel::new(&format!("http://{addr}/"), Duration::from_secs(5)).unwrap())
        .throttle_window(Duration::from_secs(120))
        .build()
        .unwrap();
    let wait_for = |n: usize| {
        let start = Instant::now();
        while got.lock().unwrap().len() < n {
            assert!(start.elapsed() < WAIT, "{:?}", got.lock().unwrap());
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    mgr.send(alert("streak", "node-1"));
    wait_for(1);
    for _ in 0..6 {
        mgr.send(alert("streak", "node-1"));
    }
    mgr.send(alert("streak", "node-2"));
    wait_for(2);
    {
        let got = got.lock().unwrap();
        assert_eq!(got[0].body["key"], "node-1");
        assert_eq!(got[0].body["repeat_count"], 1);
        assert_eq!(got[1].body["key"], "node-2");
        assert_eq!(got[1].body["repeat_count"], 1);
    }
    assert_eq!(mgr.stats().throttled, 6);
    // Resolving delivers the repeats held in the window first, then the notice.
    mgr.resolve("streak", "node-1", "streak over");
    mgr.resolve("never", "fired", "not sent");
    assert!(mgr.flush(WAIT));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[2].body["key"], "node-1");
    assert_eq!(got[2].body["repeat_count"], 6);
    assert_eq!(got[3].body["resolved"], true);
    assert_eq!(got[3].body["key"], "node-1");
}

#[test]
fn a_key_that_keeps_firing_is_delivered_once_per_window() {
    let (l, addr) = listener();
    let got = http_server(l, vec![200], None);
    let mgr = AlertManager::builder()
        .channel(WebhookChannel::new(&format!("http://{addr}/"), Duration::from_secs(5)).unwrap())
        .throttle_window(Duration::from_millis(200))
        .build()
        .unwrap();
    for _ in 0..5 {
        mgr.send(alert("streak", "node-1"));
    }
    assert!(mgr.flush(WAIT));
    let got = got.lock().unwrap();
    let counts: Vec<_> = got.iter().map(|r| r.body["repeat_count"].clone()).collect();
    assert_eq!(counts, [1, 4], "{got:?}");
}

#[test]
fn slack_and_discord_bodies_field_by_field() {
    let (l, addr) = listener();
    let got = http_server(l, vec![200], None);
    let mgr = AlertManager::builder()
        .channel(
            WebhookChannel::slack(&format!("http://{addr}/slack"), Duration::from_secs(5)).unwrap(),
        )
        .channel(
            WebhookChannel::discord(&format!("http://{addr}/discord"), Duration::from_secs(5))
                .unwrap(),
        )
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    let mut a = Alert::new(
        "critical-miss",
        "1001",
        MissSeverity::Critical,
        "Critical missed block 1001",
        "severity Critical >= High",
    );
    a.block_number = Some(1001);
    a.reason = Some(flightring::monitor::MissReason::NetworkLatency);
    mgr.send(a);
    assert!(mgr.flush(WAIT));
    let got = got.lock().unwrap();
    let slack = &got.iter().find(|r| r.path == "/slack").unwrap().body;
    assert_eq!(
        slack["text"],
        "🚨 ALERT: Critical missed block 1001 detected!"
    );
    let att = &slack["attachments"][0];
    assert_eq!(att["color"], "#d00000");
    assert_eq!(att["title"], "Critical missed block 1001");
    assert_eq!(att["text"], "severity Critical >= High");
    assert_eq!(att["fields"][0]["title"], "Rule");
    assert_eq!(att["fields"][0]["value"], "critical-miss");
    assert_eq!(att["fields"][0]["short"], true);
    assert_eq!(att["fields"][1]["value"], "Critical");
    assert_eq!(att["fields"][2]["title"], "Block");
    assert_eq!(att["fields"][2]["value"], "1001");
    assert_eq!(att["fields"][3]["value"], "NetworkLatency");
    assert!(att["ts"].is_u64());
    let discord = &got.iter().find(|r| r.path == "/discord").unwrap().body;
    assert_eq!(
        discord["content"],
        "🚨 ALERT: Critical missed block 1001 detected!"
    );
    let e = &discord["embeds"][0];
    assert_eq!(e["title"], "Critical missed block 1001");
    assert_eq!(e["description"], "severity Critical >= High");
    assert_eq!(e["color"], 0xd00000);
    assert_eq!(e["fields"][0]["name"], "Rule");
    assert_eq!(e["fields"][0]["value"], "critical-miss");
    assert_eq!(e["fields"][0]["inline"], true);
    assert_eq!(e["fields"][2]["name"], "Block");
    assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
}

/// A buffer the console channel writes to and the test reads.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn rules_fire_from_the_monitor_and_the_recorder_and_resolve() {
    let buf = Buf::default();
    let mgr = AlertManager::builder()
        .channel(ConsoleChannel::to_writer(buf.clone()))
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let mut mon = BlockMonitor::new(rec.clone(), MonitorConfig::default()).unwrap();
    let mut rules = RuleEngine::new(vec![
        Rule::new("streak", Condition::MissedStreak(5)),
        Rule::new(
            "critical",
            Condition::MissedSeverity(MissSeverity::Critical),
        ),
        Rule::new("health", Condition::Health),
        Rule::new(
            "delays",
            Condition::KindRate {
                kind: "block_delayed".into(),
                max: 0,
                window: Duration::from_secs(3600),
            },
        ),
    ])
    .unwrap();
    let t0 = 1_600_000_000u64;
    let b = |n: u64| BlockInfo {
        number: n,
        hash: format!("0x{n}"),
        parent_hash: format!("0x{}", n - 1),
        timestamp: t0 + 12 * n,
    };
    let at = |n: u64, late: u64| UNIX_EPOCH + Duration::from_secs(t0 + 12 * n + late);
    mon.process_block_at(&b(1000), at(1000, 0)).unwrap();
    mon.process_block_at(&b(1007), at(1007, 60)).unwrap(); // 1001..=1006 missed, and late
    let n = rules.check_monitor(&mon, &mgr) + rules.check_recorder(&rec, &mgr);
    assert_eq!(n, 1 + 2 + 1, "streak, two Critical misses, the delay rate");
    mon.mark_recovered(1005, 1).unwrap();
    mon.process_block_at(&b(1008), at(1008, 0)).unwrap();
    let n = rules.check_monitor(&mon, &mgr);
    assert_eq!(n, 2, "streak over, 1005 recovered");
    rec.set_fault("node", "rpc down");
    assert_eq!(rules.check_recorder(&rec, &mgr), 1);
    rec.clear_fault("node");
    assert_eq!(rules.check_recorder(&rec, &mgr), 1);
    assert!(mgr.flush(WAIT));
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("🚨 ALERT: Critical missed block 1006 detected!"),
        "{text}"
    );
    assert!(
        text.contains("Rule: streak (missed-block streak 6 >= 5)"),
        "{text}"
    );
    assert!(text.contains("Reason: NetworkLatency"), "{text}");
    assert!(text.contains("✅ RESOLVED: streak streak"), "{text}");
    assert!(text.contains("✅ RESOLVED: critical 1005"), "{text}");
    assert!(text.contains("Rule: health (health Degraded"), "{text}");
    assert!(
        text.contains("Rule: delays (1 block_delayed events"),
        "{text}"
    );
    assert!(text.contains("✅ RESOLVED: health health"), "{text}");
    assert!(RuleEngine::new(vec![Rule::new("", Condition::Health)]).is_err());
    let e = RuleEngine::new(vec![
        Rule::new("a", Condition::Health),
        Rule::new("a", Condition::Health),
    ])
    .unwrap_err();
    assert_eq!(e.key, "rule.name");
}

#[test]
fn file_channel_rotates_and_keeps_every_line() {
    let dir = std::env::temp_dir().join(format!("flightring-alerts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("alerts.jsonl");
    let mgr = AlertManager::builder()
        .channel(FileChannel::new(&path, 1000, 3).unwrap())
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    for i in 0..20 {
        mgr.send(alert("r", &i.to_string()));
    }
    assert!(mgr.flush(WAIT));
    let mut keys = Vec::new();
    let mut files = 0;
    for p in [
        path.with_extension("jsonl.3"),
        path.with_extension("jsonl.2"),
        path.with_extension("jsonl.1"),
        path.clone(),
    ] {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        files += 1;
        assert!(text.len() <= 1000, "{p:?} is {} bytes", text.len());
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            keys.push(v["key"].as_str().unwrap().parse::<u32>().unwrap());
        }
    }
    assert_eq!(files, 4, "current + 3 rotated");
    assert!(!path.with_extension("jsonl.4").exists());
    // the newest lines, in order, none twice; the oldest rotated away
    assert_eq!(*keys.last().unwrap(), 19);
    assert!(keys.windows(2).all(|w| w[1] == w[0] + 1), "{keys:?}");
    assert!(keys[0] > 0);
    assert!(FileChannel::new(&path, 0, 3).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_settings_are_typed_errors_naming_the_key() {
    assert_eq!(
        WebhookChannel::new("ftp://x", Duration::from_secs(1))
            .unwrap_err()
            .key,
        "url"
    );
    assert_eq!(
        WebhookChannel::new("http://x", Duration::ZERO)
            .unwrap_err()
            .key,
        "timeout"
    );
    assert_eq!(
        AlertManager::builder()
            .queue_capacity(0)
            .build()
            .unwrap_err()
            .key,
        "queue_capacity"
    );
    let cfg = EmailConfig {
        host: "127.0.0.1".into(),
        port: 25,
        security: SmtpSecurity::Plain,
        credentials: None,
        from: "not an address".into(),
        to: vec!["ops@example.com".into()],
        timeout: Duration::from_secs(5),
    };
    assert_eq!(EmailChannel::new(cfg.clone()).unwrap_err().key, "from");
    let cfg = EmailConfig {
        from: "relay@example.com".into(),
        to: vec![],
        ..cfg
    };
    assert_eq!(EmailChannel::new(cfg).unwrap_err().key, "to");
}

/// A real SMTP server: Python's aiosmtpd (installed by .ci/test), printing what it
/// receives.
struct Smtpd {
    child: std::process::Child,
    out: Arc<Mutex<String>>,
}
impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtpd(extra: &[&str]) -> (Smtpd, u16) {
    let (l, addr) = listener();
    drop(l);
    (smtpd_at(addr, extra), addr.port())
}

/// aiosmtpd listening on `addr`.
fn smtpd_at(addr: SocketAddr, extra: &[&str]) -> Smtpd {
    let mut child = std::process::Command::new("python3")
        .args([
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Debugging",
            "-l",
        ])
        .arg(format!("127.0.0.1:{}", addr.port()))
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (bash .ci/test installs it)");
    let out = Arc::new(Mutex::new(String::new()));
    let o = out.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            o.lock().unwrap().push_str(&line);
            o.lock().unwrap().push('\n');
        }
    });
    assert!(
        until(|| std::net::TcpStream::connect(addr).is_ok()),
        "aiosmtpd did not start (pip install aiosmtpd)"
    );
    Smtpd { child, out }
}

fn email_cfg(port: u16, security: SmtpSecurity) -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security,
        credentials: None,
        from: "Relay <relay@example.com>".into(),
        to: vec!["ops@example.com".into()],
        timeout: Duration::from_secs(10),
    }
}

#[test]
fn email_reaches_a_real_smtp_server() {
    let (server, port) = smtpd(&[]);
    let mgr = AlertManager::builder()
        .channel(EmailChannel::new(email_cfg(port, SmtpSecurity::Plain)).unwrap())
        .throttle_window(Duration::ZERO)
        .build()
        .unwrap();
    let mut a = Alert::new(
        "critical",
        "1001",
        MissSeverity::Critical,
        "Critical missed block 1001",
        "why",
    );
    a.block_number = Some(1001);
    mgr.send(a);
    assert!(mgr.flush(WAIT));
    assert_eq!(mgr.stats().channels[0].delivered, 1, "{:?}", mgr.stats());
    assert!(until(|| server
        .out
        .lock()
        .unwrap()
        .contains("Critical missed block 1001 detected")));
    let out = server.out.lock().unwrap();
    assert!(out.contains("ops@example.com"), "{out}");
    assert!(out.contains("Subject: [flightring]"), "{out}");
}

#[test]
fn email_over_starttls() {
    let dir = std::env::temp_dir().join(format!("flightring-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (for a self-signed certificate)");
    assert!(ok.success());
    let (server, port) = smtpd(&[
        "--tlscert",
        cert.to_str().unwrap(),
        "--tlskey",
        key.to_str().unwrap(),
    ]);
    let mgr = AlertManager::builder()
        .channel(
            EmailChannel::new(email_cfg(
                port,
                SmtpSecurity::StartTls {
                    accept_invalid_certs: true,
                },
            ))
            .unwrap(),
        )
        .throttle_window(Duration::ZERO)
        .retry(0, Duration::from_millis(1), Duration::from_millis(1))
        .build()
        .unwrap();
    mgr.send(alert("tls", "1"));
    assert!(mgr.flush(WAIT));
    assert_eq!(mgr.stats().channels[0].delivered, 1, "{:?}", mgr.stats());
    assert!(until(|| server.out.lock().unwrap().contains("test alert")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_smtp_server_down_then_up_gets_the_next_alert_and_the_failure_is_visible() {
    let (l, addr) = listener();
    drop(l); // nothing listens yet: connection refused
    let rec = Recorder::builder().capacity(1024).build().unwrap();
    let mgr = AlertManager::builder()
        .channel(EmailChannel::new(email_cfg(addr.port(), SmtpSecurity::Plain)).unwrap())
        .retry(1, Duration::from_millis(10), Duration::from_millis(20))
        .throttle_window(Duration::ZERO)
        .recorder(rec.clone())
        .fault_after(1)
        .build()
        .unwrap();
    mgr.send(alert("r", "while-down"));
    assert!(mgr.flush(WAIT));
    let s = &mgr.stats().channels[0];
    assert_eq!((s.failed, s.retries, s.delivered), (1, 1, 0), "{s:?}");
    assert!(
        s.last_error.as_deref().unwrap().starts_with("SMTP"),
        "{s:?}"
    );
    assert!(
        rec.health()
            .reasons
            .iter()
            .any(|r| r.contains("alerts.email")),
        "{:?}",
        rec.health().reasons
    );
    // The server comes up on the same port: the next alert goes through, the fault
    // clears.
    let server = smtpd_at(addr, &[]);
    mgr.send(alert("r", "after-up"));
    assert!(mgr.flush(WAIT));
    let s = &mgr.stats().channels[0];
    assert_eq!((s.delivered, s.consecutive_failures), (1, 0), "{s:?}");
    assert!(until(|| server.out.lock().unwrap().contains("test alert")));
    assert!(!rec
        .health()
        .reasons
        .iter()
        .any(|r| r.contains("alerts.email")));
}
