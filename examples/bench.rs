//! The bench command: a short, fixed run of every bench scenario, printing one JSON
//! object per line.
//!
//! ```text
//! cargo run --release --example bench            # ~1 minute
//! cargo run --release --example bench -- --quick # everything ~10x smaller (CI smoke)
//! cargo run --release --example bench -- record tail # only these groups (memory, mix,
//!                              # record, early_return, observe, read, tail, exporter)
//! ```
//!
//! Fields, where they apply: `scenario`, `threads`, `ns_per_event`, `events_per_s`,
//! `p50_ns`, `p99_ns`, `p999_ns`, `max_ns`, `baseline_ns_per_event`, `ratio`
//! (baseline time / ours: how many times faster flightring is), `mb_per_s`,
//! `memory_bytes`; read scenarios add `ns_per_op` / `baseline_ns_per_op` (one call) and
//! `events` (events retained); tail scenarios add the baseline's percentiles as
//! `baseline_p*_ns`; the exporter scenarios (two writers paced at 1 M typical events/s
//! while the file exporter streams to a rotating JSON Lines file, gzip on and off) add
//! `recorded`, `written`, `lost` and `lossless`, and their baseline is the same deque
//! drained every millisecond into a plain file (`benches/support/exporter_rate.rs`).
//! Every figure is the median of several repetitions. The baseline is
//! the mutex-and-deque recorder of `benches/support/baseline.rs`, measured in the same
//! run on the same typical event (`benches/support/typical.rs`).

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flightring::{Query, Recorder, Severity};
use serde_json::{json, Map, Value};

#[path = "../benches/support/baseline.rs"]
mod baseline;
#[path = "../benches/support/exporter_rate.rs"]
mod exporter_rate;
#[path = "../benches/support/harness.rs"]
mod harness;
#[path = "../benches/support/mix.rs"]
mod mix;
#[path = "../benches/support/tail.rs"]
mod tail;
#[path = "../benches/support/typical.rs"]
mod typical;

use baseline::Baseline;
use harness::{median, CountingSink, Pool, Tail};

/// Sizes of one run.
struct Plan {
    reps: usize,
    /// Events per repetition of a record scenario (per thread).
    record: u64,
    /// The same for the baseline (it is slower).
    record_base: u64,
    /// Calls per repetition of a rejected-event or observe scenario.
    cheap: u64,
    small: usize,
    big: usize,
    /// Calls per repetition of query / health / stats.
    calls: u64,
    tail_total: usize,
    tail_every: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        let s = if quick { 10 } else { 1 };
        Plan {
            reps: if quick { 3 } else { 5 },
            record: 2_000_000 / s,
            record_base: 400_000 / s,
            cheap: 10_000_000 / s,
            small: if quick { 1 << 13 } else { 1 << 16 },
            big: if quick { 1 << 17 } else { 1 << 20 },
            calls: 2_000 / s,
            tail_total: 4_000_000 / s as usize,
            tail_every: 8,
        }
    }
}

fn round(x: f64, digits: i32) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let p = 10f64.powi(digits);
    json!((x * p).round() / p)
}

fn emit(scenario: &str, fields: Vec<(&str, Value)>) {
    let mut m = Map::new();
    m.insert("scenario".into(), json!(scenario));
    for (k, v) in fields {
        if !v.is_null() {
            m.insert(k.into(), v);
        }
    }
    println!("{}", Value::Object(m));
}

/// Median over `reps` of the nanoseconds per item of `f`, which does `items` items.
fn per_item(reps: usize, items: u64, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as f64 / items as f64
        })
        .collect();
    median(&mut v)
}

/// Median over `reps` of the nanoseconds per event of a pool run of `iters` per thread.
fn per_event_pool(reps: usize, pool: &Pool, threads: usize, iters: u64) -> f64 {
    let mut v: Vec<f64> = (0..reps)
        .map(|_| pool.run(iters).as_nanos() as f64 / (threads as u64 * iters) as f64)
        .collect();
    median(&mut v)
}

fn recorder(capacity: usize, shards: usize) -> Recorder {
    Recorder::builder()
        .capacity(capacity)
        .shards(shards)
        .build()
        .expect("valid config")
}

fn label(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{}m", n >> 20)
    } else {
        format!("{}k", n >> 10)
    }
}

fn throughput_line(threads: usize, ours: f64, base: Option<f64>) -> Vec<(&'static str, Value)> {
    vec![
        ("threads", json!(threads)),
        ("ns_per_event", round(ours, 2)),
        ("events_per_s", round(1e9 / ours, 0)),
        (
            "baseline_ns_per_event",
            base.map_or(Value::Null, |b| round(b, 2)),
        ),
        ("ratio", base.map_or(Value::Null, |b| round(b / ours, 1))),
    ]
}

/// How well this machine runs two threads at once right now: the aggregate rate of two
/// threads doing private arithmetic (no shared memory at all) over one thread's rate.
/// Eight independent xorshift lanes keep a core's ALUs busy, so the figure is about 2
/// on two free cores and near 1 when the host gives both vCPUs one physical core (SMT
/// siblings, or time-shared): then no two-thread figure of the run means much.
fn host_parallelism(p: &Plan) -> f64 {
    let job = |_| {
        |n: u64| {
            let mut x: [u64; 8] = black_box(std::array::from_fn(|i| 0x9e37_79b9 + i as u64));
            for _ in 0..n * 8 {
                for v in &mut x {
                    *v ^= *v << 13;
                    *v ^= *v >> 7;
                    *v ^= *v << 17;
                }
            }
            black_box(x);
        }
    };
    // Best of the repetitions: this asks what the host can give, not what it gave on
    // average, so a neighbour's burst during one run does not count.
    let best = |threads: usize| {
        let pool = Pool::new(threads, job);
        (0..p.reps)
            .map(|_| pool.run(p.record).as_nanos() as f64 / (threads as u64 * p.record) as f64)
            .fold(f64::INFINITY, f64::min)
    };
    let scaling = best(1) / best(2);
    emit(
        "host_parallelism",
        vec![
            ("threads", json!(2)),
            ("scaling_vs_1_thread", round(scaling, 2)),
        ],
    );
    scaling
}

fn record(p: &Plan) {
    // One thread.
    let rec = recorder(65_536, 2);
    let kind = rec.kind(typical::KIND);
    let base = Baseline::new(65_536);
    let base1 = per_item(p.reps, p.record_base, || {
        for _ in 0..p.record_base {
            typical::record_baseline(black_box(&base));
        }
    });
    let str1 = per_item(p.reps, p.record, || {
        for _ in 0..p.record {
            rec.record(black_box(&typical::event()));
        }
    });
    emit("record", throughput_line(1, str1, Some(base1)));
    let kind1 = per_item(p.reps, p.record, || {
        for _ in 0..p.record {
            rec.record(black_box(&typical::event_with(&kind)));
        }
    });
    emit("record_cached_kind", throughput_line(1, kind1, Some(base1)));
    assert_eq!(rec.stats().truncated, 0, "the typical event fits a slot");
    // The same without redaction: what the default deny-list and URL checks cost.
    let plain = Recorder::builder()
        .capacity(65_536)
        .shards(2)
        .redaction(flightring::RedactionConfig::disabled())
        .build()
        .expect("valid config");
    let off = per_item(p.reps, p.record, || {
        for _ in 0..p.record {
            plain.record(black_box(&typical::event()));
        }
    });
    let mut line = throughput_line(1, off, Some(base1));
    line.push(("redaction_cost_ns", round(str1 - off, 2)));
    emit("record_redaction_off", line);
    drop(base);

    // Two threads: the baseline once (one mutex, whatever the shards).
    let host = host_parallelism(p);
    let base = Arc::new(Baseline::new(65_536));
    let bpool = Pool::new(2, |_| {
        let b = Arc::clone(&base);
        move |n| {
            for _ in 0..n {
                typical::record_baseline(black_box(&b));
            }
        }
    });
    let base2 = per_event_pool(p.reps, &bpool, 2, p.record_base);
    drop(bpool);
    for (name, shards) in [("own_shards", 2), ("one_shard", 1)] {
        for cached in [false, true] {
            let rec = recorder(65_536, shards);
            let pool = Pool::new(2, |_| {
                let rec = rec.clone();
                let kind = rec.kind(typical::KIND);
                move |n| {
                    for _ in 0..n {
                        if cached {
                            rec.record(black_box(&typical::event_with(&kind)));
                        } else {
                            rec.record(black_box(&typical::event()));
                        }
                    }
                }
            });
            let ours = per_event_pool(p.reps, &pool, 2, p.record);
            let one = if cached { kind1 } else { str1 };
            let mut line = throughput_line(2, ours, Some(base2));
            line.push(("scaling_vs_1_thread", round(one / ours, 2)));
            line.push(("host_parallelism", round(host, 2)));
            let scenario = format!(
                "record_2t_{name}{}",
                if cached { "_cached_kind" } else { "" }
            );
            emit(&scenario, line);
        }
    }
}

/// The record-path targets on the realistic mix (`benches/support/mix.rs`), each beside
/// the `Mutex<VecDeque<OwnedEvent>>` baseline recording the same events in the same run.
fn record_mix(p: &Plan) {
    let m = mix::Mix::new();
    let n = p.record as usize;
    let fresh = || {
        Recorder::builder()
            .build()
            .expect("the default configuration")
    };
    // One thread.
    let rec = fresh();
    let base = mix::MutexRing::new(rec.capacity());
    let base1 = per_item(p.reps, p.record_base, || {
        for i in 0..p.record_base as usize {
            base.record(black_box(&m), i);
        }
    });
    let mut at = 0usize;
    let one = per_item(p.reps, p.record, || {
        for i in at..at + n {
            rec.record(black_box(&m.event(i)));
        }
        at += n;
    });
    let mut line = throughput_line(1, one, Some(base1));
    line.push(("target_ns_per_event", json!(25)));
    line.push(("target_ratio", json!(4)));
    emit("mix_record_1t", line);

    // What the ring holds of the mix.
    let st = rec.stats();
    let held = rec.snapshot().len().max(1);
    emit(
        "mix_bytes",
        vec![
            ("memory_bytes", json!(rec.memory_bytes())),
            ("retained", json!(held)),
            (
                "ring_bytes_per_retained_event",
                round(rec.memory_bytes() as f64 / held as f64, 1),
            ),
            ("mean_content_bytes", round(m.mean_content_bytes(), 1)),
            ("truncated", json!(st.truncated)),
            ("recorded", json!(st.total_recorded)),
        ],
    );
    drop(rec);

    // Two threads, each on its own shard.
    let rec = fresh();
    let host = host_parallelism(p);
    let m = Arc::new(m);
    let pool = Pool::new(2, |t| {
        let rec = rec.clone();
        let m = Arc::clone(&m);
        let mut at = t * 4096;
        move |k: u64| {
            for i in at..at + k as usize {
                rec.record(black_box(&m.event(i)));
            }
            at += k as usize;
        }
    });
    let two = per_event_pool(p.reps, &pool, 2, p.record);
    drop(pool);
    let mut line = throughput_line(2, two, None);
    line.push(("scaling_vs_1_thread", round(one / two, 2)));
    line.push(("target_scaling", json!(1.8)));
    line.push(("host_parallelism", round(host, 2)));
    emit("mix_record_2t_own_shards", line);
    drop(rec);

    // Disabled: the event built inline, then refused at the gate.
    let rec = fresh();
    rec.set_enabled(false);
    let off = per_item(p.reps, p.cheap, || {
        for i in 0..p.cheap as usize {
            rec.record(black_box(&m.event(i)));
        }
    });
    let mut line = throughput_line(1, off, None);
    line.push(("target_ns_per_event", json!(3)));
    emit("mix_record_disabled_build_inline", line);
    // The same through `record!`, which checks the gate before building anything.
    let mac = per_item(p.reps, p.cheap, || {
        for i in 0..p.cheap as usize {
            let s = m.spec(i);
            flightring::record!(
                rec,
                s.severity,
                mix::KINDS[usize::from(s.kind)],
                peer = &m.peers[usize::from(s.peer)].0,
                message = &m.messages[usize::from(s.message)],
                address = m.peers[usize::from(s.peer)].1.as_str(),
                size = s.size
            );
        }
    });
    let mut line = throughput_line(1, mac, None);
    line.push(("target_ns_per_event", json!(2)));
    emit("mix_record_macro_disabled", line);
    drop(rec);

    // The writer's tail with and without a reader copying the whole ring in a loop.
    let npt = harness::ns_per_tick();
    let reps = p.reps.min(3);
    let tail_of = |reader: bool| -> f64 {
        let mut v: Vec<f64> = (0..reps)
            .map(|_| {
                let rec = fresh();
                let bg = reader.then(|| {
                    let r = rec.clone();
                    harness::Background::start(move || {
                        let snap = r.snapshot();
                        black_box(snap.len());
                    })
                });
                let t = harness::measure_tail(p.tail_total, p.tail_every, npt, |i| {
                    rec.record(black_box(&m.event(i)))
                });
                drop(bg);
                t.p999
            })
            .collect();
        median(&mut v)
    };
    let quiet = tail_of(false);
    let busy = tail_of(true);
    emit(
        "mix_writer_p999_reader",
        vec![
            ("p999_ns_no_reader", round(quiet, 1)),
            ("p999_ns_with_reader", round(busy, 1)),
            ("ratio", round(busy / quiet, 2)),
            ("target_ratio", json!(1.25)),
        ],
    );
}

fn early_return(p: &Plan) {
    let rec = recorder(65_536, 2);
    let base = Baseline::new(65_536);
    let ev = typical::event();
    for (scenario, disable) in [("record_disabled", true), ("record_below_level", false)] {
        if disable {
            rec.set_enabled(false);
            base.set_enabled(false);
        } else {
            rec.set_enabled(true);
            base.set_enabled(true);
            rec.set_min_severity(Severity::Warning);
            base.set_min_severity(Severity::Warning);
        }
        let b = per_item(p.reps, p.cheap, || {
            for _ in 0..p.cheap {
                typical::record_baseline(black_box(&base));
            }
        });
        // The early-return path: the event already exists.
        let ours = per_item(p.reps, p.cheap, || {
            for _ in 0..p.cheap {
                rec.record(black_box(&ev));
            }
        });
        emit(scenario, throughput_line(1, ours, Some(b)));
        // A call site that builds the typical event inline pays its construction too.
        let inline = per_item(p.reps, p.cheap, || {
            for _ in 0..p.cheap {
                rec.record(black_box(&typical::event()));
            }
        });
        emit(
            &format!("{scenario}_build_inline"),
            throughput_line(1, inline, Some(b)),
        );
    }
    assert_eq!(rec.stats().total_recorded, 0);
}

#[inline]
fn dur(i: u64) -> Duration {
    Duration::from_nanos(500 + (i & 1023) * 997)
}

fn observe(p: &Plan) {
    let rec = recorder(65_536, 2);
    let h = rec.histogram(typical::HISTOGRAM).expect("room");
    let base = Arc::new(Baseline::new(1024));
    let n = p.cheap / 2;
    let b1 = per_item(p.reps, n / 4, || {
        for i in 0..n / 4 {
            base.observe(black_box(typical::HISTOGRAM), dur(i));
        }
    });
    let by_name = per_item(p.reps, n, || {
        for i in 0..n {
            rec.observe(black_box(typical::HISTOGRAM), dur(i));
        }
    });
    emit("observe_by_name", throughput_line(1, by_name, Some(b1)));
    let handle = per_item(p.reps, n, || {
        for i in 0..n {
            h.observe(dur(i));
        }
    });
    emit("observe_handle", throughput_line(1, handle, Some(b1)));

    let bpool = Pool::new(2, |_| {
        let b = Arc::clone(&base);
        let mut i = 0u64;
        move |n| {
            for _ in 0..n {
                i += 1;
                b.observe(black_box(typical::HISTOGRAM), dur(i));
            }
        }
    });
    let b2 = per_event_pool(p.reps, &bpool, 2, n / 4);
    drop(bpool);
    for cached in [false, true] {
        let pool = Pool::new(2, |_| {
            let rec = rec.clone();
            let h = rec.histogram(typical::HISTOGRAM).expect("room");
            let mut i = 0u64;
            move |n| {
                for _ in 0..n {
                    i += 1;
                    if cached {
                        h.observe(dur(i));
                    } else {
                        rec.observe(black_box(typical::HISTOGRAM), dur(i));
                    }
                }
            }
        });
        let ours = per_event_pool(p.reps, &pool, 2, n);
        let one = if cached { handle } else { by_name };
        let mut line = throughput_line(2, ours, Some(b2));
        line.push(("scaling_vs_1_thread", round(one / ours, 2)));
        let scenario = if cached {
            "observe_2t_handle"
        } else {
            "observe_2t_by_name"
        };
        emit(scenario, line);
    }
}

fn op_line(
    events: Option<usize>,
    ours_op: f64,
    base_op: Option<f64>,
) -> Vec<(&'static str, Value)> {
    let mut v = vec![("threads", json!(1)), ("ns_per_op", round(ours_op, 1))];
    if let Some(n) = events {
        v.push(("events", json!(n)));
        v.push(("ns_per_event", round(ours_op / n as f64, 2)));
        v.push(("events_per_s", round(n as f64 * 1e9 / ours_op, 0)));
    }
    if let Some(b) = base_op {
        v.push(("baseline_ns_per_op", round(b, 1)));
        if let Some(n) = events {
            v.push(("baseline_ns_per_event", round(b / n as f64, 2)));
        }
        v.push(("ratio", round(b / ours_op, 1)));
    }
    v
}

fn filled(n: usize) -> (Recorder, Baseline) {
    // One tier, so the ring holds exactly the `n` events the baseline holds.
    let rec = Recorder::builder()
        .capacity(n)
        .shards(2)
        .reserved_share(0.0)
        .build()
        .expect("valid config");
    assert_eq!(rec.capacity(), n, "a power-of-two capacity is kept as is");
    let recorded = typical::fill(&rec);
    let base = Baseline::new(n);
    typical::fill_baseline(&base, recorded);
    (rec, base)
}

fn read_and_export(p: &Plan) {
    let (r_small, b_small) = filled(p.small);
    let ours = per_item(p.reps, 1, || {
        black_box(r_small.snapshot());
    });
    let base = per_item(p.reps, 1, || {
        black_box(b_small.snapshot());
    });
    emit(
        &format!("snapshot_{}", label(p.small)),
        op_line(Some(p.small), ours, Some(base)),
    );
    let h_small = per_item(p.reps, p.calls, || {
        for _ in 0..p.calls {
            black_box(r_small.health());
        }
    });
    drop((r_small, b_small));

    let (rec, b) = filled(p.big);
    let big = label(p.big);
    assert_eq!(rec.snapshot().len(), p.big);
    let ours = per_item(p.reps, 1, || {
        black_box(rec.snapshot());
    });
    let base = per_item(p.reps.min(3), 1, || {
        black_box(b.snapshot());
    });
    emit(
        &format!("snapshot_{big}"),
        op_line(Some(p.big), ours, Some(base)),
    );
    // Into a snapshot kept from the previous round: its buffers are reused, so no
    // ring-sized allocation is faulted in (what a periodic reader pays).
    let mut kept = rec.snapshot();
    let reused = per_item(p.reps, 1, || {
        rec.snapshot_into(&mut kept);
        black_box(kept.len());
    });
    emit(
        &format!("snapshot_into_{big}"),
        op_line(Some(p.big), reused, Some(base)),
    );
    drop(kept);
    let decode = per_item(p.reps.min(3), 1, || {
        black_box(rec.snapshot().events());
    });
    emit(
        &format!("snapshot_decode_{big}"),
        op_line(Some(p.big), decode, Some(base)),
    );

    let q = Query::new().limit(50).min_severity(Severity::Warning);
    let ours = per_item(p.reps, p.calls, || {
        for _ in 0..p.calls {
            black_box(rec.query(&q));
        }
    });
    let base = per_item(p.reps, p.calls, || {
        for _ in 0..p.calls {
            black_box(b.query(50, Severity::Warning));
        }
    });
    emit(
        &format!("query_last50_{big}"),
        op_line(None, ours, Some(base)),
    );

    let (kind, peer) = typical::scan_target();
    let q = Query::new().kind(kind).peer(peer.as_str());
    let (hits, base_hits) = (rec.query(&q).len(), b.scan(kind, &peer).len());
    assert!(hits.abs_diff(base_hits) * 20 < hits, "{hits} ~ {base_hits}");
    let ours = per_item(p.reps, 1, || {
        black_box(rec.query(&q));
    });
    let base = per_item(p.reps, 1, || {
        black_box(b.scan(kind, &peer));
    });
    emit(
        &format!("scan_kind_peer_{big}"),
        op_line(Some(p.big), ours, Some(base)),
    );

    let ours = per_item(p.reps, p.calls, || {
        for _ in 0..p.calls {
            black_box(rec.health());
        }
    });
    let base = per_item(p.reps, p.calls, || {
        for _ in 0..p.calls {
            black_box(b.health());
        }
    });
    let mut line = op_line(None, ours, Some(base));
    line.push(("ns_per_op_at_small_capacity", round(h_small, 1)));
    emit(&format!("health_{big}"), line);

    let ours = per_item(p.reps, p.calls / 10, || {
        for _ in 0..p.calls / 10 {
            black_box(rec.stats());
        }
    });
    let base = per_item(p.reps, p.calls / 10, || {
        for _ in 0..p.calls / 10 {
            black_box(b.stats());
        }
    });
    emit(&format!("stats_{big}"), op_line(None, ours, Some(base)));

    // Export: bytes counted once, then timed into io::sink().
    let count = |f: &dyn Fn(&mut CountingSink)| {
        let mut s = CountingSink::default();
        f(&mut s);
        s.bytes
    };
    type Export<'a> = (
        &'a str,
        Box<dyn Fn(&mut dyn io::Write) + 'a>,
        Box<dyn Fn(&mut dyn io::Write) + 'a>,
    );
    let exports: [Export<'_>; 2] = [
        (
            "export_json",
            Box::new(|w| rec.write_json(w).expect("export")),
            Box::new(|w| b.write_json(w).expect("export")),
        ),
        (
            "export_jsonl",
            Box::new(|w| rec.write_jsonl(w).expect("export")),
            Box::new(|w| b.write_jsonl(w).expect("export")),
        ),
    ];
    for (name, ours_f, base_f) in exports.iter() {
        let bytes = count(&|s| ours_f(s));
        let base_bytes = count(&|s| base_f(s));
        let reps = p.reps.min(3);
        let ours = per_item(reps, 1, || ours_f(&mut io::sink()));
        let base = per_item(reps, 1, || base_f(&mut io::sink()));
        let mut line = op_line(Some(p.big), ours, Some(base));
        line.push(("mb_per_s", round(bytes as f64 / ours * 1e3, 1)));
        line.push(("bytes", json!(bytes)));
        line.push((
            "baseline_mb_per_s",
            round(base_bytes as f64 / base * 1e3, 1),
        ));
        emit(&format!("{name}_{big}"), line);
    }

    // Redaction is applied as events leave: the same events exported by a recorder
    // with the rules off, to show what the rules cost the read side.
    let plain = Recorder::builder()
        .capacity(p.big)
        .shards(2)
        .redaction(flightring::RedactionConfig::disabled())
        .build()
        .expect("valid config");
    typical::fill(&plain);
    let reps = p.reps.min(3);
    let bytes = count(&|s| plain.write_jsonl(s).expect("export"));
    let rules_bytes = count(&|s| rec.write_jsonl(s).expect("export"));
    let without = per_item(reps, 1, || {
        plain.write_jsonl(&mut io::sink()).expect("export")
    });
    let with = per_item(reps, 1, || {
        rec.write_jsonl(&mut io::sink()).expect("export")
    });
    emit(
        &format!("export_jsonl_rules_cost_{big}"),
        vec![
            (
                "mb_per_s_with_rules",
                round(rules_bytes as f64 / with * 1e3, 1),
            ),
            (
                "mb_per_s_without_rules",
                round(bytes as f64 / without * 1e3, 1),
            ),
            ("rules_slowdown", round(with / without, 2)),
        ],
    );
}

fn tails(p: &Plan) {
    let npt = harness::ns_per_tick();
    let reps = p.reps.min(3);
    let run = |f: &dyn Fn() -> (Tail, u64)| -> (Tail, u64) {
        let runs: Vec<(Tail, u64)> = (0..reps).map(|_| f()).collect();
        let pick = |g: fn(&Tail) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(|(t, _)| g(t)).collect();
            median(&mut v)
        };
        let t = Tail {
            p50: pick(|t| t.p50),
            p99: pick(|t| t.p99),
            p999: pick(|t| t.p999),
            max: pick(|t| t.max),
            samples: runs[0].0.samples,
            timer_overhead: pick(|t| t.timer_overhead),
        };
        (t, runs.iter().map(|r| r.1).sum::<u64>() / reps as u64)
    };
    let (total, every) = (p.tail_total, p.tail_every);
    let base_total = total / 4;
    // The reader runs on the other vCPU: how parallel the two are decides the figure.
    let host = host_parallelism(p);
    let mut no_reader_p999 = f64::NAN;
    let mut base_no_reader_p999 = f64::NAN;
    for reader in [false, true] {
        let (t, rounds) = run(&|| tail::ours(total, every, npt, reader));
        let (b, _) = run(&|| tail::baseline(base_total, every, npt, reader));
        let mut line = vec![
            ("threads", json!(if reader { 2 } else { 1 })),
            ("p50_ns", round(t.p50, 0)),
            ("p99_ns", round(t.p99, 0)),
            ("p999_ns", round(t.p999, 0)),
            ("max_ns", round(t.max, 0)),
            ("baseline_p50_ns", round(b.p50, 0)),
            ("baseline_p99_ns", round(b.p99, 0)),
            ("baseline_p999_ns", round(b.p999, 0)),
            ("baseline_max_ns", round(b.max, 0)),
            ("ratio", round(b.p999 / t.p999, 1)),
            ("samples", json!(t.samples)),
            ("timer_overhead_ns", round(t.timer_overhead, 1)),
        ];
        if reader {
            line.push(("reader_rounds", json!(rounds)));
            line.push(("host_parallelism", round(host, 2)));
            line.push(("p999_vs_no_reader", round(t.p999 / no_reader_p999, 2)));
            line.push((
                "baseline_p999_vs_no_reader",
                round(b.p999 / base_no_reader_p999, 2),
            ));
            emit("writer_tail_reader", line);
        } else {
            no_reader_p999 = t.p999;
            base_no_reader_p999 = b.p999;
            emit("writer_tail_no_reader", line);
        }
    }
}

fn memory() {
    let rec = Recorder::new();
    let bytes = rec.memory_bytes();
    let cap = rec.capacity();
    emit(
        "memory",
        vec![
            ("memory_bytes", json!(bytes)),
            ("capacity", json!(cap)),
            ("slot_bytes", json!(rec.config().slot_bytes)),
            ("shards", json!(rec.config().shards)),
            ("bytes_per_event", round(bytes as f64 / cap as f64, 1)),
        ],
    );
}

/// The file exporter's sustained rate: two writers paced at 1 M typical events/s in
/// total (the rate #11 asks the exporter to keep up with) for about 2 s (0.2 s in
/// `--quick`), gzip of rotated files on and off, against the baseline deque drained
/// into a plain file at the same rate. `ratio` is events/s written, ours / baseline's.
fn exporter(quick: bool) {
    const RATE: f64 = 1_000_000.0;
    let secs = if quick { 0.2 } else { 2.0 };
    let per_writer = (RATE * secs / exporter_rate::WRITERS as f64) as u64;
    let base = exporter_rate::run_baseline(
        &|b, _| typical::record_baseline(b),
        "bench-base",
        per_writer,
        Some(RATE),
    );
    for gzip in [true, false] {
        let r = exporter_rate::run(
            &|_| typical::event(),
            &format!("bench-{gzip}"),
            per_writer,
            Some(RATE),
            gzip,
        );
        let scenario = if gzip {
            "exporter_1m_paced_gzip"
        } else {
            "exporter_1m_paced_plain"
        };
        emit(
            scenario,
            vec![
                ("threads", json!(exporter_rate::WRITERS)),
                ("events_per_s", round(r.events_per_s(), 0)),
                ("mb_per_s", round(r.mb_per_s(), 1)),
                ("recorded", json!(r.recorded)),
                ("written", json!(r.written)),
                ("lost", json!(r.lost)),
                ("lossless", json!(r.lossless())),
                ("baseline_events_per_s", round(base.events_per_s(), 0)),
                ("baseline_lost", json!(base.lost)),
                ("ratio", round(r.events_per_s() / base.events_per_s(), 2)),
            ],
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // Group names to run (all when none is given).
    let only: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--quick")
        .collect();
    const GROUPS: [&str; 8] = [
        "memory",
        "mix",
        "record",
        "early_return",
        "observe",
        "read",
        "tail",
        "exporter",
    ];
    if let Some(bad) = only.iter().find(|a| !GROUPS.contains(a)) {
        eprintln!(
            "bench: unknown group {bad:?}; groups: {}",
            GROUPS.join(", ")
        );
        std::process::exit(2);
    }
    let wanted = |g: &str| only.is_empty() || only.contains(&g);
    let p = Plan::new(quick);
    let t0 = Instant::now();
    if wanted("memory") {
        memory();
    }
    if wanted("mix") {
        record_mix(&p);
    }
    if wanted("record") {
        record(&p);
    }
    if wanted("early_return") {
        early_return(&p);
    }
    if wanted("observe") {
        observe(&p);
    }
    if wanted("read") {
        read_and_export(&p);
    }
    if wanted("tail") {
        tails(&p);
    }
    if wanted("exporter") {
        exporter(quick);
    }
    eprintln!("bench: done in {:.1} s", t0.elapsed().as_secs_f64());
}
