//! The files of a project, held in memory under normalized relative paths.
//!
//! This module and [`crate::input`] are the only places that touch the disk;
//! everything downstream works on [`PackageFiles`].

use std::collections::BTreeMap;

/// Every file of a project, keyed by its `/`-separated path relative to the
/// project directory (e.g. `pages/index/index.wxml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl PackageFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), content.into());
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// The file as UTF-8 text; `None` when absent or not valid UTF-8.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|b| std::str::from_utf8(b).ok())
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Whether any file lives below `dir` (a directory path without trailing slash).
    pub fn contains_dir(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&prefix))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_str(), c.as_slice()))
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files below `root`, re-keyed relative to it. `root` "" or "." is the whole set.
    pub fn subtree(&self, root: &str) -> PackageFiles {
        let root = root.trim_matches('/');
        if root.is_empty() || root == "." {
            return self.clone();
        }
        let prefix = format!("{root}/");
        let files = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, c)| (p[prefix.len()..].to_owned(), c.clone()))
            .collect();
        PackageFiles { files }
    }
}

/// Joins `rel` onto the directory `base_dir` and normalizes `.` and `..`.
/// A leading `/` in `rel` means the package root. Returns `None` when the
/// result would climb above the root.
pub fn join_path(base_dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let rel_is_absolute = rel.starts_with('/');
    let base = if rel_is_absolute { "" } else { base_dir };
    for segment in base.split('/').chain(rel.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The directory part of a package path (`a/b/c.wxml` → `a/b`, `c.wxml` → ``).
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalizes_and_refuses_escape() {
        assert_eq!(
            join_path("pages/a", "../../dist/x/index").as_deref(),
            Some("dist/x/index")
        );
        assert_eq!(join_path("pages/a", "/comp/x").as_deref(), Some("comp/x"));
        assert_eq!(
            join_path("pages/a", "./b/./c").as_deref(),
            Some("pages/a/b/c")
        );
        assert_eq!(join_path("pages", "../../x"), None);
    }

    #[test]
    fn subtree_rekeys() {
        let mut files = PackageFiles::new();
        files.insert("mp/app.json", b"{}".to_vec());
        files.insert("mp2/x", b"".to_vec());
        files.insert("other", b"".to_vec());
        let sub = files.subtree("mp");
        assert_eq!(sub.paths().collect::<Vec<_>>(), ["app.json"]);
        assert!(files.contains_dir("mp"));
        assert!(!files.contains_dir("m"));
    }
}
