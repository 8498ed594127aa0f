//! Human durations: `"24h"`, `"5m"`, `"300s"`, `"1h30m"`, `"1h 30m"`, `"250ms"`,
//! `"5µs"`, `"2d"`, `"1.5h"`. Parsing is [`humantime`]'s, plus what this crate has
//! always read besides: bare numbers as seconds and decimal parts.

use std::time::Duration;

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (examples: 24h, 5m, 300s, 1h30m, 250ms)")]
pub struct ParseDurationError {
    /// The text that failed to parse (its first 64 characters).
    pub input: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// Parses a human duration: one or more `<number><unit>` parts, which may be
/// separated by white space (`"1h30m"`, `"1h 30m"`); a bare number is seconds.
///
/// The units are [`humantime`]'s: `ns`, `us` or `µs`, `ms`, `s`, `m` or `min`, `h`,
/// `d`, `w`, `M` (a month, 30.44 days), `y` (a year, 365.25 days), and longer
/// spellings such as `sec`, `hours` or `days`. A number may have a decimal part
/// (`"1.5h"`); it may not be parted from its unit (`"5 s"` is refused).
///
/// ```
/// use std::time::Duration;
/// use flightring::parse_duration;
/// assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5_400));
/// assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5_400));
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(parse_duration("5µs").unwrap(), Duration::from_micros(5));
/// assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5_400));
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
    // humantime wants a unit on every number (it reads only "0" bare).
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    // The parts are found here and each is handed to humantime, rather than the
    // whole string, for two things this parser has always done differently:
    // - White space may stand between parts but not inside one: humantime skips it
    //   anywhere, reading "5 s" as 5 s and "1 0s" as 10 s; here they are refused.
    // - Decimals have always been read as f64. humantime 2.4 reads only those it
    //   can represent exactly (not ".5s", "2.h", "0.1ns" or "1.1234567891s"), and
    //   earlier 2.x releases none, so a decimal part is worked out here: humantime
    //   gives the size of its unit, and the number scales it.
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(err("expected a number"));
        }
        // The characters humantime reads as a unit.
        let part_len = rest[number_len..]
            .find(|c: char| !(c.is_ascii_alphabetic() || c == 'µ'))
            .map_or(rest.len(), |n| number_len + n);
        if part_len == number_len {
            return Err(err("missing unit"));
        }
        let (number, unit) = (&rest[..number_len], &rest[number_len..part_len]);
        let part = if number.bytes().all(|b| b.is_ascii_digit()) {
            humantime::parse_duration(&rest[..part_len]).map_err(|e| err(reason(&e)))?
        } else {
            let n: f64 = number.parse().map_err(|_| err("bad number"))?;
            let size =
                humantime::parse_duration(&format!("1{unit}")).map_err(|e| err(reason(&e)))?;
            Duration::try_from_secs_f64(n * size.as_secs_f64()).map_err(|_| err("out of range"))?
        };
        total = total.checked_add(part).ok_or_else(|| err("out of range"))?;
        rest = rest[part_len..].trim_start();
    }
    Ok(total)
}

/// [`ParseDurationError::reason`] for what humantime said of one part.
fn reason(e: &humantime::DurationError) -> &'static str {
    use humantime::DurationError as E;
    match e {
        E::UnknownUnit { unit, .. } if unit.is_empty() => "missing unit",
        E::UnknownUnit { .. } => "unknown unit",
        E::NumberOverflow => "out of range",
        E::NumberExpected(_) => "expected a number",
        E::InvalidCharacter(_) => "invalid character",
        E::Empty => "empty",
    }
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

    #[test]
    fn micro_signs_and_spaced_parts_parse() {
        for (text, d) in [
            ("5µs", Duration::from_micros(5)),
            ("5us", Duration::from_micros(5)),
            ("1h 30m", Duration::from_secs(5_400)),
            ("1h30m", Duration::from_secs(5_400)),
            ("  1h \t 30m 15s ", Duration::from_secs(5_415)),
            ("2days", Duration::from_secs(172_800)),
            ("1w", Duration::from_secs(604_800)),
            ("1h 0.5m", Duration::from_secs(3_630)),
        ] {
            assert_eq!(parse_duration(text), Ok(d), "{text:?}");
        }
    }

    #[test]
    fn decimals_stay_read_as_before() {
        // What humantime alone would refuse or read differently.
        for (text, d) in [
            (".5s", Duration::from_millis(500)),
            ("2.h", Duration::from_secs(7_200)),
            ("1.1234567891s", Duration::from_nanos(1_123_456_789)),
            ("0.25d", Duration::from_secs(21_600)),
        ] {
            assert_eq!(parse_duration(text), Ok(d), "{text:?}");
        }
    }

    #[test]
    fn errors_name_the_input_and_the_fault() {
        for (bad, reason) in [
            ("", "empty"),
            ("   ", "empty"),
            ("forever", "expected a number"),
            ("-5s", "expected a number"),
            ("10x", "unknown unit"),
            ("3 parsecs", "missing unit"),
            ("5 s", "missing unit"),
            ("1 0s", "missing unit"),
            ("1.5 h", "missing unit"),
            ("1h30", "missing unit"),
            ("1.2.3s", "bad number"),
            ("1.5parsec", "unknown unit"),
            ("99999999999999999999s", "out of range"),
            ("1e400h", "unknown unit"),
            ("5s!", "expected a number"),
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert_eq!((e.input.as_str(), e.reason), (bad, reason), "{bad:?}");
            let text = e.to_string();
            assert!(
                text.contains(&format!("{bad:?}")) && text.contains(reason),
                "{text}"
            );
        }
        let long = "9x".repeat(100);
        assert_eq!(parse_duration(&long).unwrap_err().input.chars().count(), 64);
    }
}
