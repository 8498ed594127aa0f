//! The delivery channels: console, rotated JSON Lines file, webhook, Slack, Discord and
//! SMTP. Each is a [`Channel`]; the [`AlertManager`](super::AlertManager) runs each on
//! its own thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::{Alert, AlertConfigError};
use crate::monitor::MissSeverity;

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Writing (console, file) failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The receiver answered with a status other than 2xx.
    #[error("HTTP status {status}")]
    Http {
        /// The status.
        status: u16,
    },
    /// The HTTP request did not complete (refused, timed out, reset).
    #[error("HTTP transport: {0}")]
    Transport(String),
    /// The SMTP exchange failed.
    #[error("SMTP: {0}")]
    Smtp(String),
    /// The channel's `deliver` panicked (a channel of your own, or a formatter it
    /// calls): the alert counts as failed, is not retried, and the channel's thread
    /// goes on with the next alert.
    #[error("the channel panicked: {0}")]
    Panicked(String),
}

/// Somewhere alerts go. Implement it for a channel of your own; `deliver` runs on the
/// channel's own thread and may block (the manager retries failures with backoff).
pub trait Channel: Send + 'static {
    /// The channel's name in stats, `/alerts`-style listings and fault reasons.
    fn name(&self) -> &str;
    /// Delivers one alert, or says why not.
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError>;
}

// ---------------------------------------------------------------------- console

/// The relay's console shape ([`Alert::console_text`]), one alert per paragraph.
pub struct ConsoleChannel {
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for ConsoleChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleChannel").finish_non_exhaustive()
    }
}

impl ConsoleChannel {
    /// To standard error.
    pub fn stderr() -> Self {
        ConsoleChannel {
            out: Box::new(io::stderr()),
        }
    }
    /// To standard output.
    pub fn stdout() -> Self {
        ConsoleChannel {
            out: Box::new(io::stdout()),
        }
    }
    /// To any writer (a test buffer, a log file).
    pub fn to_writer(w: impl Write + Send + 'static) -> Self {
        ConsoleChannel { out: Box::new(w) }
    }
}

impl Channel for ConsoleChannel {
    fn name(&self) -> &str {
        "console"
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        writeln!(self.out, "{}\n", alert.console_text())?;
        self.out.flush()?;
        Ok(())
    }
}

// ------------------------------------------------------------------------- file

/// JSON Lines, one [`Alert`] per line, rotated by size: when a line would take the
/// file past `max_bytes`, `path` becomes `path.1` (`path.1` becomes `path.2` …, the
/// oldest past `max_files` is removed) and a new `path` is started. A line longer than
/// `max_bytes` gets a file of its own.
#[derive(Debug)]
pub struct FileChannel {
    path: PathBuf,
    max_bytes: u64,
    max_files: usize,
    file: Option<File>,
    size: u64,
}

impl FileChannel {
    /// Writes to `path`, rotating at `max_bytes` (≥ 1) and keeping `max_files` (≥ 1)
    /// rotated files.
    pub fn new(
        path: impl Into<PathBuf>,
        max_bytes: u64,
        max_files: usize,
    ) -> Result<Self, AlertConfigError> {
        if max_bytes == 0 {
            return Err(AlertConfigError::new(
                "max_bytes",
                "0",
                "must be at least 1",
            ));
        }
        if max_files == 0 {
            return Err(AlertConfigError::new(
                "max_files",
                "0",
                "must be at least 1",
            ));
        }
        Ok(FileChannel {
            path: path.into(),
            max_bytes,
            max_files,
            file: None,
            size: 0,
        })
    }

    fn rotated(&self, i: usize) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{i}"));
        PathBuf::from(s)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let _ = fs::remove_file(self.rotated(self.max_files));
        for i in (1..self.max_files).rev() {
            let from = self.rotated(i);
            if from.exists() {
                fs::rename(&from, self.rotated(i + 1))?;
            }
        }
        fs::rename(&self.path, self.rotated(1))?;
        self.size = 0;
        Ok(())
    }

    fn open(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Channel for FileChannel {
    fn name(&self) -> &str {
        "file"
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        let mut line = serde_json::to_vec(alert).map_err(io::Error::other)?;
        line.push(b'\n');
        self.open()?;
        if self.size > 0 && self.size + line.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let f = self.open()?;
        f.write_all(&line)?;
        f.flush()?;
        self.size += line.len() as u64;
        Ok(())
    }
}

// ---------------------------------------------------------------------- webhook

/// What a webhook-style channel posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The [`Alert`] as JSON.
    Json,
    /// Slack's incoming-webhook payload (`text`, `attachments` with `color`, `fields`).
    Slack,
    /// Discord's webhook payload (`content`, `embeds` with `color`, `fields`).
    Discord,
}

/// HTTP POST of a JSON body to a URL: the alert itself ([`WebhookChannel::new`]),
/// Slack's shape ([`WebhookChannel::slack`]) or Discord's ([`WebhookChannel::discord`]).
/// A status other than 2xx is a failure. Plain `http://` only (no TLS in this build).
#[derive(Debug)]
pub struct WebhookChannel {
    name: String,
    url: String,
    format: WebhookFormat,
    agent: ureq::Agent,
}

impl WebhookChannel {
    /// Posts the alert as JSON to `url`, giving up on one attempt after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, AlertConfigError> {
        Self::with_format("webhook", url, timeout, WebhookFormat::Json)
    }
    /// Slack's incoming-webhook payload.
    pub fn slack(url: &str, timeout: Duration) -> Result<Self, AlertConfigError> {
        Self::with_format("slack", url, timeout, WebhookFormat::Slack)
    }
    /// Discord's webhook payload.
    pub fn discord(url: &str, timeout: Duration) -> Result<Self, AlertConfigError> {
        Self::with_format("discord", url, timeout, WebhookFormat::Discord)
    }
    /// Any format, under a name of your choosing.
    pub fn with_format(
        name: &str,
        url: &str,
        timeout: Duration,
        format: WebhookFormat,
    ) -> Result<Self, AlertConfigError> {
        if !url.starts_with("http://") || url.len() <= "http://".len() {
            return Err(AlertConfigError::new(
                "url",
                url,
                "must be an http:// URL (https needs a TLS-enabled build)",
            ));
        }
        if timeout.is_zero() {
            return Err(AlertConfigError::new(
                "timeout",
                "0",
                "must be more than zero",
            ));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(WebhookChannel {
            name: name.to_string(),
            url: url.to_string(),
            format,
            agent,
        })
    }

    /// The body posted for `alert`.
    pub fn body(&self, alert: &Alert) -> serde_json::Value {
        match self.format {
            WebhookFormat::Json => serde_json::to_value(alert).unwrap_or_default(),
            WebhookFormat::Slack => slack_payload(alert),
            WebhookFormat::Discord => discord_payload(alert),
        }
    }
}

impl Channel for WebhookChannel {
    fn name(&self) -> &str {
        &self.name
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        let body = self.body(alert).to_string();
        let resp = self
            .agent
            .post(&self.url)
            .content_type("application/json")
            .send(body.as_bytes())
            .map_err(|e| DeliveryError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(DeliveryError::Http { status })
        }
    }
}

/// The colour of a severity: Slack's hex string and Discord's integer.
fn colour(s: MissSeverity, resolved: bool) -> u32 {
    if resolved {
        return 0x36a64f;
    }
    match s {
        MissSeverity::Low => 0x439fe0,
        MissSeverity::Medium => 0xffcc00,
        MissSeverity::High => 0xff8800,
        MissSeverity::Critical => 0xd00000,
    }
}

/// The (name, value) fields both chat formats show.
fn chat_fields(a: &Alert) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("Rule", a.rule.clone()),
        ("Severity", a.severity.to_string()),
    ];
    if let Some(n) = a.block_number {
        f.push(("Block", n.to_string()));
    }
    if let Some(r) = a.reason {
        f.push(("Reason", r.to_string()));
    }
    if a.repeat_count > 1 {
        f.push(("Repeats", a.repeat_count.to_string()));
    }
    f
}

/// Slack's incoming-webhook payload for `a`.
pub fn slack_payload(a: &Alert) -> serde_json::Value {
    let fields: Vec<_> = chat_fields(a)
        .into_iter()
        .map(|(t, v)| json!({"title": t, "value": v, "short": true}))
        .collect();
    json!({
        "text": a.headline(),
        "attachments": [{
            "color": format!("#{:06x}", colour(a.severity, a.resolved)),
            "title": a.title,
            "text": a.message,
            "fields": fields,
            "ts": a.timestamp as u64,
        }]
    })
}

/// Discord's webhook payload for `a`.
pub fn discord_payload(a: &Alert) -> serde_json::Value {
    let fields: Vec<_> = chat_fields(a)
        .into_iter()
        .map(|(t, v)| json!({"name": t, "value": v, "inline": true}))
        .collect();
    json!({
        "content": a.headline(),
        "embeds": [{
            "title": a.title,
            "description": a.message,
            "color": colour(a.severity, a.resolved),
            "fields": fields,
            "timestamp": crate::Timestamp::from_unix_nanos((a.timestamp * 1e9) as i64).to_string(),
        }]
    })
}

// ------------------------------------------------------------------------ email

/// How the SMTP connection is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS (a relay on loopback or a trusted network).
    Plain,
    /// STARTTLS, required. `accept_invalid_certs` accepts self-signed certificates
    /// (tests, private relays).
    StartTls {
        /// Accept any certificate.
        accept_invalid_certs: bool,
    },
}

/// Where and how email alerts are sent.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// SMTP server host.
    pub host: String,
    /// Its port (25, 587 …).
    pub port: u16,
    /// Plain or STARTTLS.
    pub security: SmtpSecurity,
    /// User name and password, if the server wants them.
    pub credentials: Option<(String, String)>,
    /// Sender address (`Relay <relay@example.com>` or `relay@example.com`).
    pub from: String,
    /// Recipients; at least one.
    pub to: Vec<String>,
    /// One attempt's timeout.
    pub timeout: Duration,
}

/// One email per alert, subject `[flightring] <headline>`, body
/// [`Alert::console_text`], over SMTP with `lettre`.
pub struct EmailChannel {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
    to: Vec<lettre::message::Mailbox>,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// A channel for `cfg`, or the first value that makes no sense.
    pub fn new(cfg: EmailConfig) -> Result<Self, AlertConfigError> {
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Tls, TlsParameters};
        if cfg.host.is_empty() {
            return Err(AlertConfigError::new("smtp_host", "", "must not be empty"));
        }
        let from = cfg
            .from
            .parse()
            .map_err(|_| AlertConfigError::new("from", &cfg.from, "not an email address"))?;
        if cfg.to.is_empty() {
            return Err(AlertConfigError::new(
                "to",
                "[]",
                "needs at least one recipient",
            ));
        }
        let mut to = Vec::new();
        for t in &cfg.to {
            to.push(
                t.parse()
                    .map_err(|_| AlertConfigError::new("to", t, "not an email address"))?,
            );
        }
        let mut b = lettre::SmtpTransport::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .timeout(Some(cfg.timeout));
        if let SmtpSecurity::StartTls {
            accept_invalid_certs,
        } = cfg.security
        {
            let tls = TlsParameters::builder(cfg.host.clone())
                .dangerous_accept_invalid_certs(accept_invalid_certs)
                .dangerous_accept_invalid_hostnames(accept_invalid_certs)
                .build_native()
                .map_err(|e| AlertConfigError::new("security", "StartTls", e.to_string()))?;
            b = b.tls(Tls::Required(tls));
        }
        if let Some((u, p)) = cfg.credentials {
            b = b.credentials(Credentials::new(u, p));
        }
        Ok(EmailChannel {
            transport: b.build(),
            from,
            to,
        })
    }
}

impl Channel for EmailChannel {
    fn name(&self) -> &str {
        "email"
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), DeliveryError> {
        use lettre::Transport;
        let mut m = lettre::Message::builder()
            .from(self.from.clone())
            .subject(format!("[flightring] {}", alert.headline()))
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        for t in &self.to {
            m = m.to(t.clone());
        }
        let msg = m
            .body(alert.console_text())
            .map_err(|e| DeliveryError::Smtp(e.to_string()))?;
        self.transport
            .send(&msg)
            .map_err(|e| DeliveryError::Smtp(e.to_string()))?;
        Ok(())
    }
}
