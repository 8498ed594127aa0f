//! Real tools the tests run on our files (jq, python3 with pandas / DuckDB / hdrh, …):
//! present, or a skip that says so — and with `FLIGHTRING_REQUIRE_TOOLS=1` (set by
//! `.ci/test`, which installs them) a failure. Include with
//! `#[path = "support/tools.rs"] mod tools;`.

#![allow(dead_code)]

use std::process::{Command, Stdio};

pub fn require_tools() -> bool {
    std::env::var_os("FLIGHTRING_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

pub fn have(cmd: &str, arg: &str) -> bool {
    let ok = Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !require_tools(),
            "{cmd} is required (FLIGHTRING_REQUIRE_TOOLS=1)"
        );
        println!("SKIPPED: {cmd} is not installed (bash .ci/test installs it)");
    }
    ok
}

pub fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !require_tools(),
            "python3 module {module} is required (FLIGHTRING_REQUIRE_TOOLS=1)"
        );
        println!("SKIPPED: python3 module {module} is not installed (bash .ci/test installs it)");
    }
    ok
}

pub fn python(code: &str) -> String {
    let o = Command::new("python3").args(["-c", code]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}
