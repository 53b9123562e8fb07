//! The configuration files of a mini program, as typed serde structures.
//!
//! Field names follow the WeChat documentation. Fields Bonsai does not use yet
//! are kept in `extra` rather than dropped, so a consumer can still read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `project.config.json` at the project directory's root.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectConfig {
    pub appid: Option<String>,
    #[serde(rename = "projectname")]
    pub project_name: Option<String>,
    /// Where app.json lives, relative to the project directory.
    pub miniprogram_root: Option<String>,
    pub compile_type: Option<String>,
    pub setting: ProjectSettings,
    pub pack_options: PackOptions,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectSettings {
    /// `false` turns off the domain allow-list check, for development only.
    pub url_check: bool,
    pub es6: bool,
    pub enhance: bool,
    pub minified: bool,
    pub postcss: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        // The devtools' defaults for a new project.
        ProjectSettings {
            url_check: true,
            es6: true,
            enhance: true,
            minified: false,
            postcss: true,
            extra: Map::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PackOptions {
    pub ignore: Vec<PackRule>,
    pub include: Vec<PackRule>,
}

/// One `packOptions.ignore` entry: `{ "type": "file" | "folder" | "suffix" | "prefix" | "glob" | "regexp", "value": … }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackRule {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl PackRule {
    /// Whether `path` (relative to the project directory) matches. Glob and
    /// regexp rules are matched literally as a prefix; they are rare in practice.
    pub fn matches(&self, path: &str) -> bool {
        let value = self.value.trim_start_matches("./").trim_start_matches('/');
        match self.kind.as_str() {
            "file" => path == value,
            "folder" => {
                path == value || path.starts_with(&format!("{}/", value.trim_end_matches('/')))
            }
            "suffix" => path.ends_with(value),
            "prefix" => path
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(value)),
            _ => path.starts_with(value),
        }
    }
}

/// `app.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppConfig {
    pub pages: Vec<String>,
    #[serde(alias = "subpackages")]
    pub sub_packages: Vec<SubPackageConfig>,
    pub entry_page_path: Option<String>,
    pub window: Option<Map<String, Value>>,
    pub tab_bar: Option<TabBarConfig>,
    pub using_components: BTreeMap<String, String>,
    pub permission: BTreeMap<String, Value>,
    pub required_private_infos: Vec<String>,
    pub style: Option<String>,
    pub lazy_code_loading: Option<String>,
    pub component_framework: Option<String>,
    pub use_extended_lib: BTreeMap<String, Value>,
    pub resolve_alias: BTreeMap<String, String>,
    pub network_timeout: Option<Map<String, Value>>,
    pub sitemap_location: Option<String>,
    pub plugins: BTreeMap<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubPackageConfig {
    pub root: String,
    pub name: Option<String>,
    pub pages: Vec<String>,
    pub independent: bool,
    pub plugins: BTreeMap<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TabBarConfig {
    pub custom: bool,
    pub color: Option<String>,
    pub selected_color: Option<String>,
    pub background_color: Option<String>,
    pub border_style: Option<String>,
    pub position: Option<String>,
    pub list: Vec<TabBarItem>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TabBarItem {
    pub page_path: String,
    pub text: Option<String>,
    pub icon_path: Option<String>,
    pub selected_icon_path: Option<String>,
}

/// A page's or component's `.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ComponentConfig {
    pub component: bool,
    pub using_components: BTreeMap<String, String>,
    /// `{ "name": true }` or `{ "name": { "default": "path" } }`.
    pub component_generics: BTreeMap<String, Value>,
    pub component_placeholder: BTreeMap<String, String>,
    pub style_isolation: Option<String>,
    pub add_global_class: Option<bool>,
    pub navigation_bar_title_text: Option<String>,
    pub enable_pull_down_refresh: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ComponentConfig {
    /// The default implementation named for a generic, if any.
    pub fn generic_default(&self, name: &str) -> Option<&str> {
        self.component_generics.get(name)?.get("default")?.as_str()
    }
}
