//! From a slot's payload to an [`EventRecord`]: the one decode step that snapshots,
//! queries and cursors share, and so the place where redaction is applied to
//! everything that leaves the process: every way out (queries, snapshots, exports, the
//! file exporter, HTTP and SSE, OTLP, panic dumps, recordings, reports) reads events
//! through [`to_record`] or serialises a [`RecordRef`], and both redact.

use std::borrow::Cow;

use crate::core::codec::{self, Decoded};
use crate::core::redact::Redactor;
use crate::core::Core;
use crate::model::{EventRecord, FieldValue, Metadata, Timestamp, Value, REDACTED};

/// A borrowed, decoded event: what exports serialise without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub(crate) id: u64,
    pub(crate) timestamp: Timestamp,
    pub(crate) decoded: Decoded<'a>,
    pub(crate) kind: &'a str,
    /// The rules every string of the event passes through on its way out.
    pub(crate) redactor: &'a Redactor,
}

impl<'a> RecordRef<'a> {
    /// The peer, redacted.
    pub(crate) fn peer(&self) -> Option<Cow<'a, str>> {
        self.decoded.peer.map(|p| self.redactor.redact_str(p))
    }

    /// The message, redacted.
    pub(crate) fn message(&self) -> Cow<'a, str> {
        self.redactor.redact_str(self.decoded.message)
    }

    /// The fields, redacted (a denied key's value is `"[REDACTED]"`, string values are
    /// rewritten), each key once: when a caller's field has the name of one a helper
    /// set (`phase_start`'s `block`), the first — the helper's — is kept, so no object
    /// ever holds a key twice.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&'a str, RedactedValue<'a>)> + '_ {
        let all = self.decoded.fields();
        all.iter()
            .enumerate()
            .filter(|&(i, (k, _))| all[..i].iter().all(|(e, _)| e != k))
            .map(|(_, &(k, v))| {
                let v = if self.redactor.redact_key(k) {
                    RedactedValue::Str(Cow::Borrowed(REDACTED))
                } else {
                    match v {
                        FieldValue::Str(s) => RedactedValue::Str(self.redactor.redact_str(s)),
                        v => RedactedValue::Plain(v),
                    }
                };
                (k, v)
            })
    }
}

/// A field value on its way out: a (possibly rewritten) string, or a value with
/// nothing to redact.
#[derive(Debug, Clone)]
pub(crate) enum RedactedValue<'a> {
    Str(Cow<'a, str>),
    Plain(FieldValue<'a>),
}

impl RedactedValue<'_> {
    /// As a field value borrowing from `self`.
    pub(crate) fn as_field(&self) -> FieldValue<'_> {
        match self {
            RedactedValue::Str(s) => FieldValue::Str(s),
            RedactedValue::Plain(v) => *v,
        }
    }
}

/// Builds an owned, redacted record from a decoded payload.
pub(crate) fn to_record(r: &RecordRef<'_>) -> EventRecord {
    let d = &r.decoded;
    EventRecord {
        id: r.id,
        timestamp: r.timestamp,
        severity: d.severity,
        kind: r.kind.to_owned(),
        peer: r.peer().map(Cow::into_owned),
        message: r.message().into_owned(),
        metadata: Metadata(
            r.fields()
                .map(|(k, v)| (k.to_owned(), Value::from(v.as_field())))
                .collect(),
        ),
        truncated: d.header.truncated(),
    }
}

/// Decodes the payload `b` of the event with id `id` from the live ring.
pub(crate) fn decode_record(core: &Core, b: &[u8], id: u64) -> Option<EventRecord> {
    with_record_ref(core, b, id, to_record)
}

/// Calls `f` with the payload `b` of the event with id `id` from the live ring,
/// decoded in place; `None` if it does not decode.
pub(crate) fn with_record_ref<R>(
    core: &Core,
    b: &[u8],
    id: u64,
    f: impl FnOnce(&RecordRef<'_>) -> R,
) -> Option<R> {
    let d = codec::decode(b).ok()?;
    let kind = match d.kind_inline {
        Some(k) => k,
        None => core
            .kind_name(d.header.kind_id)
            .map_or("(unknown)", |n| &**n),
    };
    Some(f(&RecordRef {
        id,
        timestamp: core.cal.to_timestamp(d.header.raw_ts),
        decoded: d,
        kind,
        redactor: &core.redactor,
    }))
}
