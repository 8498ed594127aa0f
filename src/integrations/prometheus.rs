//! The recorder's state as Prometheus / OpenMetrics metrics (feature `prometheus`),
//! through a [`prometheus_client`] collector that reads the counters at scrape time.
//!
//! ```
//! use flightring::integrations::prometheus::{self, Format};
//! use flightring::{Event, Recorder, Severity};
//!
//! let rec = Recorder::builder().capacity(1024).build()?;
//! rec.record(&Event::new("peer_connected", Severity::Info).peer("p1"));
//! rec.observe("rpc.getblock", std::time::Duration::from_micros(850));
//!
//! let text = prometheus::render(&rec, Format::Text);
//! assert!(text.contains(r#"flightring_events_total{kind="peer_connected",severity="info"} 1"#));
//! assert!(text.contains(r#"flightring_duration_seconds_count{name="rpc.getblock"} 1"#));
//!
//! // Or beside your own metrics, in your own registry:
//! let mut registry = prometheus_client::registry::Registry::default();
//! registry.register_collector(Box::new(prometheus::FlightringCollector::new(rec.clone())));
//! # Ok::<(), flightring::ConfigError>(())
//! ```
//!
//! # Metrics
//!
//! The names are stable; every one starts with `flightring_`.
//!
//! | metric | type | labels | what |
//! | --- | --- | --- | --- |
//! | `flightring_events_total` | counter | `kind`, `severity` | events written to the ring; every known kind at every severity, 0 before its first event |
//! | `flightring_events_by_severity_total` | counter | `severity` | the same over all kinds; all five severities from the start (alert on `increase(...{severity="critical"}[5m]) > 0`) |
//! | `flightring_overwritten_events_total` | counter | | replaced by newer events |
//! | `flightring_dropped_events_total` | counter | | lost: no slot could be claimed |
//! | `flightring_truncated_events_total` | counter | | written with something cut |
//! | `flightring_expired_events_total` | counter | | removed for age by the sweeper |
//! | `flightring_cleared_events_total` | counter | | removed by `clear()` |
//! | `flightring_rejected_events_total` | counter | `reason` (`disabled`, `below_level`, `closed`) | refused before the ring |
//! | `flightring_retained_events` | gauge | | events held now |
//! | `flightring_capacity_events` | gauge | | events the ring can hold |
//! | `flightring_active_peers` | gauge | | peers connected and not disconnected |
//! | `flightring_untracked_peers` | gauge | | peers not tracked: the peer table was full |
//! | `flightring_health_status` | gauge | | 0 healthy, 1 degraded, 2 unhealthy |
//! | `flightring_component_fault` | gauge | `component` | 1 for each component reporting a fault |
//! | `flightring_error_rate` | gauge | | (error + critical) / events over the health window |
//! | `flightring_window_events_per_second` | gauge | | event rate over the health window |
//! | `flightring_memory_bytes` | gauge | | bytes the recorder holds |
//! | `flightring_refused_names_total` | counter | `table` (`histograms`, `counters`, `gauges`) | updates refused: the name table was full |
//! | `flightring_tier_retained_events` | gauge | `tier` (`main`, `reserved`) | events each tier holds |
//! | `flightring_tier_overwritten_events_total` | counter | `tier` | events each tier overwrote |
//! | `flightring_tier_span_seconds` | gauge | `tier` | how far back each tier reaches (newest − oldest) |
//! | `flightring_uptime_seconds` | gauge | | seconds since the recorder was built |
//! | `flightring_duration_seconds` | histogram | `name` | every `observe` histogram, in seconds |
//! | `flightring_value` | histogram | `name` | every `observe_value` histogram |
//! | `flightring_message_size_bytes` | histogram | `type` | message sizes from `Recorder::message` |
//! | `flightring_named_total` | counter | `name` | named counters (`Recorder::add`, `metrics`) |
//! | `flightring_named_value` | gauge | `name` | named gauges (`Recorder::set_gauge`, `metrics`) |
//!
//! `severity` is `debug`, `info`, `warning`, `error` or `critical`; `kind` is the event
//! kind, `"(other)"` for kinds beyond the kind table.
//!
//! # Histograms
//!
//! flightring keeps log-linear histograms (64 buckets per power of two). Prometheus
//! buckets are fixed so that `histogram_quantile` works across scrapes and processes:
//! durations from 1 µs to 60 s and values up to 5·10⁹ in R20 steps (twenty a
//! decade: 1, 1.12, 1.25, 1.4, 1.6, … 8, 9), message sizes in quarter powers of two
//! from 64 B to 16 MiB, each with `+Inf` — fine enough that `histogram_quantile` agrees
//! with the quantiles `/stats` reports within about 10 %. Counts are
//! read from the internal buckets, placed by their midpoints, so a value within 1/64
//! of a power of two of a bound may land on either side of it; `_sum` is estimated
//! from the same midpoints (flightring keeps no exact sum, to keep `observe` at one
//! atomic add).
//!
//! # Formats
//!
//! [`Format::OpenMetrics`] is what Prometheus asks for; [`Format::Text`] is the
//! classic Prometheus text format (0.0.4), which `promtool check metrics` and older
//! scrapers read. [`Format::from_accept`] picks one from an `Accept` header.
//!
//! # Cost
//!
//! A scrape reads every counter cell and histogram bucket once (no event is scanned)
//! and allocates only the output text; it never blocks writers.

use std::sync::OnceLock;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeMetric as _, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::core::histogram::AtomicHistogram;
use crate::core::interner::Interner;
use crate::read::Shared;
use crate::{Recorder, Severity};

/// The Renard R20 series (ISO 3): twenty steps a decade, each at most 1.13× the last,
/// so `histogram_quantile`'s linear interpolation inside a bucket stays within 10 % of
/// the quantile flightring's own buckets give, even where the density jumps (1–2.5–5
/// steps were up to 1.8× off, R10 steps 15 %).
const R20: [u64; 20] = [
    100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800,
    900,
];

/// `N` bounds: R20 steps from `10^first_decade / 100`, as integers (in the histogram's
/// unit), then `last` as the top bound.
const fn r20<const N: usize>(first_decade: u32, last: u64) -> [u64; N] {
    let mut b = [0u64; N];
    let mut i = 0;
    while i + 1 < N {
        let scale = 10u64.pow(first_decade + (i / 20) as u32);
        b[i] = R20[i % 20] * scale / 100;
        i += 1;
    }
    b[N - 1] = last;
    b
}

/// Duration bucket bounds, in nanoseconds: 1 µs to 60 s in R20 steps (157 bounds).
const DURATION_BOUNDS_NS: [u64; 157] = r20::<157>(3, 60_000_000_000);

/// Message-size bucket bounds, in bytes: 64 B to 16 MiB in quarter powers of two
/// (at most 1.19× apart).
const SIZE_BOUNDS: [u64; 73] = {
    let mut b = [0u64; 73];
    // 2^(k/4) for k = 0..4, in thousandths.
    const QUARTERS: [u64; 4] = [1000, 1189, 1414, 1682];
    let mut i = 0;
    while i < 73 {
        b[i] = (64u64 << (i / 4)) * QUARTERS[i % 4] / 1000;
        i += 1;
    }
    b
};

/// Value bucket bounds: 1 to 8, then R20 steps from 10 up to 5·10⁹.
const VALUE_BOUNDS: [u64; 176] = {
    let mut b = [0u64; 176];
    let small = [1, 2, 3, 4, 5, 6, 8];
    let mut i = 0;
    while i < 7 {
        b[i] = small[i];
        i += 1;
    }
    let rest = r20::<169>(1, 5_000_000_000);
    while i < 176 {
        b[i] = rest[i - 7];
        i += 1;
    }
    b
};

/// Which exposition format to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// OpenMetrics 1.0 text (`application/openmetrics-text`), ending in `# EOF`.
    #[default]
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4 (`text/plain`).
    Text,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text`, the classic text format otherwise.
    pub fn from_accept(accept: &str) -> Format {
        if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// A [`Collector`] that reads a [`Recorder`] at every scrape. Register it in your own
/// [`Registry`], or use [`render`].
#[derive(Debug, Clone)]
pub struct FlightringCollector {
    rec: Recorder,
}

impl FlightringCollector {
    /// A collector over `rec` (a clone shares the recorder).
    pub fn new(rec: Recorder) -> Self {
        FlightringCollector { rec }
    }
}

/// A registry holding only a [`FlightringCollector`] over `rec`.
pub fn registry(rec: &Recorder) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(FlightringCollector::new(rec.clone())));
    registry
}

/// The recorder's metrics in `format`.
pub fn render(rec: &Recorder, format: Format) -> String {
    let mut out = String::with_capacity(8 << 10);
    render_into(rec, format, &mut out);
    out
}

/// Appends the recorder's metrics in `format` to `out`.
pub fn render_into(rec: &Recorder, format: Format, out: &mut String) {
    let registry = registry(rec);
    match format {
        Format::OpenMetrics => {
            // Writing to a `String` cannot fail, and the collector returns only the
            // writer's errors.
            let _ = prometheus_client::encoding::text::encode(out, &registry);
        }
        Format::Text => {
            let mut om = String::with_capacity(8 << 10);
            let _ = prometheus_client::encoding::text::encode(&mut om, &registry);
            openmetrics_to_text(&om, out);
        }
    }
}

/// Rewrites OpenMetrics text as the classic text format: counter families are named
/// with their `_total` suffix (as their samples are), and `# EOF` and `# UNIT` go.
fn openmetrics_to_text(om: &str, out: &mut String) {
    let counters: Vec<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        match family_meta(line) {
            Some((prefix, name, tail)) => {
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(&name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
}

/// A `# HELP` or `# TYPE` line as (that prefix, the family name, the rest); `None`
/// for any other line.
pub(crate) fn family_meta(line: &str) -> Option<(&'static str, &str, &str)> {
    let (prefix, rest) = ["# HELP ", "# TYPE "]
        .into_iter()
        .find_map(|p| Some((p, line.strip_prefix(p)?)))?;
    let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((prefix, name, tail))
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Debug => "debug",
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
        Severity::Critical => "critical",
    }
}

/// The labels of a named figure: `label = name`, except that a metrics-facade name
/// `base{k1=v1,k2=v2}` (see `integrations::metrics::flat_name`) becomes `label = base`
/// plus its own labels — real Prometheus labels, not text in a name. Keys are made
/// valid label names (`[a-zA-Z_][a-zA-Z0-9_]*`); one that would clash with `label`
/// or repeat is prefixed `label_`. A name that does not parse stays whole.
fn name_labels(label: &str, name: &str) -> Vec<(String, String)> {
    let whole = || vec![(label.to_owned(), name.to_owned())];
    let Some((base, rest)) = name.split_once('{') else {
        return whole();
    };
    let Some(body) = rest.strip_suffix('}') else {
        return whole();
    };
    let mut out = vec![(label.to_owned(), base.to_owned())];
    for pair in body.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            return whole();
        };
        let mut key: String = k
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            key.insert(0, '_');
        }
        while out.iter().any(|(k, _)| *k == key) {
            key.insert_str(0, "label_");
        }
        out.push((key, v.to_owned()));
    }
    out
}

static SECONDS: Unit = Unit::Seconds;
static BYTES: Unit = Unit::Bytes;

/// The family's descriptor, with its unit (a `# UNIT` line in OpenMetrics) when the
/// name ends in one: `flightring_uptime_seconds` is family `flightring_uptime` in
/// seconds, which the encoder names back `flightring_uptime_seconds`.
fn descriptor<'a>(
    e: &'a mut DescriptorEncoder,
    name: &'a str,
    help: &'a str,
    ty: MetricType,
) -> Result<MetricEncoder<'a>, std::fmt::Error> {
    for (suffix, unit) in [("_seconds", &SECONDS), ("_bytes", &BYTES)] {
        if let Some(base) = name.strip_suffix(suffix) {
            return e.encode_descriptor(base, help, Some(unit), ty);
        }
    }
    e.encode_descriptor(name, help, None, ty)
}

/// Encodes one unlabelled counter.
fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, MetricType::Counter)?)
}

/// Encodes one unlabelled gauge.
fn gauge<V>(e: &mut DescriptorEncoder, name: &str, help: &str, v: V) -> std::fmt::Result
where
    ConstGauge<V>: prometheus_client::encoding::EncodeMetric,
{
    let g = ConstGauge::new(v);
    g.encode(descriptor(e, name, help, MetricType::Gauge)?)
}

/// Encodes a histogram family: one histogram per allocated entry of `table`, labelled
/// `label = name`, with values divided by `divisor` (exact: the bounds are integers).
#[allow(clippy::too_many_arguments)]
fn histograms(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    names: &Interner,
    table: &[OnceLock<AtomicHistogram>],
    want_duration: Option<bool>,
    bounds: &[u64],
    divisor: f64,
) -> std::fmt::Result {
    let entries: Vec<(&str, &AtomicHistogram)> = (0..names.len())
        .filter_map(|i| {
            let h = table.get(i)?.get()?;
            if want_duration.is_some_and(|d| d != h.is_duration) {
                return None;
            }
            Some((&**names.name(i as u16)?, h))
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    let mut m = descriptor(e, name, help, MetricType::Histogram)?;
    let mut counts = Vec::with_capacity(bounds.len() + 1);
    let mut buckets = Vec::with_capacity(bounds.len() + 1);
    for (hname, h) in entries {
        let (count, sum) = h.bucket_counts(bounds, &mut counts);
        buckets.clear();
        buckets.extend(
            bounds
                .iter()
                .map(|&b| b as f64 / divisor)
                .chain(std::iter::once(f64::INFINITY))
                .zip(counts.iter().copied()),
        );
        let labels = name_labels(label, hname);
        m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
            sum / divisor,
            count,
            &buckets,
            None,
        )?;
    }
    Ok(())
}

impl Collector for FlightringCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let inner: &Shared = &self.rec.inner;
        let t = inner.totals();
        // Every series from the moment it can exist, at 0 until its first event, so
        // that `increase(...) > 0` sees the first one: every known kind (first seen or
        // a handle made) at every severity, and each severity over all kinds.
        let by_kind = inner.kind_severity_counts(true);
        {
            let mut m = e.encode_descriptor(
                "flightring_events",
                "Events written to the ring, by kind and severity.",
                None,
                MetricType::Counter,
            )?;
            for (kind, counts) in &by_kind {
                for s in Severity::ALL {
                    let labels = [("kind", kind.as_str()), ("severity", severity_label(s))];
                    ConstCounter::new(counts[s as usize]).encode(m.encode_family(&labels)?)?;
                }
            }
        }
        {
            let mut m = e.encode_descriptor(
                "flightring_events_by_severity",
                "Events written to the ring, by severity (every severity from the start: alert on this one).",
                None,
                MetricType::Counter,
            )?;
            for s in Severity::ALL {
                // `by_kind` includes the overflow row, `(other)`, when it has events.
                let n: u64 = by_kind.iter().map(|(_, c)| c[s as usize]).sum();
                ConstCounter::new(n)
                    .encode(m.encode_family(&[("severity", severity_label(s))])?)?;
            }
        }
        counter(
            &mut e,
            "flightring_overwritten_events",
            "Events replaced by newer ones before they expired.",
            t.overwritten,
        )?;
        counter(
            &mut e,
            "flightring_dropped_events",
            "Events lost because no slot could be claimed.",
            t.dropped,
        )?;
        counter(
            &mut e,
            "flightring_truncated_events",
            "Events written with something cut (too large for a slot, or too many fields).",
            t.truncated,
        )?;
        counter(
            &mut e,
            "flightring_expired_events",
            "Events removed by the sweeper for being older than the retention.",
            t.expired,
        )?;
        counter(
            &mut e,
            "flightring_cleared_events",
            "Events removed by clear().",
            t.cleared,
        )?;
        {
            let mut m = e.encode_descriptor(
                "flightring_rejected_events",
                "Events refused before the ring, by reason.",
                None,
                MetricType::Counter,
            )?;
            for (reason, n) in [
                ("disabled", t.rejected.disabled),
                ("below_level", t.rejected.below_level),
                ("closed", t.rejected.closed),
            ] {
                ConstCounter::new(n).encode(m.encode_family(&[("reason", reason)])?)?;
            }
        }
        gauge(
            &mut e,
            "flightring_retained_events",
            "Events held in the ring now.",
            t.retained() as i64,
        )?;
        gauge(
            &mut e,
            "flightring_capacity_events",
            "Events the ring can hold.",
            inner.core.config.capacity as i64,
        )?;
        gauge(
            &mut e,
            "flightring_active_peers",
            "Peers connected and not since disconnected.",
            inner.core.peers.active() as i64,
        )?;
        gauge(
            &mut e,
            "flightring_untracked_peers",
            "Peers not tracked because the peer table was full.",
            inner.core.peers.untracked() as i64,
        )?;
        let health = self.rec.health();
        gauge(
            &mut e,
            "flightring_health_status",
            "Health: 0 healthy, 1 degraded, 2 unhealthy.",
            i64::from(health.status.as_gauge()),
        )?;
        {
            let faults = inner.faults();
            if !faults.is_empty() {
                let mut m = e.encode_descriptor(
                    "flightring_component_fault",
                    "1 for each component reporting a fault (see /health for the reason).",
                    None,
                    MetricType::Gauge,
                )?;
                for component in faults.keys() {
                    ConstGauge::new(1i64)
                        .encode(m.encode_family(&[("component", component.as_str())])?)?;
                }
            }
        }
        let w = inner.window_stats();
        gauge(
            &mut e,
            "flightring_error_rate",
            "Error and critical events over all events in the health window.",
            w.error_rate,
        )?;
        gauge(
            &mut e,
            "flightring_window_events_per_second",
            "Events per second over the health window.",
            w.events_per_sec,
        )?;
        gauge(
            &mut e,
            "flightring_memory_bytes",
            "Bytes the recorder holds: ring, counters, histograms, tables.",
            inner.core.memory_bytes() as i64,
        )?;
        {
            let mut m = e.encode_descriptor(
                "flightring_refused_names",
                "Updates refused because a name table was full (raise max_histograms).",
                None,
                MetricType::Counter,
            )?;
            let (h, c, g) = inner.names_refused();
            for (table, n) in [("histograms", h), ("counters", c), ("gauges", g)] {
                ConstCounter::new(n).encode(m.encode_family(&[("table", table)])?)?;
            }
        }
        let tiers = inner.tiers();
        for (name, help, kind) in [
            (
                "flightring_tier_retained_events",
                "Events each tier of the ring holds (reserved: Warning and above).",
                MetricType::Gauge,
            ),
            (
                "flightring_tier_overwritten_events",
                "Events each tier overwrote.",
                MetricType::Counter,
            ),
            (
                "flightring_tier_span_seconds",
                "How far back each tier reaches: its newest minus its oldest event.",
                MetricType::Gauge,
            ),
        ] {
            let mut m = descriptor(&mut e, name, help, kind)?;
            for t in &tiers {
                let labels = [("tier", t.tier.as_str())];
                match name {
                    "flightring_tier_retained_events" => {
                        ConstGauge::new(t.retained as i64).encode(m.encode_family(&labels)?)?
                    }
                    "flightring_tier_overwritten_events" => {
                        ConstCounter::new(t.overwritten).encode(m.encode_family(&labels)?)?
                    }
                    _ => ConstGauge::new(t.span_secs).encode(m.encode_family(&labels)?)?,
                }
            }
        }
        gauge(
            &mut e,
            "flightring_uptime_seconds",
            "Seconds since the recorder was built.",
            inner.core.started.elapsed().as_secs_f64(),
        )?;
        histograms(
            &mut e,
            "flightring_duration_seconds",
            "Durations recorded with observe(), by histogram name.",
            "name",
            &inner.core.hist_names,
            &inner.core.histograms,
            Some(true),
            &DURATION_BOUNDS_NS,
            1e9,
        )?;
        histograms(
            &mut e,
            "flightring_value",
            "Values recorded with observe_value(), by histogram name.",
            "name",
            &inner.core.hist_names,
            &inner.core.histograms,
            Some(false),
            &VALUE_BOUNDS,
            1.0,
        )?;
        histograms(
            &mut e,
            "flightring_message_size_bytes",
            "Message sizes recorded with message(), by message type.",
            "type",
            &inner.core.msg_types,
            &inner.core.msg_sizes,
            None,
            &SIZE_BOUNDS,
            1.0,
        )?;
        let named: Vec<(&str, u64)> = inner.core.counters_named.entries().collect();
        if !named.is_empty() {
            let mut m = e.encode_descriptor(
                "flightring_named",
                "Named counters (Recorder::add and the metrics facade).",
                None,
                MetricType::Counter,
            )?;
            for (name, v) in named {
                ConstCounter::new(v).encode(m.encode_family(&name_labels("name", name))?)?;
            }
        }
        let gauges: Vec<(&str, u64)> = inner.core.gauges.entries().collect();
        if !gauges.is_empty() {
            let mut m = e.encode_descriptor(
                "flightring_named_value",
                "Named gauges (Recorder::set_gauge and the metrics facade).",
                None,
                MetricType::Gauge,
            )?;
            for (name, bits) in gauges {
                ConstGauge::new(f64::from_bits(bits))
                    .encode(m.encode_family(&name_labels("name", name))?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, Event};
    use std::time::Duration;

    fn sample_recorder() -> Recorder {
        let rec = Recorder::builder().capacity(1024).build().unwrap();
        for _ in 0..3 {
            rec.record(&Event::new("peer_connected", Severity::Info).peer("p1"));
        }
        rec.record(&Event::new("rpc", Severity::Error).message("timeout"));
        rec.observe("rpc.getblock", Duration::from_micros(850));
        rec.observe("rpc.getblock", Duration::from_millis(3));
        rec.observe_value("gas", 21_000);
        rec.message("p1", "block", Direction::Inbound, 1500);
        rec.add("blocks", 7);
        rec.set_gauge("mempool", 12.5);
        rec
    }

    #[test]
    fn text_format_has_every_family_with_total_suffixed_counters() {
        let rec = sample_recorder();
        let text = render(&rec, Format::Text);
        for want in [
            "# TYPE flightring_events_total counter",
            r#"flightring_events_total{kind="peer_connected",severity="info"} 3"#,
            r#"flightring_events_total{kind="rpc",severity="error"} 1"#,
            "# TYPE flightring_retained_events gauge",
            "flightring_capacity_events 1024",
            r#"flightring_rejected_events_total{reason="closed"} 0"#,
            "flightring_health_status ",
            "# TYPE flightring_duration_seconds histogram",
            r#"flightring_duration_seconds_bucket{le="0.001",name="rpc.getblock"} 1"#,
            r#"flightring_duration_seconds_bucket{le="+Inf",name="rpc.getblock"} 2"#,
            r#"flightring_duration_seconds_count{name="rpc.getblock"} 2"#,
            r#"flightring_value_bucket{le="50000.0",name="gas"} 1"#,
            r#"flightring_message_size_bytes_bucket{le="2048.0",type="block"} 1"#,
            r#"flightring_named_total{name="blocks"} 7"#,
            r#"flightring_named_value{name="mempool"} 12.5"#,
            // The message event goes to the main tier too: 4 events there.
            r#"flightring_tier_retained_events{tier="main"} 4"#,
            r#"flightring_tier_retained_events{tier="reserved"} 1"#,
            r#"flightring_tier_overwritten_events_total{tier="reserved"} 0"#,
            r#"flightring_tier_span_seconds{tier="reserved"} 0"#,
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("# EOF"));
        let om = render(&rec, Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE flightring_events counter"));
        for unit in [
            "# UNIT flightring_duration_seconds seconds",
            "# UNIT flightring_memory_bytes bytes",
            "# UNIT flightring_uptime_seconds seconds",
            "# UNIT flightring_message_size_bytes bytes",
        ] {
            assert!(om.contains(unit), "missing {unit:?} in\n{om}");
        }
        assert!(om.contains("flightring_duration_seconds_count{name=\"rpc.getblock\"} 2"));
        assert!(!text.contains("# UNIT"));
    }

    #[test]
    fn bucket_bounds_rise_at_most_28_percent_a_step() {
        for (name, b, first, last) in [
            ("durations", &DURATION_BOUNDS_NS[..], 1_000, 60_000_000_000),
            ("values", &VALUE_BOUNDS[..], 1, 5_000_000_000),
            ("sizes", &SIZE_BOUNDS[..], 64, 16 << 20),
        ] {
            assert_eq!((b[0], b[b.len() - 1]), (first, last), "{name}");
            for w in b.windows(2) {
                assert!(w[1] > w[0], "{name}: {w:?}");
                // Past the integer-only start, each bound is at most 1.28× the last
                // (the durations' top step, 40 s to 60 s, aside).
                if w[0] >= 100 && w[1] != last {
                    assert!(w[1] as f64 / w[0] as f64 <= 1.28, "{name}: {w:?}");
                }
            }
        }
    }

    #[test]
    fn metrics_facade_labels_are_real_labels() {
        let rec = Recorder::builder().capacity(1024).build().unwrap();
        rec.add("rpc_calls{endpoint=getBlock,status=ok}", 3);
        rec.add("odd{name=x,9lives=y}", 1);
        rec.add("not{labels", 2);
        rec.set_gauge("queue{pool=main}", 4.0);
        let text = render(&rec, Format::Text);
        for want in [
            r#"flightring_named_total{name="rpc_calls",endpoint="getBlock",status="ok"} 3"#,
            r#"flightring_named_total{name="odd",label_name="x",_9lives="y"} 1"#,
            r#"flightring_named_total{name="not{labels"} 2"#,
            r#"flightring_named_value{name="queue",pool="main"} 4"#,
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn duration_sum_is_in_seconds() {
        let rec = sample_recorder();
        let text = render(&rec, Format::Text);
        let line = text
            .lines()
            .find(|l| l.starts_with("flightring_duration_seconds_sum"))
            .unwrap();
        let v: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((v - 0.00385).abs() < 0.00385 / 64.0, "{line}");
    }

    #[test]
    fn label_values_are_escaped() {
        let rec = Recorder::builder().capacity(64).build().unwrap();
        rec.record(&Event::new("odd\"kind\\", Severity::Warning));
        let text = render(&rec, Format::Text);
        assert!(
            text.contains(r#"flightring_events_total{kind="odd\"kind\\",severity="warning"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(
            Format::from_accept("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
            Format::OpenMetrics
        );
        assert_eq!(Format::from_accept("text/plain"), Format::Text);
        assert_eq!(Format::from_accept("*/*"), Format::Text);
    }
}
