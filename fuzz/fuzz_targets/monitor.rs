//! Drives the block monitor with an arbitrary sequence of blocks, misses, recoveries and
//! clock steps: never panics, every height counted once; see `monitor_check::monitor`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/monitor_check.rs"]
mod monitor_check;

fuzz_target!(|data: &[u8]| monitor_check::monitor(data));
