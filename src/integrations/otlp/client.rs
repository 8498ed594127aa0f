//! A small blocking HTTP/1.1 client for one thing: `POST` a protobuf body to the
//! collector's plain-`http` endpoint and classify the answer.
//!
//! One connection is kept alive between requests. A request that fails on a reused
//! connection before any byte of the answer arrived (the collector closed the idle
//! connection) is sent once more on a new connection, as browsers and `hyper` do; a
//! request that fails on a new connection is a failed attempt. Every step — resolving,
//! connecting, writing, reading — shares the request's deadline.
//!
//! Answers, following the OTLP/HTTP specification: 2xx is success (its body may carry
//! a partial success); 429, 502, 503 and 504 are retryable, honouring `Retry-After`
//! (seconds); every other status is permanent. Connection failures and timeouts are
//! retryable.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest response head (status line and headers) read.
const MAX_HEAD: usize = 64 << 10;
/// Largest response body kept; a larger one is skipped and the connection closed.
const MAX_BODY: usize = 1 << 20;
/// Longest `Retry-After` honoured.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A parsed `http://host[:port][/path]` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Host name or address as written (IPv6 without brackets).
    host: String,
    port: u16,
    /// `host[:port]` for the `Host` header.
    authority: String,
    /// Path and query, starting with `/`.
    path: String,
}

impl Endpoint {
    /// Parses `url`: plain `http` only (run a collector on the host or a TLS-terminating
    /// proxy for `https`).
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(
                "https is not supported: send to a collector (or TLS-terminating \
                        proxy) reachable over plain http, e.g. one on this host"
                    .into(),
            );
        } else {
            return Err("must start with http://".into());
        };
        if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err("contains spaces or control characters".into());
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err("user information in the URL is not supported: use a header".into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
            match after {
                "" => (h, None),
                p => (h, Some(p.strip_prefix(':').ok_or("junk after ]")?)),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        let port = match port {
            None => 80,
            Some(p) => p.parse().map_err(|_| format!("bad port `{p}`"))?,
        };
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.path)
    }
}

/// How one `POST` ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// 2xx; the body (at most [`MAX_BODY`] bytes).
    Accepted { body: Vec<u8> },
    /// Worth retrying: a connection failure, a timeout, or 429/502/503/504.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Any other status: sending the same body again will not help.
    Rejected { status: u16, reason: String },
}

/// The exporter's connection to its collector.
#[derive(Debug)]
pub(crate) struct Client {
    endpoint: Endpoint,
    /// The request head without `Content-Length` and the blank line.
    head: Vec<u8>,
    timeout: Duration,
    conn: Option<TcpStream>,
    /// Response bytes read and not yet consumed.
    buf: Vec<u8>,
}

impl Client {
    pub(crate) fn new(endpoint: Endpoint, headers: &[(String, String)], timeout: Duration) -> Self {
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-protobuf\r\n\
             User-Agent: flightring/{}\r\n",
            endpoint.path,
            endpoint.authority,
            env!("CARGO_PKG_VERSION")
        );
        for (k, v) in headers {
            head.push_str(k);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        Client {
            endpoint,
            head: head.into_bytes(),
            timeout,
            conn: None,
            buf: Vec::new(),
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends `body`; gives up at the request timeout or at `limit`, whichever is first.
    pub(crate) fn post(&mut self, body: &[u8], limit: Option<Instant>) -> Outcome {
        let mut deadline = Instant::now() + self.timeout;
        if let Some(l) = limit {
            deadline = deadline.min(l);
        }
        let reused = self.conn.is_some();
        match self.exchange(body, deadline) {
            Err(Failed {
                answered: false, ..
            }) if reused => {
                // The idle connection was closed by the other side: once more, fresh.
                self.conn = None;
                self.exchange(body, deadline)
            }
            r => r,
        }
        .unwrap_or_else(|f| {
            self.conn = None;
            Outcome::Retry {
                reason: f.error.to_string(),
                retry_after: None,
            }
        })
    }

    fn exchange(&mut self, body: &[u8], deadline: Instant) -> Result<Outcome, Failed> {
        let before = |error| Failed {
            error,
            answered: false,
        };
        if self.conn.is_none() {
            self.conn = Some(connect(&self.endpoint, deadline).map_err(before)?);
            self.buf.clear();
        }
        let mut request = Vec::with_capacity(self.head.len() + 32);
        request.extend_from_slice(&self.head);
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        let conn = self.conn.as_mut().ok_or_else(|| before(closed()))?;
        write_all(conn, &request, deadline).map_err(before)?;
        write_all(conn, body, deadline).map_err(before)?;
        loop {
            let head = read_head(conn, &mut self.buf, deadline)?;
            let (body, reusable) =
                read_body(conn, &mut self.buf, &head, deadline).map_err(|error| Failed {
                    error,
                    answered: true,
                })?;
            if head.status < 200 {
                continue; // 100 Continue and other interim answers
            }
            if head.close || !reusable {
                self.conn = None;
            }
            return Ok(classify(&head, body));
        }
    }
}

struct Failed {
    error: io::Error,
    /// Some of the answer had arrived: the collector saw the request.
    answered: bool,
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed by the collector",
    )
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "request timed out")
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(timed_out())
    } else {
        Ok(left)
    }
}

fn connect(ep: &Endpoint, deadline: Instant) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = (ep.host.as_str(), ep.port).to_socket_addrs()?.collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn write_all(s: &mut TcpStream, mut b: &[u8], deadline: Instant) -> io::Result<()> {
    while !b.is_empty() {
        s.set_write_timeout(Some(remaining(deadline)?))?;
        match s.write(b) {
            Ok(0) => return Err(closed()),
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(deadline_error(e)),
        }
    }
    Ok(())
}

/// Reads more into `buf`; `Ok(0)` at end of stream.
fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<usize> {
    let mut chunk = [0u8; 8192];
    loop {
        s.set_read_timeout(Some(remaining(deadline)?))?;
        match s.read(&mut chunk) {
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(deadline_error(e)),
        }
    }
}

/// A socket timeout reads as `WouldBlock` on Unix: say what it is.
fn deadline_error(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(),
        _ => e,
    }
}

/// The parts of a response head the exporter uses.
#[derive(Debug, Default)]
struct Head {
    status: u16,
    reason: String,
    content_length: Option<usize>,
    chunked: bool,
    close: bool,
    retry_after: Option<Duration>,
}

fn read_head(s: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Result<Head, Failed> {
    let end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(Failed {
                error: io::Error::new(io::ErrorKind::InvalidData, "response head too large"),
                answered: true,
            });
        }
        let answered = !buf.is_empty();
        match fill(s, buf, deadline) {
            Ok(0) => {
                return Err(Failed {
                    error: closed(),
                    answered,
                })
            }
            Ok(_) => {}
            Err(error) => return Err(Failed { error, answered }),
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    parse_head(&text).ok_or_else(|| Failed {
        error: io::Error::new(io::ErrorKind::InvalidData, "malformed response head"),
        answered: true,
    })
}

fn parse_head(text: &str) -> Option<Head> {
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut head = Head {
        status: parts.next()?.parse().ok()?,
        reason: parts.next().unwrap_or("").to_owned(),
        close: version == "HTTP/1.0",
        ..Head::default()
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => head.content_length = Some(value.parse().ok()?),
            "transfer-encoding" => head.chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => {
                let v = value.to_ascii_lowercase();
                head.close = v.contains("close") || (head.close && !v.contains("keep-alive"));
            }
            "retry-after" => {
                head.retry_after = value
                    .parse::<u64>()
                    .ok()
                    .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
            }
            _ => {}
        }
    }
    Some(head)
}

/// Reads the body; the flag says whether the connection can be reused (not when the
/// body was too large to keep, nor when the end of the connection delimited it).
fn read_body(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    head: &Head,
    deadline: Instant,
) -> io::Result<(Vec<u8>, bool)> {
    if head.status < 200 || head.status == 204 || head.status == 304 {
        return Ok((Vec::new(), true));
    }
    if head.chunked {
        return read_chunked(s, buf, deadline);
    }
    match head.content_length {
        Some(n) if n > MAX_BODY => Ok((Vec::new(), false)),
        Some(n) => {
            while buf.len() < n {
                if fill(s, buf, deadline)? == 0 {
                    return Err(closed());
                }
            }
            Ok((buf.drain(..n).collect(), true))
        }
        None => {
            while buf.len() <= MAX_BODY && fill(s, buf, deadline)? > 0 {}
            let mut body = std::mem::take(buf);
            body.truncate(MAX_BODY);
            Ok((body, false))
        }
    }
}

fn read_chunked(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> io::Result<(Vec<u8>, bool)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed chunked body");
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if buf.len() > 1024 || fill(s, buf, deadline)? == 0 {
                return Err(bad());
            }
        };
        let line = std::str::from_utf8(&buf[..line_end]).map_err(|_| bad())?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad())?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                if let Some(i) = find(buf, b"\r\n") {
                    buf.drain(..i + 2);
                    if i == 0 {
                        return Ok((body, true));
                    }
                } else if fill(s, buf, deadline)? == 0 {
                    return Err(bad());
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Ok((body, false));
        }
        while buf.len() < size + 2 {
            if fill(s, buf, deadline)? == 0 {
                return Err(closed());
            }
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn classify(head: &Head, body: Vec<u8>) -> Outcome {
    let status = head.status;
    if (200..300).contains(&status) {
        return Outcome::Accepted { body };
    }
    let mut reason = format!("HTTP {status}");
    if !head.reason.is_empty() {
        reason.push(' ');
        reason.push_str(&head.reason);
    }
    // A collector explains a refusal in a `google.rpc.Status` (protobuf) or text; keep
    // what is printable of it, briefly.
    let text: String = String::from_utf8_lossy(&body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let text = text.trim();
    if !text.is_empty() {
        reason.push_str(": ");
        reason.push_str(text);
    }
    match status {
        429 | 502 | 503 | 504 => Outcome::Retry {
            reason,
            retry_after: head.retry_after,
        },
        _ => Outcome::Rejected { status, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:4318/v1/logs").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 4318, "/v1/logs")
        );
        assert_eq!(e.to_string(), "http://127.0.0.1:4318/v1/logs");
        let e = Endpoint::parse("http://collector").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("collector", 80, "/")
        );
        let e = Endpoint::parse("http://[::1]:4318/v1/logs?x=1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.authority.as_str()),
            ("::1", 4318, "[::1]:4318")
        );
        let e = Endpoint::parse("http://h?x").unwrap();
        assert_eq!(e.path, "/?x");
        for bad in [
            "https://h/v1/logs",
            "ftp://h",
            "http://:80/",
            "http://h:port/",
            "http://h:99999/",
            "http://u:p@h/",
            "http://h/a b",
            "http://[::1/",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn heads() {
        let h = parse_head(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\ncontent-length: 3\r\n\
             Connection: close",
        )
        .unwrap();
        assert_eq!((h.status, h.reason.as_str()), (503, "Service Unavailable"));
        assert_eq!(h.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(
            (h.content_length, h.close, h.chunked),
            (Some(3), true, false)
        );
        let h = parse_head("HTTP/1.0 200 OK\r\nConnection: keep-alive").unwrap();
        assert!(!h.close);
        assert!(parse_head("HTTP/1.0 200 OK").unwrap().close);
        assert!(parse_head("SSH-2.0").is_none());
        assert!(parse_head("HTTP/1.1 abc").is_none());
        let h = parse_head("HTTP/1.1 429 Too Many\r\nRetry-After: Wed, 21 Oct 2015").unwrap();
        assert_eq!(h.retry_after, None, "dates fall back to the backoff");
    }

    #[test]
    fn classification() {
        let head = |status| Head {
            status,
            ..Head::default()
        };
        assert!(matches!(
            classify(&head(200), vec![]),
            Outcome::Accepted { .. }
        ));
        assert!(matches!(
            classify(&head(204), vec![]),
            Outcome::Accepted { .. }
        ));
        for s in [429, 502, 503, 504] {
            assert!(
                matches!(classify(&head(s), vec![]), Outcome::Retry { .. }),
                "{s}"
            );
        }
        for s in [400, 401, 404, 413, 500] {
            assert!(
                matches!(classify(&head(s), vec![]), Outcome::Rejected { .. }),
                "{s}"
            );
        }
        match classify(&head(400), b"bad\x00 data\n".to_vec()) {
            Outcome::Rejected { reason, .. } => assert_eq!(reason, "HTTP 400: bad data"),
            o => panic!("{o:?}"),
        }
    }
}
