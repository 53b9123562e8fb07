//! WeChat semantics, end to end: each case is a small real mini program under
//! `tests/fixtures/engine/<case>/`, compiled like `bonsai build`, launched,
//! driven (taps, navigation, page events, time), and checked with snapshots
//! of the rendered page and of what the app logged.
//!
//! The fixtures log every lifecycle callback and handler with `console.log`,
//! so the console snapshots pin down ordering. Snapshots were reviewed
//! against WeChat's documented behaviour; where the engine differs, the test
//! expects WeChat's behaviour.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions, Navigation};
use bonsai_package::LoadOptions;
use bonsai_package::input::{InputLimits, read_dir};
use bonsai_tree::PrintOptions;

fn fixture_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/engine")
        .join(case)
}

/// Reads and compiles a fixture app; any error diagnostic fails the test.
fn compile(case: &str) -> Arc<CompiledApp> {
    let files = read_dir(&fixture_dir(case), InputLimits::default())
        .unwrap_or_else(|e| panic!("reading fixture {case}: {}", e.to_diagnostic()));
    let (manifest, mut diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    let (compiled, more) = Compiler::new().compile(&manifest);
    diagnostics.extend(more);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "fixture {case} does not compile:\n{}",
        errors.join("\n")
    );
    Arc::new(compiled)
}

/// One running fixture app, with a cursor into its console so each step's
/// output can be snapshotted on its own.
struct Run {
    app: AppInstance,
    seen: usize,
}

impl Run {
    /// Compiles and launches `case` at `url` (the entry page when `None`).
    fn launch(case: &str, url: Option<&str>) -> Run {
        let mut app =
            AppInstance::new(compile(case), &EngineOptions::default()).expect("engine starts");
        app.launch(&LaunchOptions {
            url: url.map(str::to_owned),
            ..LaunchOptions::default()
        });
        Run { app, seen: 0 }
    }

    /// Console lines printed since the last call, one per line, `level: text`
    /// for anything but `log`.
    fn logs(&mut self) -> String {
        let console = self.app.console();
        let mut out = String::new();
        for message in &console[self.seen..] {
            let level = serde_json::to_value(&message.level).expect("level serializes");
            let level = level.as_str().unwrap_or("log");
            if level != "log" {
                out.push_str(level);
                out.push_str(": ");
            }
            out.push_str(&message.text);
            out.push('\n');
        }
        self.seen = console.len();
        out
    }

    fn page(&self) -> String {
        self.app.page_wxml(PrintOptions::default())
    }

    /// The subtree at the first node matching `selector`.
    fn subtree(&self, selector: &str) -> String {
        let node = self.app.query(selector).expect("selector parses");
        let node =
            node.unwrap_or_else(|| panic!("no node matches {selector}\npage:\n{}", self.page()));
        self.app.tree().to_wxml(node, PrintOptions::default())
    }

    fn tap(&mut self, selector: &str) {
        if let Err(e) = self.app.tap(selector) {
            panic!("tap {selector}: {e}\npage:\n{}", self.page());
        }
    }

    fn navigate(&mut self, kind: Navigation, url: &str) {
        self.app.navigate(kind, url);
    }

    /// No uncaught JS error and no tree operation that failed to apply.
    fn assert_clean(&self) {
        let errors: Vec<String> = self.app.errors().iter().map(ToString::to_string).collect();
        assert!(
            errors.is_empty(),
            "uncaught errors:\n{}",
            errors.join("\n---\n")
        );
        assert_eq!(self.app.tree_errors(), 0, "tree operations failed to apply");
    }
}

// ---- 1. wx:for / wx:key / wx:if / template / include / import ---------------

#[test]
fn template_control() {
    let mut run = Run::launch("template-control", None);
    run.assert_clean();
    insta::assert_snapshot!("template_control_initial", run.page());

    // Keyed components keep their own state when the list is reordered.
    run.tap("#c-q .count");
    run.tap("#c-q .count");
    run.tap("#c-r .count");
    run.assert_clean();
    insta::assert_snapshot!("template_control_counted", run.subtree("#keyed"));

    run.tap("#change");
    run.assert_clean();
    insta::assert_snapshot!("template_control_changed", run.page());

    run.tap("#fail");
    run.assert_clean();
    insta::assert_snapshot!("template_control_else", run.page());
    assert_eq!(run.logs(), "", "the fixture logs nothing");
}

// ---- 2. slots ---------------------------------------------------------------

#[test]
fn slots() {
    let mut run = Run::launch("slots", None);
    run.assert_clean();
    insta::assert_snapshot!("slots_initial", run.page());

    run.tap("#update");
    run.assert_clean();
    insta::assert_snapshot!("slots_updated", run.page());
}

// ---- 3. generics, relations, observers, behaviors ---------------------------

#[test]
fn component_generics() {
    let mut run = Run::launch("generics", None);
    run.assert_clean();
    insta::assert_snapshot!("generics_initial", run.page());
    insta::assert_snapshot!("generics_initial_console", run.logs());

    run.tap("#add");
    run.assert_clean();
    insta::assert_snapshot!("generics_added", run.page());
    insta::assert_snapshot!("generics_added_console", run.logs());
}

#[test]
fn relations() {
    let mut run = Run::launch("relations", None);
    run.assert_clean();
    insta::assert_snapshot!("relations_initial", run.page());
    insta::assert_snapshot!("relations_linked", run.logs());

    run.tap("#count");
    run.tap("#remove");
    run.tap("#count");
    run.assert_clean();
    insta::assert_snapshot!("relations_unlinked", run.logs());
}

#[test]
fn observers() {
    let mut run = Run::launch("observers", None);
    run.assert_clean();
    insta::assert_snapshot!("observers_initial", run.page());
    insta::assert_snapshot!("observers_initial_console", run.logs());

    run.tap("#set-a");
    run.tap("#set-both");
    run.tap("#inner");
    run.assert_clean();
    insta::assert_snapshot!("observers_after", run.page());
    insta::assert_snapshot!("observers_after_console", run.logs());
}

#[test]
fn behaviors_and_external_classes() {
    let mut run = Run::launch("behaviors", None);
    run.assert_clean();
    insta::assert_snapshot!("behaviors_page", run.page());
    insta::assert_snapshot!("behaviors_lifetimes", run.logs());

    run.tap("#probe");
    run.assert_clean();
    insta::assert_snapshot!("behaviors_methods", run.logs());
}

// ---- 4. WXS event handlers --------------------------------------------------

#[test]
fn wxs_event_handler() {
    let mut run = Run::launch("wxs-event", None);
    run.assert_clean();
    insta::assert_snapshot!("wxs_initial", run.page());

    // WeChat calls a WXS handler as `handler(event, ownerInstance)`:
    // `event.instance` is the target's ComponentDescriptor (addClass,
    // setStyle), `ownerInstance.callMethod` calls the page's method, and
    // returning false stops the event like catch.
    run.tap("#target");
    run.assert_clean();
    insta::assert_snapshot!("wxs_tapped_console", run.logs());
    insta::assert_snapshot!("wxs_tapped", run.page());
    let target = run
        .app
        .query("#target")
        .expect("selector parses")
        .expect("#target exists");
    let style = run
        .app
        .tree()
        .get(target)
        .map(|n| n.style.replace(' ', ""))
        .unwrap_or_default();
    assert!(
        style.contains("color:red"),
        "event.instance.setStyle reached the node: style = {style:?}"
    );
}

// ---- 5. events: triggerEvent, bubbles/composed, bind/catch/capture, mark ----

#[test]
fn events() {
    let mut run = Run::launch("events", None);
    run.assert_clean();
    insta::assert_snapshot!("events_page", run.page());

    run.tap("#btn");
    run.assert_clean();
    insta::assert_snapshot!("events_component", run.logs());

    run.tap("#cap-leaf");
    run.assert_clean();
    insta::assert_snapshot!("events_capture_and_catch", run.logs());

    run.tap("#capture-catch-leaf");
    run.tap("#mut-inner");
    run.assert_clean();
    insta::assert_snapshot!("events_capture_catch_and_mut", run.logs());
}

// ---- 6. setData paths and callbacks -----------------------------------------

#[test]
fn set_data_paths_and_callback() {
    let mut run = Run::launch("setdata", None);
    run.assert_clean();
    insta::assert_snapshot!("setdata_initial", run.page());

    run.tap("#update");
    run.assert_clean();
    insta::assert_snapshot!("setdata_updated", run.page());
    insta::assert_snapshot!("setdata_updated_console", run.logs());

    // A timer's setData: nothing before the timer is due, then the update
    // and, after the render, the callback.
    run.tap("#later");
    run.app.advance(99);
    assert_eq!(run.logs(), "", "the timer is not due yet");
    run.app.advance(1);
    run.app.advance(16);
    run.assert_clean();
    insta::assert_snapshot!("setdata_timer_console", run.logs());
    insta::assert_snapshot!("setdata_timer", run.subtree("#list"));
}

// ---- 7. selectComponent / selectAllComponents -------------------------------

#[test]
fn select_component() {
    let mut run = Run::launch("select-component", None);
    run.assert_clean();
    insta::assert_snapshot!("select_component_initial", run.page());

    run.tap("#go");
    run.assert_clean();
    insta::assert_snapshot!("select_component_after", run.page());
    insta::assert_snapshot!("select_component_console", run.logs());
}

// ---- 8. lifecycles and navigation -------------------------------------------

#[test]
fn lifecycle_and_navigation() {
    let mut run = Run::launch("lifecycle", Some("pages/home/home?from=test&n=1"));
    run.assert_clean();
    assert!(run.app.current_page_ready(), "onReady ran");
    insta::assert_snapshot!("lifecycle_1_launch", run.logs());
    insta::assert_snapshot!("lifecycle_1_launch_page", run.page());

    // wx.navigateTo with a URL relative to the current page.
    run.tap("#go-detail");
    assert_eq!(
        run.app.page_stack(),
        ["pages/home/home", "pages/detail/detail"]
    );
    insta::assert_snapshot!("lifecycle_2_navigate_to", run.logs());

    run.tap("#go-back");
    assert_eq!(run.app.page_stack(), ["pages/home/home"]);
    insta::assert_snapshot!("lifecycle_3_navigate_back", run.logs());

    run.navigate(Navigation::SwitchTab, "/pages/tab2/tab2");
    assert_eq!(run.app.page_stack(), ["pages/tab2/tab2"]);
    insta::assert_snapshot!("lifecycle_4_switch_tab", run.logs());

    // Tab pages stay alive: no second onLoad.
    run.navigate(Navigation::SwitchTab, "/pages/home/home");
    assert_eq!(run.app.page_stack(), ["pages/home/home"]);
    insta::assert_snapshot!("lifecycle_5_switch_back", run.logs());

    // A non-tab page above a tab page: switchTab closes it; the tab page
    // under it is already hidden and is not hidden twice.
    run.navigate(Navigation::NavigateTo, "/pages/detail/detail?id=8");
    assert_eq!(
        run.app.page_stack(),
        ["pages/home/home", "pages/detail/detail"]
    );
    run.tap("#go-tab2");
    assert_eq!(run.app.page_stack(), ["pages/tab2/tab2"]);
    insta::assert_snapshot!("lifecycle_6_switch_from_detail", run.logs());

    // Removing a component runs its detached().
    run.tap("#drop");
    insta::assert_snapshot!("lifecycle_7_detached", run.logs());
    insta::assert_snapshot!("lifecycle_7_page", run.page());
    run.assert_clean();
}

// ---- 9. page events -----------------------------------------------------------

#[test]
fn page_events() {
    let mut run = Run::launch("page-events", None);
    run.assert_clean();
    insta::assert_snapshot!("page_events_initial", run.page());

    run.app.page_event("onReachBottom", serde_json::json!({}));
    run.app.page_event("onReachBottom", serde_json::json!({}));
    run.assert_clean();
    insta::assert_snapshot!("page_events_reach_bottom", run.page());

    run.app
        .page_event("onPageScroll", serde_json::json!({ "scrollTop": 120 }));
    run.app
        .page_event("onPullDownRefresh", serde_json::json!({}));
    run.assert_clean();
    assert!(
        !run.app.ui().pull_down_refreshing,
        "the app stopped the refresh"
    );
    insta::assert_snapshot!("page_events_refreshed", run.page());
    insta::assert_snapshot!("page_events_console", run.logs());

    // wx.startPullDownRefresh() refreshes as if the user pulled: the
    // animation starts and onPullDownRefresh runs (which stops it here).
    run.app.page_event("onReachBottom", serde_json::json!({}));
    run.tap("#refresh");
    run.assert_clean();
    insta::assert_snapshot!("page_events_start_pull_down", run.logs());
    insta::assert_snapshot!("page_events_start_pull_down_page", run.page());
    assert!(
        !run.app.ui().pull_down_refreshing,
        "onPullDownRefresh stopped the refresh"
    );
}
