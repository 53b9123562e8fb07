//! `bonsai bench compile` on the real corpus (fetched when missing): the
//! report's shape and counts, never its timings, which depend on the machine.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is not a number"))
}

fn count(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} is not a count"))
}

#[test]
fn bench_compile_reports_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("compile.json");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/corpus");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["bench", "compile", "--iterations", "1", "--json"])
        .arg("--corpus")
        .arg(&corpus)
        .arg("--out")
        .arg(&out_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("--json prints one document");
    let written: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(report, written, "--out holds the same report");

    assert!(count(&report, "/machine/nproc") >= 1);
    assert!(
        !report["machine"]["bonsai_version"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(count(&report, "/iterations"), 1);

    let inputs = report["cold"]["inputs"].as_array().unwrap();
    let names: Vec<&str> = inputs.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["wux", "tdesign", "vant-dist", "vant-lib", "weui", "antd"]
    );
    for input in inputs {
        let name = &input["name"];
        for field in ["/files", "/templates", "/styles", "/scripts"] {
            assert!(count(input, field) > 0, "{name}{field}");
        }
        assert_eq!(count(input, "/errors"), 0, "{name}");
        assert_eq!(input["ms"]["runs_ms"].as_array().unwrap().len(), 1);
        assert!(number(input, "/ms/median_ms") > 0.0, "{name}");
    }
    assert_eq!(count(&report, "/cold/errors"), 0);
    let total_files: u64 = inputs.iter().map(|i| count(i, "/files")).sum();
    assert_eq!(count(&report, "/cold/files"), total_files);

    let edits = report["incremental"]["edits"].as_array().unwrap();
    let kinds: Vec<&str> = edits.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["wxml", "wxss", "js"]);
    for edit in edits {
        assert_eq!(count(edit, "/errors"), 0, "{edit}");
    }

    let wxml = &report["wxml_only"];
    assert_eq!(count(wxml, "/errors"), 0);
    assert_eq!(count(wxml, "/templates"), count(&report, "/cold/templates"));
    assert!(count(wxml, "/output_bytes") > count(wxml, "/templates"));

    let baseline = &report["baseline"];
    let node_present = Command::new("node").arg("--version").output().is_ok();
    assert_eq!(baseline["available"], node_present, "{baseline}");
    if node_present {
        // The same inputs went through the same compiler version, so the
        // work matches: same files, same output size. (Node's error count is
        // not compared: glass-easel calls slot fallback children errors,
        // Bonsai warnings, as WeChat does.)
        assert_eq!(count(baseline, "/node/files"), count(wxml, "/templates"));
        assert_eq!(count(baseline, "/node/scripts"), count(wxml, "/scripts"));
        assert_eq!(
            count(baseline, "/node/output_bytes"),
            count(wxml, "/output_bytes")
        );
        assert!(number(baseline, "/ratio") > 0.0);
    } else {
        assert!(baseline["reason"].is_string());
    }

    let targets = &report["targets"];
    assert!(targets["cold_all_ms"]["met"].is_boolean());
    assert!(targets["incremental_ms"]["met"].is_boolean());
    // The ratio needs the baseline; without it, it is not judged.
    assert_eq!(targets["wxml_ratio"]["met"].is_boolean(), node_present);
}
