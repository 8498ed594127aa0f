//! Bridges from the ecosystem's instrumentation facades into a [`Recorder`](crate::Recorder).
//! Each is an optional cargo feature, off by default.
//!
//! | feature | module | what it does |
//! | --- | --- | --- |
//! | `tracing` | [`tracing`] | [`FlightringLayer`](self::tracing::FlightringLayer): a `tracing_subscriber::Layer` that records `tracing` events as flightring events, filtering below-level events at the callsite |
//! | `prometheus` | [`prometheus`] | [`FlightringCollector`](self::prometheus::FlightringCollector) and [`render`](self::prometheus::render): the recorder's counters, gauges and histograms as Prometheus / OpenMetrics metrics, read at scrape time |
//! | `metrics` | [`metrics`] | [`FlightringMetrics`](self::metrics::FlightringMetrics): a `metrics::Recorder` that lands `counter!`, `gauge!` and `histogram!` in the recorder's named counters, gauges and histograms |
//! | `otlp` | [`otlp`] | [`OtlpExporter`](self::otlp::OtlpExporter): a background thread that follows the ring and ships every event to an OpenTelemetry collector as OTLP logs over HTTP/protobuf, batched, retried with backoff, losses counted |

#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(feature = "tracing")]
pub mod tracing;
