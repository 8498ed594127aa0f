//! The seed tools' shapes: the event recorder's recording document (read and written)
//! and the flight recorder's flat JSON Lines (written, for its `jq` recipes).
//!
//! # The seed recording
//!
//! ```text
//! {"session_name": "bull_run_2025", "start_time": "2025-01-20T14:00:00",
//!  "duration_ms": 61234.5, "total_events": 2,
//!  "events": [{"timestamp_offset_ms": 12.5, "event_name": "swap",
//!              "event_data": {"pool": "0xabc", "amount": 3.2}, "source": "mempool"}]}
//! ```
//!
//! `start_time` is RFC 3339, a date-time without offset (read as UTC), or a number of
//! seconds since the Unix epoch. Each event becomes an [`EventRecord`]: `event_name` is
//! its kind; `event_data`'s `severity`, `peer_id` (or `peer`) and `message`, when they
//! are strings, are its severity (default INFO), peer and message; the other members
//! are its metadata (objects and arrays as their JSON text), then `source`.
//!
//! # The flat lines (`seed-jsonl`)
//!
//! One object per event: `type` (the kind in PascalCase: `rpc_call` → `RpcCall`),
//! `ts` (milliseconds since the session start), `severity`, `peer_id` and `message`
//! when set, every metadata field at the top level, and `duration_ms` from a
//! `duration_ns`/`duration_us`/`duration_ms` field; RPC calls (`rpc_call`) carry
//! `endpoint` (our `peer_id`) and `method` (our `message`), phases carry `phase`.
//! Gaps are lines `{"type":"Gap","ts":…,"lost":N}`.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{EventRecord, Metadata, Severity, Timestamp, Value};

use super::{RecordingError, Source};
use crate::recording::Recording;

#[derive(Deserialize)]
pub(crate) struct SeedDoc {
    session_name: String,
    #[serde(default)]
    start_time: Option<serde_json::Value>,
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(default)]
    #[allow(dead_code)]
    total_events: Option<u64>,
    events: Vec<SeedEvent>,
}

#[derive(Deserialize, Serialize)]
struct SeedEvent {
    timestamp_offset_ms: f64,
    event_name: String,
    #[serde(default)]
    event_data: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

fn parse_start(path: &Path, v: Option<&serde_json::Value>) -> Result<Timestamp, RecordingError> {
    let bad = |what: &str| RecordingError::format(path, format!("start_time: {what}"));
    match v {
        None | Some(serde_json::Value::Null) => Ok(Timestamp::from_unix_nanos(0)),
        Some(serde_json::Value::Number(n)) => {
            let secs = n.as_f64().ok_or_else(|| bad("not a number"))?;
            if !secs.is_finite() || secs.abs() > 9.0e9 {
                return Err(bad("out of range"));
            }
            Ok(Timestamp::from_unix_nanos((secs * 1e9) as i64))
        }
        Some(serde_json::Value::String(s)) => {
            if let Ok(t) = s.parse::<Timestamp>() {
                return Ok(t);
            }
            // Python's isoformat() without an offset: read as UTC.
            let t = s.replace(' ', "T");
            t.parse::<Timestamp>()
                .or_else(|_| format!("{t}Z").parse::<Timestamp>())
                .map_err(|e| bad(&e.to_string()))
        }
        Some(_) => Err(bad("expected a string or a number")),
    }
}

fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::U64(u)
            } else if let Some(i) = n.as_i64() {
                Value::I64(i)
            } else {
                Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::Null => Value::F64(f64::NAN),
        other => Value::Str(other.to_string()),
    }
}

/// Converts a parsed seed document.
pub(crate) fn from_seed(path: &Path, doc: SeedDoc) -> Result<Recording, RecordingError> {
    let start = parse_start(path, doc.start_time.as_ref())?;
    let mut events = Vec::with_capacity(doc.events.len());
    for (i, se) in doc.events.into_iter().enumerate() {
        let off = se.timestamp_offset_ms;
        if !off.is_finite() || !(0.0..=1.0e13).contains(&off) {
            return Err(RecordingError::format(
                path,
                format!("events[{i}].timestamp_offset_ms: {off} is not an offset in range"),
            ));
        }
        let mut data = se.event_data;
        let take_str =
            |data: &mut serde_json::Map<String, serde_json::Value>, k: &str| match data.get(k) {
                Some(serde_json::Value::String(_)) => match data.remove(k) {
                    Some(serde_json::Value::String(s)) => Some(s),
                    _ => None,
                },
                _ => None,
            };
        let severity = match data.get("severity").and_then(|v| v.as_str()) {
            Some(s) => match s.parse::<Severity>() {
                Ok(sev) => {
                    data.remove("severity");
                    sev
                }
                Err(_) => Severity::Info,
            },
            None => Severity::Info,
        };
        let peer = take_str(&mut data, "peer_id").or_else(|| take_str(&mut data, "peer"));
        let message = take_str(&mut data, "message").unwrap_or_default();
        let mut meta: Vec<(String, Value)> = data
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect();
        if let Some(src) = se.source {
            meta.push(("source".into(), Value::Str(src)));
        }
        events.push(EventRecord {
            id: i as u64 + 1,
            timestamp: start.saturating_add(Duration::from_nanos((off * 1e6) as u64)),
            severity,
            kind: se.event_name,
            peer,
            message,
            metadata: Metadata(meta),
            truncated: false,
        });
    }
    let mut r = Recording::from_events(doc.session_name, events);
    r.start_time = start;
    r.source = Source::Seed;
    r.duration = match doc.duration_ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
        _ => r.span_of_events(),
    };
    Ok(r)
}

fn value_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::I64(i) => (*i).into(),
        Value::U64(u) => (*u).into(),
        // As every writer spells a float JSON cannot hold: "NaN", "inf", "-inf".
        Value::F64(_) => serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
        Value::Bool(b) => (*b).into(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Writes `r` in the seed recorder's recording shape.
pub(crate) fn write_seed_json<W: Write>(r: &Recording, w: W) -> io::Result<()> {
    #[derive(Serialize)]
    struct Out<'a> {
        session_name: &'a str,
        start_time: Timestamp,
        duration_ms: f64,
        total_events: usize,
        events: Vec<SeedEvent>,
    }
    let events = r
        .events
        .iter()
        .map(|e| {
            let mut data = serde_json::Map::new();
            data.insert("severity".into(), e.severity.as_str().into());
            if let Some(p) = &e.peer {
                data.insert("peer_id".into(), p.clone().into());
            }
            if !e.message.is_empty() {
                data.insert("message".into(), e.message.clone().into());
            }
            let mut source = None;
            for (k, v) in e.metadata.iter() {
                if k == "source" {
                    if let Value::Str(s) = v {
                        source = Some(s.clone());
                        continue;
                    }
                }
                data.insert(k.to_owned(), value_to_json(v));
            }
            SeedEvent {
                timestamp_offset_ms: ms(r.offset(e)),
                event_name: e.kind.clone(),
                event_data: data,
                source,
            }
        })
        .collect();
    let out = Out {
        session_name: &r.name,
        start_time: r.start_time,
        duration_ms: ms(r.duration),
        total_events: r.events.len(),
        events,
    };
    let mut w = io::BufWriter::new(w);
    serde_json::to_writer(&mut w, &out).map_err(io::Error::other)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// `rpc_call` → `RpcCall`, `peer-connected` → `PeerConnected`, `block` → `Block`.
pub fn pascal_case(kind: &str) -> String {
    let mut out = String::with_capacity(kind.len());
    let mut up = true;
    for c in kind.chars() {
        if c == '_' || c == '-' || c == '.' || c == ' ' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes one event as the flight recorder's flat line (see the module docs);
/// `offset` is its time since the session start.
pub fn write_seed_line<W: Write>(mut w: W, e: &EventRecord, offset: Duration) -> io::Result<()> {
    let mut m = serde_json::Map::new();
    m.insert("type".into(), pascal_case(&e.kind).into());
    m.insert(
        "ts".into(),
        serde_json::Number::from_f64((ms(offset) * 1000.0).round() / 1000.0)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
    );
    m.insert("severity".into(), e.severity.as_str().into());
    if let Some(p) = &e.peer {
        m.insert("peer_id".into(), p.clone().into());
    }
    if !e.message.is_empty() {
        m.insert("message".into(), e.message.clone().into());
    }
    for (k, v) in e.metadata.iter() {
        m.entry(k.to_owned()).or_insert_with(|| value_to_json(v));
    }
    let dur_ms = e
        .metadata
        .get("duration_ns")
        .and_then(Value::as_f64)
        .map(|n| n / 1e6)
        .or_else(|| {
            e.metadata
                .get("duration_us")
                .and_then(Value::as_f64)
                .map(|n| n / 1e3)
        })
        .or_else(|| e.metadata.get("duration_ms").and_then(Value::as_f64));
    if let Some(d) = dur_ms {
        m.insert("duration_ms".into(), value_to_json(&Value::F64(d)));
    }
    match e.kind.as_str() {
        crate::KIND_RPC_CALL => {
            if let Some(p) = &e.peer {
                m.insert("endpoint".into(), p.clone().into());
            }
            m.insert("method".into(), e.message.clone().into());
        }
        crate::KIND_PHASE_START | crate::KIND_PHASE_END => {
            m.insert("phase".into(), e.message.clone().into());
        }
        _ => {}
    }
    serde_json::to_writer(&mut w, &m).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// Writes a gap as a flat line: `{"type":"Gap","ts":…,"lost":N}`.
pub fn write_seed_gap<W: Write>(mut w: W, lost: u64, offset: Duration) -> io::Result<()> {
    writeln!(
        w,
        "{{\"type\":\"Gap\",\"ts\":{:.3},\"lost\":{lost}}}",
        ms(offset)
    )
}
