//! The server's own thread: a single-threaded Tokio runtime accepting connections up
//! to a limit, each served by hyper with a header-read timeout and a bounded request
//! buffer, and a graceful shutdown that ends event streams and waits for in-flight
//! requests up to a grace period.

use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

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
    let std_listener = StdListener::bind(&addrs[..]).map_err(|source| HttpError::Bind {
        addr: addrs
            .first()
            .map_or_else(|| "(no address)".to_owned(), |a| a.to_string()),
        source,
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(HttpError::Runtime)?;
    let local = std_listener.local_addr().map_err(HttpError::Runtime)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("flightring-http")
        .max_blocking_threads(opts.max_concurrent_exports.max(1) + 2)
        .build()
        .map_err(HttpError::Runtime)?;
    let (stop, stop_rx) = watch::channel(false);
    let thread = Thread::spawn("flightring-http", move || {
        runtime.block_on(run(rec, std_listener, opts, stop_rx));
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

/// The answer to a connection over the limit, written before closing it.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 82\r\n\r\n{\"error\":\"busy\",\"message\":\"too many connections to the flightring HTTP endpoint\"}\n";

/// Answers a connection over the limit with 503 and closes it. The request is drained
/// first (briefly): closing with unread bytes would reset the connection and the
/// client could lose the answer.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = stream.write_all(BUSY).await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut total = 0;
        while let Ok(n) = stream.read(&mut sink).await {
            total += n;
            if n == 0 || total > 64 << 10 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

async fn run(
    rec: Recorder,
    std_listener: StdListener,
    opts: HttpOptions,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = TcpListener::from_std(std_listener) else {
        rec.set_fault("http", "could not register the listener with the runtime");
        return;
    };
    let grace = opts.shutdown_grace;
    let header_timeout = opts.header_read_timeout;
    let max_buf = opts.max_request_bytes.max(8 << 10);
    let connections = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let app = routes::build(rec.clone(), opts, stop.clone(), None);
    let graceful = GracefulShutdown::new();
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
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(max_buf)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::BUSY;

    #[test]
    fn busy_answer_declares_its_length() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(declared, body.len());
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "busy");
    }
}
