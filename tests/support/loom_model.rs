//! What the loom model tests share: the model runner and the record of what the
//! explored executions showed. Include with
//! `#[path = "support/loom_model.rs"] mod loom_model;`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Runs `f` under loom with at most two preemptions per execution (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise), and prints how many executions it explored.
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    b.check(move || {
        r.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!("explored {} executions", runs.load(Ordering::Relaxed));
}

/// What the executions of one model showed, collected across executions so a test can
/// assert that the races it is about were actually explored (loom's partial-order
/// reduction skips some interleavings, see tokio-rs/loom#166 and #392; a model that
/// never raced would pass vacuously).
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<BTreeSet<String>>>);

impl Seen {
    pub fn add(&self, what: impl Into<String>) {
        self.0.lock().unwrap().insert(what.into());
    }

    pub fn assert_saw(&self, expected: &[&str]) {
        let seen = self.0.lock().unwrap();
        println!("saw {seen:?}");
        for e in expected {
            assert!(seen.contains(*e), "no execution showed {e:?}; saw {seen:?}");
        }
    }
}
