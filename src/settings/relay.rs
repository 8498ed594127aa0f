//! The relay operator's sections of a settings file: `[monitoring]` (the block
//! monitor), `[logging]` (the missed-block log) and `[alerts]` (channels and delivery),
//! with the keys the relay we replace uses in its config examples. Documented on
//! [`Settings`](super::Settings); every bad value is a [`SettingsError::File`] naming
//! the dotted key and its line.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::{line_col, Human, SettingsError};
use crate::model::severity::Severity;

/// `[logging]`: where missed blocks and alerts are logged, as rotated JSON Lines.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoggingSettings {
    /// The log file (key `log_file`; default `missed_blocks.jsonl`).
    pub log_file: PathBuf,
    /// Rotate when the file reaches this many bytes (key `max_file_size`, a size such
    /// as `"100MB"` or a number of bytes; default 100 MiB). `KB`, `MB`, `GB` (and
    /// `KiB`, `MiB`, `GiB`) are powers of 1024.
    pub max_file_size: u64,
    /// Rotated files kept (key `backup_count`; default 5; 1..=1000).
    pub backup_count: usize,
    /// The least severity logged (key `log_level`; default `INFO`).
    pub log_level: Severity,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings {
            log_file: PathBuf::from("missed_blocks.jsonl"),
            max_file_size: 100 << 20,
            backup_count: 5,
            log_level: Severity::Info,
        }
    }
}

/// `[alerts.email]`: SMTP delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EmailSettings {
    /// Key `smtp_host`.
    pub smtp_host: String,
    /// Key `smtp_port` (default 587).
    pub smtp_port: u16,
    /// Key `use_tls`: STARTTLS, required (default `true`).
    pub use_tls: bool,
    /// Keys `username` and `password` (both or neither).
    pub credentials: Option<(String, String)>,
    /// Key `from`.
    pub from: String,
    /// Key `to`: at least one recipient.
    pub to: Vec<String>,
}

/// `[alerts]`: which channels, and how delivery behaves.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AlertSettings {
    /// Key `enabled` (default `true`).
    pub enabled: bool,
    /// Key `console`: alerts on stderr (default `true`).
    pub console: bool,
    /// Key `webhook_url`: a JSON POST per alert.
    pub webhook_url: Option<String>,
    /// Key `slack_webhook_url`.
    pub slack_webhook_url: Option<String>,
    /// Key `discord_webhook_url`.
    pub discord_webhook_url: Option<String>,
    /// Table `[alerts.email]`.
    pub email: Option<EmailSettings>,
    /// Key `throttle_window`: same rule and key within it → one alert with a repeat
    /// count (default `10s`).
    pub throttle_window: Duration,
    /// Key `max_retries` (default 3).
    pub max_retries: u32,
    /// Key `retry_delay`: the first backoff, doubled per attempt (default `0.5s`).
    pub retry_delay: Duration,
    /// Key `max_retry_delay`: the backoff's cap (default `30s`).
    pub max_retry_delay: Duration,
    /// Key `timeout`: one delivery attempt (default `10s`).
    pub timeout: Duration,
    /// Key `queue_size` (default 1024).
    pub queue_size: usize,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            enabled: true,
            console: true,
            webhook_url: None,
            slack_webhook_url: None,
            discord_webhook_url: None,
            email: None,
            throttle_window: Duration::from_secs(10),
            max_retries: 3,
            retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            queue_size: 1024,
        }
    }
}

#[cfg(feature = "alerts")]
impl AlertSettings {
    /// An [`AlertManagerBuilder`](crate::alert::AlertManagerBuilder) with these channels
    /// and delivery settings (and a [`FileChannel`](crate::alert::FileChannel) per
    /// `logging`, when given). Add a recorder or more channels, then `build()`.
    pub fn builder(
        &self,
        logging: Option<&LoggingSettings>,
    ) -> Result<crate::alert::AlertManagerBuilder, crate::alert::AlertConfigError> {
        use crate::alert::{
            AlertManager, ConsoleChannel, EmailChannel, EmailConfig, FileChannel, SmtpSecurity,
            WebhookChannel,
        };
        let mut b = AlertManager::builder()
            .throttle_window(self.throttle_window)
            .retry(self.max_retries, self.retry_delay, self.max_retry_delay)
            .queue_capacity(self.queue_size);
        if self.console {
            b = b.channel(ConsoleChannel::stderr());
        }
        if let Some(u) = &self.webhook_url {
            b = b.channel(WebhookChannel::new(u, self.timeout)?);
        }
        if let Some(u) = &self.slack_webhook_url {
            b = b.channel(WebhookChannel::slack(u, self.timeout)?);
        }
        if let Some(u) = &self.discord_webhook_url {
            b = b.channel(WebhookChannel::discord(u, self.timeout)?);
        }
        if let Some(e) = &self.email {
            b = b.channel(EmailChannel::new(EmailConfig {
                host: e.smtp_host.clone(),
                port: e.smtp_port,
                security: if e.use_tls {
                    SmtpSecurity::StartTls {
                        accept_invalid_certs: false,
                    }
                } else {
                    SmtpSecurity::Plain
                },
                credentials: e.credentials.clone(),
                from: e.from.clone(),
                to: e.to.clone(),
                timeout: self.timeout,
            })?);
        }
        if let Some(l) = logging {
            b = b.channel(FileChannel::new(
                &l.log_file,
                l.max_file_size,
                l.backup_count,
            )?);
        }
        Ok(b)
    }
}

/// A size: `"100MB"`, `"512 KiB"`, `"1.5GB"` or a number of bytes.
pub(super) struct Size(pub(super) u64);

/// Parses a size; the error says what is expected.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = (t[..split].replace('_', ""), t[split..].trim());
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. \"100MB\", \"512KiB\", 1048576)"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("unknown size unit {unit:?} (B, KB, MB, GB, TB)")),
    };
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes >= u64::MAX as f64 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes as u64)
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size such as \"100MB\" or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[logging]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoggingFile {
    log_file: Option<PathBuf>,
    max_file_size: Option<Spanned<Size>>,
    backup_count: Option<Spanned<usize>>,
    log_level: Option<Severity>,
}

/// `[alerts.email]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailFile {
    smtp_host: Spanned<String>,
    smtp_port: Option<u16>,
    use_tls: Option<bool>,
    username: Option<String>,
    password: Option<String>,
    from: String,
    to: Spanned<Vec<String>>,
}

/// `[alerts]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertsFile {
    enabled: Option<bool>,
    console: Option<bool>,
    webhook_url: Option<Spanned<String>>,
    slack_webhook_url: Option<Spanned<String>>,
    discord_webhook_url: Option<Spanned<String>>,
    email: Option<Spanned<EmailFile>>,
    throttle_window: Option<Human>,
    max_retries: Option<Spanned<u32>>,
    retry_delay: Option<Human>,
    max_retry_delay: Option<Human>,
    timeout: Option<Spanned<Human>>,
    queue_size: Option<Spanned<usize>>,
}

/// `[monitoring]` as written: [`MonitorConfig`](crate::monitor::MonitorConfig)'s keys.
#[cfg(feature = "monitor")]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MonitoringFile {
    expected_block_time: Option<Spanned<Human>>,
    learn_block_time: Option<bool>,
    max_block_delay: Option<Spanned<Human>>,
    retry_attempts: Option<Spanned<u32>>,
    retry_delay: Option<Spanned<Human>>,
    alert_threshold: Option<Spanned<u32>>,
    enable_recovery: Option<bool>,
    enable_logging: Option<bool>,
    retention: Option<Spanned<Human>>,
    max_tracked: Option<Spanned<usize>>,
    reorg_window: Option<Spanned<usize>>,
    gap_reason: Option<crate::monitor::MissReason>,
}

/// Builds the error for `key` (dotted) at byte range `at` of `text`.
pub(super) struct Blame<'a> {
    pub(super) text: &'a str,
    pub(super) path: Option<&'a Path>,
}

impl Blame<'_> {
    fn at(&self, key: &str, r: Range<usize>, message: impl Into<String>) -> SettingsError {
        let (line, column) = line_col(self.text, r.start);
        SettingsError::File {
            path: self.path.map(Path::to_owned),
            line,
            column,
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }
}

fn check_url(
    b: &Blame<'_>,
    key: &str,
    v: Option<Spanned<String>>,
) -> Result<Option<String>, SettingsError> {
    let Some(v) = v else { return Ok(None) };
    let span = v.span();
    let url = v.into_inner();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(b.at(
            key,
            span,
            format!("{url:?} is not an http:// or https:// URL"),
        ));
    }
    Ok(Some(url))
}

impl LoggingFile {
    pub(super) fn settings(self, b: &Blame<'_>) -> Result<LoggingSettings, SettingsError> {
        let mut s = LoggingSettings::default();
        if let Some(v) = self.log_file {
            s.log_file = v;
        }
        if let Some(v) = self.max_file_size {
            let span = v.span();
            s.max_file_size = v.into_inner().0;
            if s.max_file_size == 0 {
                return Err(b.at("logging.max_file_size", span, "must be at least 1 byte"));
            }
        }
        if let Some(v) = self.backup_count {
            let span = v.span();
            s.backup_count = v.into_inner();
            if !(1..=1000).contains(&s.backup_count) {
                return Err(b.at("logging.backup_count", span, "must be 1..=1000"));
            }
        }
        if let Some(v) = self.log_level {
            s.log_level = v;
        }
        Ok(s)
    }
}

impl AlertsFile {
    pub(super) fn settings(self, b: &Blame<'_>) -> Result<AlertSettings, SettingsError> {
        let mut s = AlertSettings::default();
        if let Some(v) = self.enabled {
            s.enabled = v;
        }
        if let Some(v) = self.console {
            s.console = v;
        }
        s.webhook_url = check_url(b, "alerts.webhook_url", self.webhook_url)?;
        s.slack_webhook_url = check_url(b, "alerts.slack_webhook_url", self.slack_webhook_url)?;
        s.discord_webhook_url =
            check_url(b, "alerts.discord_webhook_url", self.discord_webhook_url)?;
        if let Some(v) = self.throttle_window {
            s.throttle_window = v.0;
        }
        if let Some(v) = self.max_retries {
            let span = v.span();
            s.max_retries = v.into_inner();
            if s.max_retries > 100 {
                return Err(b.at("alerts.max_retries", span, "must be 0..=100"));
            }
        }
        if let Some(v) = self.retry_delay {
            s.retry_delay = v.0;
        }
        if let Some(v) = self.max_retry_delay {
            s.max_retry_delay = v.0;
        }
        if let Some(v) = self.timeout {
            let span = v.span();
            s.timeout = v.into_inner().0;
            if s.timeout.is_zero() {
                return Err(b.at("alerts.timeout", span, "must be more than zero"));
            }
        }
        if let Some(v) = self.queue_size {
            let span = v.span();
            s.queue_size = v.into_inner();
            if !(1..=1_000_000).contains(&s.queue_size) {
                return Err(b.at("alerts.queue_size", span, "must be 1..=1000000"));
            }
        }
        if let Some(e) = self.email {
            let span = e.span();
            let e = e.into_inner();
            let credentials = match (e.username, e.password) {
                (Some(u), Some(p)) => Some((u, p)),
                (None, None) => None,
                _ => {
                    return Err(b.at(
                        "alerts.email",
                        span,
                        "give both `username` and `password`, or neither",
                    ))
                }
            };
            if e.smtp_host.get_ref().trim().is_empty() {
                return Err(b.at("alerts.email.smtp_host", e.smtp_host.span(), "is empty"));
            }
            if e.to.get_ref().is_empty() {
                return Err(b.at(
                    "alerts.email.to",
                    e.to.span(),
                    "needs at least one recipient",
                ));
            }
            s.email = Some(EmailSettings {
                smtp_host: e.smtp_host.into_inner(),
                smtp_port: e.smtp_port.unwrap_or(587),
                use_tls: e.use_tls.unwrap_or(true),
                credentials,
                from: e.from,
                to: e.to.into_inner(),
            });
        }
        Ok(s)
    }
}

#[cfg(feature = "monitor")]
impl MonitoringFile {
    pub(super) fn settings(
        self,
        b: &Blame<'_>,
    ) -> Result<crate::monitor::MonitorConfig, SettingsError> {
        let mut c = crate::monitor::MonitorConfig::default();
        let mut spans: Vec<(&'static str, Range<usize>)> = Vec::new();
        macro_rules! take {
            ($($f:ident: $conv:expr),* $(,)?) => {$(
                if let Some(v) = self.$f {
                    spans.push((stringify!($f), v.span()));
                    c.$f = $conv(v.into_inner());
                }
            )*};
        }
        take!(
            expected_block_time: |h: Human| h.0,
            max_block_delay: |h: Human| h.0,
            retry_attempts: |v| v,
            retry_delay: |h: Human| h.0,
            alert_threshold: |v| v,
            retention: |h: Human| h.0,
            max_tracked: |v| v,
            reorg_window: |v| v,
        );
        if let Some(v) = self.learn_block_time {
            c.learn_block_time = v;
        }
        if let Some(v) = self.enable_recovery {
            c.enable_recovery = v;
        }
        if let Some(v) = self.enable_logging {
            c.enable_logging = v;
        }
        if let Some(v) = self.gap_reason {
            c.gap_reason = v;
        }
        c.validate().map_err(|e| {
            let span = spans
                .iter()
                .find(|(k, _)| *k == e.key)
                .map_or(0..0, |(_, r)| r.clone());
            b.at(
                &format!("monitoring.{}", e.key),
                span,
                format!("{} = {}: {}", e.key, e.value, e.reason),
            )
        })?;
        Ok(c)
    }
}
