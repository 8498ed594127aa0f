//! [`Snapshot`]: an owned copy of the retained events, with the stats, health and
//! config at that moment.
//!
//! # Consistency
//!
//! A snapshot copies each slot on its own, validating it with its sequence word (see
//! [`crate::core::slot`]), so every event in it is whole and none is torn; it is not an atomic
//! cut of the ring: events recorded while it is taken may or may not be in it, and an
//! event overwritten while it is taken is missing. Events older than the retention are
//! left out even if the sweeper has not removed them yet. Events are in recording order,
//! oldest first: by the raw clock reading (finer than the nanosecond timestamps), then
//! id; so timestamps never decrease, and two events within one nanosecond keep the
//! order they were recorded in, whatever their ids.
//!
//! Taking a snapshot copies raw slots (about 120 bytes an event) straight into its
//! buffer and orders an index: each shard's events, read from its oldest slot on, are
//! in order already (unless several threads wrote it at once), so the shards' runs are
//! merged in linear time through a kept buffer (a stable sort otherwise);
//! decoding into [`EventRecord`]s happens as the snapshot is read, so a supervisor that
//! only wants the count or an exporter that streams JSON never builds a million owned
//! strings at once.

use std::sync::Arc;

use crate::core::clock::Calibration;
use crate::core::codec::{self, Decoded};
use crate::core::redact::Redactor;
use crate::model::config::Config;
use crate::model::event::EventRecord;
use crate::model::Timestamp;
use crate::read::decode::{to_record, RecordRef};
use crate::read::health::Health;
use crate::read::query::Query;
use crate::read::stats::Stats;
use crate::read::Shared;

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
    /// Payload words of the copied events, `per` words each, one chunk per copying
    /// thread (kept, with their capacity, by [`Recorder::snapshot_into`](crate::Recorder::snapshot_into)).
    chunks: Vec<Vec<u64>>,
    per: usize,
    /// `(raw timestamp, id, chunk << 32 | index in chunk / per)`, sorted oldest first.
    order: Vec<(u64, u64, u64)>,
    /// Each copying thread's part of `order` before the merge.
    parts: Vec<Vec<(u64, u64, u64)>>,
    /// Each copying thread's runs in its part, one per shard: `(end, sorted)`.
    runs: Vec<Vec<(usize, bool)>>,
    /// Merge buffer for `order` (kept, with its capacity, for the next snapshot).
    scratch: Vec<(u64, u64, u64)>,
    /// Kind names by id, as of the snapshot.
    kinds: Vec<Arc<str>>,
    cal: &'static Calibration,
    /// The recorder's redaction rules, applied as events are decoded.
    redactor: Arc<Redactor>,
}

/// One event as exports see it: decoded in place from a copied slot, or owned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    Ref(&'a RecordRef<'a>),
    Owned(&'a EventRecord),
}

/// Rings at least this large are copied by several threads.
const PARALLEL_COPY_FROM: usize = 1 << 18;

pub(crate) fn take(shared: &Shared) -> Snapshot {
    let inner = shared;
    let mut raw = Raw {
        chunks: Vec::new(),
        per: inner.core.payload_bytes() / 8,
        order: Vec::new(),
        parts: Vec::new(),
        runs: Vec::new(),
        scratch: Vec::new(),
        kinds: Vec::new(),
        cal: inner.core.cal,
        redactor: inner.core.redactor.clone(),
    };
    let (stats, health, taken_at) = fill(shared, &mut raw);
    // A one-off snapshot keeps no merge buffer (`snapshot_into` keeps it for reuse).
    raw.scratch = Vec::new();
    Snapshot {
        taken_at,
        config: inner.core.config.clone(),
        stats,
        health,
        events: Events::Raw(raw),
    }
}

/// Takes a snapshot into `snap`, reusing its buffers when it holds a snapshot of a
/// recorder with the same slot size (see [`Recorder::snapshot_into`](crate::Recorder::snapshot_into)).
pub(crate) fn take_into(shared: &Shared, snap: &mut Snapshot) {
    let per = shared.core.payload_bytes() / 8;
    match &mut snap.events {
        Events::Raw(raw) if raw.per == per => {
            let (stats, health, taken_at) = fill(shared, raw);
            snap.stats = stats;
            snap.health = health;
            snap.taken_at = taken_at;
            snap.config = shared.core.config.clone();
        }
        _ => *snap = take(shared),
    }
}

/// Copies every retained, unexpired event into `raw` (keeping its buffers' capacity)
/// and returns the stats and health taken just before.
fn fill(shared: &Shared, raw: &mut Raw) -> (Stats, Health, Timestamp) {
    let inner = shared;
    let stats = inner.stats();
    let health = shared.health();
    let taken_at = Timestamp::now();
    let per = raw.per;
    let cutoff = inner.core.expiry_cutoff_raw();
    let shards = &inner.core.ring.shards;
    let nshards = shards.len() as u64;
    // Copy on at most half the cores, so a snapshot never takes every core from the
    // writers (on a 2-core machine: one thread).
    let threads = if inner.core.config.capacity >= PARALLEL_COPY_FROM {
        (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2)
            .clamp(1, 4)
            .min(shards.len())
    } else {
        1
    };
    raw.chunks.resize_with(threads, Vec::new);
    raw.parts.resize_with(threads, Vec::new);
    raw.runs.resize_with(threads, Vec::new);
    let estimate = (stats.retained as usize).min(inner.core.config.capacity) / threads + 64;
    // Shards `[t * n / threads, (t + 1) * n / threads)` go to thread `t`.
    let copy = |t: usize,
                words: &mut Vec<u64>,
                part: &mut Vec<(u64, u64, u64)>,
                runs: &mut Vec<(usize, bool)>| {
        words.clear();
        part.clear();
        runs.clear();
        words.reserve(estimate * per);
        part.reserve(estimate);
        let range = t * shards.len() / threads..(t + 1) * shards.len() / threads;
        for s in range {
            let shard = &shards[s];
            // Slot `head % slots` holds the shard's oldest event: reading from there on,
            // each shard contributes a run that is sorted already unless several
            // threads wrote the shard at once.
            let head = shard.head();
            let mut sorted = true;
            let mut last = (0, 0);
            for k in 0..shard.slots() as u64 {
                let Some(pos) =
                    shard.read_extend((head + k) as usize, words, per, |ts| ts >= cutoff)
                else {
                    continue;
                };
                let ts = words[words.len() - per];
                let at = ((t as u64) << 32) | (words.len() / per - 1) as u64;
                let key = (ts, pos * nshards + s as u64);
                sorted &= key > last;
                last = key;
                part.push((key.0, key.1, at));
            }
            runs.push((part.len(), sorted));
        }
    };
    if threads == 1 {
        copy(0, &mut raw.chunks[0], &mut raw.parts[0], &mut raw.runs[0]);
    } else {
        std::thread::scope(|scope| {
            let mut chunks = raw
                .chunks
                .iter_mut()
                .zip(raw.parts.iter_mut())
                .zip(raw.runs.iter_mut())
                .enumerate();
            let (_, ((w0, p0), r0)) = chunks.next().expect("threads >= 1");
            for (t, ((w, p), r)) in chunks {
                let copy = &copy;
                scope.spawn(move || copy(t, w, p, r));
            }
            copy(0, w0, p0, r0);
        });
    }
    // `order` is the parts one after another (with one part, the part itself: its
    // buffer and `order`'s trade places), then sorted by merging the shards' runs
    // when each is sorted (the usual case), else by a stable sort.
    let mut bounds = Vec::with_capacity(shards.len() + 1);
    bounds.push(0);
    let mut all_sorted = true;
    if threads == 1 {
        std::mem::swap(&mut raw.order, &mut raw.parts[0]);
        raw.parts[0].clear();
    } else {
        raw.order.clear();
        raw.order.reserve(raw.parts.iter().map(Vec::len).sum());
    }
    for (t, runs) in raw.runs.iter().enumerate() {
        let base = if threads == 1 { 0 } else { raw.order.len() };
        if threads > 1 {
            raw.order.extend_from_slice(&raw.parts[t]);
        }
        for &(end, sorted) in runs {
            all_sorted &= sorted;
            bounds.push(base + end);
        }
    }
    if all_sorted {
        merge_runs(&mut raw.order, &mut bounds, &mut raw.scratch);
    } else {
        raw.order.sort_by_key(|&(ts, id, _)| (ts, id));
    }
    raw.kinds.clear();
    raw.kinds.extend(
        (0..inner.core.kinds.len()).filter_map(|i| inner.core.kinds.name(i as u16).cloned()),
    );
    (stats, health, taken_at)
}

/// Sorts `order`, made of sorted runs `order[bounds[i]..bounds[i + 1]]`, by (raw
/// timestamp, id), merging neighbouring runs pass by pass through `scratch`. Keys are
/// unique (ids are), so the result is the one a stable sort gives.
fn merge_runs(
    order: &mut Vec<(u64, u64, u64)>,
    bounds: &mut Vec<usize>,
    scratch: &mut Vec<(u64, u64, u64)>,
) {
    bounds.dedup();
    while bounds.len() > 2 {
        scratch.clear();
        scratch.reserve(order.len());
        let mut next = vec![0];
        for pair in bounds[..].windows(3).step_by(2) {
            let (a, b) = order[pair[0]..pair[2]].split_at(pair[1] - pair[0]);
            merge_two(a, b, scratch);
            next.push(scratch.len());
        }
        if bounds.len().is_multiple_of(2) {
            // An odd number of runs: the last one has no partner this pass.
            scratch.extend_from_slice(&order[bounds[bounds.len() - 2]..]);
            next.push(scratch.len());
        }
        std::mem::swap(order, scratch);
        *bounds = next;
    }
}

/// Appends the merge of the sorted runs `a` and `b` to `out`.
fn merge_two(a: &[(u64, u64, u64)], b: &[(u64, u64, u64)], out: &mut Vec<(u64, u64, u64)>) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if (b[j].0, b[j].1) < (a[i].0, a[i].1) {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

fn kind_of<'a>(d: &Decoded<'a>, names: &'a [Arc<str>]) -> &'a str {
    match d.kind_inline {
        Some(k) => k,
        None => names
            .get(usize::from(d.header.kind_id))
            .map_or("(unknown)", |n| &**n),
    }
}

impl Raw {
    /// Calls `f` with the `i`-th event (in time order), decoded in place.
    fn with<R>(&self, i: usize, f: impl FnOnce(&RecordRef<'_>) -> R) -> Option<R> {
        let &(ts, id, at) = self.order.get(i)?;
        let chunk = self.chunks.get((at >> 32) as usize)?;
        let at = (at & u64::from(u32::MAX)) as usize * self.per;
        let mut b = [0u8; 1024];
        let b = &mut b[..self.per * 8];
        codec::words_to_bytes(chunk.get(at..at + self.per)?, b);
        let d = codec::decode(b).ok()?;
        let kind = kind_of(&d, &self.kinds);
        Some(f(&RecordRef {
            id,
            timestamp: self.cal.to_timestamp(ts),
            decoded: d,
            kind,
            redactor: &self.redactor,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 256 }))]
        /// Merging sorted runs gives what a stable sort gives, whatever the number of
        /// runs (empty ones included) and their lengths.
        #[test]
        fn merging_runs_sorts(
            runs in proptest::collection::vec(
                proptest::collection::vec((0u64..50, 0u64..1_000_000), 0..40),
                0..7,
            ),
        ) {
            let mut order = Vec::new();
            let mut bounds = vec![0];
            for (r, run) in runs.iter().enumerate() {
                let mut run: Vec<(u64, u64, u64)> = run
                    .iter()
                    // Unique ids, as in a snapshot.
                    .map(|&(ts, id)| (ts, id * 8 + r as u64, 0))
                    .collect();
                run.sort_by_key(|&(ts, id, _)| (ts, id));
                run.dedup();
                order.extend(run);
                bounds.push(order.len());
            }
            let mut want = order.clone();
            want.sort_by_key(|&(ts, id, _)| (ts, id));
            let mut scratch = Vec::new();
            merge_runs(&mut order, &mut bounds, &mut scratch);
            prop_assert_eq!(order, want);
        }
    }
}
