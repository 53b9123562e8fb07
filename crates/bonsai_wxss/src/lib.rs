//! WXSS, the stylesheet language of WeChat mini programs (and ACSS, Alipay's
//! identical twin): compiling one file into CSS fragments, and linking a file
//! with its `@import`s.
//!
//! WXSS is CSS plus the `rpx` unit (1rpx = device width / 750 px), `@import`
//! anywhere at the top level, the `/deep/` and `>>>` combinators, and a
//! leniency browsers and lightningcss lack. Compiling a file runs four passes:
//!
//! 1. A small CSS tokenizer (`lexer`) splits the source, keeping byte
//!    offsets, so nothing inside strings, comments or `url()` is touched.
//! 2. `outline` matches brackets and finds where each rule and declaration
//!    starts and ends; unclosed and stray braces are errors found here.
//! 3. A rewrite builds the output from the source tokens themselves: `@import`
//!    rules and comments are removed, each `Nrpx` becomes a
//!    [`StyleFragment::Rpx`], `/deep/` and `>>>` become a descendant
//!    combinator (what WeChat does), and whatever the file leaves open is
//!    closed so that concatenated files cannot swallow each other. The output
//!    is *not* lightningcss's printout: its error recovery throws away valid
//!    declarations that precede an invalid one in the same rule (`*zoom: 1`),
//!    and normalizes values; the source text keeps what WeChat would keep and
//!    browsers recover from it the same way lightningcss does.
//! 4. `validate` runs lightningcss with error recovery over a copy of the
//!    source in which `rpx` reads `px ` and imports and `/deep/` are blanked
//!    out — every edit keeps the byte length, so its positions are positions
//!    in the original file — and sorts what it reports into errors and
//!    warnings.
//!
//! Diagnostic codes. Errors — the rule or file does not do what it says:
//! `wxss::unclosed-block`, `wxss::stray-brace`, `wxss::invalid-selector` (the
//! rule is dropped), `wxss::invalid-rule` (a selector without a block),
//! `wxss::invalid-import` (malformed, remote or escaping the package root),
//! and from linking `wxss::import-cycle` and `wxss::missing-import`.
//! Warnings — WeChat accepts it, at most one declaration is lost:
//! `wxss::invalid-declaration`, `wxss::unknown-at-rule`,
//! `wxss::invalid-at-rule`, `wxss::nested-import`, `wxss::unknown-selector`,
//! `wxss::empty-class`, `wxss::unterminated`, `wxss::parse`, and
//! `wxss::too-deep` / `wxss::internal` when a file could not be checked.
//!
//! Nothing here does I/O: the caller supplies sources and, for
//! [`link_styles`], a lookup of compiled files.

mod imports;
mod lexer;
mod link;
mod outline;
mod validate;

use bonsai_diagnostics::{Diagnostic, Span};

use crate::lexer::{Kind, Token};
use crate::outline::Outline;

pub use crate::link::link_styles;

/// One compiled WXSS file.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStyle {
    /// The stylesheet with @import rules removed, as fragments the consumer resolves.
    pub fragments: Vec<StyleFragment>,
    /// Imports in source order, resolved to package-relative paths with
    /// extension (e.g. `common/base.wxss`), with the byte span of the rule.
    pub imports: Vec<StyleImport>,
    pub uses_rpx: bool,
    /// Style rules lightningcss accepted, nested ones included.
    pub rule_count: usize,
}

/// A piece of compiled CSS.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StyleFragment {
    Css(String),
    /// `Rpx(n)` stands for `n` rpx.
    Rpx(f64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyleImport {
    pub path: String,
    pub span: Span,
}

impl CompiledStyle {
    /// Renders CSS: rpx becomes `calc(N * var(--rpx))` when `rpx_px` is None
    /// (valid in declarations), or `{N*rpx_px}px` when Some (also valid
    /// inside `@media`).
    pub fn render(&self, rpx_px: Option<f64>) -> String {
        render_fragments(&self.fragments, rpx_px)
    }
}

/// Renders fragments as [`CompiledStyle::render`] does; for the output of
/// [`link_styles`].
pub fn render_fragments(fragments: &[StyleFragment], rpx_px: Option<f64>) -> String {
    let mut css = String::new();
    for fragment in fragments {
        match (fragment, rpx_px) {
            (StyleFragment::Css(text), _) => css.push_str(text),
            (StyleFragment::Rpx(n), None) => {
                css.push_str(&format!("calc({} * var(--rpx))", format_number(*n)));
            }
            (StyleFragment::Rpx(n), Some(px)) => {
                // Four decimals are finer than any screen, and keep the
                // binary noise of the product (`0.30000000000000004`) out.
                let value = n * px;
                let value = if value.abs() < 1e12 {
                    (value * 1e4).round() / 1e4
                } else {
                    value
                };
                css.push_str(&format!("{}px", format_number(value)));
            }
        }
    }
    css
}

/// A number as CSS accepts it: never `-0`, `NaN` or `inf`.
fn format_number(value: f64) -> String {
    if value == 0.0 || value.is_nan() {
        "0".to_owned()
    } else {
        format!("{}", value.clamp(-f64::MAX, f64::MAX))
    }
}

/// Compiles the WXSS file at package-relative `path` (forward slashes).
///
/// Imports resolve against `path`'s directory, or the package root for a
/// target starting with `/`; `.wxss` is appended unless the target ends in
/// `.wxss`, `.acss` or `.css`.
pub fn compile_wxss(path: &str, source: &str) -> (CompiledStyle, Vec<Diagnostic>) {
    let tokens = lexer::tokenize(source);
    let outline = outline::outline(source, &tokens);
    let mut diagnostics = Vec::new();
    let mut removed = vec![false; tokens.len()];

    let mut imports = Vec::new();
    for item in outline.items.iter().filter(|i| i.depth == 0 && i.at_rule) {
        let keyword = &tokens[item.first];
        let name = source
            .get(keyword.start + 1..keyword.end)
            .unwrap_or_default();
        if !name.eq_ignore_ascii_case("import") {
            continue;
        }
        removed[item.first..item.last].fill(true);
        let span = Span::new(item.start, item.end);
        let target = imports::import_target(source, &tokens[item.first + 1..item.last]);
        match target.map(|target| imports::resolve(path, target)) {
            Some(Ok(resolved)) => imports.push(StyleImport {
                path: resolved,
                span,
            }),
            Some(Err(message)) => diagnostics.push(
                Diagnostic::error("wxss::invalid-import", message)
                    .in_file(path)
                    .with_span(span),
            ),
            None => diagnostics.push(
                Diagnostic::error("wxss::invalid-import", "malformed `@import`")
                    .in_file(path)
                    .with_span(span)
                    .with_help("write `@import \"path/to/file.wxss\";`"),
            ),
        }
    }
    structural_diagnostics(path, &tokens, &outline, &mut removed, &mut diagnostics);

    let (fragments, checked) = rewrite(source, &tokens, &outline, &removed);
    let (rule_count, found) = validate::validate(path, source, &checked, &tokens, &outline);
    diagnostics.extend(found);
    diagnostics.sort_by_key(|d| d.span.map(|s| (s.start, s.end)));

    let uses_rpx = fragments.iter().any(|f| matches!(f, StyleFragment::Rpx(_)));
    let style = CompiledStyle {
        fragments,
        imports,
        uses_rpx,
        rule_count,
    };
    (style, diagnostics)
}

/// Errors for braces that do not match, and warnings for a file that ends
/// inside a comment, string or `url(`. Stray `}` are marked for removal: a
/// browser would read one as the start of the next rule's selector and drop
/// that rule too.
fn structural_diagnostics(
    path: &str,
    tokens: &[Token],
    outline: &Outline,
    removed: &mut [bool],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let at = |i: usize| Span::new(tokens[i].start, tokens[i].end);
    for &i in &outline.stray {
        removed[i] = true;
        diagnostics.push(
            Diagnostic::error("wxss::stray-brace", "this `}` closes nothing")
                .in_file(path)
                .with_span(at(i)),
        );
    }
    for &i in &outline.unclosed {
        diagnostics.push(
            Diagnostic::error(
                "wxss::unclosed-block",
                "this bracket is never closed; what follows it up to the end of the file is inside it",
            )
            .in_file(path)
            .with_span(at(i)),
        );
    }
    if let Some(last) = tokens.last() {
        let what = match last.kind {
            Kind::Comment { unterminated: true } => "comment",
            Kind::String { unterminated: true } => "string",
            Kind::Url { unterminated: true } => "`url(`",
            _ => return,
        };
        diagnostics.push(
            Diagnostic::warning(
                "wxss::unterminated",
                format!("the file ends inside a {what}"),
            )
            .in_file(path)
            .with_span(Span::new(last.start, last.end)),
        );
    }
}

/// Builds the output fragments and the text lightningcss checks; see the
/// crate docs.
fn rewrite(
    source: &str,
    tokens: &[Token],
    outline: &Outline,
    removed: &[bool],
) -> (Vec<StyleFragment>, String) {
    let mut out = Rewrite {
        fragments: Vec::new(),
        checked: String::with_capacity(source.len() + 8),
    };
    let text = |t: &Token| source.get(t.start..t.end).unwrap_or_default();
    let delim_run = |i: usize, pattern: &[Kind]| {
        tokens
            .get(i..i + pattern.len())
            .is_some_and(|run| run.iter().zip(pattern).all(|(t, k)| t.kind == *k))
    };
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        if removed[i] {
            out.separate();
            out.check(text(token), true);
            i += 1;
            continue;
        }
        match token.kind {
            Kind::Comment { .. } => {
                // Dropped, unless it is all that separates two tokens
                // (`a/**/b` is two idents, `ab` would be one).
                let next = tokens[i + 1..]
                    .iter()
                    .find(|t| !matches!(t.kind, Kind::Comment { .. }))
                    .and_then(|t| source.get(t.start..).and_then(|s| s.chars().next()));
                if next.is_some_and(|c| out.would_fuse_with(c)) {
                    out.css("/**/");
                }
                out.check(text(token), false);
            }
            Kind::Dimension { unit }
                if source
                    .get(unit..token.end)
                    .is_some_and(|u| u.eq_ignore_ascii_case("rpx")) =>
            {
                let number = source.get(token.start..unit).unwrap_or_default();
                match number.parse::<f64>() {
                    Ok(n) if n.is_finite() => {
                        out.fragments.push(StyleFragment::Rpx(n));
                        out.check(number, false);
                        out.check("px ", false);
                    }
                    _ => {
                        out.css(text(token));
                        out.check(text(token), false);
                    }
                }
            }
            Kind::Delim(b'/')
                if delim_run(i, &[Kind::Delim(b'/'), Kind::Ident, Kind::Delim(b'/')])
                    && text(&tokens[i + 1]).eq_ignore_ascii_case("deep") =>
            {
                out.descendant(&source[token.start..tokens[i + 2].end]);
                i += 2;
            }
            Kind::Delim(b'>') if delim_run(i, &[Kind::Delim(b'>'); 3]) => {
                out.descendant(&source[token.start..tokens[i + 2].end]);
                i += 2;
            }
            _ => {
                out.css(text(token));
                out.check(text(token), false);
            }
        }
        i += 1;
    }
    out.close(source, tokens, outline, removed);
    (out.fragments, out.checked)
}

struct Rewrite {
    fragments: Vec<StyleFragment>,
    /// The text lightningcss checks, byte-aligned with the source.
    checked: String,
}

impl Rewrite {
    fn css(&mut self, text: &str) {
        match self.fragments.last_mut() {
            Some(StyleFragment::Css(css)) => css.push_str(text),
            _ => self.fragments.push(StyleFragment::Css(text.to_owned())),
        }
    }

    /// Whether `next`, written right after the output, could fuse with it
    /// into another token (`a` `b`, `1px` `solid`, `a` `(`, `/` `*` …).
    fn would_fuse_with(&self, next: char) -> bool {
        let last = match self.fragments.last() {
            Some(StyleFragment::Css(css)) if css.ends_with("/**/") => return false,
            Some(StyleFragment::Css(css)) => css.chars().next_back(),
            Some(StyleFragment::Rpx(_)) => Some('x'),
            None => None,
        };
        let Some(last) = last else {
            return false;
        };
        !(last.is_whitespace()
            || next.is_whitespace()
            || "{}[]();:,\"'".contains(last)
            || "{}[]);:,\"'".contains(next))
    }

    /// Stands in for removed tokens: a space, so that their neighbours stay
    /// apart (`/` `}` `*` must not become `/*`), unless there is one already.
    fn separate(&mut self) {
        let needed = match self.fragments.last() {
            Some(StyleFragment::Css(css)) => !css.ends_with(char::is_whitespace),
            Some(StyleFragment::Rpx(_)) => true,
            None => false,
        };
        if needed {
            self.css(" ");
        }
    }

    /// `/deep/` and `>>>` pierce component style isolation in WeChat; a page
    /// rendered without that isolation needs a plain descendant combinator.
    fn descendant(&mut self, combinator: &str) {
        self.css(" ");
        self.check(combinator, true);
    }

    /// Appends `text` to the checked copy, as spaces when `blank`. Lone CR and
    /// form feeds become LF: lightningcss counts them as line breaks and
    /// [`bonsai_diagnostics::LineIndex`] only counts LF.
    fn check(&mut self, text: &str, blank: bool) {
        let bytes = text.as_bytes();
        for (i, c) in text.char_indices() {
            match c {
                '\r' if bytes.get(i + 1) != Some(&b'\n') => self.checked.push('\n'),
                '\x0c' | '\n' => self.checked.push('\n'),
                _ if blank => self.checked.extend(std::iter::repeat_n(' ', c.len_utf8())),
                c => self.checked.push(c),
            }
        }
    }

    /// Closes what the file leaves open, so that files concatenated after it
    /// are read as written.
    fn close(&mut self, source: &str, tokens: &[Token], outline: &Outline, removed: &[bool]) {
        let mut closing = String::new();
        let last = tokens.len().checked_sub(1).filter(|&i| !removed[i]);
        if let Some(last) = last.map(|i| &tokens[i]) {
            let text = source.get(last.start..last.end).unwrap_or_default();
            match last.kind {
                Kind::Comment { unterminated } => {
                    if unterminated {
                        self.checked.push_str("*/");
                    }
                }
                kind => {
                    // A final unescaped backslash would escape what is appended;
                    // before a newline it escapes nothing (in a string it
                    // continues the line).
                    let backslashes = text.bytes().rev().take_while(|&b| b == b'\\').count();
                    if backslashes % 2 == 1 {
                        closing.push('\n');
                    }
                    match kind {
                        Kind::String { unterminated: true } => {
                            closing.push_str(text.get(..1).unwrap_or("\""));
                        }
                        Kind::Url { unterminated: true } => closing.push(')'),
                        _ => {}
                    }
                }
            }
        }
        for &i in outline.unclosed.iter().rev().filter(|&&i| !removed[i]) {
            closing.push(match tokens[i].kind {
                Kind::Open(b'[') => ']',
                Kind::Open(b'{') => '}',
                _ => ')',
            });
        }
        if !closing.is_empty() {
            self.css(&closing);
            self.checked.push_str(&closing);
        }
    }
}

#[cfg(test)]
mod tests;
