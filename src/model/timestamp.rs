//! [`Timestamp`]: the wall-clock instant readers see, in RFC 3339 (see
//! `rfc3339` for the allocation-free text form).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::rfc3339;

/// A wall-clock instant with nanosecond precision: nanoseconds since the Unix epoch
/// (UTC). Displayed and serialised in RFC 3339 with nine fractional digits, e.g.
/// `2026-11-22T05:54:58.123456789Z`; parsed from any RFC 3339 date-time (offsets are
/// converted to UTC).
///
/// ```
/// use flightring::Timestamp;
/// let t: Timestamp = "2026-11-22T05:54:58.5+01:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-11-22T04:54:58.500000000Z");
/// assert_eq!(t.as_unix_nanos(), 1_795_323_298_500_000_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `nanos` nanoseconds after the Unix epoch.
    pub const fn from_unix_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_unix_nanos(self) -> i64 {
        self.0
    }

    /// The current wall-clock time, read from the system clock.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a [`SystemTime`] (saturating outside years 1678–2262).
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX)),
        }
    }

    /// Converts to a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_nanos(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_nanos(self.0.unsigned_abs())
        }
    }

    /// This timestamp moved back by `d` (saturating).
    pub fn saturating_sub(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_sub(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// This timestamp moved forward by `d` (saturating).
    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// Writes the RFC 3339 form into `buf`, returning the 30 bytes used.
    pub(crate) fn format_into(self, buf: &mut [u8; 30]) -> &str {
        rfc3339::format(self.0, buf)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 30];
        f.write_str(self.format_into(&mut buf))
    }
}

/// Why a string is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimestampError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        rfc3339::parse(s.as_bytes())
            .map(Timestamp)
            .map_err(|reason| ParseTimestampError {
                input: s.chars().take(64).collect(),
                reason,
            })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        s.serialize_str(self.format_into(&mut buf))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        for &n in &[
            0i64,
            1,
            999_999_999,
            1_795_323_298_123_456_789,
            -1,
            -86_400_000_000_001,
        ] {
            let t = Timestamp(n);
            let s = t.to_string();
            assert_eq!(s.len(), 30, "{s}");
            assert_eq!(s.parse::<Timestamp>().unwrap(), t, "{s}");
        }
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            "2024-02-29T23:59:59Z"
                .parse::<Timestamp>()
                .unwrap()
                .to_string(),
            "2024-02-29T23:59:59.000000000Z"
        );
    }

    #[test]
    fn parse_rejects_bad_input_with_reason() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Zjunk",
            "2024-01-01X00:00:00Z",
            "2024-01-01T00:00:00+25:00",
            "９９９９-01-01T00:00:00Z",
        ] {
            let err = bad.parse::<Timestamp>().unwrap_err();
            assert!(!err.reason.is_empty(), "{bad}");
        }
    }
}
