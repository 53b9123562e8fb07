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
        // work matches: same files, and the same output but for the WXS
        // instance hooks Bonsai adds once per group (a few hundred bytes).
        // (Node's error count is not compared: glass-easel calls slot
        // fallback children errors, Bonsai warnings, as WeChat does.)
        assert_eq!(count(baseline, "/node/files"), count(wxml, "/templates"));
        assert_eq!(count(baseline, "/node/scripts"), count(wxml, "/scripts"));
        let node_bytes = count(baseline, "/node/output_bytes");
        let bonsai_bytes = count(wxml, "/output_bytes");
        assert!(
            bonsai_bytes >= node_bytes && bonsai_bytes - node_bytes < 4096,
            "node {node_bytes} bytes, bonsai {bonsai_bytes} bytes"
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

#[test]
fn bench_engine_runs_the_same_pages_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("engine.json");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/corpus");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args([
            "bench",
            "engine",
            "--iterations",
            "1",
            "--instances",
            "2",
            "--json",
        ])
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
    assert_eq!(count(&report, "/iterations"), 1);

    // Both sides report the same measures; Bonsai's must be clean.
    let check_side = |side: &Value| {
        let cold = &side["cold_start"];
        assert!(
            count(cold, "/nodes") > 100,
            "the wux home page rendered: {cold}"
        );
        assert_eq!(cold["ms"]["runs_ms"].as_array().unwrap().len(), 1);
        for timing in ["/ms", "/new_ms", "/launch_ms"] {
            assert!(
                number(cold, &format!("{timing}/median_ms")) > 0.0,
                "{timing}"
            );
        }
        assert!(number(cold, "/first_ms") > 0.0);
        let set_data = &side["set_data"];
        assert_eq!(count(set_data, "/items"), 1000);
        assert!(count(set_data, "/nodes") > 1000, "{set_data}");
        assert_eq!(set_data["checked"], true, "{set_data}");
        for timing in ["/first_render_ms", "/set_all_ms", "/set_one_ms"] {
            assert!(
                number(set_data, &format!("{timing}/median_ms")) > 0.0,
                "{timing}"
            );
        }
        let memory = &side["memory"];
        assert_eq!(count(memory, "/instances"), 2);
        assert!(count(memory, "/heap_bytes_per_instance") > 0, "{memory}");
        count(memory, "/rss_bytes_per_instance");
        assert_eq!(count(memory, "/nodes"), count(cold, "/nodes"));
    };
    let bonsai = &report["bonsai"];
    check_side(bonsai);
    for measure in ["cold_start", "set_data", "memory"] {
        assert_eq!(count(bonsai, &format!("/{measure}/errors")), 0, "{measure}");
    }

    let baseline = &report["baseline"];
    let node_present = Command::new("node").arg("--version").output().is_ok();
    assert_eq!(baseline["available"], node_present, "{baseline}");
    if node_present {
        let node = &baseline["node"];
        check_side(node);
        // The same JS on the same compiled apps builds the same trees.
        assert_eq!(node["cold_start"]["nodes"], bonsai["cold_start"]["nodes"]);
        assert_eq!(node["set_data"]["nodes"], bonsai["set_data"]["nodes"]);
        for ratio in [
            "cold_start",
            "first_render",
            "set_all",
            "set_one",
            "heap_per_instance",
        ] {
            assert!(
                number(baseline, &format!("/ratios/{ratio}")) > 0.0,
                "{ratio}"
            );
        }
    } else {
        assert!(baseline["reason"].is_string());
    }

    let targets = &report["targets"];
    for target in ["cold_start_ms", "set_data_ms", "instance_mb"] {
        assert!(targets[target]["met"].is_boolean(), "{target}");
    }
}

#[test]
fn bench_api_times_storage_against_rust_directly() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("api.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["bench", "api", "--iterations", "1", "--json", "--out"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("--json prints one document");
    for measure in ["/get_storage_sync", "/set_storage_sync_10k"] {
        let m = report.pointer(measure).expect(measure);
        assert!(number(m, "/bonsai_us_per_call") > 0.0, "{m}");
        assert!(number(m, "/rust_us_per_call") > 0.0, "{m}");
        assert!(number(m, "/ratio") > 0.0, "{m}");
    }
    assert_eq!(count(&report, "/get_storage_sync/calls"), 100_000);
    assert_eq!(count(&report, "/set_storage_sync_10k/calls"), 10_000);
    assert!(report["targets"]["get_storage_sync_us"]["met"].is_boolean());
    assert!(report["targets"]["set_storage_sync_ratio"]["met"].is_boolean());
}

#[test]
fn bench_platform_loads_the_server_on_both_databases() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("platform.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["bench", "platform", "--requests", "300", "--orders", "20"])
        .args(["--connections", "4", "--json", "--out"])
        .arg(&out_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("--json prints one document");
    assert_eq!(count(&report, "/baseline/requests"), 300);
    assert!(number(&report, "/baseline/requests_per_second") > 0.0);
    let databases = report["databases"].as_array().unwrap();
    let names: Vec<&str> = databases
        .iter()
        .map(|d| d["database"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sqlite", "postgres"]);
    // The test command starts Postgres, so both are measured.
    for db in databases {
        assert!(db.get("skipped").is_none(), "{db}");
        assert_eq!(count(db, "/jscode2session/load/requests"), 300);
        assert_eq!(count(db, "/jsapi_order/load/requests"), 20);
        let p50 = number(db, "/jsapi_order/load/p50_ms");
        assert!(p50 > 0.0 && p50 <= number(db, "/jsapi_order/load/p99_ms"));
        assert!(number(db, "/jscode2session/ratio_to_baseline") > 0.0);
    }
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 4, "req/s and p99 on each database");
}
