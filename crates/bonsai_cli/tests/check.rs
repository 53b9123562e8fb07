//! `bonsai check` and `bonsai build` as a user runs them: on fixture projects
//! under tests/fixtures/check (one directory a case; `ok-*` cases must pass,
//! every other case must fail with exit code 1), on zips built here, and on
//! inputs too large to commit.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bonsai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(args)
        .output()
        .expect("bonsai runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/check")
}

/// Human output with the input path replaced, for snapshots.
fn transcript(output: &Output, strip: &str) -> String {
    let text = format!(
        "exit: {}\n--- stderr\n{}--- stdout\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    if strip.is_empty() {
        text
    } else {
        text.replace(strip, "<input>")
    }
}

fn json_report(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON document")
}

#[test]
fn fixture_cases() {
    let mut cases: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let dir = case.to_string_lossy().into_owned();
        let human = bonsai(&["check", &dir]);
        let json = bonsai(&["check", "--json", &dir]);
        let expect_ok = name.starts_with("ok-");
        assert_eq!(
            human.status.success(),
            expect_ok,
            "{name}: {}",
            transcript(&human, &dir)
        );
        assert_eq!(json.status.code(), human.status.code(), "{name}");
        if !expect_ok {
            assert_eq!(human.status.code(), Some(1), "{name}");
            assert!(
                !human.stderr.is_empty(),
                "{name}: a failure must say why on stderr"
            );
        }
        let report = json_report(&json);
        insta::assert_snapshot!(format!("{name}.human"), transcript(&human, &dir));
        insta::assert_json_snapshot!(format!("{name}.json"), report["diagnostics"]);
    }
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    for (name, content) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

#[test]
fn zip_input_is_checked_like_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixtures().join("ok-minimal");
    let files = [
        "app.json",
        "pages/index/index.js",
        "pages/index/index.wxml",
        "pages/index/index.json",
        "pages/index/index.wxss",
        "common/base.wxss",
    ];
    let contents: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (format!("shop/{f}"), std::fs::read(root.join(f)).unwrap()))
        .collect();
    let entries: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let path = dir.path().join("shop.zip");
    std::fs::write(&path, zip_of(&entries)).unwrap();
    let out = bonsai(&["check", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", transcript(&out, ""));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pages: 1,"));
}

#[test]
fn zip_slip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.zip");
    let evil = zip_of(&[("app.json", b"{\"pages\":[]}"), ("../../etc/evil.js", b"x")]);
    std::fs::write(&path, evil).unwrap();
    let out = bonsai(&["check", "--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(report["diagnostics"][0]["code"], "input::zip-slip");
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("../../etc/evil.js"), "{message}");
}

#[test]
fn zip_bomb_is_refused_early() {
    // 1 GiB of zeros deflates to about 1 MiB; the reader must stop at its budget.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zip");
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zip.start_file("app.json", options).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        zip.write_all(&chunk).unwrap();
    }
    zip.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 16 << 20);
    let out = bonsai(&["check", "--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(report["diagnostics"][0]["code"], "input::zip-bomb");
}

#[test]
fn package_over_the_size_limit_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&fixtures().join("ok-minimal"), root);
    std::fs::create_dir_all(root.join("assets")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(root.join("assets/video.mp4"), big).unwrap();
    let out = bonsai(&["check", "--json", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    let diag = &report["diagnostics"][0];
    assert_eq!(diag["code"], "package::size-limit");
    let message = diag["message"].as_str().unwrap();
    assert!(message.contains("main package is 2.86 MB"), "{diag}");
    assert!(diag["help"].as_str().unwrap().contains("assets/video.mp4"));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn build_writes_a_loadable_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("app.bonsai.json");
    let fixture = fixtures().join("ok-minimal");
    let out = bonsai(&[
        "build",
        fixture.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", transcript(&out, ""));
    let bytes = std::fs::read(&out_path).unwrap();
    let app = bonsai_compiler::CompiledApp::from_bytes(&bytes).unwrap();
    assert_eq!(app.format, bonsai_compiler::ARTIFACT_FORMAT);
    assert!(app.templates.templates.contains_key("pages/index/index"));
    assert!(app.scripts.contains_key("pages/index/index.js"));
    let page_style = &app.styles["pages/index/index.wxss"];
    assert!(
        page_style.len() > 1,
        "the import and rpx are kept as fragments: {page_style:?}"
    );
    // A failing project writes nothing.
    let bad = dir.path().join("bad.json");
    let missing = fixtures().join("missing-page");
    let out = bonsai(&[
        "build",
        missing.to_str().unwrap(),
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!bad.exists());
}
