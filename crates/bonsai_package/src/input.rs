//! Reading a project into memory: from a directory or a zip file.
//!
//! **Architecture invariant:** this is the only module of the crate that does
//! I/O. A zip is never trusted: entry names that climb out of the package or
//! are absolute are refused (zip-slip), and the bytes actually inflated are
//! counted against a budget, so a decompression bomb stops early whatever its
//! headers claim.

use std::fs;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use bonsai_diagnostics::Diagnostic;

use crate::files::{PackageFiles, join_path};

/// Why a project could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid zip archive: {reason}")]
    BadZip { path: PathBuf, reason: String },
    #[error("zip entry `{entry}` points outside the package (zip-slip); the archive is refused")]
    ZipSlip { entry: String },
    #[error(
        "zip inflates past {limit} bytes (entry `{entry}`); refusing a possible decompression bomb"
    )]
    ZipTooLarge { entry: String, limit: u64 },
    #[error("zip holds more than {limit} entries")]
    ZipTooManyEntries { limit: usize },
    #[error("{path} holds more than {limit} files; is this a mini program?")]
    TooManyFiles { path: PathBuf, limit: usize },
}

impl InputError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        let code = match self {
            InputError::Io { .. } => "input::io",
            InputError::BadZip { .. } => "input::bad-zip",
            InputError::ZipSlip { .. } => "input::zip-slip",
            InputError::ZipTooLarge { .. } => "input::zip-bomb",
            InputError::ZipTooManyEntries { .. } => "input::zip-entries",
            InputError::TooManyFiles { .. } => "input::too-many-files",
        };
        Diagnostic::error(code, self.to_string())
    }
}

/// Budgets for reading untrusted input.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    /// Total bytes a zip may inflate to.
    pub max_unpacked_bytes: u64,
    /// Entries a zip may hold, or files a directory may hold.
    pub max_files: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        // WeChat's largest total package is 30 MB; leave room for assets.
        InputLimits {
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_files: 50_000,
        }
    }
}

/// Directories the devtools never package.
fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name == "node_modules"
}

/// Reads every file below `root`, skipping dot-files and `node_modules`.
/// Symbolic links to directories are not followed, so a link loop cannot hang it.
pub fn read_dir(root: &Path, limits: InputLimits) -> Result<PackageFiles, InputError> {
    let mut files = PackageFiles::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let io = |source| InputError::Io {
            path: dir.clone(),
            source,
        };
        let mut entries = fs::read_dir(&dir)
            .map_err(io)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_ignored_name(&name) {
                continue;
            }
            let path = entry.path();
            let rel = if rel_dir.is_empty() {
                name
            } else {
                format!("{rel_dir}/{name}")
            };
            let file_type = entry.file_type().map_err(|source| InputError::Io {
                path: path.clone(),
                source,
            })?;
            if file_type.is_dir() {
                stack.push((path, rel));
            } else if file_type.is_file() || path.is_file() {
                if files.len() >= limits.max_files {
                    return Err(InputError::TooManyFiles {
                        path: root.to_path_buf(),
                        limit: limits.max_files,
                    });
                }
                let content = fs::read(&path).map_err(|source| InputError::Io { path, source })?;
                files.insert(rel, content);
            }
        }
    }
    Ok(files)
}

/// Reads a zip archive from disk. See [`read_zip`].
pub fn read_zip_file(path: &Path, limits: InputLimits) -> Result<PackageFiles, InputError> {
    let file = fs::File::open(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_zip(file, path, limits)
}

/// Reads a zip archive. A single top-level folder holding everything (as
/// "compress folder" tools produce) is stripped, so the project root is the
/// archive's root either way.
pub fn read_zip<R: Read + Seek>(
    reader: R,
    name: &Path,
    limits: InputLimits,
) -> Result<PackageFiles, InputError> {
    let bad = |reason: String| InputError::BadZip {
        path: name.to_path_buf(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| bad(e.to_string()))?;
    if archive.len() > limits.max_files {
        return Err(InputError::ZipTooManyEntries {
            limit: limits.max_files,
        });
    }
    let mut files = PackageFiles::new();
    let mut budget = limits.max_unpacked_bytes;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).replace('\\', "/");
        let escapes = raw_name.starts_with('/')
            || raw_name.split('/').next().is_some_and(|s| s.ends_with(':'))
            || join_path("", &raw_name).is_none();
        if escapes {
            return Err(InputError::ZipSlip { entry: raw_name });
        }
        if entry.is_dir() {
            continue;
        }
        let Some(rel) = join_path("", &raw_name) else {
            return Err(InputError::ZipSlip { entry: raw_name });
        };
        if rel.split('/').any(is_ignored_name) {
            continue;
        }
        let mut content = Vec::new();
        // Read one byte past the budget so "exactly at the limit" and "over" differ.
        let read = (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("entry `{raw_name}`: {e}")))?;
        let read = read as u64;
        if read > budget {
            return Err(InputError::ZipTooLarge {
                entry: raw_name,
                limit: limits.max_unpacked_bytes,
            });
        }
        budget -= read;
        files.insert(rel, content);
    }
    Ok(strip_single_top_folder(files))
}

fn strip_single_top_folder(files: PackageFiles) -> PackageFiles {
    let single_top = {
        let mut tops = files.paths().map(|p| p.split_once('/').map(|(top, _)| top));
        match tops.next() {
            Some(Some(first)) if tops.all(|t| t == Some(first)) => Some(first.to_owned()),
            _ => None,
        }
    };
    match single_top {
        Some(top) => files.subtree(&top),
        None => files,
    }
}
