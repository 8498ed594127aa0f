//! [`Summary`] (counts by kind and severity, latency percentiles from duration
//! fields, losses) and the human-readable timeline. Both are built one event at a
//! time ([`SummaryBuilder`], [`timeline_line`]), so they work on streams of any size.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use serde::Serialize;

use crate::{EventRecord, Severity, Timestamp, Value};

use super::{Losses, Recording, Source};

/// Latency figures of one kind's duration fields, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Latency {
    /// Events with a duration.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// What a recording holds, in counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// The recording's name.
    pub name: String,
    /// What the file was.
    pub source: Source,
    /// The start.
    pub start_time: Timestamp,
    /// The length, in seconds.
    pub duration_secs: f64,
    /// Events.
    pub events: u64,
    /// Events by severity (every severity, zero or not).
    pub by_severity: BTreeMap<Severity, u64>,
    /// Events by kind, then by severity (severities with none left out).
    pub by_kind: BTreeMap<String, BTreeMap<Severity, u64>>,
    /// Distinct peers seen.
    pub peers: u64,
    /// Latency percentiles by kind, from `duration_ns`, `duration_us` or `duration_ms`.
    pub latency: BTreeMap<String, Latency>,
    /// What is known to be missing.
    pub losses: Losses,
}

/// The duration an event carries, from `duration_ns`, `duration_us` or `duration_ms`.
pub fn duration_of(e: &EventRecord) -> Option<Duration> {
    let m = &e.metadata;
    let secs = m
        .get("duration_ns")
        .and_then(Value::as_f64)
        .map(|v| v / 1e9)
        .or_else(|| {
            m.get("duration_us")
                .and_then(Value::as_f64)
                .map(|v| v / 1e6)
        })
        .or_else(|| {
            m.get("duration_ms")
                .and_then(Value::as_f64)
                .map(|v| v / 1e3)
        })?;
    (0.0..1e9)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// Builds a [`Summary`] one event at a time, in bounded memory (one histogram per kind
/// with durations; peers are counted exactly up to 1,000,000 distinct, then no more
/// are added).
#[derive(Debug)]
pub struct SummaryBuilder {
    s: Summary,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    peers: std::collections::HashSet<String>,
    hist: BTreeMap<String, (hdrhistogram::Histogram<u64>, f64)>,
}

impl SummaryBuilder {
    /// An empty summary of `name`, from `source`.
    pub fn new(name: impl Into<String>, source: Source) -> Self {
        SummaryBuilder {
            s: Summary {
                name: name.into(),
                source,
                start_time: Timestamp::default(),
                duration_secs: 0.0,
                events: 0,
                by_severity: Severity::ALL.iter().map(|&s| (s, 0)).collect(),
                by_kind: BTreeMap::new(),
                peers: 0,
                latency: BTreeMap::new(),
                losses: Losses::default(),
            },
            first: None,
            last: None,
            peers: Default::default(),
            hist: BTreeMap::new(),
        }
    }

    /// Counts one event.
    pub fn add(&mut self, e: &EventRecord) {
        self.s.events += 1;
        *self.s.by_severity.entry(e.severity).or_default() += 1;
        match self.s.by_kind.get_mut(&e.kind) {
            Some(m) => *m.entry(e.severity).or_default() += 1,
            None => {
                self.s
                    .by_kind
                    .insert(e.kind.clone(), BTreeMap::from([(e.severity, 1)]));
            }
        }
        if let Some(p) = &e.peer {
            if self.peers.len() < 1_000_000 && !self.peers.contains(p) {
                self.peers.insert(p.clone());
            }
        }
        if e.truncated {
            self.s.losses.truncated_events += 1;
        }
        self.first = Some(self.first.map_or(e.timestamp, |f| f.min(e.timestamp)));
        self.last = Some(self.last.map_or(e.timestamp, |l| l.max(e.timestamp)));
        if let Some(d) = duration_of(e) {
            let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
            let entry = self.hist.entry(e.kind.clone()).or_insert_with(|| {
                (
                    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
                        .expect("valid bounds"),
                    0.0,
                )
            });
            entry.0.saturating_record(ns);
            entry.1 += d.as_secs_f64() * 1000.0;
        }
    }

    /// Counts a gap of `lost` events.
    pub fn add_gap(&mut self, lost: u64) {
        self.s.losses.gaps += 1;
        self.s.losses.in_gaps += lost;
    }

    /// The summary. Start and duration are the first to last event's, unless
    /// [`SummaryBuilder::span`] set them.
    pub fn finish(mut self) -> Summary {
        if self.s.duration_secs == 0.0 {
            if let (Some(f), Some(l)) = (self.first, self.last) {
                self.s.start_time = f;
                self.s.duration_secs = (l.as_unix_nanos() - f.as_unix_nanos()).max(0) as f64 / 1e9;
            }
        }
        self.s.peers = self.peers.len() as u64;
        for (kind, (h, sum)) in self.hist {
            let ms = |ns: u64| ns as f64 / 1e6;
            self.s.latency.insert(
                kind,
                Latency {
                    count: h.len(),
                    mean_ms: sum / h.len().max(1) as f64,
                    p50_ms: ms(h.value_at_quantile(0.50)),
                    p90_ms: ms(h.value_at_quantile(0.90)),
                    p99_ms: ms(h.value_at_quantile(0.99)),
                    max_ms: ms(h.max()),
                },
            );
        }
        self.s
    }

    /// Sets the start and length (a document's own, rather than its events' span).
    pub fn span(&mut self, start: Timestamp, duration: Duration) {
        self.s.start_time = start;
        self.s.duration_secs = duration.as_secs_f64();
    }

    /// Sets the source recorder's loss figures (from an export's stats).
    pub fn source_losses(&mut self, l: &Losses) {
        self.s.losses.overwritten = l.overwritten;
        self.s.losses.dropped = l.dropped;
        self.s.losses.expired = l.expired;
        self.s.losses.cleared = l.cleared;
    }
}

impl Recording {
    /// Counts by kind and severity, latency percentiles, losses.
    pub fn summary(&self) -> Summary {
        let mut b = SummaryBuilder::new(self.name.clone(), self.source);
        for e in &self.events {
            b.add(e);
        }
        for g in &self.gaps {
            b.add_gap(g.lost);
        }
        b.source_losses(&self.losses());
        b.span(self.start_time, self.duration);
        b.finish()
    }

    /// The first `n` events, one line each, with their offsets (see [`timeline_line`]);
    /// gaps as `-- N events missing --` lines where they stood.
    pub fn timeline(&self, n: usize) -> String {
        let mut out = String::new();
        let mut gaps = self.gaps.iter().peekable();
        for (i, e) in self.events.iter().take(n).enumerate() {
            while let Some(g) = gaps.next_if(|g| g.before <= i) {
                let _ = writeln!(out, "{}", gap_line(self.offset_at(g.at), g.lost));
            }
            out.push_str(&timeline_line(e, self.offset(e)));
            out.push('\n');
        }
        if self.events.len() > n {
            let _ = writeln!(out, "… {} more events", self.events.len() - n);
        }
        out
    }
}

/// `+HH:MM:SS.mmm` for an offset.
pub fn format_offset(d: Duration) -> String {
    let ms = d.as_millis();
    format!(
        "+{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// One timeline line: offset, severity, kind, peer, message, fields.
///
/// `+00:00:01.250 WARNING  rpc_call       infura     eth_call  duration_ns=950000 success=false`
pub fn timeline_line(e: &EventRecord, offset: Duration) -> String {
    let mut s = String::with_capacity(96);
    let _ = write!(
        s,
        "{} {:<8} {:<14} {:<10} {}",
        format_offset(offset),
        e.severity.as_str(),
        e.kind,
        e.peer.as_deref().unwrap_or("-"),
        e.message
    );
    for (k, v) in e.metadata.iter() {
        let _ = write!(s, "  {k}={v}");
    }
    if e.truncated {
        s.push_str("  [truncated]");
    }
    s
}

/// A gap's timeline line.
pub fn gap_line(offset: Duration, lost: u64) -> String {
    format!(
        "{} -- {lost} events missing here (gap) --",
        format_offset(offset)
    )
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "recording  {} ({})", self.name, self.source.as_str())?;
        writeln!(f, "start      {}", self.start_time)?;
        writeln!(f, "duration   {:.3} s", self.duration_secs)?;
        writeln!(f, "events     {}", self.events)?;
        writeln!(f, "peers      {}", self.peers)?;
        let l = &self.losses;
        write!(
            f,
            "losses     {} in {} gaps, {} truncated",
            l.in_gaps, l.gaps, l.truncated_events
        )?;
        if let Some(o) = l.overwritten {
            write!(
                f,
                "; source recorder: {o} overwritten, {} dropped, {} expired, {} cleared",
                l.dropped.unwrap_or(0),
                l.expired.unwrap_or(0),
                l.cleared.unwrap_or(0)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "\nby severity")?;
        for (s, n) in &self.by_severity {
            writeln!(f, "  {:<9}{n:>10}", s.as_str())?;
        }
        writeln!(
            f,
            "\nby kind                 total   DEBUG    INFO WARNING   ERROR    CRIT"
        )?;
        for (k, m) in &self.by_kind {
            let total: u64 = m.values().sum();
            write!(f, "  {k:<20}{total:>8}")?;
            for s in Severity::ALL {
                write!(f, "{:>8}", m.get(&s).copied().unwrap_or(0))?;
            }
            writeln!(f)?;
        }
        if !self.latency.is_empty() {
            writeln!(
                f,
                "\nlatency (ms)            count      mean       p50       p90       p99       max"
            )?;
            for (k, l) in &self.latency {
                writeln!(
                    f,
                    "  {k:<20}{:>8}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.3}",
                    l.count, l.mean_ms, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
                )?;
            }
        }
        Ok(())
    }
}
