//! What the engine's API tests share: a one-page app built in memory.

use std::sync::Arc;

use bonsai_compiler::Compiler;
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_package::{LoadOptions, PackageFiles};

/// Runs a one-page app whose page is `Page({ <page> })` over `wxml`, then
/// lets every zero-delay task and provider answer finish.
pub fn run_page(wxml: &str, page: &str, options: &EngineOptions) -> AppInstance {
    let mut files = PackageFiles::new();
    files.insert("app.json", r#"{"pages":["pages/index/index"]}"#);
    files.insert("pages/index/index.wxml", wxml);
    files.insert("pages/index/index.js", format!("Page({{\n{page}\n}})"));
    let (manifest, diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (compiled, diagnostics) = Compiler::new().compile(&manifest);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let mut instance = AppInstance::new(Arc::new(compiled), options).expect("instance starts");
    instance.launch(&LaunchOptions::default());
    instance.settle();
    instance
}

/// What the app printed, one entry per console call.
pub fn logs(instance: &AppInstance) -> Vec<String> {
    instance.console().into_iter().map(|m| m.text).collect()
}
