//! `bonsai bench api`: what a `wx` call costs an app, next to doing the same
//! work directly in Rust in the same run.
//!
//! - `getStorageSync`: one round trip JS → Rust → JS for a stored object,
//!   per call, from a loop of calls in one page method; the baseline is
//!   Rust reading the same entry and parsing its JSON.
//! - `setStorageSync` ×10,000: distinct keys, each a small object, in one
//!   page method, including the one save to a file-backed store at the end
//!   of the task; the baseline is Rust encoding the same values, inserting
//!   them and saving once to the same kind of store.
//!
//! Targets are reported, never asserted.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions, StorageBackend};
use bonsai_package::PackageFiles;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::engine::compile_files;
use super::{Machine, Target, Timing, machine, progress_bar, publish, round3, verdict};
use crate::storage::FileStorage;

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/api.json")]
    pub out: PathBuf,
    /// Timed repetitions of each measurement.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
    /// Print the JSON report on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

const GET_CALLS: u32 = 100_000;
const SET_CALLS: u32 = 10_000;
const GET_MAX_US: f64 = 2.0;
const SET_RATIO_MAX: f64 = 2.0;
const APP_ID: &str = "wxbenchapi0000001";

/// The value each write stores, the same on both sides.
fn value(i: u32) -> serde_json::Value {
    json!({ "id": i, "name": format!("item {i}"), "price": 19.9, "tags": ["bonsai", "pot"] })
}

fn fixture_files() -> PackageFiles {
    let mut files = PackageFiles::new();
    files.insert("app.json", r#"{"pages":["pages/bench/index"]}"#);
    files.insert("project.config.json", format!(r#"{{"appid":"{APP_ID}"}}"#));
    files.insert("app.js", "App({});\n");
    files.insert("pages/bench/index.wxml", "<view>{{done}}</view>\n");
    files.insert(
        "pages/bench/index.js",
        r#"Page({
  data: { done: 0 },
  benchGet({ n }) {
    let found = 0;
    for (let i = 0; i < n; i += 1) found += wx.getStorageSync('cart').id;
    if (found !== n * 7) throw new Error(`getStorageSync returned the wrong value: ${found}`);
  },
  benchSet({ n }) {
    for (let i = 0; i < n; i += 1) {
      wx.setStorageSync(`key${i}`, { id: i, name: `item ${i}`, price: 19.9, tags: ['bonsai', 'pot'] });
    }
  },
});
"#,
    );
    files
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    iterations: u32,
    get_storage_sync: Measure,
    set_storage_sync_10k: Measure,
    targets: Targets,
}

#[derive(Serialize)]
struct Measure {
    calls: u32,
    bonsai: Timing,
    rust_direct: Timing,
    /// Per call, medians.
    bonsai_us_per_call: f64,
    rust_us_per_call: f64,
    /// bonsai / rust.
    ratio: f64,
}

impl Measure {
    fn of(calls: u32, bonsai: &[Duration], rust: &[Duration]) -> Measure {
        let bonsai = Timing::of(bonsai);
        let rust_direct = Timing::of(rust);
        let per_call = |t: &Timing| round3(t.median_ms * 1e3 / f64::from(calls));
        Measure {
            calls,
            bonsai_us_per_call: per_call(&bonsai),
            rust_us_per_call: per_call(&rust_direct),
            ratio: round3(bonsai.median_ms / rust_direct.median_ms.max(1e-6)),
            bonsai,
            rust_direct,
        }
    }
}

#[derive(Serialize)]
struct Targets {
    get_storage_sync_us: Target,
    set_storage_sync_ratio: Target,
}

pub fn run(args: &ApiArgs) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; run with --release for representative numbers");
    }
    let app = compile_files("the api fixture", &fixture_files())?;
    let dir = tempfile::tempdir().context("creating a scratch data directory")?;
    let n = args.iterations;
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let progress = progress_bar(show_progress, 4 * u64::from(n) + 2);

    progress.set_message("getStorageSync");
    // The app finds one stored entry, as it would after an earlier run.
    let backend: Arc<dyn StorageBackend> = Arc::new(FileStorage::new(dir.path().join("get")));
    let mut entries = std::collections::BTreeMap::new();
    entries.insert("cart".to_owned(), value(7).to_string());
    backend
        .save(APP_ID, &entries)
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut instance = launch(&app, backend)?;
    let mut get_runs = Vec::new();
    let mut rust_get_runs = Vec::new();
    for round in 0..=n {
        let start = Instant::now();
        instance.page_event("benchGet", json!({ "n": GET_CALLS }));
        let took = start.elapsed();
        let start = Instant::now();
        let mut found = 0u64;
        for _ in 0..GET_CALLS {
            let text = std::hint::black_box(entries.get("cart")).map_or("", String::as_str);
            let parsed: serde_json::Value = serde_json::from_str(text)?;
            found += parsed["id"].as_u64().unwrap_or(0);
        }
        ensure!(
            found == 7 * u64::from(GET_CALLS),
            "the Rust baseline read the wrong value"
        );
        let rust_took = start.elapsed();
        // The first round warms both sides up.
        if round > 0 {
            get_runs.push(took);
            rust_get_runs.push(rust_took);
        }
        progress.inc(2);
    }
    ensure!(
        instance.errors().is_empty(),
        "the getStorageSync loop failed: {}",
        instance.errors()[0]
    );

    progress.set_message("setStorageSync");
    let mut set_runs = Vec::new();
    let mut rust_set_runs = Vec::new();
    for round in 0..=n {
        let engine_dir = dir.path().join(format!("set-engine-{round}"));
        let mut instance = launch(&app, Arc::new(FileStorage::new(engine_dir)))?;
        let start = Instant::now();
        instance.page_event("benchSet", json!({ "n": SET_CALLS }));
        let took = start.elapsed();
        ensure!(
            instance.errors().is_empty(),
            "the setStorageSync loop failed: {}",
            instance.errors()[0]
        );
        let rust_backend = FileStorage::new(dir.path().join(format!("set-rust-{round}")));
        let start = Instant::now();
        let mut entries = std::collections::BTreeMap::new();
        let mut bytes = 0usize;
        for i in 0..SET_CALLS {
            let key = format!("key{i}");
            let encoded = serde_json::to_string(&value(i))?;
            bytes += key.len() + encoded.len();
            entries.insert(key, encoded);
        }
        ensure!(bytes < 10 * 1024 * 1024, "the baseline outgrew the quota");
        rust_backend
            .save(APP_ID, &entries)
            .map_err(|e| anyhow::anyhow!(e))?;
        let rust_took = start.elapsed();
        if round > 0 {
            set_runs.push(took);
            rust_set_runs.push(rust_took);
        }
        progress.inc(2);
    }
    progress.finish_and_clear();

    let get = Measure::of(GET_CALLS, &get_runs, &rust_get_runs);
    let set = Measure::of(SET_CALLS, &set_runs, &rust_set_runs);
    let report = Report {
        machine: machine(None),
        iterations: n,
        targets: Targets {
            get_storage_sync_us: Target::at_most(GET_MAX_US, get.bonsai_us_per_call),
            set_storage_sync_ratio: Target::at_most(SET_RATIO_MAX, set.ratio),
        },
        get_storage_sync: get,
        set_storage_sync_10k: set,
    };
    publish(&report, &args.out, args.json, print_table)?;
    Ok(true)
}

fn launch(
    app: &Arc<bonsai_compiler::CompiledApp>,
    storage: Arc<dyn StorageBackend>,
) -> anyhow::Result<AppInstance> {
    let options = EngineOptions {
        storage: Some(storage),
        // A loop of 100,000 calls is one task; debug builds need the room.
        task_time_limit: Duration::from_secs(60),
        ..EngineOptions::default()
    };
    let mut instance = AppInstance::new(app.clone(), &options)?;
    instance.launch(&LaunchOptions::default());
    Ok(instance)
}

fn print_table(report: &Report, out: &std::path::Path) {
    let m = &report.machine;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "bonsai bench api: {} build, {} CPUs, median of {} runs",
        m.profile, m.nproc, report.iterations
    );
    let _ = writeln!(
        stdout,
        "{:<28} {:>14} {:>14} {:>8}",
        "", "bonsai", "rust direct", "ratio"
    );
    for (name, measure) in [
        ("getStorageSync (per call)", &report.get_storage_sync),
        ("setStorageSync (per call)", &report.set_storage_sync_10k),
    ] {
        let _ = writeln!(
            stdout,
            "{name:<28} {:>11.3} us {:>11.3} us {:>7.2}x",
            measure.bonsai_us_per_call, measure.rust_us_per_call, measure.ratio
        );
    }
    let t = &report.targets;
    let _ = writeln!(
        stdout,
        "targets: getStorageSync <= {GET_MAX_US} us: {}; 10k setStorageSync <= {SET_RATIO_MAX}x rust: {}",
        verdict(&t.get_storage_sync_us),
        verdict(&t.set_storage_sync_ratio)
    );
    let _ = writeln!(stdout, "report: {}", out.display());
}
