//! The committed conformance report must match a fresh run: a change that
//! makes a page or component pass or fail shows up as a failing test and a
//! report diff to review.

use std::process::Command;

#[test]
fn conformance_report_is_current() {
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--check")
        .output()
        .expect("the conformance runner starts");
    assert!(
        output.status.success(),
        "the conformance report changed; run `cargo run -p conformance` and review tasks/conformance/report.md\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
