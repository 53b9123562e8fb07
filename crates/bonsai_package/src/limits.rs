//! Package size limits, with WeChat's numbers: each of the main package and
//! every subpackage at most 2 MB, all of them together at most 20 MB.
//! Sizes count the bytes of the files that would be uploaded: everything under
//! the mini-program root except project configuration and `packOptions.ignore`.

use bonsai_diagnostics::Diagnostic;
use serde::{Deserialize, Serialize};

use crate::PackageEntry;
use crate::files::PackageFiles;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    pub per_package: u64,
    pub total: u64,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            per_package: 2 * MIB,
            total: 20 * MIB,
        }
    }
}

/// The measured size of one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSize {
    /// `""` for the main package.
    pub root: String,
    pub bytes: u64,
    pub files: usize,
    /// The largest files, biggest first, to say what to trim.
    pub largest: Vec<(String, u64)>,
}

/// File types the devtools upload; anything else (docs, `.less` sources,
/// source maps, licences) stays on the developer's machine.
const PACKED_EXTENSIONS: &[&str] = &[
    "wxml", "wxss", "js", "ts", "json", "wxs", "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp",
    "ico", "cer", "mp3", "aac", "m4a", "mp4", "wav", "ogg", "silk", "wasm", "br", "ttf", "otf",
    "woff", "woff2", "eot", "txt",
];

/// Whether the devtools would upload this file.
pub(crate) fn is_packed_file(path: &str) -> bool {
    if matches!(path, "project.config.json" | "project.private.config.json")
        || path.ends_with(".d.ts")
    {
        return false;
    }
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| PACKED_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

pub(crate) fn measure(
    files: &PackageFiles,
    packages: &[PackageEntry],
    packed: impl Fn(&str) -> bool,
) -> Vec<PackageSize> {
    let mut sizes: Vec<PackageSize> = packages
        .iter()
        .map(|p| PackageSize {
            root: p.root.clone(),
            bytes: 0,
            files: 0,
            largest: Vec::new(),
        })
        .collect();
    for (path, content) in files.iter().filter(|(p, _)| packed(p)) {
        let index = packages
            .iter()
            .position(|p| !p.root.is_empty() && path.starts_with(&format!("{}/", p.root)))
            .unwrap_or(0);
        let size = &mut sizes[index];
        let len = content.len() as u64;
        size.bytes += len;
        size.files += 1;
        size.largest.push((path.to_owned(), len));
    }
    for size in &mut sizes {
        size.largest
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        size.largest.truncate(3);
    }
    sizes
}

pub(crate) fn check(sizes: &[PackageSize], limits: &SizeLimits) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let biggest = |size: &PackageSize| {
        let list: Vec<String> = size
            .largest
            .iter()
            .map(|(p, b)| format!("{p} ({})", format_bytes(*b)))
            .collect();
        format!("largest files: {}", list.join(", "))
    };
    for size in sizes.iter().filter(|s| s.bytes > limits.per_package) {
        let name = if size.root.is_empty() {
            "main package".to_owned()
        } else {
            format!("subpackage `{}`", size.root)
        };
        diagnostics.push(
            Diagnostic::error(
                "package::size-limit",
                format!(
                    "{name} is {}, over WeChat's limit of {}",
                    format_bytes(size.bytes),
                    format_bytes(limits.per_package)
                ),
            )
            .with_help(biggest(size)),
        );
    }
    let total: u64 = sizes.iter().map(|s| s.bytes).sum();
    if total > limits.total {
        diagnostics.push(Diagnostic::error(
            "package::size-limit",
            format!(
                "all packages together are {}, over WeChat's limit of {}",
                format_bytes(total),
                format_bytes(limits.total)
            ),
        ));
    }
    diagnostics
}

/// Sizes as the devtools show them: KB with one decimal below 1 MB, else MB.
pub fn format_bytes(bytes: u64) -> String {
    if bytes < MIB {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.2} MB", bytes as f64 / MIB as f64)
    }
}
