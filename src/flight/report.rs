//! The network status report: [`NetworkReport`], computed from counters and histogram
//! summaries (see the parent module's docs for what "the period" means).

#[allow(unused_imports)]
use super::*;

/// The network status report from [`Recorder::report`]. Every figure comes from named
/// counters, histograms and event counters — cumulative since the recorder was built
/// (see [`NetworkReport::since`] for per-period figures). A rate with nothing to divide
/// by is `null` (`None`), not 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkReport {
    /// When the report was computed.
    pub generated_at: Timestamp,
    /// The period the caller asked about, seconds.
    pub period_secs: f64,
    /// The time the figures actually cover, seconds: the recorder's uptime (or, after
    /// [`NetworkReport::since`], the time between the two reports).
    pub covered_secs: f64,
    /// Blocks.
    pub blocks: BlockReport,
    /// RPC calls.
    pub rpc: RpcReport,
    /// Errors.
    pub errors: ErrorReport,
    /// Phase caches.
    pub cache: CacheReport,
    /// Pools (or other discovered items).
    pub pools: PoolReport,
}

/// Block figures of a [`NetworkReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockReport {
    /// Blocks processed (counter `blocks_processed`, from `block_end`).
    pub processed: u64,
    /// `processed / covered_secs`.
    pub per_sec: f64,
    /// Blocks skipped (counter `blocks_skipped`).
    pub skipped: u64,
    /// Blocks never seen (counter `blocks_missed`, from `block_gap`).
    pub missed: u64,
    /// Block latencies observed (histogram `block.duration`; not counted while the
    /// recorder is disabled).
    pub latency_samples: u64,
    /// Mean block latency, ms (histogram `block.duration`, within 1 %).
    pub latency_avg_ms: Option<f64>,
    /// 99th percentile block latency, ms; always cumulative since start.
    pub latency_p99_ms: Option<f64>,
    /// Routes generated (counter `routes_generated`).
    pub routes_generated: u64,
    /// Routes filtered out (counter `routes_filtered`).
    pub routes_filtered: u64,
    /// Opportunities found (counter `opportunities`).
    pub opportunities: u64,
}

/// One endpoint's RPC figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointReport {
    /// Successful calls (counter `rpc.<endpoint>.success`).
    pub successes: u64,
    /// Failed calls (counter `rpc.<endpoint>.failure`).
    pub failures: u64,
    /// `successes / (successes + failures)`.
    pub success_rate: Option<f64>,
}

/// One RPC method's calls (counter `rpc.<method>.calls`, from `rpc_call` only) and
/// latency (histogram `rpc.<method>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodReport {
    /// Calls timed.
    pub calls: u64,
    /// Mean latency, ms.
    pub avg_ms: Option<f64>,
    /// 99th percentile latency, ms; always cumulative since start.
    pub p99_ms: Option<f64>,
}

/// RPC figures of a [`NetworkReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RpcReport {
    /// All calls: `successes + failures`.
    pub calls: u64,
    /// Successful calls, over every endpoint.
    pub successes: u64,
    /// Failed calls, over every endpoint.
    pub failures: u64,
    /// `successes / calls`.
    pub success_rate: Option<f64>,
    /// By endpoint (counters `rpc.<endpoint>.success|failure`).
    pub by_endpoint: BTreeMap<String, EndpointReport>,
    /// Latency by method (histograms `rpc.<method>`).
    pub by_method: BTreeMap<String, MethodReport>,
}

/// Error figures of a [`NetworkReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Events recorded, of every kind (the event counters).
    pub events: u64,
    /// Error and Critical events among them (any kind: `error_event`, `error`, …).
    pub errors: u64,
    /// `errors / events`.
    pub error_rate: Option<f64>,
    /// Errors by component (counters `errors.<component>`: `error_event` counts its
    /// component, `error` its context; kept even when the events are filtered out).
    pub by_component: BTreeMap<String, u64>,
}

/// Cache figures of a [`NetworkReport`], from phase results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheReport {
    /// Phases ended with `cache_hit` (counter `cache_hits`).
    pub hits: u64,
    /// Phases ended with `cache_miss` (counter `cache_misses`).
    pub misses: u64,
    /// `hits / (hits + misses)`.
    pub hit_rate: Option<f64>,
}

/// Pool (or item) figures of a [`NetworkReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolReport {
    /// Discovered (counter `pools_discovered`).
    pub discovered: u64,
    /// Validated successfully (counter `pools_validated`).
    pub validated: u64,
    /// Failed validation (counter `pools_validation_failed`).
    pub validation_failed: u64,
    /// `validated / (validated + validation_failed)`.
    pub validation_success_rate: Option<f64>,
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn ms(ns: f64) -> f64 {
    ns / 1e6
}

/// `(count, mean ms, p99 ms)` of a histogram summary.
fn latency(h: Option<&HistogramSummary>) -> (u64, Option<f64>, Option<f64>) {
    match h {
        Some(h) if h.count > 0 => (h.count, Some(ms(h.mean)), Some(ms(h.p99 as f64))),
        _ => (0, None, None),
    }
}

/// The mean over the samples taken between two cumulative means.
fn mean_between(
    n_now: u64,
    avg_now: Option<f64>,
    n_then: u64,
    avg_then: Option<f64>,
) -> Option<f64> {
    let n = n_now.checked_sub(n_then).filter(|&n| n > 0)?;
    let sum = avg_now.unwrap_or(0.0) * n_now as f64 - avg_then.unwrap_or(0.0) * n_then as f64;
    Some((sum / n as f64).max(0.0))
}

impl NetworkReport {
    /// The report from `stats` (see [`Recorder::report`]).
    pub fn from_stats(stats: &Stats, period: Duration) -> NetworkReport {
        let c = |name: &str| stats.counters.get(name).copied().unwrap_or(0);
        let covered = stats.uptime_secs;

        let (latency_samples, latency_avg_ms, latency_p99_ms) =
            latency(stats.histograms.get(HIST_BLOCK));
        let processed = c(C_BLOCKS_PROCESSED);
        let blocks = BlockReport {
            processed,
            per_sec: if covered > 0.0 {
                processed as f64 / covered
            } else {
                0.0
            },
            skipped: c(C_BLOCKS_SKIPPED),
            missed: c(C_BLOCKS_MISSED),
            latency_samples,
            latency_avg_ms,
            latency_p99_ms,
            routes_generated: c(C_ROUTES_GENERATED),
            routes_filtered: c(C_ROUTES_FILTERED),
            opportunities: c(C_OPPORTUNITIES),
        };

        let mut rpc = RpcReport::default();
        let mut method_calls = BTreeMap::new();
        for (name, &n) in &stats.counters {
            let Some(rest) = name.strip_prefix("rpc.") else {
                continue;
            };
            if let Some(m) = rest.strip_suffix(".calls") {
                method_calls.insert(m, n);
            } else if let Some(ep) = rest.strip_suffix(".success") {
                rpc.by_endpoint.entry(ep.to_owned()).or_default().successes += n;
            } else if let Some(ep) = rest.strip_suffix(".failure") {
                rpc.by_endpoint.entry(ep.to_owned()).or_default().failures += n;
            }
        }
        for e in rpc.by_endpoint.values_mut() {
            e.success_rate = rate(e.successes, e.successes + e.failures);
            rpc.successes += e.successes;
            rpc.failures += e.failures;
        }
        rpc.calls = rpc.successes + rpc.failures;
        rpc.success_rate = rate(rpc.successes, rpc.calls);
        // Methods `rpc_call` saw (counter `rpc.<method>.calls`), not every histogram
        // whose name starts with `rpc.`: a plain `observe("rpc.x")` is no RPC call.
        for (method, calls) in method_calls {
            let (_, avg_ms, p99_ms) = latency(stats.histograms.get(&format!("rpc.{method}")));
            rpc.by_method.insert(
                method.to_owned(),
                MethodReport {
                    calls,
                    avg_ms,
                    p99_ms,
                },
            );
        }

        let sev = |s: Severity| stats.by_severity.get(&s).copied().unwrap_or(0);
        let errs = sev(Severity::Error) + sev(Severity::Critical);
        let errors = ErrorReport {
            events: stats.total_recorded,
            errors: errs,
            error_rate: rate(errs, stats.total_recorded),
            by_component: stats
                .counters
                .iter()
                .filter_map(|(k, &v)| Some((k.strip_prefix("errors.")?.to_owned(), v)))
                .collect(),
        };

        let (hits, misses) = (c(C_CACHE_HITS), c(C_CACHE_MISSES));
        let (validated, failed) = (c(C_POOLS_VALIDATED), c(C_POOLS_FAILED));
        NetworkReport {
            generated_at: stats.taken_at,
            period_secs: period.as_secs_f64(),
            covered_secs: covered,
            blocks,
            rpc,
            errors,
            cache: CacheReport {
                hits,
                misses,
                hit_rate: rate(hits, hits + misses),
            },
            pools: PoolReport {
                discovered: c(C_POOLS_DISCOVERED),
                validated,
                validation_failed: failed,
                validation_success_rate: rate(validated, validated + failed),
            },
        }
    }

    /// The figures between `earlier` and this report (both from the same recorder):
    /// counts are subtracted, rates and averages recomputed over the interval, and
    /// `covered_secs` is the time between them. The p99 latencies cannot be
    /// subtracted and stay this report's (cumulative) ones.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let rec = flightring::Recorder::builder().capacity(1024).build()?;
    /// let period = Duration::from_secs(60);
    /// rec.block_end(1, Duration::from_millis(100), 0, 0, 0);
    /// let first = rec.report(period);
    /// rec.block_end(2, Duration::from_millis(300), 0, 0, 0);
    /// let last_period = rec.report(period).since(&first);
    /// assert_eq!(last_period.blocks.processed, 1);
    /// let avg = last_period.blocks.latency_avg_ms.unwrap();
    /// assert!((avg - 300.0).abs() < 300.0 * 0.02);
    /// # Ok::<(), flightring::ConfigError>(())
    /// ```
    pub fn since(&self, earlier: &NetworkReport) -> NetworkReport {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let covered = (self.covered_secs - earlier.covered_secs).max(0.0);
        let (b, eb) = (&self.blocks, &earlier.blocks);
        let processed = d(b.processed, eb.processed);
        let blocks = BlockReport {
            processed,
            per_sec: if covered > 0.0 {
                processed as f64 / covered
            } else {
                0.0
            },
            skipped: d(b.skipped, eb.skipped),
            missed: d(b.missed, eb.missed),
            latency_samples: d(b.latency_samples, eb.latency_samples),
            latency_avg_ms: mean_between(
                b.latency_samples,
                b.latency_avg_ms,
                eb.latency_samples,
                eb.latency_avg_ms,
            ),
            latency_p99_ms: b.latency_p99_ms,
            routes_generated: d(b.routes_generated, eb.routes_generated),
            routes_filtered: d(b.routes_filtered, eb.routes_filtered),
            opportunities: d(b.opportunities, eb.opportunities),
        };

        let mut rpc = RpcReport::default();
        for (ep, e) in &self.rpc.by_endpoint {
            let before = earlier.rpc.by_endpoint.get(ep).cloned().unwrap_or_default();
            let (s, f) = (
                d(e.successes, before.successes),
                d(e.failures, before.failures),
            );
            rpc.successes += s;
            rpc.failures += f;
            rpc.by_endpoint.insert(
                ep.clone(),
                EndpointReport {
                    successes: s,
                    failures: f,
                    success_rate: rate(s, s + f),
                },
            );
        }
        rpc.calls = rpc.successes + rpc.failures;
        rpc.success_rate = rate(rpc.successes, rpc.calls);
        for (m, now) in &self.rpc.by_method {
            let before = earlier.rpc.by_method.get(m).cloned().unwrap_or_default();
            rpc.by_method.insert(
                m.clone(),
                MethodReport {
                    calls: d(now.calls, before.calls),
                    avg_ms: mean_between(now.calls, now.avg_ms, before.calls, before.avg_ms),
                    p99_ms: now.p99_ms,
                },
            );
        }

        let (events, errs) = (
            d(self.errors.events, earlier.errors.events),
            d(self.errors.errors, earlier.errors.errors),
        );
        let errors = ErrorReport {
            events,
            errors: errs,
            error_rate: rate(errs, events),
            by_component: self
                .errors
                .by_component
                .iter()
                .map(|(k, &v)| {
                    let before = earlier.errors.by_component.get(k).copied().unwrap_or(0);
                    (k.clone(), d(v, before))
                })
                .collect(),
        };

        let (hits, misses) = (
            d(self.cache.hits, earlier.cache.hits),
            d(self.cache.misses, earlier.cache.misses),
        );
        let (validated, failed) = (
            d(self.pools.validated, earlier.pools.validated),
            d(
                self.pools.validation_failed,
                earlier.pools.validation_failed,
            ),
        );
        NetworkReport {
            generated_at: self.generated_at,
            period_secs: self.period_secs,
            covered_secs: covered,
            blocks,
            rpc,
            errors,
            cache: CacheReport {
                hits,
                misses,
                hit_rate: rate(hits, hits + misses),
            },
            pools: PoolReport {
                discovered: d(self.pools.discovered, earlier.pools.discovered),
                validated,
                validation_failed: failed,
                validation_success_rate: rate(validated, validated + failed),
            },
        }
    }
}
