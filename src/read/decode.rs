//! From a slot's payload to an [`EventRecord`]: the one decode step that snapshots,
//! queries and cursors share.

use crate::core::codec::{self, Decoded};
use crate::core::Core;
use crate::model::{EventRecord, Metadata, Timestamp, Value};

/// A borrowed, decoded event: what exports serialise without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub(crate) id: u64,
    pub(crate) timestamp: Timestamp,
    pub(crate) decoded: Decoded<'a>,
    pub(crate) kind: &'a str,
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

/// Decodes the payload `b` of the event with id `id` from the live ring.
pub(crate) fn decode_record(core: &Core, b: &[u8], id: u64) -> Option<EventRecord> {
    let d = codec::decode(b).ok()?;
    let kind = match d.kind_inline {
        Some(k) => k,
        None => core
            .kind_name(d.header.kind_id)
            .map_or("(unknown)", |n| &**n),
    };
    Some(to_record(&RecordRef {
        id,
        timestamp: core.cal.to_timestamp(d.header.raw_ts),
        decoded: d,
        kind,
    }))
}
