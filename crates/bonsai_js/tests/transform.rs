//! Behaviour of `transform_module` and `check_script_syntax` on small inputs.

use bonsai_diagnostics::{Diagnostic, LineIndex};
use bonsai_js::{JsDialect, JsOutput, check_script_syntax, transform_module};

fn transform_ok(path: &str, source: &str) -> JsOutput {
    let (output, diagnostics) = transform_module(path, source);
    assert!(diagnostics.is_empty(), "{path}: {diagnostics:#?}");
    output.expect("output without diagnostics")
}

/// `file:line:col code: message` for each diagnostic, to snapshot.
fn describe(diagnostics: &[Diagnostic], source: &str) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let location = d.location(Some(source)).unwrap_or_default();
            format!("{location} {}: {}\n", d.code, d.message)
        })
        .collect()
}

#[test]
fn dialect_from_path() {
    assert_eq!(
        JsDialect::from_path("pages/a.js"),
        Some(JsDialect::JavaScript)
    );
    assert_eq!(JsDialect::from_path("a.mjs"), Some(JsDialect::JavaScript));
    assert_eq!(JsDialect::from_path("a.cjs"), Some(JsDialect::JavaScript));
    assert_eq!(
        JsDialect::from_path("utils/a.ts"),
        Some(JsDialect::TypeScript)
    );
    assert_eq!(JsDialect::from_path("a.wxs"), None);
    assert_eq!(JsDialect::from_path("a.json"), None);
    assert_eq!(JsDialect::from_path("js"), None);
}

#[test]
fn esm_default_and_named_imports_and_exports() {
    let out = transform_ok(
        "pages/index/index.js",
        "import def, { a, b as c } from './dep';\n\
         import * as ns from '../ns';\n\
         export const x = a + c;\n\
         export function f() { return def(ns.y); }\n\
         export default class Page {}\n",
    );
    assert!(out.is_esm);
    insta::assert_snapshot!(out.code);
}

#[test]
fn re_exports() {
    let out = transform_ok(
        "components/index.js",
        "export * from './button';\n\
         export * as icons from './icons';\n\
         export { default as Cell, size } from './cell';\n",
    );
    insta::assert_snapshot!(out.code);
}

#[test]
fn require_and_import_in_one_file() {
    let out = transform_ok(
        "pages/mixed.js",
        "const util = require('../utils/util');\n\
         import config from './config';\n\
         import { __rest } from 'tslib';\n\
         Component({ data: { v: util.format(config) }, methods: { m(o) { return __rest(o, []); } } });\n",
    );
    assert!(
        out.code.contains("require('../utils/util')"),
        "{}",
        out.code
    );
    assert!(out.code.contains("require(\"tslib\")"), "{}", out.code);
    insta::assert_snapshot!(out.code);
}

#[test]
fn typescript_types_are_stripped() {
    let out = transform_ok(
        "utils/store.ts",
        "import type { Options } from './types';\n\
         import { Shape } from './shape';\n\
         import { helper } from './helper';\n\
         interface Point { x: number; y: number }\n\
         type Id = string | number;\n\
         export enum Color { Red, Green = 'green' }\n\
         export class Store<T> {\n\
         \x20 private items: T[] = [];\n\
         \x20 constructor(public readonly name: string, opts?: Options) {}\n\
         \x20 add(item: T, at?: Point): Id { this.items.push(item as T); return helper(this.items.length) as Id; }\n\
         }\n\
         export const s: Shape | null = null;\n",
    );
    assert!(out.is_esm);
    assert!(!out.code.contains("./types"), "type-only import kept");
    assert!(
        !out.code.contains("./shape"),
        "import used only as a type kept"
    );
    insta::assert_snapshot!(out.code);
}

#[test]
fn typescript_script_without_modules_is_not_esm() {
    let out = transform_ok("a.ts", "const n: number = 1;\nmodule.exports = n;\n");
    assert!(!out.is_esm);
    assert_eq!(out.code, "const n = 1;\nmodule.exports = n;\n");
}

#[test]
fn typescript_import_equals_and_export_assignment() {
    let out = transform_ok(
        "utils/legacy.ts",
        "import dep = require('./dep');\nexport = { v: dep.v as number };\n",
    );
    assert!(out.code.contains("require('./dep')"), "{}", out.code);
    assert!(out.code.contains("module.exports = {"), "{}", out.code);
    insta::assert_snapshot!(out.code);
}

#[test]
fn modern_syntax_is_not_lowered() {
    let out = transform_ok(
        "behaviors/modern.js",
        "export class Counter {\n\
         \x20 count = 0;\n\
         \x20 #secret = 1n;\n\
         \x20 static { Counter.ready = true; }\n\
         \x20 async load(res) { const v = await res?.data?.items ?? []; return v?.[0]; }\n\
         \x20 *ids() { yield* [1, 2]; }\n\
         }\n\
         export const spread = (a, ...rest) => ({ ...a, rest, big: 10n ** 2n });\n",
    );
    for kept in [
        "count = 0",
        "#secret = 1n",
        "Counter.ready = true",
        "async load",
        "await res?.data?.items ?? []",
        "v?.[0]",
        "yield* [",
        "...rest",
        "10n ** 2n",
    ] {
        assert!(out.code.contains(kept), "{kept:?} lost in:\n{}", out.code);
    }
    insta::assert_snapshot!(out.code);
}

#[test]
fn commonjs_passes_through_unchanged() {
    // Top-level `return` is fine: the engine runs the file as a function body.
    let source = "// utils\n'use strict';\nconst a = require('./a');\nif (!a) return;\nmodule.exports = { b: a.b };\n";
    let out = transform_ok("utils/index.js", source);
    assert!(!out.is_esm);
    assert_eq!(out.code, source);
    let map = swc_sourcemap::SourceMap::from_slice(out.source_map.as_bytes()).expect("valid map");
    let col = source
        .lines()
        .nth(4)
        .and_then(|l| l.find("a.b"))
        .expect("a.b");
    let token = map.lookup_token(4, col as u32).expect("mapped");
    assert_eq!((token.get_src_line(), token.get_src_col()), (4, col as u32));
    assert_eq!(token.get_source().map(|s| &**s), Some("utils/index.js"));
}

#[test]
fn syntax_error_is_reported_with_its_span() {
    let source = "import a from './a';\nconst ok = 1;\nconst broken = ;\n";
    let (output, diagnostics) = transform_module("pages/bad.js", source);
    assert!(output.is_none());
    assert!(!diagnostics.is_empty());
    let first = &diagnostics[0];
    assert!(first.is_error());
    assert_eq!(first.code, "js::syntax");
    assert_eq!(first.file.as_deref(), Some("pages/bad.js"));
    let span = first.span.expect("span");
    let at = LineIndex::new(source).line_col(span.start as usize);
    assert_eq!((at.line, at.column), (3, 16));
    insta::assert_snapshot!(describe(&diagnostics, source));
}

#[test]
fn typescript_syntax_error() {
    let source = "let a: number = 1;\nfunction f(x: ) {}\n";
    let (output, diagnostics) = transform_module("a.ts", source);
    assert!(output.is_none());
    insta::assert_snapshot!(describe(&diagnostics, source));
}

#[test]
fn typescript_error_reported_by_the_transform() {
    // The parser accepts this; TypeScript's strip pass reports it (TS1147).
    let source = "export namespace N {\n  import x = require('y');\n  export const z = x;\n}\n";
    let (output, diagnostics) = transform_module("a.ts", source);
    assert!(output.is_none());
    insta::assert_snapshot!(describe(&diagnostics, source));
}

#[test]
fn source_map_points_back_to_the_original_line() {
    let source =
        "import { a } from './a';\n\n\nexport function f() {\n  return a.call(uniqueName);\n}\n";
    let out = transform_ok("pages/map.js", source);
    let map = swc_sourcemap::SourceMap::from_slice(out.source_map.as_bytes()).expect("valid map");
    assert_eq!(map.get_source(0).map(|s| &**s), Some("pages/map.js"));

    let (line, text) = (0u32..)
        .zip(out.code.lines())
        .find(|(_, l)| l.contains("uniqueName"))
        .expect("uniqueName printed");
    let col = text.find("uniqueName").expect("column") as u32;
    let token = map.lookup_token(line, col).expect("mapped");
    // 0-based: `uniqueName` is on the fifth line of the source.
    assert_eq!(token.get_src_line(), 4);
    assert_eq!(token.get_src_col(), 16);
}

#[test]
fn wxs_syntax_check() {
    let good = "var f = function (a) { return a + 1; };\nmodule.exports = { f: f };\n";
    assert_eq!(check_script_syntax("utils/a.wxs", good), vec![]);

    let bad = "var f = function (a) {\n  return a +;\n};\n";
    let diagnostics = check_script_syntax("utils/b.wxs", bad);
    insta::assert_snapshot!(describe(&diagnostics, bad));
}

#[test]
fn deep_nesting_does_not_crash() {
    let depth = 5_000;
    let nested = format!(
        "export const x = {}1{};\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let chain = format!("export const y = {};\n", vec!["'s'"; 20_000].join(" + "));
    for source in [nested, chain] {
        let (output, diagnostics) = transform_module("deep.js", &source);
        assert!(output.is_some(), "{diagnostics:#?}");
    }
}

#[test]
fn garbage_input_yields_diagnostics_not_panics() {
    for source in [
        "\u{0}\u{feff}",
        "export default",
        "import {",
        "`${",
        "/*",
        "a ?.. b",
        "<div/>",
    ] {
        let (output, diagnostics) = transform_module("x.ts", source);
        assert_eq!(output.is_some(), diagnostics.is_empty(), "{source:?}");
        let (output, diagnostics) = transform_module("x.js", source);
        assert_eq!(output.is_some(), diagnostics.is_empty(), "{source:?}");
        check_script_syntax("x.wxs", source);
    }
}

/// Runs converted modules in node under a minimal CommonJS loader and checks
/// the babel-compatible interop between ES modules and CommonJS.
#[test]
fn interop_runs_in_node() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("node not found: skipping");
        return;
    }
    let modules = [
        ("cjs", "module.exports = { a: 1 };\n"),
        ("esm", "export default 42;\nexport const n = 1;\n"),
        (
            "reexport",
            "export * from 'esm';\nexport { default as d } from 'esm';\n",
        ),
        (
            "main",
            "import cjs, { a } from 'cjs';\n\
             import * as cjsNs from 'cjs';\n\
             import esmDefault, { n } from 'esm';\n\
             import * as re from 'reexport';\n\
             const required = require('esm');\n\
             export const result = { cjs, a, nsDefault: cjsNs.default, esmDefault, n,\n\
             \x20 requiredDefault: required.default, marked: required.__esModule,\n\
             \x20 reN: re.n, reD: re.d, reDefault: re.default };\n",
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bonsai_js_interop");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, source) in modules {
        let out = transform_ok(&format!("{name}.js"), source);
        std::fs::write(dir.join(format!("{name}.js")), out.code).expect("write module");
    }
    let loader = r#"
        const fs = require('fs'), path = require('path');
        const dir = process.argv[1], cache = {};
        function load(name) {
          if (cache[name]) return cache[name].exports;
          const module = cache[name] = { exports: {} };
          const code = fs.readFileSync(path.join(dir, name + '.js'), 'utf8');
          new Function('require', 'module', 'exports', code)(load, module, module.exports);
          return module.exports;
        }
        console.log(JSON.stringify(load('main').result));
    "#;
    let out = std::process::Command::new("node")
        .args(["-e", loader])
        .arg(&dir)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"cjs":{"a":1},"a":1,"nsDefault":{"a":1},"esmDefault":42,"n":1,"requiredDefault":42,"marked":true,"reN":1,"reD":42}"#
    );
}

#[test]
fn spans_after_a_byte_order_mark_point_into_the_file() {
    let source = "\u{feff}Page({ a: @ })";
    let (output, diagnostics) = bonsai_js::transform_module("pages/a.js", source);
    assert!(output.is_none());
    let at = source.find('@').unwrap();
    assert_eq!(diagnostics[0].span.map(|s| s.start as usize), Some(at));
    let wxs = bonsai_js::check_script_syntax("a.wxs", source);
    assert_eq!(wxs[0].span.map(|s| s.start as usize), Some(at));
}
