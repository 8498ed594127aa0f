//! Opens arbitrary bytes as every file the recording loaders read (plain or gzip, documents and stream lines): never panics; see `checks::recording`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../src/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::recording(data));
