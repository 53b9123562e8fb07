//! `bonsai bench compile`: how fast Bonsai loads and compiles the public
//! corpus (`scripts/fetch-corpus.sh`), cold and after a one-file edit, and how
//! its WXML compile compares with the upstream wasm template compiler under
//! Node (`js/bench/compile-wxml.mjs`), measured in the same run on the same
//! inputs so the ratio does not mix machines or days. `bonsai bench engine`
//! (in [`engine`]) does the same for running apps.
//!
//! Every timed region works on files already in memory: disk and page-cache
//! effects would otherwise dominate, and they are not what a compile session
//! costs. Outputs are freed after the clock stops, as the Node script does.
//! Targets are reported with whether they are met, never asserted: timing
//! depends on the machine. The report records the machine but no git
//! revision, so it works from a tarball as well as a checkout.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_diagnostics::{Diagnostic, Severity};
use bonsai_package::{AppManifest, LoadMode, LoadOptions, PackageFiles};
use bonsai_wxml::TemplateGroup;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::project::read_input;

mod api;
mod engine;
mod platform;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time loading and compiling the public corpus, with the Node baseline.
    Compile(CompileArgs),
    /// Time starting apps, setData and memory per instance, with the Node baseline.
    Engine(engine::EngineArgs),
    /// Time wx API calls (storage), with the same work done directly in Rust.
    Api(api::ApiArgs),
    /// Load the platform server on loopback (jscode2session, JSAPI orders), with a bare HTTP baseline.
    Platform(platform::PlatformBenchArgs),
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The corpus directory; scripts/fetch-corpus.sh fills it when inputs are missing.
    #[arg(long, default_value = "target/corpus")]
    pub corpus: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/compile.json")]
    pub out: PathBuf,
    /// Timed repetitions of each measurement.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: u32,
    /// Print the JSON report on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `bonsai bench` subcommand; false when the corpus did not compile
/// (or, for `engine`, run) cleanly.
pub fn run(args: &BenchArgs) -> anyhow::Result<bool> {
    match &args.command {
        BenchCommand::Compile(args) => compile(args),
        BenchCommand::Engine(args) => engine::run(args),
        BenchCommand::Api(args) => api::run(args),
        BenchCommand::Platform(args) => platform::run(args),
    }
}

/// The checkout this binary was built from. The corpus script and the Node
/// baseline live in the source tree, and the bench is a developer tool run
/// from a checkout, so the build-time path is the right one.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One benchmark input: a directory of the corpus and how to load it.
struct InputSpec {
    name: &'static str,
    dir: &'static str,
    mode: LoadMode,
    /// The npm name `bonsai check --components` reads from the package.json
    /// beside the directory; fixed here because the corpus is pinned by sha1.
    library_name: Option<&'static str>,
}

const INPUTS: [InputSpec; 6] = [
    InputSpec {
        name: "wux",
        dir: "wux-weapp-3.11.3/package/example",
        mode: LoadMode::App,
        library_name: None,
    },
    InputSpec {
        name: "tdesign",
        dir: "tdesign-miniprogram-1.16.0/package/miniprogram_dist",
        mode: LoadMode::Components,
        library_name: Some("tdesign-miniprogram"),
    },
    InputSpec {
        name: "vant-dist",
        dir: "vant-weapp-1.11.7/package/dist",
        mode: LoadMode::Components,
        library_name: Some("@vant/weapp"),
    },
    InputSpec {
        name: "vant-lib",
        dir: "vant-weapp-1.11.7/package/lib",
        mode: LoadMode::Components,
        library_name: Some("@vant/weapp"),
    },
    InputSpec {
        name: "weui",
        dir: "weui-miniprogram-1.5.6/package/miniprogram_dist",
        mode: LoadMode::Components,
        library_name: Some("weui-miniprogram"),
    },
    InputSpec {
        name: "antd",
        dir: "antd-mini-3.4.3/package/compiled/wechat/src",
        mode: LoadMode::Components,
        library_name: None,
    },
];

/// The input the incremental measurement edits: the one complete app.
const INCREMENTAL_INPUT: &str = "wux";

const COLD_ALL_MAX_MS: f64 = 1000.0;
const WXML_RATIO_MIN: f64 = 2.0;
const INCREMENTAL_MAX_MS: f64 = 20.0;

/// An input read into memory, ready to load.
struct Input {
    spec: &'static InputSpec,
    files: PackageFiles,
    options: LoadOptions,
}

/// One input loaded and compiled; kept until the clock has stopped.
struct Compiled {
    manifest: AppManifest,
    app: CompiledApp,
    diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// What `bonsai check` does after reading: load the manifest, then compile.
fn load_and_compile(input: &Input, files: &PackageFiles, compiler: &mut Compiler) -> Compiled {
    let (manifest, mut diagnostics) = bonsai_package::load(files, &input.options);
    let (app, more) = compiler.compile(&manifest);
    diagnostics.extend(more);
    Compiled {
        manifest,
        app,
        diagnostics,
    }
}

// ---------------------------------------------------------------- report

#[derive(Serialize)]
struct Report {
    machine: Machine,
    corpus: String,
    iterations: u32,
    cold: ColdReport,
    incremental: IncrementalReport,
    wxml_only: WxmlReport,
    baseline: BaselineReport,
    targets: Targets,
}

#[derive(Serialize)]
struct Machine {
    nproc: usize,
    cpu: Option<String>,
    os: &'static str,
    arch: &'static str,
    /// `debug` numbers are not representative; use a release build.
    profile: &'static str,
    bonsai_version: &'static str,
    /// Which WXML compiler the measured apps were built with, where that
    /// matters (compile and engine benches).
    #[serde(skip_serializing_if = "Option::is_none")]
    template_compiler: Option<String>,
}

/// Repeated measurements of one thing, in milliseconds. The Node baselines
/// print the same shape.
#[derive(Serialize, Deserialize)]
struct Timing {
    min_ms: f64,
    median_ms: f64,
    runs_ms: Vec<f64>,
}

impl Timing {
    fn of(runs: &[Duration]) -> Self {
        let runs_ms: Vec<f64> = runs.iter().map(|d| ms(*d)).collect();
        let mut sorted = runs_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Timing {
            min_ms: sorted[0],
            median_ms: round3(median),
            runs_ms,
        }
    }
}

fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1e3)
}

/// Microsecond precision is all a wall clock on a shared machine gives.
fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

#[derive(Serialize)]
struct ColdReport {
    /// Load + compile of all inputs, each with a fresh `Compiler`.
    total_ms: Timing,
    files: usize,
    templates: usize,
    styles: usize,
    scripts: usize,
    wxs: usize,
    errors: usize,
    warnings: usize,
    inputs: Vec<InputReport>,
}

#[derive(Serialize)]
struct InputReport {
    name: &'static str,
    path: String,
    mode: &'static str,
    files: usize,
    templates: usize,
    styles: usize,
    scripts: usize,
    wxs: usize,
    errors: usize,
    warnings: usize,
    ms: Timing,
}

#[derive(Serialize)]
struct IncrementalReport {
    input: &'static str,
    edits: Vec<EditReport>,
}

#[derive(Serialize)]
struct EditReport {
    kind: &'static str,
    file: String,
    /// `bonsai_package::load` + `compile` on the warm session after the edit.
    ms: Timing,
    errors: usize,
}

#[derive(Serialize)]
struct WxmlReport {
    templates: usize,
    scripts: usize,
    input_bytes: usize,
    output_bytes: usize,
    errors: usize,
    /// The first full WXML compile in this process.
    cold_ms: f64,
    /// The following ones.
    warm_ms: Timing,
}

#[derive(Serialize)]
struct BaselineReport {
    available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<NodeResult>,
    /// Node's warm median over Bonsai's warm median (higher: Bonsai faster).
    ratio: Option<f64>,
    /// The same for the first compile in each process.
    cold_ratio: Option<f64>,
}

/// The fields of `compile-wxml.mjs`'s output this report keeps.
#[derive(Serialize, Deserialize)]
struct NodeResult {
    node_version: String,
    compiler: String,
    load_ms: f64,
    cold_ms: f64,
    warm_ms: f64,
    warm_min_ms: f64,
    files: usize,
    scripts: usize,
    input_bytes: usize,
    output_bytes: usize,
    errors: usize,
}

#[derive(Serialize)]
struct Targets {
    cold_all_ms: Target,
    wxml_ratio: Target,
    incremental_ms: Target,
}

/// A bound on a measurement; `met` is absent when it could not be measured.
#[derive(Serialize)]
struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    actual: Option<f64>,
    met: Option<bool>,
}

impl Target {
    fn at_most(max: f64, actual: f64) -> Self {
        Target {
            max: Some(max),
            min: None,
            actual: Some(actual),
            met: Some(actual <= max),
        }
    }

    fn at_least(min: f64, actual: Option<f64>) -> Self {
        Target {
            max: None,
            min: Some(min),
            actual,
            met: actual.map(|a| a >= min),
        }
    }
}

// ---------------------------------------------------------------- driver

fn compile(args: &CompileArgs) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; run with --release for representative numbers");
    }
    ensure_corpus(&args.corpus)?;
    let inputs = read_inputs(&args.corpus)?;
    let n = args.iterations;
    let show_progress = !args.json && std::io::stderr().is_terminal();
    // WXML: one cold run and n warm; cold: n; incremental: n per edit kind; Node: 1.
    let steps = u64::from(n) * (1 + 1 + EditKind::ALL.len() as u64) + 2;
    let progress = progress_bar(show_progress, steps);

    // WXML first: its first run is then the first use of the template
    // compiler in this process, comparable with Node's cold number.
    progress.set_message("wxml only");
    let groups = wxml_groups(&inputs);
    let wxml_only = bench_wxml(&groups, n, &progress);

    progress.set_message("cold compile");
    let (cold, template_compiler) = bench_cold(&inputs, n, &progress);

    progress.set_message("incremental");
    let incremental = bench_incremental(&inputs, n, &progress)?;

    progress.set_message("node baseline");
    let baseline = baseline(&groups, n, &wxml_only);
    progress.inc(1);
    progress.finish_and_clear();

    let worst_incremental = incremental
        .edits
        .iter()
        .map(|e| e.ms.median_ms)
        .fold(0.0, f64::max);
    let targets = Targets {
        cold_all_ms: Target::at_most(COLD_ALL_MAX_MS, cold.total_ms.median_ms),
        wxml_ratio: Target::at_least(WXML_RATIO_MIN, baseline.ratio),
        incremental_ms: Target::at_most(INCREMENTAL_MAX_MS, worst_incremental),
    };
    let report = Report {
        machine: machine(Some(template_compiler)),
        corpus: args.corpus.display().to_string(),
        iterations: n,
        cold,
        incremental,
        wxml_only,
        baseline,
        targets,
    };

    publish(&report, &args.out, args.json, print_table)?;
    let errors = report.cold.errors
        + report.wxml_only.errors
        + report
            .incremental
            .edits
            .iter()
            .map(|e| e.errors)
            .sum::<usize>();
    Ok(errors == 0)
}

/// Writes the JSON report to `out`, then prints it (`--json`) or its table.
fn publish<R: Serialize>(
    report: &R,
    out: &Path,
    json: bool,
    print_table: fn(&R, &Path),
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    write_report(out, &text)?;
    if json {
        println!("{text}");
    } else {
        print_table(report, out);
    }
    Ok(())
}

/// Writes the JSON report, creating its directory.
fn write_report(out: &Path, json: &str) -> anyhow::Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, format!("{json}\n")).with_context(|| format!("writing {}", out.display()))
}

fn progress_bar(show: bool, len: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:14} [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Fetches the corpus when any input is missing (the script is idempotent).
fn ensure_corpus(corpus: &Path) -> anyhow::Result<()> {
    if INPUTS.iter().all(|i| corpus.join(i.dir).is_dir()) {
        return Ok(());
    }
    let script = repo_root().join("scripts/fetch-corpus.sh");
    eprintln!("fetching the corpus into {}", corpus.display());
    // The script reports on stdout; keep stdout for the report.
    let status = Command::new("bash")
        .arg(&script)
        .arg(corpus)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    ensure!(status.success(), "{} failed ({status})", script.display());
    for input in &INPUTS {
        let dir = corpus.join(input.dir);
        ensure!(dir.is_dir(), "{} is missing after fetching", dir.display());
    }
    Ok(())
}

fn read_inputs(corpus: &Path) -> anyhow::Result<Vec<Input>> {
    INPUTS
        .iter()
        .map(|spec| {
            let dir = corpus.join(spec.dir);
            let files =
                read_input(&dir).map_err(|d| anyhow!("{}: {}", dir.display(), d.message))?;
            let options = LoadOptions {
                mode: spec.mode,
                library_name: spec.library_name.map(str::to_owned),
                ..LoadOptions::default()
            };
            Ok(Input {
                spec,
                files,
                options,
            })
        })
        .collect()
}

fn machine(template_compiler: Option<String>) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        });
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        bonsai_version: env!("CARGO_PKG_VERSION"),
        template_compiler,
    }
}

// ---------------------------------------------------------------- cold

/// Load + compile of every input with a fresh `Compiler`, `iterations` times.
/// Returns the report and the template compiler version the outputs name.
fn bench_cold(inputs: &[Input], iterations: u32, progress: &ProgressBar) -> (ColdReport, String) {
    let mut totals = Vec::new();
    let mut per_input: Vec<Vec<Duration>> = vec![Vec::new(); inputs.len()];
    let mut last = Vec::new();
    for _ in 0..iterations {
        let mut outputs = Vec::with_capacity(inputs.len());
        let mut sessions = Vec::with_capacity(inputs.len());
        let start = Instant::now();
        for (input, times) in inputs.iter().zip(&mut per_input) {
            let t = Instant::now();
            let mut compiler = Compiler::new();
            outputs.push(load_and_compile(input, &input.files, &mut compiler));
            times.push(t.elapsed());
            sessions.push(compiler);
        }
        totals.push(start.elapsed());
        // Sessions and the previous run's outputs are freed here, off the clock.
        drop(sessions);
        last = outputs;
        progress.inc(1);
    }
    let reports: Vec<InputReport> = inputs
        .iter()
        .zip(&last)
        .zip(&per_input)
        .map(|((input, out), times)| {
            let s = &out.app.summary;
            InputReport {
                name: input.spec.name,
                path: input.spec.dir.to_owned(),
                mode: match input.spec.mode {
                    LoadMode::App => "app",
                    LoadMode::Components => "components",
                },
                files: out.manifest.files.len(),
                templates: s.templates,
                styles: s.styles,
                scripts: s.scripts,
                wxs: s.wxs,
                errors: out.count(Severity::Error),
                warnings: out.count(Severity::Warning),
                ms: Timing::of(times),
            }
        })
        .collect();
    for (input, out) in inputs.iter().zip(&last) {
        report_errors(input.spec.name, &out.diagnostics);
    }
    let sum = |f: fn(&InputReport) -> usize| reports.iter().map(f).sum();
    let report = ColdReport {
        total_ms: Timing::of(&totals),
        files: sum(|r| r.files),
        templates: sum(|r| r.templates),
        styles: sum(|r| r.styles),
        scripts: sum(|r| r.scripts),
        wxs: sum(|r| r.wxs),
        errors: sum(|r| r.errors),
        warnings: sum(|r| r.warnings),
        inputs: reports,
    };
    let template_compiler = last
        .first()
        .map(|c| c.app.template_compiler.clone())
        .unwrap_or_default();
    (report, template_compiler)
}

/// Error diagnostics make the numbers meaningless; say which, briefly.
fn report_errors(name: &str, diagnostics: &[Diagnostic]) {
    let errors: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    for d in errors.iter().take(3) {
        let file = d.file.as_deref().unwrap_or("-");
        eprintln!("error: {name}: [{}] {file}: {}", d.code, d.message);
    }
    if errors.len() > 3 {
        eprintln!("error: {name}: … and {} more", errors.len() - 3);
    }
}

// ---------------------------------------------------------------- incremental

#[derive(Debug, Clone, Copy)]
enum EditKind {
    Wxml,
    Wxss,
    Js,
}

impl EditKind {
    const ALL: [EditKind; 3] = [EditKind::Wxml, EditKind::Wxss, EditKind::Js];

    fn name(self) -> &'static str {
        match self {
            EditKind::Wxml => "wxml",
            EditKind::Wxss => "wxss",
            EditKind::Js => "js",
        }
    }

    fn file(self) -> &'static str {
        match self {
            EditKind::Wxml => "pages/index/index.wxml",
            EditKind::Wxss => "pages/index/index.wxss",
            EditKind::Js => "pages/index/index.js",
        }
    }

    /// Text appended on the `i`th edit. Every edit yields new content: the
    /// compiler caches by content, so repeating one would be a cache hit.
    fn snippet(self, i: u32) -> String {
        match self {
            EditKind::Wxml => format!("\n<view data-edit=\"{i}\"/>"),
            EditKind::Wxss => format!("\n.bench-edit-{i} {{ width: {i}rpx; }}"),
            EditKind::Js => format!("\nvar benchEdit{i} = {i};"),
        }
    }
}

/// A warm session on the app, then one-file edits of each kind, each
/// followed by load + compile as a watcher would run them.
fn bench_incremental(
    inputs: &[Input],
    iterations: u32,
    progress: &ProgressBar,
) -> anyhow::Result<IncrementalReport> {
    let input = inputs
        .iter()
        .find(|i| i.spec.name == INCREMENTAL_INPUT)
        .context("the incremental input is not in the corpus list")?;
    let mut files = input.files.clone();
    let mut compiler = Compiler::new();
    let root = load_and_compile(input, &files, &mut compiler).manifest.root;
    let mut edits = Vec::new();
    for kind in EditKind::ALL {
        let path = if root.is_empty() {
            kind.file().to_owned()
        } else {
            format!("{root}/{}", kind.file())
        };
        let mut text = files
            .text(&path)
            .with_context(|| format!("{INCREMENTAL_INPUT} has no UTF-8 file {path}"))?
            .to_owned();
        let mut runs = Vec::new();
        let mut errors = 0;
        for i in 0..iterations {
            text.push_str(&kind.snippet(i));
            files.insert(path.clone(), text.clone());
            let start = Instant::now();
            let out = load_and_compile(input, &files, &mut compiler);
            runs.push(start.elapsed());
            errors += out.count(Severity::Error);
            if i + 1 == iterations {
                report_errors(INCREMENTAL_INPUT, &out.diagnostics);
            }
            progress.inc(1);
        }
        edits.push(EditReport {
            kind: kind.name(),
            file: path,
            ms: Timing::of(&runs),
            errors,
        });
    }
    Ok(IncrementalReport {
        input: INCREMENTAL_INPUT,
        edits,
    })
}

// ---------------------------------------------------------------- wxml only

/// The WXML and WXS of one input: what the compiler hands its template
/// group, in the shape `compile-wxml.mjs` reads.
#[derive(Serialize)]
struct WxmlGroup {
    name: &'static str,
    files: Vec<SourceFile>,
    scripts: Vec<SourceFile>,
}

#[derive(Serialize)]
struct SourceFile {
    path: String,
    source: String,
}

/// Every `.wxml` and `.wxs` of each loaded package, as `Compiler` picks them.
fn wxml_groups(inputs: &[Input]) -> Vec<WxmlGroup> {
    inputs
        .iter()
        .map(|input| {
            let (manifest, _) = bonsai_package::load(&input.files, &input.options);
            let mut group = WxmlGroup {
                name: input.spec.name,
                files: Vec::new(),
                scripts: Vec::new(),
            };
            for (path, bytes) in manifest.files.iter() {
                let Ok(source) = std::str::from_utf8(bytes) else {
                    continue;
                };
                let file = SourceFile {
                    path: path.to_owned(),
                    source: source.to_owned(),
                };
                if path.ends_with(".wxml") {
                    group.files.push(file);
                } else if path.ends_with(".wxs") {
                    group.scripts.push(file);
                }
            }
            group
        })
        .collect()
}

/// What one full WXML compile took and produced.
struct WxmlRun {
    elapsed: Duration,
    output_bytes: usize,
    errors: usize,
}

/// One full WXML compile as the Node script does it: per input a fresh
/// template group, every template, every script, then the group's JS.
fn compile_wxml(groups: &[WxmlGroup]) -> WxmlRun {
    let mut kept = Vec::with_capacity(groups.len());
    let mut output_bytes = 0;
    let mut errors = 0;
    let start = Instant::now();
    for g in groups {
        let mut group = TemplateGroup::new();
        for f in &g.files {
            let diagnostics = group.set_template(&f.path, &f.source);
            errors += diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
        }
        for s in &g.scripts {
            group.set_script(&s.path, &s.source);
        }
        match group.generate() {
            Ok(js) => output_bytes += js.len(),
            Err(_) => errors += 1,
        }
        kept.push(group);
    }
    let elapsed = start.elapsed();
    // Freed off the clock, as the Node script frees its groups.
    drop(kept);
    WxmlRun {
        elapsed,
        output_bytes,
        errors,
    }
}

/// One cold run, then `iterations` warm ones: the Node script's schedule.
fn bench_wxml(groups: &[WxmlGroup], iterations: u32, progress: &ProgressBar) -> WxmlReport {
    let cold = compile_wxml(groups);
    progress.inc(1);
    let warm: Vec<Duration> = (0..iterations)
        .map(|_| {
            let run = compile_wxml(groups);
            progress.inc(1);
            run.elapsed
        })
        .collect();
    let bytes = |files: &[SourceFile]| files.iter().map(|f| f.source.len()).sum::<usize>();
    WxmlReport {
        templates: groups.iter().map(|g| g.files.len()).sum(),
        scripts: groups.iter().map(|g| g.scripts.len()).sum(),
        input_bytes: groups
            .iter()
            .map(|g| bytes(&g.files) + bytes(&g.scripts))
            .sum(),
        output_bytes: cold.output_bytes,
        errors: cold.errors,
        cold_ms: ms(cold.elapsed),
        warm_ms: Timing::of(&warm),
    }
}

// ---------------------------------------------------------------- baseline

/// The Node baseline on the same groups; unavailable (with the reason)
/// rather than an error when Node or its packages cannot be had.
fn baseline(groups: &[WxmlGroup], iterations: u32, bonsai: &WxmlReport) -> BaselineReport {
    match run_node(groups, iterations) {
        Ok(node) => BaselineReport {
            available: true,
            reason: None,
            ratio: Some(round3(node.warm_ms / bonsai.warm_ms.median_ms)),
            cold_ratio: Some(round3(node.cold_ms / bonsai.cold_ms)),
            node: Some(node),
        },
        Err(err) => BaselineReport {
            available: false,
            reason: Some(format!("{err:#}")),
            node: None,
            ratio: None,
            cold_ratio: None,
        },
    }
}

/// Checks that Node runs and the pinned npm packages are installed
/// (installing them when missing); returns the `js/` directory.
fn node_packages() -> anyhow::Result<PathBuf> {
    let version = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .context("node is not available")?;
    ensure!(version.status.success(), "`node --version` failed");

    let js = repo_root().join("js");
    if !js.join("node_modules").is_dir() {
        eprintln!("installing the pinned npm packages in {}", js.display());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&js)
            .stdout(std::io::stderr())
            .status()
            .context("running npm ci")?;
        ensure!(
            status.success(),
            "npm ci in {} failed ({status})",
            js.display()
        );
    }
    Ok(js)
}

fn run_node(groups: &[WxmlGroup], iterations: u32) -> anyhow::Result<NodeResult> {
    let js = node_packages()?;
    #[derive(Serialize)]
    struct NodeInput<'a> {
        groups: &'a [WxmlGroup],
        iterations: u32,
    }
    let mut input = tempfile::Builder::new()
        .prefix("bonsai-bench-wxml-")
        .suffix(".json")
        .tempfile()
        .context("creating the baseline's input file")?;
    serde_json::to_writer(&mut input, &NodeInput { groups, iterations })?;
    input.flush()?;

    run_node_script(&js.join("bench/compile-wxml.mjs"), &[], input.path())
}

/// Runs a Node baseline script on an input file and parses the one JSON
/// document it prints.
pub(crate) fn run_node_script<T: serde::de::DeserializeOwned>(
    script: &Path,
    node_args: &[&str],
    input: &Path,
) -> anyhow::Result<T> {
    let out = Command::new("node")
        .args(node_args)
        .arg(script)
        .arg(input)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    ensure!(
        out.status.success(),
        "{} failed ({}): {}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    serde_json::from_slice(&out.stdout).context("reading the baseline's output")
}

// ---------------------------------------------------------------- output

fn print_table(report: &Report, out: &Path) {
    let m = &report.machine;
    println!(
        "bonsai bench compile: {} build, {} CPUs, median and min of {} runs",
        m.profile, m.nproc, report.iterations
    );
    println!(
        "{:<10} {:>6} {:>6} {:>6} {:>6} {:>4} {:>6} {:>10} {:>10}",
        "input", "files", "wxml", "wxss", "js", "wxs", "errors", "median ms", "min ms"
    );
    let c = &report.cold;
    for r in &c.inputs {
        println!(
            "{:<10} {:>6} {:>6} {:>6} {:>6} {:>4} {:>6} {:>10.1} {:>10.1}",
            r.name,
            r.files,
            r.templates,
            r.styles,
            r.scripts,
            r.wxs,
            r.errors,
            r.ms.median_ms,
            r.ms.min_ms
        );
    }
    println!(
        "{:<10} {:>6} {:>6} {:>6} {:>6} {:>4} {:>6} {:>10.1} {:>10.1}",
        "all (cold)",
        c.files,
        c.templates,
        c.styles,
        c.scripts,
        c.wxs,
        c.errors,
        c.total_ms.median_ms,
        c.total_ms.min_ms
    );
    let edits: Vec<String> = report
        .incremental
        .edits
        .iter()
        .map(|e| format!("{} {:.1} ms", e.kind, e.ms.median_ms))
        .collect();
    println!(
        "incremental ({}, warm session, load + compile): {}",
        report.incremental.input,
        edits.join(", ")
    );
    let w = &report.wxml_only;
    println!(
        "wxml only ({} templates, {} wxs): bonsai {:.1} ms (cold {:.1})",
        w.templates, w.scripts, w.warm_ms.median_ms, w.cold_ms
    );
    match (&report.baseline.node, &report.baseline.reason) {
        (Some(node), _) => println!(
            "  node {} {}: {:.1} ms (cold {:.1}); ratio {:.2}x (cold {:.2}x)",
            node.node_version,
            node.compiler,
            node.warm_ms,
            node.cold_ms,
            report.baseline.ratio.unwrap_or_default(),
            report.baseline.cold_ratio.unwrap_or_default()
        ),
        (None, reason) => println!(
            "  node baseline unavailable: {}",
            reason.as_deref().unwrap_or("unknown")
        ),
    }
    let t = &report.targets;
    println!(
        "targets: cold all ≤ {COLD_ALL_MAX_MS} ms {}, wxml ratio ≥ {WXML_RATIO_MIN} {}, incremental ≤ {INCREMENTAL_MAX_MS} ms {}",
        verdict(&t.cold_all_ms),
        verdict(&t.wxml_ratio),
        verdict(&t.incremental_ms)
    );
    println!("report: {}", out.display());
}

fn verdict(target: &Target) -> &'static str {
    match target.met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not measured",
    }
}
