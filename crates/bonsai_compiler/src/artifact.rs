//! The compiled app artifact: what `bonsai build` writes and the engine loads.
//!
//! It is one JSON document, versioned by [`ARTIFACT_FORMAT`]; a reader refuses
//! any other version rather than guessing. JSON keeps it inspectable and
//! diffable; the code it carries dominates its size either way.

use std::collections::BTreeMap;

use bonsai_package::{ModuleKind, PackageEntry, PackageSize};
use bonsai_wxss::StyleFragment;
use serde::{Deserialize, Serialize};

/// Bump on any incompatible change to [`CompiledApp`].
pub const ARTIFACT_FORMAT: u32 = 2;

/// The template compiler the templates were generated with; the engine's
/// glass-easel runtime must match it.
pub const TEMPLATE_COMPILER_VERSION: &str = "glass-easel-template-compiler 0.12.1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledApp {
    pub format: u32,
    pub bonsai_version: String,
    pub template_compiler: String,
    pub app_id: Option<String>,
    /// A component library compiled without app.json.
    pub library: bool,
    /// app.json, as loaded.
    pub app_config: Option<serde_json::Value>,
    /// project.config.json's `setting.urlCheck`.
    pub url_check: bool,
    pub packages: Vec<PackageEntry>,
    /// Pages and components by module path (no extension, no leading slash).
    pub components: BTreeMap<String, CompiledComponent>,
    /// The template group, in parts the engine loads as pages need them.
    pub templates: bonsai_wxml::SplitTemplates,
    /// CommonJS scripts by their `.js` path.
    pub scripts: BTreeMap<String, CompiledScript>,
    /// Linked stylesheets by entry file (`app.wxss`, `pages/a/index.wxss`).
    pub styles: BTreeMap<String, Vec<StyleFragment>>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledComponent {
    pub kind: ModuleKind,
    /// The page's or component's `.json`, as loaded.
    pub config: serde_json::Value,
    /// Key into [`CompiledApp::scripts`].
    pub script: Option<String>,
    /// Template key (module path without `.wxml`).
    pub template: Option<String>,
    /// Key into [`CompiledApp::styles`].
    pub style: Option<String>,
    /// `usingComponents`, resolved: `/dist/button/index` or `plugin://…`.
    pub using: BTreeMap<String, String>,
    /// `componentGenerics` defaults, resolved like `using`.
    #[serde(default)]
    pub generic_defaults: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledScript {
    /// The file it came from (`x.ts` for a TypeScript source).
    pub source_path: String,
    pub code: String,
    /// Source map (v3 JSON) back to `source_path`.
    pub source_map: String,
}

/// Counts for `bonsai check`'s summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pages: usize,
    pub subpackages: usize,
    pub components: usize,
    pub templates: usize,
    pub styles: usize,
    pub scripts: usize,
    pub wxs: usize,
    pub sizes: Vec<PackageSize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("not a Bonsai app artifact: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(
        "artifact format {found} is not supported (this Bonsai reads format {expected}); rebuild it with `bonsai build`"
    )]
    Version { found: u64, expected: u32 },
}

impl CompiledApp {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<CompiledApp, ArtifactError> {
        #[derive(Deserialize)]
        struct Header {
            format: u64,
        }
        let header: Header = serde_json::from_slice(bytes)?;
        if header.format != u64::from(ARTIFACT_FORMAT) {
            return Err(ArtifactError::Version {
                found: header.format,
                expected: ARTIFACT_FORMAT,
            });
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}
