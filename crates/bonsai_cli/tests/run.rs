//! `bonsai run` as a user runs it, on our example shop: the README's main job.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop")
}

fn bonsai_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .arg("run")
        .arg(shop())
        .arg("--no-persist")
        .args(args)
        .output()
        .expect("bonsai runs")
}

#[test]
fn the_shop_home_page_renders() {
    let out = bonsai_run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("pages/index/index\n"), "{stdout}");
    assert!(
        stdout.contains("<text class=\"card__title\">Juniper Bonsai</text>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("¥128.00"),
        "WXS price formatting ran: {stdout}"
    );
    assert!(
        stderr.contains("[console.log] [app] launched from scene 1001"),
        "{stderr}"
    );
}

#[test]
fn taps_navigate_and_update_the_cart() {
    let out = bonsai_run(&[
        "--page",
        "pages/detail/detail?id=p002",
        "--tap",
        ".btn--primary",
        "--tap",
        ".actions__btn",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["ok"], true);
    assert_eq!(report["page_stack"], serde_json::json!(["pages/cart/cart"]));
    let tree = report["tree"].as_str().unwrap_or_default();
    assert!(tree.contains("Chinese Elm"), "{tree}");
    assert!(tree.contains("¥89.50"), "{tree}");
}

#[test]
fn an_unmatched_tap_is_an_error() {
    let out = bonsai_run(&["--tap", "#nothing-has-this-id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no node matches `#nothing-has-this-id`")
    );
}

#[test]
fn a_page_that_throws_exits_1_and_names_its_line() {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/run/throws");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["run", "--no-persist"])
        .arg(app)
        .output()
        .expect("bonsai runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("uncaught error: Error: boom in onLoad (in pages/index/index onLoad)"),
        "{stderr}"
    );
    assert!(stderr.contains("(pages/index/index.js:3:"), "{stderr}");
}
