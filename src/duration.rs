//! Human durations: `"24h"`, `"5m"`, `"300s"`, `"1h30m"`, `"250ms"`, `"2d"`.

use std::time::Duration;

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (examples: 24h, 5m, 300s, 1h30m, 250ms)")]
pub struct ParseDurationError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// Parses a human duration: one or more `<number><unit>` parts, units `d`, `h`, `m`,
/// `s`, `ms`, `us`, `ns`; a bare number is seconds.
///
/// ```
/// use std::time::Duration;
/// use flightring::parse_duration;
/// assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5_400));
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
/// assert!(parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, ParseDurationError> {
    let err = |reason| ParseDurationError {
        input: s.chars().take(64).collect(),
        reason,
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err("empty"));
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let b = t.as_bytes();
    let mut i = 0;
    let mut total = Duration::ZERO;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(err("expected a number"));
        }
        let n: f64 = t[start..i].parse().map_err(|_| err("bad number"))?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &t[ustart..i] {
            "d" => 86_400.0,
            "h" => 3_600.0,
            "m" | "min" => 60.0,
            "s" | "sec" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            "" => return Err(err("missing unit")),
            _ => return Err(err("unknown unit")),
        };
        let part = Duration::try_from_secs_f64(n * unit).map_err(|_| err("out of range"))?;
        total = total.checked_add(part).ok_or_else(|| err("out of range"))?;
    }
    Ok(total)
}

/// Serde helpers: a duration as a human string (`"10s"`), read from a string or a number
/// of seconds.
pub(crate) mod serde_human {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Secs(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => super::parse_duration(&t).map_err(serde::de::Error::custom),
            Raw::Secs(s) => Duration::try_from_secs_f64(s).map_err(serde::de::Error::custom),
        }
    }
}

/// Formats a duration the way [`parse_duration`] reads it (`"1h30m"`, `"250ms"`).
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() != 0 {
        return if d.subsec_nanos().is_multiple_of(1_000_000) && d.as_secs() < 1_000 {
            format!("{}ms", d.as_millis())
        } else {
            format!("{}ns", d.as_nanos())
        };
    }
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        for (text, d) in [
            ("2d", Duration::from_secs(172_800)),
            ("1h30m", Duration::from_secs(5_400)),
            ("10s", Duration::from_secs(10)),
            ("250ms", Duration::from_millis(250)),
            ("1.5h", Duration::from_secs(5_400)),
            ("7ns", Duration::from_nanos(7)),
        ] {
            assert_eq!(parse_duration(text).unwrap(), d, "{text}");
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
        for bad in ["", "h", "10x", "-5s", "1e400h", "5 s", "3 parsecs"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.to_string().contains("invalid duration"), "{bad}: {e}");
        }
    }
}
