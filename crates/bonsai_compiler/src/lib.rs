//! Compiles a loaded [`AppManifest`] into a [`CompiledApp`], the artifact the
//! engine loads: templates through `bonsai_wxml`, styles through
//! `bonsai_wxss`, scripts through `bonsai_js`.
//!
//! A [`Compiler`] is a session: it caches every per-file result by a hash of
//! the file's path and content, and keeps the template group parsed, so
//! compiling again after one file changed redoes only that file. This is the
//! hot-reload path; `bonsai check` and `bonsai build` use one fresh session.
//!
//! **Architecture invariant:** no I/O. Reading and writing artifacts is the
//! caller's job; [`CompiledApp::to_bytes`] and [`CompiledApp::from_bytes`]
//! only (de)serialize.

mod artifact;

use std::collections::{BTreeMap, HashMap};

use bonsai_diagnostics::Diagnostic;
use bonsai_package::{AppManifest, LoadMode, resolve::ResolvedComponent};
use bonsai_wxml::{SplitTemplates, TemplateGroup};
use bonsai_wxss::{CompiledStyle, link_styles};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub use artifact::{
    ARTIFACT_FORMAT, ArtifactError, CompiledApp, CompiledComponent, CompiledScript, Summary,
};

/// What kind of source a package file is, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SourceKind {
    Template,
    Style,
    Script,
    Wxs,
}

fn source_kind(path: &str) -> Option<SourceKind> {
    let ext = path.rsplit_once('.')?.1;
    match ext {
        "wxml" => Some(SourceKind::Template),
        "wxss" => Some(SourceKind::Style),
        "wxs" => Some(SourceKind::Wxs),
        "js" | "mjs" | "cjs" => Some(SourceKind::Script),
        "ts" if !path.ends_with(".d.ts") => Some(SourceKind::Script),
        _ => None,
    }
}

type ContentHash = [u8; 32];

fn content_hash(path: &str, content: &[u8]) -> ContentHash {
    let mut hasher = Sha256::new();
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(content);
    hasher.finalize().into()
}

/// A compile session with per-file caches.
#[derive(Debug, Default)]
pub struct Compiler {
    templates: TemplateGroup,
    /// Template and WXS files currently in the group, with their hash and diagnostics.
    template_state: HashMap<String, (ContentHash, Vec<Diagnostic>)>,
    scripts: HashMap<ContentHash, (Option<CompiledScript>, Vec<Diagnostic>)>,
    styles: HashMap<ContentHash, (CompiledStyle, Vec<Diagnostic>)>,
}

impl Compiler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles everything in the manifest. Diagnostics are those of the
    /// compile step only; the loader's come from `bonsai_package::load`.
    pub fn compile(&mut self, manifest: &AppManifest) -> (CompiledApp, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut sources: BTreeMap<SourceKind, Vec<(&str, &str)>> = BTreeMap::new();
        for (path, bytes) in manifest.files.iter() {
            let Some(kind) = source_kind(path) else {
                continue;
            };
            match std::str::from_utf8(bytes) {
                Ok(text) => sources.entry(kind).or_default().push((path, text)),
                Err(err) => diagnostics.push(
                    Diagnostic::error("input::encoding", format!("file is not UTF-8: {err}"))
                        .in_file(path),
                ),
            }
        }
        let mut take = |k: SourceKind| sources.remove(&k).unwrap_or_default();
        let templates = take(SourceKind::Template);
        let wxs = take(SourceKind::Wxs);
        let styles = take(SourceKind::Style);
        let scripts = take(SourceKind::Script);

        let compiled_templates = self.compile_templates(&templates, &wxs, &mut diagnostics);
        let compiled_scripts = self.compile_scripts(&scripts, &mut diagnostics);
        let style_entries = self.compile_styles(manifest, &styles, &mut diagnostics);

        let components = manifest
            .components
            .values()
            .map(|entry| {
                let absolute =
                    |map: &BTreeMap<String, ResolvedComponent>| -> BTreeMap<String, String> {
                        map.iter()
                            .map(|(tag, target)| {
                                let target = match target {
                                    ResolvedComponent::Module(m) => format!("/{m}"),
                                    ResolvedComponent::Plugin(p) => p.clone(),
                                };
                                (tag.clone(), target)
                            })
                            .collect()
                    };
                let compiled = CompiledComponent {
                    kind: entry.kind,
                    config: serde_json::to_value(&entry.config).unwrap_or_default(),
                    script: entry.script.as_deref().map(script_key),
                    template: entry
                        .template
                        .as_ref()
                        .map(|t| bonsai_wxml::template_key(t).to_owned()),
                    style: entry.style.clone(),
                    using: absolute(&entry.using),
                    generic_defaults: absolute(&entry.generic_defaults),
                };
                (entry.path.clone(), compiled)
            })
            .collect();

        let summary = Summary {
            pages: manifest.pages().count(),
            subpackages: manifest.packages.len().saturating_sub(1),
            components: manifest
                .components
                .values()
                .filter(|c| c.kind == bonsai_package::ModuleKind::Component)
                .count(),
            templates: templates.len(),
            styles: styles.len(),
            scripts: scripts.len(),
            wxs: wxs.len(),
            sizes: manifest.sizes.clone(),
        };
        let app = CompiledApp {
            format: ARTIFACT_FORMAT,
            bonsai_version: env!("CARGO_PKG_VERSION").to_owned(),
            template_compiler: artifact::TEMPLATE_COMPILER_VERSION.to_owned(),
            app_id: manifest.project.appid.clone(),
            library: manifest.mode == LoadMode::Components,
            app_config: manifest
                .app
                .as_ref()
                .map(|a| serde_json::to_value(a).unwrap_or_default()),
            url_check: manifest.project.setting.url_check,
            packages: manifest.packages.clone(),
            components,
            templates: compiled_templates,
            scripts: compiled_scripts,
            styles: style_entries,
            summary,
        };
        (app, diagnostics)
    }

    fn compile_templates(
        &mut self,
        templates: &[(&str, &str)],
        wxs: &[(&str, &str)],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> SplitTemplates {
        let mut present = std::collections::HashSet::new();
        for &(path, source) in templates.iter().chain(wxs) {
            present.insert(path);
            let hash = content_hash(path, source.as_bytes());
            if let Some((cached, diags)) = self.template_state.get(path)
                && *cached == hash
            {
                diagnostics.extend(diags.iter().cloned());
                continue;
            }
            let diags = if path.ends_with(".wxs") {
                self.templates.set_script(path, source);
                bonsai_js::check_script_syntax(path, source)
            } else {
                self.templates.set_template(path, source)
            };
            diagnostics.extend(diags.iter().cloned());
            self.template_state.insert(path.to_owned(), (hash, diags));
        }
        let removed: Vec<String> = self
            .template_state
            .keys()
            .filter(|p| !present.contains(p.as_str()))
            .cloned()
            .collect();
        for path in removed {
            if path.ends_with(".wxs") {
                self.templates.remove_script(&path);
            } else {
                self.templates.remove_template(&path);
            }
            self.template_state.remove(&path);
        }
        diagnostics.extend(self.templates.check_references());
        match self.templates.generate_split() {
            Ok(split) => split,
            Err(d) => {
                diagnostics.push(d);
                SplitTemplates::default()
            }
        }
    }

    fn compile_scripts(
        &mut self,
        scripts: &[(&str, &str)],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> BTreeMap<String, CompiledScript> {
        let hashes = compile_cached(&mut self.scripts, scripts, |path, source| {
            let (output, diags) = bonsai_js::transform_module(path, source);
            let compiled = output.map(|o| CompiledScript {
                source_path: path.to_owned(),
                code: o.code,
                source_map: o.source_map,
            });
            (compiled, diags)
        });
        let mut out = BTreeMap::new();
        for (&(path, _), hash) in scripts.iter().zip(&hashes) {
            let (compiled, diags) = &self.scripts[hash];
            diagnostics.extend(diags.iter().cloned());
            let Some(compiled) = compiled else { continue };
            let key = script_key(path);
            // A hand-written .js wins over a .ts of the same name.
            if path.ends_with(".ts") && out.contains_key(&key) {
                continue;
            }
            out.insert(key, compiled.clone());
        }
        out
    }

    /// Compiles every style file, then links one stylesheet per entry point:
    /// `app.wxss` and each page's and component's own style.
    fn compile_styles(
        &mut self,
        manifest: &AppManifest,
        styles: &[(&str, &str)],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> BTreeMap<String, Vec<bonsai_wxss::StyleFragment>> {
        let hashes = compile_cached(&mut self.styles, styles, bonsai_wxss::compile_wxss);
        let mut by_path: HashMap<&str, &CompiledStyle> = HashMap::new();
        for (&(path, _), hash) in styles.iter().zip(&hashes) {
            let (compiled, diags) = &self.styles[hash];
            diagnostics.extend(diags.iter().cloned());
            by_path.insert(path, compiled);
        }
        let mut entries: Vec<&str> = manifest
            .components
            .values()
            .filter_map(|c| c.style.as_deref())
            .collect();
        if manifest.files.contains("app.wxss") {
            entries.push("app.wxss");
        }
        entries.sort_unstable();
        entries.dedup();
        let lookup = |path: &str| by_path.get(path).copied();
        let mut linked = BTreeMap::new();
        let mut seen_diagnostics = std::collections::HashSet::new();
        for entry in entries {
            let (fragments, diags) = link_styles(entry, &lookup);
            // A shared import's problems show once, not once per importer.
            diagnostics.extend(
                diags
                    .into_iter()
                    .filter(|d| seen_diagnostics.insert(d.clone())),
            );
            linked.insert(entry.to_owned(), fragments);
        }
        linked
    }
}

/// Compiles the files not yet in `cache` (in parallel) and returns every
/// file's content hash, in order, to look its result up by.
fn compile_cached<T: Send + Sync>(
    cache: &mut HashMap<ContentHash, T>,
    files: &[(&str, &str)],
    compile: impl Fn(&str, &str) -> T + Sync,
) -> Vec<ContentHash> {
    let hashes: Vec<ContentHash> = files
        .iter()
        .map(|&(path, source)| content_hash(path, source.as_bytes()))
        .collect();
    let fresh: Vec<(ContentHash, T)> = files
        .par_iter()
        .zip(&hashes)
        .filter(|(_, hash)| !cache.contains_key(*hash))
        .map(|(&(path, source), hash)| (*hash, compile(path, source)))
        .collect();
    cache.extend(fresh);
    hashes
}

/// Scripts are keyed by their `.js` path, as `require` names them.
fn script_key(path: &str) -> String {
    match path.strip_suffix(".ts") {
        Some(stem) => format!("{stem}.js"),
        None => path.to_owned(),
    }
}
