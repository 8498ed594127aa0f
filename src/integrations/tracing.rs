//! A [`tracing_subscriber::Layer`] that records `tracing` events into a [`Recorder`]
//! (feature `tracing`).
//!
//! ```
//! use flightring::integrations::tracing::FlightringLayer;
//! use flightring::{Recorder, Severity};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let rec = Recorder::builder().capacity(1024).build()?;
//! let subscriber = tracing_subscriber::registry().with(FlightringLayer::new(rec.clone()));
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("conn", peer_id = "peer123");
//!     let _g = span.enter();
//!     tracing::warn!(event_type = "block", ms = 950u64, "slow block {}", 17);
//! });
//! let ev = &rec.snapshot().events()[0];
//! assert_eq!((ev.kind.as_str(), ev.severity), ("block", Severity::Warning));
//! assert_eq!(ev.peer.as_deref(), Some("peer123"));
//! assert_eq!(ev.message, "slow block 17");
//! assert_eq!(ev.metadata.get("ms").and_then(|v| v.as_u64()), Some(950));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Mapping
//!
//! | flightring | from the `tracing` event |
//! | --- | --- |
//! | severity | the level: `TRACE`/`DEBUG` → Debug, `INFO` → Info, `WARN` → Warning, `ERROR` → Error; a field `critical = true` (any level) → Critical |
//! | kind (`event_type`) | the `event_type` field, else the event's target (the module path unless `target:` is given) |
//! | peer | a `peer_id` or `peer` field on the event, else on the nearest enclosing span that has one |
//! | message | the `message` field (the format string and its arguments) |
//! | metadata | every other field, typed: `&str` → string, `u64`/`i64`/`f64`/`bool` as such, 128-bit integers when they fit 64 bits; anything else (`?x`, `%x`, errors) is formatted to a string |
//!
//! Fields past [`MAX_FIELDS`] are dropped and the event is marked
//! truncated. Fields named `log.*` (from `tracing-log`) are ignored.
//!
//! # Cost
//!
//! Recording an event allocates nothing: string values and `Debug` output are copied
//! into a 1 KiB stack arena (enough for the largest slot; whatever does not fit is
//! cut at a character boundary, and the recorder cuts again to the slot size), and the
//! fields are collected into a fixed array. A span's peer is copied once, when the span
//! is created or its peer field recorded, into a fixed [`SPAN_PEER_BYTES`] buffer in
//! the span's extensions; spans without a peer field cost this layer nothing.
//!
//! Measured by `benches/tracing_layer.rs` (2 shared cores, release): an `info!` with a
//! kind, a peer, a formatted 40-character message and two fields takes ~180 ns through
//! this layer (~255 ns with the peer taken from an enclosing span) against ~620 ns
//! through `tracing_subscriber::fmt` writing to `io::sink`, and ~90 ns for the same
//! event formatted and passed to [`Recorder::record`] directly. A filtered-out event
//! takes ~6.6 ns with [`FlightringLayer::new`] and ~0.55 ns with
//! [`FlightringLayer::with_cached_interest`], the same as with no subscriber.
//!
//! # Filtering
//!
//! The layer filters *globally*, as a `tracing` subscriber's filter does: an event below
//! the recorder's minimum severity (or while it is disabled) is disabled for the whole
//! subscriber stack. Two modes:
//!
//! - [`FlightringLayer::new`] (dynamic, the default): the recorder's level can change
//!   at any time ([`Recorder::set_min_severity`]), so events' callsites get
//!   `Interest::sometimes()` and [`Layer::enabled`] asks [`Recorder::enabled_for`] (one
//!   relaxed load) for each event. A filtered-out event costs the macro's level check,
//!   the dispatcher lookup and that load: a few nanoseconds.
//! - [`FlightringLayer::with_cached_interest`]: callsites get `Interest::always()` or
//!   `never()` from the level at registration, so a filtered-out event costs the
//!   macro's level check and one load of its callsite's cached interest — what an
//!   unsubscribed event costs, give or take that load (while the recorder is disabled,
//!   `max_level_hint` is `OFF`, so not even that). After changing the level (or
//!   enabling the recorder), call [`FlightringLayer::set_min_severity`] or
//!   `tracing::callsite::rebuild_interest_cache()` so the callsites are asked again.
//!   The level hint stays open otherwise: an event at any level may carry
//!   `critical = true`.
//!
//! Spans are always enabled (their peer fields are needed). To stack this layer beside
//! others (such as `fmt`) without filtering theirs, put the level you want on the
//! subscriber and use [`FlightringLayer::with_cached_interest`] at `Debug`, or wrap
//! this layer in a per-layer filter.

use std::fmt::{self, Write as _};
use std::mem::MaybeUninit;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::{Event, FieldValue, Recorder, Severity, MAX_FIELDS};

/// Bytes of a span's peer id kept (longer ids are cut at a character boundary).
pub const SPAN_PEER_BYTES: usize = 64;

/// Bytes of the per-event stack arena that holds copied strings (message, kind, peer,
/// string and formatted field values): the largest slot size.
const ARENA_BYTES: usize = 1024;

/// A [`Layer`] recording `tracing` events into a [`Recorder`]. See the
/// [module docs](self) for the mapping and the filtering.
#[derive(Debug, Clone)]
pub struct FlightringLayer {
    rec: Recorder,
    /// `true`: callsite interest is `always`/`never` from the level at registration;
    /// `false`: `sometimes`, decided per event by [`Layer::enabled`].
    cached_interest: bool,
}

impl FlightringLayer {
    /// A layer recording into `rec`, following its level as it changes (callsite
    /// interest `sometimes`).
    pub fn new(rec: Recorder) -> Self {
        FlightringLayer {
            rec,
            cached_interest: false,
        }
    }

    /// A layer recording into `rec` whose callsite interest is fixed at registration
    /// from `rec`'s level, so filtered-out events cost what unsubscribed ones do. Change
    /// the level with [`FlightringLayer::set_min_severity`].
    pub fn with_cached_interest(rec: Recorder) -> Self {
        FlightringLayer {
            rec,
            cached_interest: true,
        }
    }

    /// The recorder events go to.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    /// Sets the recorder's minimum severity and has every callsite's interest asked
    /// again (needed with [`FlightringLayer::with_cached_interest`]; harmless otherwise).
    pub fn set_min_severity(&self, s: Severity) {
        self.rec.set_min_severity(s);
        tracing::callsite::rebuild_interest_cache();
    }

    /// Whether an event at `meta`'s callsite could be recorded now: its level's
    /// severity is enabled, or it has a `critical` field and Critical is.
    #[inline]
    fn callsite_enabled(&self, meta: &Metadata<'_>) -> bool {
        self.rec.enabled_for(level_severity(meta.level()))
            || (self.rec.enabled_for(Severity::Critical)
                && meta.fields().field("critical").is_some())
    }
}

/// The severity of a `tracing` level.
#[inline]
fn level_severity(l: &Level) -> Severity {
    if *l == Level::ERROR {
        Severity::Error
    } else if *l == Level::WARN {
        Severity::Warning
    } else if *l == Level::INFO {
        Severity::Info
    } else {
        Severity::Debug
    }
}

/// Whether a field name carries the peer.
#[inline]
fn is_peer(name: &str) -> bool {
    name == "peer_id" || name == "peer"
}

impl<S> Layer<S> for FlightringLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if !meta.is_event() {
            Interest::always()
        } else if !self.cached_interest {
            Interest::sometimes()
        } else if self.callsite_enabled(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        !meta.is_event() || self.callsite_enabled(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Only "off" can be promised: an event at any level may carry `critical = true`,
        // so a level filter from the minimum severity would hide Critical events.
        (self.cached_interest && !self.rec.is_enabled()).then_some(LevelFilter::OFF)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let fields = attrs.metadata().fields();
        if fields.field("peer_id").is_none() && fields.field("peer").is_none() {
            return;
        }
        let mut v = PeerVisitor::default();
        attrs.record(&mut v);
        if v.found {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().replace(v.peer);
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut v = PeerVisitor::default();
        values.record(&mut v);
        if v.found {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().replace(v.peer);
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.callsite_enabled(meta) {
            return;
        }
        let mut buf = [MaybeUninit::uninit(); ARENA_BYTES];
        let mut v = EventVisitor::new(&mut buf);
        event.record(&mut v);
        let severity = if v.critical {
            Severity::Critical
        } else {
            level_severity(meta.level())
        };
        if !self.rec.enabled_for(severity) {
            return;
        }
        if v.peer.is_none() {
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope {
                    let ext = span.extensions();
                    if let Some(p) = ext.get::<SpanPeer>() {
                        v.peer = Some(v.arena.push_str(p.as_str()));
                        break;
                    }
                }
            }
        }
        let a = &v.arena;
        let kind = v.kind.map_or(meta.target(), |r| a.get(r));
        let message = v.message.map_or("", |r| a.get(r));
        let ev = Event::new(kind, severity).message(message);
        let peer = v.peer.map(|r| a.get(r));
        let f = |i: usize| {
            let (name, val) = v.fields[i];
            let val = match val {
                Val::Str(r) => FieldValue::Str(a.get(r)),
                Val::I64(x) => FieldValue::I64(x),
                Val::U64(x) => FieldValue::U64(x),
                Val::F64(x) => FieldValue::F64(x),
                Val::Bool(x) => FieldValue::Bool(x),
            };
            (name, val)
        };
        // One straight builder chain per field count: `ev = ev.field(..)` in a loop
        // copies the whole `Event` (~380 bytes) twice per field.
        macro_rules! chain {
            ($ev:expr $(, $i:literal)*) => {{
                let ev = $ev;
                $(
                    let (k, x) = f($i);
                    let ev = ev.field(k, x);
                )*
                emit(&self.rec, &ev)
            }};
        }
        const _: () = assert!(MAX_FIELDS + 1 == 9, "the match covers 0..=9 fields");
        let ev = match peer {
            Some(p) => ev.peer(p),
            None => ev,
        };
        match v.nfields {
            0 => chain!(ev),
            1 => chain!(ev, 0),
            2 => chain!(ev, 0, 1),
            3 => chain!(ev, 0, 1, 2),
            4 => chain!(ev, 0, 1, 2, 3),
            5 => chain!(ev, 0, 1, 2, 3, 4),
            6 => chain!(ev, 0, 1, 2, 3, 4, 5),
            7 => chain!(ev, 0, 1, 2, 3, 4, 5, 6),
            8 => chain!(ev, 0, 1, 2, 3, 4, 5, 6, 7),
            _ => chain!(ev, 0, 1, 2, 3, 4, 5, 6, 7, 8),
        }
    }
}

/// Records `ev`: one out-of-line copy of the record path for the match arms above.
#[inline(never)]
fn emit(rec: &Recorder, ev: &Event<'_>) {
    rec.record(ev);
}

// ------------------------------------------------------------------ span peer

/// A span's peer id, copied once at span creation (or when the field is recorded).
#[derive(Clone, Copy)]
struct SpanPeer {
    /// Bytes `0..len` are valid UTF-8.
    buf: [u8; SPAN_PEER_BYTES],
    /// In range `0..=SPAN_PEER_BYTES`.
    len: usize,
}

impl Default for SpanPeer {
    fn default() -> Self {
        SpanPeer {
            buf: [0; SPAN_PEER_BYTES],
            len: 0,
        }
    }
}

impl SpanPeer {
    fn as_str(&self) -> &str {
        // Only whole-character prefixes of `&str`s are ever written (see `write_str`),
        // so this never fails; `""` is a harmless fallback.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for SpanPeer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = crate::text::floor_boundary(s, SPAN_PEER_BYTES - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Collects a span's `peer_id`/`peer` field.
#[derive(Default)]
struct PeerVisitor {
    peer: SpanPeer,
    found: bool,
}

impl PeerVisitor {
    fn set(&mut self, field: &Field, f: impl FnOnce(&mut SpanPeer)) {
        if is_peer(field.name()) {
            self.peer.len = 0;
            f(&mut self.peer);
            self.found = true;
        }
    }
}

impl Visit for PeerVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, |p| {
            let _ = p.write_str(value);
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, |p| {
            let _ = write!(p, "{value:?}");
        });
    }
}

// ------------------------------------------------------------------ events

/// A byte range in the [`Arena`]: `(start, end)`.
type Slice = (u16, u16);

/// A stack buffer the event's borrowed strings are copied into while visiting.
struct Arena<'b> {
    /// Bytes `0..len` are initialised and every range handed out is valid UTF-8. A
    /// separate local of the caller's, so that initialising the other fields does not
    /// get merged into a memset of the whole buffer.
    buf: &'b mut [MaybeUninit<u8>; ARENA_BYTES],
    /// In range `0..=ARENA_BYTES`.
    len: usize,
    /// Something was cut: later writes are dropped so no value gets a gap.
    full: bool,
}

impl<'b> Arena<'b> {
    #[inline]
    fn new(buf: &'b mut [MaybeUninit<u8>; ARENA_BYTES]) -> Self {
        Arena {
            buf,
            len: 0,
            full: false,
        }
    }

    /// Copies `s` (or the prefix that fits) and returns its range.
    #[inline]
    fn push_str(&mut self, s: &str) -> Slice {
        let start = self.len;
        let _ = fmt::Write::write_str(self, s);
        (start as u16, self.len as u16)
    }

    /// Formats `value` with `Debug` (the prefix that fits) and returns its range.
    fn push_debug(&mut self, value: &dyn fmt::Debug) -> Slice {
        let start = self.len;
        let _ = write!(self, "{value:?}");
        (start as u16, self.len as u16)
    }

    /// The string at `r`, a range returned by this arena.
    #[inline]
    fn get(&self, r: Slice) -> &str {
        let (start, end) = (usize::from(r.0), usize::from(r.1));
        assert!(start <= end && end <= self.len, "a range from this arena");
        // SAFETY: `start..end` lies within `0..len`, which `write_str` initialised; the
        // pointer is in bounds and the slice borrows `self`.
        let bytes = unsafe {
            std::slice::from_raw_parts(self.buf.as_ptr().add(start).cast::<u8>(), end - start)
        };
        // SAFETY: a range handed out spans consecutive whole-character prefixes of
        // `&str`s written by `write_str` (nothing is written after a cut), so its bytes
        // are valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl fmt::Write for Arena<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full {
            return Ok(());
        }
        let n = crate::text::floor_boundary(s, ARENA_BYTES - self.len);
        if n < s.len() {
            self.full = true;
        }
        for (d, b) in self.buf[self.len..self.len + n]
            .iter_mut()
            .zip(s.as_bytes())
        {
            d.write(*b);
        }
        self.len += n;
        Ok(())
    }
}

/// A field value, strings as arena ranges.
#[derive(Clone, Copy)]
enum Val {
    Str(Slice),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// Collects one event's fields without allocating.
struct EventVisitor<'b> {
    arena: Arena<'b>,
    message: Option<Slice>,
    kind: Option<Slice>,
    peer: Option<Slice>,
    critical: bool,
    /// Entries `0..nfields` are set; one more than [`MAX_FIELDS`] so that an overflow
    /// reaches [`Event::field`], which drops it and marks the event truncated.
    fields: [(&'static str, Val); MAX_FIELDS + 1],
    /// In range `0..=MAX_FIELDS + 1`.
    nfields: usize,
}

/// Which role a field plays.
enum Role {
    Message,
    Kind,
    Peer,
    Critical,
    Ignored,
    Metadata,
}

#[inline]
fn role(name: &str) -> Role {
    match name {
        "message" => Role::Message,
        "event_type" => Role::Kind,
        "peer_id" | "peer" => Role::Peer,
        "critical" => Role::Critical,
        n if n.starts_with("log.") => Role::Ignored,
        _ => Role::Metadata,
    }
}

impl<'b> EventVisitor<'b> {
    #[inline]
    fn new(buf: &'b mut [MaybeUninit<u8>; ARENA_BYTES]) -> Self {
        EventVisitor {
            arena: Arena::new(buf),
            message: None,
            kind: None,
            peer: None,
            critical: false,
            fields: [("", Val::Bool(false)); MAX_FIELDS + 1],
            nfields: 0,
        }
    }

    #[inline]
    fn push(&mut self, name: &'static str, v: Val) {
        if self.nfields < self.fields.len() {
            self.fields[self.nfields] = (name, v);
            self.nfields += 1;
        }
    }

    /// Handles a field for a role that wants text; `false` if it is metadata.
    #[inline]
    fn text_role(&mut self, field: &Field, text: impl FnOnce(&mut Arena<'b>) -> Slice) -> bool {
        match role(field.name()) {
            Role::Message => self.message = Some(text(&mut self.arena)),
            Role::Kind => self.kind = Some(text(&mut self.arena)),
            Role::Peer => self.peer = Some(text(&mut self.arena)),
            Role::Critical | Role::Ignored => {}
            Role::Metadata => return false,
        }
        true
    }

    #[inline]
    fn typed(&mut self, field: &Field, v: Val, text: impl fmt::Debug) {
        if !self.text_role(field, |a| a.push_debug(&text)) {
            self.push(field.name(), v);
        }
    }
}

impl Visit for EventVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.text_role(field, |a| a.push_str(value)) {
            let r = self.arena.push_str(value);
            self.push(field.name(), Val::Str(r));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.text_role(field, |a| a.push_debug(value)) {
            let r = self.arena.push_debug(value);
            self.push(field.name(), Val::Str(r));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.typed(field, Val::I64(value), value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.typed(field, Val::U64(value), value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.typed(field, Val::F64(value), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "critical" {
            self.critical = value;
        } else {
            self.typed(field, Val::Bool(value), value);
        }
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        match i64::try_from(value) {
            Ok(v) => self.record_i64(field, v),
            Err(_) => self.record_debug(field, &value),
        }
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        match u64::try_from(value) {
            Ok(v) => self.record_u64(field, v),
            Err(_) => self.record_debug(field, &value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_cuts_at_char_boundaries_and_stops() {
        let mut buf = [MaybeUninit::uninit(); ARENA_BYTES];
        let mut a = Arena::new(&mut buf);
        let big = "é".repeat(ARENA_BYTES); // 2 bytes each
        let r1 = a.push_str("abc");
        let r2 = a.push_str(&big[..ARENA_BYTES - 2]); // 1021 bytes left: cut to 1020
        let r3 = a.push_str("zzz");
        assert_eq!(a.get(r1), "abc");
        assert!(a.get(r2).chars().all(|c| c == 'é'));
        assert_eq!(a.get(r2).len(), ARENA_BYTES - 4);
        assert_eq!(a.get(r3), "");
    }

    #[test]
    fn span_peer_is_cut() {
        let mut p = SpanPeer::default();
        let _ = p.write_str(&"x".repeat(100));
        assert_eq!(p.as_str().len(), SPAN_PEER_BYTES);
    }
}
