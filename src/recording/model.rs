//! [`Recording`]: a session — name, start, duration, the events with their offsets from
//! the start, and every loss the source reported (gap lines, ring losses).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::exporter::Gap;
use crate::{EventRecord, PanicRecord, Severity, Stats, Timestamp};

/// Where a recording was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A flightring recording (`"schema": "flightring.recording"`), or one just taken.
    Recording,
    /// A JSON export document (`"schema": "flightring.snapshot"`).
    Export,
    /// A JSON Lines stream: events and gap lines, plain or gzipped, one file or a
    /// rotated set.
    Stream,
    /// A panic dump (`"schema": "flightring.panic"`).
    PanicDump,
    /// The seed event recorder's recording shape (`session_name`, `events` with
    /// `timestamp_offset_ms`).
    Seed,
}

impl Source {
    /// A short name: `recording`, `export`, `stream`, `panic_dump`, `seed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Recording => "recording",
            Source::Export => "export",
            Source::Stream => "stream",
            Source::PanicDump => "panic_dump",
            Source::Seed => "seed",
        }
    }
}

/// Events missing from a recording at one point, as a stream's gap line or a
/// recording session's cursor reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapMark {
    /// The gap stands before `events[before]` (`events.len()`: after the last event).
    pub before: usize,
    /// How many events are missing there.
    pub lost: u64,
    /// When the loss was noticed.
    pub at: Timestamp,
}

/// Every loss a recording knows of. Shown by `info`/`summary`, never hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Losses {
    /// Events missing at the gaps (sum of [`GapMark::lost`]).
    pub in_gaps: u64,
    /// Gap marks.
    pub gaps: u64,
    /// Events in the recording flagged `truncated` (something was cut).
    pub truncated_events: u64,
    /// The source recorder's all-time `overwritten` count, when the source carried
    /// stats (an export or a panic dump): events the ring had replaced before the
    /// snapshot, so absent from it.
    pub overwritten: Option<u64>,
    /// The source recorder's `dropped` count, when known.
    pub dropped: Option<u64>,
    /// The source recorder's `expired` count, when known.
    pub expired: Option<u64>,
    /// The source recorder's `cleared` count, when known.
    pub cleared: Option<u64>,
}

impl Losses {
    /// Whether no loss of any kind is known.
    pub fn is_none(&self) -> bool {
        self.in_gaps == 0
            && self.gaps == 0
            && self.truncated_events == 0
            && self.overwritten.unwrap_or(0) == 0
            && self.dropped.unwrap_or(0) == 0
            && self.expired.unwrap_or(0) == 0
            && self.cleared.unwrap_or(0) == 0
    }
}

/// A recorded session: what happened, in order, with each event's offset from the
/// start, and what is known to be missing.
///
/// Every file flightring writes opens as one ([`Recording::open`]): a recording, a JSON
/// export, a JSON Lines stream (plain or gzipped, with gap lines; a rotated set with
/// [`Recording::open_all`]), a panic dump — and the seed recorder's recordings.
///
/// ```
/// use flightring::recording::Recording;
/// use flightring::{Event, Recorder, Severity};
///
/// let rec = Recorder::builder().capacity(1024).build()?;
/// let session = rec.start_recording("bull_run_2025");
/// rec.record(&Event::new("block", Severity::Info).message("block 1"));
/// rec.record(&Event::new("rpc", Severity::Warning).peer("infura").message("slow"));
/// let recording = session.stop();
/// assert_eq!(recording.name, "bull_run_2025");
/// assert_eq!(recording.events.len(), 2);
/// assert!(recording.losses().is_none());
///
/// let text = recording.to_json()?;
/// let back = Recording::from_json_str(&text, "inline")?;
/// assert_eq!(back.events, recording.events);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The session's name (for files without one: the file's stem).
    pub name: String,
    /// When the session started: the recording's start, or the first event's time.
    pub start_time: Timestamp,
    /// How long the session lasted: the recording's duration, or first to last event.
    pub duration: Duration,
    /// The events, ordered by `(timestamp, id)`.
    pub events: Vec<EventRecord>,
    /// Where events are missing.
    pub gaps: Vec<GapMark>,
    /// What the file was.
    pub source: Source,
    /// The source recorder's stats, when the file carried them (export, panic dump).
    pub stats: Option<Stats>,
    /// What panicked, for a panic dump.
    pub panic: Option<PanicRecord>,
}

impl Recording {
    /// A recording of `events` (sorted here by `(timestamp, id)`), starting at the
    /// first event (or now, when there is none) and lasting until the last.
    pub fn from_events(name: impl Into<String>, mut events: Vec<EventRecord>) -> Recording {
        events.sort_by_key(|e| (e.timestamp, e.id));
        let start = events.first().map_or_else(Timestamp::now, |e| e.timestamp);
        let mut r = Recording {
            name: name.into(),
            start_time: start,
            duration: Duration::ZERO,
            events,
            gaps: Vec::new(),
            source: Source::Recording,
            stats: None,
            panic: None,
        };
        r.duration = r.span_of_events();
        r
    }

    /// From the first event to the last, measured from `start_time`.
    pub(crate) fn span_of_events(&self) -> Duration {
        self.events
            .last()
            .map_or(Duration::ZERO, |e| self.offset_at(e.timestamp))
    }

    /// The offset of an instant from the start (zero for instants before it).
    pub fn offset_at(&self, t: Timestamp) -> Duration {
        let d = t
            .as_unix_nanos()
            .saturating_sub(self.start_time.as_unix_nanos());
        Duration::from_nanos(u64::try_from(d).unwrap_or(0))
    }

    /// The offset of `e` from the start of the session.
    pub fn offset(&self, e: &EventRecord) -> Duration {
        self.offset_at(e.timestamp)
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Everything known to be missing.
    pub fn losses(&self) -> Losses {
        let s = self.stats.as_ref();
        Losses {
            in_gaps: self.gaps.iter().map(|g| g.lost).sum(),
            gaps: self.gaps.len() as u64,
            truncated_events: self.events.iter().filter(|e| e.truncated).count() as u64,
            overwritten: s.map(|s| s.overwritten),
            dropped: s.map(|s| s.dropped),
            expired: s.map(|s| s.expired),
            cleared: s.map(|s| s.cleared),
        }
    }

    /// Counts by severity, lowest first (every severity present, zero or not).
    pub fn count_by_severity(&self) -> [(Severity, u64); 5] {
        let mut out = Severity::ALL.map(|s| (s, 0u64));
        for e in &self.events {
            out[e.severity.index()].1 += 1;
        }
        out
    }

    /// Puts events in `(timestamp, id)` order, keeping each gap before the event it
    /// stood before.
    pub(crate) fn sort_events(&mut self) {
        if self
            .events
            .windows(2)
            .all(|w| (w[0].timestamp, w[0].id) <= (w[1].timestamp, w[1].id))
        {
            return;
        }
        if self.gaps.is_empty() {
            self.events.sort_by_key(|e| (e.timestamp, e.id));
            return;
        }
        // Tag each event with its original index, sort, then move each gap to the
        // sorted position of the event it stood before.
        let n = self.events.len();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by_key(|&i| (self.events[i].timestamp, self.events[i].id));
        let mut new_pos = vec![0usize; n];
        for (new, &old) in idx.iter().enumerate() {
            new_pos[old] = new;
        }
        for g in &mut self.gaps {
            if g.before < n {
                g.before = new_pos[g.before];
            }
        }
        self.gaps.sort_by_key(|g| g.before);
        let mut old: Vec<Option<EventRecord>> = self.events.drain(..).map(Some).collect();
        self.events = idx.iter().filter_map(|&i| old[i].take()).collect();
    }
}

/// One item of a recording read in order: an event, or a gap.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// An event.
    Event(EventRecord),
    /// Events missing at this point.
    Gap(Gap),
}

/// A recording's events and gaps, interleaved in order.
pub(crate) fn entries_of(r: &Recording) -> Vec<Entry> {
    let mut out = Vec::with_capacity(r.events.len() + r.gaps.len());
    let mut gaps = r.gaps.iter().peekable();
    for (i, e) in r.events.iter().enumerate() {
        while let Some(g) = gaps.next_if(|g| g.before <= i) {
            out.push(Entry::Gap(Gap {
                lost: g.lost,
                at: g.at,
            }));
        }
        out.push(Entry::Event(e.clone()));
    }
    for g in gaps {
        out.push(Entry::Gap(Gap {
            lost: g.lost,
            at: g.at,
        }));
    }
    out
}
