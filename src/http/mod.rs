//! An HTTP endpoint for one node (feature `http`): health for supervisors, stats,
//! reports, Prometheus metrics, event queries, a live event stream and exports.
//!
//! Run it on its own thread with [`serve`] (it binds where you say; [`DEFAULT_ADDR`]
//! is loopback), or mount [`router`] into your own axum application.
//!
//! ```no_run
//! use flightring::{http, Recorder};
//!
//! let rec = Recorder::new();
//! let server = http::serve(rec.clone(), http::DEFAULT_ADDR)?;
//! println!("flightring on http://{}/health", server.local_addr());
//! // … the program runs; `server` shuts down gracefully when dropped.
//! # Ok::<(), flightring::http::HttpError>(())
//! ```
//!
//! # Endpoints
//!
//! `GET` unless said; every response body is JSON unless said otherwise.
//!
//! | path | answers |
//! | --- | --- |
//! | `/health` | [`Health`](crate::Health); **200** when Healthy or Degraded, **503** when Unhealthy |
//! | `/stats` | [`Stats`](crate::Stats) |
//! | `/report?period=60s` | [`NetworkReport`](crate::NetworkReport) |
//! | `/metrics` | Prometheus text, or OpenMetrics when the `Accept` header asks for it (see [`crate::integrations::prometheus`]); also the endpoint's own figures (`flightring_http_*`) and an attached monitor's and alert manager's metrics (`flightring_blocks_*`, `flightring_alerts_*`) |
//! | `/events?limit=&min_severity=&kind=&peer=&since=&until=&contains=&text=&ignore_case=` | `{"count", "limit", "events"}`, events newest first; `limit` defaults to 100 |
//! | `/events/stream?…` | server-sent events of new events as they are recorded (same filters; `limit` ends the stream after that many) |
//! | `/export?format=json\|jsonl\|csv` | the whole ring, streamed in chunks as it is serialised |
//! | `/` | the dashboard (HTML; its script and style sheet at `/assets/…`), served without the token |
//! | `/histograms/NAME?format=json\|hdr` | one histogram's summary, or HdrHistogram V2 text (feature `hdr`) |
//! | `/blocks`, `/blocks/missed?format=json\|jsonl\|csv`, `/alerts` | an attached monitor's stats and missed blocks ([`HttpOptions::recordings_dir`]'s siblings `monitor` and `alerts`) |
//! | `/api/info`, `/api/recordings…`, `/api/record/…`, `/api/replay/…` | which panels have data; the recordings REST API (see the README), `POST` where it changes something |
//!
//! `since` and `until` take an RFC 3339 time (`2026-11-22T08:00:00Z`) or a duration
//! meaning that long ago (`5m`). `min_severity` is `debug`, `info`, `warning`, `error`
//! or `critical`.
//!
//! # Errors
//!
//! A bad request gets a 4xx with a JSON body naming what was wrong:
//!
//! ```json
//! {"error":"bad_parameter","parameter":"min_severity","value":"loud",
//!  "message":"min_severity: unknown severity (expected debug, info, warning, error or critical)"}
//! ```
//!
//! Unknown, repeated and malformed parameters (`kind=%ZZ`, percent-encoding that is
//! not UTF-8) are refused the same way. Other codes, each with such a body:
//! `unauthorized` (401), `not_found` (404), `method_not_allowed` (405, with `Allow`),
//! `request_timeout` (408: the headers did not arrive in time), `request_too_large`
//! (413), `uri_too_long` (414), `headers_too_large` (431), `busy` (429 with
//! `Retry-After: 1`: too many connections, or too many exports at once — never 503,
//! which only `/health` answers, for Unhealthy).
//!
//! # Protection
//!
//! - **Auth**: with [`HttpOptions::bearer_token`], every request needs
//!   `Authorization: Bearer <token>` (compared in constant time), except `/health` if
//!   [`HttpOptions::public_health`] is set.
//! - **Floods**: a connection's first request head is read before it takes a slot,
//!   within [`HttpOptions::header_read_timeout`] (408 after); when too many are still
//!   sending theirs, the oldest is evicted (408), so silent or slowloris connections
//!   cannot keep a new request from being read. At most
//!   [`HttpOptions::max_connections`] are served at once (429 beyond), plus
//!   [`HttpOptions::probe_connections`] reserved for `GET /health` and `GET /metrics`,
//!   which therefore answer under a flood. The listen backlog is 1024. Refusals are
//!   counted at `/metrics` (`flightring_http_refused_total{reason}`).
//! - **Limits**: request targets and bodies of at most
//!   [`HttpOptions::max_request_bytes`], headers of at most that plus 8 KiB, at most
//!   [`HttpOptions::max_concurrent_exports`] exports at once.
//! - **Clients that stop reading**: a write that makes no progress for
//!   [`HttpOptions::write_timeout`] cuts the connection (counted in
//!   `flightring_http_write_timeouts_total`), so a stalled export frees its place. An
//!   event stream holds at most [`HttpOptions::stream_buffer_bytes`] for its client,
//!   and all streams together [`HttpOptions::stream_total_bytes`] (plus one frame each;
//!   `flightring_http_sse_buffered_bytes` shows it); beyond, it stops reading the ring
//!   and the client is told what it lost.
//! - **Writers never wait**: every endpoint reads like any reader does (published
//!   health, counter sums, snapshots, cursors). A slow client holds only its own
//!   connection's buffers; an event-stream client that falls behind loses events (and
//!   is told how many), never slows recording.
//! - **Graceful shutdown**: [`HttpServer::shutdown`] (or drop) stops accepting, ends
//!   event streams, and waits up to [`HttpOptions::shutdown_grace`] for requests in
//!   flight.
//!
//! The server thread runs a single-threaded Tokio runtime, plus a blocking thread per
//! query or export in progress, so serving takes at most about one core from the
//! program.

mod api;
mod blocks;
mod counters;
mod dashboard;
mod head;
mod io;
mod params;
mod routes;
mod server;
mod stream;

use std::time::Duration;

use tokio::sync::watch;

pub use server::HttpServer;

use crate::Recorder;

/// Where [`serve`] is usually pointed: loopback only, port 9184.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9184";

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address did not resolve.
    #[error("invalid listen address: {0}")]
    Address(String),
    /// Binding the address failed (in use, not permitted, …).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or its thread could not be started.
    #[error("cannot start the HTTP server: {0}")]
    Runtime(std::io::Error),
}

/// Server settings; [`HttpOptions::default`] suits most nodes.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub(crate) bearer_token: Option<String>,
    pub(crate) public_health: bool,
    pub(crate) max_connections: usize,
    pub(crate) probe_connections: usize,
    pub(crate) write_timeout: Duration,
    pub(crate) max_request_bytes: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_events: usize,
    pub(crate) max_concurrent_exports: usize,
    pub(crate) stream_poll: Duration,
    pub(crate) stream_buffer_frames: usize,
    pub(crate) stream_buffer_bytes: usize,
    pub(crate) stream_total_bytes: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) recordings_dir: Option<std::path::PathBuf>,
    #[cfg(feature = "monitor")]
    pub(crate) monitor: Option<std::sync::Arc<std::sync::Mutex<crate::monitor::BlockMonitor>>>,
    #[cfg(feature = "alerts")]
    pub(crate) alerts: Option<std::sync::Arc<crate::alert::AlertManager>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            bearer_token: None,
            public_health: false,
            max_connections: 64,
            probe_connections: 8,
            write_timeout: Duration::from_secs(30),
            max_request_bytes: 16 << 10,
            header_read_timeout: Duration::from_secs(10),
            max_events: 10_000,
            max_concurrent_exports: 2,
            stream_poll: Duration::from_millis(100),
            stream_buffer_frames: 16,
            stream_buffer_bytes: 256 << 10,
            stream_total_bytes: 8 << 20,
            shutdown_grace: Duration::from_secs(5),
            recordings_dir: None,
            #[cfg(feature = "monitor")]
            monitor: None,
            #[cfg(feature = "alerts")]
            alerts: None,
        }
    }
}

impl HttpOptions {
    /// Requires `Authorization: Bearer <token>` on every request. An empty token
    /// matches nothing (every request is refused).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Lets `/health` through without the token, for supervisors. Default `false`.
    pub fn public_health(mut self, on: bool) -> Self {
        self.public_health = on;
        self
    }

    /// Connections served at once (each holds its slot while kept alive); more are
    /// answered 429 `busy` with `Retry-After: 1` and closed. Connections still sending
    /// their first request head do not hold a slot. Default 64.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Slots reserved for `GET /health` and `GET /metrics` when every
    /// [`max_connections`](HttpOptions::max_connections) slot is taken: a supervisor
    /// and a scraper still get answers while the endpoint is flooded. A reserved slot
    /// serves one request (no keep-alive). Default 8; 0 reserves none.
    pub fn probe_connections(mut self, n: usize) -> Self {
        self.probe_connections = n;
        self
    }

    /// How long a write to a client may make no progress before the connection is cut:
    /// a client that stops reading an event stream or an export frees its slot, its
    /// buffers and (for an export) the export's place. Default 30 s.
    pub fn write_timeout(mut self, d: Duration) -> Self {
        self.write_timeout = d.max(Duration::from_millis(1));
        self
    }

    /// The longest request target (path and query, 414 beyond) and body (413 beyond)
    /// accepted, in bytes. The request line and headers together may take this plus
    /// 8 KiB (431 beyond). Default 16 KiB.
    pub fn max_request_bytes(mut self, n: usize) -> Self {
        self.max_request_bytes = n;
        self
    }

    /// How long a client may take to send its request headers; a connection that has
    /// not sent them by then is answered 408 and closed. Default 10 s.
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.header_read_timeout = d;
        self
    }

    /// The largest `limit` `/events` accepts. Default 10 000.
    pub fn max_events(mut self, n: usize) -> Self {
        self.max_events = n.max(1);
        self
    }

    /// Exports served at once (each holds a snapshot of the ring). Default 2.
    pub fn max_concurrent_exports(mut self, n: usize) -> Self {
        self.max_concurrent_exports = n.max(1);
        self
    }

    /// How often an event stream polls the ring. Default 100 ms.
    pub fn stream_poll(mut self, d: Duration) -> Self {
        self.stream_poll = d.max(Duration::from_millis(1));
        self
    }

    /// Frames (each up to 128 events) an event stream queues for a slow client before
    /// it stops reading the ring (and starts losing events). Default 16.
    pub fn stream_buffer_frames(mut self, n: usize) -> Self {
        self.stream_buffer_frames = n.max(1);
        self
    }

    /// Bytes an event stream may hold for a client that has not read them (queued or
    /// in the connection's write buffer) before it stops reading the ring; the client
    /// is then told what it lost when it catches up. A stream may go over by one frame
    /// (at most 128 events). Default 256 KiB.
    pub fn stream_buffer_bytes(mut self, n: usize) -> Self {
        self.stream_buffer_bytes = n.max(1);
        self
    }

    /// Bytes all event streams together may hold for their clients (each may still
    /// send one frame when it holds nothing). Shown at `/metrics` as
    /// `flightring_http_sse_buffered_bytes`. Default 8 MiB.
    pub fn stream_total_bytes(mut self, n: usize) -> Self {
        self.stream_total_bytes = n.max(1);
        self
    }

    /// How long shutdown waits for requests in flight. Default 5 s.
    pub fn shutdown_grace(mut self, d: Duration) -> Self {
        self.shutdown_grace = d;
        self
    }

    /// Serves the recordings in `dir` (`NAME.recording.json` files) under
    /// `/api/recordings`, and lets `/api/record/*` save new ones there and
    /// `/api/replay/*` replay them into the served recorder. Off by default (those
    /// endpoints answer 404 `not_configured`).
    pub fn recordings_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.recordings_dir = Some(dir.into());
        self
    }

    /// Serves a block monitor at `/blocks` and `/blocks/missed` (and in the
    /// dashboard's blocks panel). The monitor stays yours: keep feeding it through the
    /// same mutex; each request holds the lock only while it copies the figures.
    #[cfg(feature = "monitor")]
    pub fn monitor(
        mut self,
        monitor: std::sync::Arc<std::sync::Mutex<crate::monitor::BlockMonitor>>,
    ) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// Serves an alert manager's recent alerts, their delivery state and its figures
    /// at `/alerts` (and in the dashboard).
    #[cfg(feature = "alerts")]
    pub fn alerts(mut self, alerts: std::sync::Arc<crate::alert::AlertManager>) -> Self {
        self.alerts = Some(alerts);
        self
    }
}

/// Serves `rec` on `addr` with the default options, on a thread of its own.
pub fn serve(rec: Recorder, addr: impl std::net::ToSocketAddrs) -> Result<HttpServer, HttpError> {
    serve_with(rec, addr, HttpOptions::default())
}

/// Serves `rec` on `addr` with `opts`, on a thread of its own.
pub fn serve_with(
    rec: Recorder,
    addr: impl std::net::ToSocketAddrs,
    opts: HttpOptions,
) -> Result<HttpServer, HttpError> {
    server::start(rec, addr, opts)
}

/// The endpoints as an axum [`Router`](axum::Router) to mount in your own server,
/// with the default options. Connection limits and graceful shutdown are then your
/// server's; event streams end when the client goes or the recorder is closed.
pub fn router(rec: Recorder) -> axum::Router {
    router_with(rec, HttpOptions::default())
}

/// Like [`router`], with `opts` (auth, request and export limits, stream settings).
pub fn router_with(rec: Recorder, opts: HttpOptions) -> axum::Router {
    // Nothing shuts a mounted router down: the sender lives as long as the router, so
    // streams never see the channel close.
    let (keep, rx) = watch::channel(false);
    routes::build(
        rec,
        opts,
        rx,
        Some(std::sync::Arc::new(keep)),
        counters::Counters::new(),
    )
}
