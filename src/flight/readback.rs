//! Reading flight-recorder events back: [`FlightEvent::from_record`] turns an
//! [`EventRecord`] (from a snapshot, a query, or a loaded export) into a typed event, or
//! says which field of which kind is missing or mistyped.

#[allow(unused_imports)]
use super::*;

/// A flight-recorder event read back from an [`EventRecord`]: one variant per kind,
/// with its fields. Each variant's docs say where its fields are stored: `block` and the
/// numbers in metadata (`block` only when given), the free text in the event's message,
/// an RPC endpoint in its `peer_id`.
///
/// Serialised with a `type` tag naming the kind: `{"type":"block_start","block":7}`.
///
/// ```
/// use flightring::{FlightEvent, Recorder, Snapshot};
/// let rec = Recorder::builder().capacity(1024).build()?;
/// rec.block_gap(101, 105);
/// let loaded = Snapshot::from_json(&rec.export_json()?)?;
/// let ev = FlightEvent::from_record(&loaded.events()[0])?;
/// assert_eq!(ev, FlightEvent::BlockGap { from_block: 101, to_block: 105, gap_blocks: 4 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FlightEvent {
    /// `block_start` (Info): metadata `block`.
    BlockStart {
        /// The block.
        block: u64,
    },
    /// `block_end` (Info): metadata `block`, `duration_ns`, `routes_generated`,
    /// `routes_filtered`, `opportunities`.
    BlockEnd {
        /// The block.
        block: u64,
        /// Processing time, ns.
        duration_ns: u64,
        /// Routes generated.
        routes_generated: u64,
        /// Routes filtered out.
        routes_filtered: u64,
        /// Opportunities found.
        opportunities: u64,
    },
    /// `phase_start` (Debug): message = phase; metadata `block`?, then the caller's.
    PhaseStart {
        /// The phase.
        phase: String,
        /// The block, if given.
        block: Option<u64>,
        /// The caller's metadata.
        metadata: Metadata,
    },
    /// `phase_end` (Info, Warning on failure): message = phase; metadata `block`?,
    /// `duration_ns`, `result`, `reason` (failures only).
    PhaseEnd {
        /// The phase.
        phase: String,
        /// How long it took, ns.
        duration_ns: u64,
        /// How it ended.
        result: PhaseOutcome,
        /// Why it failed (failures only).
        reason: Option<String>,
        /// The block, if given.
        block: Option<u64>,
    },
    /// `decision` (Info): message = reason; metadata `block`?, `component`, `action`,
    /// `context`.
    Decision {
        /// Who decided.
        component: String,
        /// What it did.
        action: String,
        /// Why.
        reason: String,
        /// In what context.
        context: String,
        /// The block, if given.
        block: Option<u64>,
    },
    /// `rpc_call` (Debug, Warning on failure): `peer_id` = endpoint, message = method;
    /// metadata `block`?, `duration_ns`, `success`, `payload_bytes`, `requested`,
    /// `returned`.
    RpcCall {
        /// The endpoint (the event's `peer_id`).
        endpoint: String,
        /// The method (the event's message).
        method: String,
        /// How long it took, ns.
        duration_ns: u64,
        /// Whether it succeeded.
        success: bool,
        /// The block, if given.
        block: Option<u64>,
        /// Payload size, bytes (the `payload_bytes` field).
        payload_bytes: u64,
        /// Items requested.
        requested: u64,
        /// Items returned.
        returned: u64,
    },
    /// `error_event` (Error): message = the error message; metadata `block`?,
    /// `component`, `error_type`, `context`.
    ErrorEvent {
        /// Where it happened.
        component: String,
        /// Its type.
        error_type: String,
        /// Its message.
        message: String,
        /// In what context.
        context: String,
        /// The block, if given.
        block: Option<u64>,
    },
    /// `block_skipped` (Warning): message = reason; metadata `block`,
    /// `last_processed_block`.
    BlockSkipped {
        /// The skipped block.
        block: u64,
        /// Why.
        reason: String,
        /// The last block processed.
        last_processed_block: u64,
    },
    /// `block_gap` (Warning): metadata `from_block`, `to_block`, `gap_blocks`.
    BlockGap {
        /// First missed block.
        from_block: u64,
        /// First block seen after the gap (not missed).
        to_block: u64,
        /// `to_block − from_block`.
        gap_blocks: u64,
    },
}

/// Why an [`EventRecord`] could not be read as a [`FlightEvent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlightEventError {
    /// The record's kind is not a flight-recorder kind.
    #[error("event kind {0:?} is not a flight-recorder kind")]
    UnknownKind(String),
    /// A required field is absent.
    #[error("{kind} event: field {field:?} is missing")]
    Missing {
        /// The kind.
        kind: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or an unknown value.
    #[error("{kind} event: field {field:?} should be {expected}, found {found}")]
    Invalid {
        /// The kind.
        kind: &'static str,
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What it is.
        found: String,
    },
}

/// Typed access to one record's fields, with errors naming the kind.
struct Fields<'r> {
    rec: &'r EventRecord,
    kind: &'static str,
}

fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("the string {s:?}"),
        Value::Bool(b) => format!("the boolean {b}"),
        other => format!("the number {other}"),
    }
}

impl Fields<'_> {
    fn invalid(&self, field: &'static str, expected: &'static str, v: &Value) -> FlightEventError {
        FlightEventError::Invalid {
            kind: self.kind,
            field,
            expected,
            found: describe(v),
        }
    }

    fn opt_u64(&self, field: &'static str) -> Result<Option<u64>, FlightEventError> {
        match self.rec.metadata.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.invalid(field, "a non-negative integer", v)),
        }
    }

    fn u64(&self, field: &'static str) -> Result<u64, FlightEventError> {
        self.opt_u64(field)?.ok_or(FlightEventError::Missing {
            kind: self.kind,
            field,
        })
    }

    fn bool(&self, field: &'static str) -> Result<bool, FlightEventError> {
        match self.rec.metadata.get(field) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.invalid(field, "a boolean", v)),
            None => Err(FlightEventError::Missing {
                kind: self.kind,
                field,
            }),
        }
    }

    fn opt_str(&self, field: &'static str) -> Result<Option<String>, FlightEventError> {
        match self.rec.metadata.get(field) {
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.invalid(field, "a string", v)),
            None => Ok(None),
        }
    }

    /// A string field; in a truncated record a missing one reads as `""` (it was cut).
    fn str(&self, field: &'static str) -> Result<String, FlightEventError> {
        match self.opt_str(field)? {
            Some(s) => Ok(s),
            None if self.rec.truncated => Ok(String::new()),
            None => Err(FlightEventError::Missing {
                kind: self.kind,
                field,
            }),
        }
    }
}

impl FlightEvent {
    /// Reads `rec` as a flight-recorder event. Fails with the kind and field when the
    /// kind is not one of [`FLIGHT_KINDS`] or a field is missing or mistyped. In a
    /// record flagged `truncated`, a missing string field reads as `""`.
    pub fn from_record(rec: &EventRecord) -> Result<FlightEvent, FlightEventError> {
        let kind = FLIGHT_KINDS
            .iter()
            .find(|k| **k == rec.kind)
            .copied()
            .ok_or_else(|| FlightEventError::UnknownKind(rec.kind.clone()))?;
        let f = Fields { rec, kind };
        let text = || rec.message.clone();
        Ok(match kind {
            KIND_BLOCK_START => FlightEvent::BlockStart {
                block: f.u64("block")?,
            },
            KIND_BLOCK_END => FlightEvent::BlockEnd {
                block: f.u64("block")?,
                duration_ns: f.u64("duration_ns")?,
                routes_generated: f.u64("routes_generated")?,
                routes_filtered: f.u64("routes_filtered")?,
                opportunities: f.u64("opportunities")?,
            },
            KIND_PHASE_START => FlightEvent::PhaseStart {
                phase: text(),
                block: f.opt_u64("block")?,
                metadata: Metadata(
                    rec.metadata
                        .iter()
                        .filter(|(k, _)| *k != "block")
                        .map(|(k, v)| (k.to_owned(), v.clone()))
                        .collect(),
                ),
            },
            KIND_PHASE_END => {
                let result = match rec.metadata.get("result") {
                    Some(Value::Str(s)) => PhaseOutcome::parse(s).ok_or_else(|| {
                        f.invalid(
                            "result",
                            "one of success, cache_hit, cache_miss, failure",
                            &Value::Str(s.clone()),
                        )
                    })?,
                    Some(v) => return Err(f.invalid("result", "a string", v)),
                    None => {
                        return Err(FlightEventError::Missing {
                            kind,
                            field: "result",
                        })
                    }
                };
                FlightEvent::PhaseEnd {
                    phase: text(),
                    duration_ns: f.u64("duration_ns")?,
                    result,
                    reason: f.opt_str("reason")?,
                    block: f.opt_u64("block")?,
                }
            }
            KIND_DECISION => FlightEvent::Decision {
                component: f.str("component")?,
                action: f.str("action")?,
                reason: text(),
                context: f.str("context")?,
                block: f.opt_u64("block")?,
            },
            KIND_RPC_CALL => FlightEvent::RpcCall {
                endpoint: rec.peer.clone().unwrap_or_default(),
                method: text(),
                duration_ns: f.u64("duration_ns")?,
                success: f.bool("success")?,
                block: f.opt_u64("block")?,
                payload_bytes: f.u64("payload_bytes")?,
                requested: f.u64("requested")?,
                returned: f.u64("returned")?,
            },
            KIND_ERROR_EVENT => FlightEvent::ErrorEvent {
                component: f.str("component")?,
                error_type: f.str("error_type")?,
                message: text(),
                context: f.str("context")?,
                block: f.opt_u64("block")?,
            },
            KIND_BLOCK_SKIPPED => FlightEvent::BlockSkipped {
                block: f.u64("block")?,
                reason: text(),
                last_processed_block: f.u64("last_processed_block")?,
            },
            _ => FlightEvent::BlockGap {
                from_block: f.u64("from_block")?,
                to_block: f.u64("to_block")?,
                gap_blocks: f.u64("gap_blocks")?,
            },
        })
    }

    /// The kind this event is recorded as.
    pub fn kind(&self) -> &'static str {
        match self {
            FlightEvent::BlockStart { .. } => KIND_BLOCK_START,
            FlightEvent::BlockEnd { .. } => KIND_BLOCK_END,
            FlightEvent::PhaseStart { .. } => KIND_PHASE_START,
            FlightEvent::PhaseEnd { .. } => KIND_PHASE_END,
            FlightEvent::Decision { .. } => KIND_DECISION,
            FlightEvent::RpcCall { .. } => KIND_RPC_CALL,
            FlightEvent::ErrorEvent { .. } => KIND_ERROR_EVENT,
            FlightEvent::BlockSkipped { .. } => KIND_BLOCK_SKIPPED,
            FlightEvent::BlockGap { .. } => KIND_BLOCK_GAP,
        }
    }
}

impl TryFrom<&EventRecord> for FlightEvent {
    type Error = FlightEventError;
    fn try_from(rec: &EventRecord) -> Result<Self, Self::Error> {
        FlightEvent::from_record(rec)
    }
}
