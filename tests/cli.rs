//! The `flightring` binary, run as a user runs it, on files our exporter and recorder
//! wrote: every command, exit codes, bad files, the seed's jq recipes on
//! `convert --to seed-jsonl`, pandas on its output, and bounded memory on a large file.
//!
//! `jq`, `python3` + pandas and `/usr/bin/time` are installed by `.ci/test`; when one
//! is missing the test that needs it says so and passes, unless
//! `FLIGHTRING_REQUIRE_TOOLS=1` (set by `.ci/test`), when it fails.

#[path = "support/temp_dir.rs"]
mod temp_dir;
#[path = "support/tools.rs"]
mod tools;
use tools::{have, python, python_has, require_tools};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use flightring::exporter::{stream_files, Exporter, ExporterConfig};
use flightring::{Direction, Event, Recorder, Severity};

const BIN: &str = env!("CARGO_BIN_EXE_flightring");
const METHODS: [&str; 3] = ["eth_call", "getReserves", "eth_getLogs"];

/// A stream (rotated, gzipped) and an export of a small node's life: 30 RPC calls
/// (i + 1 ms, methods in turn), 20 `route_gen` phases (1000·(i + 1) ns), 1000
/// messages, 10 errors.
fn fixtures(name: &str) -> (PathBuf, Vec<PathBuf>, PathBuf) {
    let dir = temp_dir::temp_dir("cli", name);
    let rec = Recorder::builder().capacity(65_536).build().unwrap();
    let cfg = ExporterConfig {
        path: dir.join("flight_recorder.jsonl"),
        rotate_bytes: 32 << 10,
        gzip: true,
        keep_files: 1000,
        ..ExporterConfig::default()
    };
    let ex = Exporter::start(&rec, cfg).unwrap();
    for i in 0..1000u64 {
        rec.message("peer1", "tx", Direction::Inbound, 100 + i);
        if i % 100 == 0 {
            rec.record(
                &Event::new("error", Severity::Error)
                    .peer("peer2")
                    .message("invalid checksum"),
            );
        }
    }
    for i in 0..30u64 {
        let m = METHODS[(i % 3) as usize];
        rec.rpc_call(
            "infura",
            m,
            Duration::from_millis(i + 1),
            true,
            Some(812_000 + i),
            100,
            1,
            1,
        );
    }
    for i in 0..20u64 {
        rec.record(
            &Event::new("phase_end", Severity::Info)
                .message("route_gen")
                .field("duration_ns", 1000 * (i + 1))
                .field("result", "success"),
        );
    }
    ex.flush().unwrap();
    ex.close().unwrap();
    let export = dir.join("export.json");
    std::fs::write(&export, rec.export_json().unwrap()).unwrap();
    let files = stream_files(dir.join("flight_recorder.jsonl")).unwrap();
    assert!(
        files.len() >= 2 && files[0].to_string_lossy().ends_with(".gz"),
        "{files:?}"
    );
    (dir, files, export)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "flightring {args:?}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fail(args: &[&str], code: i32) -> String {
    let o = run(args);
    assert_eq!(o.status.code(), Some(code), "flightring {args:?}");
    let err = String::from_utf8(o.stderr).unwrap();
    if code == 1 {
        assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
        assert!(err.starts_with("flightring: error: "), "{err}");
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_command_on_real_files() {
    let (dir, files, export) = fixtures("commands");
    let mut set: Vec<&str> = files.iter().map(|p| s(p)).collect();
    let with = |cmd: &[&str], set: &[&str]| -> String {
        let mut a: Vec<&str> = cmd.to_vec();
        a.extend_from_slice(set);
        ok(&a)
    };

    let info = with(&["info"], &set);
    assert!(info.contains("format     stream"), "{info}");
    assert!(info.contains("events     1060"), "{info}");
    assert!(info.contains("gaps       0 (0 events missing)"), "{info}");
    let info = ok(&["info", s(&export)]);
    assert!(
        info.contains("format     export") && info.contains("overwritten"),
        "{info}"
    );

    let stats = with(&["stats"], &set);
    assert!(stats.contains("rpc_call"), "{stats}");
    assert!(stats.contains("latency (ms)"), "{stats}");
    let json: serde_json::Value = serde_json::from_str(&with(&["stats", "--json"], &set)).unwrap();
    assert_eq!(json["events"], 1060);
    assert_eq!(json["by_kind"]["rpc_call"]["DEBUG"], 30);
    assert_eq!(json["latency"]["rpc_call"]["count"], 30);
    let p50 = json["latency"]["rpc_call"]["p50_ms"].as_f64().unwrap();
    assert!((14.9..=16.1).contains(&p50), "{p50}");

    let tl = with(&["timeline", "-n", "3"], &set);
    assert_eq!(tl.lines().count(), 4, "{tl}");
    assert!(tl.starts_with("+00:00:00.000 DEBUG    message"), "{tl}");

    let check = with(&["check"], &set);
    assert_eq!(check.lines().count(), files.len());

    // filter → a new recording that opens back.
    let out = dir.join("errors.json");
    set.extend(["--min-severity", "error", "-o", s(&out)]);
    with(&["filter"], &set);
    set.truncate(files.len());
    let r = flightring::recording::Recording::open(&out).unwrap();
    assert_eq!(r.len(), 10);
    assert!(r.events.iter().all(|e| e.severity == Severity::Error));
    // filter to gzipped JSON Lines by time offset and kind.
    let out = dir.join("rpc.jsonl.gz");
    let mut a = vec![
        "filter",
        s(&export),
        "--kind",
        "rpc_call",
        "--since",
        "0s",
        "-o",
        s(&out),
    ];
    ok(&a);
    assert_eq!(
        flightring::recording::Recording::open(&out).unwrap().len(),
        30
    );
    a[4] = "--until";
    a[5] = "2099-01-01T00:00:00Z";
    ok(&a);

    // convert: every format opens back (seed-jsonl is for jq, checked below).
    for (to, n) in [("json", 1060), ("jsonl", 1060), ("seed-json", 1060)] {
        let out = dir.join(format!("conv.{to}"));
        let mut a = vec!["convert", "--to", to, "-o", s(&out)];
        a.extend_from_slice(&set);
        ok(&a);
        assert_eq!(
            flightring::recording::Recording::open(&out).unwrap().len(),
            n,
            "{to}"
        );
    }
    let csv = ok(&["convert", s(&export), "--to", "csv"]);
    assert_eq!(csv.lines().next().unwrap(), flightring::CSV_HEADER);
    assert_eq!(csv.lines().count(), 1061);

    let report: serde_json::Value = serde_json::from_str(&ok(&["report", s(&export)])).unwrap();
    assert_eq!(report["rpc"]["calls"], 30, "{report}");
    fail(&["report", set[0]], 1);

    let t = Instant::now();
    let replay = ok(&[
        "replay",
        "--speed",
        "1000",
        "--kind",
        "rpc_call",
        s(&export),
    ]);
    assert_eq!(replay.lines().count(), 30);
    assert!(t.elapsed() < Duration::from_secs(10));
    let fast = ok(&["replay", "--fast", "--json", s(&export)]);
    assert_eq!(fast.lines().count(), 1060);

    let hdr = ok(&["hdr", s(&export), "--kind", "rpc_call"]);
    assert!(hdr.starts_with("HISTFAAA"), "{hdr}");
    let dec = ok(&["hdr-decode", hdr.trim()]);
    assert!(dec.contains("count 30"), "{dec}");
    let max: u64 = dec
        .lines()
        .find_map(|l| l.strip_prefix("max "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((29_900_000..=30_100_000).contains(&max), "{max}");
    if python_has("hdrh") {
        let py = python(&format!(
            "from hdrh.histogram import HdrHistogram\nh = HdrHistogram.decode('{}')\nprint(h.get_total_count(), h.get_max_value())",
            hdr.trim()
        ));
        let mut it = py.split_whitespace();
        assert_eq!(it.next(), Some("30"), "{py}");
        let pymax: u64 = it.next().unwrap().parse().unwrap();
        assert!((29_900_000..=30_100_000).contains(&pymax), "{py}");
        println!("HdrHistogram V2 decoded by Python hdrh: {py}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exit_codes_and_bad_files() {
    let (dir, files, _export) = fixtures("bad");
    // Bad usage: 2.
    fail(&[], 2);
    fail(&["bogus"], 2);
    fail(&["timeline", "-n", "many", s(&files[0])], 2);
    fail(
        &["filter", s(&files[0]), "--min-severity", "loud", "-o", "x"],
        2,
    );
    // Runtime errors: 1, one line, naming the file and line.
    fail(&["info", "/nonexistent/file.jsonl"], 1);
    let e = fail(&["replay", "--speed", "5000", s(&files[0])], 1);
    assert!(e.contains("0.01 to 1000"), "{e}");
    let e = fail(
        &[
            "filter",
            s(&files[0]),
            "--since",
            "yesterday",
            "-o",
            "x.json",
        ],
        1,
    );
    assert!(e.contains("--since"), "{e}");

    let gz = std::fs::read(&files[0]).unwrap();
    let cut = dir.join("truncated.jsonl.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let o = run(&["check", s(&cut)]);
    assert_eq!(o.status.code(), Some(1));
    let (out, e) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        e.contains("truncated.jsonl.gz:")
            && e.contains("gzip")
            && e.contains("bytes of whole lines"),
        "{e}"
    );
    // What was whole before the cut is counted.
    let read: u64 = out
        .split("damaged after ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(read > 0, "{out}");

    let mut text = std::fs::read(files.last().unwrap()).unwrap();
    let at = text.iter().position(|&b| b == b'\n').unwrap() + 12;
    text[at] = 0xfe;
    let bad = dir.join("utf8.jsonl");
    std::fs::write(&bad, &text).unwrap();
    let e = fail(&["stats", s(&bad)], 1);
    assert!(e.contains("utf8.jsonl:2:12: invalid UTF-8"), "{e}");

    // A 100 MB line.
    let big = dir.join("longline.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    f.write_all(b"{\"id\":1,\"timestamp\":\"2026-01-01T00:00:00Z\",\"severity\":\"INFO\",\"event_type\":\"k\",\"metadata\":{}}\n{\"message\":\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\"}\n").unwrap();
    f.flush().unwrap();
    drop(f);
    let e = fail(&["check", s(&big)], 1);
    assert!(
        e.contains("longline.jsonl:2:") && e.contains("longer than 16 MiB"),
        "{e}"
    );

    let e = fail(&["check", s(&dir.join("export.json")), s(&bad)], 1);
    assert!(e.contains("utf8.jsonl"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn sh(script: &str) -> String {
    let o = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The flight recorder's documented recipes, unchanged, on `convert --to seed-jsonl`.
#[test]
fn seed_jq_recipes_and_pandas_work_on_converted_output() {
    let (dir, files, _export) = fixtures("jq");
    let out = dir.join("flight_recorder.seed.jsonl");
    let mut a = vec!["convert", "--to", "seed-jsonl", "-o", s(&out)];
    a.extend(files.iter().map(|p| s(p)));
    ok(&a);
    let f = s(&out);

    if have("jq", "--version") {
        // Count by type.
        let counts = sh(&format!("jq -r '.type' {f} | sort | uniq -c"));
        println!("jq -r '.type' | sort | uniq -c:\n{counts}");
        let get = |t: &str| -> u64 {
            counts
                .lines()
                .find_map(|l| {
                    let mut it = l.split_whitespace();
                    let n = it.next()?;
                    (it.next()? == t).then(|| n.parse().unwrap())
                })
                .unwrap_or(0)
        };
        assert_eq!(
            (
                get("Message"),
                get("Error"),
                get("RpcCall"),
                get("PhaseEnd")
            ),
            (1000, 10, 30, 20)
        );
        // RPC latency by method: the mean of i + 1 ms over each method's calls.
        let rpc = sh(&format!(
            "jq -s -c 'map(select(.type == \"RpcCall\")) | group_by(.method) | map({{method: .[0].method, calls: length, avg_ms: (map(.duration_ms) | add / length)}})' {f}"
        ));
        println!("RPC latency by method: {rpc}");
        let v: serde_json::Value = serde_json::from_str(&rpc).unwrap();
        for (m, avg) in [
            ("eth_call", 14.5),
            ("getReserves", 15.5),
            ("eth_getLogs", 16.5),
        ] {
            let row = v
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["method"] == m)
                .unwrap();
            assert_eq!(row["calls"], 10);
            assert!(
                (row["avg_ms"].as_f64().unwrap() - avg).abs() < 1e-9,
                "{row}"
            );
        }
        // Phase durations: average per phase.
        let phases = sh(&format!(
            "jq -r 'select(.type == \"PhaseEnd\") | \"\\(.phase) \\(.duration_ms)\"' {f} | awk '{{s[$1] += $2; n[$1]++}} END {{for (p in s) printf \"%s %d %.4f\\n\", p, n[p], s[p] / n[p]}}'"
        ));
        println!("phase durations: {phases}");
        assert_eq!(phases.trim(), "route_gen 20 0.0105");
        // Our own lines, for comparison, need the nested form.
        let ours = sh(&format!(
            "gzip -dc {} | cat - {} | jq -r 'select(.event_type == \"rpc_call\") | .metadata.duration_ns' | wc -l",
            s(&files[0]),
            s(files.last().unwrap())
        ));
        assert!(ours.trim().parse::<u64>().unwrap() <= 30);
    }

    if python_has("pandas") {
        let csv = dir.join("events.csv");
        let mut a = vec!["convert", "--to", "csv", "-o", s(&csv)];
        a.extend(files.iter().map(|p| s(p)));
        ok(&a);
        let py = python(&format!(
            "import pandas as pd\n\
             df = pd.read_json('{f}', lines=True)\n\
             rpc = df[df.type == 'RpcCall'].groupby('method').duration_ms.mean().round(3)\n\
             print(len(df), rpc['eth_call'], rpc['getReserves'], rpc['eth_getLogs'])\n\
             ev = pd.read_csv('{}')\n\
             print(len(ev), (ev.severity == 'ERROR').sum(), ev.event_type.nunique())",
            s(&csv)
        ));
        println!("pandas: {py}");
        let lines: Vec<&str> = py.lines().collect();
        assert_eq!(lines[0], "1060 14.5 15.5 16.5");
        assert_eq!(lines[1], "1060 10 4");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `stats` on a file several times the memory it may use: peak RSS stays bounded.
#[test]
fn large_stream_in_bounded_memory() {
    if !Path::new("/usr/bin/time").exists() {
        assert!(
            !require_tools(),
            "/usr/bin/time is required (FLIGHTRING_REQUIRE_TOOLS=1)"
        );
        println!("SKIPPED: /usr/bin/time is not installed");
        return;
    }
    let dir = temp_dir::temp_dir("cli", "large");
    let path = dir.join("big.jsonl");
    let limit_kib: u64 = 16 * 1024; // the bound we hold the tool to
    let target_bytes = 4 * limit_kib * 1024; // a file 4× that
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (mut written, mut n) = (0u64, 0u64);
    while written < target_bytes {
        let line = format!(
            "{{\"id\":{n},\"timestamp\":\"2026-01-01T00:{:02}:{:02}.{:09}Z\",\"severity\":\"INFO\",\"event_type\":\"{}\",\"peer_id\":\"peer{}\",\"message\":\"a message of ordinary length\",\"metadata\":{{\"duration_ns\":{},\"size\":{}}}}}\n",
            n / 60_000_000 % 60,
            n / 1_000_000 % 60,
            n % 1_000_000 * 1000,
            ["rpc_call", "message", "block"][(n % 3) as usize],
            n % 500,
            1000 + n % 100_000,
            n % 4096
        );
        f.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        n += 1;
    }
    f.flush().unwrap();
    drop(f);
    let t = Instant::now();
    let o = Command::new("/usr/bin/time")
        .args(["-f", "peak_rss_kib=%M", BIN, "stats", "--json", s(&path)])
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8(o.stderr).unwrap();
    let rss: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["events"], n);
    println!(
        "flightring stats on {:.0} MiB ({n} events): {:.1} s, {:.0} events/s, {:.1} MiB/s, peak RSS {:.1} MiB (bound {} MiB)",
        written as f64 / 1048576.0,
        secs,
        n as f64 / secs,
        written as f64 / 1048576.0 / secs,
        rss as f64 / 1024.0,
        limit_kib / 1024
    );
    assert!(
        rss < limit_kib,
        "peak RSS {rss} KiB over {limit_kib} KiB on a {written}-byte file"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `flightring tail URL` follows a node's event stream and, when the endpoint goes
/// away and comes back, reconnects with `Last-Event-ID`: the events recorded while it
/// was down arrive, none twice.
#[cfg(feature = "http")]
#[test]
fn tail_follows_the_stream_and_resumes_after_the_endpoint_restarts() {
    use flightring::http::{serve_with, HttpOptions};
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    let opts = || HttpOptions::default().stream_poll(Duration::from_millis(5));
    let server = serve_with(rec.clone(), "127.0.0.1:0", opts()).unwrap();
    let addr = server.local_addr();
    let mut child = Command::new(BIN)
        .args([
            "tail",
            &format!("http://{addr}"),
            "--json",
            "--count",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let e: flightring::EventRecord = serde_json::from_str(&line.unwrap()).unwrap();
            let Some(flightring::Value::U64(i)) = e.metadata.get("i") else {
                panic!("{e:?}")
            };
            let _ = tx.send(*i);
        }
    });
    let ev = |i: u64| Event::new("tick", Severity::Info).field("i", i);
    // Until tail is connected, events may go before its cursor: send a marker until
    // one arrives, then the numbered ones.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        rec.record(&ev(u64::MAX));
        if let Ok(i) = rx.recv_timeout(Duration::from_millis(100)) {
            got.push(i);
            break;
        }
        assert!(Instant::now() < deadline, "tail never connected");
    }
    for i in 0..100 {
        rec.record(&ev(i));
    }
    while got.iter().filter(|&&i| i != u64::MAX).count() < 100 {
        got.push(
            rx.recv_timeout(Duration::from_secs(30))
                .expect("tail stalled"),
        );
    }
    server.shutdown();
    for i in 100..150 {
        rec.record(&ev(i));
    }
    let server = serve_with(rec.clone(), addr.to_string(), opts()).unwrap();
    while got.iter().filter(|&&i| i != u64::MAX).count() < 150 {
        got.push(
            rx.recv_timeout(Duration::from_secs(30))
                .expect("tail did not resume"),
        );
    }
    let mut numbered: Vec<u64> = got.into_iter().filter(|&i| i != u64::MAX).collect();
    numbered.sort_unstable();
    assert_eq!(numbered, (0..150).collect::<Vec<_>>(), "each event once");
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    assert!(err.contains("reconnecting"), "{err}");
    drop(server);
}

/// `flightring replay FILE --serve ADDR` re-records the replay into a recorder served
/// over HTTP, so a dashboard (or curl) can watch it.
#[cfg(feature = "http")]
#[test]
fn replay_serve_lets_a_client_watch_the_replay() {
    let dir = std::env::temp_dir().join(format!("flightring-cli-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = Recorder::builder().capacity(4096).build().unwrap();
    for i in 0..40u64 {
        rec.record(
            &Event::new(
                ["rpc_call", "peer_connected"][i as usize % 2],
                Severity::Info,
            )
            .field("i", i),
        );
    }
    let file = dir.join("export.json");
    std::fs::write(&file, rec.export_json().unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args([
            "replay",
            file.to_str().unwrap(),
            "--fast",
            "--serve",
            &addr,
            "--linger",
            "30",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let got = std::net::TcpStream::connect(&addr).ok().and_then(|mut s| {
            use std::io::Read;
            s.write_all(b"GET /events?limit=100 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut body = String::new();
            s.read_to_string(&mut body).ok()?;
            let json = body.split("\r\n\r\n").nth(1)?.to_owned();
            let v: serde_json::Value = serde_json::from_str(&json).ok()?;
            let n = v["events"].as_array().map(Vec::len)?;
            (n == 40).then_some(v)
        });
        if let Some(v) = got {
            break v;
        }
        assert!(Instant::now() < deadline, "the replay was never served");
        std::thread::sleep(Duration::from_millis(100));
    };
    let kinds: std::collections::BTreeSet<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["peer_connected", "rpc_call"]
    );
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Long work shows a progress line on stderr when it is a terminal (here a pseudo-
/// terminal from util-linux `script`), and nothing when it is not.
#[test]
fn a_progress_line_on_a_terminal_and_none_in_a_pipe() {
    if !have("script", "--version") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("flightring-cli-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = Recorder::builder().capacity(65_536).build().unwrap();
    for i in 0..20_000u64 {
        rec.record(&Event::new("tick", Severity::Info).field("i", i));
    }
    let file = dir.join("events.jsonl");
    rec.write_jsonl(std::fs::File::create(&file).unwrap())
        .unwrap();
    let piped = run(&["info", file.to_str().unwrap()]);
    assert!(piped.status.success());
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(!err.contains("events ("), "no progress in a pipe: {err}");
    let tty = Command::new("script")
        .args([
            "-qec",
            &format!("{BIN} info {}", file.display()),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(tty.status.success(), "{tty:?}");
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(
        shown.contains("events ("),
        "a progress line on a terminal: {shown}"
    );
    // Counted as it goes (the line moves every 4,096 events).
    assert!(shown.contains("16,384 events"), "{shown}");
    std::fs::remove_dir_all(&dir).unwrap();
}
