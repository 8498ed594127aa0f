//! THE DATA MODEL: the values that cross every layer — events as written ([`Event`]) and
//! as read ([`EventRecord`]), severities, timestamps, kind handles, and the
//! configuration (capacity, retention, health thresholds, redaction rules). Plain data
//! with its parsing and validation; nothing here touches the ring.

pub(crate) mod config;
pub(crate) mod duration;
pub(crate) mod event;
pub(crate) mod float;
pub(crate) mod kind;
pub(crate) mod names;
pub(crate) mod redaction;
pub(crate) mod rfc3339;
pub(crate) mod severity;
pub(crate) mod thresholds;
pub(crate) mod timestamp;

pub use config::{
    Builder, Config, ConfigError, MAX_CAPACITY, MIN_HEALTH_INTERVAL, MIN_RETENTION,
    MIN_SWEEP_INTERVAL, SLOT_SIZES,
};
pub use duration::{format_duration, parse_duration, ParseDurationError};
pub(crate) use event::KindRef;
pub use event::{Direction, Event, EventRecord, FieldValue, Metadata, Value, MAX_FIELDS};
pub use kind::Kind;
pub use redaction::{RedactionConfig, DEFAULT_ALLOW_KEYS, DEFAULT_DENY_KEYS, REDACTED};
pub use severity::{ParseSeverityError, Severity};
pub use thresholds::HealthThresholds;
pub use timestamp::{ParseTimestampError, Timestamp};
