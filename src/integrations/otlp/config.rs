//! [`OtlpConfig`], its builder [`OtlpBuilder`], and [`OtlpError`].

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::event::{FieldValue, Value};

use super::client::{load_ca_file, Endpoint};
use ureq::tls::Certificate;

/// The default endpoint: an OpenTelemetry collector's OTLP/HTTP logs receiver on this
/// host.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4318/v1/logs";

/// Settings of an [`OtlpExporter`](super::OtlpExporter). Build one with [`OtlpExporter::builder`](super::OtlpExporter::builder), or fill
/// the fields and pass it to [`OtlpExporter::start`](super::OtlpExporter::start).
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// Where to `POST` the logs: `http://host[:port]/path` or `https://…`. Default
    /// [`DEFAULT_ENDPOINT`].
    pub endpoint: String,
    /// A PEM file of CA certificates to verify an `https` collector with, for one whose
    /// certificate a private CA signed (or a self-signed one). They replace the public
    /// (Mozilla) roots built in, as `OTEL_EXPORTER_OTLP_CERTIFICATE` does in the
    /// OpenTelemetry SDKs. Read once, at start. Default `None`: the public roots.
    pub ca_file: Option<PathBuf>,
    /// The resource attribute `service.name`. Default `"unknown_service"` (as the
    /// OpenTelemetry SDKs name a service nobody named).
    pub service_name: String,
    /// More resource attributes (`host.name`, `service.instance.id`,
    /// `deployment.environment.name`…), typed, sent after `service.name`.
    pub resource_attributes: Vec<(String, Value)>,
    /// Extra request headers, e.g. `("Authorization", "Bearer …")`.
    pub headers: Vec<(String, String)>,
    /// Most log records in one request. Default 512.
    pub max_batch: usize,
    /// Longest an event waits for its batch to fill before a partial batch is sent.
    /// Default 1 s.
    pub max_delay: Duration,
    /// Limit on one request: connecting, sending and reading the answer. Default 10 s.
    pub request_timeout: Duration,
    /// Wait before the first retry of a failed request. Default 100 ms.
    pub backoff_initial: Duration,
    /// Longest wait between retries; each failure doubles the wait up to this. Default
    /// 10 s.
    pub backoff_max: Duration,
    /// Waits are drawn uniformly from the upper half of the backoff (`[b/2, b]`) so
    /// many exporters do not retry in step. Default true.
    pub jitter: bool,
    /// How long [`OtlpExporter::flush`](super::OtlpExporter::flush) waits, and how long [`OtlpExporter::close`](super::OtlpExporter::close)
    /// keeps trying to send what was recorded before it. Default 5 s.
    pub shutdown_timeout: Duration,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            ca_file: None,
            service_name: "unknown_service".to_owned(),
            resource_attributes: Vec::new(),
            headers: Vec::new(),
            max_batch: 512,
            max_delay: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            jitter: true,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl OtlpConfig {
    /// Checks the settings; returns the parsed endpoint and the CA file's certificates.
    pub(crate) fn validate(
        &self,
    ) -> Result<(Endpoint, Option<Vec<Certificate<'static>>>), OtlpError> {
        let bad = |field, reason: &str| {
            Err(OtlpError::Config {
                field,
                reason: reason.to_owned(),
            })
        };
        let endpoint = Endpoint::parse(&self.endpoint).map_err(|reason| OtlpError::Config {
            field: "endpoint",
            reason,
        })?;
        if self.max_batch == 0 {
            return bad("max_batch", "must be at least 1");
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "must be above zero");
        }
        if self.backoff_initial.is_zero() || self.backoff_max < self.backoff_initial {
            return bad(
                "backoff_initial",
                "must be above zero and at most backoff_max",
            );
        }
        for (name, value) in &self.headers {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                return bad("headers", &format!("`{name}` is not a header name"));
            }
            if [
                "content-length",
                "content-type",
                "host",
                "transfer-encoding",
            ]
            .contains(&name.to_ascii_lowercase().as_str())
            {
                return bad("headers", &format!("`{name}` is set by the exporter"));
            }
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return bad(
                    "headers",
                    &format!("the value of `{name}` has a line break"),
                );
            }
        }
        let ca = match &self.ca_file {
            Some(path) => Some(load_ca_file(path).map_err(|reason| OtlpError::Config {
                field: "ca_file",
                reason,
            })?),
            None => None,
        };
        Ok((endpoint, ca))
    }
}

/// Builds an [`OtlpConfig`] and starts the exporter. From [`OtlpExporter::builder`](super::OtlpExporter::builder).
#[derive(Debug, Clone, Default)]
pub struct OtlpBuilder {
    pub(super) cfg: OtlpConfig,
}

impl OtlpBuilder {
    /// [`OtlpConfig::endpoint`].
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.cfg.endpoint = url.into();
        self
    }

    /// [`OtlpConfig::ca_file`]: trust the CA certificates in this PEM file for `https`.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cfg.ca_file = Some(path.into());
        self
    }

    /// [`OtlpConfig::service_name`].
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.cfg.service_name = name.into();
        self
    }

    /// Adds a resource attribute ([`OtlpConfig::resource_attributes`]).
    pub fn resource_attribute<'a>(
        mut self,
        key: impl Into<String>,
        value: impl Into<FieldValue<'a>>,
    ) -> Self {
        self.cfg
            .resource_attributes
            .push((key.into(), Value::from(value.into())));
        self
    }

    /// Adds a request header ([`OtlpConfig::headers`]).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.cfg.headers.push((name.into(), value.into()));
        self
    }

    /// [`OtlpConfig::max_batch`] and [`OtlpConfig::max_delay`].
    pub fn batch(mut self, max_events: usize, max_delay: Duration) -> Self {
        self.cfg.max_batch = max_events;
        self.cfg.max_delay = max_delay;
        self
    }

    /// [`OtlpConfig::request_timeout`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.request_timeout = timeout;
        self
    }

    /// [`OtlpConfig::backoff_initial`] and [`OtlpConfig::backoff_max`].
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.cfg.backoff_initial = initial;
        self.cfg.backoff_max = max;
        self
    }

    /// [`OtlpConfig::jitter`].
    pub fn jitter(mut self, on: bool) -> Self {
        self.cfg.jitter = on;
        self
    }

    /// [`OtlpConfig::shutdown_timeout`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.shutdown_timeout = timeout;
        self
    }

    /// The settings so far.
    pub fn config(&self) -> &OtlpConfig {
        &self.cfg
    }
}

/// Starting, flushing or closing an [`OtlpExporter`](super::OtlpExporter) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// A setting is out of range or malformed.
    #[error("invalid otlp setting `{field}`: {reason}")]
    Config {
        /// The [`OtlpConfig`] field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The background thread could not be started.
    #[error("cannot start the otlp exporter thread: {0}")]
    Spawn(#[source] io::Error),
    /// [`OtlpExporter::flush`](super::OtlpExporter::flush) gave up waiting: events recorded before it are still
    /// being retried (they are not dropped).
    #[error("otlp flush timed out after {waited:?} with {pending} events unsent{}",
        last_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Timeout {
        /// How long the flush waited.
        waited: Duration,
        /// Events read from the ring and not yet accepted by the collector.
        pending: u64,
        /// The collector's last failure, if any.
        last_error: Option<String>,
    },
    /// Events were given up on: refused by the collector for good (a status other than
    /// 2xx, 429, 502, 503, 504, or a partial success), or still unsent when
    /// [`OtlpExporter::close`](super::OtlpExporter::close)'s time ran out. Counted in [`OtlpStats::dropped`](super::OtlpStats::dropped).
    #[error("otlp exporter dropped {events} events: {reason}")]
    Dropped {
        /// How many (since the flush began, or at close: unsent ones).
        events: u64,
        /// The collector's answer, or the last failure.
        reason: String,
    },
    /// The exporter was closed.
    #[error("the otlp exporter is closed")]
    Closed,
}
