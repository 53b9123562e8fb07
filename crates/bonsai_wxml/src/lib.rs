//! WXML compilation through glass-easel's own template compiler (the crate
//! `glass-easel-template-compiler`, pinned to the version of the npm runtime
//! the engine hosts).
//!
//! A [`TemplateGroup`] holds every template and WXS file of one app, as
//! glass-easel expects: templates cross-reference each other through `import`
//! and `include`, so they are compiled as one group. It is stateful on purpose:
//! replacing one file re-parses only that file, which is what hot reload needs.
//!
//! Severity follows WeChat's devtools rather than glass-easel where the two
//! disagree: a missing end tag fails the WeChat build (glass-easel only warns),
//! while children where none are allowed (slot fallback content, which WeChat
//! silently ignores) are a warning (glass-easel errors). The compiler drops
//! such children either way, so the output renders as WeChat does.
//!
//! **Architecture invariant:** no I/O; a panic inside the third-party compiler
//! is caught and reported as a diagnostic.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use bonsai_diagnostics::{Diagnostic, LineIndex, Severity, Span};
use glass_easel_template_compiler::TmplGroup;
use glass_easel_template_compiler::parse::{ParseError, ParseErrorLevel};

const WXS_INSTANCE_HOOKS: &str = "if(typeof __bonsaiWxsChangeObserver==='function'){Q.A=__bonsaiWxsChangeObserver;Q.C=__bonsaiWxsEventListener;}else{Q.A=function(a){return a};Q.C=function(e,v,l){return l.apply(e,[v])};}";

/// The template paths glass-easel uses have no extension (`pages/index/index`).
pub fn template_key(path: &str) -> &str {
    path.strip_suffix(".wxml").unwrap_or(path)
}

/// A template group's code in parts (see [`TemplateGroup::generate_split`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SplitTemplates {
    pub runtime: String,
    /// Gen object expressions by template key.
    pub templates: BTreeMap<String, String>,
}

/// All templates and WXS modules of one app.
#[derive(Debug)]
pub struct TemplateGroup {
    group: TmplGroup,
    /// Template sources by key, kept to position dependency diagnostics.
    templates: BTreeMap<String, TemplateSource>,
    /// WXS file paths (with `.wxs`).
    scripts: BTreeSet<String>,
}

#[derive(Debug)]
struct TemplateSource {
    text: String,
    /// Nested deeper than a normal stack takes (see [`on_big_stack_if`]).
    deep: bool,
}

impl Default for TemplateGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateGroup {
    pub fn new() -> Self {
        let mut group = TmplGroup::new();
        // WXS handlers need WeChat's ComponentDescriptor arguments, which the
        // engine's host provides; the compiled group hands it WXS change
        // observers (`Q.A`) and event listeners (`Q.C`). Without the host
        // (no such globals) they behave as glass-easel's defaults.
        group.set_extra_runtime_script(WXS_INSTANCE_HOOKS);
        TemplateGroup {
            group,
            templates: BTreeMap::new(),
            scripts: BTreeSet::new(),
        }
    }

    /// Adds or replaces a template (`path` with or without `.wxml`) and
    /// returns its diagnostics.
    pub fn set_template(&mut self, path: &str, source: &str) -> Vec<Diagnostic> {
        let key = template_key(path).to_owned();
        let file = format!("{key}.wxml");
        let tag_safe = ascii_whitespace_in_tags(source);
        let group = &mut self.group;
        let deep = nesting_depth(source) > SHALLOW;
        let parsed = on_big_stack_if(deep, || {
            catch_unwind(AssertUnwindSafe(|| group.add_tmpl(&key, &tag_safe)))
        })
        .unwrap_or_else(|| Err(Box::new("the compiler thread could not start")));
        let errors = match parsed {
            Ok(errors) => errors,
            Err(_) => {
                self.group.remove_tmpl(&key);
                self.templates.remove(&key);
                return vec![
                    Diagnostic::error(
                        "wxml::compiler-panic",
                        "the template compiler crashed on this file",
                    )
                    .in_file(file),
                ];
            }
        };
        let index = LineIndex::new(source);
        let diagnostics = errors
            .iter()
            .map(|e| to_diagnostic(&file, &index, e))
            .collect();
        let text = source.to_owned();
        self.templates.insert(key, TemplateSource { text, deep });
        diagnostics
    }

    /// Adds or replaces a WXS file (`path` ends in `.wxs`). `<wxs src>` names
    /// it without the extension and `require` inside WXS with it, so it is
    /// registered under both.
    pub fn set_script(&mut self, path: &str, source: &str) {
        let bare = path.strip_suffix(".wxs").unwrap_or(path);
        self.group.add_script(bare, source);
        self.group.add_script(&format!("{bare}.wxs"), source);
        self.scripts.insert(format!("{bare}.wxs"));
    }

    pub fn remove_template(&mut self, path: &str) {
        let key = template_key(path);
        self.group.remove_tmpl(key);
        self.templates.remove(key);
    }

    pub fn remove_script(&mut self, path: &str) {
        let bare = path.strip_suffix(".wxs").unwrap_or(path);
        self.group.remove_script(bare);
        self.group.remove_script(&format!("{bare}.wxs"));
        self.scripts.remove(&format!("{bare}.wxs"));
    }

    fn any_deep(&self) -> bool {
        self.templates.values().any(|t| t.deep)
    }

    pub fn template_count(&self) -> usize {
        self.templates.len()
    }

    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// Reports `import`/`include` and `<wxs src>` targets that are not in the
    /// group, positioned on the `src` value.
    pub fn check_references(&self) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        for (key, TemplateSource { text: source, .. }) in &self.templates {
            let file = format!("{key}.wxml");
            let templates = self.group.direct_dependencies(key).into_iter().flatten();
            for dep in templates {
                if !self.templates.contains_key(&dep) {
                    diagnostics.push(missing_reference(&file, source, &dep, "template", ".wxml"));
                }
            }
            let scripts = self.group.script_dependencies(key).into_iter().flatten();
            for dep in scripts {
                let with_ext = if dep.ends_with(".wxs") {
                    dep.clone()
                } else {
                    format!("{dep}.wxs")
                };
                if !self.scripts.contains(&with_ext) {
                    diagnostics.push(missing_reference(&file, source, &dep, "WXS module", ".wxs"));
                }
            }
        }
        diagnostics
    }

    /// Generates the group as separately loadable parts, so an engine can
    /// evaluate only the templates a page uses: the shared runtime (helpers
    /// and every WXS file, which define `R`, `D`, `X`, `Y`, `Z`, `P` and `Q`)
    /// and one expression per template that evaluates to its gen object,
    /// given those names and `G` (the group list it imports from).
    pub fn generate_split(&self) -> Result<SplitTemplates, Diagnostic> {
        let group = &self.group;
        let keys: Vec<&String> = self.templates.keys().collect();
        let deep = self.any_deep();
        let generated = on_big_stack_if(deep, || {
            catch_unwind(AssertUnwindSafe(|| -> Result<SplitTemplates, String> {
                let error = |e: glass_easel_template_compiler::TmplError| e.message;
                let runtime = format!(
                    "var R={{}};{}{}",
                    group.export_globals().map_err(error)?,
                    group.export_all_scripts().map_err(error)?
                );
                let mut templates = BTreeMap::new();
                for key in keys {
                    templates.insert(key.clone(), group.get_tmpl_gen_object(key).map_err(error)?);
                }
                Ok(SplitTemplates { runtime, templates })
            }))
        })
        .unwrap_or_else(|| Err(Box::new("the compiler thread could not start")));
        match generated {
            Ok(Ok(split)) => Ok(split),
            Ok(Err(message)) => Err(Diagnostic::error("wxml::generate", message)),
            Err(_) => Err(Diagnostic::error(
                "wxml::compiler-panic",
                "the template compiler crashed while generating code",
            )),
        }
    }

    /// Generates the group's JavaScript: a statement that calls
    /// `__wxCodeSpace__.addCompiledTemplate(path, {groupList, content})` once
    /// per template.
    pub fn generate(&self) -> Result<String, Diagnostic> {
        let group = &self.group;
        let generated = on_big_stack_if(self.any_deep(), || {
            catch_unwind(AssertUnwindSafe(|| group.get_wx_gen_object_groups()))
        })
        .unwrap_or_else(|| Err(Box::new("the compiler thread could not start")));
        match generated {
            Ok(Ok(js)) => Ok(js),
            Ok(Err(err)) => Err(Diagnostic::error("wxml::generate", err.message)),
            Err(_) => Err(Diagnostic::error(
                "wxml::compiler-panic",
                "the template compiler crashed while generating code",
            )),
        }
    }
}

/// Nesting any thread's stack takes in glass-easel's recursive compiler,
/// even a 2 MiB test thread in a debug build.
const SHALLOW: usize = 64;

/// The deepest nesting of tags or brackets in a template, by a quick scan.
fn nesting_depth(source: &str) -> usize {
    let (mut tags, mut brackets, mut deepest) = (0usize, 0usize, 0usize);
    let bytes = source.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' if bytes.get(i + 1) == Some(&b'/') => tags = tags.saturating_sub(1),
            b'<' => tags += 1,
            b'>' if i > 0 && bytes[i - 1] == b'/' => tags = tags.saturating_sub(1),
            b'(' | b'[' | b'{' => brackets += 1,
            b')' | b']' | b'}' => brackets = brackets.saturating_sub(1),
            _ => continue,
        }
        deepest = deepest.max(tags).max(brackets);
    }
    deepest
}

/// glass-easel's compiler recurses once per nesting level; deeply nested
/// templates (a few thousand levels, a 12 KB file) would overflow a normal
/// stack and abort the process, so those compile on a thread with a big
/// stack (committed only as used). Ordinary templates stay on the caller's
/// thread: a thread per file would cost more than the compile.
fn on_big_stack_if<T: Send>(deep: bool, work: impl FnOnce() -> T + Send) -> Option<T> {
    if !deep {
        return Some(work());
    }
    const STACK: usize = 256 * 1024 * 1024;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(scope, work)
            .ok()?
            .join()
            .ok()
    })
}

/// Unicode spaces that glass-easel 0.12.1 loops forever on when they sit
/// between attributes (it skips only ASCII whitespace there).
fn is_unicode_space(c: char) -> bool {
    !c.is_ascii() && c.is_whitespace() || c == '\u{feff}'
}

/// Replaces Unicode spaces inside tags (outside quoted values) and inside
/// `{{ }}` expressions with ASCII spaces: both are whitespace there for
/// WeChat, but glass-easel 0.12.1 loops forever on them. Text and quoted
/// values keep theirs. Each such character is one UTF-16 unit, like the
/// space, so the compiler's positions still point into the original text.
fn ascii_whitespace_in_tags(source: &str) -> Cow<'_, str> {
    if !source.chars().any(is_unicode_space) {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut in_tag = false;
    let mut in_expression = false;
    let mut quote: Option<char> = None;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if in_expression {
            if c == '}' && chars.peek() == Some(&'}') {
                in_expression = false;
            }
            out.push(if is_unicode_space(c) { ' ' } else { c });
            continue;
        }
        if c == '{' && chars.peek() == Some(&'{') {
            in_expression = true;
            out.push(c);
            continue;
        }
        match (in_tag, quote, c) {
            (false, _, '<')
                if chars
                    .peek()
                    .is_some_and(|n| n.is_alphabetic() || *n == '/' || is_unicode_space(*n)) =>
            {
                in_tag = true
            }
            (true, None, '"' | '\'') => quote = Some(c),
            (true, Some(q), _) if c == q => quote = None,
            (true, None, '>') => in_tag = false,
            (true, None, _) if is_unicode_space(c) => {
                out.push(' ');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

fn missing_reference(file: &str, source: &str, dep: &str, what: &str, ext: &str) -> Diagnostic {
    let key = template_key(file);
    let dep_bare = dep.strip_suffix(ext).unwrap_or(dep);
    let span = src_attributes(source)
        .find(|(_, value)| {
            let value = value.strip_suffix(ext).unwrap_or(value);
            resolve_relative(key, value) == dep_bare
        })
        .map(|(span, _)| span);
    Diagnostic::error(
        "wxml::missing-reference",
        format!("{what} `{dep_bare}{ext}` not found"),
    )
    .in_file(file)
    .with_span(span)
}

/// Every `src="…"` attribute value with its span. A light scan, used only to
/// position diagnostics after the real parse.
fn src_attributes(source: &str) -> impl Iterator<Item = (Span, &str)> {
    source.match_indices("src=").filter_map(move |(i, _)| {
        let rest = &source[i + 4..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value = &rest[1..];
        let len = value.find(quote)?;
        let start = i + 5;
        Some((Span::new(start, start + len), &value[..len]))
    })
}

/// Resolves `rel` against the template `key` as glass-easel does.
fn resolve_relative(key: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        let mut base: Vec<&str> = key.split('/').collect();
        base.pop();
        base
    };
    for segment in rel.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn to_diagnostic(file: &str, index: &LineIndex<'_>, error: &ParseError) -> Diagnostic {
    use glass_easel_template_compiler::parse::ParseErrorKind as Kind;
    let mut severity = match error.level() {
        ParseErrorLevel::Note => Severity::Note,
        ParseErrorLevel::Warn => Severity::Warning,
        _ => Severity::Error,
    };
    let mut message = error.kind.to_string();
    let mut help = None;
    match error.kind {
        // WeChat's compiler rejects an unclosed tag; glass-easel only warns.
        Kind::MissingEndTag | Kind::InvalidEndTag => severity = Severity::Error,
        Kind::ChildNodesNotAllowed => {
            severity = Severity::Warning;
            message = "child nodes are not allowed here; they are ignored, as in WeChat".to_owned();
            help = Some(
                "WeChat renders no fallback content for <slot>; remove the children".to_owned(),
            );
        }
        _ => {}
    }
    let start = &error.location.start;
    let end = &error.location.end;
    let start = index.offset_of_utf16(start.line as usize, start.utf16_col as usize);
    let end = index.offset_of_utf16(end.line as usize, end.utf16_col as usize);
    let code = format!("wxml::{}", error.kind.to_string().replace(' ', "-"));
    let mut diagnostic = Diagnostic::new(severity, code, message)
        .in_file(file)
        .with_span(Span::new(start, end));
    diagnostic.help = help;
    diagnostic
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(src: &str) -> (String, Vec<Diagnostic>) {
        let mut group = TemplateGroup::new();
        let diags = group.set_template("pages/a/index.wxml", src);
        let located = diags
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d.location(Some(src)).unwrap(),
                    d.severity,
                    d.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        (located, diags)
    }

    #[test]
    fn unclosed_tag_is_an_error_with_position() {
        let (located, diags) = compile("<view>\n  <text>hi</text>\n");
        assert!(diags.iter().any(Diagnostic::is_error), "{located}");
        insta::assert_snapshot!(located, @"pages/a/index.wxml:1:2 error missing end tag");
    }

    #[test]
    fn bad_for_expression_is_an_error() {
        let (located, diags) = compile("<view wx:for=\"{{ list[ }}\">{{item}}</view>");
        assert!(diags.iter().any(Diagnostic::is_error), "{located}");
        assert!(located.starts_with("pages/a/index.wxml:1:"), "{located}");
    }

    #[test]
    fn slot_fallback_is_a_warning() {
        let (located, diags) = compile("<view><slot><view>fallback</view></slot></view>");
        assert!(!diags.iter().any(Diagnostic::is_error), "{located}");
        assert_eq!(diags.len(), 1, "{located}");
        let mut group = TemplateGroup::new();
        group.set_template("a", "<view><slot><view>fallback</view></slot></view>");
        let js = group.generate().unwrap();
        assert!(
            !js.contains("fallback"),
            "slot children must be dropped: {js}"
        );
    }

    #[test]
    fn missing_import_and_wxs_are_reported() {
        let mut group = TemplateGroup::new();
        let src = "<import src=\"../common/tpl.wxml\"/>\n<wxs module=\"m\" src=\"./m.wxs\"/>";
        assert!(group.set_template("pages/a/index", src).is_empty());
        let diags = group.check_references();
        let located: Vec<_> = diags
            .iter()
            .map(|d| d.location(Some(src)).unwrap())
            .collect();
        assert_eq!(
            located,
            ["pages/a/index.wxml:1:14", "pages/a/index.wxml:2:22"]
        );
        group.set_template("pages/common/tpl.wxml", "<template name=\"t\"/>");
        group.set_script("pages/a/m.wxs", "module.exports = {}");
        assert!(group.check_references().is_empty());
        let js = group.generate().unwrap();
        assert!(js.contains("addCompiledTemplate"));
        let split = group.generate_split().unwrap();
        assert_eq!(split.templates.len(), 2);
        assert!(split.runtime.contains("var R={}"));
        assert!(split.templates["pages/common/tpl"].starts_with("(()=>"));
    }

    #[test]
    fn unicode_spaces_between_attributes_do_not_hang() {
        let src = "<view\u{3000}a=\"b\u{3000}c\"\u{a0}class=\"x\">\u{3000}text</view>";
        let mut group = TemplateGroup::new();
        let diags = group.set_template("a", src);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let js = group.generate().unwrap();
        assert!(
            js.contains("\"b\\u{3000}c\"") && js.contains("\"\\u{3000}text\""),
            "quoted values keep their spaces: {js}"
        );
    }

    #[test]
    fn deep_nesting_is_not_a_stack_overflow() {
        let src = "<view>".repeat(3000) + &"</view>".repeat(3000);
        let mut group = TemplateGroup::new();
        assert!(group.set_template("deep", &src).is_empty());
        assert!(group.generate().is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        let sample = "<view wx:for=\"{{a.b[c]}}\" wx:key=\"id\" bind:tap=\"x\"><text>{{ a ? 'b' : c }}</text><template is=\"t\" data=\"{{...x}}\"/><wxs module=\"w\">var a = 1;</wxs></view>";
        let mut group = TemplateGroup::new();
        for cut in 0..sample.len() {
            if sample.is_char_boundary(cut) {
                group.set_template("t", &sample[..cut]);
                group.set_template("u", &sample[cut..]);
                let _ = group.generate();
            }
        }
    }
}
