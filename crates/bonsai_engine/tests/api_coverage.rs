//! docs/api-coverage.md is generated from the registry; this test fails when
//! it is stale (`BONSAI_UPDATE_DOCS=1` rewrites it) or when the coverage
//! lists and the `wx` object an instance really has disagree.

use std::path::Path;
use std::sync::Arc;

use bonsai_compiler::Compiler;
use bonsai_engine::api::coverage;
use bonsai_engine::{AppInstance, EngineOptions};
use bonsai_package::{LoadOptions, PackageFiles};

const OFFICIAL: &str = include_str!("../data/wx-apis-all.txt");

#[test]
fn the_coverage_lists_match_the_real_wx_object() {
    let mut files = PackageFiles::new();
    files.insert("app.json", r#"{"pages":["pages/index/index"]}"#);
    files.insert("pages/index/index.wxml", "<view />");
    files.insert("pages/index/index.js", "Page({})");
    let (manifest, _) = bonsai_package::load(&files, &LoadOptions::default());
    let (compiled, _) = Compiler::new().compile(&manifest);
    let instance =
        AppInstance::new(Arc::new(compiled), &EngineOptions::default()).expect("instance starts");
    assert_eq!(instance.wx_names(), coverage::implemented_names());
}

#[test]
fn docs_api_coverage_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api-coverage.md");
    let fresh = coverage::markdown(OFFICIAL);
    if std::env::var_os("BONSAI_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).expect("writing docs/api-coverage.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/api-coverage.md is stale: run `BONSAI_UPDATE_DOCS=1 cargo test -p bonsai_engine --test api_coverage`"
    );
}
