//! Sends arbitrary requests (method, route, path segment, query string, body) to the
//! real router: never a panic or a 500, every error a JSON body naming it, nothing
//! written outside the recordings directory; see `http_check::http`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../src/http_check.rs"]
mod http_check;

fuzz_target!(|data: &[u8]| http_check::http(data));
