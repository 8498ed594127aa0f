//! `GET /events/stream`: server-sent events of new events as they are recorded.
//!
//! Each client gets its own [`Cursor`](crate::Cursor), polled on a timer by a task
//! that frames the matching events and hands them to the connection through a small
//! bounded channel. Every frame counts its bytes until the connection has written and
//! dropped it ([`Budget`]): a client that reads slower than events arrive fills its
//! budget (`stream_buffer_bytes`), or all streams fill theirs (`stream_total_bytes`);
//! the task then stops reading, its cursor falls behind, and the ring overwrites what
//! it has not read. Writers never notice, and memory stays bounded. When the task catches up, the cursor counts what
//! it missed and the client gets a `lost` notice before the next events:
//!
//! ```text
//! event: lost
//! data: {"lost":1200,"total_lost":1200}
//! ```
//!
//! So over a stream, events received + `total_lost` = events recorded since it
//! started (less those filtered out). The stream ends with an `end` event when the
//! recorder is closed or the server shuts down, or after `limit` events.
//!
//! This module knows the recorder, the options and the shutdown signal, not the
//! router: [`events_stream`] takes them as arguments, and the router's handler hands
//! them over from its state. [`channel_body`], the body fed through a channel, is
//! shared with the streamed `/export`.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::counters::{Budget, Counters};
use super::params::{event_query, ApiError, Params, EVENT_PARAMS};
use super::HttpOptions;
use crate::{EventRecord, Recorder};

/// How long an idle stream waits before sending a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events read from the cursor per poll: a frame holds at most this many.
const POLL_BATCH: usize = 128;

/// A response body of the chunks sent down `rx`, ending when every sender has gone:
/// what a task producing a body (an event stream, an export) hands the connection.
pub(crate) fn channel_body(rx: mpsc::Receiver<Bytes>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }))
}

/// Answers `GET /events/stream` with query string `raw_query`: checks the parameters,
/// then spawns the task that follows `rec` (on the current Tokio runtime) and returns
/// the response whose body it feeds. The stream ends when `shutdown` turns `true`.
pub(crate) fn events_stream(
    rec: &Recorder,
    opts: &HttpOptions,
    counters: &Arc<Counters>,
    mut shutdown: watch::Receiver<bool>,
    raw_query: Option<&str>,
    last_event_id: Option<&str>,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw_query, &EVENT_PARAMS)?;
    let limit = p.count("limit", usize::MAX)?;
    let query = event_query(&p, None)?;
    let (tx, rx) = mpsc::channel::<Bytes>(opts.stream_buffer_frames.max(1));
    let poll_every = opts.stream_poll;
    let (per_stream, all_streams) = (opts.stream_buffer_bytes, opts.stream_total_bytes);
    let budget = Budget::new(counters.clone());
    let open = counters.sse_stream();
    let rec = rec.clone();
    // Created before the response goes out: a client that has the headers is
    // following from then on. A reconnect with `Last-Event-ID` (a frame's `id:`, the
    // cursor's place after that frame) resumes there: what was recorded meanwhile
    // comes first, and what the ring overwrote meanwhile is one exact `lost` notice.
    let resumed = last_event_id.map(|t| rec.cursor_from_token(t));
    let reset = matches!(resumed, Some(None));
    let mut cursor = resumed.flatten().unwrap_or_else(|| rec.cursor());
    tokio::spawn(async move {
        let _open = open;
        // Room for another frame: a free place in the channel, and (unless this client
        // holds nothing, so that every stream progresses) its bytes and every stream's
        // under their budgets.
        let room = |tx: &mpsc::Sender<Bytes>| {
            tx.capacity() > 0
                && (budget.held() == 0
                    || (budget.held() < per_stream && budget.total() < all_streams))
        };
        let mut batch: Vec<EventRecord> = Vec::with_capacity(POLL_BATCH);
        let mut frame: Vec<u8> = Vec::with_capacity(16 << 10);
        let mut sent = 0usize;
        let mut idle = Duration::ZERO;
        let mut tick = tokio::time::interval(poll_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let _ = write!(frame, ": flightring event stream\nretry: 1000\n\n");
        if reset {
            let _ = write!(
                frame,
                "event: reset\ndata: {{\"reason\":\"Last-Event-ID is not a place in this recorder's stream (restarted?): following from now\"}}\n\n"
            );
        }
        'stream: loop {
            // Drain what the cursor has, a batch at a time, while the client has room.
            // Without room the cursor stays put: the ring overwrites what it has not
            // read and the cursor counts it, so the client is told the exact loss.
            while room(&tx) {
                batch.clear();
                let lost = cursor.poll_into(&mut batch, POLL_BATCH);
                if lost > 0 {
                    let _ = write!(
                        frame,
                        "event: lost\ndata: {{\"lost\":{lost},\"total_lost\":{}}}\n\n",
                        cursor.lost()
                    );
                }
                let matched = batch.iter().filter(|e| query.matches(e)).count();
                let mut left = matched;
                for e in batch.iter().filter(|e| query.matches(e)) {
                    left -= 1;
                    frame.extend_from_slice(b"event: event\n");
                    // The frame's last event carries the cursor's place after the whole
                    // batch (frames go out whole): a reconnect resumes after it.
                    if left == 0 {
                        let _ = writeln!(frame, "id: {}", cursor.token());
                    }
                    frame.extend_from_slice(b"data: ");
                    let _ = serde_json::to_writer(&mut frame, e);
                    frame.extend_from_slice(b"\n\n");
                    sent += 1;
                    if limit.is_some_and(|n| sent >= n) {
                        frame.extend_from_slice(b"event: end\ndata: {\"reason\":\"limit\"}\n\n");
                        let _ = tx.send(budget.track(std::mem::take(&mut frame))).await;
                        break 'stream;
                    }
                }
                if !frame.is_empty() {
                    idle = Duration::ZERO;
                    let bytes =
                        budget.track(std::mem::replace(&mut frame, Vec::with_capacity(16 << 10)));
                    // `room` saw a free place, and this task is the only sender.
                    if tx.try_send(bytes).is_err() {
                        break 'stream;
                    }
                }
                if batch.len() < POLL_BATCH {
                    break;
                }
            }
            if rec.is_closed() {
                let _ = tx
                    .send(Bytes::from_static(
                        b"event: end\ndata: {\"reason\":\"closed\"}\n\n",
                    ))
                    .await;
                break;
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = tx.closed() => break,
                _ = shutdown.wait_for(|&s| s) => {
                    let _ = tx.try_send(Bytes::from_static(
                        b"event: end\ndata: {\"reason\":\"shutdown\"}\n\n",
                    ));
                    break;
                }
            }
            idle += poll_every;
            if idle >= KEEP_ALIVE {
                idle = Duration::ZERO;
                frame.extend_from_slice(b": keep-alive\n\n");
            }
        }
    });
    let body = channel_body(rx);
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}
