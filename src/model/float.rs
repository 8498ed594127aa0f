//! How a float JSON cannot hold is written and read back.
//!
//! JSON has no NaN or infinity, so every writer of this crate (exports, JSON Lines,
//! CSV metadata, panic dumps, recordings, the file exporter) writes a non-finite `f64`
//! as one of the strings `"NaN"`, `"inf"`, `"-inf"`. Where the schema says the value is
//! a float (gauges, rates, seconds), the loaders read those strings back as the float,
//! and also accept `"Infinity"`, `"-Infinity"`, `"+inf"` and `null` (NaN: what versions
//! before this one wrote). An event's field value has no declared type: a non-finite
//! field loads back as the string, and [`crate::Value::as_f64`] reads it as the float.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};

/// The text a non-finite float is written as; `None` for a finite one.
pub(crate) fn non_finite_text(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("inf")
    } else if v == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

/// The non-finite float `s` spells, if it spells one.
pub(crate) fn parse_non_finite(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "inf" | "+inf" | "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Writes `v` as a JSON number, or as its text when it is not finite.
pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    match non_finite_text(*v) {
        Some(t) => s.serialize_str(t),
        None => s.serialize_f64(*v),
    }
}

/// Reads a float written by [`serialize`] (or `null`, read as NaN).
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(FloatVisitor)
}

struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, or \"NaN\", \"inf\" or \"-inf\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        parse_non_finite(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }
}

/// [`serialize`] and [`deserialize`] for a map of floats by name (the gauges).
pub(crate) mod map {
    use super::*;

    struct Text(f64);

    impl serde::Serialize for Text {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::serialize(&self.0, s)
        }
    }

    impl<'de> serde::Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::deserialize(d).map(Text)
        }
    }

    /// Writes each value as [`super::serialize`] does.
    pub(crate) fn serialize<S: Serializer>(
        m: &BTreeMap<String, f64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            out.serialize_entry(k, &Text(*v))?;
        }
        out.end()
    }

    /// Reads each value as [`super::deserialize`] does.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, f64>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BTreeMap<String, f64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of names to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = BTreeMap::new();
                while let Some((k, Text(v))) = a.next_entry::<String, Text>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct One {
        #[serde(with = "super")]
        v: f64,
    }

    #[test]
    fn every_float_round_trips_through_json() {
        for v in [0.0, -1.5, 1e300, f64::INFINITY, f64::NEG_INFINITY] {
            let s = serde_json::to_string(&One { v }).unwrap();
            assert_eq!(serde_json::from_str::<One>(&s).unwrap().v, v, "{s}");
        }
        let s = serde_json::to_string(&One { v: f64::NAN }).unwrap();
        assert_eq!(s, r#"{"v":"NaN"}"#);
        assert!(serde_json::from_str::<One>(&s).unwrap().v.is_nan());
        assert!(serde_json::from_str::<One>(r#"{"v":null}"#)
            .unwrap()
            .v
            .is_nan());
        let err = serde_json::from_str::<One>(r#"{"v":"fast"}"#).unwrap_err();
        assert!(err.to_string().contains("\"NaN\""), "{err}");
    }
}
