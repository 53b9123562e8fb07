//! `bonsai bench engine`: how fast an app starts, how fast `setData` renders
//! a long list, and what one more live instance costs in memory, next to a
//! Node.js baseline running the same JavaScript (`js/bench/engine-baseline.mjs`:
//! glass-easel, its adapter and Bonsai's own `host.js`) in the same run.
//!
//! Three measurements, each on apps compiled once, before any clock starts:
//! - cold start: `AppInstance::new` + `launch` of the wux example's home page,
//!   to its first page tree;
//! - setData: an in-memory fixture page with a 1,000-item `wx:for` list; the
//!   first render, a `setData` of every item, and a one-path update, each
//!   from the page method call until the task and its zero-delay timers are
//!   done and the tree operations are applied;
//! - memory: the QuickJS heap and the process RSS growth per extra live
//!   instance of the wux home page.
//!
//! The process is warm: each measurement's first run is not in its medians
//! (the cold start's first run is reported apart as `first_ms`). Targets are
//! reported, never asserted.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_diagnostics::Severity;
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_package::{LoadOptions, PackageFiles};
use clap::Args;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    Machine, Target, Timing, ensure_corpus, machine, ms, node_packages, progress_bar, publish,
    report_errors, round3, verdict,
};
use crate::project::read_input;

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The corpus directory; scripts/fetch-corpus.sh fills it when inputs are missing.
    #[arg(long, default_value = "target/corpus")]
    pub corpus: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/engine.json")]
    pub out: PathBuf,
    /// Timed repetitions of each measurement.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
    /// Live instances per batch in the memory measurement.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub instances: u32,
    /// Print the JSON report on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The app the cold start and memory measurements run, in the corpus.
const APP_DIR: &str = "wux-weapp-3.11.3/package/example";
const APP_PAGE: &str = "pages/index/index";

/// The list fixture: one page whose methods the bench calls by name.
const FIXTURE_PAGE: &str = "pages/list/index";
const LIST_ITEMS: usize = 1000;
/// Item 500's text after the first render (v1), `setData` of all (v2) and
/// the one-path update (v3): proof the last update reached the tree.
const FIXTURE_EXPECT: &str = "item 500 v3";

const COLD_START_MAX_MS: f64 = 30.0;
const SET_DATA_MAX_MS: f64 = 5.0;
const INSTANCE_MAX_MB: f64 = 4.0;
const MB: f64 = 1024.0 * 1024.0;

/// The fixture's files: each page method is one measured `setData`.
fn fixture_files() -> PackageFiles {
    let mut files = PackageFiles::new();
    files.insert("app.json", format!(r#"{{"pages":["{FIXTURE_PAGE}"]}}"#));
    files.insert("app.js", "App({});\n");
    files.insert(format!("{FIXTURE_PAGE}.json"), "{}\n");
    files.insert(
        format!("{FIXTURE_PAGE}.wxml"),
        "<view wx:for=\"{{list}}\" wx:key=\"id\">{{item.name}}</view>\n",
    );
    files.insert(
        format!("{FIXTURE_PAGE}.js"),
        format!(
            "// Every call stamps a new version, so each setData changes every text it touches.
let version = 0;
const items = () => {{
  version += 1;
  const list = [];
  for (let i = 0; i < {LIST_ITEMS}; i += 1) list.push({{ id: i, name: `item ${{i}} v${{version}}` }});
  return list;
}};
Page({{
  data: {{ list: [] }},
  benchSetAll() {{ this.setData({{ list: items() }}); }},
  benchSetOne() {{
    version += 1;
    this.setData({{ 'list[500].name': `item 500 v${{version}}` }});
  }},
}});
"
        ),
    );
    files
}

// ---------------------------------------------------------------- report

#[derive(Serialize)]
struct Report {
    machine: Machine,
    corpus: String,
    iterations: u32,
    app: AppReport,
    bonsai: Measures,
    baseline: BaselineReport,
    targets: Targets,
}

#[derive(Serialize)]
struct AppReport {
    path: &'static str,
    page: &'static str,
    fixture_page: &'static str,
}

/// What each side measured; the Node script prints the same fields.
#[derive(Serialize, Deserialize)]
struct Measures {
    cold_start: ColdStartReport,
    set_data: SetDataReport,
    memory: MemoryReport,
}

#[derive(Serialize, Deserialize)]
struct ColdStartReport {
    /// The process's first instance, before any cache is warm.
    first_ms: f64,
    /// New instance through launch and settle, to the first page tree.
    ms: Timing,
    /// Creating the instance: the runtime, the framework, the templates.
    new_ms: Timing,
    /// `launch`: app.js, the page, its components, `onReady`.
    launch_ms: Timing,
    /// Nodes under the page: the same tree on both sides means the same work.
    nodes: usize,
    console: usize,
    /// Uncaught JS errors (and, for Bonsai, tree ops that did not apply).
    errors: usize,
}

#[derive(Serialize, Deserialize)]
struct SetDataReport {
    items: usize,
    /// `setData` of every item into the empty list: creates all the nodes.
    first_render_ms: Timing,
    /// `setData` of every item again, each with a new name.
    set_all_ms: Timing,
    /// `setData({'list[500].name': …})`.
    set_one_ms: Timing,
    nodes: usize,
    errors: usize,
    /// Every run ended with the last update's text in the tree.
    checked: bool,
}

#[derive(Serialize, Deserialize)]
struct MemoryReport {
    /// Live instances in the measured batch (a first batch as large comes before).
    instances: u32,
    /// JS heap per instance: QuickJS's `memory_used`, or V8's `heapUsed` growth.
    heap_bytes_per_instance: u64,
    /// Resident set growth over the measured batch, per instance.
    rss_bytes_per_instance: u64,
    nodes: usize,
    errors: usize,
}

#[derive(Serialize)]
struct BaselineReport {
    available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<NodeResult>,
    /// Node over Bonsai for each measure (higher: Bonsai faster or smaller).
    #[serde(skip_serializing_if = "Option::is_none")]
    ratios: Option<Ratios>,
}

#[derive(Serialize, Deserialize)]
struct NodeResult {
    node_version: String,
    glass_easel: String,
    #[serde(flatten)]
    measures: Measures,
}

#[derive(Serialize)]
struct Ratios {
    cold_start: f64,
    first_render: f64,
    set_all: f64,
    set_one: f64,
    heap_per_instance: f64,
    rss_per_instance: f64,
}

impl Ratios {
    fn of(node: &Measures, bonsai: &Measures) -> Self {
        let ratio = |n: f64, b: f64| if b > 0.0 { round3(n / b) } else { 0.0 };
        let time = |n: &Timing, b: &Timing| ratio(n.median_ms, b.median_ms);
        let (n, b) = (node, bonsai);
        Ratios {
            cold_start: time(&n.cold_start.ms, &b.cold_start.ms),
            first_render: time(&n.set_data.first_render_ms, &b.set_data.first_render_ms),
            set_all: time(&n.set_data.set_all_ms, &b.set_data.set_all_ms),
            set_one: time(&n.set_data.set_one_ms, &b.set_data.set_one_ms),
            heap_per_instance: ratio(
                n.memory.heap_bytes_per_instance as f64,
                b.memory.heap_bytes_per_instance as f64,
            ),
            rss_per_instance: ratio(
                n.memory.rss_bytes_per_instance as f64,
                b.memory.rss_bytes_per_instance as f64,
            ),
        }
    }
}

#[derive(Serialize)]
struct Targets {
    cold_start_ms: Target,
    set_data_ms: Target,
    /// RSS growth per extra instance, in MiB: everything an instance costs,
    /// not only its JS heap.
    instance_mb: Target,
}

// ---------------------------------------------------------------- driver

pub fn run(args: &EngineArgs) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; run with --release for representative numbers");
    }
    ensure_corpus(&args.corpus)?;
    let app = compile_app(&args.corpus.join(APP_DIR))?;
    let fixture = compile_files("the list fixture", &fixture_files())?;
    let n = args.iterations;
    let show_progress = !args.json && std::io::stderr().is_terminal();
    // Each timed measurement has one untimed first run; memory has two batches.
    let steps = 2 * (u64::from(n) + 1) + 2 * u64::from(args.instances) + 1;
    let progress = progress_bar(show_progress, steps);

    progress.set_message("cold start");
    let cold_start = bench_cold_start(&app, n, &progress)?;
    progress.set_message("setData");
    let set_data = bench_set_data(&fixture, n, &progress)?;
    progress.set_message("memory");
    let memory = bench_memory(&app, args.instances, &progress)?;
    let bonsai = Measures {
        cold_start,
        set_data,
        memory,
    };

    progress.set_message("node baseline");
    let baseline = baseline(&app, &fixture, args, &bonsai);
    progress.inc(1);
    progress.finish_and_clear();

    let targets = Targets {
        cold_start_ms: Target::at_most(COLD_START_MAX_MS, bonsai.cold_start.ms.median_ms),
        set_data_ms: Target::at_most(SET_DATA_MAX_MS, bonsai.set_data.set_all_ms.median_ms),
        instance_mb: Target::at_most(
            INSTANCE_MAX_MB,
            round3(bonsai.memory.rss_bytes_per_instance as f64 / MB),
        ),
    };
    let clean = bonsai.cold_start.errors == 0
        && bonsai.set_data.errors == 0
        && bonsai.memory.errors == 0
        && bonsai.set_data.checked;
    let report = Report {
        machine: machine(Some(app.template_compiler.clone())),
        corpus: args.corpus.display().to_string(),
        iterations: n,
        app: AppReport {
            path: APP_DIR,
            page: APP_PAGE,
            fixture_page: FIXTURE_PAGE,
        },
        bonsai,
        baseline,
        targets,
    };

    publish(&report, &args.out, args.json, print_table)?;
    Ok(clean)
}

pub(super) fn compile_files(name: &str, files: &PackageFiles) -> anyhow::Result<Arc<CompiledApp>> {
    let (manifest, mut diagnostics) = bonsai_package::load(files, &LoadOptions::default());
    let (app, more) = Compiler::new().compile(&manifest);
    diagnostics.extend(more);
    report_errors(name, &diagnostics);
    ensure!(
        !diagnostics.iter().any(|d| d.severity == Severity::Error),
        "{name} did not compile cleanly"
    );
    Ok(Arc::new(app))
}

fn compile_app(dir: &Path) -> anyhow::Result<Arc<CompiledApp>> {
    let files = read_input(dir).map_err(|d| anyhow!("{}: {}", dir.display(), d.message))?;
    compile_files("wux", &files)
}

/// The engine's defaults, as `bonsai run` uses them.
fn launch(app: &Arc<CompiledApp>, page: &str) -> anyhow::Result<AppInstance> {
    let mut instance = AppInstance::new(app.clone(), &EngineOptions::default())?;
    instance.launch(&LaunchOptions {
        url: Some(page.to_owned()),
        ..LaunchOptions::default()
    });
    Ok(instance)
}

fn page_nodes(instance: &AppInstance) -> usize {
    instance
        .current_page()
        .map_or(0, |page| instance.tree().descendants(page).len())
}

fn errors(instance: &AppInstance) -> usize {
    instance.errors().len() + instance.tree_errors()
}

// ---------------------------------------------------------------- measurements

fn bench_cold_start(
    app: &Arc<CompiledApp>,
    iterations: u32,
    progress: &ProgressBar,
) -> anyhow::Result<ColdStartReport> {
    let run = || -> anyhow::Result<(AppInstance, Duration, Duration)> {
        let start = Instant::now();
        let mut instance = AppInstance::new(app.clone(), &EngineOptions::default())?;
        let created = start.elapsed();
        instance.launch(&LaunchOptions {
            url: Some(APP_PAGE.to_owned()),
            ..LaunchOptions::default()
        });
        Ok((instance, created, start.elapsed()))
    };
    let (mut last, _, first) = run()?;
    progress.inc(1);
    let (mut totals, mut created, mut launched) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iterations {
        // The previous instance is freed here, off the clock.
        drop(last);
        let (instance, new, total) = run()?;
        totals.push(total);
        created.push(new);
        launched.push(total - new);
        last = instance;
        progress.inc(1);
    }
    Ok(ColdStartReport {
        first_ms: ms(first),
        ms: Timing::of(&totals),
        new_ms: Timing::of(&created),
        launch_ms: Timing::of(&launched),
        nodes: page_nodes(&last),
        console: last.console().len(),
        errors: errors(&last),
    })
}

fn bench_set_data(
    fixture: &Arc<CompiledApp>,
    iterations: u32,
    progress: &ProgressBar,
) -> anyhow::Result<SetDataReport> {
    let (mut first_render, mut set_all, mut set_one) = (Vec::new(), Vec::new(), Vec::new());
    let mut nodes = 0;
    let mut error_count = 0;
    let mut checked = true;
    // A fresh page per run, so every first render starts from an empty list;
    // run 0 is untimed.
    for i in 0..=iterations {
        let mut instance = launch(fixture, FIXTURE_PAGE)?;
        let mut timed = |method: &str| {
            let start = Instant::now();
            instance.page_event(method, serde_json::Value::Null);
            start.elapsed()
        };
        let render = timed("benchSetAll");
        let all = timed("benchSetAll");
        let one = timed("benchSetOne");
        if i > 0 {
            first_render.push(render);
            set_all.push(all);
            set_one.push(one);
        }
        nodes = page_nodes(&instance);
        let text = instance
            .current_page()
            .map(|page| instance.tree().text_content(page))
            .unwrap_or_default();
        checked &= nodes > LIST_ITEMS && text.contains(FIXTURE_EXPECT);
        error_count += errors(&instance);
        progress.inc(1);
    }
    Ok(SetDataReport {
        items: LIST_ITEMS,
        first_render_ms: Timing::of(&first_render),
        set_all_ms: Timing::of(&set_all),
        set_one_ms: Timing::of(&set_one),
        nodes,
        errors: error_count,
        checked,
    })
}

/// Two batches of `count` live instances; only the second is measured, so
/// memory the allocator kept from earlier measurements (and reuses first)
/// does not hide what an extra instance costs.
fn bench_memory(
    app: &Arc<CompiledApp>,
    count: u32,
    progress: &ProgressBar,
) -> anyhow::Result<MemoryReport> {
    let batch = || -> anyhow::Result<Vec<AppInstance>> {
        (0..count)
            .map(|_| {
                let instance = launch(app, APP_PAGE);
                progress.inc(1);
                instance
            })
            .collect()
    };
    let warm = batch()?;
    let before = rss_bytes()?;
    let measured = batch()?;
    let after = rss_bytes()?;
    let heap: usize = measured.iter().map(AppInstance::memory_used).sum();
    Ok(MemoryReport {
        instances: count,
        heap_bytes_per_instance: heap as u64 / u64::from(count),
        rss_bytes_per_instance: after.saturating_sub(before) / u64::from(count),
        nodes: measured.last().map_or(0, page_nodes),
        errors: warm.iter().chain(&measured).map(errors).sum(),
    })
}

/// The process's resident set. `VmRSS` is in kB, so no page size is needed
/// (statm counts pages).
fn rss_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status (the memory measurement needs Linux)")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .context("no VmRSS in /proc/self/status")
}

// ---------------------------------------------------------------- baseline

/// The Node baseline on the same compiled apps; unavailable (with the
/// reason) rather than an error when Node or its packages cannot be had.
fn baseline(
    app: &CompiledApp,
    fixture: &CompiledApp,
    args: &EngineArgs,
    bonsai: &Measures,
) -> BaselineReport {
    match run_node(app, fixture, args) {
        Ok(node) => BaselineReport {
            available: true,
            reason: None,
            ratios: Some(Ratios::of(&node.measures, bonsai)),
            node: Some(node),
        },
        Err(err) => BaselineReport {
            available: false,
            reason: Some(format!("{err:#}")),
            node: None,
            ratios: None,
        },
    }
}

fn temp_file(prefix: &str, bytes: &[u8]) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".json")
        .tempfile()
        .context("creating the baseline's input file")?;
    file.write_all(bytes)?;
    Ok(file)
}

fn run_node(
    app: &CompiledApp,
    fixture: &CompiledApp,
    args: &EngineArgs,
) -> anyhow::Result<NodeResult> {
    let js = node_packages()?;
    let app_file = temp_file("bonsai-bench-app-", &app.to_bytes())?;
    let fixture_file = temp_file("bonsai-bench-fixture-", &fixture.to_bytes())?;
    // The exact manifest the engine gives js/host.js, so both sides run the same host on the same input.
    let device = EngineOptions::default().device;
    let input = json!({
        "app_manifest": bonsai_engine::host_manifest(app, &device),
        "fixture_manifest": bonsai_engine::host_manifest(fixture, &device),
        "app": app_file.path(),
        "page": APP_PAGE,
        "fixture": fixture_file.path(),
        "fixture_page": FIXTURE_PAGE,
        "expect_text": FIXTURE_EXPECT,
        "items": LIST_ITEMS,
        "iterations": args.iterations,
        "instances": args.instances,
        "device": device,
    });
    let input_file = temp_file("bonsai-bench-engine-", input.to_string().as_bytes())?;

    super::run_node_script(
        &js.join("bench/engine-baseline.mjs"),
        &[
            "--expose-gc",
            "--experimental-vm-modules",
            "--disable-warning=ExperimentalWarning",
        ],
        input_file.path(),
    )
}

// ---------------------------------------------------------------- output

fn print_table(report: &Report, out: &Path) {
    let m = &report.machine;
    println!(
        "bonsai bench engine: {} build, {} CPUs, median of {} runs; app {} ({})",
        m.profile, m.nproc, report.iterations, report.app.path, report.app.page
    );
    let node = report.baseline.node.as_ref().map(|n| &n.measures);
    let ratios = report.baseline.ratios.as_ref();
    println!("{:<28} {:>12} {:>12} {:>8}", "", "bonsai", "node", "node/b");
    let row = |name: &str, bonsai: f64, node: Option<f64>, ratio: Option<f64>, unit: &str| {
        let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} {unit}"));
        let ratio = ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"));
        println!(
            "{name:<28} {:>12} {:>12} {ratio:>8}",
            cell(Some(bonsai)),
            cell(node)
        );
    };
    let b = &report.bonsai;
    row(
        "cold start (median)",
        b.cold_start.ms.median_ms,
        node.map(|n| n.cold_start.ms.median_ms),
        ratios.map(|r| r.cold_start),
        "ms",
    );
    row(
        "  new instance",
        b.cold_start.new_ms.median_ms,
        node.map(|n| n.cold_start.new_ms.median_ms),
        None,
        "ms",
    );
    row(
        "  launch",
        b.cold_start.launch_ms.median_ms,
        node.map(|n| n.cold_start.launch_ms.median_ms),
        None,
        "ms",
    );
    row(
        "  first in process",
        b.cold_start.first_ms,
        node.map(|n| n.cold_start.first_ms),
        None,
        "ms",
    );
    let items = b.set_data.items;
    row(
        &format!("{items}-item list first render"),
        b.set_data.first_render_ms.median_ms,
        node.map(|n| n.set_data.first_render_ms.median_ms),
        ratios.map(|r| r.first_render),
        "ms",
    );
    row(
        "setData all items",
        b.set_data.set_all_ms.median_ms,
        node.map(|n| n.set_data.set_all_ms.median_ms),
        ratios.map(|r| r.set_all),
        "ms",
    );
    row(
        "setData one path",
        b.set_data.set_one_ms.median_ms,
        node.map(|n| n.set_data.set_one_ms.median_ms),
        ratios.map(|r| r.set_one),
        "ms",
    );
    let mb = |bytes: u64| round3(bytes as f64 / MB);
    row(
        "JS heap per instance",
        mb(b.memory.heap_bytes_per_instance),
        node.map(|n| mb(n.memory.heap_bytes_per_instance)),
        ratios.map(|r| r.heap_per_instance),
        "MiB",
    );
    row(
        "RSS per instance",
        mb(b.memory.rss_bytes_per_instance),
        node.map(|n| mb(n.memory.rss_bytes_per_instance)),
        ratios.map(|r| r.rss_per_instance),
        "MiB",
    );
    println!(
        "page nodes: wux {} (node {}), list {} (node {}); errors: {} (node {})",
        b.cold_start.nodes,
        node.map_or(0, |n| n.cold_start.nodes),
        b.set_data.nodes,
        node.map_or(0, |n| n.set_data.nodes),
        b.cold_start.errors + b.set_data.errors + b.memory.errors,
        node.map_or(0, |n| n.cold_start.errors
            + n.set_data.errors
            + n.memory.errors),
    );
    match (&report.baseline.node, &report.baseline.reason) {
        (Some(node), _) => println!(
            "node {} with glass-easel {}",
            node.node_version, node.glass_easel
        ),
        (None, reason) => println!(
            "node baseline unavailable: {}",
            reason.as_deref().unwrap_or("unknown")
        ),
    }
    let t = &report.targets;
    println!(
        "targets: cold start ≤ {COLD_START_MAX_MS} ms {}, setData ≤ {SET_DATA_MAX_MS} ms {}, instance ≤ {INSTANCE_MAX_MB} MiB {}",
        verdict(&t.cold_start_ms),
        verdict(&t.set_data_ms),
        verdict(&t.instance_mb)
    );
    println!("report: {}", out.display());
}
