//! Alert delivery (feature `alerts`): console, rotated file, webhook, Slack, Discord
//! and SMTP channels behind a background sender that never blocks the caller.
//!
//! ```no_run
//! use std::time::Duration;
//! use flightring::alert::{AlertManager, ConsoleChannel, WebhookChannel, Rule, RuleEngine, Condition};
//! use flightring::monitor::MissSeverity;
//!
//! let mgr = AlertManager::builder()
//!     .channel(ConsoleChannel::stderr())
//!     .channel(WebhookChannel::new("http://127.0.0.1:9000/hook", Duration::from_secs(5))?)
//!     .throttle_window(Duration::from_secs(10))
//!     .build()?;
//! let mut rules = RuleEngine::new(vec![
//!     Rule::new("missed-streak", Condition::MissedStreak(5)),
//!     Rule::new("critical-miss", Condition::MissedSeverity(MissSeverity::Critical)),
//!     Rule::new("recorder-health", Condition::Health),
//! ])?;
//! // in the block loop, after `monitor.process_block(..)`:
//! // rules.check_monitor(&monitor, &mgr);
//! // rules.check_recorder(&recorder, &mgr);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Delivery
//!
//! [`AlertManager::send`] puts the alert on a bounded queue (`try_send`: when full, the
//! alert is dropped and counted) and returns. A dispatcher thread throttles, then hands
//! the alert to each channel's own thread through that channel's bounded queue (full:
//! dropped and counted for that channel), so one slow or dead receiver delays no other.
//! A channel's thread retries a failed delivery `max_retries` times, waiting
//! `base_backoff × 2^attempt`, at most `max_backoff`, between attempts.
//!
//! # Throttling and dedup
//!
//! The first alert of a `rule` and `key` is delivered at once and opens a
//! `throttle_window`; the alerts of the same rule and key inside it are folded into
//! one, delivered at the window's end (the latest, carrying `repeat_count`: how many
//! alerts it stands for), which opens the next window. So a condition that keeps firing
//! costs one delivery per window, and nobody waits a window for the first one. A zero
//! window delivers every alert at once. A **resolved** notice
//! ([`AlertManager::resolve`]) is sent only for a rule and key that fired, after any
//! alert of theirs still held.
//!
//! # Visibility
//!
//! [`AlertManager::stats`] counts what was sent, throttled, dropped, delivered, retried
//! and failed, per channel with the last error; [`AlertManager::recent`] lists the last
//! alerts and their delivery state. With a recorder ([`AlertManagerBuilder::recorder`])
//! a channel failing `fault_after` deliveries in a row sets the recorder fault
//! `alerts.<channel>` (so health is Degraded with the reason) until it delivers again,
//! and each failed delivery is an `alert_delivery_failed` event (Warning).

mod channels;
mod rules;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub use channels::{
    discord_payload, slack_payload, Channel, ConsoleChannel, DeliveryError, EmailChannel,
    EmailConfig, FileChannel, SmtpSecurity, WebhookChannel, WebhookFormat,
};
pub use rules::{Condition, Rule, RuleEngine};

use crate::monitor::{MissReason, MissSeverity, MissedBlock};
use crate::{Event, Recorder, Severity, Timestamp};

/// A value of an alert setting that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert config: `{key}` = {value:?}: {reason}")]
pub struct AlertConfigError {
    /// The setting's name.
    pub key: &'static str,
    /// The value given.
    pub value: String,
    /// What it must be.
    pub reason: String,
}

impl AlertConfigError {
    pub(crate) fn new(key: &'static str, value: &str, reason: impl Into<String>) -> Self {
        AlertConfigError {
            key,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// One alert: which rule fired, for what, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule's name.
    pub rule: String,
    /// What the rule fired for (a block number, `"streak"`, a kind): with `rule`, the
    /// throttling key.
    pub key: String,
    /// How bad.
    pub severity: MissSeverity,
    /// One line.
    pub title: String,
    /// Why the rule fired.
    pub message: String,
    /// The missed block, for block alerts.
    pub block_number: Option<u64>,
    /// Its reason.
    pub reason: Option<MissReason>,
    /// When it was expected (Unix seconds).
    pub expected_timestamp: Option<f64>,
    /// When it arrived (Unix seconds), if it did.
    pub actual_timestamp: Option<f64>,
    /// How many alerts this one stands for (throttling); 1 when alone.
    pub repeat_count: u64,
    /// A notice that the condition cleared.
    pub resolved: bool,
    /// When it was raised (Unix seconds).
    pub timestamp: f64,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Alert {
    /// An alert from `rule` for `key`.
    pub fn new(
        rule: impl Into<String>,
        key: impl Into<String>,
        severity: MissSeverity,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Alert {
            rule: rule.into(),
            key: key.into(),
            severity,
            title: title.into(),
            message: message.into(),
            block_number: None,
            reason: None,
            expected_timestamp: None,
            actual_timestamp: None,
            repeat_count: 1,
            resolved: false,
            timestamp: now_secs(),
        }
    }

    /// The alert for missed block `b` (key: its height), from `rule`, saying `why`.
    pub fn missed_block(rule: impl Into<String>, b: &MissedBlock, why: impl Into<String>) -> Self {
        let mut a = Alert::new(
            rule,
            b.block_number.to_string(),
            b.severity,
            format!("{} missed block {}", b.severity, b.block_number),
            why,
        );
        a.block_number = Some(b.block_number);
        a.reason = Some(b.reason);
        a.expected_timestamp = Some(b.expected_timestamp);
        a.actual_timestamp = b.actual_timestamp;
        a
    }

    /// The headline: `🚨 ALERT: Critical missed block 1001 detected!` for a block,
    /// `🚨 ALERT: <title>` otherwise, `✅ RESOLVED: <title>` for a resolved notice.
    pub fn headline(&self) -> String {
        if self.resolved {
            return format!("✅ RESOLVED: {}", self.title);
        }
        match self.block_number {
            Some(n) => format!("🚨 ALERT: {} missed block {n} detected!", self.severity),
            None => format!("🚨 ALERT: {}", self.title),
        }
    }

    /// The relay's console text: the headline, then rule and why, reason, severity,
    /// expected and actual time, and repeats.
    pub fn console_text(&self) -> String {
        let t = |s: f64| Timestamp::from_unix_nanos((s * 1e9) as i64).to_string();
        let mut s = self.headline();
        s.push_str(&format!("\nRule: {} ({})", self.rule, self.message));
        if let Some(r) = self.reason {
            s.push_str(&format!("\nReason: {r}"));
        }
        s.push_str(&format!("\nSeverity: {}", self.severity));
        if let Some(e) = self.expected_timestamp {
            s.push_str(&format!("\nExpected: {}", t(e)));
            let actual = self.actual_timestamp.map(t);
            s.push_str(&format!(
                "\nActual: {}",
                actual.as_deref().unwrap_or("not received")
            ));
        }
        if self.repeat_count > 1 {
            s.push_str(&format!("\nRepeated: {} times", self.repeat_count));
        }
        s
    }
}

/// What became of one alert on one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DeliveryState {
    /// Delivered after this many attempts.
    Delivered {
        /// Attempts, ≥ 1.
        attempts: u32,
    },
    /// Every attempt failed.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: String,
    },
    /// The channel's queue was full.
    Dropped,
}

/// An alert and its fate on one channel, in [`AlertManager::recent`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertRecord {
    /// The channel.
    pub channel: String,
    /// The alert as delivered (with its repeat count).
    pub alert: Alert,
    /// What became of it.
    pub state: DeliveryState,
}

/// One channel's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChannelStats {
    /// The channel's name.
    pub name: String,
    /// Alerts delivered.
    pub delivered: u64,
    /// Alerts given up on after every retry.
    pub failed: u64,
    /// Retries made (attempts after the first).
    pub retries: u64,
    /// Alerts dropped because this channel's queue was full.
    pub dropped: u64,
    /// Failed deliveries in a row, now.
    pub consecutive_failures: u64,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// The manager's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AlertStats {
    /// Alerts accepted by `send` / `resolve`.
    pub sent: u64,
    /// Alerts dropped by `send` because the manager's queue was full.
    pub dropped: u64,
    /// Alerts folded into another by throttling.
    pub throttled: u64,
    /// Per channel, in the order they were added.
    pub channels: Vec<ChannelStats>,
}

impl AlertStats {
    /// Whether some channel has failed its last delivery.
    pub fn delivery_failing(&self) -> bool {
        self.channels.iter().any(|c| c.consecutive_failures > 0)
    }

    /// The figures in the Prometheus text format (`flightring_alerts_*`).
    pub fn to_prometheus(&self) -> String {
        let mut s = String::new();
        s.push_str("# TYPE flightring_alerts_sent_total counter\n");
        s.push_str(&format!("flightring_alerts_sent_total {}\n", self.sent));
        s.push_str("# TYPE flightring_alerts_dropped_total counter\n");
        s.push_str(&format!(
            "flightring_alerts_dropped_total {}\n",
            self.dropped
        ));
        s.push_str("# TYPE flightring_alerts_throttled_total counter\n");
        s.push_str(&format!(
            "flightring_alerts_throttled_total {}\n",
            self.throttled
        ));
        for (metric, f) in [
            (
                "delivered",
                (|c: &ChannelStats| c.delivered) as fn(&ChannelStats) -> u64,
            ),
            ("failed", |c| c.failed),
            ("retries", |c| c.retries),
            ("channel_dropped", |c| c.dropped),
        ] {
            s.push_str(&format!(
                "# TYPE flightring_alerts_{metric}_total counter\n"
            ));
            for c in &self.channels {
                s.push_str(&format!(
                    "flightring_alerts_{metric}_total{{channel=\"{}\"}} {}\n",
                    c.name,
                    f(c)
                ));
            }
        }
        s
    }
}

#[derive(Default)]
struct ChannelCounters {
    delivered: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    consecutive: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// State shared by the caller, the dispatcher and the channel threads.
struct Shared {
    names: Vec<String>,
    counters: Vec<ChannelCounters>,
    sent: AtomicU64,
    dropped: AtomicU64,
    throttled: AtomicU64,
    /// Units of work not settled yet: alerts queued, held by throttling, or being
    /// delivered (one per channel). Zero means idle.
    outstanding: AtomicU64,
    recent: Mutex<VecDeque<AlertRecord>>,
    recent_max: usize,
    rec: Option<Recorder>,
    fault_after: u64,
}

impl Shared {
    fn push_recent(&self, r: AlertRecord) {
        let mut q = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == self.recent_max {
            q.pop_front();
        }
        q.push_back(r);
    }
}

/// Retry policy for a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retry {
    max_retries: u32,
    base: Duration,
    cap: Duration,
}

/// Builds an [`AlertManager`].
pub struct AlertManagerBuilder {
    channels: Vec<Box<dyn Channel>>,
    queue: usize,
    channel_queue: usize,
    retry: Retry,
    throttle: Duration,
    rec: Option<Recorder>,
    fault_after: u64,
    recent: usize,
}

impl std::fmt::Debug for AlertManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertManagerBuilder")
            .field("channels", &self.channels.len())
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl AlertManagerBuilder {
    /// Adds a channel.
    pub fn channel(mut self, c: impl Channel) -> Self {
        self.channels.push(Box::new(c));
        self
    }
    /// The manager's queue, 1..=1 000 000 (default 1024).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }
    /// Each channel's queue, 1..=1 000 000 (default 256).
    pub fn channel_queue_capacity(mut self, n: usize) -> Self {
        self.channel_queue = n;
        self
    }
    /// Retries after a failed attempt (default 3), the first backoff (default 500 ms)
    /// and the longest (default 30 s).
    pub fn retry(mut self, max_retries: u32, base: Duration, cap: Duration) -> Self {
        self.retry = Retry {
            max_retries,
            base,
            cap,
        };
        self
    }
    /// The throttling window (default 10 s; zero: none).
    pub fn throttle_window(mut self, d: Duration) -> Self {
        self.throttle = d;
        self
    }
    /// Report delivery trouble into `rec` (faults and events).
    pub fn recorder(mut self, rec: Recorder) -> Self {
        self.rec = Some(rec);
        self
    }
    /// Failures in a row that set the recorder fault (default 3, ≥ 1).
    pub fn fault_after(mut self, n: u64) -> Self {
        self.fault_after = n;
        self
    }
    /// How many delivery records [`AlertManager::recent`] keeps (default 128, ≥ 1).
    pub fn recent_capacity(mut self, n: usize) -> Self {
        self.recent = n;
        self
    }

    /// Starts the dispatcher and one thread per channel, or names the first setting
    /// that makes no sense.
    pub fn build(self) -> Result<AlertManager, AlertConfigError> {
        if !(1..=1_000_000).contains(&self.queue) {
            return Err(AlertConfigError::new(
                "queue_capacity",
                &self.queue.to_string(),
                "must be 1..=1000000",
            ));
        }
        if !(1..=1_000_000).contains(&self.channel_queue) {
            return Err(AlertConfigError::new(
                "channel_queue_capacity",
                &self.channel_queue.to_string(),
                "must be 1..=1000000",
            ));
        }
        if self.retry.max_retries > 100 {
            return Err(AlertConfigError::new(
                "max_retries",
                &self.retry.max_retries.to_string(),
                "must be at most 100",
            ));
        }
        if self.retry.cap < self.retry.base {
            return Err(AlertConfigError::new(
                "max_backoff",
                &format!("{:?}", self.retry.cap),
                "must be at least the base backoff",
            ));
        }
        if self.fault_after == 0 {
            return Err(AlertConfigError::new(
                "fault_after",
                "0",
                "must be at least 1",
            ));
        }
        if self.recent == 0 {
            return Err(AlertConfigError::new(
                "recent_capacity",
                "0",
                "must be at least 1",
            ));
        }
        let shared = Arc::new(Shared {
            names: self.channels.iter().map(|c| c.name().to_string()).collect(),
            counters: self
                .channels
                .iter()
                .map(|_| ChannelCounters::default())
                .collect(),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            outstanding: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::new()),
            recent_max: self.recent,
            rec: self.rec,
            fault_after: self.fault_after,
        });
        let mut threads = Vec::new();
        let mut outs = Vec::new();
        for (i, ch) in self.channels.into_iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<Alert>(self.channel_queue);
            let sh = shared.clone();
            let retry = self.retry;
            threads.push(
                std::thread::Builder::new()
                    .name(format!("flightring-alert-{}", sh.names[i]))
                    .spawn(move || channel_loop(ch, i, rx, sh, retry))
                    .map_err(|e| AlertConfigError::new("threads", "spawn", e.to_string()))?,
            );
            outs.push(tx);
        }
        let (tx, rx) = mpsc::sync_channel::<Msg>(self.queue);
        let sh = shared.clone();
        let window = self.throttle;
        threads.push(
            std::thread::Builder::new()
                .name("flightring-alert-dispatch".into())
                .spawn(move || dispatch_loop(rx, outs, sh, window))
                .map_err(|e| AlertConfigError::new("threads", "spawn", e.to_string()))?,
        );
        Ok(AlertManager {
            tx: Some(tx),
            shared,
            threads,
        })
    }
}

enum Msg {
    Fire(Alert),
    Resolve(Alert),
}

/// Delivers alerts off the caller's thread: see the [module docs](self).
pub struct AlertManager {
    tx: Option<SyncSender<Msg>>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for AlertManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertManager")
            .field("channels", &self.shared.names)
            .finish_non_exhaustive()
    }
}

impl AlertManager {
    /// A builder with the defaults: queue 1024, channel queues 256, 3 retries from
    /// 500 ms up to 30 s, a 10 s throttling window, faults after 3 failures.
    pub fn builder() -> AlertManagerBuilder {
        AlertManagerBuilder {
            channels: Vec::new(),
            queue: 1024,
            channel_queue: 256,
            retry: Retry {
                max_retries: 3,
                base: Duration::from_millis(500),
                cap: Duration::from_secs(30),
            },
            throttle: Duration::from_secs(10),
            rec: None,
            fault_after: 3,
            recent: 128,
        }
    }

    fn enqueue(&self, m: Msg) -> bool {
        let Some(tx) = &self.tx else { return false };
        self.shared.outstanding.fetch_add(1, Ordering::SeqCst);
        match tx.try_send(m) {
            Ok(()) => {
                self.shared.sent.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shared.outstanding.fetch_sub(1, Ordering::SeqCst);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Queues `alert`; never blocks. `false` when the queue was full (the alert is
    /// dropped and counted in [`AlertStats::dropped`]).
    pub fn send(&self, alert: Alert) -> bool {
        self.enqueue(Msg::Fire(alert))
    }

    /// Queues a resolved notice for `rule` and `key`, delivered only if they fired.
    pub fn resolve(&self, rule: &str, key: &str, message: impl Into<String>) -> bool {
        let mut a = Alert::new(
            rule,
            key,
            MissSeverity::Low,
            format!("{rule} {key}"),
            message,
        );
        a.resolved = true;
        self.enqueue(Msg::Resolve(a))
    }

    /// The figures.
    pub fn stats(&self) -> AlertStats {
        let s = &self.shared;
        AlertStats {
            sent: s.sent.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            throttled: s.throttled.load(Ordering::Relaxed),
            channels: s
                .names
                .iter()
                .zip(&s.counters)
                .map(|(n, c)| ChannelStats {
                    name: n.clone(),
                    delivered: c.delivered.load(Ordering::Relaxed),
                    failed: c.failed.load(Ordering::Relaxed),
                    retries: c.retries.load(Ordering::Relaxed),
                    dropped: c.dropped.load(Ordering::Relaxed),
                    consecutive_failures: c.consecutive.load(Ordering::Relaxed),
                    last_error: c
                        .last_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone(),
                })
                .collect(),
        }
    }

    /// The last deliveries, oldest first.
    pub fn recent(&self) -> Vec<AlertRecord> {
        let q = self.shared.recent.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().cloned().collect()
    }

    /// Waits until every alert sent so far is delivered, failed or dropped (held
    /// alerts wait for their throttling window); `false` if `timeout` passed first.
    pub fn flush(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.shared.outstanding.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Stops accepting alerts, delivers what is queued (held alerts go out at once)
    /// and joins the threads, waiting at most `timeout`; `false` if some thread was
    /// still busy then (it is left to finish on its own).
    pub fn shutdown(mut self, timeout: Duration) -> bool {
        self.tx = None;
        let end = Instant::now() + timeout;
        let threads = std::mem::take(&mut self.threads);
        let mut all = true;
        for t in threads {
            while !t.is_finished() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(2));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                all = false;
            }
        }
        all
    }
}

/// A throttling window of a key (its first alert already went out): the latest alert
/// folded into it since, carrying how many it stands for.
struct Held {
    until: Instant,
    alert: Option<Alert>,
}

fn dispatch_loop(
    rx: Receiver<Msg>,
    outs: Vec<SyncSender<Alert>>,
    sh: Arc<Shared>,
    window: Duration,
) {
    let mut held: HashMap<(String, String), Held> = HashMap::new();
    let mut fired: std::collections::HashSet<(String, String)> = Default::default();
    let fan_out = |a: Alert| {
        for (i, tx) in outs.iter().enumerate() {
            sh.outstanding.fetch_add(1, Ordering::SeqCst);
            if tx.try_send(a.clone()).is_err() {
                sh.outstanding.fetch_sub(1, Ordering::SeqCst);
                sh.counters[i].dropped.fetch_add(1, Ordering::Relaxed);
                sh.push_recent(AlertRecord {
                    channel: sh.names[i].clone(),
                    alert: a.clone(),
                    state: DeliveryState::Dropped,
                });
            }
        }
        sh.outstanding.fetch_sub(1, Ordering::SeqCst); // the alert itself
    };
    loop {
        let next = held.values().map(|h| h.until).min();
        let msg = match next {
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Fire(a)) => {
                let k = (a.rule.clone(), a.key.clone());
                fired.insert(k.clone());
                if window.is_zero() {
                    fan_out(a);
                } else if let Some(h) = held.get_mut(&k) {
                    sh.throttled.fetch_add(1, Ordering::Relaxed);
                    match &mut h.alert {
                        Some(prev) => {
                            let n = prev.repeat_count + a.repeat_count;
                            *prev = a;
                            prev.repeat_count = n;
                            // One outstanding alert now stands for both.
                            sh.outstanding.fetch_sub(1, Ordering::SeqCst);
                        }
                        None => h.alert = Some(a),
                    }
                } else {
                    fan_out(a);
                    held.insert(
                        k,
                        Held {
                            until: Instant::now() + window,
                            alert: None,
                        },
                    );
                }
            }
            Ok(Msg::Resolve(a)) => {
                let k = (a.rule.clone(), a.key.clone());
                if let Some(a) = held.remove(&k).and_then(|h| h.alert) {
                    fan_out(a);
                }
                if fired.remove(&k) {
                    fan_out(a);
                } else {
                    sh.outstanding.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                for a in held.drain().filter_map(|(_, h)| h.alert) {
                    fan_out(a);
                }
                return;
            }
        }
        let now = Instant::now();
        let due: Vec<_> = held
            .iter()
            .filter(|(_, h)| h.until <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            // The repeats go out, and open the next window; a quiet window just ends.
            if let Some(a) = held.remove(&k).and_then(|h| h.alert) {
                fan_out(a);
                held.insert(
                    k,
                    Held {
                        until: now + window,
                        alert: None,
                    },
                );
            }
        }
        if fired.len() > 100_000 {
            fired.clear(); // bounded: resolves for very old keys are then not sent
        }
    }
}

/// The message of a panic payload (`&str` or `String`, as `panic!` makes them).
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}

fn channel_loop(
    mut ch: Box<dyn Channel>,
    i: usize,
    rx: Receiver<Alert>,
    sh: Arc<Shared>,
    retry: Retry,
) {
    let c = &sh.counters[i];
    let name = sh.names[i].clone();
    let component = format!("alerts.{name}");
    while let Ok(a) = rx.recv() {
        let mut attempt = 0u32;
        let state = loop {
            // A panic in a channel (a user's own, or a formatter it calls) must not
            // end this thread: every later alert would wait in its queue for ever.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ch.deliver(&a)))
                .unwrap_or_else(|p| Err(DeliveryError::Panicked(panic_text(p.as_ref()))));
            match result {
                Ok(()) => {
                    c.delivered.fetch_add(1, Ordering::Relaxed);
                    if c.consecutive.swap(0, Ordering::Relaxed) >= sh.fault_after {
                        if let Some(rec) = &sh.rec {
                            rec.clear_fault(&component);
                        }
                    }
                    break DeliveryState::Delivered {
                        attempts: attempt + 1,
                    };
                }
                Err(e)
                    if attempt < retry.max_retries && !matches!(e, DeliveryError::Panicked(_)) =>
                {
                    let _ = e;
                    let backoff = retry
                        .base
                        .checked_mul(1u32 << attempt.min(20))
                        .unwrap_or(retry.cap)
                        .min(retry.cap);
                    attempt += 1;
                    c.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(backoff);
                }
                Err(e) => {
                    let msg = e.to_string();
                    c.failed.fetch_add(1, Ordering::Relaxed);
                    let n = c.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
                    *c.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
                    if let Some(rec) = &sh.rec {
                        rec.record(
                            &Event::new("alert_delivery_failed", Severity::Warning)
                                .peer(&name)
                                .message(&msg)
                                .field("rule", a.rule.as_str())
                                .field("attempts", u64::from(attempt + 1)),
                        );
                        if n >= sh.fault_after {
                            rec.set_fault(
                                &component,
                                format!("{n} deliveries in a row failed, last: {msg}"),
                            );
                        }
                    }
                    break DeliveryState::Failed {
                        attempts: attempt + 1,
                        error: msg,
                    };
                }
            }
        };
        sh.push_recent(AlertRecord {
            channel: name.clone(),
            alert: a,
            state,
        });
        sh.outstanding.fetch_sub(1, Ordering::SeqCst);
    }
}
