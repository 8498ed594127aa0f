//! Bridges from the ecosystem's instrumentation facades into a [`Recorder`](crate::Recorder).
//! Each is an optional cargo feature, off by default.
//!
//! | feature | module | what it does |
//! | --- | --- | --- |
//! | `tracing` | [`tracing`] | [`FlightringLayer`](self::tracing::FlightringLayer): a `tracing_subscriber::Layer` that records `tracing` events as flightring events, filtering below-level events at the callsite |
//! | `metrics` | [`metrics`] | [`FlightringMetrics`](self::metrics::FlightringMetrics): a `metrics::Recorder` that lands `counter!`, `gauge!` and `histogram!` in the recorder's named counters, gauges and histograms |

#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "tracing")]
pub mod tracing;
