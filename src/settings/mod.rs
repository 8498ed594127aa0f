//! Settings from the environment and from TOML files: [`Settings`], [`SettingsError`],
//! [`Recorder::from_env`], [`Recorder::from_toml_file`]. The variables and the file
//! layout are documented on [`Settings`].

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::exporter::ExporterConfig;
use crate::model::config::{Builder, ConfigError};
use crate::model::duration::parse_duration;
use crate::model::severity::Severity;
use crate::model::HealthThresholds;
use crate::model::RedactionConfig;
use crate::recorder::Recorder;

mod relay;
pub use relay::{AlertSettings, EmailSettings, LoggingSettings};

/// Every environment variable [`Settings::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "FLIGHTRING_CONFIG",
    "FLIGHTRING_ENABLED",
    "FLIGHTRING_OUTPUT",
    "FLIGHTRING_CAPACITY",
    "FLIGHTRING_SHARDS",
    "FLIGHTRING_SLOT_BYTES",
    "FLIGHTRING_CAPACITY_BYTES",
    "FLIGHTRING_MAX_EVENT_BYTES",
    "FLIGHTRING_RESERVED_SHARE",
    "FLIGHTRING_MIN_SEVERITY",
    "FLIGHTRING_RETENTION",
    "FLIGHTRING_SWEEP_INTERVAL",
    "FLIGHTRING_HEALTH_INTERVAL",
    "FLIGHTRING_REDACTION",
    "FLIGHTRING_REDACT_KEYS",
];

/// Why settings could not be loaded. Each variant says where the bad value came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// An environment variable has a bad value.
    #[error("{var}={value:?}: {reason}")]
    Env {
        /// The variable, e.g. `FLIGHTRING_CAPACITY`.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A TOML settings file is malformed, has an unknown key, or a bad value.
    #[error("{}: {message}", file_position(.path.as_deref(), *.line, *.column, .key.as_deref()))]
    File {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// The key at fault, dotted (`exporter.rotate_bytes`), when known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The settings file could not be read.
    #[error("cannot read settings file {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A combination of settings is invalid (and no single source is to blame).
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// The exporter the settings ask for could not be started ([`Settings::start`]).
    #[error("cannot start the exporter: {0}")]
    Exporter(#[from] crate::exporter::ExporterError),
}

/// The seed flight recorder's variable names, honoured as aliases: `(alias, ours)`.
/// Ours wins when both are set.
pub const ENV_ALIASES: &[(&str, &str)] = &[
    ("FLIGHT_RECORDER_ENABLED", "FLIGHTRING_ENABLED"),
    ("FLIGHT_RECORDER_OUTPUT", "FLIGHTRING_OUTPUT"),
];

/// What [`Settings::start`] started: the recorder, and the exporter when the settings
/// name an output (`FLIGHTRING_OUTPUT`, `FLIGHT_RECORDER_OUTPUT` or `[exporter]`). Keep
/// it alive: dropping the exporter flushes and stops it.
#[derive(Debug)]
pub struct Started {
    /// The recorder.
    pub recorder: Recorder,
    /// The file exporter, when an output was configured.
    pub exporter: Option<crate::exporter::Exporter>,
    /// What the settings warned about (unknown `FLIGHTRING_*` variables, …).
    pub warnings: Vec<String>,
}

/// Everything the `FLIGHTRING_*` variables (and the file `FLIGHTRING_CONFIG` names)
/// say, started: the recorder, and the exporter if an output is set. The one call a
/// program needs: `let fr = flightring::start_from_env()?;` (then print
/// `fr.warnings`).
pub fn start_from_env() -> Result<Started, SettingsError> {
    Settings::from_env()?.start()
}

/// Warnings for the `FLIGHTRING_*` names among `names` that no setting reads, each
/// with the closest known name when one is close.
fn unknown_vars<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| n.starts_with("FLIGHTRING_") && !ENV_VARS.contains(n))
        .map(|n| {
            let best = ENV_VARS
                .iter()
                .map(|k| (strsim::levenshtein(n, k), *k))
                .min()
                .filter(|&(d, _)| d <= 3);
            match best {
                Some((_, k)) => format!("unknown variable {n} (did you mean {k}?): ignored"),
                None => format!("unknown variable {n}: ignored"),
            }
        })
        .collect()
}

fn file_position(path: Option<&Path>, line: usize, column: usize, key: Option<&str>) -> String {
    let mut s = match path {
        Some(p) => format!("{}: line {line}, column {column}", p.display()),
        None => format!("line {line}, column {column}"),
    };
    if let Some(k) = key {
        s.push_str(&format!(" (`{k}`)"));
    }
    s
}

impl SettingsError {
    /// The 1-based line of the settings file at fault, for [`SettingsError::File`].
    pub fn line(&self) -> Option<usize> {
        match self {
            SettingsError::File { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The environment variable at fault, for [`SettingsError::Env`].
    pub fn var(&self) -> Option<&'static str> {
        match self {
            SettingsError::Env { var, .. } => Some(var),
            _ => None,
        }
    }

    /// The dotted key at fault in a settings file, when known.
    pub fn key(&self) -> Option<&str> {
        match self {
            SettingsError::File { key, .. } => key.as_deref(),
            _ => None,
        }
    }
}

/// Where a setting's value came from, to blame it when the builder refuses it.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    Env {
        var: &'static str,
        value: String,
    },
    File {
        path: Option<PathBuf>,
        line: usize,
        column: usize,
    },
}

/// Recorder, exporter and redaction settings, loaded from the environment
/// ([`Settings::from_env`], [`Recorder::from_env`]) or a TOML file
/// ([`Settings::from_toml_file`], [`Recorder::from_toml_file`]). Recorder settings left
/// `None` keep the [`Builder`] defaults.
///
/// # Environment
///
/// | variable | setting | values |
/// | --- | --- | --- |
/// | `FLIGHTRING_CONFIG` | a TOML file, read first; the variables below override it | a path |
/// | `FLIGHTRING_ENABLED` | record at all | `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` |
/// | `FLIGHTRING_OUTPUT` | the exporter's JSON Lines file (sets [`Settings::exporter`]) | a path |
/// | `FLIGHTRING_CAPACITY` | events retained | `65536`, `1_000_000` |
/// | `FLIGHTRING_SHARDS` | shards | `8` |
/// | `FLIGHTRING_SLOT_BYTES` | ring bytes `capacity` budgets per event | `64` … `1024` |
/// | `FLIGHTRING_CAPACITY_BYTES` | the ring's byte budget (overrides `capacity`) | `8388608` |
/// | `FLIGHTRING_MAX_EVENT_BYTES` | events above this are truncated | `64` … `16384` |
/// | `FLIGHTRING_RESERVED_SHARE` | the share kept for Warning+ (0 off) | `0.125`, `1/8`, `12.5%` |
/// | `FLIGHTRING_MIN_SEVERITY` | least severity recorded | `debug` … `critical`, any case |
/// | `FLIGHTRING_RETENTION` | how long events stay visible (at least 1 s) | `24h`, `90m`, `1h30m` |
/// | `FLIGHTRING_SWEEP_INTERVAL` | how often the sweeper runs (at least 10 ms) | `5m` |
/// | `FLIGHTRING_HEALTH_INTERVAL` | how often health is evaluated (at least 10 ms) | `1s` |
/// | `FLIGHTRING_REDACTION` | redaction on or off | as `FLIGHTRING_ENABLED` |
/// | `FLIGHTRING_REDACT_KEYS` | more denied keys, comma-separated | `session_id,otp` |
///
/// A variable set to the empty string counts as unset. A bad value is an error naming
/// the variable and the value ([`SettingsError::Env`]) — also when the value parses but
/// is out of range (`FLIGHTRING_CAPACITY=0`).
///
/// # TOML
///
/// The same settings at the top level (as the builder names them), plus the tables
/// `[health]` ([`HealthThresholds`], every key optional), `[exporter]`
/// ([`ExporterConfig`]) and `[redaction]` ([`RedactionConfig`]). Durations are
/// strings such as `"24h"` (or numbers of seconds). Unknown keys are errors naming the
/// key and its line ([`SettingsError::File`]).
///
/// ```
/// use flightring::{Settings, Severity};
/// let s = Settings::from_toml_str(r#"
///     enabled = true
///     capacity = 100_000
///     shards = 4
///     slot_bytes = 256
///     min_severity = "info"
///     retention = "24h"
///     sweep_interval = "5m"
///     health_interval = "1s"
///     max_kinds = 256
///     max_histograms = 64
///     max_peers = 65536
///     histogram_max = 3_600_000_000_000
///
///     [health]
///     window = "60s"
///     error_rate_degraded = 0.05
///
///     [exporter]
///     path = "flight_recorder.jsonl"
///     rotate_bytes = 10_485_760
///     flush_interval = "1s"
///
///     [redaction]
///     extra_deny_keys = ["session_id"]
///     allow_keys = ["token_in", "token_out"]
/// "#)?;
/// assert_eq!(s.min_severity, Some(Severity::Info));
/// let rec = s.build()?;
/// assert_eq!(rec.config().slot_bytes, 256);
/// let exporter = s.exporter.clone().unwrap_or_default(); // start the exporter with it
/// # let _ = exporter;
///
/// let err = Settings::from_toml_str("capacity = 10\ncapacty = 20\n").unwrap_err();
/// assert_eq!(err.line(), Some(2));
/// assert!(err.to_string().contains("capacty"), "{err}");
/// # Ok::<(), flightring::SettingsError>(())
/// ```
///
/// # The relay operator's tables
///
/// `[monitoring]` ([`MonitorConfig`](crate::monitor::MonitorConfig)'s keys, feature
/// `monitor`), `[logging]` ([`LoggingSettings`]) and `[alerts]` with `[alerts.email]`
/// ([`AlertSettings`], [`EmailSettings`]; `AlertSettings::builder` makes the alert
/// manager with feature `alerts`). Durations are seconds or strings (`30`, `"30s"`,
/// `"1h 30m"`), sizes bytes or strings (`"100MB"`, powers of 1024). A bad value is a
/// [`SettingsError::File`] naming the dotted key (`monitoring.max_block_delay`) and its
/// line.
///
/// ```
/// # #[cfg(feature = "monitor")] {
/// use std::time::Duration;
/// let s = flightring::Settings::from_toml_str(r#"
///     [monitoring]
///     expected_block_time = 12
///     max_block_delay = "30s"
///     retry_attempts = 3
///     retry_delay = 5
///     alert_threshold = 5
///     enable_recovery = true
///     enable_logging = true
///
///     [logging]
///     log_file = "logs/missed_blocks.jsonl"
///     max_file_size = "100MB"
///     backup_count = 5
///     log_level = "INFO"
///
///     [alerts]
///     enabled = true
///     console = true
///     webhook_url = "http://127.0.0.1:9000/hook"
///     throttle_window = "60s"
///     max_retries = 5
/// "#).unwrap();
/// assert_eq!(s.monitoring.unwrap().max_block_delay, Duration::from_secs(30));
/// assert_eq!(s.logging.unwrap().max_file_size, 100 << 20);
/// assert_eq!(s.alerts.unwrap().throttle_window, Duration::from_secs(60));
/// let err = flightring::Settings::from_toml_str("[monitoring]\nalert_threshold = 0\n").unwrap_err();
/// assert_eq!(err.key(), Some("monitoring.alert_threshold"));
/// assert_eq!(err.line(), Some(2));
/// # }
/// ```
///
/// # Recorder and exporter
///
/// [`Recorder::from_env`] and [`Recorder::from_toml_file`] build the recorder and drop
/// the exporter settings. A program that also streams to a file loads the [`Settings`]
/// and keeps them: `let s = Settings::from_env()?; let rec = s.build()?;` then starts
/// the exporter with `s.exporter.clone().unwrap_or_default()` (the default writes
/// `flight_recorder.jsonl`; `FLIGHTRING_OUTPUT` or `[exporter] path` change it).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// [`Builder::enabled`].
    pub enabled: Option<bool>,
    /// [`Builder::capacity`].
    pub capacity: Option<usize>,
    /// [`Builder::shards`].
    pub shards: Option<usize>,
    /// [`Builder::slot_bytes`].
    pub slot_bytes: Option<usize>,
    /// [`Builder::capacity_bytes`].
    pub capacity_bytes: Option<usize>,
    /// [`Builder::max_event_bytes`].
    pub max_event_bytes: Option<usize>,
    /// [`Builder::reserved_share`].
    pub reserved_share: Option<f64>,
    /// [`Builder::min_severity`].
    pub min_severity: Option<Severity>,
    /// [`Builder::retention`].
    pub retention: Option<Duration>,
    /// [`Builder::sweep_interval`].
    pub sweep_interval: Option<Duration>,
    /// [`Builder::health_interval`].
    pub health_interval: Option<Duration>,
    /// [`Builder::max_kinds`].
    pub max_kinds: Option<usize>,
    /// [`Builder::max_histograms`].
    pub max_histograms: Option<usize>,
    /// [`Builder::max_peers`].
    pub max_peers: Option<usize>,
    /// [`Builder::histogram_max`].
    pub histogram_max: Option<u64>,
    /// [`Builder::health_thresholds`].
    pub health: Option<HealthThresholds>,
    /// The streaming exporter's settings: set by an `[exporter]` table or by
    /// `FLIGHTRING_OUTPUT`; `None` otherwise (use `unwrap_or_default()` for the
    /// defaults, which write `flight_recorder.jsonl`).
    pub exporter: Option<ExporterConfig>,
    /// What to redact (default: [`RedactionConfig::default`]).
    pub redaction: RedactionConfig,
    /// The block monitor's settings: a `[monitoring]` table (feature `monitor`).
    #[cfg(feature = "monitor")]
    pub monitoring: Option<crate::monitor::MonitorConfig>,
    /// The missed-block log: a `[logging]` table.
    pub logging: Option<LoggingSettings>,
    /// Alert channels and delivery: an `[alerts]` table.
    pub alerts: Option<AlertSettings>,
    /// Where each recorder setting came from, by the builder's field name.
    origins: Vec<(&'static str, Origin)>,
    /// What loading warned about.
    warnings: Vec<String>,
}

impl Recorder {
    /// Builds a recorder from the `FLIGHTRING_*` environment variables (and the file
    /// `FLIGHTRING_CONFIG` names); see [`Settings::from_env`]. This builds the recorder
    /// only: to also start the exporter `FLIGHTRING_OUTPUT` asks for, call
    /// [`start_from_env`](crate::start_from_env).
    pub fn from_env() -> Result<Recorder, SettingsError> {
        Settings::from_env()?.build()
    }

    /// Builds a recorder from a TOML settings file; see [`Settings::from_toml_file`].
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Recorder, SettingsError> {
        Settings::from_toml_file(path)?.build()
    }
}

impl Settings {
    /// Settings from the process environment: the file `FLIGHTRING_CONFIG` names (if
    /// set), then every variable of [`ENV_VARS`] over it. Checked as a whole: a value
    /// the builder refuses is reported against the variable (or file line) it came from.
    pub fn from_env() -> Result<Settings, SettingsError> {
        for &var in ENV_VARS {
            if let Err(std::env::VarError::NotUnicode(v)) = std::env::var(var) {
                return Err(SettingsError::Env {
                    var,
                    value: v.to_string_lossy().into_owned(),
                    reason: "not valid UTF-8".into(),
                });
            }
        }
        let mut s = Settings::from_env_map(|var| std::env::var(var).ok())?;
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        s.warnings
            .extend(unknown_vars(names.iter().map(String::as_str)));
        Ok(s)
    }

    /// What loading warned about: each `FLIGHTRING_*` variable no setting reads (with
    /// the closest known name), so a typo (`FLIGHTRING_CAPCITY`) is not silently
    /// ignored. Empty when nothing was odd.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Builds the recorder and, when the settings name an output, starts the file
    /// exporter on it: everything the settings say, running.
    pub fn start(&self) -> Result<Started, SettingsError> {
        let recorder = self.build()?;
        let exporter = match &self.exporter {
            Some(cfg) => Some(crate::exporter::Exporter::start(&recorder, cfg.clone())?),
            None => None,
        };
        Ok(Started {
            recorder,
            exporter,
            warnings: self.warnings.clone(),
        })
    }

    /// [`Settings::from_env`] with the variables looked up by `get` instead of in the
    /// process environment (for tests, or another source of variables).
    ///
    /// ```
    /// use std::time::Duration;
    /// use flightring::Settings;
    /// let env = |var: &str| match var {
    ///     "FLIGHTRING_RETENTION" => Some("2h".to_owned()),
    ///     "FLIGHTRING_MIN_SEVERITY" => Some("warning".to_owned()),
    ///     _ => None,
    /// };
    /// let s = Settings::from_env_map(env)?;
    /// assert_eq!(s.retention, Some(Duration::from_secs(7_200)));
    ///
    /// let bad = Settings::from_env_map(|v| (v == "FLIGHTRING_CAPACITY").then(|| "lots".into()));
    /// assert_eq!(bad.unwrap_err().var(), Some("FLIGHTRING_CAPACITY"));
    /// # Ok::<(), flightring::SettingsError>(())
    /// ```
    pub fn from_env_map(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |var: &str| {
            get(var).filter(|v| !v.is_empty()).or_else(|| {
                let (alias, _) = ENV_ALIASES.iter().find(|(_, ours)| *ours == var)?;
                get(alias).filter(|v| !v.is_empty())
            })
        };
        let mut s = match get("FLIGHTRING_CONFIG") {
            Some(path) => Settings::read_file(Path::new(&path))?,
            None => Settings::default(),
        };
        s.apply_env(&get)?;
        s.check()?;
        Ok(s)
    }

    /// Settings from a TOML file (layout in [`Settings`]), checked.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Settings, SettingsError> {
        let s = Settings::read_file(path.as_ref())?;
        s.check()?;
        Ok(s)
    }

    /// Settings from TOML text, checked.
    pub fn from_toml_str(text: &str) -> Result<Settings, SettingsError> {
        let s = Settings::parse_toml(text, None)?;
        s.check()?;
        Ok(s)
    }

    /// A [`Builder`] with these settings over the defaults.
    pub fn to_builder(&self) -> Builder {
        let mut b = Builder::default();
        if let Some(v) = self.enabled {
            b = b.enabled(v);
        }
        if let Some(v) = self.capacity {
            b = b.capacity(v);
        }
        if let Some(v) = self.shards {
            b = b.shards(v);
        }
        if let Some(v) = self.slot_bytes {
            b = b.slot_bytes(v);
        }
        if let Some(v) = self.capacity_bytes {
            b = b.capacity_bytes(v);
        }
        if let Some(v) = self.max_event_bytes {
            b = b.max_event_bytes(v);
        }
        if let Some(v) = self.reserved_share {
            b = b.reserved_share(v);
        }
        if let Some(v) = self.min_severity {
            b = b.min_severity(v);
        }
        if let Some(v) = self.retention {
            b = b.retention(v);
        }
        if let Some(v) = self.sweep_interval {
            b = b.sweep_interval(v);
        }
        if let Some(v) = self.health_interval {
            b = b.health_interval(v);
        }
        if let Some(v) = self.max_kinds {
            b = b.max_kinds(v);
        }
        if let Some(v) = self.max_histograms {
            b = b.max_histograms(v);
        }
        if let Some(v) = self.max_peers {
            b = b.max_peers(v);
        }
        if let Some(v) = self.histogram_max {
            b = b.histogram_max(v);
        }
        if let Some(v) = &self.health {
            b = b.health_thresholds(v.clone());
        }
        b.redaction(self.redaction.clone())
    }

    /// Builds the recorder. A value the builder refuses is reported against the
    /// variable or file line it came from.
    pub fn build(&self) -> Result<Recorder, SettingsError> {
        self.to_builder().build().map_err(|e| self.blame(e))
    }

    /// Checks the recorder settings as [`Settings::build`] would, without building.
    fn check(&self) -> Result<(), SettingsError> {
        self.to_builder()
            .config()
            .map(drop)
            .map_err(|e| self.blame(e))
    }

    /// Turns a builder error into one naming where the bad value came from.
    fn blame(&self, e: ConfigError) -> SettingsError {
        let field = e.field();
        let name = if field.starts_with("health.") {
            "health"
        } else {
            field
        };
        match self.origins.iter().rev().find(|(f, _)| *f == name) {
            Some((_, Origin::Env { var, value })) => SettingsError::Env {
                var,
                value: value.clone(),
                reason: e.to_string(),
            },
            Some((_, Origin::File { path, line, column })) => SettingsError::File {
                path: path.clone(),
                line: *line,
                column: *column,
                key: Some(field.to_owned()),
                message: e.to_string(),
            },
            None => SettingsError::Invalid(e),
        }
    }

    fn note(&mut self, field: &'static str, origin: Origin) {
        self.origins.retain(|(f, _)| *f != field);
        self.origins.push((field, origin));
    }

    fn read_file(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Settings::parse_toml(&text, Some(path))
    }

    fn parse_toml(text: &str, path: Option<&Path>) -> Result<Settings, SettingsError> {
        let de = toml::Deserializer::new(text);
        let file: FileSettings = serde_path_to_error::deserialize(de).map_err(|e| {
            // The path to the bad value or unknown key, less `Spanned`'s inner names.
            let key = e
                .path()
                .to_string()
                .split('.')
                .filter(|p| !p.is_empty() && !p.starts_with("$__serde_spanned"))
                .collect::<Vec<_>>()
                .join(".");
            let inner = e.into_inner();
            let (line, column) = inner.span().map_or((1, 1), |r| line_col(text, r.start));
            let mut message = inner.message().to_owned();
            let key = match unknown_key(&message) {
                Some(k) if key.is_empty() => Some(k.to_owned()),
                _ => (!key.is_empty()).then_some(key),
            };
            if let Some(rest) = message.strip_prefix("unknown field") {
                message = format!("unknown key{rest}");
            }
            SettingsError::File {
                path: path.map(Path::to_owned),
                line,
                column,
                key,
                message,
            }
        })?;
        let mut s = Settings::default();
        let at = |r: Range<usize>| {
            let (line, column) = line_col(text, r.start);
            Origin::File {
                path: path.map(Path::to_owned),
                line,
                column,
            }
        };
        macro_rules! take {
            ($($field:ident),* $(,)?) => {$(
                if let Some(v) = file.$field {
                    s.note(stringify!($field), at(v.span()));
                    s.$field = Some(v.into_inner().into());
                }
            )*};
        }
        take!(
            enabled,
            capacity,
            shards,
            slot_bytes,
            capacity_bytes,
            max_event_bytes,
            reserved_share,
            min_severity,
            retention,
            sweep_interval,
            health_interval,
            max_kinds,
            max_histograms,
            max_peers,
            histogram_max,
        );
        if let Some(h) = file.health {
            s.note("health", at(h.span()));
            s.health = Some(h.into_inner().over(HealthThresholds::default()));
        }
        s.exporter = file.exporter;
        if let Some(r) = file.redaction {
            s.redaction = r;
        }
        let blame = relay::Blame { text, path };
        #[cfg(feature = "monitor")]
        if let Some(m) = file.monitoring {
            s.monitoring = Some(m.settings(&blame)?);
        }
        if let Some(l) = file.logging {
            s.logging = Some(l.settings(&blame)?);
        }
        if let Some(a) = file.alerts {
            s.alerts = Some(a.settings(&blame)?);
        }
        Ok(s)
    }

    fn apply_env(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        fn set<T>(
            s: &mut Settings,
            get: &dyn Fn(&str) -> Option<String>,
            var: &'static str,
            field: &'static str,
            parse: impl Fn(&str) -> Result<T, String>,
        ) -> Result<Option<T>, SettingsError> {
            let Some(value) = get(var) else {
                return Ok(None);
            };
            match parse(&value) {
                Ok(v) => {
                    s.note(field, Origin::Env { var, value });
                    Ok(Some(v))
                }
                Err(reason) => Err(SettingsError::Env { var, value, reason }),
            }
        }
        macro_rules! from_var {
            ($var:literal => $field:ident, $parse:expr) => {
                if let Some(v) = set(self, get, $var, stringify!($field), $parse)? {
                    self.$field = Some(v);
                }
            };
        }
        from_var!("FLIGHTRING_ENABLED" => enabled, parse_bool);
        from_var!("FLIGHTRING_CAPACITY" => capacity, parse_count);
        from_var!("FLIGHTRING_SHARDS" => shards, parse_count);
        from_var!("FLIGHTRING_SLOT_BYTES" => slot_bytes, parse_count);
        from_var!("FLIGHTRING_CAPACITY_BYTES" => capacity_bytes, parse_count);
        from_var!("FLIGHTRING_MAX_EVENT_BYTES" => max_event_bytes, parse_count);
        from_var!("FLIGHTRING_RESERVED_SHARE" => reserved_share, parse_share);
        from_var!("FLIGHTRING_MIN_SEVERITY" => min_severity, |v: &str| v
            .parse::<Severity>()
            .map_err(|_| "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL".to_owned()));
        from_var!("FLIGHTRING_RETENTION" => retention, parse_human);
        from_var!("FLIGHTRING_SWEEP_INTERVAL" => sweep_interval, parse_human);
        from_var!("FLIGHTRING_HEALTH_INTERVAL" => health_interval, parse_human);
        if let Some(v) = get("FLIGHTRING_OUTPUT") {
            self.exporter
                .get_or_insert_with(ExporterConfig::default)
                .path = PathBuf::from(v);
        }
        if let Some(v) = get("FLIGHTRING_REDACTION") {
            self.redaction.enabled = parse_bool(&v).map_err(|reason| SettingsError::Env {
                var: "FLIGHTRING_REDACTION",
                value: v.clone(),
                reason,
            })?;
        }
        if let Some(v) = get("FLIGHTRING_REDACT_KEYS") {
            let keys = v.split(',').map(str::trim).filter(|k| !k.is_empty());
            self.redaction
                .extra_deny_keys
                .extend(keys.map(str::to_owned));
        }
        Ok(())
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    let t = v.trim();
    let is = |names: &[&str]| names.iter().any(|n| t.eq_ignore_ascii_case(n));
    if is(&["true", "1", "yes", "on"]) {
        Ok(true)
    } else if is(&["false", "0", "no", "off"]) {
        Ok(false)
    } else {
        Err("expected true/false, 1/0, yes/no or on/off".into())
    }
}

fn parse_count<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    let t: String = v.trim().chars().filter(|&c| c != '_').collect();
    t.parse()
        .map_err(|_| "expected a whole number, such as 65536 or 65_536".into())
}

/// A share of the ring: `0.125`, `1/8` or `12.5%` (the range is the builder's check).
fn parse_share(v: &str) -> Result<f64, String> {
    let t = v.trim();
    let bad = || "expected a fraction such as 0.125, 1/8 or 12.5% (0 turns it off)".to_owned();
    let x = if let Some(pct) = t.strip_suffix('%') {
        pct.trim().parse::<f64>().map_err(|_| bad())? / 100.0
    } else if let Some((a, b)) = t.split_once('/') {
        let (a, b) = (a.trim().parse::<f64>(), b.trim().parse::<f64>());
        match (a, b) {
            (Ok(a), Ok(b)) if b != 0.0 => a / b,
            _ => return Err(bad()),
        }
    } else {
        t.parse::<f64>().map_err(|_| bad())?
    };
    if x.is_finite() {
        Ok(x)
    } else {
        Err(bad())
    }
}

fn parse_human(v: &str) -> Result<Duration, String> {
    parse_duration(v).map_err(|e| format!("{} (examples: 24h, 5m, 300s, 1h30m, 250ms)", e.reason))
}

/// 1-based line and column (in characters) of byte `at` of `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = crate::text::cut(text, at);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// The key named by serde's "unknown field `x`, expected …" message.
fn unknown_key(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// The file's layout: what `deny_unknown_fields` checks keys against.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    enabled: Option<Spanned<bool>>,
    capacity: Option<Spanned<usize>>,
    shards: Option<Spanned<usize>>,
    slot_bytes: Option<Spanned<usize>>,
    capacity_bytes: Option<Spanned<usize>>,
    max_event_bytes: Option<Spanned<usize>>,
    reserved_share: Option<Spanned<f64>>,
    min_severity: Option<Spanned<Severity>>,
    retention: Option<Spanned<Human>>,
    sweep_interval: Option<Spanned<Human>>,
    health_interval: Option<Spanned<Human>>,
    max_kinds: Option<Spanned<usize>>,
    max_histograms: Option<Spanned<usize>>,
    max_peers: Option<Spanned<usize>>,
    histogram_max: Option<Spanned<u64>>,
    health: Option<Spanned<HealthFile>>,
    exporter: Option<ExporterConfig>,
    redaction: Option<RedactionConfig>,
    #[cfg(feature = "monitor")]
    monitoring: Option<relay::MonitoringFile>,
    logging: Option<relay::LoggingFile>,
    alerts: Option<relay::AlertsFile>,
}

/// A duration written `"24h"` or as a number of seconds.
struct Human(Duration);

impl<'de> Deserialize<'de> for Human {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::model::duration::serde_human::deserialize(d).map(Human)
    }
}

impl From<Human> for Duration {
    fn from(h: Human) -> Duration {
        h.0
    }
}

impl fmt::Debug for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The `[health]` table: each key optional, over [`HealthThresholds::default`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthFile {
    window: Option<Human>,
    min_window_events: Option<u64>,
    error_rate_degraded: Option<f64>,
    error_rate_unhealthy: Option<f64>,
    critical_degraded: Option<u64>,
    critical_unhealthy: Option<u64>,
    drop_rate_degraded: Option<f64>,
    overwrite_rate_degraded: Option<f64>,
    stall_intervals: Option<u32>,
}

impl HealthFile {
    fn over(self, mut h: HealthThresholds) -> HealthThresholds {
        if let Some(v) = self.window {
            h.window = v.0;
        }
        macro_rules! over {
            ($($f:ident),*) => {$( if let Some(v) = self.$f { h.$f = v; } )*};
        }
        over!(
            min_window_events,
            error_rate_degraded,
            error_rate_unhealthy,
            critical_degraded,
            critical_unhealthy,
            drop_rate_degraded,
            stall_intervals
        );
        if let Some(v) = self.overwrite_rate_degraded {
            h.overwrite_rate_degraded = Some(v);
        }
        h
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn unknown_variables_are_named_with_the_closest_known_one() {
        let w = unknown_vars([
            "FLIGHTRING_CAPCITY",
            "FLIGHTRING_CAPACITY",
            "PATH",
            "FLIGHTRING_XYZZY_PLUGH",
        ]);
        assert_eq!(
            w,
            [
                "unknown variable FLIGHTRING_CAPCITY (did you mean FLIGHTRING_CAPACITY?): ignored",
                "unknown variable FLIGHTRING_XYZZY_PLUGH: ignored",
            ]
        );
    }
}
