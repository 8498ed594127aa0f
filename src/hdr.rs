//! HdrHistogram interchange (feature `hdr`): the standard V2-compressed, base64 form
//! (`HISTFAAA…`) that HdrHistogram's Java, Python, Go and JS implementations decode.
//!
//! ```
//! use std::time::Duration;
//! let rec = flightring::Recorder::new();
//! for us in 1..=1000u64 {
//!     rec.observe("rpc.getReserves", Duration::from_micros(us));
//! }
//! let text = rec.histogram_hdr_v2("rpc.getReserves").unwrap()?;
//! assert!(text.starts_with("HISTFAAA"));
//! let h = flightring::hdr::decode_v2(&text)?;
//! assert_eq!(h.len(), 1000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The encoding itself lives beside the histograms (`core::histogram::encode_v2`), so
//! every `HistogramSummary` — and with it every export and `/stats` — carries the form.

use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use crate::Recorder;

/// Encoding or decoding the V2 form failed.
#[derive(Debug, thiserror::Error)]
pub enum HdrError {
    /// The histogram could not be serialised.
    #[error("encoding the histogram failed: {0}")]
    Encode(String),
    /// The text is not base64.
    #[error("not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not a V2 (compressed) histogram.
    #[error("not an HdrHistogram V2 histogram: {0}")]
    Decode(String),
}

/// `h` as base64 of its V2-deflate serialisation (`HISTFAAA…`).
pub fn encode_v2(h: &Histogram<u64>) -> Result<String, HdrError> {
    crate::core::histogram::encode_v2(h).map_err(HdrError::Encode)
}

/// Decodes the base64 V2 form (compressed or not), surrounding whitespace ignored.
pub fn decode_v2(text: &str) -> Result<Histogram<u64>, HdrError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HdrError::Decode(format!("{e:?}")))
}

impl Recorder {
    /// Histogram `name` in the V2 interchange form (see [`crate::hdr`]); `None` if
    /// there is no such histogram.
    pub fn histogram_hdr_v2(&self, name: &str) -> Option<Result<String, HdrError>> {
        self.histogram_hdr(name).map(|h| encode_v2(&h))
    }
}
