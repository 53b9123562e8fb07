//! Checking an uploaded zip with the package loader, as `bonsai check` does
//! before compiling: the archive is read untrusted (zip-slip refused, an
//! inflate budget), then the manifest is loaded with WeChat's size limits.
//! Errors refuse the upload; warnings are returned with the new version.

use std::io::Cursor;
use std::path::Path;

use bonsai_diagnostics::{Diagnostic, LineIndex, Severity};
use bonsai_package::input::{self, InputLimits};
use bonsai_package::{LoadOptions, PackageFiles, SizeLimits};
use serde::Serialize;

const MIB: u64 = 1024 * 1024;

/// The largest zip the registry takes: WeChat's limit for all packages
/// together (its current documentation says 30 MB).
pub const MAX_PACKAGE_BYTES: usize = 30 * 1024 * 1024;

/// WeChat's package limits: 2 MB for the main package and for each
/// subpackage, 30 MB for all of them together.
pub const SIZE_LIMITS: SizeLimits = SizeLimits {
    per_package: 2 * MIB,
    total: 30 * MIB,
};

/// What the zip may inflate to (files the devtools don't upload, such as
/// docs, count here but not against [`SIZE_LIMITS`]).
const INPUT_LIMITS: InputLimits = InputLimits {
    max_unpacked_bytes: 64 * MIB,
    max_files: 20_000,
};

/// A loader diagnostic with its position as `file:line:col`, as `bonsai
/// check --json` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageDiagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    /// `file:line:col` (1-based) when the position is known, else the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl std::fmt::Display for PackageDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// The loader's verdict on a zip.
#[derive(Debug)]
pub(crate) struct Checked {
    pub errors: Vec<PackageDiagnostic>,
    pub warnings: Vec<PackageDiagnostic>,
}

/// Reads and loads a zip. Pure CPU work on up to [`MAX_PACKAGE_BYTES`]: run
/// it off the async threads.
pub(crate) fn check_zip(zip: &[u8]) -> Checked {
    let files = match input::read_zip(Cursor::new(zip), Path::new("package.zip"), INPUT_LIMITS) {
        Ok(files) => files,
        Err(err) => {
            return Checked {
                errors: vec![convert(&err.to_diagnostic(), &PackageFiles::new(), None)],
                warnings: Vec::new(),
            };
        }
    };
    let options = LoadOptions {
        limits: SIZE_LIMITS,
        ..LoadOptions::default()
    };
    let (manifest, diagnostics) = bonsai_package::load(&files, &options);
    let mut checked = Checked {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for diagnostic in &diagnostics {
        let converted = convert(diagnostic, &files, Some(&manifest));
        if diagnostic.is_error() {
            checked.errors.push(converted);
        } else {
            checked.warnings.push(converted);
        }
    }
    checked
}

/// Resolves a diagnostic's span to line and column. Its file is relative to
/// the mini-program root when it is one of the manifest's files (shown with
/// the root in front, as the zip names it), else to the project.
fn convert(
    diagnostic: &Diagnostic,
    project: &PackageFiles,
    manifest: Option<&bonsai_package::AppManifest>,
) -> PackageDiagnostic {
    let (source, shown) = match diagnostic.file.as_deref() {
        Some(file) => match manifest {
            Some(m) if m.files.contains(file) => (
                m.files.text(file),
                Some(if m.root.is_empty() {
                    file.to_owned()
                } else {
                    format!("{}/{file}", m.root)
                }),
            ),
            _ => (project.text(file), Some(file.to_owned())),
        },
        None => (None, None),
    };
    let (start, end) = match (diagnostic.span, source) {
        (Some(span), Some(source)) if span.fits(source.as_bytes()) => {
            let index = LineIndex::new(source);
            (
                Some(index.line_col(span.start as usize)),
                Some(index.line_col(span.end as usize)),
            )
        }
        _ => (None, None),
    };
    let location = match (&shown, start) {
        (Some(file), Some(pos)) => Some(format!("{file}:{}:{}", pos.line, pos.column)),
        (Some(file), None) => Some(file.clone()),
        (None, _) => None,
    };
    PackageDiagnostic {
        severity: diagnostic.severity,
        code: diagnostic.code.clone(),
        message: diagnostic.message.clone(),
        location,
        file: shown,
        line: start.map(|p| p.line),
        column: start.map(|p| p.column),
        end_line: end.map(|p| p.line),
        end_column: end.map(|p| p.column),
        help: diagnostic.help.clone(),
    }
}
