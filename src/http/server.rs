//! The server's own thread: a single-threaded Tokio runtime accepting connections,
//! each served by hyper with a header-read timeout, a bounded request buffer and a
//! write timeout, and a graceful shutdown that ends event streams and waits for
//! in-flight requests up to a grace period.
//!
//! # Admission
//!
//! A connection first has its request head read here ([`head::read_head`]), within the
//! header timeout; a head too slow (408), too long (414, 431) or unreadable (400) is
//! answered with a JSON body and closed. At most `max_connections +
//! probe_connections` connections may be at that stage: a newer one evicts the oldest
//! (408), so silent or dribbling connections, however many, cannot keep a new request
//! from being read. A connection with its head read takes one of `max_connections`
//! slots for as long as it lives (keep-alive), or, for `GET /health` and `GET
//! /metrics` when those are all taken, one of `probe_connections` reserved slots for
//! that one request. With no slot it is answered 429 `busy` with `Retry-After: 1` —
//! never 503, which `/health` means as Unhealthy. Every refusal is counted in
//! `flightring_http_refused_total{reason}` at `/metrics`.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, watch, Semaphore};

use super::counters::{Counters, Refusal};
use super::head::{self, HeadError};
use super::io::ClientIo;
use super::{routes, HttpError, HttpOptions};
use crate::control::Thread;
use crate::Recorder;

/// A running HTTP server (from [`serve`](super::serve)). Dropping it shuts it down
/// gracefully, like [`HttpServer::shutdown`].
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Thread,
}

impl HttpServer {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, ends event streams, lets in-flight requests finish
    /// for up to the grace period (`HttpOptions::shutdown_grace`), then returns.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        self.thread.join();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

pub(crate) fn start(
    rec: Recorder,
    addr: impl ToSocketAddrs,
    opts: HttpOptions,
) -> Result<HttpServer, HttpError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| HttpError::Address(e.to_string()))?
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("flightring-http")
        .max_blocking_threads(opts.max_concurrent_exports.max(1) + 2)
        .build()
        .map_err(HttpError::Runtime)?;
    let listener = {
        // The listener registers with this runtime's reactor.
        let _enter = runtime.enter();
        listen(&addrs)?
    };
    let local = listener.local_addr().map_err(HttpError::Runtime)?;
    let (stop, stop_rx) = watch::channel(false);
    let thread = Thread::spawn("flightring-http", move || {
        runtime.block_on(run(rec, listener, opts, stop_rx));
        // Blocking tasks still writing to gone clients are not waited for.
        runtime.shutdown_timeout(Duration::from_millis(100));
    })
    .map_err(HttpError::Runtime)?;
    Ok(HttpServer {
        addr: local,
        stop,
        thread,
    })
}

/// Connections the kernel queues before the server accepts them. std's
/// `TcpListener::bind` asks for 128; a flood fills that before the accept loop can
/// read and evict, so the socket is made by hand (tokio's `TcpSocket`) with more. The
/// kernel caps it at `net.core.somaxconn` (4096 on current Linux).
pub(crate) const LISTEN_BACKLOG: u32 = 1024;

/// Binds the first address that works, as `TcpListener::bind` would.
fn listen(addrs: &[SocketAddr]) -> Result<TcpListener, HttpError> {
    let mut last = None;
    for &addr in addrs {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let bound = socket.and_then(|s| {
            #[cfg(unix)]
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(LISTEN_BACKLOG)
        });
        match bound {
            Ok(l) => return Ok(l),
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(match last {
        Some((addr, source)) => HttpError::Bind {
            addr: addr.to_string(),
            source,
        },
        None => HttpError::Address("the address resolved to nothing".to_owned()),
    })
}

/// Pending connections at most (still sending their first request head); a newer one
/// evicts the oldest.
fn pending_limit(opts: &HttpOptions) -> usize {
    opts.max_connections + opts.probe_connections
}

/// What the accept loop and the connection tasks share.
struct Admission {
    /// Connections still sending their first head, oldest first; the sender evicts one.
    pending: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
    /// Connections being served, any path.
    general: Arc<Semaphore>,
    /// Reserved for `/health` and `/metrics` when `general` is full.
    probes: Arc<Semaphore>,
    counters: Arc<Counters>,
    header_timeout: Duration,
    write_timeout: Duration,
    max_target: usize,
    max_buf: usize,
}

impl Admission {
    fn pending(&self) -> MutexGuard<'_, BTreeMap<u64, oneshot::Sender<()>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn run(
    rec: Recorder,
    listener: TcpListener,
    opts: HttpOptions,
    mut stop: watch::Receiver<bool>,
) {
    let grace = opts.shutdown_grace;
    let counters = Counters::new();
    let max_pending = pending_limit(&opts);
    let adm = Arc::new(Admission {
        pending: Mutex::new(BTreeMap::new()),
        general: Arc::new(Semaphore::new(opts.max_connections.max(1))),
        probes: Arc::new(Semaphore::new(opts.probe_connections)),
        counters: counters.clone(),
        header_timeout: opts.header_read_timeout,
        write_timeout: opts.write_timeout,
        max_target: opts.max_request_bytes,
        max_buf: opts
            .max_request_bytes
            .saturating_add(2 * head::HEADER_BYTES + 64),
    });
    let app = routes::build(rec.clone(), opts, stop.clone(), None, counters);
    let graceful = GracefulShutdown::new();
    let mut next_id = 0u64;
    loop {
        let (stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|&s| s) => break,
        };
        let _ = stream.set_nodelay(true);
        let (evict, evicted) = oneshot::channel();
        next_id += 1;
        {
            let mut pending = adm.pending();
            while pending.len() >= max_pending {
                // The oldest connection still sending its head makes way: a flood of
                // silent or dribbling connections cannot keep a new one (a supervisor's
                // /health) from being read.
                let Some((_, oldest)) = pending.pop_first() else {
                    break;
                };
                let _ = oldest.send(());
            }
            pending.insert(next_id, evict);
        }
        tokio::spawn(connection(
            stream,
            next_id,
            evicted,
            adm.clone(),
            app.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

/// One connection: its first head is read here (within the header timeout, unless a
/// newer connection evicts it), then it takes a slot of its class and hyper serves it.
async fn connection(
    mut stream: TcpStream,
    id: u64,
    evicted: oneshot::Receiver<()>,
    adm: Arc<Admission>,
    app: axum::Router,
    watcher: Watcher,
) {
    let read = tokio::select! {
        r = tokio::time::timeout(adm.header_timeout, head::read_head(&mut stream, adm.max_target)) => {
            r.unwrap_or(Err(HeadError::Refused(Refusal::HeaderTimeout)))
        }
        _ = evicted => Err(HeadError::Refused(Refusal::Evicted)),
    };
    adm.pending().remove(&id);
    let head = match read {
        Ok(head) => head,
        Err(HeadError::Closed) => return,
        Err(HeadError::Refused(why)) => {
            adm.counters.refused(why);
            head::answer_and_close(stream, head::refusal_response(why, "")).await;
            return;
        }
    };
    // A general slot if there is one; else, for a probe, a reserved one.
    let (permit, reserved) = match adm.general.clone().try_acquire_owned() {
        Ok(p) => (Ok(p), false),
        Err(_) if head.probe => (adm.probes.clone().try_acquire_owned(), true),
        Err(e) => (Err(e), false),
    };
    let Ok(permit) = permit else {
        adm.counters.refused(Refusal::Busy);
        head::answer_and_close(stream, head::refusal_response(Refusal::Busy, "")).await;
        return;
    };
    let io = ClientIo::new(stream, head.bytes, adm.write_timeout, adm.counters.clone());
    let service = TowerToHyperService::new(app);
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(adm.header_timeout)
        .max_buf_size(adm.max_buf)
        // A reserved slot serves that one request: it cannot be kept for others.
        .keep_alive(!reserved)
        .serve_connection(TokioIo::new(io), service);
    let _ = watcher.watch(conn).await;
    drop(permit);
}
