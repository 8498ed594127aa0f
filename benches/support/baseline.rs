//! The baseline every figure is measured beside: the recorder most people write first
//! (and the design of the original Go diagnostics recorder).
//!
//! One `Mutex` guards a `VecDeque<OwnedEvent>` of owned `String`s with a
//! `HashMap<String, MetaValue>` of metadata per event; the oldest event is dropped on
//! overflow; the stats maps (`HashMap<String, u64>` by kind and by severity) and the
//! histograms are updated under the same lock. Reads (query, snapshot, stats, health,
//! export) take the same lock and clone what they return. Export is `serde_json` over
//! a cloned snapshot.
//!
//! It is written fairly: the enabled / minimum-severity check is a relaxed atomic load
//! before anything is built, events are built before the lock is taken, and the stats
//! maps are updated with `get_mut` first so a known kind does not allocate a key.
//!
//! Included with `#[path = "support/baseline.rs"] mod baseline;`.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flightring::Severity;
use serde::Serialize;

/// A metadata value as the caller passes it (borrowed).
#[derive(Debug, Clone, Copy)]
pub enum BaseValue<'a> {
    /// A string.
    Str(&'a str),
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

/// A metadata value as stored (owned).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetaValue {
    /// A string.
    Str(String),
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl From<BaseValue<'_>> for MetaValue {
    fn from(v: BaseValue<'_>) -> Self {
        match v {
            BaseValue::Str(s) => MetaValue::Str(s.to_owned()),
            BaseValue::U64(v) => MetaValue::U64(v),
            BaseValue::I64(v) => MetaValue::I64(v),
            BaseValue::F64(v) => MetaValue::F64(v),
            BaseValue::Bool(v) => MetaValue::Bool(v),
        }
    }
}

/// A stored event: every string owned.
#[derive(Debug, Clone, Serialize)]
pub struct OwnedEvent {
    /// Sequence number.
    pub id: u64,
    /// Unix nanoseconds.
    pub timestamp: u64,
    /// Severity.
    pub severity: Severity,
    /// Kind.
    pub event_type: String,
    /// Peer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<String>,
    /// Message.
    pub message: String,
    /// Metadata.
    pub metadata: HashMap<String, MetaValue>,
}

/// Stats as the baseline returns them: cloned maps.
#[derive(Debug, Clone, Serialize)]
pub struct BaseStats {
    /// Events recorded, all time.
    pub total: u64,
    /// Events retained.
    pub retained: u64,
    /// Capacity.
    pub capacity: u64,
    /// Events dropped on overflow.
    pub overwritten: u64,
    /// Events by kind.
    pub by_kind: HashMap<String, u64>,
    /// Events by severity name.
    pub by_severity: HashMap<String, u64>,
    /// Errors (Error + Critical) over total.
    pub error_rate: f64,
    /// Seconds since start.
    pub uptime_secs: f64,
}

/// Health as the baseline computes it (under the lock).
#[derive(Debug, Clone, Serialize)]
pub struct BaseHealth {
    /// "healthy", "degraded" or "unhealthy".
    pub status: &'static str,
    /// One line for humans.
    pub message: String,
    /// Thresholds crossed.
    pub reasons: Vec<String>,
    /// Events retained.
    pub event_count: u64,
    /// Capacity.
    pub capacity: u64,
    /// Events recorded, all time.
    pub total_events: u64,
    /// Error rate.
    pub error_rate: f64,
}

struct State {
    events: VecDeque<OwnedEvent>,
    next_id: u64,
    total: u64,
    overwritten: u64,
    by_kind: HashMap<String, u64>,
    by_severity: HashMap<String, u64>,
    histograms: HashMap<String, hdrhistogram::Histogram<u64>>,
}

/// The mutex-and-deque recorder.
pub struct Baseline {
    state: Mutex<State>,
    capacity: usize,
    enabled: AtomicBool,
    min_severity: AtomicU8,
    started: Instant,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(c) => *c += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Baseline {
    /// A baseline holding at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Baseline {
            state: Mutex::new(State {
                events: VecDeque::with_capacity(capacity),
                next_id: 0,
                total: 0,
                overwritten: 0,
                by_kind: HashMap::new(),
                by_severity: HashMap::new(),
                histograms: HashMap::new(),
            }),
            capacity,
            enabled: AtomicBool::new(true),
            min_severity: AtomicU8::new(Severity::Debug as u8),
            started: Instant::now(),
        }
    }

    /// Turns recording on or off.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Records only events at or above `s`.
    pub fn set_min_severity(&self, s: Severity) {
        self.min_severity.store(s as u8, Ordering::Relaxed);
    }

    /// Records an event: builds the owned event, then locks, pushes (dropping the
    /// oldest when full) and updates the stats maps.
    pub fn record(
        &self,
        kind: &str,
        severity: Severity,
        peer: Option<&str>,
        message: &str,
        fields: &[(&str, BaseValue<'_>)],
    ) {
        if !self.enabled.load(Ordering::Relaxed)
            || (severity as u8) < self.min_severity.load(Ordering::Relaxed)
        {
            return;
        }
        let mut ev = OwnedEvent {
            id: 0,
            timestamp: now_ns(),
            severity,
            event_type: kind.to_owned(),
            peer_id: peer.map(str::to_owned),
            message: message.to_owned(),
            metadata: fields
                .iter()
                .map(|&(k, v)| (k.to_owned(), MetaValue::from(v)))
                .collect(),
        };
        let mut st = self.state.lock().unwrap();
        ev.id = st.next_id;
        st.next_id += 1;
        st.total += 1;
        bump(&mut st.by_kind, kind);
        bump(&mut st.by_severity, severity.as_str());
        if st.events.len() >= self.capacity {
            st.events.pop_front();
            st.overwritten += 1;
        }
        st.events.push_back(ev);
    }

    /// Records a duration in histogram `name`, under the same lock.
    pub fn observe(&self, name: &str, d: Duration) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let v = d.as_nanos() as u64;
        let mut st = self.state.lock().unwrap();
        match st.histograms.get_mut(name) {
            Some(h) => h.saturating_record(v),
            None => {
                let mut h = hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 2)
                    .expect("valid bounds");
                h.saturating_record(v);
                st.histograms.insert(name.to_owned(), h);
            }
        }
    }

    /// The newest `limit` events at or above `min`, newest first (cloned).
    pub fn query(&self, limit: usize, min: Severity) -> Vec<OwnedEvent> {
        let st = self.state.lock().unwrap();
        st.events
            .iter()
            .rev()
            .filter(|e| e.severity >= min)
            .take(limit)
            .cloned()
            .collect()
    }

    /// Every event of `kind` about `peer`, newest first (cloned).
    pub fn scan(&self, kind: &str, peer: &str) -> Vec<OwnedEvent> {
        let st = self.state.lock().unwrap();
        st.events
            .iter()
            .rev()
            .filter(|e| e.event_type == kind && e.peer_id.as_deref() == Some(peer))
            .cloned()
            .collect()
    }

    /// A copy of every event, oldest first.
    pub fn snapshot(&self) -> Vec<OwnedEvent> {
        let st = self.state.lock().unwrap();
        st.events.iter().cloned().collect()
    }

    /// Events retained.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap().events.len()
    }

    /// Whether no event is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stats (maps cloned under the lock).
    pub fn stats(&self) -> BaseStats {
        let st = self.state.lock().unwrap();
        let errors = st.by_severity.get("error").copied().unwrap_or(0)
            + st.by_severity.get("critical").copied().unwrap_or(0);
        BaseStats {
            total: st.total,
            retained: st.events.len() as u64,
            capacity: self.capacity as u64,
            overwritten: st.overwritten,
            by_kind: st.by_kind.clone(),
            by_severity: st.by_severity.clone(),
            error_rate: if st.total == 0 {
                0.0
            } else {
                errors as f64 / st.total as f64
            },
            uptime_secs: self.started.elapsed().as_secs_f64(),
        }
    }

    /// The health verdict, computed under the lock from the counters.
    pub fn health(&self) -> BaseHealth {
        let st = self.state.lock().unwrap();
        let errors = st.by_severity.get("error").copied().unwrap_or(0)
            + st.by_severity.get("critical").copied().unwrap_or(0);
        let critical = st.by_severity.get("critical").copied().unwrap_or(0);
        let error_rate = if st.total == 0 {
            0.0
        } else {
            errors as f64 / st.total as f64
        };
        let mut reasons = Vec::new();
        if error_rate > 0.10 {
            reasons.push(format!("error rate {:.1}% over 10%", error_rate * 100.0));
        }
        if critical > 0 {
            reasons.push(format!("{critical} critical events"));
        }
        let status = match reasons.len() {
            0 => "healthy",
            1 => "degraded",
            _ => "unhealthy",
        };
        BaseHealth {
            status,
            message: format!("{status}: {} events retained", st.events.len()),
            reasons,
            event_count: st.events.len() as u64,
            capacity: self.capacity as u64,
            total_events: st.total,
            error_rate,
        }
    }

    /// The export document (stats and every event) as JSON.
    pub fn write_json<W: Write>(&self, w: W) -> io::Result<()> {
        #[derive(Serialize)]
        struct Doc<'a> {
            schema: &'static str,
            stats: BaseStats,
            events: &'a [OwnedEvent],
        }
        let events = self.snapshot();
        let stats = self.stats();
        let mut bw = BufWriter::with_capacity(1 << 16, w);
        serde_json::to_writer(
            &mut bw,
            &Doc {
                schema: "baseline",
                stats,
                events: &events,
            },
        )?;
        bw.flush()
    }

    /// Takes every retained event out (a streaming exporter's read), oldest first,
    /// appending them to `out`; returns how many were overwritten before any read.
    pub fn drain_into(&self, out: &mut Vec<OwnedEvent>) -> u64 {
        let mut st = self.state.lock().unwrap();
        out.extend(st.events.drain(..));
        std::mem::take(&mut st.overwritten)
    }

    /// Every event as one JSON object per line.
    pub fn write_jsonl<W: Write>(&self, w: W) -> io::Result<()> {
        let events = self.snapshot();
        let mut bw = BufWriter::with_capacity(1 << 16, w);
        for e in &events {
            serde_json::to_writer(&mut bw, e)?;
            bw.write_all(b"\n")?;
        }
        bw.flush()
    }
}
