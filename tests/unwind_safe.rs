//! `Recorder` and its handles can be used across `catch_unwind`: their state is atomics
//! and locks that recover from poisoning, so a panic mid-call leaves nothing broken.

use std::panic::{RefUnwindSafe, UnwindSafe};

fn assert_unwind_safe<T: RefUnwindSafe + UnwindSafe>() {}

#[test]
fn recorder_and_handles_are_unwind_safe() {
    assert_unwind_safe::<flightring::Recorder>();
    assert_unwind_safe::<flightring::Counter>();
    assert_unwind_safe::<flightring::Histogram>();
    assert_unwind_safe::<flightring::Cursor>();
}

#[test]
fn a_panic_inside_catch_unwind_leaves_the_recorder_working() {
    use flightring::{Event, Recorder, Severity};
    let rec = Recorder::builder().capacity(64).build().unwrap();
    let r = std::panic::catch_unwind(|| {
        rec.record(&Event::new("before", Severity::Info));
        rec.set_gauge("g", 1.0);
        panic!("inside");
    });
    assert!(r.is_err());
    rec.record(&Event::new("after", Severity::Info));
    let kinds: Vec<String> = rec
        .snapshot()
        .events()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["before", "after"]);
    assert_eq!(rec.stats().gauges["g"], 1.0);
}
