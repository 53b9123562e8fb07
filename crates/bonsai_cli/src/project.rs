//! Reading the user's input (a directory or a zip) and compiling it: the
//! shared front half of `check`, `build` and every later subcommand.

use std::path::Path;

use bonsai_compiler::{CompiledApp, Compiler};
use bonsai_diagnostics::Diagnostic;
use bonsai_package::input::{self, InputLimits};
use bonsai_package::{AppManifest, LoadMode, LoadOptions, PackageFiles};

/// A loaded and compiled project, with everything needed to report on it.
pub struct LoadedProject {
    pub project_files: PackageFiles,
    pub manifest: Option<AppManifest>,
    pub compiled: Option<CompiledApp>,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedProject {
    /// Source text for a diagnostic's file, for code frames.
    pub fn source_of(&self, file: &str) -> Option<&str> {
        self.manifest
            .as_ref()
            .and_then(|m| m.files.text(file))
            .or_else(|| self.project_files.text(file))
    }

    /// The path to show for a diagnostic's file: relative to what the user passed.
    pub fn display_path(&self, file: &str) -> String {
        match &self.manifest {
            Some(m) if !m.root.is_empty() && m.files.contains(file) => format!("{}/{file}", m.root),
            _ => file.to_owned(),
        }
    }
}

pub fn read_input(path: &Path) -> Result<PackageFiles, Diagnostic> {
    let limits = InputLimits::default();
    let result = if path.is_dir() {
        input::read_dir(path, limits)
    } else if path.is_file() {
        input::read_zip_file(path, limits)
    } else {
        return Err(Diagnostic::error(
            "input::not-found",
            format!("{} does not exist", path.display()),
        ));
    };
    result.map_err(|e| e.to_diagnostic().in_file(path.display().to_string()))
}

/// Reads, loads and compiles. Never fails: problems are diagnostics.
pub fn load_and_compile(path: &Path, components: bool) -> LoadedProject {
    match read_input(path) {
        Ok(files) => compile_files(
            files,
            if components {
                LoadMode::Components
            } else {
                LoadMode::App
            },
            components.then(|| library_name(path)).flatten(),
        ),
        Err(d) => LoadedProject {
            project_files: PackageFiles::new(),
            manifest: None,
            compiled: None,
            diagnostics: vec![d],
        },
    }
}

/// Loads and compiles files already read (a directory, or a package the
/// platform's registry served).
pub fn compile_files(
    project_files: PackageFiles,
    mode: LoadMode,
    library_name: Option<String>,
) -> LoadedProject {
    let options = LoadOptions {
        mode,
        library_name,
        ..LoadOptions::default()
    };
    let (manifest, mut diagnostics) = bonsai_package::load(&project_files, &options);
    let (compiled, compile_diagnostics) = Compiler::new().compile(&manifest);
    diagnostics.extend(compile_diagnostics);
    LoadedProject {
        project_files,
        manifest: Some(manifest),
        compiled: Some(compiled),
        diagnostics,
    }
}

/// The npm name of a component library: from package.json in the directory
/// or its parent (npm packages ship `miniprogram_dist/` beside package.json).
fn library_name(dir: &Path) -> Option<String> {
    [dir.join("package.json"), dir.join("../package.json")]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("name")?.as_str().map(str::to_owned))
}
