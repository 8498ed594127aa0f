//! Loads arbitrary bytes as an export document and as JSON Lines: never panics; see `checks::import`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../src/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::import(data));
