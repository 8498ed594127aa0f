//! [`Query`]: filters over the retained events, newest first.
//!
//! A query scans the ring in place: each shard is walked from its newest position
//! back, every slot is validated like a snapshot validates it, the filters are checked
//! on the raw payload (severity, time and kind from the fixed header, peer by comparing
//! bytes, text only when `contains` or `text` is set, as redacted), and only matching events are
//! decoded. With a `limit`, each shard stops after `limit` matches, so "the last 50"
//! costs about 50 × shards slot reads, not a pass over the ring.

use crate::core::codec::{self, Header};
use crate::core::interner::NO_ID;
use crate::core::redact::Redactor;
use crate::core::Core;
use crate::model::event::{EventRecord, FieldValue};
use crate::model::severity::Severity;
use crate::model::Timestamp;
use crate::read::decode::decode_record;

/// Which events to return. All filters are optional and combine with AND.
///
/// ```
/// use flightring::{Event, Query, Recorder, Severity};
/// let rec = Recorder::builder().capacity(1024).build().unwrap();
/// rec.record(&Event::new("rpc", Severity::Warning).peer("p1").message("slow getBlock"));
/// rec.record(&Event::new("rpc", Severity::Info).peer("p2").message("ok"));
/// let q = Query::new().kind("rpc").min_severity(Severity::Warning).contains("slow").limit(10);
/// let hits = rec.query(&q);
/// assert_eq!(hits.len(), 1);
/// assert_eq!(hits[0].peer.as_deref(), Some("p1"));
/// ```
#[must_use = "builders do nothing unless used"]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub(crate) limit: Option<usize>,
    pub(crate) min_severity: Option<Severity>,
    pub(crate) kind: Option<String>,
    pub(crate) peer: Option<String>,
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) contains: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) ignore_case: bool,
}

impl Query {
    /// Everything retained, newest first.
    pub fn new() -> Self {
        Query::default()
    }

    /// At most `n` events (the newest `n` that match).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Only events at or above `s`.
    pub fn min_severity(mut self, s: Severity) -> Self {
        self.min_severity = Some(s);
        self
    }

    /// Only events of kind `kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only events about peer `peer`.
    pub fn peer(mut self, peer: impl Into<String>) -> Self {
        self.peer = Some(peer.into());
        self
    }

    /// Only events at or after `t`.
    pub fn since(mut self, t: Timestamp) -> Self {
        self.since = Some(t);
        self
    }

    /// Only events at or before `t`.
    pub fn until(mut self, t: Timestamp) -> Self {
        self.until = Some(t);
        self
    }

    /// Only events whose message contains `text` (case-sensitive unless
    /// [`Query::ignore_case`]).
    pub fn contains(mut self, text: impl Into<String>) -> Self {
        self.contains = Some(text.into());
        self
    }

    /// Only events whose message, peer or a string field value contains `text`
    /// (case-sensitive unless [`Query::ignore_case`]). Text is matched as it leaves the
    /// process: redacted.
    ///
    /// ```
    /// use flightring::{Event, Query, Recorder, Severity};
    /// let rec = Recorder::builder().capacity(1024).build().unwrap();
    /// rec.record(&Event::new("dial", Severity::Warning).field("address", "/ip4/198.51.100.7/tcp/30333"));
    /// rec.record(&Event::new("dial", Severity::Info).message("TIMEOUT after 3 s"));
    /// assert_eq!(rec.query(&Query::new().text("198.51.100.7")).len(), 1);
    /// assert_eq!(rec.query(&Query::new().text("timeout").ignore_case(true)).len(), 1);
    /// assert_eq!(rec.query(&Query::new().text("timeout")).len(), 0);
    /// ```
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Whether [`Query::contains`] and [`Query::text`] ignore case (Unicode simple
    /// case folding by lower-casing; ASCII without allocating). Default false.
    pub fn ignore_case(mut self, on: bool) -> Self {
        self.ignore_case = on;
        self
    }

    /// Whether an already-decoded event matches every filter but the limit (used on
    /// snapshots and loaded exports).
    pub fn matches(&self, e: &EventRecord) -> bool {
        self.min_severity.is_none_or(|s| e.severity >= s)
            && self.kind.as_deref().is_none_or(|k| e.kind == k)
            && self
                .peer
                .as_deref()
                .is_none_or(|p| e.peer.as_deref() == Some(p))
            && self.since.is_none_or(|t| e.timestamp >= t)
            && self.until.is_none_or(|t| e.timestamp <= t)
            && self
                .contains
                .as_deref()
                .is_none_or(|c| has(&e.message, c, self.ignore_case))
            && self.text.as_deref().is_none_or(|t| {
                let ci = self.ignore_case;
                has(&e.message, t, ci)
                    || e.peer.as_deref().is_some_and(|p| has(p, t, ci))
                    || e.metadata
                        .0
                        .iter()
                        .any(|(_, v)| v.as_str().is_some_and(|s| has(s, t, ci)))
            })
    }

    /// Applies the query to decoded events (any order): the matches, newest first, cut
    /// to the limit.
    pub fn apply<'a>(&self, events: impl IntoIterator<Item = &'a EventRecord>) -> Vec<EventRecord> {
        let mut out: Vec<EventRecord> = events
            .into_iter()
            .filter(|e| self.matches(e))
            .cloned()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse((e.timestamp, e.id)));
        if let Some(n) = self.limit {
            out.truncate(n);
        }
        out
    }
}

/// Which kind ids match the query's kind filter.
enum KindFilter<'q> {
    Any,
    Id(u16),
    /// The kind was never interned: only events with the name inline can match.
    Inline(&'q str),
}

/// A query over the live ring.
pub(crate) fn run(inner: &Core, q: &Query) -> Vec<EventRecord> {
    let limit = q.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Vec::new();
    }
    let cal = inner.cal;
    let kind = match q.kind.as_deref() {
        None => KindFilter::Any,
        Some(k) => inner
            .kinds
            .lookup(k)
            .map_or(KindFilter::Inline(k), KindFilter::Id),
    };
    let min_sev = q.min_severity.map_or(0, |s| s as u8);
    let mut lo = inner.expiry_cutoff_raw();
    if let Some(t) = q.since {
        lo = lo.max(cal.to_raw(t));
    }
    let hi = q.until.map_or(u64::MAX, |t| cal.to_raw(t));
    let words = inner.payload_bytes() / 8;
    let nshards = inner.ring.shards.len() as u64;
    let mut b = vec![0u8; words * 8];
    // Matches are kept as raw payload words in `arena` and decoded only once the
    // merge has picked the final ones: `(raw ts, id, offset in arena)`.
    let mut arena: Vec<u64> = Vec::new();
    let mut hits: Vec<(u64, u64, usize)> = Vec::new();
    let mut head_words = [0u64; 2];
    for (s, shard) in inner.ring.shards.iter().enumerate() {
        let head = shard.head();
        let slots = shard.slots() as u64;
        let mut found = 0usize;
        for p in (1..=slots).filter_map(|k| head.checked_sub(k)) {
            // The header first (timestamp, kind, severity: two words, validated like
            // any read): most slots of a filtered scan end here.
            if shard.read(p as usize, &mut head_words).is_none() {
                continue;
            }
            let h = Header::from_words(head_words[0], head_words[1]);
            if h.severity < min_sev || h.raw_ts < lo || h.raw_ts > hi {
                continue;
            }
            if matches!(kind, KindFilter::Id(id) if h.kind_id != id) {
                continue;
            }
            // A candidate: copy it whole (it may have changed since: check again).
            let at = arena.len();
            arena.resize(at + words, 0);
            let keep = match shard.read(p as usize, &mut arena[at..]) {
                Some(pos) => {
                    codec::words_to_bytes(&arena[at..], &mut b);
                    full_match(q, &b, min_sev, lo, hi, &kind, &inner.redactor).then_some(pos)
                }
                None => None,
            };
            let Some(pos) = keep else {
                arena.truncate(at);
                continue;
            };
            hits.push((arena[at], pos * nshards + s as u64, at));
            found += 1;
            if found >= limit {
                break;
            }
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse((h.0, h.1)));
    hits.truncate(limit);
    hits.into_iter()
        .filter_map(|(_, id, at)| {
            codec::words_to_bytes(&arena[at..at + words], &mut b);
            decode_record(inner, &b, id)
        })
        .collect()
}

/// Every filter, on a whole copied payload. Text is matched as it will be shown:
/// redacted (so a query cannot probe for a secret), and a peer also as recorded.
#[allow(clippy::too_many_arguments)]
fn full_match(
    q: &Query,
    b: &[u8],
    min_sev: u8,
    lo: u64,
    hi: u64,
    kind: &KindFilter<'_>,
    redactor: &Redactor,
) -> bool {
    let Some(h) = Header::read(b) else {
        return false;
    };
    if !header_matches(&h, min_sev, lo, hi, kind, b) {
        return false;
    }
    if let Some(peer) = q.peer.as_deref() {
        if codec::peer_bytes(b, &h) != Some(peer.as_bytes())
            && !codec::decode(b)
                .is_ok_and(|d| d.peer.is_some_and(|p| redactor.redact_str(p) == peer))
        {
            return false;
        }
    }
    if q.contains.is_none() && q.text.is_none() {
        return true;
    }
    let Ok(d) = codec::decode(b) else {
        return false;
    };
    let ci = q.ignore_case;
    let message = redactor.redact_str(d.message);
    if q.contains.as_deref().is_some_and(|c| !has(&message, c, ci)) {
        return false;
    }
    q.text.as_deref().is_none_or(|t| {
        has(&message, t, ci)
            || d.peer.is_some_and(|p| has(&redactor.redact_str(p), t, ci))
            || d.fields().iter().any(|&(k, v)| match v {
                FieldValue::Str(s) if !redactor.redact_key(k) => {
                    has(&redactor.redact_str(s), t, ci)
                }
                _ => false,
            })
    })
}

/// Whether `hay` contains `needle`, ignoring case when `ci`.
fn has(hay: &str, needle: &str, ci: bool) -> bool {
    if !ci {
        return hay.contains(needle);
    }
    if needle.is_ascii() {
        let n = needle.as_bytes();
        return n.is_empty()
            || hay
                .as_bytes()
                .windows(n.len())
                .any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(&needle.to_lowercase())
}

#[inline]
fn header_matches(
    h: &Header,
    min_sev: u8,
    lo: u64,
    hi: u64,
    kind: &KindFilter<'_>,
    b: &[u8],
) -> bool {
    if h.severity < min_sev || h.raw_ts < lo || h.raw_ts > hi {
        return false;
    }
    match kind {
        KindFilter::Any => true,
        KindFilter::Id(id) => h.kind_id == *id,
        KindFilter::Inline(name) => {
            h.kind_id == NO_ID && codec::decode(b).is_ok_and(|d| d.kind_inline == Some(*name))
        }
    }
}
