//! Alert rules: conditions over the monitor and the recorder, each with a name, that
//! fire an [`Alert`] saying which rule and why, and resolve when the condition clears.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Alert, AlertConfigError, AlertManager};
use crate::monitor::{BlockMonitor, MissSeverity};
use crate::{Cursor, HealthStatus, Recorder, Severity};

/// What a [`Rule`] watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The monitor's current streak of missed blocks is at least this (key `streak`;
    /// resolved when it drops below).
    MissedStreak(u64),
    /// A missed block of at least this severity (key: its height; resolved when it is
    /// recovered).
    MissedSeverity(MissSeverity),
    /// The recorder's health is Degraded or Unhealthy (key `health`; fires again when
    /// the status changes, resolved when Healthy).
    Health,
    /// A recorder event of at least this severity (key: its kind).
    EventSeverity(Severity),
    /// More than `max` events of `kind` within `window` (key: the kind; resolved when
    /// the count is back at or under `max`).
    KindRate {
        /// The kind.
        kind: String,
        /// The most events allowed in the window.
        max: u64,
        /// The window.
        window: Duration,
    },
}

/// A named condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its name, in every alert it fires.
    pub name: String,
    /// What it watches.
    pub condition: Condition,
}

impl Rule {
    /// A rule named `name`.
    pub fn new(name: impl Into<String>, condition: Condition) -> Self {
        Rule {
            name: name.into(),
            condition,
        }
    }
}

fn sev_of(s: Severity) -> MissSeverity {
    match s {
        Severity::Debug | Severity::Info => MissSeverity::Low,
        Severity::Warning => MissSeverity::Medium,
        Severity::Error => MissSeverity::High,
        Severity::Critical => MissSeverity::Critical,
    }
}

/// Evaluates rules and sends their alerts and resolved notices through an
/// [`AlertManager`]. Call [`check_monitor`](Self::check_monitor) after feeding the
/// monitor and [`check_recorder`](Self::check_recorder) from a timer; both are cheap
/// when nothing changed.
#[derive(Debug)]
pub struct RuleEngine {
    rules: Vec<Rule>,
    /// Highest monitor position seen.
    seq: u64,
    streak_active: Vec<bool>,
    /// Per rule: heights alerted and not yet resolved (bounded: 10 000).
    alerted: Vec<BTreeSet<u64>>,
    health: Vec<HealthStatus>,
    cursor: Option<Cursor>,
    /// Per rule: arrival instants of matching events in the window.
    rates: Vec<VecDeque<Instant>>,
    rate_active: Vec<bool>,
}

impl RuleEngine {
    /// An engine for `rules`, or the first one that makes no sense (an empty or
    /// repeated name, a zero threshold or window).
    pub fn new(rules: Vec<Rule>) -> Result<Self, AlertConfigError> {
        let mut names = HashMap::new();
        for r in &rules {
            if r.name.is_empty() {
                return Err(AlertConfigError::new("rule.name", "", "must not be empty"));
            }
            if names.insert(r.name.clone(), ()).is_some() {
                return Err(AlertConfigError::new("rule.name", &r.name, "is used twice"));
            }
            match &r.condition {
                Condition::MissedStreak(0) => {
                    return Err(AlertConfigError::new(
                        "rule.streak",
                        "0",
                        "must be at least 1",
                    ))
                }
                Condition::KindRate { window, .. } if window.is_zero() => {
                    return Err(AlertConfigError::new(
                        "rule.window",
                        "0",
                        "must be more than zero",
                    ))
                }
                Condition::KindRate { kind, .. } if kind.is_empty() => {
                    return Err(AlertConfigError::new("rule.kind", "", "must not be empty"))
                }
                _ => {}
            }
        }
        let n = rules.len();
        Ok(RuleEngine {
            rules,
            seq: 0,
            streak_active: vec![false; n],
            alerted: vec![BTreeSet::new(); n],
            health: vec![HealthStatus::Healthy; n],
            cursor: None,
            rates: vec![VecDeque::new(); n],
            rate_active: vec![false; n],
        })
    }

    /// Evaluates the monitor rules; returns how many alerts and notices were queued.
    pub fn check_monitor(&mut self, mon: &BlockMonitor, mgr: &AlertManager) -> usize {
        let mut sent = 0;
        let streak = mon.stats().current_streak;
        let new: Vec<_> = mon
            .missed_after(self.seq)
            .map(|(s, b)| (s, b.clone()))
            .collect();
        for (i, r) in self.rules.iter().enumerate() {
            match r.condition {
                Condition::MissedStreak(n) => {
                    if streak >= n && !self.streak_active[i] {
                        self.streak_active[i] = true;
                        let mut a = Alert::new(
                            &r.name,
                            "streak",
                            MissSeverity::Critical,
                            format!("{streak} consecutive missed blocks"),
                            format!("missed-block streak {streak} >= {n}"),
                        );
                        if let Some(b) = mon.missed_blocks().last() {
                            a.block_number = Some(b.block_number);
                            a.reason = Some(b.reason);
                            a.expected_timestamp = Some(b.expected_timestamp);
                        }
                        sent += usize::from(mgr.send(a));
                    } else if streak < n && self.streak_active[i] {
                        self.streak_active[i] = false;
                        sent += usize::from(mgr.resolve(
                            &r.name,
                            "streak",
                            format!("streak back to {streak} < {n}"),
                        ));
                    }
                }
                Condition::MissedSeverity(min) => {
                    for (_, b) in &new {
                        if b.severity >= min && !b.recovered {
                            let why = format!("missed block severity {} >= {min}", b.severity);
                            sent += usize::from(mgr.send(Alert::missed_block(&r.name, b, why)));
                            if self.alerted[i].len() < 10_000 {
                                self.alerted[i].insert(b.block_number);
                            }
                        }
                    }
                    let done: Vec<u64> = self.alerted[i]
                        .iter()
                        .copied()
                        .filter(|n| mon.missed_block(*n).is_none_or(|b| b.recovered))
                        .collect();
                    for n in done {
                        self.alerted[i].remove(&n);
                        sent += usize::from(mgr.resolve(
                            &r.name,
                            &n.to_string(),
                            format!("block {n} recovered"),
                        ));
                    }
                }
                _ => {}
            }
        }
        if let Some((s, _)) = new.last() {
            self.seq = self.seq.max(*s);
        }
        self.seq = self.seq.max(mon.miss_seq());
        sent
    }

    /// Evaluates the recorder rules (health, event severity, kind rates); returns how
    /// many alerts and notices were queued. The first call reads every event the
    /// recorder still holds; later calls only the new ones.
    pub fn check_recorder(&mut self, rec: &Recorder, mgr: &AlertManager) -> usize {
        let mut sent = 0;
        let needs_events = self.rules.iter().any(|r| {
            matches!(
                r.condition,
                Condition::EventSeverity(_) | Condition::KindRate { .. }
            )
        });
        let events = if needs_events {
            let cur = self.cursor.get_or_insert_with(|| rec.cursor_from_oldest());
            cur.poll(100_000).events
        } else {
            Vec::new()
        };
        let now = Instant::now();
        for (i, r) in self.rules.iter().enumerate() {
            match &r.condition {
                Condition::Health => {
                    let h = rec.health();
                    if h.status != self.health[i] {
                        let was = self.health[i];
                        self.health[i] = h.status;
                        if h.status == HealthStatus::Healthy {
                            sent += usize::from(mgr.resolve(
                                &r.name,
                                "health",
                                "recorder healthy again",
                            ));
                        } else {
                            let sev = if h.status == HealthStatus::Unhealthy {
                                MissSeverity::Critical
                            } else {
                                MissSeverity::High
                            };
                            sent += usize::from(mgr.send(Alert::new(
                                &r.name,
                                "health",
                                sev,
                                format!("recorder {:?}", h.status),
                                format!(
                                    "health {:?} (was {was:?}): {}",
                                    h.status,
                                    h.reasons.join("; ")
                                ),
                            )));
                        }
                    }
                }
                Condition::EventSeverity(min) => {
                    for e in events.iter().filter(|e| e.severity >= *min) {
                        sent += usize::from(mgr.send(Alert::new(
                            &r.name,
                            e.kind.clone(),
                            sev_of(e.severity),
                            format!("{} event {}", e.severity, e.kind),
                            format!("event severity {} >= {min}: {}", e.severity, e.message),
                        )));
                    }
                }
                Condition::KindRate { kind, max, window } => {
                    let q = &mut self.rates[i];
                    let n_new = events.iter().filter(|e| e.kind == *kind).count();
                    for _ in 0..n_new {
                        q.push_back(now);
                    }
                    while q.front().is_some_and(|t| now.duration_since(*t) > *window) {
                        q.pop_front();
                    }
                    while q.len() as u64 > max.saturating_add(1_000_000) {
                        q.pop_front(); // bounded
                    }
                    let count = q.len() as u64;
                    if count > *max && !self.rate_active[i] {
                        self.rate_active[i] = true;
                        sent += usize::from(mgr.send(Alert::new(
                            &r.name,
                            kind.clone(),
                            MissSeverity::High,
                            format!("{kind} rate over {max}"),
                            format!("{count} {kind} events in {window:?} > {max}"),
                        )));
                    } else if count <= *max && self.rate_active[i] {
                        self.rate_active[i] = false;
                        sent += usize::from(mgr.resolve(
                            &r.name,
                            kind,
                            format!("{count} {kind} events in {window:?} <= {max}"),
                        ));
                    }
                }
                _ => {}
            }
        }
        sent
    }
}
