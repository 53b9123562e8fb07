//! Compiles and links every `.wxss` and `.acss` file of the public corpus
//! (fetched into `target/corpus` on first use) and requires zero errors:
//! these files work in WeChat and Alipay, so any error is a false alarm.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bonsai_diagnostics::{Diagnostic, Severity};
use bonsai_wxss::{CompiledStyle, compile_wxss, link_styles};

fn describe(d: &Diagnostic, sources: &HashMap<String, String>) -> String {
    let source = d
        .file
        .as_ref()
        .and_then(|f| sources.get(f))
        .map(String::as_str);
    format!(
        "{}: {}[{}]: {}",
        d.location(source).unwrap_or_default(),
        d.severity,
        d.code,
        d.message
    )
}

/// The root package paths are relative to: the nearest directory with an
/// `app.json` (a mini program), else the npm package (a component library).
fn package_root(file: &Path, package: &Path) -> PathBuf {
    file.ancestors()
        .skip(1)
        .take_while(|dir| dir.starts_with(package))
        .find(|dir| dir.join("app.json").is_file())
        .unwrap_or(package)
        .to_path_buf()
}

#[test]
fn corpus_compiles_and_links_without_errors() {
    let corpus = bonsai_corpus::corpus_dir();
    let mut npm_packages: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path().join("package"))
        .filter(|p| p.is_dir())
        .collect();
    npm_packages.sort();
    assert!(
        !npm_packages.is_empty(),
        "no packages in {}",
        corpus.display()
    );
    let mut packages: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for npm_package in &npm_packages {
        let mut paths = Vec::new();
        paths.extend(bonsai_corpus::files_ending_with(
            npm_package,
            &[".wxss", ".acss"],
        ));
        for path in paths {
            let root = package_root(&path, npm_package);
            packages.entry(root).or_default().push(path);
        }
    }

    let (mut files, mut rules, mut with_rpx, mut imports) = (0, 0, 0, 0);
    let mut by_code: BTreeMap<(Severity, String), usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for (package, paths) in &packages {
        let mut sources = HashMap::new();
        let mut compiled: HashMap<String, CompiledStyle> = HashMap::new();
        let mut diagnostics = Vec::new();
        for path in paths {
            let relative = path
                .strip_prefix(package)
                .expect("inside the package")
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(path).expect("readable file");
            let source = String::from_utf8_lossy(&bytes).into_owned();
            let (style, found) = compile_wxss(&relative, &source);
            // The output is plain CSS that keeps every rule.
            let (again, problems) = compile_wxss(&relative, &style.render(Some(0.5)));
            assert_eq!(again.rule_count, style.rule_count, "{relative}");
            assert!(
                problems.iter().all(|d| !d.is_error()),
                "{relative}: {problems:#?}"
            );
            files += 1;
            rules += style.rule_count;
            with_rpx += usize::from(style.uses_rpx);
            imports += style.imports.len();
            diagnostics.extend(found);
            sources.insert(relative.clone(), source);
            compiled.insert(relative, style);
        }
        // Linking every file reports a shared import's problem once per
        // importer chain; count each distinct diagnostic once.
        let mut linked = Vec::new();
        for path in compiled.keys() {
            linked.extend(link_styles(path, &|p| compiled.get(p)).1);
        }
        linked.sort_by_key(|d| format!("{d:?}"));
        linked.dedup();
        diagnostics.extend(linked);
        for d in &diagnostics {
            *by_code.entry((d.severity, d.code.clone())).or_default() += 1;
            if d.is_error() {
                errors.push(format!("{}: {}", package.display(), describe(d, &sources)));
            } else {
                println!("{}", describe(d, &sources));
            }
        }
    }
    println!(
        "{files} files in {} packages: {rules} style rules, {with_rpx} files use rpx, {imports} imports",
        packages.len()
    );
    for ((severity, code), count) in &by_code {
        println!("{severity:>8} {code}: {count}");
    }
    assert!(files > 1000, "only {files} style files found");
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
