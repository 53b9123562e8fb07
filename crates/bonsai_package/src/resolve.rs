//! Component path resolution, as the devtools do it for `usingComponents`:
//! `plugin://` names a plugin; `/x` is from the package root; anything else is
//! tried relative to the using file, then from the root, then as an npm path in
//! `miniprogram_npm/` of each enclosing directory, nearest first. A target may
//! name the component itself (`x/index`) or a directory holding `index`.

use std::collections::BTreeMap;

use crate::files::{PackageFiles, join_path, parent_dir};

/// What a `usingComponents` value resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedComponent {
    /// A component module path without extension, e.g. `dist/button/index`.
    Module(String),
    /// A plugin component, which Bonsai cannot run.
    Plugin(String),
}

/// Why resolution failed, with every path tried so the user can see why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub tried: Vec<String>,
}

/// The extensions whose presence makes a path a component module.
const MODULE_EXTENSIONS: [&str; 4] = ["json", "wxml", "js", "ts"];

/// Whether a module (path without extension) has any of its files.
pub fn module_exists(files: &PackageFiles, module: &str) -> bool {
    MODULE_EXTENSIONS
        .iter()
        .any(|ext| files.contains(&format!("{module}.{ext}")))
}

/// Resolves `spec`, written in the config of the module `from` (a module path
/// such as `pages/index/index`), against `files`. `aliases` is app.json's
/// `resolveAlias` (`"~/*": "/src/*"`).
pub fn resolve_component(
    files: &PackageFiles,
    aliases: &BTreeMap<String, String>,
    from: &str,
    spec: &str,
) -> Result<ResolvedComponent, Unresolved> {
    if spec.starts_with("plugin://") || spec.starts_with("plugin-private://") {
        return Ok(ResolvedComponent::Plugin(spec.to_owned()));
    }
    let spec = apply_alias(aliases, spec);
    let spec = spec.as_str();
    let dir = parent_dir(from);
    let mut candidates = Vec::new();
    if spec.starts_with('/') || spec.starts_with('.') {
        candidates.extend(join_path(dir, spec));
    } else {
        candidates.extend(join_path(dir, spec));
        candidates.extend(join_path("", spec));
        let mut ancestor = Some(dir);
        while let Some(d) = ancestor {
            candidates.extend(join_path(d, &format!("miniprogram_npm/{spec}")));
            ancestor = (!d.is_empty()).then(|| parent_dir(d));
        }
    }
    candidates.dedup();
    for candidate in &candidates {
        if module_exists(files, candidate) {
            return Ok(ResolvedComponent::Module(candidate.clone()));
        }
        let index = if candidate.is_empty() {
            "index".to_owned()
        } else {
            format!("{candidate}/index")
        };
        if module_exists(files, &index) {
            return Ok(ResolvedComponent::Module(index));
        }
    }
    Err(Unresolved { tried: candidates })
}

/// Applies the first matching `resolveAlias` entry. Keys and values may end in
/// `*`, which stands for the rest of the path.
fn apply_alias(aliases: &BTreeMap<String, String>, spec: &str) -> String {
    for (from, to) in aliases {
        if let Some(prefix) = from.strip_suffix('*') {
            if let Some(rest) = spec.strip_prefix(prefix) {
                return format!("{}{rest}", to.trim_end_matches('*'));
            }
        } else if spec == from {
            return to.clone();
        }
    }
    spec.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> PackageFiles {
        let mut f = PackageFiles::new();
        for p in paths {
            f.insert(*p, Vec::new());
        }
        f
    }

    #[test]
    fn resolution_order() {
        let f = files(&[
            "pages/a/x.json",
            "comp/x.json",
            "miniprogram_npm/@vant/weapp/button/index.json",
            "pages/miniprogram_npm/lib/index.json",
        ]);
        let none = BTreeMap::new();
        let r = |spec| resolve_component(&f, &none, "pages/a/index", spec);
        assert_eq!(r("./x"), Ok(ResolvedComponent::Module("pages/a/x".into())));
        assert_eq!(r("x"), Ok(ResolvedComponent::Module("pages/a/x".into())));
        assert_eq!(r("comp/x"), Ok(ResolvedComponent::Module("comp/x".into())));
        assert_eq!(r("/comp/x"), Ok(ResolvedComponent::Module("comp/x".into())));
        assert_eq!(
            r("@vant/weapp/button"),
            Ok(ResolvedComponent::Module(
                "miniprogram_npm/@vant/weapp/button/index".into()
            ))
        );
        assert_eq!(
            r("lib"),
            Ok(ResolvedComponent::Module(
                "pages/miniprogram_npm/lib/index".into()
            ))
        );
        assert!(matches!(
            r("plugin://p/c"),
            Ok(ResolvedComponent::Plugin(_))
        ));
        let err = r("./missing").unwrap_err();
        assert_eq!(err.tried, ["pages/a/missing"]);
        assert!(r("../../../x").is_err());
    }

    #[test]
    fn aliases_apply() {
        let f = files(&["src/comp/x.json"]);
        let aliases = BTreeMap::from([("~/*".to_owned(), "/src/*".to_owned())]);
        assert_eq!(
            resolve_component(&f, &aliases, "pages/a/index", "~/comp/x"),
            Ok(ResolvedComponent::Module("src/comp/x".into()))
        );
    }
}
