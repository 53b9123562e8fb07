//! `bonsai check` and `bonsai build`: load, compile, report.

use std::path::PathBuf;

use anyhow::Context;
use bonsai_compiler::Summary;
use bonsai_diagnostics::{Diagnostic, DiagnosticJson, Severity};
use bonsai_package::limits::format_bytes;
use clap::Args;
use serde::Serialize;

use crate::InputArgs;
use crate::project::{LoadedProject, load_and_compile};
use crate::report::{print_human, to_json};

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Hide warnings and notes; show errors only.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Where to write the compiled app artifact.
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    ok: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<DiagnosticJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact: Option<String>,
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

/// Prints diagnostics and the summary; returns whether there were no errors.
fn report(
    project: &LoadedProject,
    args: &InputArgs,
    quiet: bool,
    artifact: Option<String>,
) -> bool {
    let diagnostics = &project.diagnostics;
    let errors = count(diagnostics, Severity::Error);
    let warnings = count(diagnostics, Severity::Warning);
    let summary = project.compiled.as_ref().map(|c| &c.summary);
    if args.json {
        let report = CheckReport {
            ok: errors == 0,
            errors,
            warnings,
            diagnostics: diagnostics.iter().map(|d| to_json(project, d)).collect(),
            summary,
            artifact,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return errors == 0;
    }
    let shown: Vec<Diagnostic> = diagnostics
        .iter()
        .filter(|d| !quiet || d.is_error())
        .cloned()
        .collect();
    print_human(project, &shown);
    if let Some(summary) = summary {
        print_summary(summary);
    }
    if let Some(artifact) = artifact {
        println!("wrote {artifact}");
    }
    let verdict = if errors == 0 { "ok" } else { "failed" };
    println!("{verdict}: {errors} error(s), {warnings} warning(s)");
    errors == 0
}

fn print_summary(s: &Summary) {
    println!(
        "pages: {}, subpackages: {}, components: {}, templates: {}, styles: {}, scripts: {}, wxs: {}",
        s.pages, s.subpackages, s.components, s.templates, s.styles, s.scripts, s.wxs
    );
    for size in &s.sizes {
        let name = if size.root.is_empty() {
            "main package".to_owned()
        } else {
            format!("subpackage {}", size.root)
        };
        println!(
            "{name}: {} in {} files",
            format_bytes(size.bytes),
            size.files
        );
    }
}

pub fn check(args: &CheckArgs) -> anyhow::Result<bool> {
    let project = load_and_compile(&args.input.input, args.input.components);
    Ok(report(&project, &args.input, args.quiet, None))
}

pub fn build(args: &BuildArgs) -> anyhow::Result<bool> {
    let project = load_and_compile(&args.input.input, args.input.components);
    let has_errors = project.diagnostics.iter().any(Diagnostic::is_error);
    let artifact = match (&project.compiled, has_errors) {
        (Some(compiled), false) => {
            if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&args.out, compiled.to_bytes())
                .with_context(|| format!("writing {}", args.out.display()))?;
            Some(args.out.display().to_string())
        }
        _ => None,
    };
    Ok(report(&project, &args.input, false, artifact))
}
