//! The endpoint's own figures: connections it answered without serving (by reason),
//! connections cut for not reading, and the bytes event streams hold for their
//! clients. Served at `/metrics` beside the recorder's metrics.
//!
//! A leaf of the `http` module: the server (admission), the router (`/metrics`) and
//! the event stream (its byte budget) all count here.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;

/// Why a connection was answered without being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 429: every connection slot of its class was taken.
    Busy,
    /// 408: the request headers did not arrive within the header timeout.
    HeaderTimeout,
    /// 408: it was still sending its headers when a newer connection needed its place.
    Evicted,
    /// 414: the request target was longer than `max_request_bytes`.
    UriTooLong,
    /// 431: the request line and headers were longer than the head limit.
    HeadersTooLarge,
    /// 400: the request line could not be read.
    BadRequest,
}

impl Refusal {
    pub(crate) const ALL: [Refusal; 6] = [
        Refusal::Busy,
        Refusal::HeaderTimeout,
        Refusal::Evicted,
        Refusal::UriTooLong,
        Refusal::HeadersTooLarge,
        Refusal::BadRequest,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::Busy => "busy",
            Refusal::HeaderTimeout => "header_timeout",
            Refusal::Evicted => "evicted",
            Refusal::UriTooLong => "uri_too_long",
            Refusal::HeadersTooLarge => "headers_too_large",
            Refusal::BadRequest => "bad_request",
        }
    }
}

/// The figures; one per server (or mounted router), shared by its tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Connections refused, indexed like [`Refusal::ALL`]. Only grow.
    refused: [AtomicU64; 6],
    /// Connections cut because the client did not read for the write timeout. Only grows.
    write_timeouts: AtomicU64,
    /// Bytes of event-stream frames made and not yet written to their client's socket
    /// (queued for the connection or in its write buffer): `0 ..= the SSE budget` plus
    /// at most one frame per stream.
    sse_bytes: AtomicUsize,
    /// Event streams open now.
    sse_streams: AtomicUsize,
}

impl Counters {
    pub(crate) fn new() -> Arc<Counters> {
        Arc::new(Counters::default())
    }

    pub(crate) fn refused(&self, why: Refusal) {
        let i = Refusal::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.refused[i].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn write_timeout(&self) {
        self.write_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes all event streams hold now.
    pub(crate) fn sse_bytes(&self) -> usize {
        self.sse_bytes.load(Ordering::Relaxed)
    }

    /// Counts an event stream open until the guard is dropped.
    pub(crate) fn sse_stream(self: &Arc<Self>) -> StreamGuard {
        self.sse_streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self.clone())
    }

    /// The figures as Prometheus text (format 0.0.4).
    pub(crate) fn to_prometheus(&self) -> String {
        let mut s = String::with_capacity(1024);
        s.push_str("# HELP flightring_http_refused_total Connections the HTTP endpoint answered without serving them, by reason.\n");
        s.push_str("# TYPE flightring_http_refused_total counter\n");
        for (r, n) in Refusal::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                s,
                "flightring_http_refused_total{{reason=\"{}\"}} {}",
                r.label(),
                n.load(Ordering::Relaxed)
            );
        }
        s.push_str("# HELP flightring_http_write_timeouts_total Connections cut because the client stopped reading.\n");
        s.push_str("# TYPE flightring_http_write_timeouts_total counter\n");
        let _ = writeln!(
            s,
            "flightring_http_write_timeouts_total {}",
            self.write_timeouts.load(Ordering::Relaxed)
        );
        s.push_str("# HELP flightring_http_sse_buffered_bytes Bytes event streams hold for clients that have not read them yet.\n");
        s.push_str("# TYPE flightring_http_sse_buffered_bytes gauge\n");
        let _ = writeln!(s, "flightring_http_sse_buffered_bytes {}", self.sse_bytes());
        s.push_str("# HELP flightring_http_sse_streams Event streams open.\n");
        s.push_str("# TYPE flightring_http_sse_streams gauge\n");
        let _ = writeln!(
            s,
            "flightring_http_sse_streams {}",
            self.sse_streams.load(Ordering::Relaxed)
        );
        s
    }
}

/// An open event stream, counted in `flightring_http_sse_streams` while it lives.
#[derive(Debug)]
pub(crate) struct StreamGuard(Arc<Counters>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.sse_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Bytes held for one event-stream client: what its frames in flight weigh, in this
/// stream's figure and the server-wide one, until the connection has written (and
/// dropped) them.
#[derive(Debug)]
pub(crate) struct Budget {
    counters: Arc<Counters>,
    /// This stream's frames not yet written: `0 ..= its budget` plus one frame.
    held: Arc<AtomicUsize>,
}

impl Budget {
    pub(crate) fn new(counters: Arc<Counters>) -> Budget {
        Budget {
            counters,
            held: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Bytes this stream holds now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Bytes all streams hold now.
    pub(crate) fn total(&self) -> usize {
        self.counters.sse_bytes()
    }

    /// `frame` as a body chunk that counts its bytes until it is dropped.
    pub(crate) fn track(&self, frame: Vec<u8>) -> Bytes {
        let n = frame.len();
        self.held.fetch_add(n, Ordering::Relaxed);
        self.counters.sse_bytes.fetch_add(n, Ordering::Relaxed);
        Bytes::from_owner(Tracked {
            frame,
            held: self.held.clone(),
            counters: self.counters.clone(),
        })
    }
}

/// A frame's bytes, uncounted when the last reference to them goes.
struct Tracked {
    frame: Vec<u8>,
    held: Arc<AtomicUsize>,
    counters: Arc<Counters>,
}

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.frame
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let n = self.frame.len();
        self.held.fetch_sub(n, Ordering::Relaxed);
        self.counters.sse_bytes.fetch_sub(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_bytes_are_counted_until_dropped() {
        let c = Counters::new();
        let b = Budget::new(c.clone());
        let one = b.track(vec![1; 100]);
        let two = b.track(vec![2; 50]);
        let part = one.slice(10..20);
        assert_eq!((b.held(), c.sse_bytes()), (150, 150));
        drop(one);
        assert_eq!(b.held(), 150, "a slice keeps the frame");
        drop(part);
        drop(two);
        assert_eq!((b.held(), c.sse_bytes()), (0, 0));
    }

    #[test]
    fn every_reason_is_rendered() {
        let c = Counters::new();
        c.refused(Refusal::Busy);
        c.refused(Refusal::Busy);
        c.refused(Refusal::HeadersTooLarge);
        let text = c.to_prometheus();
        assert!(text.contains("flightring_http_refused_total{reason=\"busy\"} 2\n"));
        assert!(text.contains("{reason=\"headers_too_large\"} 1\n"));
        assert!(text.contains("{reason=\"evicted\"} 0\n"));
    }
}
