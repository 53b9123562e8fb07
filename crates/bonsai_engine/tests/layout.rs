//! Headless layout end to end: `tests/fixtures/engine/layout` asks
//! `wx.createSelectorQuery()` for rects, a component queries its own
//! shadow tree, an intersection observer watches a box below the fold, and
//! `wx.pageScrollTo` brings it into view. Every number is derived by hand
//! from the fixture's WXSS on a 375 × 600 window (1rpx = 0.5px).

use std::path::Path;
use std::sync::Arc;

use bonsai_compiler::Compiler;
use bonsai_engine::{AppInstance, DeviceProfile, EngineOptions, LaunchOptions, Rect};
use bonsai_package::LoadOptions;
use bonsai_package::input::{InputLimits, read_dir};
use serde_json::{Value, json};

fn launch() -> AppInstance {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/engine/layout");
    let files = read_dir(&dir, InputLimits::default()).expect("fixture reads");
    let (manifest, mut diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    let (compiled, more) = Compiler::new().compile(&manifest);
    diagnostics.extend(more);
    assert!(
        !diagnostics.iter().any(|d| d.is_error()),
        "fixture compiles: {diagnostics:?}"
    );
    let options = EngineOptions {
        device: DeviceProfile {
            window_width: 375,
            window_height: 600,
            screen_width: 375,
            ..DeviceProfile::default()
        },
        ..EngineOptions::default()
    };
    let mut app = AppInstance::new(Arc::new(compiled), &options).expect("engine starts");
    app.launch(&LaunchOptions::default());
    app
}

/// The JSON the fixture logged after `label`, in order.
fn logged(app: &AppInstance, label: &str) -> Vec<Value> {
    let prefix = format!("{label} ");
    app.console()
        .iter()
        .filter_map(|m| m.text.strip_prefix(&prefix))
        .map(|rest| serde_json::from_str(rest).unwrap_or_else(|_| Value::String(rest.to_owned())))
        .collect()
}

/// A number as JS prints it: whole numbers without a fraction.
fn num(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

fn rect(left: f64, top: f64, width: f64, height: f64) -> Value {
    json!({
        "left": num(left), "top": num(top), "right": num(left + width),
        "bottom": num(top + height), "width": num(width), "height": num(height),
    })
}

#[test]
fn selector_queries_answer_with_layout() {
    let app = launch();
    assert!(app.errors().is_empty(), "errors: {:?}", app.errors());
    let query = logged(&app, "query");
    assert_eq!(query.len(), 1, "console: {:?}", app.console());
    let res = &query[0];

    // `.header { width: 750rpx; height: 100rpx }`.
    let mut header = rect(0.0, 0.0, 375.0, 50.0);
    header["id"] = json!("a");
    header["dataset"] = json!({});
    assert_eq!(res[0], header);

    // `.row { display: flex; height: 80rpx }` under the header; three `flex: 1` items.
    let items: Vec<Value> = (0..3)
        .map(|i| {
            let mut item = rect(125.0 * f64::from(i), 50.0, 125.0, 40.0);
            item["id"] = json!("");
            item["dataset"] = json!({});
            item
        })
        .collect();
    assert_eq!(res[1], Value::Array(items));

    // The page is 50 + 40 + 80 (card) + 2000 + 100 + 33 (badge) = 2303px tall.
    assert_eq!(
        res[2],
        json!({ "id": "", "dataset": {}, "scrollLeft": 0, "scrollTop": 0, "scrollWidth": 375, "scrollHeight": 2303 })
    );

    // The card's `.box { height: 60px; padding: 10px }` from its own
    // stylesheet, not the page's `.box { height: 999px }`.
    let card = logged(&app, "card");
    let mut expected = rect(0.0, 90.0, 375.0, 80.0);
    // `fields({ computedStyle })`: px values, '' for what nothing set.
    expected["paddingTop"] = json!("10px");
    expected["display"] = json!("block");
    expected["color"] = json!("");
    assert_eq!(card, vec![expected]);

    let rect_of = |selector: &str| {
        let node = app.query(selector).ok().flatten()?;
        app.layout_rect(node)
    };
    assert_eq!(
        rect_of("#tall"),
        Some(Rect {
            left: 0.0,
            top: 170.0,
            width: 375.0,
            height: 2000.0
        })
    );
    // app.wxss's `.global-box { height: 33px }` reaches into a component
    // with `addGlobalClass` (set in its script), not into the isolated card.
    assert_eq!(
        rect_of("#badge-box").map(|r| (r.top, r.height)),
        Some((2270.0, 33.0))
    );
    assert_eq!(rect_of("#card-global").map(|r| r.height), Some(0.0));
}

#[test]
fn intersection_observer_and_page_scroll() {
    let mut app = launch();
    // `#bottom` starts at 2170px, far below the 600px window: no report.
    assert!(
        logged(&app, "bottom").is_empty(),
        "console: {:?}",
        app.console()
    );

    app.tap("#tall").expect("#tall exists");
    assert!(app.errors().is_empty(), "errors: {:?}", app.errors());
    // 2000 is past the end: a 2303px page in a 600px window scrolls 1703px at most.
    assert_eq!(logged(&app, "scrolled"), vec![json!(1703)]);
    let after = logged(&app, "after scroll");
    assert_eq!(after.len(), 1, "console: {:?}", app.console());
    assert_eq!(after[0][0]["scrollTop"], json!(1703));
    assert_eq!(after[0][1]["top"], json!(467));
    // `#bottom` (2170px into the page) now spans 467..567: fully in view, reported once.
    assert_eq!(
        logged(&app, "bottom"),
        vec![Value::String(format!(
            "1 {}",
            rect(0.0, 467.0, 375.0, 100.0)
        ))]
    );
}
