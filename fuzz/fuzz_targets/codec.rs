//! Builds an event from the input, encodes it at every `max_event_bytes` tried and decodes it back; see `checks::codec`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../src/checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::codec(data));
