//! [`Filter`]: which events of a recording to keep — by severity, kind, peer, text,
//! absolute time, offset from the start, or any predicate — and writing the kept ones
//! as a new recording.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{EventRecord, Severity, Timestamp, Value};

use super::{GapMark, Recording};

type Predicate = Arc<dyn Fn(&EventRecord) -> bool + Send + Sync>;

/// Which events to keep. Every condition is optional; they combine with AND.
///
/// ```
/// use std::time::Duration;
/// use flightring::recording::{Filter, Recording};
/// use flightring::{EventRecord, Metadata, Severity, Timestamp};
///
/// let ev = |id: u64, ms: i64, sev, kind: &str, peer: Option<&str>| EventRecord {
///     id, timestamp: Timestamp::from_unix_nanos(ms * 1_000_000), severity: sev,
///     kind: kind.into(), peer: peer.map(Into::into), message: format!("event {id}"),
///     metadata: Metadata::default(), truncated: false,
/// };
/// let rec = Recording::from_events("t", vec![
///     ev(1, 0, Severity::Info, "rpc", Some("infura")),
///     ev(2, 500, Severity::Warning, "rpc", Some("alchemy")),
///     ev(3, 1500, Severity::Error, "block", None),
/// ]);
/// let f = Filter::new().min_severity(Severity::Warning).from_offset(Duration::from_millis(100));
/// let cut = f.apply(&rec);
/// assert_eq!(cut.events.iter().map(|e| e.id).collect::<Vec<_>>(), [2, 3]);
/// assert_eq!(Filter::new().text("alch").apply(&rec).len(), 1);
/// assert_eq!(Filter::new().predicate(|e| e.id % 2 == 1).apply(&rec).len(), 2);
/// ```
#[derive(Clone, Default)]
#[must_use = "builders do nothing unless used"]
pub struct Filter {
    min_severity: Option<Severity>,
    max_severity: Option<Severity>,
    kinds: Vec<String>,
    peers: Vec<String>,
    text: Option<String>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    from_offset: Option<Duration>,
    to_offset: Option<Duration>,
    predicate: Option<Predicate>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("min_severity", &self.min_severity)
            .field("max_severity", &self.max_severity)
            .field("kinds", &self.kinds)
            .field("peers", &self.peers)
            .field("text", &self.text)
            .field("since", &self.since)
            .field("until", &self.until)
            .field("from_offset", &self.from_offset)
            .field("to_offset", &self.to_offset)
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

impl Filter {
    /// Keeps everything.
    pub fn new() -> Self {
        Filter::default()
    }

    /// Only events at or above `s`.
    pub fn min_severity(mut self, s: Severity) -> Self {
        self.min_severity = Some(s);
        self
    }

    /// Only events at or below `s`.
    pub fn max_severity(mut self, s: Severity) -> Self {
        self.max_severity = Some(s);
        self
    }

    /// Only events of kind `kind` (called again: of any of the kinds given).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kinds.push(kind.into());
        self
    }

    /// Only events about peer `peer` (called again: any of the peers given).
    pub fn peer(mut self, peer: impl Into<String>) -> Self {
        self.peers.push(peer.into());
        self
    }

    /// Only events whose message, kind, peer or a text field contains `text`
    /// (case-sensitive).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
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

    /// Only events at least `d` after the recording's start.
    pub fn from_offset(mut self, d: Duration) -> Self {
        self.from_offset = Some(d);
        self
    }

    /// Only events at most `d` after the recording's start.
    pub fn to_offset(mut self, d: Duration) -> Self {
        self.to_offset = Some(d);
        self
    }

    /// Only events for which `f` returns true (with every other condition).
    pub fn predicate(mut self, f: impl Fn(&EventRecord) -> bool + Send + Sync + 'static) -> Self {
        self.predicate = Some(Arc::new(f));
        self
    }

    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.min_severity.is_none()
            && self.max_severity.is_none()
            && self.kinds.is_empty()
            && self.peers.is_empty()
            && self.text.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.from_offset.is_none()
            && self.to_offset.is_none()
            && self.predicate.is_none()
    }

    /// Whether `e`, `offset` after its recording's start, is kept.
    pub fn matches(&self, e: &EventRecord, offset: Duration) -> bool {
        self.min_severity.is_none_or(|s| e.severity >= s)
            && self.max_severity.is_none_or(|s| e.severity <= s)
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
            && (self.peers.is_empty()
                || self
                    .peers
                    .iter()
                    .any(|p| Some(p.as_str()) == e.peer.as_deref()))
            && self.since.is_none_or(|t| e.timestamp >= t)
            && self.until.is_none_or(|t| e.timestamp <= t)
            && self.from_offset.is_none_or(|d| offset >= d)
            && self.to_offset.is_none_or(|d| offset <= d)
            && self.text.as_deref().is_none_or(|t| text_matches(e, t))
            && self.predicate.as_ref().is_none_or(|p| p(e))
    }

    /// A new recording of the kept events. Same name, start and duration; each gap
    /// kept before the first kept event after it, so losses stay visible.
    pub fn apply(&self, r: &Recording) -> Recording {
        let mut out = Recording {
            name: r.name.clone(),
            start_time: r.start_time,
            duration: r.duration,
            events: Vec::new(),
            gaps: Vec::new(),
            source: r.source,
            stats: r.stats.clone(),
            panic: r.panic.clone(),
        };
        let mut gaps = r.gaps.iter().peekable();
        for (i, e) in r.events.iter().enumerate() {
            while let Some(g) = gaps.next_if(|g| g.before <= i) {
                out.gaps.push(GapMark {
                    before: out.events.len(),
                    ..*g
                });
            }
            if self.matches(e, r.offset(e)) {
                out.events.push(e.clone());
            }
        }
        for g in gaps {
            out.gaps.push(GapMark {
                before: out.events.len(),
                ..*g
            });
        }
        out
    }
}

fn text_matches(e: &EventRecord, t: &str) -> bool {
    e.message.contains(t)
        || e.kind.contains(t)
        || e.peer.as_deref().is_some_and(|p| p.contains(t))
        || e.metadata
            .iter()
            .any(|(_, v)| matches!(v, Value::Str(s) if s.contains(t)))
}
