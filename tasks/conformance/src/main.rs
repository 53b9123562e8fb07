//! The conformance runner: loads every page of the wux-weapp example app and
//! renders every component of TDesign, Vant Weapp, WeUI and antd-mini
//! (WeChat build) with default props, headless, and writes a report with pass
//! counts and the first error of each failure (`tasks/conformance/report.md`,
//! committed, so a regression shows in review).
//!
//! `cargo run -p conformance [-- --corpus DIR] [--check]`. With `--check` it
//! fails when the fresh report differs from the committed one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;

use anyhow::{Context, bail};
use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_engine::api::scope::PromptPolicy;
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_package::input::{InputLimits, read_dir};
use bonsai_package::{LoadMode, LoadOptions, PackageFiles};

struct Library {
    title: &'static str,
    npm_name: &'static str,
    dir: &'static str,
    /// Whether the library needs its npm dependencies (tasks/conformance/npm).
    needs_dependencies: bool,
}

const WUX_EXAMPLE: &str = "wux-weapp-3.11.3/package/example";
const LIBRARIES: [Library; 4] = [
    Library {
        title: "tdesign-miniprogram 1.16.0",
        npm_name: "tdesign-miniprogram",
        dir: "tdesign-miniprogram-1.16.0/package/miniprogram_dist",
        needs_dependencies: false,
    },
    Library {
        title: "@vant/weapp 1.11.7",
        npm_name: "@vant/weapp",
        dir: "vant-weapp-1.11.7/package/dist",
        needs_dependencies: false,
    },
    Library {
        title: "weui-miniprogram 1.5.6",
        npm_name: "weui-miniprogram",
        dir: "weui-miniprogram-1.5.6/package/miniprogram_dist",
        needs_dependencies: false,
    },
    Library {
        title: "antd-mini 3.4.3 (compiled/wechat)",
        npm_name: "antd-mini",
        dir: "antd-mini-3.4.3/package/compiled/wechat/src",
        needs_dependencies: true,
    },
];

/// One page or component run.
struct Outcome {
    name: String,
    failure: Option<String>,
}

struct Suite {
    title: String,
    outcomes: Vec<Outcome>,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let corpus = match args.iter().position(|a| a == "--corpus") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--corpus needs a directory")?),
        None => bonsai_corpus::repo_root().join("target/corpus"),
    };
    bonsai_corpus::fetch_into(&corpus).map_err(anyhow::Error::msg)?;
    let wux = compile(&read_dir(
        &corpus.join(WUX_EXAMPLE),
        InputLimits::default(),
    )?)?;
    let mut suites = vec![
        run_app(&wux, "wux-weapp 3.11.3 example (pages)", run_page),
        run_app(
            &wux,
            "wux-weapp 3.11.3 example (tap everything)",
            tap_everything,
        ),
    ];
    for library in &LIBRARIES {
        suites.push(run_library(&corpus.join(library.dir), library)?);
    }
    let report = render(&suites);
    let path = bonsai_corpus::repo_root().join("tasks/conformance/report.md");
    for suite in &suites {
        let passed = suite
            .outcomes
            .iter()
            .filter(|o| o.failure.is_none())
            .count();
        println!("{}: {passed}/{}", suite.title, suite.outcomes.len());
    }
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != report {
            eprintln!(
                "the conformance report changed; run `cargo run -p conformance` and review the diff"
            );
            return Ok(false);
        }
        return Ok(true);
    }
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(true)
}

fn compile(files: &PackageFiles) -> anyhow::Result<Arc<CompiledApp>> {
    // Harness apps carry whole libraries and are never uploaded, so WeChat's
    // package size limits do not apply to them.
    let options = LoadOptions {
        limits: bonsai_package::SizeLimits {
            per_package: u64::MAX,
            total: u64::MAX,
        },
        ..LoadOptions::default()
    };
    let (manifest, mut diagnostics) = bonsai_package::load(files, &options);
    let (compiled, more) = Compiler::new().compile(&manifest);
    diagnostics.extend(more);
    if let Some(error) = diagnostics.iter().find(|d| d.is_error()) {
        bail!("the app does not compile: {error}");
    }
    Ok(Arc::new(compiled))
}

/// Opens one page in a fresh instance: it passes when onReady ran and
/// nothing was thrown.
fn run_page(app: &Arc<CompiledApp>, page: &str) -> Option<String> {
    let mut instance = match new_instance(app, PromptPolicy::Deny) {
        Ok(instance) => instance,
        Err(err) => return Some(err.to_string()),
    };
    instance.launch(&LaunchOptions {
        url: Some(page.to_owned()),
        ..LaunchOptions::default()
    });
    instance.advance(100);
    if let Some(error) = instance.errors().first() {
        return Some(first_line(&error.to_string()));
    }
    if let Some(failure) = tree_failure(&instance) {
        return Some(failure);
    }
    if !instance.current_page_ready() {
        return Some("onReady was not reached".to_owned());
    }
    None
}

/// An instance for one check. The time budget is generous: results must
/// not depend on how busy the machine is.
fn new_instance(
    app: &Arc<CompiledApp>,
    prompt_policy: PromptPolicy,
) -> Result<AppInstance, bonsai_engine::EngineError> {
    let options = EngineOptions {
        task_time_limit: std::time::Duration::from_secs(20),
        prompt_policy,
        ..EngineOptions::default()
    };
    AppInstance::new(app.clone(), &options)
}

/// Tree operations that did not apply are a Bonsai bug, reported as a failure.
fn tree_failure(instance: &AppInstance) -> Option<String> {
    (instance.tree_errors() > 0)
        .then(|| format!("{} tree operations did not apply", instance.tree_errors()))
}

/// The first line, without addresses that change from run to run.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let hex = rest[i + 2..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .count();
        out.push_str("0x…");
        rest = &rest[i + 2 + hex..];
    }
    out.push_str(rest);
    out
}

fn run_app(
    app: &Arc<CompiledApp>,
    title: &str,
    check: fn(&Arc<CompiledApp>, &str) -> Option<String>,
) -> Suite {
    let pages: Vec<String> = app.packages.iter().flat_map(|p| p.pages.clone()).collect();
    let outcomes = pages
        .iter()
        .map(|page| Outcome {
            name: page.clone(),
            failure: check(app, page),
        })
        .collect();
    Suite {
        title: title.to_owned(),
        outcomes,
    }
}

/// Taps per page at most: enough for every button on wux's demo pages.
const MAX_TAPS: usize = 60;

/// Opens a page and taps every visible node that listens for `tap`, in
/// document order, as a tester clicking through a demo page would: the user agrees
/// to every prompt and modal, picks the first action, and waits 3 s after
/// each tap (toasts close, timers run). It passes when nothing was thrown.
fn tap_everything(app: &Arc<CompiledApp>, page: &str) -> Option<String> {
    let mut instance = match new_instance(app, PromptPolicy::Ask) {
        Ok(instance) => instance,
        Err(err) => return Some(err.to_string()),
    };
    // Reached from the home page, as a user reaches it: "back" buttons
    // need a page to go back to.
    instance.launch(&LaunchOptions::default());
    if instance.page_stack().last().map(String::as_str) != Some(page) {
        let tabs = app
            .app_config
            .as_ref()
            .and_then(|c| c.pointer("/tabBar/list"))
            .and_then(serde_json::Value::as_array);
        let is_tab = tabs.is_some_and(|list| {
            list.iter()
                .any(|t| t["pagePath"].as_str().map(|p| p.trim_start_matches('/')) == Some(page))
        });
        let how = if is_tab {
            bonsai_engine::Navigation::SwitchTab
        } else {
            bonsai_engine::Navigation::NavigateTo
        };
        instance.navigate(how, &format!("/{page}"));
    }
    instance.advance(100);
    let mut taps = 0;
    while taps < MAX_TAPS {
        // Collected again after each tap: taps re-render the page. Only
        // what a tester can see can be tapped: nodes with a box (headless
        // layout), not ones inside a closed popup.
        let listening: Vec<bonsai_tree::NodeId> = {
            let Some(root) = instance.current_page() else {
                break;
            };
            let tree = instance.tree();
            tree.descendants(root)
                .into_iter()
                .filter(|id| {
                    tree.get(*id)
                        .is_some_and(|n| n.listeners.iter().any(|l| l == "tap"))
                })
                .collect()
        };
        let targets: Vec<bonsai_tree::NodeId> = listening
            .into_iter()
            .filter(|id| {
                instance
                    .layout_rect(*id)
                    .is_some_and(|r| r.width > 0.0 && r.height > 0.0)
            })
            .collect();
        let Some(target) = targets.get(taps).copied() else {
            break;
        };
        let stack_before = instance.page_stack();
        instance.dispatch(target, "tap", serde_json::json!({ "x": 0, "y": 0 }));
        taps += 1;
        for _ in 0..5 {
            instance.advance(3_000);
            let Some(dialog) = instance.ui().dialogs.first().cloned() else {
                break;
            };
            let answer = match dialog.kind {
                bonsai_engine::api::ui::DialogKind::ActionSheet { .. } => {
                    bonsai_engine::api::ui::DialogAnswer::Tap(0)
                }
                _ => bonsai_engine::api::ui::DialogAnswer::Confirm,
            };
            instance.answer_dialog(dialog.id, &answer);
        }
        if let Some(error) = instance.errors().first() {
            return Some(format!("tap {taps}: {}", first_line(&error.to_string())));
        }
        // A tap that navigated away: come back to keep sweeping this page.
        if instance.page_stack().len() > stack_before.len() {
            instance.navigate_back(1);
        } else if instance.page_stack() != stack_before {
            break;
        }
    }
    tree_failure(&instance)
}

/// A generated app with one page per library component, each rendering the
/// component once with its default props.
fn run_library(dir: &Path, library: &Library) -> anyhow::Result<Suite> {
    let library_files = read_dir(dir, InputLimits::default())?;
    let (manifest, _) = bonsai_package::load(
        &library_files,
        &LoadOptions {
            mode: LoadMode::Components,
            library_name: Some(library.npm_name.to_owned()),
            ..LoadOptions::default()
        },
    );
    let components: Vec<String> = manifest.components.keys().cloned().collect();
    let mut files = PackageFiles::new();
    for (path, content) in library_files.iter() {
        files.insert(
            format!("miniprogram_npm/{}/{path}", library.npm_name),
            content.to_vec(),
        );
    }
    let mut pages = Vec::new();
    for (index, component) in components.iter().enumerate() {
        let page = format!("pages/c{index}/index");
        let using = serde_json::json!({ "usingComponents": { "subject": format!("/miniprogram_npm/{}/{component}", library.npm_name) } });
        files.insert(format!("{page}.json"), using.to_string());
        files.insert(format!("{page}.wxml"), "<subject />");
        files.insert(format!("{page}.js"), "Page({})");
        pages.push(page);
    }
    if library.needs_dependencies {
        for (path, content) in built_npm_dependencies()? {
            files.insert(format!("miniprogram_npm/{path}"), content);
        }
    }
    files.insert(
        "app.json",
        serde_json::json!({ "pages": pages }).to_string(),
    );
    files.insert("app.js", "App({})");
    let app = compile(&files)?;
    let outcomes = components
        .iter()
        .zip(&pages)
        .map(|(component, page)| Outcome {
            name: component.clone(),
            failure: run_page(&app, page),
        })
        .collect();
    Ok(Suite {
        title: library.title.to_owned(),
        outcomes,
    })
}

/// What the devtools' "build npm" makes of tasks/conformance/npm: each
/// dependency's files under `miniprogram_npm/<name>/`, with its main file
/// also as `index.js`, where `require('<name>')` looks.
fn built_npm_dependencies() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let npm_dir = bonsai_corpus::repo_root().join("tasks/conformance/npm");
    let node_modules = npm_dir.join("node_modules");
    if !node_modules.is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&npm_dir)
            .status()
            .context("running npm ci in tasks/conformance/npm")?;
        if !status.success() {
            bail!("npm ci in tasks/conformance/npm failed");
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(npm_dir.join("package.json"))?)?;
    let names: Vec<String> = manifest["dependencies"]
        .as_object()
        .map(|deps| deps.keys().cloned().collect())
        .unwrap_or_default();
    let mut built = Vec::new();
    for name in names {
        let package_dir = node_modules.join(&name);
        let package: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(package_dir.join("package.json"))?)?;
        let main = package["main"].as_str().unwrap_or("index.js");
        let main = if main.ends_with(".js") {
            main.to_owned()
        } else {
            format!("{main}.js")
        };
        let files = read_dir(&package_dir, InputLimits::default())?;
        for (path, content) in files.iter().filter(|(p, _)| p.ends_with(".js")) {
            built.push((format!("{name}/{path}"), content.to_vec()));
        }
        let main_content = files
            .get(main.trim_start_matches("./"))
            .with_context(|| format!("{name}: no {main}"))?;
        built.push((format!("{name}/index.js"), main_content.to_vec()));
    }
    Ok(built)
}

fn render(suites: &[Suite]) -> String {
    let mut out = String::from(
        "# Conformance\n\nGenerated by `cargo run -p conformance`; do not edit. A page passes when it reaches\n`onReady` with no uncaught JS error; a library component passes when a page rendering it\nwith default props does. \"Tap everything\" taps every visible node listening for `tap` on each page\n(at most 60, 3 s apart, agreeing to every prompt and modal, picking the first action) and\npasses when nothing is thrown.\n\n| suite | passed |\n| --- | --- |\n",
    );
    for suite in suites {
        let passed = suite
            .outcomes
            .iter()
            .filter(|o| o.failure.is_none())
            .count();
        let _ = writeln!(
            out,
            "| {} | {passed}/{} |",
            suite.title,
            suite.outcomes.len()
        );
    }
    for suite in suites {
        let failures: Vec<&Outcome> = suite
            .outcomes
            .iter()
            .filter(|o| o.failure.is_some())
            .collect();
        if failures.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {}: failures\n", suite.title);
        for outcome in failures {
            let _ = writeln!(
                out,
                "- `{}`: {}",
                outcome.name,
                outcome.failure.as_deref().unwrap_or_default()
            );
        }
    }
    out
}
