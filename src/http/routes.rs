//! The router: endpoints, bearer-token auth and request limits. Every handler reads
//! the recorder the way any reader does (published health, counter sums, snapshots,
//! cursors), so no request can make a writer wait.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{mpsc, watch, Semaphore};

use super::counters::Counters;
use super::params::{event_query, json_response, ApiError, Params, PathName, EVENT_PARAMS};
use super::{api, blocks, dashboard, stream, HttpOptions};
use crate::integrations::prometheus::{self, Format};
use crate::{HealthStatus, Recorder, Snapshot};

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    rec: Recorder,
    opts: Arc<HttpOptions>,
    /// Flips to `true` when the server shuts down; event streams end on it.
    shutdown: watch::Receiver<bool>,
    /// Exports in progress (each holds a snapshot of the ring).
    exports: Arc<Semaphore>,
    /// The sender of `shutdown` when nothing else owns it (a mounted router).
    _keep: Option<Arc<watch::Sender<bool>>>,
    /// The endpoint's own figures (refusals, event-stream bytes), shown at `/metrics`.
    counters: Arc<Counters>,
}

/// The router over `rec`; `shutdown` ends event streams when it turns `true`.
pub(crate) fn build(
    rec: Recorder,
    opts: HttpOptions,
    shutdown: watch::Receiver<bool>,
    keep: Option<Arc<watch::Sender<bool>>>,
    counters: Arc<Counters>,
) -> Router {
    let extra = dashboard::router(&opts)
        .merge(blocks::router(&opts))
        .merge(api::router(rec.clone(), &opts));
    let state = AppState {
        rec,
        _keep: keep,
        exports: Arc::new(Semaphore::new(opts.max_concurrent_exports)),
        opts: Arc::new(opts),
        shutdown,
        counters,
    };
    Router::new()
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/report", get(report))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        .route("/events/stream", get(events_stream))
        .route("/export", get(export))
        .route("/histograms/{name}", get(histogram))
        .merge(extra)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the compiler from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// Bearer-token auth and request limits, before any handler.
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let opts = &st.opts;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    if declared > opts.max_request_bytes as u64 {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!(
                "request body of {declared} bytes; at most {} accepted",
                opts.max_request_bytes
            ),
        )
        .into_response();
    }
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > opts.max_request_bytes {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "request target of {target_len} bytes; at most {} accepted",
                opts.max_request_bytes
            ),
        )
        .into_response();
    }
    if let Some(token) = &opts.bearer_token {
        let path = req.uri().path();
        let public =
            (opts.public_health && path == "/health") || dashboard::PUBLIC_PATHS.contains(&path);
        if !public && !authorized(req.headers(), token) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong bearer token (send Authorization: Bearer <token>)",
            )
            .into_response();
        }
    }
    let method = req.method().clone();
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return method_not_allowed(&method, resp);
    }
    resp
}

/// Gives axum's bare 405 a JSON body naming the method and the ones allowed (the
/// `Allow` header stays).
fn method_not_allowed(method: &axum::http::Method, resp: Response) -> Response {
    let allow = resp.headers().get(header::ALLOW).cloned();
    let allowed = allow
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut out = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here (allowed: {allowed})"),
    )
    .into_response();
    if let Some(v) = allow {
        out.headers_mut().insert(header::ALLOW, v);
    }
    out
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let v = value.as_bytes();
    let scheme = b"bearer ";
    v.len() > scheme.len()
        && v[..scheme.len()].eq_ignore_ascii_case(scheme)
        && constant_time_eq(&v[scheme.len()..], token.as_bytes())
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no endpoint at {} (try / for the dashboard, /health, /stats, /report, /metrics, /events, /events/stream, /export, /histograms/NAME, /blocks, /alerts or /api/recordings)",
            req.uri().path()
        ),
    )
}

async fn health(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let h = st.rec.health();
    let status = match h.status {
        HealthStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        HealthStatus::Healthy | HealthStatus::Degraded => StatusCode::OK,
    };
    Ok(json_response(status, &h))
}

async fn stats(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    Ok(json_response(StatusCode::OK, &st.rec.stats()))
}

async fn report(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref(), &["period"])?;
    let period = p.duration("period")?.unwrap_or(Duration::from_secs(60));
    Ok(json_response(StatusCode::OK, &st.rec.report(period)))
}

async fn metrics(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::from_accept(accept);
    let mut body = prometheus::render(&st.rec, format);
    let mut extra = st.counters.to_prometheus();
    extra.push_str(&blocks::to_prometheus(&st.opts));
    append_text_metrics(&mut body, &extra, format);
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response())
}

/// Appends `extra`, Prometheus text (format 0.0.4), to `body` in `format`: for
/// OpenMetrics, counter families lose their `_total` (their samples keep it) and the
/// text goes before `# EOF`.
fn append_text_metrics(body: &mut String, extra: &str, format: Format) {
    match format {
        Format::Text => body.push_str(extra),
        Format::OpenMetrics => {
            let eof = body.rfind("# EOF").unwrap_or(body.len());
            let tail = body.split_off(eof);
            for line in extra.lines() {
                match prometheus::family_meta(line) {
                    Some((prefix, name, desc)) => {
                        body.push_str(prefix);
                        body.push_str(name.strip_suffix("_total").unwrap_or(name));
                        body.push(' ');
                        body.push_str(desc);
                    }
                    None => body.push_str(line),
                }
                body.push('\n');
            }
            body.push_str(&tail);
        }
    }
}

/// `/histograms/NAME?format=json|hdr`: the summary (count, percentiles in ns), or
/// the HdrHistogram V2 interchange text (`HISTFAAA…`, feature `hdr`).
async fn histogram(
    State(st): State<AppState>,
    PathName(name): PathName,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref(), &["format"])?;
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no histogram named {name:?}"),
        )
    };
    match p.get("format").unwrap_or("json") {
        "json" => {
            let stats = st.rec.stats();
            let h = stats.histograms.get(&name).ok_or_else(missing)?;
            Ok(json_response(StatusCode::OK, h))
        }
        #[cfg(feature = "hdr")]
        "hdr" => {
            let text = st
                .rec
                .histogram_hdr_v2(&name)
                .ok_or_else(missing)?
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?;
            Ok((
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                text,
            )
                .into_response())
        }
        #[cfg(not(feature = "hdr"))]
        "hdr" => Err(ApiError::bad_parameter(
            "format",
            "hdr",
            "the hdr format needs flightring's `hdr` feature",
        )),
        other => Err(ApiError::bad_parameter(
            "format",
            other,
            "unknown format (expected json or hdr)",
        )),
    }
}

/// The body of `/events`.
#[derive(Serialize)]
struct EventsBody {
    /// Events returned.
    count: usize,
    /// The limit applied.
    limit: usize,
    /// Matching events, newest first.
    events: Vec<crate::EventRecord>,
}

async fn events(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref(), &EVENT_PARAMS)?;
    let max = st.opts.max_events;
    let limit = p.count("limit", max)?.unwrap_or(100.min(max));
    let query = event_query(&p, Some(limit))?;
    let rec = st.rec.clone();
    // A query scans the ring: off the async threads.
    let events = tokio::task::spawn_blocking(move || rec.query(&query))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        &EventsBody {
            count: events.len(),
            limit,
            events,
        },
    ))
}

/// `/events/stream`: the stream is [`stream::events_stream`]'s; this hands it the
/// recorder, the options and the shutdown signal.
async fn events_stream(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let last_id = headers
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    stream::events_stream(
        &st.rec,
        &st.opts,
        &st.counters,
        st.shutdown.clone(),
        q.as_deref(),
        last_id.as_deref(),
    )
}

/// Export formats of `/export`.
#[derive(Debug, Clone, Copy)]
enum ExportFormat {
    Json,
    Jsonl,
    Csv,
}

async fn export(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref(), &["format"])?;
    let (format, content_type, ext) = match p.get("format").unwrap_or("json") {
        "json" => (ExportFormat::Json, "application/json", "json"),
        "jsonl" => (ExportFormat::Jsonl, "application/x-ndjson", "jsonl"),
        "csv" => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        other => {
            return Err(ApiError::bad_parameter(
                "format",
                other,
                "unknown format (expected json, jsonl or csv)",
            ))
        }
    };
    let Ok(permit) = st.exports.clone().try_acquire_owned() else {
        // 429, not 503: busy is not unhealthy.
        let mut resp = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!(
                "{} exports already in progress; try again shortly",
                st.opts.max_concurrent_exports
            ),
        )
        .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Ok(resp);
    };
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let rec = st.rec.clone();
    // Snapshot and serialise on a blocking thread, handing the body over in chunks: a
    // slow client holds this thread and the snapshot, never the ring.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let snap: Snapshot = rec.snapshot();
        let mut w = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        let result = match format {
            ExportFormat::Json => snap.write_json(&mut w),
            ExportFormat::Jsonl => snap.write_jsonl(&mut w),
            ExportFormat::Csv => snap.write_csv(&mut w),
        };
        if result.is_ok() {
            let _ = io::Write::flush(&mut w);
        }
    });
    let body = stream::channel_body(rx);
    let disposition = format!(
        "attachment; filename=\"flightring-{}.{ext}\"",
        crate::Timestamp::now().to_string().replace(':', "")
    );
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Bytes per body chunk of a streamed export.
const CHUNK: usize = 64 << 10;

/// An `io::Write` that sends full chunks down a channel, blocking while the client is
/// behind; fails once the client has gone, which ends the export.
struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3"));
        assert!(authorized(&h, "s3"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer s3"));
        assert!(authorized(&h, "s3"), "the scheme is case-insensitive");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic s3"));
        assert!(!authorized(&h, "s3"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(!authorized(&h, ""), "an empty token never matches");
    }
}
