//! The counter and histogram names the crate's own typed helpers use
//! (`crate::flight`). They are interned when a recorder is built, in room of their
//! own beside `max_histograms`, so a program that fills the tables with names of its
//! own can never make the helpers' figures vanish.

/// Named counters the flight-recorder helpers add to.
pub(crate) const RESERVED_COUNTERS: [&str; 11] = [
    "blocks_processed",
    "blocks_skipped",
    "blocks_missed",
    "routes_generated",
    "routes_filtered",
    "opportunities",
    "cache_hits",
    "cache_misses",
    "pools_discovered",
    "pools_validated",
    "pools_validation_failed",
];

/// Histograms the helpers observe into.
pub(crate) const RESERVED_HISTOGRAMS: [&str; 1] = ["block.duration"];
