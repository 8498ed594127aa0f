//! Reads arbitrary bytes as FLIGHTRING_* variables and as a TOML settings file: never panics; see `checks::settings`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../src/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::settings(data));
