//! Checking an uploaded zip with the package loader, as `bonsai check` does
//! before compiling: the archive is read untrusted (zip-slip refused, an
//! inflate budget), then the manifest is loaded with WeChat's size limits.
//! Errors refuse the upload; warnings are returned with the new version.

use std::io::Cursor;
use std::path::Path;

use bonsai_diagnostics::{Diagnostic, DiagnosticJson};
use bonsai_package::input::{self, InputLimits};
use bonsai_package::{LoadOptions, PackageFiles, SizeLimits};

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

/// The loader's verdict on a zip.
#[derive(Debug)]
pub(crate) struct Checked {
    pub errors: Vec<DiagnosticJson>,
    pub warnings: Vec<DiagnosticJson>,
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
) -> DiagnosticJson {
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
    // A span that does not fit its file gets no position.
    let source = source.filter(|source| {
        diagnostic
            .span
            .is_some_and(|span| span.fits(source.as_bytes()))
    });
    DiagnosticJson::new(diagnostic, source)
        .with_file(shown)
        .with_location()
}
