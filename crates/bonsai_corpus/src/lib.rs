//! What Bonsai's tests, fuzz targets and benchmarks share: the public
//! mini-program corpus they measure against (wux-weapp, TDesign, Vant Weapp,
//! WeUI, antd-mini and vant-aliapp, fetched by `scripts/fetch-corpus.sh` into
//! `target/corpus`, pinned by sha1), and the span check every compiler's
//! diagnostics must pass.
//!
//! **Architecture invariant:** a dev-only helper; no shipped crate depends on it.

use std::path::{Path, PathBuf};
use std::process::Command;

use bonsai_diagnostics::Diagnostic;

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/corpus`, fetched first if any package is missing.
///
/// # Panics
/// When the fetch script cannot run or fails: tests need the corpus.
pub fn corpus_dir() -> PathBuf {
    let corpus = repo_root().join("target/corpus");
    if let Err(err) = fetch_into(&corpus) {
        panic!("{err}");
    }
    corpus
}

/// Fetches every corpus package missing from `dir` (verified ones are kept).
pub fn fetch_into(dir: &Path) -> Result<(), String> {
    let script = repo_root().join("scripts/fetch-corpus.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .status()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed", script.display()))
    }
}

/// Every file below `dir` whose name ends with one of `suffixes`, in path order.
pub fn files_ending_with(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|name| suffixes.iter().any(|s| name.ends_with(s)))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Asserts that every diagnostic with a span names a file `source_of` knows
/// and that the span fits that file's bytes, and its characters when the
/// file is UTF-8.
pub fn assert_spans_fit<'a>(
    diagnostics: &[Diagnostic],
    source_of: impl Fn(&str) -> Option<&'a [u8]>,
) {
    for diagnostic in diagnostics {
        let Some(span) = diagnostic.span else {
            continue;
        };
        let source = diagnostic
            .file
            .as_deref()
            .and_then(&source_of)
            .unwrap_or_else(|| panic!("a span in an unknown file: {diagnostic:?}"));
        assert!(
            span.fits(source),
            "span {:?} does not fit the {}-byte source: {diagnostic:?}",
            span.range(),
            source.len()
        );
    }
}
