//! Fixed-size concurrent histograms: lock-free `record`, explicit bounds, out-of-range
//! values counted, converted to [`hdrhistogram::Histogram`] only when someone reads.
//!
//! # Buckets
//!
//! Log-linear, like HDR histograms: values below `2^(SUB_BITS+1)` = 128 have a bucket
//! each; above, every power of two is split into `2^SUB_BITS` = 64 equal buckets, so a
//! bucket is at most 1/64 (1.6 %) of its values wide. With the default bound of one hour
//! in nanoseconds (`2^42`) that is 2 432 buckets, 19 KiB per histogram shard.
//!
//! # Sharding
//!
//! Each histogram has up to four shards; a writer uses the shard of its ring shard, so
//! writers on different threads do not share bucket cache lines. A record is one
//! `fetch_add` on a bucket plus two relaxed loads (min and max), which are only followed
//! by a CAS when the value is a new extreme. Reads sum the shards.
//!
//! # Consistency
//!
//! A summary's `count` is the sum of the buckets it read, so percentiles and count
//! always agree; records that land while a read is in progress may or may not be in it.

use crate::sync::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Buckets per power of two, as a power of two.
const SUB_BITS: u32 = 6;
const SUB_MASK: u64 = (1 << SUB_BITS) - 1;

/// The bucket of value `v`.
#[inline]
fn bucket_of(v: u64) -> usize {
    let e = 63 - (v | 1).leading_zeros();
    if e <= SUB_BITS {
        v as usize
    } else {
        let shift = e - SUB_BITS;
        (((shift + 1) as usize) << SUB_BITS) + ((v >> shift) & SUB_MASK) as usize
    }
}

/// The lowest value in bucket `i` and the bucket's width.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < (2 << SUB_BITS) {
        (i as u64, 1)
    } else {
        let shift = (i >> SUB_BITS) as u32 - 1;
        let sub = (i as u64) & SUB_MASK;
        (((1 << SUB_BITS) + sub) << shift, 1 << shift)
    }
}

#[derive(Debug)]
struct HistShard {
    /// Count per bucket.
    buckets: Box<[AtomicU64]>,
    /// Smallest recorded value; `u64::MAX` when empty.
    min: AtomicU64,
    /// Largest recorded value (clamped to the bound); `0` when empty.
    max: AtomicU64,
    /// Values above the bound (recorded in the top bucket).
    out_of_range: AtomicU64,
}

/// A concurrent, fixed-size histogram of `u64` values in `0..=highest`.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    shards: Box<[HistShard]>,
    highest: u64,
    /// Whether values are nanoseconds (recorded through `observe`).
    pub(crate) is_duration: bool,
}

impl AtomicHistogram {
    pub(crate) fn new(highest: u64, shards: usize, is_duration: bool) -> Self {
        let highest = highest.max(2);
        let n = bucket_of(highest) + 1;
        AtomicHistogram {
            shards: (0..shards.clamp(1, 4))
                .map(|_| HistShard {
                    buckets: (0..n).map(|_| AtomicU64::new(0)).collect(),
                    min: AtomicU64::new(u64::MAX),
                    max: AtomicU64::new(0),
                    out_of_range: AtomicU64::new(0),
                })
                .collect(),
            highest,
            is_duration,
        }
    }

    /// Records `v` from a writer whose ring shard is `shard`.
    #[inline]
    pub(crate) fn record(&self, v: u64, shard: usize) {
        let s = &self.shards[shard % self.shards.len()];
        let v = if v > self.highest {
            s.out_of_range.fetch_add(1, Ordering::Relaxed);
            self.highest
        } else {
            v
        };
        s.buckets[bucket_of(v)].fetch_add(1, Ordering::Relaxed);
        if v < s.min.load(Ordering::Relaxed) {
            s.min.fetch_min(v, Ordering::Relaxed);
        }
        if v > s.max.load(Ordering::Relaxed) {
            s.max.fetch_max(v, Ordering::Relaxed);
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .shards
                .iter()
                .map(|s| std::mem::size_of::<HistShard>() + s.buckets.len() * 8)
                .sum::<usize>()
    }

    /// Sums the shards into an [`hdrhistogram::Histogram`] (2 significant digits), with
    /// the exact min, max and out-of-range count beside it.
    pub(crate) fn to_hdr(&self) -> (hdrhistogram::Histogram<u64>, u64, u64, u64) {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, self.highest.max(2), 2)
            .expect("bounds are valid: 1 < highest");
        let (mut min, mut max, mut oor) = (u64::MAX, 0, 0);
        for (mid, c) in self.merged_buckets() {
            let _ = h.record_n(mid, c);
        }
        for s in self.shards.iter() {
            min = min.min(s.min.load(Ordering::Relaxed));
            max = max.max(s.max.load(Ordering::Relaxed));
            oor += s.out_of_range.load(Ordering::Relaxed);
        }
        (h, min, max, oor)
    }

    /// Counts for cumulative-bucket exporters such as Prometheus: after the call,
    /// `counts[i]` holds the values in `(bounds[i-1], bounds[i]]` and
    /// `counts[bounds.len()]` those above the last bound; `bounds` must be ascending.
    /// Each internal bucket is placed by its midpoint, so a count can be off only for
    /// values within one internal bucket (1/64 of a power of two) of a bound. Returns
    /// the total count and the sum of the values, estimated from the same midpoints
    /// (exact below 128, within 1/128 of each value above).
    #[cfg(any(test, feature = "prometheus"))]
    pub(crate) fn bucket_counts(&self, bounds: &[u64], counts: &mut Vec<u64>) -> (u64, f64) {
        counts.clear();
        counts.resize(bounds.len() + 1, 0);
        let (mut total, mut sum) = (0u64, 0f64);
        for (mid, c) in self.merged_buckets() {
            counts[bounds.partition_point(|&b| b < mid)] += c;
            total += c;
            sum += c as f64 * mid as f64;
        }
        (total, sum)
    }

    /// The non-empty internal buckets summed over the shards, as (midpoint, count): the
    /// midpoint (capped at the highest trackable value) stands for every value counted
    /// in the bucket.
    fn merged_buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        (0..self.shards[0].buckets.len()).filter_map(move |i| {
            let c: u64 = self
                .shards
                .iter()
                .map(|s| s.buckets[i].load(Ordering::Relaxed))
                .sum();
            (c > 0).then(|| {
                let (lo, width) = bucket_range(i);
                ((lo + width / 2).min(self.highest), c)
            })
        })
    }

    /// A summary of what was recorded.
    pub(crate) fn summary(&self) -> HistogramSummary {
        let (h, min, max, out_of_range) = self.to_hdr();
        let count = h.len();
        if count == 0 {
            return HistogramSummary {
                unit: self.unit().into(),
                ..HistogramSummary::default()
            };
        }
        // Percentiles come from bucket midpoints; keep them within the exact extremes.
        let q = |p: f64| h.value_at_quantile(p).clamp(min, max);
        HistogramSummary {
            unit: self.unit().into(),
            count,
            min,
            max,
            mean: h.mean(),
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            p999: q(0.999),
            out_of_range,
            hdr_v2: v2_form(&h),
        }
    }

    fn unit(&self) -> &'static str {
        if self.is_duration {
            "ns"
        } else {
            ""
        }
    }
}

/// What one histogram holds: count, extremes, mean and percentiles.
///
/// Durations (recorded with `observe`) are in nanoseconds (`unit: "ns"`); values from
/// `observe_value` and message sizes have no unit (`""`; message sizes are bytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistogramSummary {
    /// `"ns"` for durations, `""` otherwise.
    pub unit: String,
    /// Values recorded.
    pub count: u64,
    /// Smallest value (exact).
    pub min: u64,
    /// Largest value (exact, but clamped to the histogram's bound).
    pub max: u64,
    /// Mean, from bucket midpoints (within 1 %).
    pub mean: f64,
    /// Median (within 1.6 %).
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Values above the histogram's bound, recorded as the bound.
    pub out_of_range: u64,
    /// The histogram itself in HdrHistogram's V2 interchange form (base64 of the
    /// compressed serialisation, `HISTFAAA…`), which HdrHistogram's Java, Python, Go
    /// and JS implementations decode; with the `hdr` feature, so every export, `/stats`
    /// and panic dump carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdr_v2: Option<String>,
}

/// `h` as base64 of its V2-deflate serialisation (`HISTFAAA…`), or why it could not be.
#[cfg(feature = "hdr")]
pub(crate) fn encode_v2(h: &hdrhistogram::Histogram<u64>) -> Result<String, String> {
    use base64::Engine as _;
    use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| format!("{e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(feature = "hdr")]
fn v2_form(h: &hdrhistogram::Histogram<u64>) -> Option<String> {
    encode_v2(h).ok()
}

#[cfg(not(feature = "hdr"))]
fn v2_form(_: &hdrhistogram::Histogram<u64>) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut prev = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 42) - 1, 1 << 42, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= prev || v >= 1 << 20);
            prev = b;
            let (lo, w) = bucket_range(b);
            assert!(lo <= v && v - lo < w, "v={v} b={b} lo={lo} w={w}");
            assert!(
                w == 1 || w * 64 <= lo,
                "bucket width at most 1/64 of its values"
            );
        }
    }

    #[test]
    fn bucket_counts_place_values_between_bounds() {
        let h = AtomicHistogram::new(1 << 20, 2, false);
        for (v, shard) in [
            (0, 0),
            (1, 1),
            (10, 0),
            (11, 1),
            (100, 0),
            (5000, 1),
            (1 << 21, 0),
        ] {
            h.record(v, shard);
        }
        let mut counts = Vec::new();
        let (total, sum) = h.bucket_counts(&[1, 10, 100, 1000], &mut counts);
        assert_eq!(counts, [2, 1, 2, 0, 2]);
        assert_eq!(total, 7);
        // Exact below 128; 5000 and the clamped 2^20 are placed by midpoint.
        let exact = (1 + 10 + 11 + 100 + 5000 + (1 << 20)) as f64;
        assert!((sum - exact).abs() / exact < 1.0 / 64.0, "{sum} vs {exact}");
    }

    #[test]
    fn summary_matches_recorded_values() {
        let h = AtomicHistogram::new(1_000_000, 2, true);
        for v in 1..=1000u64 {
            h.record(v * 100, v as usize);
        }
        h.record(5_000_000, 0);
        let s = h.summary();
        assert_eq!(s.count, 1001);
        assert_eq!(s.min, 100);
        assert_eq!(s.max, 1_000_000);
        assert_eq!(s.out_of_range, 1);
        let near = |a: u64, b: u64| (a as f64 - b as f64).abs() / b as f64 <= 0.02;
        assert!(near(s.p50, 50_000), "{s:?}");
        assert!(near(s.p90, 90_000), "{s:?}");
        assert!(near(s.p99, 99_000), "{s:?}");
    }
}
