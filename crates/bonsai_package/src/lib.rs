//! The package loader: from a project's files to an [`AppManifest`].
//!
//! It reads `project.config.json`, `app.json` and every page's and component's
//! `.json`, resolves `usingComponents` like the devtools, and checks what the
//! devtools check before compiling: pages and tabBar pages exist, components
//! resolve, independent subpackages stay within their root, and packages fit
//! WeChat's size limits. It never fails: problems become diagnostics, and the
//! manifest holds whatever could be loaded.
//!
//! **Architecture invariant:** only [`input`] does I/O; [`load`] is a pure
//! function of [`PackageFiles`].

pub mod config;
pub mod files;
pub mod input;
mod json;
pub mod limits;
pub mod resolve;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bonsai_diagnostics::{Diagnostic, Span};
use serde_json::Value;

pub use config::{AppConfig, ComponentConfig, ProjectConfig};
pub use files::PackageFiles;
pub use json::parse_json;
pub use limits::{PackageSize, SizeLimits};
use resolve::{ResolvedComponent, resolve_component};

/// How to read the files: as a whole app, or as a library of components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadMode {
    /// An app with `app.json`; everything reachable from its pages is loaded.
    #[default]
    App,
    /// A component library without `app.json` (e.g. an npm package's
    /// `miniprogram_dist/`): every `.json` with `component: true` is a root.
    Components,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub mode: LoadMode,
    pub limits: SizeLimits,
    /// In [`LoadMode::Components`], the library's npm name (from its
    /// package.json): its components refer to each other as
    /// `name/button/button`, which resolves to the library's own root.
    pub library_name: Option<String>,
}

/// Whether a module is a page or a component. Both are glass-easel components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleKind {
    Page,
    Component,
}

/// A page or component: one module path with its sibling files.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentEntry {
    /// Module path without extension, relative to the mini-program root.
    pub path: String,
    pub kind: ModuleKind,
    pub config: ComponentConfig,
    /// The `.js` or `.ts` file, if present.
    pub script: Option<String>,
    pub template: Option<String>,
    pub style: Option<String>,
    /// `usingComponents` (global ones included for pages and components of
    /// non-independent packages), resolved.
    pub using: BTreeMap<String, ResolvedComponent>,
    /// `componentGenerics` defaults, resolved. Kept apart from `using`: a
    /// `generic:x=` on the host must win over the default.
    pub generic_defaults: BTreeMap<String, ResolvedComponent>,
}

/// The main package or one subpackage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PackageEntry {
    /// `""` for the main package, else the subpackage root without slashes.
    pub root: String,
    pub name: Option<String>,
    pub independent: bool,
    /// Full page paths (`sub/pages/x`).
    pub pages: Vec<String>,
}

/// Everything known about a mini program before compiling it.
#[derive(Debug, Clone)]
pub struct AppManifest {
    pub mode: LoadMode,
    pub project: ProjectConfig,
    /// The `miniprogramRoot` inside the project directory (`""` when none).
    pub root: String,
    /// `None` in [`LoadMode::Components`] or when app.json is unusable.
    pub app: Option<AppConfig>,
    pub packages: Vec<PackageEntry>,
    /// Pages and components by module path.
    pub components: BTreeMap<String, ComponentEntry>,
    pub sizes: Vec<PackageSize>,
    /// The files under the mini-program root, keyed relative to it.
    pub files: PackageFiles,
}

impl AppManifest {
    /// Page paths in app.json order, main package first.
    pub fn pages(&self) -> impl Iterator<Item = &str> {
        self.packages
            .iter()
            .flat_map(|p| p.pages.iter().map(String::as_str))
    }

    /// The package a module belongs to.
    pub fn package_of(&self, module: &str) -> &PackageEntry {
        self.packages
            .iter()
            .skip(1)
            .find(|p| is_below(module, &p.root))
            .unwrap_or(&self.packages[0])
    }
}

fn is_below(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Loads the manifest from a project's files (the project directory, which may
/// hold a `project.config.json` naming the mini-program root).
pub fn load(project_files: &PackageFiles, options: &LoadOptions) -> (AppManifest, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let project = load_project_config(project_files, &mut diagnostics);
    let root = project
        .miniprogram_root
        .as_deref()
        .map(|r| r.trim_start_matches("./").trim_matches('/').to_owned())
        .unwrap_or_default();
    if !root.is_empty() && !project_files.contains_dir(&root) {
        diagnostics.push(
            Diagnostic::error(
                "package::missing-root",
                format!("miniprogramRoot `{root}` does not exist"),
            )
            .in_file("project.config.json"),
        );
    }
    let files = project_files.subtree(&root);
    let mut loader = Loader {
        files: &files,
        diagnostics,
        components: BTreeMap::new(),
        global_using: BTreeMap::new(),
        aliases: BTreeMap::new(),
        queue: VecDeque::new(),
    };
    let (app, packages) = match options.mode {
        LoadMode::App => loader.load_app(),
        LoadMode::Components => {
            if let Some(name) = &options.library_name {
                loader.aliases.insert(format!("{name}/*"), "/*".to_owned());
            }
            (None, loader.load_library())
        }
    };
    loader.drain_queue(&packages);
    let Loader {
        mut diagnostics,
        components,
        ..
    } = loader;
    let ignore = &project.pack_options.ignore;
    let packed = |path: &str| {
        let full = if root.is_empty() {
            path.to_owned()
        } else {
            format!("{root}/{path}")
        };
        limits::is_packed_file(path) && !ignore.iter().any(|rule| rule.matches(&full))
    };
    let sizes = limits::measure(&files, &packages, packed);
    // A component library is not uploaded as it is: only an app's packages have limits.
    if options.mode == LoadMode::App {
        diagnostics.extend(limits::check(&sizes, &options.limits));
    }
    let manifest = AppManifest {
        mode: options.mode,
        project,
        root,
        app,
        packages,
        components,
        sizes,
        files,
    };
    (manifest, diagnostics)
}

fn load_project_config(files: &PackageFiles, diagnostics: &mut Vec<Diagnostic>) -> ProjectConfig {
    let mut merged: Option<Value> = None;
    // project.private.config.json overrides the shared file, field by field in `setting`.
    for name in ["project.config.json", "project.private.config.json"] {
        let Some(source) = read_text(files, name, diagnostics) else {
            continue;
        };
        match parse_json::<Value>(name, source) {
            Ok(Value::Object(over)) => match &mut merged {
                Some(Value::Object(base)) => {
                    for (key, value) in over {
                        match (base.get_mut(&key), value) {
                            (Some(Value::Object(b)), Value::Object(o)) if key == "setting" => {
                                b.extend(o)
                            }
                            (_, value) => {
                                base.insert(key, value);
                            }
                        }
                    }
                }
                _ => merged = Some(Value::Object(over)),
            },
            Ok(_) => diagnostics
                .push(Diagnostic::error("json::type", "expected a JSON object").in_file(name)),
            Err(d) => diagnostics.push(d),
        }
    }
    let Some(merged) = merged else {
        return ProjectConfig::default();
    };
    match serde_json::from_value(merged) {
        Ok(config) => config,
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    "json::type",
                    format!("invalid project configuration: {err}"),
                )
                .in_file("project.config.json"),
            );
            ProjectConfig::default()
        }
    }
}

/// A file as text; a non-UTF-8 file is a diagnostic.
fn read_text<'a>(
    files: &'a PackageFiles,
    path: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    let bytes = files.get(path)?;
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(err) => {
            diagnostics.push(
                Diagnostic::error("input::encoding", format!("file is not UTF-8: {err}"))
                    .in_file(path)
                    .with_span(Span::new(err.valid_up_to(), err.valid_up_to() + 1)),
            );
            None
        }
    }
}

/// The span of the first JSON string literal equal to `value` in `source`,
/// so a diagnostic about a config value points at it.
fn json_string_span(source: &str, value: &str) -> Option<Span> {
    let needle = serde_json::to_string(value).ok()?;
    let start = source.find(&needle)?;
    Some(Span::new(start, start + needle.len()))
}

struct Loader<'a> {
    files: &'a PackageFiles,
    diagnostics: Vec<Diagnostic>,
    components: BTreeMap<String, ComponentEntry>,
    global_using: BTreeMap<String, ResolvedComponent>,
    aliases: BTreeMap<String, String>,
    /// Modules to load: (module path, kind, who referenced it, and how).
    queue: VecDeque<(String, ModuleKind)>,
}

impl Loader<'_> {
    fn load_app(&mut self) -> (Option<AppConfig>, Vec<PackageEntry>) {
        let main = PackageEntry {
            root: String::new(),
            name: None,
            independent: false,
            pages: Vec::new(),
        };
        let Some(source) = read_text(self.files, "app.json", &mut self.diagnostics) else {
            if !self.files.contains("app.json") {
                self.diagnostics.push(
                    Diagnostic::error("package::missing-app-json", "app.json not found")
                        .with_help("a mini program needs app.json at its root; to check a component library use `--components`"),
                );
            }
            return (None, vec![main]);
        };
        let app: AppConfig = match parse_json("app.json", source) {
            Ok(app) => app,
            Err(d) => {
                self.diagnostics.push(d);
                return (None, vec![main]);
            }
        };
        self.aliases = app.resolve_alias.clone();
        let mut packages = vec![PackageEntry {
            pages: app.pages.clone(),
            ..main
        }];
        if app.pages.is_empty() {
            self.diagnostics.push(
                Diagnostic::error("package::no-pages", "app.json lists no pages")
                    .in_file("app.json"),
            );
        }
        for sub in &app.sub_packages {
            let root = sub
                .root
                .trim_start_matches("./")
                .trim_matches('/')
                .to_owned();
            let pages = sub.pages.iter().map(|p| format!("{root}/{p}")).collect();
            packages.push(PackageEntry {
                root,
                name: sub.name.clone(),
                independent: sub.independent,
                pages,
            });
        }
        self.global_using = self.resolve_using("app.json", source, "app", &app.using_components);
        let mut seen = BTreeSet::new();
        for package in &packages {
            for page in &package.pages {
                if !seen.insert(page.as_str()) {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "package::duplicate-page",
                            format!("page `{page}` is listed twice"),
                        )
                        .in_file("app.json")
                        .with_span(json_string_span(source, page)),
                    );
                    continue;
                }
                if self.check_module_files(page, ModuleKind::Page, "app.json", source, page) {
                    self.queue.push_back((page.clone(), ModuleKind::Page));
                }
            }
        }
        self.check_app_references(&app, source, &packages);
        (Some(app), packages)
    }

    /// entryPagePath and tabBar must name existing main-package pages.
    fn check_app_references(&mut self, app: &AppConfig, source: &str, packages: &[PackageEntry]) {
        let is_page = |p: &str| packages.iter().any(|pkg| pkg.pages.iter().any(|x| x == p));
        if let Some(entry) = &app.entry_page_path
            && !is_page(entry)
        {
            self.diagnostics.push(
                Diagnostic::error(
                    "package::bad-entry-page",
                    format!("entryPagePath `{entry}` is not a page in app.json"),
                )
                .in_file("app.json")
                .with_span(json_string_span(source, entry)),
            );
        }
        let Some(tab_bar) = &app.tab_bar else { return };
        if !(2..=5).contains(&tab_bar.list.len()) {
            self.diagnostics.push(
                Diagnostic::error(
                    "package::tab-bar",
                    format!(
                        "tabBar.list has {} items; WeChat requires 2 to 5",
                        tab_bar.list.len()
                    ),
                )
                .in_file("app.json")
                .with_span(json_string_span(source, "tabBar")),
            );
        }
        for item in &tab_bar.list {
            if !packages[0].pages.contains(&item.page_path) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "package::tab-bar",
                        format!(
                            "tabBar page `{}` is not a page of the main package",
                            item.page_path
                        ),
                    )
                    .in_file("app.json")
                    .with_span(json_string_span(source, &item.page_path)),
                );
            }
        }
        if tab_bar.custom {
            if resolve::module_exists(self.files, "custom-tab-bar/index") {
                self.queue
                    .push_back(("custom-tab-bar/index".to_owned(), ModuleKind::Component));
            } else {
                self.diagnostics.push(
                    Diagnostic::error(
                        "package::tab-bar",
                        "tabBar.custom is set but custom-tab-bar/index does not exist",
                    )
                    .in_file("app.json"),
                );
            }
        }
    }

    fn load_library(&mut self) -> Vec<PackageEntry> {
        let roots: Vec<String> = self
            .files
            .paths()
            .filter_map(|p| p.strip_suffix(".json"))
            .filter(|module| resolve::module_exists(self.files, module))
            .filter(|module| {
                let path = format!("{module}.json");
                self.files
                    .text(&path)
                    .and_then(|src| serde_json::from_str::<Value>(src).ok())
                    .is_some_and(|v| v.get("component") == Some(&Value::Bool(true)))
            })
            .map(str::to_owned)
            .collect();
        if roots.is_empty() {
            self.diagnostics.push(Diagnostic::error(
                "package::no-components",
                "no component found (a component has a .json with \"component\": true)",
            ));
        }
        for module in roots {
            self.queue.push_back((module, ModuleKind::Component));
        }
        vec![PackageEntry {
            root: String::new(),
            name: None,
            independent: false,
            pages: Vec::new(),
        }]
    }

    /// Reports missing script/template files of a module. Returns whether the
    /// module exists at all (so it is worth loading).
    fn check_module_files(
        &mut self,
        module: &str,
        kind: ModuleKind,
        referrer: &str,
        referrer_source: &str,
        literal: &str,
    ) -> bool {
        let what = match kind {
            ModuleKind::Page => "page",
            ModuleKind::Component => "component",
        };
        let has = |ext: &str| self.files.contains(&format!("{module}.{ext}"));
        let mut missing = Vec::new();
        if !has("js") && !has("ts") {
            missing.push(format!("{module}.js"));
        }
        if !has("wxml") {
            missing.push(format!("{module}.wxml"));
        }
        if missing.is_empty() {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::error(
                format!("package::missing-{what}"),
                format!("{what} `{module}` is missing {}", missing.join(" and ")),
            )
            .in_file(referrer)
            .with_span(json_string_span(referrer_source, literal)),
        );
        resolve::module_exists(self.files, module)
    }

    fn resolve_using(
        &mut self,
        config_path: &str,
        config_source: &str,
        from: &str,
        using: &BTreeMap<String, String>,
    ) -> BTreeMap<String, ResolvedComponent> {
        let mut resolved = BTreeMap::new();
        for (tag, spec) in using {
            match resolve_component(self.files, &self.aliases, from, spec) {
                Ok(target) => {
                    if let ResolvedComponent::Plugin(plugin) = &target {
                        self.diagnostics.push(
                            Diagnostic::warning(
                                "package::plugin",
                                format!("`{tag}` uses plugin component `{plugin}`, which Bonsai cannot run; it renders empty"),
                            )
                            .in_file(config_path)
                            .with_span(json_string_span(config_source, spec)),
                        );
                    } else if let ResolvedComponent::Module(module) = &target {
                        self.queue
                            .push_back((module.clone(), ModuleKind::Component));
                    }
                    resolved.insert(tag.clone(), target);
                }
                Err(unresolved) => self.diagnostics.push(
                    Diagnostic::error(
                        "package::missing-component",
                        format!("usingComponents `{tag}`: component `{spec}` not found"),
                    )
                    .in_file(config_path)
                    .with_span(json_string_span(config_source, spec))
                    .with_help(format!("tried {}", unresolved.tried.join(", "))),
                ),
            }
        }
        resolved
    }

    fn drain_queue(&mut self, packages: &[PackageEntry]) {
        while let Some((module, kind)) = self.queue.pop_front() {
            if let Some(existing) = self.components.get_mut(&module) {
                if kind == ModuleKind::Page {
                    existing.kind = ModuleKind::Page;
                }
                continue;
            }
            let entry = self.load_module(&module, kind, packages);
            self.components.insert(module, entry);
        }
    }

    fn load_module(
        &mut self,
        module: &str,
        kind: ModuleKind,
        packages: &[PackageEntry],
    ) -> ComponentEntry {
        let file = |ext: &str| {
            let path = format!("{module}.{ext}");
            self.files.contains(&path).then_some(path)
        };
        let script = file("js").or_else(|| file("ts"));
        let template = file("wxml");
        let style = file("wxss");
        let json_path = format!("{module}.json");
        let source = read_text(self.files, &json_path, &mut self.diagnostics).unwrap_or("");
        let config: ComponentConfig = if source.is_empty() {
            ComponentConfig::default()
        } else {
            parse_json(&json_path, source).unwrap_or_else(|d| {
                self.diagnostics.push(d);
                ComponentConfig::default()
            })
        };
        if kind == ModuleKind::Component {
            if !config.component && self.files.contains(&json_path) && !source.is_empty() {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "package::not-a-component",
                        format!("`{module}` is used as a component but its JSON lacks \"component\": true"),
                    )
                    .in_file(json_path.clone()),
                );
            }
            if script.is_none() || template.is_none() {
                self.check_module_files(module, kind, &json_path, "", "");
            }
        }
        let mut using = self.resolve_using(&json_path, source, module, &config.using_components);
        let defaults: BTreeMap<String, String> = config
            .component_generics
            .keys()
            .filter_map(|name| Some((name.clone(), config.generic_default(name)?.to_owned())))
            .collect();
        let generic_defaults = self.resolve_using(&json_path, source, module, &defaults);
        let package = packages.iter().skip(1).find(|p| is_below(module, &p.root));
        let independent = package.is_some_and(|p| p.independent);
        if !independent {
            for (tag, target) in &self.global_using {
                using.entry(tag.clone()).or_insert_with(|| target.clone());
            }
        }
        if let Some(package) = package.filter(|p| p.independent) {
            for (tag, target) in &using {
                if let ResolvedComponent::Module(target) = target
                    && !is_below(target, &package.root)
                {
                    self.diagnostics.push(
                            Diagnostic::error(
                                "package::independent-escape",
                                format!(
                                    "`{tag}` resolves to `{target}`, outside independent subpackage `{}`",
                                    package.root
                                ),
                            )
                            .in_file(json_path.clone())
                            .with_help("an independent subpackage may only use components inside its own root"),
                        );
                }
            }
        }
        ComponentEntry {
            path: module.to_owned(),
            kind,
            config,
            script,
            template,
            style,
            using,
            generic_defaults,
        }
    }
}
