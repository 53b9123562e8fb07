//! Transforms every script of the public mini-program corpus and checks that
//! each output is a valid CommonJS script, timing the transform.
//!
//! The corpus lives in `target/corpus`; `scripts/fetch-corpus.sh` fetches it
//! when it is missing. When `node` is on the PATH, a sample of converted ES
//! modules is also compiled by node as a function body.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bonsai_js::{JsDialect, check_script_syntax, transform_module};
use swc_core::common::Spanned;
use swc_core::common::{FileName, SourceMap};
use swc_core::ecma::ast::EsVersion;
use swc_core::ecma::parser::{EsSyntax, Syntax, parse_file_as_script};

const NODE_SAMPLE: usize = 50;

/// Errors of `code` read as a classic script run as a function body: any
/// `import`/`export` statement left, or a type, is one.
fn script_errors(code: &str) -> Vec<String> {
    let cm = SourceMap::default();
    let fm = cm.new_source_file(FileName::Anon.into(), code.to_owned());
    let syntax = Syntax::Es(EsSyntax {
        allow_return_outside_function: true,
        ..Default::default()
    });
    let mut recovered = Vec::new();
    let parsed = parse_file_as_script(&fm, syntax, EsVersion::latest(), None, &mut recovered);
    recovered
        .into_iter()
        .chain(parsed.err())
        .map(|e| format!("{:?}: {}", e.span(), e.kind().msg()))
        .collect()
}

#[derive(Default)]
struct Tally {
    files: usize,
    esm: usize,
    commonjs: usize,
    typescript: usize,
    bytes_in: usize,
    bytes_out: usize,
    time: Duration,
}

#[test]
fn corpus_transforms_to_commonjs() {
    let corpus = bonsai_corpus::corpus_dir();
    let files = bonsai_corpus::files_ending_with(&corpus, &[""]);

    let mut tally = Tally::default();
    let mut failures = String::new();
    let mut esm_outputs = Vec::new();
    let mut wxs_files = 0;
    let mut wxs_time = Duration::ZERO;

    for file in &files {
        let name = file.to_string_lossy();
        let rel = file.strip_prefix(&corpus).unwrap_or(file).to_string_lossy();
        if name.ends_with(".wxs") {
            let source = std::fs::read_to_string(file).expect("read wxs");
            let start = Instant::now();
            let diagnostics = check_script_syntax(&rel, &source);
            wxs_time += start.elapsed();
            wxs_files += 1;
            for d in diagnostics {
                let _ = writeln!(
                    failures,
                    "{}: {d}",
                    d.location(Some(&source)).unwrap_or_default()
                );
            }
            continue;
        }
        let Some(dialect) = JsDialect::from_path(&name) else {
            continue;
        };
        let source = std::fs::read_to_string(file).expect("read script");

        let start = Instant::now();
        let (output, diagnostics) = transform_module(&rel, &source);
        tally.time += start.elapsed();
        tally.files += 1;
        tally.bytes_in += source.len();
        if dialect == JsDialect::TypeScript {
            tally.typescript += 1;
        }

        for d in &diagnostics {
            let _ = writeln!(
                failures,
                "{}: {d}",
                d.location(Some(&source)).unwrap_or_default()
            );
        }
        let Some(output) = output else {
            continue;
        };
        tally.bytes_out += output.code.len();
        for error in script_errors(&output.code) {
            let _ = writeln!(failures, "{rel}: output is not a script: {error}");
        }
        if output.code.contains("@swc/helpers") {
            let _ = writeln!(failures, "{rel}: output requires @swc/helpers");
        }
        if output.source_map.is_empty() {
            let _ = writeln!(failures, "{rel}: no source map");
        }
        match (dialect, output.is_esm) {
            (JsDialect::TypeScript, _) => {}
            (JsDialect::JavaScript, true) => {
                tally.esm += 1;
                esm_outputs.push((rel.into_owned(), output.code));
            }
            (JsDialect::JavaScript, false) => {
                tally.commonjs += 1;
                if output.code != source {
                    let _ = writeln!(failures, "{rel}: CommonJS file was changed");
                }
            }
        }
    }

    println!(
        "bonsai_js corpus: {} scripts (JavaScript: {} ES modules, {} CommonJS; {} TypeScript), \
         {:.1} MB in, {:.1} MB out, transform {:.2?} ({:.0} µs/file); {} WXS checked in {:.2?}",
        tally.files,
        tally.esm,
        tally.commonjs,
        tally.typescript,
        tally.bytes_in as f64 / 1e6,
        tally.bytes_out as f64 / 1e6,
        tally.time,
        tally.time.as_micros() as f64 / tally.files.max(1) as f64,
        wxs_files,
        wxs_time,
    );
    assert!(
        tally.files > 1000,
        "corpus looks incomplete: {} scripts",
        tally.files
    );
    assert!(failures.is_empty(), "{failures}");

    node_compiles(&esm_outputs);
}

/// Has node compile a spread sample of outputs as `(require, module, exports)`
/// function bodies, the way the engine will run them.
fn node_compiles(outputs: &[(String, String)]) {
    if Command::new("node").arg("--version").output().is_err() {
        println!("node not found: skipping the node compile check");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bonsai_js_corpus_node");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let step = (outputs.len() / NODE_SAMPLE).max(1);
    let sample: Vec<_> = outputs.iter().step_by(step).take(NODE_SAMPLE).collect();
    for (i, (_, code)) in sample.iter().enumerate() {
        std::fs::write(dir.join(format!("{i}.js")), code).expect("write sample");
    }
    let script = r#"
        const fs = require('fs'), path = require('path');
        const dir = process.argv[1];
        for (const f of fs.readdirSync(dir)) {
          try { new Function('require', 'module', 'exports', fs.readFileSync(path.join(dir, f), 'utf8')); }
          catch (e) { console.log(f + ': ' + e); }
        }
    "#;
    let out = Command::new("node")
        .args(["-e", script])
        .arg(&dir)
        .output()
        .expect("run node");
    let report = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<String> = report
        .lines()
        .map(|line| {
            let index: usize = line
                .split('.')
                .next()
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            format!("{} ({line})", sample.get(index).map_or("?", |(rel, _)| rel))
        })
        .collect();
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        failed.is_empty(),
        "node cannot compile:\n{}",
        failed.join("\n")
    );
    println!("node compiled {} sampled ES module outputs", sample.len());
}
