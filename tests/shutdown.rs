//! The sweeper thread ends when the last `Recorder` clone is dropped. (Alone in its test
//! binary, so no other test's recorders are counted.)

use std::time::{Duration, Instant};

use flightring::Recorder;

fn sweepers() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return usize::MAX;
    };
    dir.filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("flightring-swee"))
        })
        .count()
}

#[test]
fn dropping_the_last_clone_stops_the_sweeper() {
    if sweepers() == usize::MAX {
        eprintln!("no /proc/self/task here; nothing to check");
        return;
    }
    assert_eq!(sweepers(), 0);
    let rec = Recorder::builder()
        .capacity(64)
        .sweep_interval(Duration::from_secs(3600))
        .health_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let clone = rec.clone();
    // The thread names itself once it runs.
    let t = Instant::now();
    while sweepers() == 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(sweepers(), 1);
    drop(rec);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(sweepers(), 1, "a clone is still alive");
    let t = Instant::now();
    drop(clone);
    // Drop joins the thread, so it has ended when drop returns (not an hour later).
    // The kernel may list an ended thread in /proc for a few microseconds after the
    // join returns (pthread_join wakes on the tid clear, before the task is released),
    // so allow it a moment to disappear.
    let gone = Instant::now();
    while sweepers() != 0 && gone.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(sweepers(), 0);
    assert!(t.elapsed() < Duration::from_secs(30));
}
