//! `bonsai platform …` as an operator runs it: the built binary on a
//! temporary data directory (SQLite and a package directory beside it),
//! from creating an app to releasing our example shop, uploads killed with
//! SIGKILL that must leave no half version behind, and packages kept in an
//! S3-compatible store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A data directory of its own, and the `bonsai` command that uses it.
struct Platform {
    data: tempfile::TempDir,
}

impl Platform {
    fn new() -> Platform {
        Platform {
            data: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bonsai"));
        command
            .arg("platform")
            .args(args)
            .env("BONSAI_DATA_DIR", self.data.path())
            .env_remove("BONSAI_DATABASE_URL")
            .env_remove("BONSAI_STORE_URL")
            .env_remove("BONSAI_TEST_PAUSE_AFTER_BLOB")
            .env("USER", "tester");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("bonsai runs")
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bonsai platform {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Runs a command with `--json` that must succeed; its JSON.
    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let text = self.ok(&args);
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }

    fn packages(&self) -> PathBuf {
        self.data.path().join("packages/sha256")
    }

    fn versions(&self, appid: &str) -> Vec<Value> {
        self.json(&["version", "list", appid])["versions"]
            .as_array()
            .expect("versions")
            .clone()
    }
}

fn shop() -> String {
    repo().join("examples/shop").display().to_string()
}

#[test]
fn the_shop_goes_from_upload_to_release() {
    let platform = Platform::new();
    let app = platform.json(&["app", "create", "--appid", "wxshop", "--name", "Shop"]);
    assert_eq!(app["appid"], "wxshop");
    assert_eq!(app["secret"].as_str().map(str::len), Some(32));
    let user = platform.json(&["user", "create", "--id", "alice", "--phone", "13800138000"]);
    assert_eq!(user["phone"]["number"], "13800138000");

    // A directory is zipped in memory; --json goes anywhere on the line.
    let uploaded = platform.json(&[
        "version",
        "upload",
        "wxshop",
        &shop(),
        "--version",
        "1.0.0",
        "--description",
        "First release",
    ]);
    assert_eq!(uploaded["state"], "develop");
    assert_eq!(uploaded["created_by"], "tester");
    let sha = uploaded["sha256"].as_str().expect("sha256").to_owned();
    assert_eq!(sha.len(), 64);
    assert!(
        platform.packages().join(format!("{sha}.zip")).is_file(),
        "the package is stored beside platform.db"
    );
    assert!(platform.data.path().join("platform.db").is_file());

    let out = platform.ok(&["version", "submit", "wxshop", "1.0.0"]);
    assert_eq!(out, "wxshop 1.0.0: auditing\n");
    let out = platform.ok(&["version", "approve", "wxshop", "1.0.0", "--by", "reviewer"]);
    assert_eq!(out, "wxshop 1.0.0: approved\n");
    let out = platform.ok(&["version", "release", "wxshop", "1.0.0"]);
    assert_eq!(out, "wxshop: everyone gets 1.0.0\n");

    let list = platform.json(&["version", "list", "wxshop"]);
    assert_eq!(list["release"]["release_version"], "1.0.0");
    assert_eq!(list["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["versions"][0]["version"], "1.0.0");
    assert_eq!(list["versions"][0]["state"], "released");
    assert_eq!(list["versions"][0]["description"], "First release");
    let human = platform.ok(&["version", "list", "wxshop"]);
    assert!(human.starts_with("VERSION"), "{human}");
    assert!(human.contains("1.0.0    released"), "{human}");
    assert!(human.ends_with("wxshop: everyone gets 1.0.0\n"), "{human}");

    let resolved = platform.json(&["version", "resolve", "wxshop", "--user", "alice"]);
    assert_eq!(resolved["version"], "1.0.0");
    assert_eq!(resolved["sha256"], sha.as_str());

    // The same directory zips to the same bytes.
    let again = platform.json(&["version", "upload", "wxshop", &shop(), "--version", "1.0.1"]);
    assert_eq!(again["sha256"], sha.as_str());

    let output = platform.data.path().join("out.zip");
    let written = platform.json(&[
        "version",
        "download",
        "wxshop",
        "1.0.0",
        "-o",
        &output.display().to_string(),
    ]);
    assert_eq!(written["sha256"], sha.as_str());
    let bytes = std::fs::read(&output).expect("downloaded");
    assert_eq!(written["size"], bytes.len());

    let log = platform.ok(&["version", "log", "wxshop"]);
    let actions: Vec<&str> = log
        .lines()
        .map(|l| l.split(' ').nth(3).unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        ["upload", "submit", "approve", "release", "upload"],
        "{log}"
    );
    assert!(log.contains("approve 1.0.0 by reviewer"), "{log}");

    // A gray release and a rollback.
    platform.ok(&["version", "submit", "wxshop", "1.0.1"]);
    platform.ok(&["version", "approve", "wxshop", "1.0.1"]);
    let out = platform.ok(&["version", "release", "wxshop", "1.0.1", "--gray", "30"]);
    assert_eq!(
        out,
        "wxshop: 1.0.1 goes to 30% of users; everyone else gets 1.0.0\n"
    );
    let out = platform.ok(&["version", "release", "wxshop", "1.0.1", "--gray", "100"]);
    assert_eq!(out, "wxshop: everyone gets 1.0.1\n");
    let out = platform.ok(&["version", "rollback", "wxshop"]);
    assert_eq!(out, "wxshop: everyone gets 1.0.0\n");
}

#[test]
fn errors_are_one_line_and_exit_1() {
    let platform = Platform::new();
    platform.ok(&["app", "create", "--appid", "wxshop"]);

    let out = platform.run(&["version", "release", "wxshop", "9.9.9"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: version `9.9.9` of app `wxshop` does not exist\n"
    );
    assert!(out.stdout.is_empty());

    let out = platform.run(&["version", "list", "wxnobody", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&out.stdout).expect("JSON error");
    assert_eq!(body["error"]["code"], "app_not_found");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: app `wxnobody` does not exist\n"
    );

    // The loader's diagnostics, with positions.
    let missing_page = repo().join("tests/fixtures/check/missing-page");
    let missing_page = missing_page.display().to_string();
    let args = [
        "version",
        "upload",
        "wxshop",
        missing_page.as_str(),
        "--version",
        "1.0.0",
    ];
    let out = platform.run(&args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .starts_with("app.json:4:5: error[package::missing-page]: page `pages/detail/detail`"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("\nerror: the package is invalid: app.json:4:5: error[package::missing-page]: page `pages/detail/detail` is missing pages/detail/detail.js and pages/detail/detail.wxml\n"),
        "{stderr}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = platform.run(&json_args);
    assert_eq!(out.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&out.stdout).expect("JSON error");
    assert_eq!(body["error"]["code"], "invalid_package");
    assert_eq!(body["error"]["diagnostics"][0]["location"], "app.json:4:5");
    assert!(platform.versions("wxshop").is_empty());

    let out = platform.run(&["version", "release", "wxshop", "1.0.0", "--gray", "0"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses bad usage");
    let out = platform.run(&[
        "version",
        "upload",
        "wxshop",
        "/does/not/exist",
        "--version",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: reading /does/not/exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits for a file to appear, or for the child to end.
fn wait_for(path: &Path, child: &mut std::process::Child, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if path.exists() {
            return true;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the upload ended ({status}) before storing its blob");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn an_upload_killed_after_its_blob_leaves_no_version() {
    let platform = Platform::new();
    platform.ok(&["app", "create", "--appid", "wxshop"]);
    let marker = platform.data.path().join("blob-stored");
    let mut child = platform
        .command(&["version", "upload", "wxshop", &shop(), "--version", "1.0.0"])
        .env("BONSAI_TEST_PAUSE_AFTER_BLOB", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let paused = wait_for(&marker, &mut child, Duration::from_secs(120));
    // SIGKILL: no destructor, no rollback, nothing.
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(paused, "the upload never stored its blob");

    // The blob is there (an orphan), the version is not.
    let blobs: Vec<_> = std::fs::read_dir(platform.packages())
        .expect("packages")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".zip"))
        .collect();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(platform.versions("wxshop").is_empty());

    // The same upload again works, reusing the blob.
    let uploaded = platform.json(&["version", "upload", "wxshop", &shop(), "--version", "1.0.0"]);
    assert_eq!(
        format!("{}.zip", uploaded["sha256"].as_str().unwrap_or_default()),
        blobs[0]
    );
    let versions = platform.versions("wxshop");
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["state"], "develop");
}

/// A project of about 5.4 MB that doesn't compress: three packages, each
/// with an image just under WeChat's 2 MB.
fn big_project(dir: &Path) {
    let write = |path: &str, content: &[u8]| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    };
    write(
        "app.json",
        br#"{
  "pages": ["pages/index/index"],
  "subpackages": [
    { "root": "suba", "pages": ["pages/a"] },
    { "root": "subb", "pages": ["pages/b"] }
  ]
}"#,
    );
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut noise = |len: usize| {
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.extend_from_slice(&seed.to_le_bytes());
        }
        bytes.truncate(len);
        bytes
    };
    for (page, image) in [
        ("pages/index/index", "images/big.png"),
        ("suba/pages/a", "suba/big.png"),
        ("subb/pages/b", "subb/big.png"),
    ] {
        write(&format!("{page}.js"), b"Page({});");
        write(&format!("{page}.wxml"), b"<view>big</view>");
        write(&format!("{page}.json"), b"{}");
        write(image, &noise(1_800_000));
    }
}

#[test]
fn uploads_killed_at_any_moment_leave_whole_versions_or_none() {
    let platform = Platform::new();
    platform.ok(&["app", "create", "--appid", "wxbig"]);
    let project = platform.data.path().join("big");
    big_project(&project);
    let project = project.display().to_string();

    let mut killed = 0;
    let mut finished = None;
    for (attempt, delay_ms) in [
        0u64, 5, 10, 20, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280, 2000, 4000,
    ]
    .into_iter()
    .enumerate()
    {
        let version = format!("1.0.{attempt}");
        let mut child = platform
            .command(&[
                "version",
                "upload",
                "wxbig",
                &project,
                "--version",
                &version,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let done = matches!(child.try_wait(), Ok(Some(status)) if status.success());
        if !done {
            child.kill().expect("kill");
            killed += 1;
        }
        child.wait().expect("wait");

        // Whatever the moment, a version is whole (its package downloads
        // with the right hash) or absent, and the database still works.
        for listed in platform.versions("wxbig") {
            let name = listed["version"].as_str().expect("version");
            let output = platform.data.path().join("check.zip");
            let written = platform.json(&[
                "version",
                "download",
                "wxbig",
                name,
                "-o",
                &output.display().to_string(),
            ]);
            assert_eq!(written["sha256"], listed["sha256"]);
            assert_eq!(written["size"], listed["size"]);
        }
        let present = platform
            .versions("wxbig")
            .iter()
            .any(|v| v["version"] == version.as_str());
        if done {
            assert!(present, "{version} finished without a version");
            finished = Some(attempt);
            break;
        }
        if !present {
            // What was killed can be uploaded again.
            platform.ok(&[
                "version",
                "upload",
                "wxbig",
                &project,
                "--version",
                &version,
            ]);
        }
    }
    assert!(killed > 0, "no upload was killed");
    assert!(finished.is_some(), "no upload finished within 4 s");
}

/// The super app's side of updates: `bonsai run --released` launches what
/// the registry releases to the user, keeps it as the local version, and on
/// a later launch the app's update manager finds, downloads and applies the
/// newer release, which the launch after that runs.
#[test]
fn a_released_app_updates_itself_on_the_next_launch() {
    let platform = Platform::new();
    let app = platform.data.path().join("app");
    copy_dir(&repo().join("tests/fixtures/run/updates"), &app);
    platform.json(&["app", "create", "--appid", "wxbonsaiupdates"]);
    let publish = |version: &str| {
        std::fs::write(
            app.join("version.js"),
            format!("module.exports = {{ VERSION: '{version}' }}\n"),
        )
        .expect("write version.js");
        let app = app.display().to_string();
        platform.json(&[
            "version",
            "upload",
            "wxbonsaiupdates",
            &app,
            "--version",
            version,
        ]);
        platform.ok(&["version", "submit", "wxbonsaiupdates", version]);
        platform.ok(&["version", "approve", "wxbonsaiupdates", version]);
        platform.ok(&["version", "release", "wxbonsaiupdates", version]);
    };
    let launch = || {
        let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
            .args(["run", "--released", "wxbonsaiupdates", "--user", "alice"])
            .env("BONSAI_DATA_DIR", platform.data.path())
            .env_remove("BONSAI_DATABASE_URL")
            .env_remove("BONSAI_STORE_URL")
            .output()
            .expect("bonsai runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
    };

    publish("1.0.0");
    let (stdout, stderr) = launch();
    assert!(
        stdout.contains("<view id=\"version\">1.0.0</view>"),
        "{stdout}"
    );
    assert!(stderr.contains("[app] hasUpdate false"), "{stderr}");

    publish("1.1.0");
    // The device still has 1.0.0: it launches that and updates.
    let (stdout, stderr) = launch();
    assert!(
        stdout.contains("<view id=\"version\">1.0.0</view>"),
        "{stdout}"
    );
    assert!(stderr.contains("[app] hasUpdate true"), "{stderr}");
    assert!(stderr.contains("[app] update ready"), "{stderr}");
    assert!(
        stderr.contains("the app applied an update: it restarts on version 1.1.0"),
        "{stderr}"
    );
    let (stdout, stderr) = launch();
    assert!(
        stdout.contains("<view id=\"version\">1.1.0</view>"),
        "{stdout}"
    );
    assert!(stderr.contains("[app] hasUpdate false"), "{stderr}");

    // A version the registry has not released to anyone cannot be run.
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["run", "--released", "wxnosuchapp00001", "--user", "alice"])
        .env("BONSAI_DATA_DIR", platform.data.path())
        .output()
        .expect("bonsai runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no version released to user alice"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// An S3-compatible server nobody here wrote: npm `s3rver` (pinned by
/// tests/s3/package-lock.json) on a free loopback port, with one bucket,
/// `packages`, kept in a temporary directory. Killed on drop.
struct S3Server {
    child: std::process::Child,
    port: u16,
    objects: tempfile::TempDir,
}

impl S3Server {
    fn start() -> S3Server {
        let project = s3_project();
        let objects = tempfile::tempdir().expect("temporary directory");
        let mut child = Command::new("node")
            .arg(project.join("s3rver.js"))
            .arg(objects.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs s3rver");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("s3rver's first line");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("s3rver did not start: {line:?}"));
        S3Server {
            child,
            port,
            objects,
        }
    }

    /// `bonsai platform` with its package store in this server, configured
    /// the way an operator would: a store URL and the AWS_* variables.
    fn platform_command(&self, platform: &Platform, args: &[&str]) -> Command {
        let mut command = platform.command(args);
        command
            .env("BONSAI_STORE_URL", "s3://packages/bonsai")
            .env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "S3RVER")
            .env("AWS_SECRET_ACCESS_KEY", "S3RVER")
            .env("AWS_REGION", "us-east-1");
        command
    }

    /// The files s3rver keeps for objects whose name starts with `name`.
    fn object_files(&self, name: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, name: &str, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, name, found);
                } else if entry.file_name().to_string_lossy().starts_with(name) {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.objects.path(), name, &mut found);
        found.sort();
        found
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tests/s3, installed under target/.
fn s3_project() -> PathBuf {
    bonsai_test_support::npm_project(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3"),
        "s3",
    )
}

#[test]
fn packages_live_in_an_s3_compatible_store() {
    let s3 = S3Server::start();
    let platform = Platform::new();
    let json = |args: &[&str]| -> Value {
        let out = s3
            .platform_command(&platform, &[args, &["--json"]].concat())
            .output()
            .expect("bonsai runs");
        assert!(
            out.status.success(),
            "bonsai platform {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    json(&["app", "create", "--appid", "wxs3"]);
    let uploaded = json(&["version", "upload", "wxs3", &shop(), "--version", "1.0.0"]);
    let sha = uploaded["sha256"].as_str().expect("sha256").to_owned();
    // The package went to the bucket, under the URL's prefix, and nowhere
    // on this machine's data directory.
    assert!(!platform.packages().exists(), "a local package directory");
    let stored = s3.object_files(&format!("{sha}.zip"));
    assert!(!stored.is_empty(), "no object for {sha} in the bucket");
    assert!(
        stored.iter().all(|path| {
            let path = path.to_string_lossy();
            path.contains("packages") && path.contains("bonsai") && path.contains("sha256")
        }),
        "{stored:?}"
    );

    // Downloaded back, verified against its SHA-256.
    let output = platform.data.path().join("out.zip");
    let output = output.display().to_string();
    let written = json(&["version", "download", "wxs3", "1.0.0", "-o", &output]);
    assert_eq!(written["sha256"], sha.as_str());
    let bytes = std::fs::read(&output).expect("downloaded");
    assert_eq!(written["size"], bytes.len());

    // The same zip again is the same object.
    let again = json(&["version", "upload", "wxs3", &shop(), "--version", "1.0.1"]);
    assert_eq!(again["sha256"], sha.as_str());
    assert_eq!(s3.object_files(&format!("{sha}.zip")), stored);

    // An object damaged in the bucket is refused, not handed out.
    for path in &stored {
        if path.to_string_lossy().ends_with("_object") {
            let mut damaged = std::fs::read(path).expect("the stored object");
            damaged[100] ^= 0xff;
            std::fs::write(path, damaged).expect("damage the object");
        }
    }
    let out = s3
        .platform_command(
            &platform,
            &["version", "download", "wxs3", "1.0.0", "-o", &output],
        )
        .output()
        .expect("bonsai runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a damaged package was downloaded");
    assert!(stderr.contains(&sha), "{stderr}");
}
