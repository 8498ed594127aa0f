//! Recording macros that cost nothing while the recorder is off.
//!
//! Each macro evaluates its recorder expression once and checks the gate (one relaxed
//! load); only when the gate is open are the other arguments evaluated and the
//! corresponding [`Recorder`](crate::Recorder) helper called. So an argument that is
//! expensive to compute (a `to_string()`, a size calculation) costs nothing while the
//! recorder is disabled or closed — and nothing is recorded or counted then: no event,
//! no rejection count, no histogram, no counter (call the methods directly to keep
//! counters while disabled).
//!
//! | macro | gate | calls |
//! | --- | --- | --- |
//! | [`record!`](crate::record) | `enabled_for(severity)`: nothing is built below level | [`Recorder::record`](crate::Recorder::record) |
//! | [`record_phase_start!`](crate::record_phase_start) | `enabled_for(Severity::Debug)`: also skipped below level, since the event is all it records | [`Recorder::phase_start`](crate::Recorder::phase_start) |
//! | [`record_phase_end!`](crate::record_phase_end) | `is_enabled()`: below level the histogram and cache counters are still updated | [`Recorder::phase_end`](crate::Recorder::phase_end) |
//! | [`record_rpc_call!`](crate::record_rpc_call) | `is_enabled()`: below level the histogram and counters are still updated | [`Recorder::rpc_call`](crate::Recorder::rpc_call) |
//!
//! The recorder argument may be a `Recorder`, a reference to one, or anything that
//! dereferences to one (`Arc<Recorder>`).

/// Records a `phase_start` event (see
/// [`Recorder::phase_start`](crate::Recorder::phase_start)); evaluates nothing but the
/// recorder unless Debug events are being recorded.
///
/// `record_phase_start!(rec, phase, block)`, or with metadata
/// `record_phase_start!(rec, phase, block, "key" => value, ...)` (each value converts
/// into a [`FieldValue`](crate::FieldValue)).
///
/// ```
/// use flightring::{record_phase_start, Recorder};
/// let rec = Recorder::builder().capacity(1024).build()?;
/// record_phase_start!(rec, "route_build", Some(7), "pools" => 120u64, "dex" => "uniswap");
/// fn count_pools() -> u64 { unreachable!("not evaluated while disabled") }
/// rec.set_enabled(false);
/// record_phase_start!(rec, "route_build", Some(8), "pools" => count_pools());
/// assert_eq!(rec.stats().total_recorded, 1);
/// # Ok::<(), flightring::ConfigError>(())
/// ```
#[macro_export]
macro_rules! record_phase_start {
    ($rec:expr, $phase:expr, $block:expr $(, $key:expr => $value:expr)* $(,)?) => {{
        let rec: &$crate::Recorder = &$rec;
        if rec.enabled_for($crate::Severity::Debug) {
            rec.phase_start(
                $phase,
                &[$(($key, $crate::FieldValue::from($value))),*],
                $block,
            );
        }
    }};
}

/// Records a `phase_end` event, the `phase.<name>` histogram and the cache counters
/// (see [`Recorder::phase_end`](crate::Recorder::phase_end)); evaluates nothing but the
/// recorder while it is disabled or closed.
///
/// `record_phase_end!(rec, phase, started, result, block)`.
///
/// ```
/// use std::time::Instant;
/// use flightring::{record_phase_end, Recorder};
/// let rec = Recorder::builder().capacity(1024).build()?;
/// let started = Instant::now();
/// record_phase_end!(rec, "price_fetch", started, "cache_miss", Some(7));
/// assert_eq!(rec.counter_value("cache_misses"), Some(1));
/// # Ok::<(), flightring::ConfigError>(())
/// ```
#[macro_export]
macro_rules! record_phase_end {
    ($rec:expr, $phase:expr, $started:expr, $result:expr, $block:expr $(,)?) => {{
        let rec: &$crate::Recorder = &$rec;
        if rec.is_enabled() {
            let _ = rec.phase_end($phase, $started, $result, $block);
        }
    }};
}

/// Records an `rpc_call` event, the `rpc.<method>` histogram and the endpoint's
/// success/failure counter (see [`Recorder::rpc_call`](crate::Recorder::rpc_call));
/// evaluates nothing but the recorder while it is disabled or closed.
///
/// `record_rpc_call!(rec, endpoint, method, duration, success, block,
/// payload_size_bytes, requested, returned)`.
///
/// ```
/// use std::time::Duration;
/// use flightring::{record_rpc_call, Recorder};
/// let rec = Recorder::builder().capacity(1024).build()?;
/// record_rpc_call!(rec, "alchemy", "eth_call", Duration::from_millis(3), true, None, 512, 1, 1);
/// assert_eq!(rec.counter_value("rpc.alchemy.success"), Some(1));
/// # Ok::<(), flightring::ConfigError>(())
/// ```
#[macro_export]
macro_rules! record_rpc_call {
    (
        $rec:expr, $endpoint:expr, $method:expr, $duration:expr, $success:expr, $block:expr,
        $payload:expr, $requested:expr, $returned:expr $(,)?
    ) => {{
        let rec: &$crate::Recorder = &$rec;
        if rec.is_enabled() {
            rec.rpc_call(
                $endpoint, $method, $duration, $success, $block, $payload, $requested, $returned,
            );
        }
    }};
}

/// Records an event, like `tracing`'s `event!`: checks the gate first, and builds
/// nothing — no [`Event`](crate::Event), no argument evaluated — unless an event of that
/// severity would be recorded.
///
/// `record!(rec, severity, kind, key = value, ...)`: `peer = …` and `message = …` set
/// the event's peer and message; every other `key = value` is a field named `key`
/// whose value converts into a [`FieldValue`](crate::FieldValue). A key may also be a
/// string literal (`"tx.hash" = h`).
///
/// ```
/// use flightring::{record, Recorder, Severity};
/// let rec = Recorder::builder().capacity(1024).build()?;
/// let (p, a) = ("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", "/ip4/198.51.100.7/tcp/30333");
/// record!(rec, Severity::Info, "peer_connected", peer = p, message = "dialled", address = a, size = 512u64);
/// let e = &rec.snapshot().events()[0];
/// assert_eq!((e.kind.as_str(), e.peer.as_deref(), e.message.as_str()), ("peer_connected", Some(p), "dialled"));
/// assert_eq!(e.metadata.get("size").and_then(|v| v.as_u64()), Some(512));
///
/// fn expensive() -> String { unreachable!("not evaluated below level") }
/// rec.set_min_severity(Severity::Warning);
/// record!(rec, Severity::Debug, "noise", message = expensive().as_str());
/// assert_eq!(rec.stats().total_recorded, 1);
/// # Ok::<(), flightring::ConfigError>(())
/// ```
#[macro_export]
macro_rules! record {
    ($rec:expr, $severity:expr, $kind:expr $(, $($rest:tt)*)?) => {{
        let rec: &$crate::Recorder = &$rec;
        let severity: $crate::Severity = $severity;
        if rec.enabled_for(severity) {
            rec.record(&$crate::__record_parts!($crate::Event::new($kind, severity) $(, $($rest)*)?));
        }
    }};
}

/// The field muncher of [`record!`]; not an API.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_parts {
    ($ev:expr $(,)?) => { $ev };
    ($ev:expr, peer = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__record_parts!($ev.peer($v) $(, $($rest)*)?)
    };
    ($ev:expr, message = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__record_parts!($ev.message($v) $(, $($rest)*)?)
    };
    ($ev:expr, $k:ident = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__record_parts!($ev.field(stringify!($k), $v) $(, $($rest)*)?)
    };
    ($ev:expr, $k:literal = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__record_parts!($ev.field($k, $v) $(, $($rest)*)?)
    };
}
