//! What several crates' integration tests share (a dev-dependency only).
//!
//! Interop tests run clients and servers nobody here wrote, from npm:
//! wechatpay-node-v3, alipay-sdk, s3rver. Each lives in a directory of the
//! test's crate (`package.json`, a pinned `package-lock.json`, the script);
//! [`npm_project`] copies it under target/ and installs it there with
//! `npm ci`, once, and again only when the lockfile changes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's target directory, found from the running test binary
/// (target/debug/deps/…), so a CARGO_TARGET_DIR elsewhere is honoured.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|dir| dir.join("debug").is_dir() || dir.join("release").is_dir())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// The npm project in `source` (its files, not subdirectories), installed
/// under target/interop-node/`name`; returns that directory. Node.js and
/// npm are required, not optional: without them the test fails and says
/// so (scripts/test installs them).
pub fn npm_project(source: &Path, name: &str) -> PathBuf {
    for tool in ["node", "npm"] {
        let found = Command::new(tool).arg("--version").output();
        assert!(
            found.as_ref().is_ok_and(|out| out.status.success()),
            "`{tool}` could not run ({found:?}). The {name} interop test needs Node.js and \
             npm (scripts/test installs them; on Debian: apt-get install nodejs npm)."
        );
    }
    let dir = target_dir().join("interop-node").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("creating {}: {err}", dir.display()));
    // nextest runs each test in a process of its own: they take turns here.
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("the install lock file");
    lock.lock().expect("taking the install lock");
    let entries = std::fs::read_dir(source)
        .unwrap_or_else(|err| panic!("reading {}: {err}", source.display()));
    for entry in entries.flatten().filter(|entry| entry.path().is_file()) {
        let wanted = std::fs::read(entry.path()).expect("an npm project file");
        let copy = dir.join(entry.file_name());
        // Rewritten only when changed: another process may be running it.
        if std::fs::read(&copy).ok().as_deref() != Some(wanted.as_slice()) {
            std::fs::write(&copy, &wanted)
                .unwrap_or_else(|err| panic!("writing {}: {err}", copy.display()));
        }
    }
    let lockfile = std::fs::read(dir.join("package-lock.json")).expect("a package-lock.json");
    let stamp = dir.join("node_modules/.bonsai-installed-lock");
    if !std::fs::read(&stamp).is_ok_and(|stamped| stamped == lockfile) {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "`npm ci` in {} failed (it installs the pinned packages from the npm registry):\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&stamp, &lockfile).expect("the install stamp");
    }
    dir
}
