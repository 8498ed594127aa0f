//! HdrHistogram V2 interchange: our encoding decodes with our decoder and with another
//! implementation (Python `hdrh`, PyPI `hdrhistogram`, installed by `.ci/test`), and
//! the percentiles match our own summary.
#![cfg(feature = "hdr")]

use std::process::Command;
use std::time::Duration;

use flightring::Recorder;

#[test]
fn v2_round_trips_and_matches_the_summary() {
    let rec = Recorder::new();
    for i in 1..=10_000u64 {
        // A long-tailed latency: mostly ~1 ms, a few up to ~1 s.
        let us = 500 + (i * 7919) % 1000 + if i % 100 == 0 { i * 50 } else { 0 };
        rec.observe("rpc.getReserves", Duration::from_micros(us));
    }
    let sum = rec.histogram_summary("rpc.getReserves").unwrap();
    let text = rec.histogram_hdr_v2("rpc.getReserves").unwrap().unwrap();
    assert!(text.starts_with("HISTFAAA"), "{text}");
    assert!(rec.histogram_hdr_v2("nope").is_none());
    let h = flightring::hdr::decode_v2(&text).unwrap();
    assert_eq!(h.len(), sum.count);
    let close = |a: u64, b: u64| (a as f64 - b as f64).abs() <= (b as f64) * 0.02 + 1.0;
    for (q, ours) in [(0.5, sum.p50), (0.99, sum.p99), (0.999, sum.p999)] {
        assert!(
            close(h.value_at_quantile(q), ours),
            "q{q}: {} vs {ours}",
            h.value_at_quantile(q)
        );
    }
    assert!(close(h.max(), sum.max));
    assert!(flightring::hdr::decode_v2("not base64!").is_err());
    assert!(flightring::hdr::decode_v2("aGVsbG8=").is_err());

    let have = Command::new("python3")
        .args(["-c", "import hdrh"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("FLIGHTRING_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "python3 module hdrh is required"
        );
        println!("SKIPPED: python3 module hdrh is not installed (bash .ci/test installs it)");
        return;
    }
    let o = Command::new("python3")
        .args([
            "-c",
            &format!(
                "from hdrh.histogram import HdrHistogram\n\
                 h = HdrHistogram.decode('{text}')\n\
                 print(h.get_total_count(), h.get_value_at_percentile(50), h.get_value_at_percentile(99), h.get_value_at_percentile(99.9), h.get_max_value())"
            ),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    println!(
        "python hdrh decoded: {out}ours: count {} p50 {} p99 {} p99.9 {} max {}",
        sum.count, sum.p50, sum.p99, sum.p999, sum.max
    );
    let v: Vec<u64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!(v[0], sum.count);
    assert!(close(v[1], sum.p50), "p50 {} vs {}", v[1], sum.p50);
    assert!(close(v[2], sum.p99), "p99 {} vs {}", v[2], sum.p99);
    assert!(close(v[3], sum.p999), "p99.9 {} vs {}", v[3], sum.p999);
    assert!(close(v[4], sum.max), "max {} vs {}", v[4], sum.max);
}

/// The JSON export (and so `/stats`, panic dumps and recordings) carries each
/// histogram in the V2 form, and it loads back with the snapshot.
#[test]
fn the_json_export_carries_each_histogram_as_v2() {
    let rec = Recorder::new();
    for i in 1..=2_000u64 {
        rec.observe("rpc.eth_call", Duration::from_micros(200 + i % 900));
        rec.observe_value("gas", 21_000 + i);
    }
    let json = rec.export_json().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    for name in ["rpc.eth_call", "gas"] {
        let text = doc["stats"]["histograms"][name]["hdr_v2"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no hdr_v2 in {}", doc["stats"]["histograms"]));
        assert_eq!(
            Some(text.to_owned()),
            rec.histogram_hdr_v2(name).map(Result::unwrap)
        );
        assert_eq!(flightring::hdr::decode_v2(text).unwrap().len(), 2_000);
    }
    let back = flightring::Snapshot::from_json(&json).unwrap();
    let h = &back.stats().histograms["gas"];
    assert!(h
        .hdr_v2
        .as_deref()
        .is_some_and(|t| t.starts_with("HISTFAAA")));
}
