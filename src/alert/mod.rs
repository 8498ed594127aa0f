//! Alerts (placeholder).
