//! [`Snapshot`]: an owned copy of the retained events, with the stats, health and
//! config at that moment.
//!
//! # Consistency
//!
//! A snapshot copies each slot on its own, validating it with its sequence word (see
//! [`crate::slot`]), so every event in it is whole and none is torn; it is not an atomic
//! cut of the ring: events recorded while it is taken may or may not be in it, and an
//! event overwritten while it is taken is missing. Events older than the retention are
//! left out even if the sweeper has not removed them yet. Events are ordered by
//! `(timestamp, id)`, oldest first.
//!
//! Taking a snapshot copies raw slots (about 120 bytes an event) and sorts an index;
//! decoding into [`EventRecord`]s happens as the snapshot is read, so a supervisor that
//! only wants the count or an exporter that streams JSON never builds a million owned
//! strings at once.

use std::io;
use std::sync::Arc;

use crate::clock::{Calibration, Timestamp};
use crate::codec::{self, Decoded};
use crate::config::Config;
use crate::event::{EventRecord, Metadata, Value};
use crate::export::{self, ExportError, ImportError};
use crate::health::Health;
use crate::query::Query;
use crate::recorder::{Inner, Recorder};
use crate::stats::Stats;

/// A point-in-time copy of a recorder's events, stats, health and config; or one loaded
/// back from a JSON export with [`Snapshot::from_json`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) taken_at: Timestamp,
    pub(crate) config: Config,
    pub(crate) stats: Stats,
    pub(crate) health: Health,
    pub(crate) events: Events,
}

#[derive(Debug, Clone)]
pub(crate) enum Events {
    /// Copied slots, decoded on demand.
    Raw(Raw),
    /// Decoded records (a loaded export).
    Owned(Vec<EventRecord>),
}

#[derive(Debug, Clone)]
pub(crate) struct Raw {
    /// Payload words of every copied event, `per` words each.
    words: Vec<u64>,
    per: usize,
    /// `(raw timestamp, id, index into words / per)`, sorted oldest first.
    order: Vec<(u64, u64, u32)>,
    /// Kind names by id, as of the snapshot.
    kinds: Vec<Arc<str>>,
    cal: &'static Calibration,
}

/// One event as exports see it: decoded in place from a copied slot, or owned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    Ref(&'a RecordRef<'a>),
    Owned(&'a EventRecord),
}

/// A borrowed, decoded event: what exports serialise without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub id: u64,
    pub timestamp: Timestamp,
    pub decoded: Decoded<'a>,
    pub kind: &'a str,
}

pub(crate) fn take(rec: &Recorder) -> Snapshot {
    let inner = &*rec.inner;
    let stats = inner.stats();
    let health = rec.health();
    let taken_at = Timestamp::now();
    let per = inner.payload_bytes() / 8;
    let cutoff = inner.expiry_cutoff_raw();
    let nshards = inner.ring.shards.len() as u64;
    let estimate = (stats.retained as usize).min(inner.config.capacity) + 64;
    let mut words: Vec<u64> = Vec::with_capacity(estimate * per);
    let mut order = Vec::with_capacity(estimate);
    let mut buf = vec![0u64; per];
    for (s, shard) in inner.ring.shards.iter().enumerate() {
        // Slot `head % slots` holds the shard's oldest event: read from there on, so
        // each shard contributes a run that is (nearly) sorted already.
        let head = shard.head();
        for k in 0..shard.slots() as u64 {
            let Some(pos) = shard.read((head + k) as usize, &mut buf) else {
                continue;
            };
            let ts = buf[0];
            if ts < cutoff {
                continue;
            }
            order.push((ts, pos * nshards + s as u64, (words.len() / per) as u32));
            words.extend_from_slice(&buf);
        }
    }
    // Stable sort: finds the shards' runs and merges them.
    order.sort_by_key(|&(ts, id, _)| (ts, id));
    let kinds = (0..inner.kinds.len())
        .filter_map(|i| inner.kinds.name(i as u16).cloned())
        .collect();
    Snapshot {
        taken_at,
        config: inner.config.clone(),
        stats,
        health,
        events: Events::Raw(Raw {
            words,
            per,
            order,
            kinds,
            cal: inner.cal,
        }),
    }
}

fn words_to_bytes(words: &[u64], out: &mut [u8]) {
    for (i, w) in words.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
}

/// Builds an owned record from a decoded payload.
pub(crate) fn to_record(r: &RecordRef<'_>) -> EventRecord {
    let d = &r.decoded;
    EventRecord {
        id: r.id,
        timestamp: r.timestamp,
        severity: d.severity,
        kind: r.kind.to_owned(),
        peer: d.peer.map(str::to_owned),
        message: d.message.to_owned(),
        metadata: Metadata(
            d.fields()
                .iter()
                .map(|&(k, v)| (k.to_owned(), Value::from(v)))
                .collect(),
        ),
        truncated: d.header.truncated(),
    }
}

fn kind_of<'a>(d: &Decoded<'a>, names: &'a [Arc<str>]) -> &'a str {
    match d.kind_inline {
        Some(k) => k,
        None => names
            .get(usize::from(d.header.kind_id))
            .map_or("(unknown)", |n| &**n),
    }
}

/// Decodes the payload `b` of the event with id `id` from the live ring.
pub(crate) fn decode_record(inner: &Inner, b: &[u8], id: u64) -> Option<EventRecord> {
    let d = codec::decode(b).ok()?;
    let kind = match d.kind_inline {
        Some(k) => k,
        None => inner
            .kind_name(d.header.kind_id)
            .map_or("(unknown)", |n| &**n),
    };
    Some(to_record(&RecordRef {
        id,
        timestamp: inner.cal.to_timestamp(d.header.raw_ts),
        decoded: d,
        kind,
    }))
}

impl Raw {
    /// Calls `f` with the `i`-th event (in time order), decoded in place.
    fn with<R>(&self, i: usize, f: impl FnOnce(&RecordRef<'_>) -> R) -> Option<R> {
        let &(ts, id, at) = self.order.get(i)?;
        let at = at as usize * self.per;
        let mut b = [0u8; 1024];
        let b = &mut b[..self.per * 8];
        words_to_bytes(&self.words[at..at + self.per], b);
        let d = codec::decode(b).ok()?;
        let kind = kind_of(&d, &self.kinds);
        Some(f(&RecordRef {
            id,
            timestamp: self.cal.to_timestamp(ts),
            decoded: d,
            kind,
        }))
    }
}

impl Snapshot {
    /// Number of events.
    pub fn len(&self) -> usize {
        match &self.events {
            Events::Raw(r) => r.order.len(),
            Events::Owned(v) => v.len(),
        }
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th event, oldest first.
    pub fn get(&self, i: usize) -> Option<EventRecord> {
        match &self.events {
            Events::Raw(r) => r.with(i, to_record),
            Events::Owned(v) => v.get(i).cloned(),
        }
    }

    /// The events, oldest first, decoded one at a time.
    pub fn iter(&self) -> impl Iterator<Item = EventRecord> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// All events, oldest first, decoded.
    pub fn events(&self) -> Vec<EventRecord> {
        match &self.events {
            Events::Raw(_) => self.iter().collect(),
            Events::Owned(v) => v.clone(),
        }
    }

    /// Events matching `q`, newest first.
    pub fn query(&self, q: &Query) -> Vec<EventRecord> {
        let mut out = Vec::new();
        for i in (0..self.len()).rev() {
            if q.limit.is_some_and(|n| out.len() >= n) {
                break;
            }
            if let Some(e) = self.get(i).filter(|e| q.matches(e)) {
                out.push(e);
            }
        }
        out
    }

    /// Calls `f` with each event, oldest first; copied slots are decoded in place,
    /// without building owned records.
    pub(crate) fn for_each<E>(
        &self,
        mut f: impl FnMut(Item<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.events {
            Events::Raw(r) => {
                for i in 0..r.order.len() {
                    r.with(i, |rr| f(Item::Ref(rr))).unwrap_or(Ok(()))?;
                }
            }
            Events::Owned(v) => {
                for e in v {
                    f(Item::Owned(e))?;
                }
            }
        }
        Ok(())
    }

    /// When the snapshot was taken.
    pub fn taken_at(&self) -> Timestamp {
        self.taken_at
    }

    /// The recorder's stats when the snapshot was taken.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The recorder's health when the snapshot was taken.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The recorder's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The export document as a string (see [`crate::Recorder::export_json`]).
    pub fn to_json(&self) -> Result<String, ExportError> {
        let mut out = Vec::new();
        export::write_json(self, &mut out)?;
        String::from_utf8(out)
            .map_err(|e| ExportError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
    }

    /// Writes the export document to `w`.
    pub fn write_json<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        export::write_json(self, w)
    }

    /// Writes the events as JSON Lines to `w`.
    pub fn write_jsonl<W: io::Write>(&self, w: W) -> Result<(), ExportError> {
        export::write_jsonl(self, w)
    }

    /// Loads an export document (from [`crate::Recorder::export_json`]).
    ///
    /// ```
    /// use flightring::{Event, Recorder, Severity, Snapshot};
    /// let rec = Recorder::builder().capacity(64).build().unwrap();
    /// rec.record(&Event::new("boot", Severity::Info).message("hello"));
    /// let loaded = Snapshot::from_json(&rec.export_json().unwrap()).unwrap();
    /// assert_eq!(loaded.events()[0].message, "hello");
    /// let err = Snapshot::from_json("{\"schema\": 1").unwrap_err();
    /// assert!(err.to_string().contains("line 1"));
    /// ```
    pub fn from_json(s: &str) -> Result<Snapshot, ImportError> {
        export::read_json(s.as_bytes())
    }

    /// Loads an export document from a reader.
    pub fn from_reader<R: io::Read>(r: R) -> Result<Snapshot, ImportError> {
        export::read_json_reader(r)
    }
}
