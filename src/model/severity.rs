//! Event severity: `Debug < Info < Warning < Error < Critical`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How serious an event is. Ordered: `Debug < Info < Warning < Error < Critical`.
///
/// Displayed and serialised as `"DEBUG"`, `"INFO"`, `"WARNING"`, `"ERROR"`,
/// `"CRITICAL"`; parsed case-insensitively (also `"warn"`, `"err"`, `"crit"`, `"fatal"`).
///
/// ```
/// use flightring::Severity;
/// assert!(Severity::Warning > Severity::Info);
/// assert_eq!("warning".parse::<Severity>().unwrap(), Severity::Warning);
/// assert_eq!(Severity::Critical.to_string(), "CRITICAL");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum Severity {
    /// Detail for debugging; usually filtered out in production.
    Debug = 0,
    /// Normal operation worth keeping: connections, phases, decisions.
    #[default]
    Info = 1,
    /// Something unusual that the program handled.
    Warning = 2,
    /// An operation failed.
    Error = 3,
    /// The program, or a large part of it, cannot go on as it should.
    Critical = 4,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Debug,
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// The upper-case name used in exports: `"DEBUG"` … `"CRITICAL"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The severity's index, `0` (Debug) to `4` (Critical).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The severity with index `i` (`0..=4`), if any.
    pub const fn from_index(i: u8) -> Option<Severity> {
        match i {
            0 => Some(Severity::Debug),
            1 => Some(Severity::Info),
            2 => Some(Severity::Warning),
            3 => Some(Severity::Error),
            4 => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error returned when a string names no severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let eq = |name: &str| t.eq_ignore_ascii_case(name);
        if eq("debug") || eq("trace") {
            Ok(Severity::Debug)
        } else if eq("info") {
            Ok(Severity::Info)
        } else if eq("warning") || eq("warn") {
            Ok(Severity::Warning)
        } else if eq("error") || eq("err") {
            Ok(Severity::Error)
        } else if eq("critical") || eq("crit") || eq("fatal") {
            Ok(Severity::Critical)
        } else {
            Err(ParseSeverityError(s.to_owned()))
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Severity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a severity name such as \"INFO\" or \"ERROR\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Severity, E> {
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
    fn order_display_parse_round_trip() {
        for w in Severity::ALL.windows(2) {
            assert!(w[0] < w[1]);
        }
        for s in Severity::ALL {
            assert_eq!(s.to_string().parse::<Severity>().unwrap(), s);
            assert_eq!(s.as_str().to_lowercase().parse::<Severity>().unwrap(), s);
            assert_eq!(Severity::from_index(s as u8), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Severity>(&json).unwrap(), s);
        }
        assert!("loud".parse::<Severity>().is_err());
        assert!(serde_json::from_str::<Severity>("\"loud\"").is_err());
        assert_eq!(Severity::from_index(5), None);
    }
}
