//! Hostile or broken app code must not take the host down: a runaway loop is
//! interrupted within the task budget, an allocation bomb hits the memory
//! limit as a JS error, and errors name the app's own file and line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_package::{LoadOptions, PackageFiles};

/// An app with one page whose script is `page_js`, plus a second healthy page.
fn app(page_js: &str) -> Arc<CompiledApp> {
    let mut files = PackageFiles::new();
    files.insert("app.json", r#"{"pages":["pages/bad/bad","pages/ok/ok"]}"#);
    files.insert("app.js", "App({})");
    for page in ["bad", "ok"] {
        files.insert(
            format!("pages/{page}/{page}.wxml"),
            "<view id=\"title\">{{title}}</view>",
        );
        files.insert(format!("pages/{page}/{page}.json"), "{}");
    }
    files.insert("pages/bad/bad.js", page_js);
    files.insert("pages/ok/ok.js", "Page({ data: { title: 'fine' } })");
    let (manifest, diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (compiled, diagnostics) = Compiler::new().compile(&manifest);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    Arc::new(compiled)
}

fn launch(app: &Arc<CompiledApp>, options: &EngineOptions, page: &str) -> AppInstance {
    let mut instance = AppInstance::new(app.clone(), options).expect("instance starts");
    instance.launch(&LaunchOptions {
        url: Some(page.to_owned()),
        ..LaunchOptions::default()
    });
    instance
}

#[test]
fn an_endless_loop_is_interrupted_and_the_host_lives_on() {
    let app = app("Page({ onLoad() { while (true) {} } })");
    let options = EngineOptions::default();
    let started = Instant::now();
    let mut instance = launch(&app, &options, "pages/bad/bad");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    let errors = instance.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("interrupted"), "{}", errors[0]);
    assert!(
        errors[0].context.contains("pages/bad/bad onLoad"),
        "{}",
        errors[0]
    );
    // The same instance still works.
    instance.navigate(bonsai_engine::Navigation::RedirectTo, "/pages/ok/ok");
    assert!(instance.page_wxml(Default::default()).contains("fine"));
}

#[test]
fn an_allocation_bomb_is_an_error_not_an_abort() {
    let app = app(
        "Page({ onLoad() { const hoard = []; while (true) hoard.push(new Array(1e5).fill('x'.repeat(10))); } })",
    );
    let options = EngineOptions {
        memory_limit: 32 * 1024 * 1024,
        task_time_limit: Duration::from_secs(10),
        ..EngineOptions::default()
    };
    let mut instance = launch(&app, &options, "pages/bad/bad");
    let errors = instance.errors();
    assert!(!errors.is_empty());
    assert!(errors[0].message.contains("out of memory"), "{}", errors[0]);
    instance.navigate(bonsai_engine::Navigation::RedirectTo, "/pages/ok/ok");
    assert!(instance.page_wxml(Default::default()).contains("fine"));
}

#[test]
fn a_thrown_error_names_the_page_file_and_line() {
    let app = app("Page({\n  onLoad(query) {\n    undefinedFunction(query.id);\n  },\n})\n");
    let instance = launch(&app, &EngineOptions::default(), "pages/bad/bad?id=7");
    let errors = instance.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("undefinedFunction"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].stack.contains("pages/bad/bad.js:3"),
        "{}",
        errors[0].stack
    );
}

#[test]
fn an_unknown_api_fails_loudly() {
    let app = app(
        "Page({ onLoad() { wx.startSoterAuthentication({ fail: (e) => console.log('fail', e.errMsg) }); } })",
    );
    let instance = launch(&app, &EngineOptions::default(), "pages/bad/bad");
    let console: Vec<String> = instance.console().into_iter().map(|m| m.text).collect();
    assert!(
        console
            .iter()
            .any(|t| t == "fail startSoterAuthentication:fail not supported"),
        "{console:?}"
    );
}

#[test]
fn stacks_of_typescript_pages_point_at_the_ts_source() {
    let mut files = PackageFiles::new();
    files.insert("app.json", r#"{"pages":["pages/ts/ts"]}"#);
    files.insert("pages/ts/ts.wxml", "<view />");
    files.insert(
        "pages/ts/ts.ts",
        "import { helper } from './helper';\n\ninterface Query {\n  id: string;\n}\n\nPage({\n  onLoad(query: Query) {\n    helper(query.id);\n  },\n});\n",
    );
    files.insert(
        "pages/ts/helper.ts",
        "type Id = string;\n\nexport function helper(id: Id): void {\n  throw new Error(`bad id ${id}`);\n}\n",
    );
    let (manifest, _) = bonsai_package::load(&files, &LoadOptions::default());
    let (compiled, diagnostics) = Compiler::new().compile(&manifest);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let instance = launch(
        &Arc::new(compiled),
        &EngineOptions::default(),
        "pages/ts/ts?id=9",
    );
    let errors = instance.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].message, "Error: bad id 9");
    let stack = &errors[0].stack;
    assert!(stack.contains("(pages/ts/helper.ts:4:"), "{stack}");
    assert!(stack.contains("(pages/ts/ts.ts:9:"), "{stack}");
}
