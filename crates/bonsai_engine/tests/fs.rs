//! `wx.getFileSystemManager()` and saved files, as an app uses them: the
//! fixture app under `tests/fixtures/engine/fs/` runs one scenario per page
//! event and logs what it sees. Covers text and binary round trips,
//! directories, moves, WeChat's errMsg shapes, the sandbox (no `..`, no
//! other schemes or host paths), the 200 MB quota, per-app isolation over a
//! shared backend, and temp → saved files.

use std::path::Path;
use std::sync::Arc;

use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_engine::api::{Capability, Grant};
use bonsai_engine::{
    AppInstance, EngineOptions, FileMeta, FileSystemBackend, FsError, LaunchOptions,
    MemoryFileSystem, SandboxPath,
};
use bonsai_package::LoadOptions;
use bonsai_package::input::{InputLimits, read_dir};
use serde_json::json;

fn compile(app_id: &str) -> Arc<CompiledApp> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/engine/fs");
    let files = read_dir(&dir, InputLimits::default()).expect("fixture reads");
    let (manifest, diagnostics) = bonsai_package::load(&files, &LoadOptions::default());
    assert!(!diagnostics.iter().any(|d| d.is_error()), "{diagnostics:?}");
    let (mut compiled, diagnostics) = Compiler::new().compile(&manifest);
    assert!(!diagnostics.iter().any(|d| d.is_error()), "{diagnostics:?}");
    compiled.app_id = Some(app_id.to_owned());
    Arc::new(compiled)
}

/// The fixture running as `app_id`, with a cursor into its console.
struct Run {
    app: AppInstance,
    seen: usize,
}

impl Run {
    fn new(app_id: &str, options: &EngineOptions) -> Run {
        let mut app = AppInstance::new(compile(app_id), options).expect("engine starts");
        app.launch(&LaunchOptions::default());
        let mut run = Run { app, seen: 0 };
        assert_eq!(
            run.logs(),
            ["manager true true wxfile://usr"],
            "{:?}",
            run.app.errors()
        );
        run
    }

    fn default() -> Run {
        Run::new("wxfixture", &EngineOptions::default())
    }

    /// Runs a scenario (a page method) with its callbacks, and returns what it logged.
    fn scenario(&mut self, name: &str, arg: serde_json::Value) -> Vec<String> {
        self.app.page_event(name, arg);
        assert!(
            self.app.errors().is_empty(),
            "{name}: {:?}",
            self.app.errors()
        );
        self.logs()
    }

    fn logs(&mut self) -> Vec<String> {
        let console = self.app.console();
        let new = console[self.seen..]
            .iter()
            .map(|m| m.text.clone())
            .collect();
        self.seen = console.len();
        new
    }
}

#[test]
fn text_and_binary_round_trip() {
    let mut run = Run::default();
    assert_eq!(
        run.scenario("roundTrip", json!({})),
        [
            "utf8 héllo 世界",
            "base64 aMOpbGxvIOS4lueVjA==",
            "hex slice c3a9",
            "latin1 4 café",
            "binary true 256 true",
            "typed array view 250,251,252,253,254,255",
            "called back synchronously false",
            "returns undefined",
            "async readFile:ok héllo 世界!",
            "complete readFile:ok",
            "async buffer true 254,255",
            "writeFile:ok hi",
        ]
    );
    assert_eq!(
        run.app.read_user_file("wxfile://usr/w.txt").as_deref(),
        Ok(&b"hi"[..])
    );
}

#[test]
fn megabytes_cross_within_a_task() {
    let mut run = Run::default();
    let started = std::time::Instant::now();
    assert_eq!(
        run.scenario("big", json!({ "megabytes": 4 })),
        ["big 4194304 true"]
    );
    eprintln!("4 MB written and read back in {:?}", started.elapsed());
}

#[test]
fn directories_list_and_stat() {
    let mut run = Run::default();
    assert_eq!(
        run.scenario("tree", json!({})),
        [
            r#"readdir ["b","top.txt"]"#,
            "stat file true false 3 number 33188",
            "stat dir true true",
            r#"recursive [["/",true,0],["/b",true,0],["/b/c",true,0],["/b/c/f.txt",false,1],["/top.txt",false,3]]"#,
            "mkdir existing mkdirSync:fail file already exists wxfile://usr/a",
            "mkdir recursive existing mkdirSync:fail file already exists wxfile://usr/a/b",
            "mkdir without parent mkdirSync:fail no such file or directory wxfile://usr/x/y",
            "rmdir not empty rmdirSync:fail directory not empty",
            "readdir file readdirSync:fail not a directory wxfile://usr/a/top.txt",
            "async stat stat:ok true",
            r#"async readdir readdir:ok ["c"]"#,
            "async mkdir mkdir:ok",
        ]
    );
}

#[test]
fn copy_rename_unlink_truncate() {
    let mut run = Run::default();
    assert_eq!(
        run.scenario("moves", json!({})),
        [
            r#"after copy and rename ["one.txt","three.txt"]"#,
            "access accessSync:fail no such file or directory wxfile://usr/one.txt ok",
            "directory moved f accessSync:fail no such file or directory wxfile://usr/d",
            "into itself renameSync:fail permission denied, rename wxfile://usr/d2 -> wxfile://usr/d2/e/inside",
            "rmdir recursive accessSync:fail no such file or directory wxfile://usr/d2",
            "truncate 49,0,0",
            "unlink directory unlinkSync:fail operation not permitted, unlink wxfile://usr",
            "rmdir root rmdirSync:fail permission denied, open wxfile://usr",
            "copy missing copyFileSync:fail no such file or directory, copyFile wxfile://usr/nope -> wxfile://usr/n2",
            "async rename rename:fail no such file or directory, rename wxfile://usr/nope -> wxfile://usr/n2",
            "async unlink unlink:ok []",
        ]
    );
}

#[test]
fn paths_outside_the_sandbox_and_bad_arguments_fail() {
    let mut run = Run::default();
    assert_eq!(
        run.scenario("errors", json!({})),
        [
            "read readFileSync:fail no such file or directory, open wxfile://usr/missing.txt",
            "read readFileSync:fail permission denied, open wxfile://usr/../x",
            "read readFileSync:fail permission denied, open wxfile://usr/a/../../b",
            "read readFileSync:fail permission denied, open /etc/passwd",
            "read readFileSync:fail permission denied, open ../../etc/passwd",
            "read readFileSync:fail permission denied, open http://x",
            "read readFileSync:fail permission denied, open http://usr/x",
            "read readFileSync:fail permission denied, open wxfile://usr/a\u{0}b",
            "read readFileSync:fail permission denied, open wxfile://store",
            "read readFileSync:fail parameter error: parameter.filePath should be String instead of Number;",
            "read readFileSync:fail parameter error: parameter.filePath should be defined instead of Undefined;",
            "write escape writeFileSync:fail permission denied, open wxfile://usr/../escape.txt",
            "write root writeFileSync:fail permission denied, open wxfile://usr",
            "write no parent writeFileSync:fail no such file or directory, open wxfile://usr/no/such.txt",
            "mkdir escape mkdirSync:fail permission denied, open wxfile://usr/../../tmp",
            "stat escape statSync:fail permission denied, open wxfile://usr/..",
            "append missing appendFileSync:fail no such file or directory, open wxfile://usr/missing.txt",
            r#"position -1 readFileSync:fail the value of "position" is out of range"#,
            r#"huge length readFileSync:fail the value of "length" is out of range"#,
            r#"fractional position readFileSync:fail the value of "position" is out of range"#,
            "in range 89",
            "huge truncate truncateSync:fail the maximum size of the file storage limit is exceeded",
            r#"negative truncate truncateSync:fail the value of "length" is out of range"#,
            "number data writeFileSync:fail parameter error: parameter.data should be String/ArrayBuffer instead of Number;",
            "bad encoding readFileSync:fail invalid encoding: klingon",
            "bad base64 writeFileSync:fail base64 encode error",
            r#"files intact ["ten.txt"]"#,
            "async fail readFile:fail no such file or directory, open wxfile://usr/missing.txt",
        ]
    );
}

/// A backend whose app already holds almost all of its 200 MB elsewhere:
/// 100 bytes are left.
#[derive(Debug, Default)]
struct AlmostFull(MemoryFileSystem);

impl FileSystemBackend for AlmostFull {
    fn metadata(&self, app: &str, path: &SandboxPath) -> Result<Option<FileMeta>, FsError> {
        self.0.metadata(app, path)
    }
    fn read(&self, app: &str, path: &SandboxPath) -> Result<Vec<u8>, FsError> {
        self.0.read(app, path)
    }
    fn write(&self, app: &str, path: &SandboxPath, bytes: &[u8]) -> Result<(), FsError> {
        self.0.write(app, path, bytes)
    }
    fn create_dir(&self, app: &str, path: &SandboxPath) -> Result<(), FsError> {
        self.0.create_dir(app, path)
    }
    fn read_dir(&self, app: &str, path: &SandboxPath) -> Result<Vec<String>, FsError> {
        self.0.read_dir(app, path)
    }
    fn remove_file(&self, app: &str, path: &SandboxPath) -> Result<(), FsError> {
        self.0.remove_file(app, path)
    }
    fn remove_dir(&self, app: &str, path: &SandboxPath) -> Result<(), FsError> {
        self.0.remove_dir(app, path)
    }
    fn rename(&self, app: &str, from: &SandboxPath, to: &SandboxPath) -> Result<(), FsError> {
        self.0.rename(app, from, to)
    }
    fn used_bytes(&self, app: &str) -> Result<u64, FsError> {
        Ok(self.0.used_bytes(app)? + bonsai_engine::api::fs::QUOTA_BYTES - 100)
    }
}

#[test]
fn the_quota_is_200_megabytes() {
    let options = EngineOptions {
        file_system: Some(Arc::new(AlmostFull::default())),
        ..EngineOptions::default()
    };
    let mut run = Run::new("wxfixture", &options);
    let exceeded = "the maximum size of the file storage limit is exceeded";
    assert_eq!(
        run.scenario("quota", json!({})),
        [
            "small ok".to_owned(),
            format!("too big writeFileSync:fail {exceeded}"),
            "overwrite smaller ok".to_owned(),
            format!("append appendFileSync:fail {exceeded}"),
            format!("copy copyFileSync:fail {exceeded}"),
            format!("truncate up truncateSync:fail {exceeded}"),
            format!("async writeFile:fail {exceeded}"),
        ]
    );
}

#[test]
fn apps_never_see_each_others_files() {
    let shared: Arc<MemoryFileSystem> = Arc::new(MemoryFileSystem::new());
    let options = EngineOptions {
        file_system: Some(shared.clone()),
        ..EngineOptions::default()
    };
    let mut a = Run::new("wxaaaa", &options);
    assert_eq!(
        a.scenario(
            "write",
            json!({ "name": "secret.txt", "text": "a's secret" })
        ),
        ["wrote secret.txt"]
    );
    let mut b = Run::new("wxbbbb", &options);
    assert_eq!(
        b.scenario("read", json!({ "name": "secret.txt" })),
        [
            "read secret.txt readFileSync:fail no such file or directory, open wxfile://usr/secret.txt"
        ]
    );
    assert_eq!(
        b.scenario("read", json!({ "name": "../wxaaaa/usr/secret.txt" })),
        [
            "read ../wxaaaa/usr/secret.txt readFileSync:fail permission denied, open wxfile://usr/../wxaaaa/usr/secret.txt"
        ]
    );
    // The same app in a later run finds its file again.
    let mut a_again = Run::new("wxaaaa", &options);
    assert_eq!(
        a_again.scenario("read", json!({ "name": "secret.txt" })),
        ["content a's secret", "read secret.txt ok"]
    );
    let path = SandboxPath::parse("usr/secret.txt").expect("path");
    assert_eq!(shared.read("wxbbbb", &path), Err(FsError::NotFound));
}

#[test]
fn saved_files_move_out_of_temp() {
    let mut run = Run::default();
    let temp = run.app.add_temp_file(b"PNG!".to_vec(), "png");
    assert_eq!(
        run.scenario("saved", json!({ "tempFilePath": temp })),
        [
            "temp true PNG!",
            format!("temp is read-only writeFileSync:fail permission denied, open {temp}").as_str(),
            "info getFileInfo:ok 4 fd1c0071b5909bb5bfe3da6d39b01854",
            "fs info getFileInfo:ok d44642208794c3394be9517e5efe484b39b01c74",
            "saved saveFile:ok true",
            format!("temp moved accessSync:fail no such file or directory {temp}").as_str(),
            "saved readable PNG!",
            "save twice saveFile:fail tempFilePath file not exist",
            "save usr saveFile:fail tempFilePath file not exist",
            "list getSavedFileList:ok 1 true 4 number",
            "saved info getSavedFileInfo:ok 4",
        ]
    );
    let saved = run.app.query("#out").expect("selector").expect("node");
    let saved = run.app.tree().text_content(saved);
    assert_eq!(run.app.read_user_file(&saved).as_deref(), Ok(&b"PNG!"[..]));
    assert_eq!(
        run.scenario("unsave", json!({ "savedFilePath": saved })),
        [
            "removed removeSavedFile:ok",
            "list after 0",
            "remove twice removeSavedFile:fail file not exist",
        ]
    );
    let temp = run.app.add_temp_file(b"kept".to_vec(), ".png");
    assert_eq!(
        run.scenario("keep", json!({ "tempFilePath": temp })),
        [
            format!("saveFileSync wxfile://usr/photos/p.png kept accessSync:fail no such file or directory {temp}").as_str(),
            "save to escape saveFileSync:fail tempFilePath file not exist",
        ]
    );
}

#[test]
fn a_denied_file_system_fails_every_call() {
    let options = EngineOptions {
        grant: Grant::default().deny(Capability::FileSystem),
        ..EngineOptions::default()
    };
    let mut run = Run::new("wxfixture", &options);
    assert_eq!(
        run.scenario("denied", json!({})),
        [
            "readFileSync:fail permission denied: this app may not use FileSystem APIs",
            "access:fail permission denied: this app may not use FileSystem APIs",
        ]
    );
}
