//! The events callers record ([`Event`], borrowed, no allocation) and the events readers
//! get back ([`EventRecord`], owned).

use std::fmt;
use std::mem::MaybeUninit;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::severity::Severity;
use crate::model::Kind;
use crate::model::Timestamp;

/// How many metadata fields one event carries at most; more are dropped and the event
/// is marked truncated.
pub const MAX_FIELDS: usize = 8;

/// A metadata value as the caller passes it: borrowed, typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A string.
    Str(&'a str),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl<'a> From<&'a str> for FieldValue<'a> {
    fn from(v: &'a str) -> Self {
        FieldValue::Str(v)
    }
}
impl<'a> From<&'a String> for FieldValue<'a> {
    fn from(v: &'a String) -> Self {
        FieldValue::Str(v)
    }
}
macro_rules! field_from {
    ($($t:ty => $v:ident as $as:ty),* $(,)?) => {$(
        impl From<$t> for FieldValue<'_> {
            fn from(v: $t) -> Self {
                FieldValue::$v(v as $as)
            }
        }
    )*};
}
field_from!(u64 => U64 as u64, u32 => U64 as u64, u16 => U64 as u64, u8 => U64 as u64,
    usize => U64 as u64, i64 => I64 as i64, i32 => I64 as i64, i16 => I64 as i64,
    i8 => I64 as i64, isize => I64 as i64, f64 => F64 as f64, f32 => F64 as f64);
impl From<bool> for FieldValue<'_> {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}

/// How an event names its kind: by string (looked up in the recorder's kind table), or
/// by a cached [`Kind`] handle (no lookup).
#[derive(Debug, Clone, Copy)]
pub(crate) enum KindRef<'a> {
    Name(&'a str),
    Handle(&'a Kind),
}

impl KindRef<'_> {
    pub(crate) fn name(&self) -> &str {
        match self {
            KindRef::Name(n) => n,
            KindRef::Handle(k) => k.name(),
        }
    }
}

/// An event being recorded. It borrows every string it carries, lives on the stack and
/// allocates nothing: build one, pass it to [`Recorder::record`](crate::Recorder::record),
/// and let it go.
///
/// ```
/// use flightring::{Event, Severity};
/// let ev = Event::new("peer_connected", Severity::Info)
///     .peer("peer123")
///     .message("connected")
///     .field("address", "192.168.1.100:8333")
///     .field("size", 1024u64);
/// assert_eq!(ev.fields().count(), 2);
/// ```
///
/// The builder methods take the event by value: a call whose result is dropped is
/// a mistake the compiler reports (`unused_must_use`):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let ev = flightring::Event::new("k", flightring::Severity::Info);
/// ev.peer("p"); // the peer is lost: warned, and an error here
/// ```
#[must_use = "builders do nothing unless used"]
#[derive(Clone, Copy)]
pub struct Event<'a> {
    pub(crate) kind: KindRef<'a>,
    pub(crate) severity: Severity,
    pub(crate) peer: Option<&'a str>,
    pub(crate) message: &'a str,
    /// Entries `0..nfields` are initialised; the rest are not (so building an event does
    /// not zero 320 bytes it will mostly not use).
    fields: [MaybeUninit<(&'a str, FieldValue<'a>)>; MAX_FIELDS],
    /// Number of initialised entries in `fields`, `0..=MAX_FIELDS`; only grows.
    pub(crate) nfields: u8,
    /// More than `MAX_FIELDS` fields were added; the extra ones were dropped.
    pub(crate) fields_dropped: bool,
}

impl<'a> Event<'a> {
    /// A new event of kind `kind` (its `event_type`) with severity `severity`.
    #[inline]
    pub fn new(kind: &'a str, severity: Severity) -> Self {
        Self::with_kind_ref(KindRef::Name(kind), severity)
    }

    /// A new event whose kind is a cached [`Kind`] handle from
    /// [`Recorder::kind`](crate::Recorder::kind): recording it skips the kind lookup.
    #[inline]
    pub fn with_kind(kind: &'a Kind, severity: Severity) -> Self {
        Self::with_kind_ref(KindRef::Handle(kind), severity)
    }

    #[inline]
    fn with_kind_ref(kind: KindRef<'a>, severity: Severity) -> Self {
        Event {
            kind,
            severity,
            peer: None,
            message: "",
            // SAFETY: an array of `MaybeUninit` is valid uninitialised. (Built this
            // way, not as `[MaybeUninit::uninit(); N]`, which the optimiser turns into
            // a 248-byte copy from a constant on every event.)
            fields: unsafe {
                MaybeUninit::<[MaybeUninit<(&'a str, FieldValue<'a>)>; MAX_FIELDS]>::uninit()
                    .assume_init()
            },
            nfields: 0,
            fields_dropped: false,
        }
    }

    /// Sets the peer this event concerns.
    #[inline]
    pub fn peer(mut self, peer: &'a str) -> Self {
        self.peer = Some(peer);
        self
    }

    /// Sets the human-readable message.
    #[inline]
    pub fn message(mut self, message: &'a str) -> Self {
        self.message = message;
        self
    }

    /// Adds a metadata field. At most [`MAX_FIELDS`] are kept; further ones are dropped
    /// and the recorded event is marked truncated.
    #[inline]
    pub fn field(mut self, key: &'a str, value: impl Into<FieldValue<'a>>) -> Self {
        if usize::from(self.nfields) < MAX_FIELDS {
            self.fields[usize::from(self.nfields)] = MaybeUninit::new((key, value.into()));
            self.nfields += 1;
        } else {
            self.fields_dropped = true;
        }
        self
    }

    /// The event's kind name.
    pub fn kind_name(&self) -> &str {
        self.kind.name()
    }

    /// The event's severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The fields added so far, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, FieldValue<'a>)> + '_ {
        self.field_slice().iter().copied()
    }

    /// The fields added so far, as a slice.
    #[inline]
    pub(crate) fn field_slice(&self) -> &[(&'a str, FieldValue<'a>)] {
        let n = usize::from(self.nfields).min(MAX_FIELDS);
        // SAFETY: `field` writes entry `nfields` before incrementing `nfields`, and
        // nothing ever un-writes an entry, so entries `0..nfields` are initialised;
        // `MaybeUninit<T>` has the layout of `T`, so the prefix is a valid `[T]`.
        unsafe {
            std::slice::from_raw_parts(self.fields.as_ptr().cast::<(&'a str, FieldValue<'a>)>(), n)
        }
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("kind", &self.kind.name())
            .field("severity", &self.severity)
            .field("peer", &self.peer)
            .field("message", &self.message)
            .field("fields", &self.field_slice())
            .finish()
    }
}

/// Whether a message came in from a peer or went out to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received from the peer.
    Inbound,
    /// Sent to the peer.
    Outbound,
}

impl Direction {
    /// `"inbound"` or `"outbound"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// An owned metadata value, as readers get it.
///
/// In JSON a value is a string, a number or a boolean. Reading JSON back, a non-negative
/// integer becomes `U64`, a negative one `I64`, any other number `F64`. A non-finite
/// float is written as `null` and read back as `F64(NaN)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an `f64`, if it is a number, or the string `"NaN"`, `"inf"` or
    /// `"-inf"` that exports write for a float JSON cannot hold.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::I64(v) => Some(v as f64),
            Value::U64(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            Value::Str(ref s) => super::float::parse_non_finite(s),
            _ => None,
        }
    }

    /// The value as a `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U64(v) => Some(v),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

impl From<FieldValue<'_>> for Value {
    fn from(v: FieldValue<'_>) -> Self {
        match v {
            FieldValue::Str(s) => Value::Str(s.to_owned()),
            FieldValue::I64(v) => Value::I64(v),
            FieldValue::U64(v) => Value::U64(v),
            FieldValue::F64(v) => Value::F64(v),
            FieldValue::Bool(v) => Value::Bool(v),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl Value {
    /// The value borrowed as a [`FieldValue`].
    pub fn as_field(&self) -> FieldValue<'_> {
        match *self {
            Value::Str(ref s) => FieldValue::Str(s),
            Value::I64(v) => FieldValue::I64(v),
            Value::U64(v) => FieldValue::U64(v),
            Value::F64(v) => FieldValue::F64(v),
            Value::Bool(v) => FieldValue::Bool(v),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_field().serialize(s)
    }
}

/// Serialised as its JSON value; a non-finite float (which JSON cannot hold) as the
/// string `"NaN"`, `"inf"` or `"-inf"` (see `model/float.rs`).
/// The one place the crate writes field values, for every export format.
impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            FieldValue::Str(v) => s.serialize_str(v),
            FieldValue::I64(v) => s.serialize_i64(v),
            FieldValue::U64(v) => s.serialize_u64(v),
            FieldValue::F64(v) if v.is_finite() => s.serialize_f64(v),
            FieldValue::F64(v) => {
                s.serialize_str(super::float::non_finite_text(v).unwrap_or("NaN"))
            }
            FieldValue::Bool(v) => s.serialize_bool(v),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata value: a string, a number or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Str(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(Value::U64(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(if v >= 0 {
                    Value::U64(v as u64)
                } else {
                    Value::I64(v)
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::F64(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
                Ok(Value::F64(f64::NAN))
            }
        }
        d.deserialize_any(V)
    }
}

/// An event's metadata: `(key, value)` pairs in the order they were added. Serialised
/// as a JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata(pub Vec<(String, Value)>);

impl Metadata {
    /// The value of the first field named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(MAX_FIELDS));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Metadata(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A recorded event as readers get it: owned, with its id and timestamp.
///
/// Serialised with the field names of the export schema: `id`, `timestamp` (RFC 3339),
/// `severity`, `event_type`, `peer_id` (absent when the event has no peer), `message`,
/// `metadata`, and `truncated` (always present: `true` when something was cut).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    /// Unique per recorder; increases with recording order within a shard. Readers order
    /// events by recording time (timestamps never decrease).
    pub id: u64,
    /// When the event was recorded.
    pub timestamp: Timestamp,
    /// How serious it is.
    pub severity: Severity,
    /// Its kind.
    #[serde(rename = "event_type")]
    pub kind: String,
    /// The peer it concerns, if any.
    #[serde(rename = "peer_id", default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The human-readable message.
    #[serde(default)]
    pub message: String,
    /// Typed metadata fields.
    #[serde(default)]
    pub metadata: Metadata,
    /// Whether something did not fit the slot and was cut (or fields over
    /// [`MAX_FIELDS`] were dropped).
    #[serde(default)]
    pub truncated: bool,
}
