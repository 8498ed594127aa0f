//! Where replayed events go: [`Target`], implemented for a [`Recorder`] (events
//! re-recorded with their kinds, severities, peers, messages and fields), for a
//! [`Callback`], and — with the `tracing` feature — for [`TracingTarget`].

use std::time::Duration;

use crate::{Event, EventRecord, FieldValue, Recorder, Value};

/// One event as the replay emits it.
#[derive(Debug, Clone, Copy)]
pub struct Replayed<'a> {
    /// The event, as recorded.
    pub event: &'a EventRecord,
    /// Its offset from the recording's start.
    pub offset: Duration,
    /// Its 0-based position among the events replayed.
    pub index: u64,
    /// How many events the replay emits in all.
    pub total: u64,
}

/// Receives replayed events, in order, on the replay's thread.
pub trait Target {
    /// One event, at its time.
    fn event(&mut self, ev: &Replayed<'_>);

    /// `lost` events are missing from the recording here (a gap). Default: ignored.
    fn gap(&mut self, lost: u64, offset: Duration) {
        let _ = (lost, offset);
    }
}

/// A target borrowed mutably (so the caller keeps it after the replay).
impl<T: Target + ?Sized> Target for &mut T {
    fn event(&mut self, ev: &Replayed<'_>) {
        (**self).event(ev)
    }

    fn gap(&mut self, lost: u64, offset: Duration) {
        (**self).gap(lost, offset)
    }
}

/// Re-records each event with its original kind, severity, peer, message and fields
/// (its timestamp is the time of the replay). A gap is recorded as a `replay_gap`
/// event (Warning) with a `lost` field, so the loss shows in the target too.
impl Target for Recorder {
    fn event(&mut self, ev: &Replayed<'_>) {
        record_into(self, ev.event);
    }

    fn gap(&mut self, lost: u64, _offset: Duration) {
        self.record(
            &Event::new(GAP_KIND, crate::Severity::Warning)
                .message("events missing from the recording here")
                .field("lost", lost),
        );
    }
}

impl Target for &Recorder {
    fn event(&mut self, ev: &Replayed<'_>) {
        record_into(self, ev.event);
    }

    fn gap(&mut self, lost: u64, offset: Duration) {
        let mut r: Recorder = (*self).clone();
        r.gap(lost, offset);
    }
}

/// The kind of the event a [`Recorder`] target records for a gap.
pub const GAP_KIND: &str = "replay_gap";

fn field_value(v: &Value) -> FieldValue<'_> {
    match v {
        Value::Str(s) => FieldValue::Str(s),
        Value::I64(i) => FieldValue::I64(*i),
        Value::U64(u) => FieldValue::U64(*u),
        Value::F64(f) => FieldValue::F64(*f),
        Value::Bool(b) => FieldValue::Bool(*b),
    }
}

/// Records `e` into `rec` with its kind, severity, peer, message and fields.
pub fn record_into(rec: &Recorder, e: &EventRecord) {
    let mut ev = Event::new(&e.kind, e.severity).message(&e.message);
    if let Some(p) = &e.peer {
        ev = ev.peer(p);
    }
    for (k, v) in e.metadata.iter() {
        ev = ev.field(k, field_value(v));
    }
    rec.record(&ev);
}

/// A closure as a target: `Callback(|ev: &Replayed| …)`.
pub struct Callback<F>(pub F);

impl<F> std::fmt::Debug for Callback<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Callback")
    }
}

impl<F: FnMut(&Replayed<'_>)> Target for Callback<F> {
    fn event(&mut self, ev: &Replayed<'_>) {
        (self.0)(ev)
    }
}

/// Emits each event as a `tracing` event (target `flightring::replay`), at the level
/// of its severity (Debug → DEBUG, Info → INFO, Warning → WARN, Error and Critical →
/// ERROR), with `kind`, `peer`, `offset_ms`, `fields` (as `k=v` text) and the message.
#[cfg(feature = "tracing")]
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingTarget;

#[cfg(feature = "tracing")]
impl Target for TracingTarget {
    fn event(&mut self, ev: &Replayed<'_>) {
        use std::fmt::Write as _;
        let e = ev.event;
        let mut fields = String::new();
        for (k, v) in e.metadata.iter() {
            let _ = write!(
                fields,
                "{}{k}={v}",
                if fields.is_empty() { "" } else { " " }
            );
        }
        let peer = e.peer.as_deref().unwrap_or("");
        let offset_ms = ev.offset.as_secs_f64() * 1000.0;
        macro_rules! emit {
            ($lvl:expr) => {
                tracing::event!(target: "flightring::replay", $lvl,
                    kind = %e.kind, peer = %peer, offset_ms, fields = %fields, severity = %e.severity,
                    "{}", e.message)
            };
        }
        match e.severity {
            crate::Severity::Debug => emit!(tracing::Level::DEBUG),
            crate::Severity::Info => emit!(tracing::Level::INFO),
            crate::Severity::Warning => emit!(tracing::Level::WARN),
            crate::Severity::Error | crate::Severity::Critical => emit!(tracing::Level::ERROR),
        }
    }

    fn gap(&mut self, lost: u64, offset: Duration) {
        tracing::warn!(target: "flightring::replay", lost, offset_ms = offset.as_secs_f64() * 1000.0,
            "events missing from the recording here");
    }
}
