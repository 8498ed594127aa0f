//! A fresh directory under the system temp dir, for tests that write files. Include
//! with `#[path = "support/temp_dir.rs"] mod temp_dir;`.

use std::path::PathBuf;

/// A new, empty directory named after the test binary's `area`, the test's `name`, the
/// process and the time, so concurrent tests and runs never share one.
pub fn temp_dir(area: &str, name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "flightring-{area}-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
