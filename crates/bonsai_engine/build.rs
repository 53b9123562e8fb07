//! Precompiles the engine's JavaScript to QuickJS bytecode: glass-easel and
//! its mini-program adapter (npm 0.12.1, pinned by js/package-lock.json) and
//! Bonsai's own host (js/host.js). A new app instance then loads bytecode
//! instead of parsing ~180 KB of JS.
//!
//! The npm files are never copied into the repository: when js/node_modules is
//! missing this runs `npm ci`, which checks every tarball against the lock
//! file's integrity hashes.

use std::path::{Path, PathBuf};
use std::process::Command;

use rquickjs::{Context, Module, Runtime, WriteOptions};

const GLASS_EASEL: &str = "glass-easel/dist/glass_easel.all.js";
const ADAPTER: &str = "glass-easel-miniprogram-adapter/dist/glass_easel_miniprogram_adapter.js";

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let js_dir = manifest_dir.join("../../js");
    let node_modules = js_dir.join("node_modules");
    println!(
        "cargo:rerun-if-changed={}",
        js_dir.join("package-lock.json").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("js/host.js").display()
    );
    if !node_modules.join(GLASS_EASEL).exists() || !node_modules.join(ADAPTER).exists() {
        npm_ci(&js_dir);
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let commonjs = |path: &str| {
        let source = std::fs::read_to_string(node_modules.join(path))
            .unwrap_or_else(|e| panic!("reading js/node_modules/{path}: {e}"));
        // A CommonJS bundle becomes the default export of an ES module, so it
        // can be stored as module bytecode and instantiated per app.
        format!("export default function (exports, module, require) {{\n{source}\n}}\n")
    };
    let host =
        std::fs::read_to_string(manifest_dir.join("js/host.js")).expect("reading js/host.js");
    compile(&out_dir, "glass_easel", &commonjs(GLASS_EASEL));
    compile(&out_dir, "adapter", &commonjs(ADAPTER));
    compile(&out_dir, "host", &host);
}

fn npm_ci(js_dir: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(js_dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`npm ci` in {} failed ({s}); it installs the pinned glass-easel runtime",
            js_dir.display()
        ),
        Err(e) => panic!(
            "`npm ci` could not run ({e}). Bonsai's engine embeds glass-easel from npm: install Node.js and npm (Debian: apt-get install nodejs npm), or run scripts/test, which does it"
        ),
    }
}

fn compile(out_dir: &Path, name: &str, source: &str) {
    let runtime = Runtime::new().expect("QuickJS runtime");
    let context = Context::full(&runtime).expect("QuickJS context");
    let bytecode = context.with(|ctx| {
        let module = Module::declare(ctx.clone(), name, source).unwrap_or_else(|e| {
            let detail = ctx.catch();
            panic!("compiling {name}: {e}: {detail:?}")
        });
        module
            .write(WriteOptions::default())
            .expect("writing bytecode")
    });
    std::fs::write(out_dir.join(format!("{name}.qbc")), bytecode).expect("writing bytecode file");
}
