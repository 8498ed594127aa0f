//! The exporter's connection to its collector: `POST` a protobuf body with `ureq` (over
//! `http`, or `https` with rustls) and classify the answer.
//!
//! One [`ureq::Agent`] per exporter, used by the exporter's thread alone: it keeps one
//! idle connection, checks that the collector has not closed it before reusing it, and
//! never returns a connection that failed (or whose answer was not read to its end) to
//! its pool, so a retry after a failure starts on a fresh connection. Every step —
//! resolving, connecting, the TLS handshake, writing, reading the answer and its body —
//! shares the request's deadline. No proxy from the environment, no redirects, no
//! compression.
//!
//! Answers, following the OTLP/HTTP specification: 2xx is success (its body may carry
//! a partial success); 429, 502, 503 and 504 are retryable, honouring `Retry-After`
//! (delta-seconds or an HTTP-date, up to [`MAX_RETRY_AFTER`]); every other status is
//! permanent. Connection failures, TLS failures and timeouts are retryable.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{StatusCode, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::Agent;

/// Largest response body kept; a larger one is not read (and its connection closed).
const MAX_BODY: u64 = 1 << 20;
/// Longest `Retry-After` honoured.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A parsed `http[s]://host[:port][/path]` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    uri: Uri,
}

impl Endpoint {
    /// Parses `url`: `http` or `https`, a host, no user information.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err("contains spaces or control characters".into());
        }
        let uri: Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err("must start with http:// or https://".into());
        }
        let authority = uri.authority().ok_or("no host")?;
        if authority.as_str().contains('@') {
            return Err("user information in the URL is not supported: use a header".into());
        }
        if authority.host().is_empty() {
            return Err("no host".into());
        }
        let a = authority.as_str();
        let port = match a.rfind(']') {
            Some(i) => a[i + 1..].strip_prefix(':'),
            None => a.rsplit_once(':').map(|(_, p)| p),
        };
        if let Some(p) = port.filter(|p| p.parse::<u16>().is_err()) {
            return Err(format!("bad port `{p}`"));
        }
        Ok(Endpoint { uri })
    }

    fn is_https(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uri.fmt(f)
    }
}

/// Reads the PEM file `path` of CA certificates to trust instead of the public roots.
/// Every `CERTIFICATE` block must be a certificate usable as a trust anchor, and there
/// must be at least one.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut certs = Vec::new();
    let mut store = rustls::RootCertStore::empty();
    for item in ureq::tls::parse_pem(&pem) {
        // Keys and other blocks are not roots.
        if let PemItem::Certificate(c) =
            item.map_err(|e| format!("{}: not PEM: {e}", path.display()))?
        {
            store
                .add(rustls::pki_types::CertificateDer::from(c.der()))
                .map_err(|e| format!("{}: a bad certificate: {e}", path.display()))?;
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

/// How one `POST` ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// 2xx; the body (at most [`MAX_BODY`] bytes).
    Accepted { body: Vec<u8> },
    /// Worth retrying: a connection or TLS failure, a timeout, or 429/502/503/504.
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
    agent: Agent,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

impl Client {
    /// `ca`: the roots to trust for `https` instead of the public (Mozilla) ones.
    pub(crate) fn new(
        endpoint: Endpoint,
        headers: &[(String, String)],
        timeout: Duration,
        ca: Option<Vec<Certificate<'static>>>,
    ) -> Self {
        let roots = ca.map_or(RootCerts::WebPki, RootCerts::from);
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .https_only(endpoint.is_https())
            .proxy(None)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .user_agent(concat!("flightring/", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build()
            .new_agent();
        Client {
            endpoint,
            agent,
            headers: headers.to_vec(),
            timeout,
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends `body`; gives up at the request timeout or at `limit`, whichever is first.
    pub(crate) fn post(&mut self, body: &[u8], limit: Option<Instant>) -> Outcome {
        let timeout = limit.map_or(self.timeout, |l| {
            self.timeout
                .min(l.saturating_duration_since(Instant::now()))
        });
        if timeout.is_zero() {
            return retry(TIMED_OUT.to_owned());
        }
        let mut request = self
            .agent
            .post(self.endpoint.uri.clone())
            .header("Content-Type", "application/x-protobuf");
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        let sent = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(body);
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return retry(describe(e)),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(ureq::Error::BodyExceedsLimit(_)) => Vec::new(),
            // The collector began answering: it may have the batch (at least once).
            Err(e) => return retry(describe(e)),
        };
        classify(status, retry_after, &body)
    }
}

const TIMED_OUT: &str = "request timed out";

fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        reason,
        retry_after: None,
    }
}

/// What failed, briefly.
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => TIMED_OUT.to_owned(),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => TIMED_OUT.to_owned(),
        // A failed handshake comes as an I/O error from the TLS stream.
        ureq::Error::Io(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
            format!("TLS: {e}")
        }
        ureq::Error::Io(e) => e.to_string(),
        ureq::Error::Rustls(e) => format!("TLS: {e}"),
        e => e.to_string(),
    }
}

/// A `Retry-After` value: delta-seconds, or an HTTP-date (a past one is zero), capped
/// at [`MAX_RETRY_AFTER`]; `None` for anything else.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if value.is_empty() {
        return None;
    } else if value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is as long as can be.
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> Outcome {
    if status.is_success() {
        return Outcome::Accepted {
            body: body.to_vec(),
        };
    }
    let mut reason = format!("HTTP {}", status.as_u16());
    if let Some(r) = status.canonical_reason() {
        reason.push(' ');
        reason.push_str(r);
    }
    // A collector explains a refusal in a `google.rpc.Status` (protobuf) or text; keep
    // what is printable of it, briefly.
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let text = text.trim();
    if !text.is_empty() {
        reason.push_str(": ");
        reason.push_str(text);
    }
    match status.as_u16() {
        429 | 502 | 503 | 504 => Outcome::Retry {
            reason,
            retry_after,
        },
        status => Outcome::Rejected { status, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        for (url, shown) in [
            (
                "http://127.0.0.1:4318/v1/logs",
                "http://127.0.0.1:4318/v1/logs",
            ),
            ("http://collector", "http://collector/"),
            (
                "https://collector:4318/v1/logs",
                "https://collector:4318/v1/logs",
            ),
            (
                "http://[::1]:4318/v1/logs?x=1",
                "http://[::1]:4318/v1/logs?x=1",
            ),
            ("http://h?x", "http://h/?x"),
        ] {
            let e = Endpoint::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(e.to_string(), shown);
            assert_eq!(e.is_https(), url.starts_with("https:"));
        }
        for bad in [
            "ftp://h",
            "127.0.0.1:4318/v1/logs",
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
    fn retry_after_in_seconds() {
        let now = SystemTime::now();
        let p = |v| parse_retry_after(v, now);
        assert_eq!(p("7"), Some(Duration::from_secs(7)));
        assert_eq!(p(" 0 "), Some(Duration::ZERO));
        assert_eq!(p("301"), Some(MAX_RETRY_AFTER), "capped");
        assert_eq!(p("99999999999999999999999"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn retry_after_as_a_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let p = |v| parse_retry_after(v, now);
        assert_eq!(
            p("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        // The obsolete forms RFC 9110 says to accept.
        assert_eq!(
            p("Sunday, 06-Nov-94 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p("Sun Nov  6 08:50:07 1994"), Some(Duration::from_secs(30)));
        assert_eq!(
            p("Sun, 06 Nov 1994 08:49:00 GMT"),
            Some(Duration::ZERO),
            "past"
        );
        assert_eq!(
            p("Mon, 07 Nov 1994 08:49:37 GMT"),
            Some(MAX_RETRY_AFTER),
            "a day on: capped"
        );
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        let now = SystemTime::now();
        for v in [
            "",
            "  ",
            "-5",
            "1.5",
            "7s",
            "soon",
            "Wed, 21 Oct 2015",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            assert_eq!(parse_retry_after(v, now), None, "{v:?}");
        }
    }

    #[test]
    fn ca_files() {
        let dir = std::env::temp_dir().join(format!("flightring-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let missing = dir.join("missing.pem");
        assert!(load_ca_file(&missing).unwrap_err().contains("cannot read"));
        let empty = write("empty.pem", "");
        assert!(load_ca_file(&empty)
            .unwrap_err()
            .contains("no PEM certificate"));
        let text = write("text.pem", "not a certificate at all\n");
        assert!(load_ca_file(&text)
            .unwrap_err()
            .contains("no PEM certificate"));
        let junk = write(
            "junk.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        assert!(
            load_ca_file(&junk).unwrap_err().contains("bad certificate"),
            "{:?}",
            load_ca_file(&junk)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn classification() {
        let c = |s: u16, body: &[u8]| classify(StatusCode::from_u16(s).unwrap(), None, body);
        assert!(matches!(c(200, b""), Outcome::Accepted { .. }));
        assert!(matches!(c(204, b""), Outcome::Accepted { .. }));
        for s in [429, 502, 503, 504] {
            assert!(matches!(c(s, b""), Outcome::Retry { .. }), "{s}");
        }
        for s in [301, 400, 401, 404, 413, 500] {
            assert!(matches!(c(s, b""), Outcome::Rejected { .. }), "{s}");
        }
        match c(400, b"bad\x00 data\n") {
            Outcome::Rejected { reason, .. } => {
                assert_eq!(reason, "HTTP 400 Bad Request: bad data")
            }
            o => panic!("{o:?}"),
        }
        let wait = Some(Duration::from_secs(3));
        match classify(StatusCode::from_u16(503).unwrap(), wait, b"") {
            Outcome::Retry { retry_after, .. } => assert_eq!(retry_after, wait),
            o => panic!("{o:?}"),
        }
    }
}
