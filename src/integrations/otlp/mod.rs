//! Ships events to an OpenTelemetry collector as OTLP logs over HTTP/protobuf (feature
//! `otlp`): [`OtlpExporter`], one background thread that follows the ring with a
//! cursor, batches what it reads and posts it to the collector's `/v1/logs`, retrying
//! with exponential backoff, and counts whatever it could not deliver.
//!
//! ```no_run
//! use std::time::Duration;
//! use flightring::integrations::otlp::OtlpExporter;
//! use flightring::{Event, Recorder, Severity};
//!
//! let rec = Recorder::builder().capacity(65_536).build()?;
//! let otlp = OtlpExporter::builder()
//!     .endpoint("http://127.0.0.1:4318/v1/logs") // the default
//!     .service_name("p2p-node")
//!     .resource_attribute("service.instance.id", "node-7")
//!     .header("Authorization", "Bearer s3cr3t")
//!     .batch(512, Duration::from_secs(1)) // the default
//!     .start(&rec)?;
//!
//! rec.record(&Event::new("block", Severity::Warning).peer("peer123")
//!     .message("slow block").field("ms", 950u64));
//!
//! otlp.flush()?; // everything recorded so far has been accepted by the collector
//! let s = otlp.stats();
//! println!("sent {} lost {} dropped {}", s.events_sent, s.lost, s.dropped);
//! otlp.close()?; // sends what is left (for at most `shutdown_timeout`) and stops
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For a collector behind TLS, give an `https://` endpoint; when a private CA signed
//! its certificate, name that CA's PEM file too:
//!
//! ```no_run
//! # use flightring::integrations::otlp::OtlpExporter;
//! # let rec = flightring::Recorder::builder().build()?;
//! let otlp = OtlpExporter::builder()
//!     .endpoint("https://collector.internal:4318/v1/logs")
//!     .ca_file("/etc/flightring/collector-ca.pem") // default: the public roots
//!     .start(&rec)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Mapping
//!
//! One request per batch: an `ExportLogsServiceRequest` with one `ResourceLogs` (the
//! resource: `service.name` and the configured resource attributes) holding one
//! `ScopeLogs` (scope `flightring`, version of this crate) with one `LogRecord` per
//! event:
//!
//! | `LogRecord` field | from the event |
//! | --- | --- |
//! | `time_unix_nano` | its timestamp |
//! | `observed_time_unix_nano` | when the exporter read it from the ring |
//! | `severity_number`, `severity_text` | Debug → 5 (DEBUG), Info → 9 (INFO), Warning → 13 (WARN), Error → 17 (ERROR), Critical → 21 (FATAL); the text is flightring's name: `"DEBUG"`, `"INFO"`, `"WARNING"`, `"ERROR"`, `"CRITICAL"` |
//! | `body` | the message, as a string (no body when it is empty) |
//! | `event_name` | the kind |
//! | attribute `flightring.kind` | the kind again: `event_name` is recent (OTLP 1.5) and older collectors and backends drop it |
//! | attribute `flightring.id` | the event's id (int) |
//! | attribute `flightring.peer` | the peer, when there is one |
//! | attribute `flightring.truncated` | `true`, only when something was cut to fit the slot |
//! | other attributes | the metadata fields, in order, typed: string → `string_value`, `i64` → `int_value`, `u64` → `int_value` (above `i64::MAX`: its decimal `string_value`), `f64` → `double_value`, bool → `bool_value` |
//!
//! The event's own attributes are namespaced `flightring.*` rather than the bare
//! `event.kind`/`peer.id`: names without a namespace, and namespaces such as `event.*`
//! and `peer.*`, belong to OpenTelemetry's semantic conventions.
//!
//! # Batching and timing
//!
//! The thread reads the ring every 1–20 ms (sooner the faster it fills) and posts a
//! request when `max_batch` events (default 512) are pending, when the oldest pending
//! event has waited `max_delay` (default 1 s) since it was read, while a
//! [`OtlpExporter::flush`] waits and during [`OtlpExporter::close`]. No request carries
//! more than `max_batch` log records. Requests go one at a time over one kept-alive
//! connection (sent with [`ureq`](https://docs.rs/ureq), from the exporter's thread
//! only), with `Content-Type: application/x-protobuf`; each one has `request_timeout`
//! (default 10 s) for connecting, the TLS handshake, sending and reading the answer.
//! No proxy is taken from the environment and redirects are not followed (a 3xx is a
//! refusal).
//!
//! # Retries
//!
//! As the OTLP/HTTP specification says: a 2xx answer is success; 429, 502, 503, 504, a
//! connection or TLS failure or a timeout are retried, the same batch, after a backoff that
//! starts at `backoff_initial` (100 ms) and doubles up to `backoff_max` (10 s), drawn
//! from its upper half when `jitter` is on, and at least the `Retry-After` the
//! collector asked for (delta-seconds or an HTTP-date, up to 5 minutes); any other status (400, 401, 413,
//! 500…) is permanent: that batch is dropped, counted, and the next one goes on. A
//! success resets the backoff. A 2xx whose body reports a partial success counts the
//! records the collector says it rejected as dropped.
//!
//! While a batch waits to be retried, the exporter reads no more of the ring: the ring
//! itself is the buffer, so an outage costs no memory beyond one batch, the exporter
//! never gives up on a batch while the collector may come back, and the newest events
//! are in the ring when it does. What the ring overwrites meanwhile is counted as lost.
//!
//! Delivery is at least once in one corner: when the connection fails after the
//! collector began answering (so it may have taken the batch), the batch is retried.
//! An idle kept-alive connection is checked before it is reused, so one the collector
//! closed is replaced without counting a failure; a connection that failed is never
//! reused, so each retry starts on a fresh one.
//!
//! # Loss accounting
//!
//! [`OtlpStats`] counts every event the exporter's cursor passes exactly once:
//!
//! - `events_sent`: accepted by the collector;
//! - `lost`: missed in the ring — overwritten before the exporter read them (it was
//!   waiting for the collector longer than the ring holds), or dropped by their writer;
//! - `dropped`: read but given up on — refused for good, rejected in a partial
//!   success, or still unsent when `close()`'s `shutdown_timeout` ran out;
//! - `pending`: read and not yet resolved.
//!
//! After `close()`, `events_sent + lost + dropped` equals the events recorded between
//! start and `close()` plus those dropped by writers (`Stats::total_recorded` +
//! `Stats::dropped`), less any that expired (`max_age`) or were cleared before the
//! exporter read them. `failed_requests` counts failed attempts (each retry again),
//! `batches_sent` and `bytes_sent` the accepted requests.
//!
//! # Faults
//!
//! A failed request sets the recorder's fault `"otlp"`, so
//! [`Recorder::health`](crate::Recorder::health) is Degraded with the reason
//! `"otlp: http://…/v1/logs: <what failed>"` (and `last_error` keeps it; a failed
//! handshake reads `"TLS: invalid peer certificate: …"`); the next accepted request
//! clears it. A setting that is wrong — a malformed endpoint, a CA file that cannot be
//! read or holds no usable certificate, a header with a line break, a zero batch — fails
//! [`OtlpExporter::start`] with [`OtlpError::Config`]. An unreachable collector does not
//! fail `start`: it is a fault like any later outage.
//!
//! # Guarantees and limits
//!
//! - Writers are never blocked: the exporter reads the ring through a
//!   [`Cursor`](crate::Cursor), like a snapshot does.
//! - Each event is sent at most once (but see the corner above), and each one not
//!   accepted is counted.
//! - Memory: at most one lap of the ring plus one batch of decoded events, and one
//!   request body.
//! - `close()` and drop send what was recorded before them, for at most
//!   `shutdown_timeout` (default 5 s), then stop the thread.
//! - `http` or `https` (rustls with the ring provider; the public roots of
//!   `webpki-roots` built in, or the certificates of `ca_file` instead). No client
//!   certificates.
//! - Dependencies: `ureq` (with rustls) and `httpdate`; the protobuf is written by hand
//!   (checked against the official types in the tests). Requests are not compressed.

mod client;
mod config;
mod encode;
mod exporter;

pub use config::{OtlpBuilder, OtlpConfig, OtlpError, DEFAULT_ENDPOINT};
pub use exporter::{OtlpExporter, OtlpStats, FAULT_COMPONENT, THREAD_NAME};
