//! A [`metrics::Recorder`] that lands the `metrics` facade's `counter!`, `gauge!` and
//! `histogram!` in a [`Recorder`]'s named counters, gauges and histograms (feature
//! `metrics`), so they appear in [`Recorder::stats`](crate::Recorder::stats) and every
//! export.
//!
//! ```
//! use flightring::integrations::metrics::FlightringMetrics;
//! use flightring::Recorder;
//!
//! let rec = Recorder::builder().capacity(1024).build()?;
//! // Process-wide: `flightring::integrations::metrics::install(rec.clone())?;`
//! metrics::with_local_recorder(&FlightringMetrics::new(rec.clone()), || {
//!     metrics::counter!("rpc_calls", "endpoint" => "getBlock").increment(3);
//!     metrics::gauge!("mempool_size").set(1500.0);
//!     metrics::histogram!("block_bytes").record(1024.0);
//! });
//! let stats = rec.stats();
//! assert_eq!(stats.counters["rpc_calls{endpoint=getBlock}"], 3);
//! assert_eq!(stats.gauges["mempool_size"], 1500.0);
//! assert_eq!(stats.histograms["block_bytes"].count, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Names and labels
//!
//! A metric's labels are flattened into its flightring name, in the order given:
//! `name{k1=v1,k2=v2}`; a metric without labels keeps its bare name. Each distinct
//! label set is therefore its own counter, gauge or histogram, and takes one entry of
//! the recorder's fixed name tables (a full table refuses new names; see
//! [`Config`](crate::Config)).
//!
//! # Values
//!
//! - Counters: `increment(n)` adds `n`; `absolute(v)` raises the counter to `v` if it
//!   is below (flightring counters never go down).
//! - Gauges: `set`, `increment` and `decrement` map to
//!   [`Recorder::set_gauge`] and [`Recorder::add_gauge`].
//! - Histograms hold `u64`s; `metrics` records `f64`s. A histogram whose unit
//!   (from `describe_histogram!`) is seconds, milliseconds, microseconds or
//!   nanoseconds, or whose name ends in `_seconds`, is a *duration* histogram: values
//!   are converted to nanoseconds and recorded with [`Recorder::observe`]. Any other
//!   value is multiplied by the value scale (default `1.0`, see
//!   [`FlightringMetrics::value_scale`]), rounded to the nearest integer and recorded
//!   with [`Recorder::observe_value`]. Negative values and NaN record `0`; values past
//!   `u64::MAX` record `u64::MAX`. Describe a histogram before its first use: a
//!   description drops the cached handles of that name, so the unit applies from the
//!   next `histogram!` on.
//!
//! # Cost
//!
//! `counter!` and friends call `register_*` every time they run; handles are cached by
//! key in concurrent maps, so after the first use of a key registering is a hash
//! lookup and an `Arc` clone, and updating is the recorder's lock-free name lookup and
//! an atomic. Nothing is allocated after the first use of a key.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata,
    SetRecorderError, SharedString, Unit,
};

use crate::Recorder;

/// Sets a [`FlightringMetrics`] recording into `rec` as the process-wide `metrics`
/// recorder. Fails if one is already set.
pub fn install(rec: Recorder) -> Result<(), SetRecorderError<FlightringMetrics>> {
    FlightringMetrics::new(rec).install()
}

/// A [`metrics::Recorder`] writing into a flightring [`Recorder`]. See the
/// [module docs](self) for names, labels and value conversion. Clones share their
/// handle caches.
#[derive(Clone)]
pub struct FlightringMetrics {
    rec: Recorder,
    /// Multiplies non-duration histogram values before rounding to `u64`.
    value_scale: f64,
    maps: Arc<Maps>,
}

/// Units and cached handles.
#[derive(Default)]
struct Maps {
    /// Histogram units from `describe_histogram!`, by metric name.
    units: DashMap<String, Unit>,
    counters: DashMap<Key, Counter>,
    gauges: DashMap<Key, Gauge>,
    histograms: DashMap<Key, Histogram>,
}

impl fmt::Debug for FlightringMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlightringMetrics")
            .field("value_scale", &self.value_scale)
            .field("counters", &self.maps.counters.len())
            .field("gauges", &self.maps.gauges.len())
            .field("histograms", &self.maps.histograms.len())
            .finish()
    }
}

impl FlightringMetrics {
    /// A `metrics` recorder writing into `rec`.
    pub fn new(rec: Recorder) -> Self {
        FlightringMetrics {
            rec,
            value_scale: 1.0,
            maps: Arc::default(),
        }
    }

    /// Multiplies non-duration histogram values by `scale` before rounding them to
    /// `u64` (default `1.0`; `1000.0` keeps three decimals of a ratio, say).
    pub fn value_scale(mut self, scale: f64) -> Self {
        self.value_scale = scale;
        self
    }

    /// Sets this as the process-wide `metrics` recorder. Fails if one is already set.
    pub fn install(self) -> Result<(), SetRecorderError<FlightringMetrics>> {
        metrics::set_global_recorder(self)
    }

    /// The recorder metrics go to.
    pub fn recorder(&self) -> &Recorder {
        &self.rec
    }

    fn histogram_conversion(&self, name: &str) -> Conversion {
        let unit = self.maps.units.get(name).map(|u| *u);
        let ns = match unit {
            Some(Unit::Seconds) => Some(1e9),
            Some(Unit::Milliseconds) => Some(1e6),
            Some(Unit::Microseconds) => Some(1e3),
            Some(Unit::Nanoseconds) => Some(1.0),
            None if name.ends_with("_seconds") => Some(1e9),
            _ => None,
        };
        match ns {
            Some(ns_per_unit) => Conversion::Nanos(ns_per_unit),
            None => Conversion::Scale(self.value_scale),
        }
    }
}

/// The flightring name of a `metrics` key: `name` or `name{k1=v1,k2=v2}`.
pub fn flat_name(key: &Key) -> String {
    let mut labels = key.labels().peekable();
    if labels.peek().is_none() {
        return key.name().to_owned();
    }
    let mut s = String::with_capacity(key.name().len() + 32);
    s.push_str(key.name());
    s.push('{');
    for (i, l) in labels.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(l.key());
        s.push('=');
        s.push_str(l.value());
    }
    s.push('}');
    s
}

/// How a histogram turns `f64`s into `u64`s.
#[derive(Debug, Clone, Copy)]
enum Conversion {
    /// A duration histogram: nanoseconds per unit of the value.
    Nanos(f64),
    /// A value histogram: the factor applied before rounding.
    Scale(f64),
}

/// `v * factor`, rounded; `as` saturates (NaN and negatives to 0, overflow to max).
#[inline]
fn to_u64(v: f64, factor: f64) -> u64 {
    (v * factor).round() as u64
}

struct Handle {
    rec: Recorder,
    name: Box<str>,
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.rec.add(&self.name, value);
    }

    fn absolute(&self, value: u64) {
        let now = self.rec.counter_value(&self.name).unwrap_or(0);
        if value > now {
            self.rec.add(&self.name, value - now);
        }
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        self.rec.add_gauge(&self.name, value);
    }

    fn decrement(&self, value: f64) {
        self.rec.add_gauge(&self.name, -value);
    }

    fn set(&self, value: f64) {
        self.rec.set_gauge(&self.name, value);
    }
}

struct HistogramHandle {
    rec: Recorder,
    name: Box<str>,
    conversion: Conversion,
}

impl HistogramFn for HistogramHandle {
    fn record(&self, value: f64) {
        match self.conversion {
            Conversion::Nanos(f) => self
                .rec
                .observe(&self.name, Duration::from_nanos(to_u64(value, f))),
            Conversion::Scale(f) => self.rec.observe_value(&self.name, to_u64(value, f)),
        }
    }
}

impl metrics::Recorder for FlightringMetrics {
    fn describe_counter(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn describe_gauge(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        if let Some(unit) = unit {
            self.maps.units.insert(key.as_str().to_owned(), unit);
            self.maps.histograms.retain(|k, _| k.name() != key.as_str());
        }
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        if let Some(c) = self.maps.counters.get(key) {
            return c.clone();
        }
        self.maps
            .counters
            .entry(key.clone())
            .or_insert_with(|| {
                Counter::from_arc(Arc::new(Handle {
                    rec: self.rec.clone(),
                    name: flat_name(key).into(),
                }))
            })
            .clone()
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        if let Some(g) = self.maps.gauges.get(key) {
            return g.clone();
        }
        self.maps
            .gauges
            .entry(key.clone())
            .or_insert_with(|| {
                Gauge::from_arc(Arc::new(Handle {
                    rec: self.rec.clone(),
                    name: flat_name(key).into(),
                }))
            })
            .clone()
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        if let Some(h) = self.maps.histograms.get(key) {
            return h.clone();
        }
        let conversion = self.histogram_conversion(key.name());
        self.maps
            .histograms
            .entry(key.clone())
            .or_insert_with(|| {
                Histogram::from_arc(Arc::new(HistogramHandle {
                    rec: self.rec.clone(),
                    name: flat_name(key).into(),
                    conversion,
                }))
            })
            .clone()
    }
}
