//! Decodes arbitrary bytes as a slot payload: never panics; see `checks::decode_raw`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../src/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::decode_raw(data));
