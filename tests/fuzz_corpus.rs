//! Replays the fuzz corpus (`fuzz/corpus/<target>/*`) through the same checks the fuzz
//! targets run (`fuzz/src/checks.rs`), on stable Rust, as an ordinary test. Inputs the
//! fuzzer found interesting stay regression tests without a nightly toolchain.

#[path = "../fuzz/src/checks.rs"]
mod checks;
#[cfg(all(feature = "http", feature = "monitor"))]
#[path = "../fuzz/src/http_check.rs"]
mod http_check;
#[cfg(feature = "monitor")]
#[path = "../fuzz/src/monitor_check.rs"]
mod monitor_check;

use std::fs;
use std::path::{Path, PathBuf};

/// The corpus files of one fuzz target, sorted; fails if there are none, so the test
/// cannot pass on a missing or empty corpus.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files
}

/// Runs `check` on every corpus file of `target`, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    for path in corpus(target) {
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let run = std::panic::catch_unwind(|| check(&data));
        if let Err(e) = run {
            eprintln!("fuzz check `{target}` failed on {}", path.display());
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn codec_corpus() {
    replay("codec", checks::codec);
}

#[test]
fn decode_raw_corpus() {
    replay("decode_raw", checks::decode_raw);
}

#[test]
fn import_corpus() {
    replay("import", checks::import);
}

#[test]
fn settings_corpus() {
    replay("settings", checks::settings);
}

#[test]
fn recording_corpus() {
    replay("recording", checks::recording);
}

/// Every corpus directory belongs to a target this test replays.
#[test]
fn every_corpus_is_replayed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut dirs: Vec<String> = fs::read_dir(&root)
        .expect("fuzz/corpus exists")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        [
            "codec",
            "decode_raw",
            "http",
            "import",
            "monitor",
            "recording",
            "settings"
        ]
    );
}

#[cfg(feature = "monitor")]
#[test]
fn monitor_corpus() {
    replay("monitor", monitor_check::monitor);
}

#[cfg(all(feature = "http", feature = "monitor"))]
#[test]
fn http_corpus() {
    replay("http", http_check::http);
}
