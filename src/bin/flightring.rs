//! `flightring`: open, summarise, cut, convert, check and replay flightring files —
//! JSON exports, JSON Lines streams (rotated, gzipped, with gap lines), panic dumps,
//! recordings, and the seed event recorder's recordings.
//!
//! Exit codes: 0 on success, 1 on a runtime error (one line on stderr), 2 on bad
//! usage. Streams are read one line at a time (bounded memory) by `info`, `stats`,
//! `timeline`, `check`, `hdr`, and by `filter`/`convert` to a line format (`jsonl`,
//! `csv`, `seed-jsonl`); a recording document (`json`, `seed-json`) is built whole.
//! See the README ("The flightring command-line tool").

use std::error::Error;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use flightring::exporter::Gap;
use flightring::recording::{
    self, duration_of, gap_line, seed, timeline_line, Entries, Entry, Filter, Recording, Source,
    SummaryBuilder,
};
use flightring::replay::{Replayed, Replayer, Target};
use flightring::{CsvOptions, ReadLimits};
use flightring::{NetworkReport, Severity, Timestamp};

type Res<T> = Result<T, Box<dyn Error>>;

/// Post-mortem tools for flightring files.
#[derive(Parser, Debug)]
#[command(name = "flightring", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// The longest line of JSON Lines to read, in bytes (a longer one is an error
    /// naming its line).
    #[arg(long, global = true, default_value_t = flightring::DEFAULT_MAX_LINE_BYTES)]
    max_line_bytes: usize,
    /// The largest JSON document to read whole, in bytes.
    #[arg(long, global = true, default_value_t = flightring::DEFAULT_MAX_DOCUMENT_BYTES)]
    max_document_bytes: usize,
}

/// The reading limits given on the command line (set once in `main`).
static LIMITS: std::sync::OnceLock<ReadLimits> = std::sync::OnceLock::new();

fn limits() -> ReadLimits {
    LIMITS.get().copied().unwrap_or_default()
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// What a file is: format, name, start, duration, events, gaps and losses.
    Info(Files),
    /// The first N events with their offsets from the start, human-readable.
    Timeline {
        #[command(flatten)]
        files: Files,
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 50)]
        n: usize,
    },
    /// Counts by kind and severity, latency percentiles from duration fields, losses.
    Stats {
        #[command(flatten)]
        files: Files,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write the events that match to a new file (gaps are kept).
    Filter {
        #[command(flatten)]
        files: Files,
        #[command(flatten)]
        sel: Selection,
        /// The output file (`-` for stdout); `.gz` compresses.
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Output format (default: from the output's extension — `.jsonl`, `.csv` —
        /// else a recording document).
        #[arg(long)]
        to: Option<Format>,
    },
    /// Convert to another format.
    Convert {
        #[command(flatten)]
        files: Files,
        /// Output format.
        #[arg(long)]
        to: Format,
        /// The output file (default stdout); `.gz` compresses.
        #[arg(short = 'o', long)]
        out: Option<PathBuf>,
    },
    /// The network report (blocks, RPC, errors, cache, pools) from a file's stats.
    Report {
        #[command(flatten)]
        files: Files,
    },
    /// Print the events at their recorded pace (times --speed).
    Replay {
        #[command(flatten)]
        files: Files,
        /// Speed multiplier, 0.01 to 1000.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// As fast as possible.
        #[arg(long)]
        fast: bool,
        /// Print each event as a JSON line instead of a timeline line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        sel: Selection,
        /// Also re-record the events into a fresh recorder served over HTTP at ADDR
        /// (the dashboard, `/events/stream`, `/metrics`…), so a dashboard can watch
        /// the replay (needs the `http` feature).
        #[arg(long, value_name = "ADDR")]
        serve: Option<String>,
        /// With `--serve`, keep serving this many seconds after the replay ends.
        #[arg(long, default_value_t = 0)]
        linger: u64,
    },
    /// Validate files: exit 0 and a line per file, or exit 1 with file:line:column.
    Check(Files),
    /// The durations of events of kind NAME as an HdrHistogram V2 (base64, HISTFAAA…).
    Hdr {
        /// The input file(s).
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// The event kind whose `duration_ns`/`duration_us`/`duration_ms` to take.
        #[arg(long, short = 'k')]
        kind: String,
    },
    /// Follow a node's `/events/stream` (server-sent events), printing each event;
    /// reconnects after a drop with `Last-Event-ID`, so nothing recorded meanwhile is
    /// missed (what the node's ring overwrote meanwhile is reported on stderr).
    Tail {
        /// The node's HTTP endpoint (`http://127.0.0.1:9184`) or a stream URL with
        /// its filters (`http://…/events/stream?min_severity=warning`).
        url: String,
        /// Print each event as a JSON line instead of a timeline line.
        #[arg(long)]
        json: bool,
        /// Stop after this many events (default: follow until interrupted).
        #[arg(long)]
        count: Option<u64>,
        /// Give up after this many failed connection attempts in a row (0: never).
        #[arg(long, default_value_t = 0)]
        retries: u32,
        /// A bearer token for a node that asks for one (or `FLIGHTRING_HTTP_TOKEN`).
        #[arg(long)]
        token: Option<String>,
    },
    /// Decode an HdrHistogram V2 (base64; `-` reads stdin) and print its percentiles.
    HdrDecode {
        /// The base64 text, or `-`.
        text: String,
    },
}

#[derive(Args, Debug)]
struct Files {
    /// Input files, read in the order given (a rotated set: oldest first). Gzip is
    /// detected by content.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug, Default)]
struct Selection {
    /// Keep events at or above this severity.
    #[arg(long)]
    min_severity: Option<Severity>,
    /// Keep events at or below this severity.
    #[arg(long)]
    max_severity: Option<Severity>,
    /// Keep events of this kind (repeatable).
    #[arg(long)]
    kind: Vec<String>,
    /// Keep events about this peer (repeatable).
    #[arg(long)]
    peer: Vec<String>,
    /// Keep events whose message, kind, peer or a text field contains this.
    #[arg(long)]
    text: Option<String>,
    /// Keep events from this time: RFC 3339, or an offset from the start (`90s`, `5m`).
    #[arg(long)]
    since: Option<String>,
    /// Keep events up to this time: RFC 3339, or an offset from the start.
    #[arg(long)]
    until: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// A flightring recording document.
    Json,
    /// JSON Lines, our stream form (events and gap lines).
    Jsonl,
    /// CSV with the export's columns.
    Csv,
    /// The flight recorder's flat lines (`type`, `ts`, `duration_ms`…) for its jq recipes.
    SeedJsonl,
    /// The seed event recorder's recording document.
    SeedJson,
}

impl Selection {
    fn filter(&self) -> Res<Filter> {
        let mut f = Filter::new();
        if let Some(s) = self.min_severity {
            f = f.min_severity(s);
        }
        if let Some(s) = self.max_severity {
            f = f.max_severity(s);
        }
        for k in &self.kind {
            f = f.kind(k.clone());
        }
        for p in &self.peer {
            f = f.peer(p.clone());
        }
        if let Some(t) = &self.text {
            f = f.text(t.clone());
        }
        for (arg, since) in [(&self.since, true), (&self.until, false)] {
            let Some(a) = arg else { continue };
            f = match (a.parse::<Timestamp>(), since) {
                (Ok(t), true) => f.since(t),
                (Ok(t), false) => f.until(t),
                (Err(_), s) => {
                    let d = flightring::parse_duration(a).map_err(|e| {
                        format!(
                            "--{}: {a:?} is neither an RFC 3339 time nor an offset ({e})",
                            if s { "since" } else { "until" }
                        )
                    })?;
                    if s {
                        f.from_offset(d)
                    } else {
                        f.to_offset(d)
                    }
                }
            };
        }
        Ok(f)
    }
}

/// What is known of the input while it is walked.
struct Walk {
    name: String,
    source: Source,
    /// Offsets are measured from here: the document's start, else the first event.
    start: Option<Timestamp>,
    /// The first file's document, when it is one (its stats, losses, panic).
    doc: Option<Recording>,
    files: usize,
}

impl Walk {
    fn offset(&self, t: Timestamp) -> Duration {
        let s = self.start.unwrap_or(t);
        Duration::from_nanos(u64::try_from(t.as_unix_nanos() - s.as_unix_nanos()).unwrap_or(0))
    }
}

/// Calls `f` with each entry of the files in order; `f` returns `false` to stop.
fn walk(files: &[PathBuf], mut f: impl FnMut(&Walk, Entry) -> Res<bool>) -> Res<Walk> {
    let mut w = Walk {
        name: String::new(),
        source: Source::Stream,
        start: None,
        doc: None,
        files: 0,
    };
    let bar = progress(None);
    let mut seen = 0u64;
    for p in files {
        let it = Entries::open_with(p, &limits())?;
        bar.set_message(p.display().to_string());
        w.files += 1;
        if w.files == 1 {
            w.name = stem(p);
            w.source = it.source();
            if let Some(d) = it.document() {
                w.name = d.name.clone();
                w.start = Some(d.start_time);
                let mut meta = d.clone();
                meta.events = Vec::new();
                meta.gaps = Vec::new();
                w.doc = Some(meta);
            }
        }
        for entry in it {
            let entry = entry?;
            seen += 1;
            if seen.is_multiple_of(4096) {
                bar.set_position(seen);
            }
            if w.start.is_none() {
                if let Entry::Event(e) = &entry {
                    w.start = Some(e.timestamp);
                }
            }
            if !f(&w, entry)? {
                bar.finish_and_clear();
                return Ok(w);
            }
        }
    }
    bar.finish_and_clear();
    Ok(w)
}

/// A progress line on stderr for long work (`total` events when known), redrawn at
/// most ten times a second. indicatif draws nothing when stderr is not a terminal, so
/// pipes, files and CI logs stay clean.
fn progress(total: Option<u64>) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    // Not over events streaming to the same terminal.
    let streaming = STREAMS_TO_STDOUT.load(std::sync::atomic::Ordering::Relaxed);
    let target = if streaming && io::stdout().is_terminal() {
        indicatif::ProgressDrawTarget::hidden()
    } else {
        indicatif::ProgressDrawTarget::stderr_with_hz(10)
    };
    let bar = indicatif::ProgressBar::with_draw_target(total, target);
    let template = if total.is_some() {
        "{bar:30} {human_pos}/{human_len} events ({eta} left) {msg}"
    } else {
        "{spinner} {human_pos} events ({elapsed}) {msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn stem(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    n.split('.').next().unwrap_or("recording").to_owned()
}

fn out_writer(out: Option<&Path>) -> Res<Box<dyn Write>> {
    match out {
        None => Ok(Box::new(BufWriter::with_capacity(
            1 << 16,
            io::stdout().lock(),
        ))),
        Some(p) if p == Path::new("-") => Ok(Box::new(BufWriter::with_capacity(
            1 << 16,
            io::stdout().lock(),
        ))),
        Some(p) => {
            let f = File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let w = BufWriter::with_capacity(1 << 16, f);
            if p.extension().is_some_and(|e| e == "gz") {
                Ok(Box::new(flate2::write::GzEncoder::new(
                    w,
                    flate2::Compression::default(),
                )))
            } else {
                Ok(Box::new(w))
            }
        }
    }
}

fn summary(files: &[PathBuf]) -> Res<(recording::Summary, Walk)> {
    let mut b: Option<SummaryBuilder> = None;
    let w = walk(files, |w, entry| {
        let b = b.get_or_insert_with(|| SummaryBuilder::new(w.name.clone(), w.source));
        match entry {
            Entry::Event(e) => b.add(&e),
            Entry::Gap(g) => b.add_gap(g.lost),
        }
        Ok(true)
    })?;
    let mut b = b.unwrap_or_else(|| SummaryBuilder::new(w.name.clone(), w.source));
    if let Some(d) = &w.doc {
        b.span(d.start_time, d.duration);
        b.source_losses(&d.losses());
    }
    Ok((b.finish(), w))
}

fn cmd_info(files: &[PathBuf]) -> Res<()> {
    let (s, w) = summary(files)?;
    let mut o = io::stdout().lock();
    writeln!(
        o,
        "files      {}",
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    writeln!(o, "format     {}", s.source.as_str())?;
    writeln!(o, "name       {}", s.name)?;
    writeln!(o, "start      {}", s.start_time)?;
    writeln!(o, "duration   {:.3} s", s.duration_secs)?;
    writeln!(o, "events     {}", s.events)?;
    writeln!(o, "kinds      {}", s.by_kind.len())?;
    writeln!(o, "peers      {}", s.peers)?;
    let l = &s.losses;
    writeln!(o, "gaps       {} ({} events missing)", l.gaps, l.in_gaps)?;
    writeln!(o, "truncated  {}", l.truncated_events)?;
    if let Some(ov) = l.overwritten {
        writeln!(
            o,
            "source     {ov} overwritten, {} dropped, {} expired, {} cleared (the recorder's counts)",
            l.dropped.unwrap_or(0),
            l.expired.unwrap_or(0),
            l.cleared.unwrap_or(0)
        )?;
    }
    if let Some(p) = w.doc.as_ref().and_then(|d| d.panic.as_ref()) {
        let loc = p
            .location
            .as_ref()
            .map(|l| format!(" at {}:{}:{}", l.file, l.line, l.column))
            .unwrap_or_default();
        writeln!(
            o,
            "panic      {:?}{loc} on thread {} at {}",
            p.message,
            p.thread.as_deref().unwrap_or("(unnamed)"),
            p.timestamp
        )?;
    }
    Ok(())
}

fn cmd_stats(files: &[PathBuf], json: bool) -> Res<()> {
    let (s, _) = summary(files)?;
    let mut o = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut o, &s)?;
        writeln!(o)?;
    } else {
        write!(o, "{s}")?;
    }
    Ok(())
}

fn cmd_timeline(files: &[PathBuf], n: usize) -> Res<()> {
    let mut o = BufWriter::new(io::stdout().lock());
    let mut shown = 0usize;
    let mut more = false;
    walk(files, |w, entry| {
        if shown >= n {
            more = true;
            return Ok(false);
        }
        match entry {
            Entry::Event(e) => {
                writeln!(o, "{}", timeline_line(&e, w.offset(e.timestamp)))?;
                shown += 1;
            }
            Entry::Gap(g) => writeln!(o, "{}", gap_line(w.offset(g.at), g.lost))?,
        }
        Ok(true)
    })?;
    if more {
        writeln!(o, "… (first {n} events shown; -n N for more)")?;
    }
    o.flush()?;
    Ok(())
}

fn format_for(out: &Path, to: Option<Format>) -> Format {
    if let Some(f) = to {
        return f;
    }
    let name = out.to_string_lossy();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
        Format::Jsonl
    } else if name.ends_with(".csv") {
        Format::Csv
    } else {
        Format::Json
    }
}

/// Writes the entries that `filter` keeps in `format`; returns (kept, gaps).
fn transcode(
    files: &[PathBuf],
    filter: &Filter,
    format: Format,
    out: Option<&Path>,
) -> Res<(u64, u64)> {
    let mut w = out_writer(out)?;
    let (mut kept, mut gaps) = (0u64, 0u64);
    match format {
        Format::Jsonl | Format::Csv | Format::SeedJsonl => {
            if format == Format::Csv {
                w.write_all(flightring::CSV_HEADER.as_bytes())?;
                w.write_all(b"\r\n")?;
            }
            walk(files, |wk, entry| {
                match &entry {
                    Entry::Event(e) => {
                        let off = wk.offset(e.timestamp);
                        if !filter.matches(e, off) {
                            return Ok(true);
                        }
                        kept += 1;
                        match format {
                            Format::Jsonl => recording::write_stream_line(&mut w, &entry)?,
                            Format::Csv => {
                                recording::write_csv_row(&mut w, e, CsvOptions::default())?
                            }
                            _ => seed::write_seed_line(&mut w, e, off)?,
                        }
                    }
                    Entry::Gap(g) => {
                        gaps += 1;
                        match format {
                            Format::Jsonl => recording::write_stream_line(&mut w, &entry)?,
                            Format::SeedJsonl => {
                                seed::write_seed_gap(&mut w, g.lost, wk.offset(g.at))?
                            }
                            _ => {} // CSV has no gap rows; `info`/`stats` show them.
                        }
                    }
                }
                Ok(true)
            })?;
        }
        Format::Json | Format::SeedJson => {
            let r = filter.apply(&Recording::open_all_with(files, &limits())?);
            kept = r.events.len() as u64;
            gaps = r.gaps.len() as u64;
            if format == Format::Json {
                r.write_json(&mut w)?;
            } else {
                r.write_seed_json(&mut w)?;
            }
        }
    }
    w.flush()?;
    drop(w); // finishes a gzip stream
    Ok((kept, gaps))
}

fn cmd_report(files: &[PathBuf]) -> Res<()> {
    let r = Recording::open_all_with(files, &limits())?;
    let Some(stats) = &r.stats else {
        return Err(format!(
            "{}: a {} carries no recorder stats; `report` needs an export or a panic dump (use `stats` for counts from events)",
            files[0].display(),
            r.source.as_str()
        )
        .into());
    };
    let rep = NetworkReport::from_stats(stats, Duration::from_secs_f64(stats.uptime_secs.max(0.0)));
    let mut o = io::stdout().lock();
    serde_json::to_writer_pretty(&mut o, &rep)?;
    writeln!(o)?;
    Ok(())
}

struct Printer<W: Write> {
    out: W,
    json: bool,
    err: Option<io::Error>,
    /// A recorder each event is also re-recorded into (`replay --serve`).
    also: Option<flightring::Recorder>,
}

impl<W: Write> Target for Printer<W> {
    fn event(&mut self, ev: &Replayed<'_>) {
        if let Some(mut rec) = self.also.as_ref() {
            rec.event(ev);
        }
        if self.err.is_some() {
            return;
        }
        let r = if self.json {
            serde_json::to_writer(&mut self.out, ev.event)
                .map_err(io::Error::other)
                .and_then(|_| self.out.write_all(b"\n"))
        } else {
            writeln!(self.out, "{}", timeline_line(ev.event, ev.offset))
        };
        let r = r.and_then(|_| self.out.flush());
        if let Err(e) = r {
            self.err = Some(e);
        }
    }

    fn gap(&mut self, lost: u64, offset: Duration) {
        if self.err.is_none() {
            let _ = writeln!(self.out, "{}", gap_line(offset, lost));
        }
    }
}

fn cmd_replay(
    files: &[PathBuf],
    speed: f64,
    fast: bool,
    json: bool,
    sel: &Selection,
    serve: Option<&str>,
    linger: u64,
) -> Res<()> {
    let served = serve.map(served_recorder).transpose()?;
    let r = Recording::open_all_with(files, &limits())?;
    let bar = progress(Some(r.len() as u64));
    let shown = bar.clone();
    let mut rp = Replayer::new(r)
        .filter(sel.filter()?)
        .on_progress(move |done, total| {
            shown.set_length(total);
            shown.set_position(done);
        });
    rp = if fast {
        rp.as_fast_as_possible()
    } else {
        rp.speed(speed)?
    };
    let mut printer = Printer {
        out: io::stdout().lock(),
        json,
        err: None,
        also: served.as_ref().map(|s| s.0.clone()),
    };
    let report = rp.run(&mut printer)?;
    bar.finish_and_clear();
    if let Some(e) = printer.err {
        return Err(e.into());
    }
    eprintln!(
        "replayed {} events ({} filtered out, {} gaps with {} missing) in {:.3} s; lateness p99 {:.3} ms",
        report.replayed, report.filtered_out, report.gaps, report.lost, report.elapsed_secs, report.late_p99_ms
    );
    if served.is_some() && linger > 0 {
        eprintln!("serving for {linger} s more");
        std::thread::sleep(Duration::from_secs(linger));
    }
    drop(served);
    Ok(())
}

/// The recorder a `replay --serve` re-records into, and its HTTP endpoint.
#[cfg(feature = "http")]
type Served = (flightring::Recorder, flightring::http::HttpServer);
#[cfg(not(feature = "http"))]
type Served = (flightring::Recorder, ());

#[cfg(feature = "http")]
fn served_recorder(addr: &str) -> Res<Served> {
    let rec = flightring::Recorder::new();
    let server = flightring::http::serve(rec.clone(), addr)?;
    eprintln!(
        "serving the replay at http://{}/ (/events/stream, /metrics, …)",
        server.local_addr()
    );
    Ok((rec, server))
}

#[cfg(not(feature = "http"))]
fn served_recorder(_addr: &str) -> Res<Served> {
    Err("replay --serve needs the http feature: cargo install --path . --features cli,http".into())
}

fn cmd_check(files: &[PathBuf]) -> Res<()> {
    for p in files {
        let (mut events, mut gaps, mut lost) = (0u64, 0u64, 0u64);
        let w = walk(std::slice::from_ref(p), |_, e| {
            match e {
                Entry::Event(_) => events += 1,
                Entry::Gap(Gap { lost: l, .. }) => {
                    gaps += 1;
                    lost += l;
                }
            }
            Ok(true)
        });
        match w {
            Ok(w) => println!(
                "{}: ok, {} ({events} events, {gaps} gaps, {lost} missing)",
                p.display(),
                w.source.as_str()
            ),
            Err(e) => {
                // What was whole before the damage is still counted; the error (on
                // stderr, exit 1) says where it is.
                println!(
                    "{}: damaged after {events} events, {gaps} gaps, {lost} missing",
                    p.display()
                );
                return Err(e);
            }
        }
    }
    Ok(())
}

fn cmd_hdr(files: &[PathBuf], kind: &str) -> Res<()> {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3)?;
    let mut seen = 0u64;
    walk(files, |_, e| {
        if let Entry::Event(e) = e {
            if e.kind == kind {
                seen += 1;
                if let Some(d) = duration_of(&e) {
                    h.saturating_record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1));
                }
            }
        }
        Ok(true)
    })?;
    if h.is_empty() {
        return Err(format!(
            "no event of kind {kind:?} with a duration field ({seen} of that kind)"
        )
        .into());
    }
    println!("{}", flightring::hdr::encode_v2(&h)?);
    eprintln!(
        "{kind}: {} values in nanoseconds; p50 {} p99 {} p99.9 {} max {}",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
    Ok(())
}

fn cmd_hdr_decode(text: &str) -> Res<()> {
    let text = if text == "-" {
        io::read_to_string(io::stdin())?
    } else {
        text.to_owned()
    };
    let h = flightring::hdr::decode_v2(&text)?;
    let mut o = io::stdout().lock();
    writeln!(o, "count {}", h.len())?;
    writeln!(o, "min {}", h.min())?;
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
        writeln!(o, "{name} {}", h.value_at_quantile(q))?;
    }
    writeln!(o, "max {}", h.max())?;
    Ok(())
}

/// Whether the command streams events to stdout as it goes (then no progress line
/// is drawn over a terminal it shares).
static STREAMS_TO_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn run(cli: Cli) -> Res<()> {
    let streams = match &cli.cmd {
        Cmd::Timeline { .. } | Cmd::Replay { .. } | Cmd::Tail { .. } => true,
        Cmd::Convert { out, .. } => out.is_none(),
        Cmd::Filter { out, .. } => out.as_os_str() == "-",
        _ => false,
    };
    STREAMS_TO_STDOUT.store(streams, std::sync::atomic::Ordering::Relaxed);
    match cli.cmd {
        Cmd::Info(f) => cmd_info(&f.files),
        Cmd::Timeline { files, n } => cmd_timeline(&files.files, n),
        Cmd::Stats { files, json } => cmd_stats(&files.files, json),
        Cmd::Filter {
            files,
            sel,
            out,
            to,
        } => {
            let format = format_for(&out, to);
            let (kept, gaps) = transcode(&files.files, &sel.filter()?, format, Some(&out))?;
            eprintln!("kept {kept} events and {gaps} gaps → {}", out.display());
            Ok(())
        }
        Cmd::Convert { files, to, out } => {
            transcode(&files.files, &Filter::new(), to, out.as_deref()).map(|_| ())
        }
        Cmd::Report { files } => cmd_report(&files.files),
        Cmd::Replay {
            files,
            speed,
            fast,
            json,
            sel,
            serve,
            linger,
        } => cmd_replay(
            &files.files,
            speed,
            fast,
            json,
            &sel,
            serve.as_deref(),
            linger,
        ),
        Cmd::Check(f) => cmd_check(&f.files),
        Cmd::Hdr { files, kind } => cmd_hdr(&files, &kind),
        Cmd::HdrDecode { text } => cmd_hdr_decode(&text),
        Cmd::Tail {
            url,
            json,
            count,
            retries,
            token,
        } => {
            let token = token.or_else(|| std::env::var("FLIGHTRING_HTTP_TOKEN").ok());
            cmd_tail(&url, json, count, retries, token.as_deref())
        }
    }
}

/// `tail`: one connection at a time to the stream; on a drop or refusal, waits
/// (0.25 s doubling to 5 s) and reconnects with the last `id:` seen as
/// `Last-Event-ID`.
fn cmd_tail(
    url: &str,
    json: bool,
    count: Option<u64>,
    retries: u32,
    token: Option<&str>,
) -> Res<()> {
    use std::io::BufRead;
    let url = if url.contains("/events/stream") {
        url.to_owned()
    } else {
        format!("{}/events/stream", url.trim_end_matches('/'))
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(5)))
        .build()
        .into();
    let out = io::stdout();
    let mut out = out.lock();
    let (mut last_id, mut shown, mut failures) = (None::<String>, 0u64, 0u32);
    let mut wait = Duration::from_millis(250);
    let started = std::time::Instant::now();
    loop {
        let mut req = agent.get(&url).header("Accept", "text/event-stream");
        if let Some(id) = &last_id {
            req = req.header("Last-Event-ID", id);
        }
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let outcome: Result<(), String> = match req.call() {
            Err(e) => Err(e.to_string()),
            Ok(resp) if resp.status() == 401 || resp.status() == 403 => {
                return Err(format!("{url}: HTTP {} (is --token right?)", resp.status()).into());
            }
            Ok(resp) if resp.status() == 400 || resp.status() == 404 => {
                let status = resp.status();
                let body = resp.into_body().read_to_string().unwrap_or_default();
                return Err(format!("{url}: HTTP {status}: {}", body.trim()).into());
            }
            Ok(resp) if resp.status() != 200 => Err(format!("HTTP {}", resp.status())),
            Ok(resp) => {
                failures = 0;
                wait = Duration::from_millis(250);
                let reader = io::BufReader::new(resp.into_body().into_reader());
                let (mut name, mut data) = (String::new(), String::new());
                let mut ended = None;
                for line in reader.lines() {
                    let Ok(line) = line else { break };
                    if line.is_empty() {
                        match name.as_str() {
                            "event" => {
                                let e: flightring::EventRecord = serde_json::from_str(&data)
                                    .map_err(|e| format!("{url}: a bad event ({e}): {data}"))?;
                                if json {
                                    serde_json::to_writer(&mut out, &e)?;
                                    writeln!(out)?;
                                } else {
                                    writeln!(out, "{}", timeline_line(&e, started.elapsed()))?;
                                }
                                out.flush()?;
                                shown += 1;
                                if count.is_some_and(|n| shown >= n) {
                                    return Ok(());
                                }
                            }
                            "lost" => eprintln!("flightring tail: the node's ring overwrote events before they were sent: {data}"),
                            "reset" => eprintln!("flightring tail: {data}"),
                            "end" => ended = Some(data.clone()),
                            _ => {}
                        }
                        name.clear();
                        data.clear();
                        continue;
                    }
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        last_id = Some(v.to_owned());
                    }
                }
                if ended.is_some_and(|r| r.contains("\"limit\"")) {
                    return Ok(());
                }
                Err("the stream ended".to_owned())
            }
        };
        if let Err(why) = outcome {
            failures += 1;
            if retries > 0 && failures >= retries {
                return Err(format!("{url}: {why}; gave up after {failures} attempts").into());
            }
            eprintln!(
                "flightring tail: {why}; reconnecting in {:.2} s",
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

fn is_broken_pipe(e: &(dyn Error + 'static)) -> bool {
    let mut cur: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(e) = cur {
        if e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
        {
            return true;
        }
        cur = e.source();
    }
    false
}

fn main() -> ExitCode {
    let cli = Cli::parse(); // bad usage: clap prints it and exits 2
    let _ = LIMITS.set(
        ReadLimits::default()
            .max_line_bytes(cli.max_line_bytes)
            .max_document_bytes(cli.max_document_bytes),
    );
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("flightring: error: {msg}");
            ExitCode::from(1)
        }
    }
}
