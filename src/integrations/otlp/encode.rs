//! Protobuf encoding of an `ExportLogsServiceRequest` (OTLP 1.x,
//! `opentelemetry/proto/collector/logs/v1/logs_service.proto`), written by hand so the
//! feature adds no dependency, and decoding of the response's partial-success part.
//!
//! # Wire format used
//!
//! Protobuf's: each field is a key varint `(field_number << 3) | wire_type` followed by
//! a varint (wire type 0), 8 little-endian bytes (1), or a length varint and that many
//! bytes (2: strings and nested messages). Every field number here is below 16, so a
//! key is one byte. A nested message's length is computed before it is written (each
//! `*_len` function mirrors a `put_*` one), so encoding allocates nothing once the
//! output buffer has grown to the batch size.
//!
//! ```text
//! ExportLogsServiceRequest { 1: ResourceLogs {
//!     1: Resource { 1: KeyValue* (service.name, extra resource attributes) }
//!     2: ScopeLogs {
//!         1: InstrumentationScope { 1: name "flightring", 2: version }
//!         2: LogRecord* {
//!             1: time_unix_nano (fixed64)   11: observed_time_unix_nano (fixed64)
//!             2: severity_number (varint)   3: severity_text
//!             5: body AnyValue { 1: string_value }   (absent for an empty message)
//!             6: attributes KeyValue*       12: event_name
//! }}}}
//! KeyValue { 1: key, 2: AnyValue { 1: string | 2: bool | 3: int64 | 4: double } }
//! ```

use crate::model::event::{EventRecord, Value};
use crate::model::severity::Severity;

/// Attribute keys this exporter sets on log records, besides the metadata fields.
pub(crate) const ATTR_KIND: &str = "flightring.kind";
pub(crate) const ATTR_ID: &str = "flightring.id";
pub(crate) const ATTR_PEER: &str = "flightring.peer";
pub(crate) const ATTR_TRUNCATED: &str = "flightring.truncated";

/// The instrumentation scope's name.
pub(crate) const SCOPE_NAME: &str = "flightring";

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;

/// OTLP `SeverityNumber` for a severity: the base number of DEBUG, INFO, WARN, ERROR
/// and FATAL.
pub(crate) fn severity_number(s: Severity) -> u8 {
    match s {
        Severity::Debug => 5,
        Severity::Info => 9,
        Severity::Warning => 13,
        Severity::Error => 17,
        Severity::Critical => 21,
    }
}

/// An attribute value as OTLP's `AnyValue` carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Any<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// A `u64` above `i64::MAX`: OTLP integers are int64, so it goes as its decimal
    /// string, which keeps it exact.
    BigU64(u64),
}

impl<'a> From<&'a Value> for Any<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Str(s) => Any::Str(s),
            Value::I64(i) => Any::Int(*i),
            Value::U64(u) => i64::try_from(*u).map_or(Any::BigU64(*u), Any::Int),
            Value::F64(f) => Any::Double(*f),
            Value::Bool(b) => Any::Bool(*b),
        }
    }
}

use crate::varint::len as varint_len;

fn put_varint(out: &mut Vec<u8>, v: u64) {
    crate::varint::write(v, |b| out.push(b));
}

fn put_key(out: &mut Vec<u8>, field: u8, wire: u8) {
    out.push((field << 3) | wire);
}

/// Length of a length-delimited field whose content is `n` bytes.
fn len_field(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

fn put_len(out: &mut Vec<u8>, field: u8, n: usize) {
    put_key(out, field, LEN);
    put_varint(out, n as u64);
}

fn put_str(out: &mut Vec<u8>, field: u8, s: &str) {
    put_len(out, field, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_fixed64(out: &mut Vec<u8>, field: u8, v: u64) {
    put_key(out, field, FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

/// Decimal digits of `u`, right-aligned in a stack buffer.
fn digits(mut u: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// `AnyValue` content length.
fn any_len(v: Any<'_>) -> usize {
    match v {
        Any::Str(s) => len_field(s.len()),
        Any::Bool(_) => 2,
        Any::Int(i) => 1 + varint_len(i as u64),
        Any::Double(_) => 9,
        Any::BigU64(u) => len_field(digits(u, &mut [0; 20]).len()),
    }
}

fn put_any(out: &mut Vec<u8>, v: Any<'_>) {
    match v {
        Any::Str(s) => put_str(out, 1, s),
        Any::Bool(b) => {
            put_key(out, 2, VARINT);
            out.push(u8::from(b));
        }
        Any::Int(i) => {
            put_key(out, 3, VARINT);
            // int64: negative values are ten-byte two's complement varints.
            put_varint(out, i as u64);
        }
        Any::Double(f) => put_fixed64(out, 4, f.to_bits()),
        Any::BigU64(u) => put_str(out, 1, digits(u, &mut [0; 20])),
    }
}

/// `KeyValue` content length.
fn kv_len(key: &str, v: Any<'_>) -> usize {
    len_field(key.len()) + len_field(any_len(v))
}

/// Writes one `KeyValue` as field `field` of the enclosing message.
fn put_kv(out: &mut Vec<u8>, field: u8, key: &str, v: Any<'_>) {
    put_len(out, field, kv_len(key, v));
    put_str(out, 1, key);
    put_len(out, 2, any_len(v));
    put_any(out, v);
}

/// Calls `f` with each attribute of `e`, in the order they are sent.
fn attributes<'a>(e: &'a EventRecord, mut f: impl FnMut(&'a str, Any<'a>)) {
    f(ATTR_KIND, Any::Str(&e.kind));
    // Ids are below 2^63 in practice (positions × shards); a larger one goes as a string.
    f(
        ATTR_ID,
        i64::try_from(e.id).map_or(Any::BigU64(e.id), Any::Int),
    );
    if let Some(p) = &e.peer {
        f(ATTR_PEER, Any::Str(p));
    }
    if e.truncated {
        f(ATTR_TRUNCATED, Any::Bool(true));
    }
    for (k, v) in &e.metadata.0 {
        f(k, Any::from(v));
    }
}

/// `LogRecord` content length.
fn record_len(e: &EventRecord) -> usize {
    let sev = e.severity;
    let mut n = 9 + 9 + 2 + len_field(sev.as_str().len()) + len_field(e.kind.len());
    if !e.message.is_empty() {
        n += len_field(len_field(e.message.len()));
    }
    attributes(e, |k, v| n += len_field(kv_len(k, v)));
    n
}

fn put_record(out: &mut Vec<u8>, e: &EventRecord, observed: i64, len: usize) {
    put_len(out, 2, len);
    put_fixed64(out, 1, e.timestamp.as_unix_nanos() as u64);
    put_key(out, 2, VARINT);
    out.push(severity_number(e.severity));
    put_str(out, 3, e.severity.as_str());
    if !e.message.is_empty() {
        put_len(out, 5, len_field(e.message.len()));
        put_str(out, 1, &e.message);
    }
    attributes(e, |k, v| put_kv(out, 6, k, v));
    put_fixed64(out, 11, observed as u64);
    put_str(out, 12, &e.kind);
}

/// Encodes request bodies for one exporter: the resource and the scope are encoded once,
/// at construction; each call to [`RequestEncoder::encode`] adds the log records.
#[derive(Debug)]
pub(crate) struct RequestEncoder {
    /// `ResourceLogs.resource` field, whole (key, length, content).
    resource: Vec<u8>,
    /// `ScopeLogs.scope` field, whole.
    scope: Vec<u8>,
    /// Scratch: each record's content length, computed before writing.
    lens: Vec<usize>,
}

impl RequestEncoder {
    /// `service.name` first, then the other resource attributes in order.
    pub(crate) fn new(service_name: &str, resource_attributes: &[(String, Value)]) -> Self {
        let service = Any::Str(service_name);
        let mut content = Vec::new();
        put_kv(&mut content, 1, "service.name", service);
        for (k, v) in resource_attributes {
            put_kv(&mut content, 1, k, Any::from(v));
        }
        let mut resource = Vec::with_capacity(content.len() + 6);
        put_len(&mut resource, 1, content.len());
        resource.extend_from_slice(&content);

        let version = env!("CARGO_PKG_VERSION");
        let mut scope = Vec::new();
        put_len(
            &mut scope,
            1,
            len_field(SCOPE_NAME.len()) + len_field(version.len()),
        );
        put_str(&mut scope, 1, SCOPE_NAME);
        put_str(&mut scope, 2, version);
        RequestEncoder {
            resource,
            scope,
            lens: Vec::new(),
        }
    }

    /// Replaces `out` with the request carrying `events`; `observed` is each event's
    /// `observed_time_unix_nano` (when the exporter read it).
    pub(crate) fn encode<'a>(
        &mut self,
        events: impl Iterator<Item = (&'a EventRecord, i64)> + Clone,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        self.lens.clear();
        let mut scope_logs = self.scope.len();
        for (e, _) in events.clone() {
            let n = record_len(e);
            self.lens.push(n);
            scope_logs += len_field(n);
        }
        let resource_logs = self.resource.len() + len_field(scope_logs);
        out.reserve(len_field(resource_logs));
        put_len(out, 1, resource_logs);
        out.extend_from_slice(&self.resource);
        put_len(out, 2, scope_logs);
        out.extend_from_slice(&self.scope);
        for ((e, observed), &n) in events.zip(&self.lens) {
            let before = out.len();
            put_record(out, e, observed, n);
            debug_assert_eq!(out.len() - before, len_field(n), "record length");
        }
    }
}

/// The `partial_success` of an `ExportLogsServiceResponse`: how many records the
/// collector rejected, and why. `None` when the body is empty, carries none, or is not
/// protobuf (a collector answering JSON is taken as full success).
pub(crate) fn partial_success(body: &[u8]) -> Option<(u64, String)> {
    let ps = fields(body).find_map(|(f, v)| match (f, v) {
        (1, Field::Bytes(b)) => Some(b),
        _ => None,
    })?;
    let (mut rejected, mut message) = (0u64, String::new());
    for (f, v) in fields(ps) {
        match (f, v) {
            (1, Field::Varint(n)) => rejected = (n as i64).max(0) as u64,
            (2, Field::Bytes(b)) => message = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    (rejected > 0 || !message.is_empty()).then_some((rejected, message))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

/// The fields of a protobuf message; stops at the first malformed one.
fn fields(mut b: &[u8]) -> impl Iterator<Item = (u64, Field<'_>)> {
    std::iter::from_fn(move || {
        let key = take_varint(&mut b)?;
        let field = match key & 7 {
            0 => Field::Varint(take_varint(&mut b)?),
            1 => {
                b = b.get(8..)?;
                Field::Other
            }
            2 => {
                let n = usize::try_from(take_varint(&mut b)?).ok()?;
                let (v, rest) = (b.get(..n)?, b.get(n..)?);
                b = rest;
                Field::Bytes(v)
            }
            5 => {
                b = b.get(4..)?;
                Field::Other
            }
            _ => return None,
        };
        Some((key >> 3, field))
    })
}

use crate::varint::read as take_varint;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Metadata;
    use crate::model::Timestamp;
    use opentelemetry_proto::tonic::collector::logs::v1::{
        ExportLogsServiceRequest, ExportLogsServiceResponse,
    };
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
    use prost::Message;

    fn record(id: u64, meta: Vec<(&str, Value)>) -> EventRecord {
        EventRecord {
            id,
            timestamp: Timestamp::from_unix_nanos(1_700_000_000_123_456_789),
            severity: Severity::Warning,
            kind: "block".into(),
            peer: Some("peer123".into()),
            message: "slow block ü".into(),
            metadata: Metadata(meta.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            truncated: id % 2 == 1,
        }
    }

    #[test]
    fn varints() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(take_varint(&mut out.as_slice()), Some(v));
        }
        assert_eq!(digits(u64::MAX, &mut [0; 20]), "18446744073709551615");
        assert_eq!(digits(0, &mut [0; 20]), "0");
    }

    #[test]
    fn decodes_with_the_official_types() {
        let mut enc = RequestEncoder::new(
            "node-7",
            &[
                ("host.name".into(), Value::Str("h1".into())),
                ("shard".into(), Value::U64(3)),
            ],
        );
        let events = [
            record(
                1,
                vec![
                    ("ms", Value::U64(950)),
                    ("neg", Value::I64(-5)),
                    ("big", Value::U64(u64::MAX)),
                    ("ratio", Value::F64(0.25)),
                    ("ok", Value::Bool(false)),
                    ("s", Value::Str(String::new())),
                ],
            ),
            EventRecord {
                message: String::new(),
                peer: None,
                ..record(2, vec![])
            },
        ];
        let mut body = Vec::new();
        enc.encode(events.iter().map(|e| (e, 42)), &mut body);
        let req = ExportLogsServiceRequest::decode(body.as_slice()).unwrap();
        assert_eq!(req.resource_logs.len(), 1);
        let rl = &req.resource_logs[0];
        let res = rl.resource.as_ref().unwrap();
        let attr = |kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue], k: &str| {
            kvs.iter()
                .find(|kv| kv.key == k)
                .and_then(|kv| kv.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(
            attr(&res.attributes, "service.name"),
            Some(Av::StringValue("node-7".into()))
        );
        assert_eq!(attr(&res.attributes, "shard"), Some(Av::IntValue(3)));
        let sl = &rl.scope_logs[0];
        let scope = sl.scope.as_ref().unwrap();
        assert_eq!(scope.name, "flightring");
        assert_eq!(scope.version, env!("CARGO_PKG_VERSION"));
        let r = &sl.log_records[0];
        assert_eq!(r.time_unix_nano, 1_700_000_000_123_456_789);
        assert_eq!(r.observed_time_unix_nano, 42);
        assert_eq!(
            (r.severity_number, r.severity_text.as_str()),
            (13, "WARNING")
        );
        assert_eq!(r.event_name, "block");
        assert_eq!(
            r.body.clone().and_then(|b| b.value),
            Some(Av::StringValue("slow block ü".into()))
        );
        let a = |k| attr(&r.attributes, k);
        assert_eq!(a("flightring.kind"), Some(Av::StringValue("block".into())));
        assert_eq!(a("flightring.id"), Some(Av::IntValue(1)));
        assert_eq!(
            a("flightring.peer"),
            Some(Av::StringValue("peer123".into()))
        );
        assert_eq!(a("flightring.truncated"), Some(Av::BoolValue(true)));
        assert_eq!(a("ms"), Some(Av::IntValue(950)));
        assert_eq!(a("neg"), Some(Av::IntValue(-5)));
        assert_eq!(a("big"), Some(Av::StringValue(u64::MAX.to_string())));
        assert_eq!(a("ratio"), Some(Av::DoubleValue(0.25)));
        assert_eq!(a("ok"), Some(Av::BoolValue(false)));
        assert_eq!(a("s"), Some(Av::StringValue(String::new())));
        assert_eq!(r.attributes.len(), 10);
        let r2 = &sl.log_records[1];
        assert_eq!(r2.body, None, "no body for an empty message");
        assert!(attr(&r2.attributes, "flightring.peer").is_none());
        assert!(attr(&r2.attributes, "flightring.truncated").is_none());
        // The same encoder, reused, encodes an empty request too.
        enc.encode(events[..0].iter().map(|e| (e, 0)), &mut body);
        let req = ExportLogsServiceRequest::decode(body.as_slice()).unwrap();
        assert!(req.resource_logs[0].scope_logs[0].log_records.is_empty());
    }

    #[test]
    fn partial_success_is_read() {
        use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsPartialSuccess;
        let resp = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: 3,
                error_message: "too old".into(),
            }),
        };
        let body = resp.encode_to_vec();
        assert_eq!(partial_success(&body), Some((3, "too old".into())));
        assert_eq!(partial_success(&[]), None);
        assert_eq!(partial_success(b"{\"partialSuccess\":{}}"), None);
        assert_eq!(partial_success(&[0x0a, 0x05, 0x08]), None, "truncated");
    }
}
