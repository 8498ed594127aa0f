//! Reading a connection's first request head before hyper takes the connection: the
//! server learns the path (so `/health` and `/metrics` can use their reserved slots),
//! and answers a head that is too long, too slow or unreadable itself, with a JSON body
//! naming what was wrong, instead of closing in silence.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::counters::Refusal;

/// Bytes of headers (after the request line) a request may send.
pub(crate) const HEADER_BYTES: usize = 8 << 10;

/// A request head read whole.
#[derive(Debug)]
pub(crate) struct Head {
    /// Everything read so far: the head, and whatever followed it in the same reads.
    pub(crate) bytes: Vec<u8>,
    /// Whether it asks for `/health` or `/metrics` (`GET` or `HEAD`).
    pub(crate) probe: bool,
}

/// Why no head was read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The client closed (or failed) before sending a whole head: nobody to answer.
    Closed,
    /// A head the server refuses, and why.
    Refused(Refusal),
}

/// Reads until the end of the request head (an empty line). The request line may be
/// `max_target + 64` bytes long (the target at most `max_target`), the head at most
/// that plus [`HEADER_BYTES`].
pub(crate) async fn read_head(
    stream: &mut TcpStream,
    max_target: usize,
) -> Result<Head, HeadError> {
    let max_line = max_target.saturating_add(64);
    let max_head = max_line.saturating_add(HEADER_BYTES);
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(HeadError::Closed),
            Ok(n) => n,
        };
        let from = bytes.len().saturating_sub(3);
        bytes.extend_from_slice(&chunk[..n]);
        match memchr::memchr(b'\n', &bytes) {
            Some(eol) => check_request_line(&bytes[..eol], max_target)?,
            None if bytes.len() > max_line => return Err(HeadError::Refused(Refusal::UriTooLong)),
            None => continue,
        }
        if let Some(end) = head_end(&bytes, from) {
            if end > max_head {
                return Err(HeadError::Refused(Refusal::HeadersTooLarge));
            }
            let probe = is_probe(&bytes);
            return Ok(Head { bytes, probe });
        }
        if bytes.len() > max_head {
            return Err(HeadError::Refused(Refusal::HeadersTooLarge));
        }
    }
}

/// Where the head ends (just past its empty line), searching from `from`.
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = &bytes[from..];
    memchr::memmem::find(tail, b"\r\n\r\n")
        .map(|i| from + i + 4)
        .or_else(|| memchr::memmem::find(tail, b"\n\n").map(|i| from + i + 2))
}

/// `METHOD SP target SP version`, the target at most `max_target` bytes.
fn check_request_line(line: &[u8], max_target: usize) -> Result<(), HeadError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Refused(Refusal::BadRequest));
    };
    if method.is_empty() || target.is_empty() || !version.starts_with(b"HTTP/") {
        return Err(HeadError::Refused(Refusal::BadRequest));
    }
    if target.len() > max_target {
        return Err(HeadError::Refused(Refusal::UriTooLong));
    }
    Ok(())
}

/// Whether the request line asks for `/health` or `/metrics`.
fn is_probe(bytes: &[u8]) -> bool {
    let mut parts = bytes.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    matches!(method, b"GET" | b"HEAD") && matches!(path, b"/health" | b"/metrics")
}

/// The answer to a refused connection: a status line, headers and a JSON body.
pub(crate) fn refusal_response(why: Refusal, detail: &str) -> Vec<u8> {
    let (status, error, message) = match why {
        Refusal::Busy => (
            "429 Too Many Requests",
            "busy",
            "too many connections to the flightring HTTP endpoint; retry shortly",
        ),
        Refusal::HeaderTimeout => (
            "408 Request Timeout",
            "request_timeout",
            "the request headers did not arrive within the header timeout",
        ),
        Refusal::Evicted => (
            "408 Request Timeout",
            "request_timeout",
            "the request headers had not arrived when the server needed the connection for another client",
        ),
        Refusal::UriTooLong => (
            "414 URI Too Long",
            "uri_too_long",
            "the request target is longer than the server accepts",
        ),
        Refusal::HeadersTooLarge => (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "the request headers are larger than the server accepts",
        ),
        Refusal::BadRequest => (
            "400 Bad Request",
            "bad_request",
            "the request line is not METHOD TARGET HTTP/VERSION",
        ),
    };
    let message = if detail.is_empty() {
        message.to_owned()
    } else {
        format!("{message} ({detail})")
    };
    let mut body = serde_json::json!({"error": error, "message": message}).to_string();
    body.push('\n');
    let retry = if why == Refusal::Busy {
        "retry-after: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{retry}connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes `answer` and closes. What the client still sends is drained first (briefly,
/// at most 64 KiB): closing with unread bytes would reset the connection and the
/// client could lose the answer.
pub(crate) async fn answer_and_close(mut stream: TcpStream, answer: Vec<u8>) {
    let work = async {
        if stream.write_all(&answer).await.is_err() {
            return;
        }
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let mut total = 0;
        while let Ok(n) = stream.read(&mut sink).await {
            total += n;
            if n == 0 || total > 64 << 10 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), work).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_declares_its_length_and_is_json() {
        for why in Refusal::ALL {
            let bytes = refusal_response(why, "detail");
            let text = std::str::from_utf8(&bytes).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let declared: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(declared, body.len(), "{why:?}");
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
            assert!(!head.contains(" 503 "), "busy is not unhealthy");
        }
    }

    #[test]
    fn request_lines_are_checked() {
        assert_eq!(check_request_line(b"GET /health HTTP/1.1\r", 100), Ok(()));
        assert_eq!(
            check_request_line(b"GET /health", 100),
            Err(HeadError::Refused(Refusal::BadRequest))
        );
        assert_eq!(
            check_request_line(b"GET /aaaaaaaa HTTP/1.1", 4),
            Err(HeadError::Refused(Refusal::UriTooLong))
        );
        assert!(is_probe(b"GET /health HTTP/1.1\r\n\r\n"));
        assert!(is_probe(b"GET /metrics?x=1 HTTP/1.1\r\n\r\n"));
        assert!(!is_probe(b"GET /export HTTP/1.1\r\n\r\n"));
        assert!(!is_probe(b"POST /health HTTP/1.1\r\n\r\n"));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nh: v\r\n\r\nbody", 0), Some(24));
    }
}
