//! Streaming export to files: the JSON Lines exporter that follows the ring, and the
//! periodic snapshot writer. (The exporter itself is being built; its settings are
//! shared with the configuration loaders.)

mod config;

pub use config::ExporterConfig;
