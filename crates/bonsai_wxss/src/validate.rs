//! Checking a stylesheet with lightningcss, and the severity policy for what
//! its error recovery reports.
//!
//! The policy: WeChat is lenient, so whatever costs at most one declaration
//! (unknown properties, invalid values, hacks such as `*zoom: 1`), unknown or
//! malformed at-rules and selectors WeChat tolerates (`. {`, unknown pseudo
//! classes) are warnings. A qualified rule that lightningcss — and so every
//! browser — drops because its selector does not parse is an error: the rule
//! silently does nothing. Structural damage (unclosed or stray braces) is found
//! on the token stream before lightningcss runs; see the crate docs.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError, RwLock};

use bonsai_diagnostics::{Diagnostic, LineIndex, Severity, Span};
use lightningcss::error::{Error, ParserError, SelectorError};
use lightningcss::rules::{CssRule, CssRuleList};
use lightningcss::stylesheet::{ParserOptions, StyleSheet};

use crate::lexer::{Kind, Token};
use crate::outline::{Context, Outline};

/// lightningcss recurses once per nested bracket and overflows a 2 MiB
/// thread stack at a few hundred levels; real stylesheets nest a handful.
const MAX_CHECKED_DEPTH: usize = 64;

/// Parses `checked` (the source with WXSS extensions neutralized, byte for
/// byte aligned with `source`) and returns the number of style rules and the
/// classified diagnostics.
pub(crate) fn validate(
    path: &str,
    source: &str,
    checked: &str,
    tokens: &[Token],
    outline: &Outline,
) -> (usize, Vec<Diagnostic>) {
    if outline.max_depth > MAX_CHECKED_DEPTH {
        // Deep but balanced nesting is valid CSS, so this is no error; just
        // unchecked.
        let diagnostic = Diagnostic::warning(
            "wxss::too-deep",
            format!(
                "brackets nest {} levels deep; beyond {MAX_CHECKED_DEPTH} the file is not checked",
                outline.max_depth
            ),
        )
        .in_file(path);
        return (0, vec![diagnostic]);
    }
    let warnings = Arc::new(RwLock::new(Vec::new()));
    let options = ParserOptions {
        error_recovery: true,
        warnings: Some(Arc::clone(&warnings)),
        ..ParserOptions::default()
    };
    // lightningcss is a large third-party parser; a bug in it must cost this
    // file its checks, not the whole compilation.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        StyleSheet::parse(checked, options).map(|sheet| count_style_rules(&sheet.rules))
    }));
    let mut problems =
        std::mem::take(&mut *warnings.write().unwrap_or_else(PoisonError::into_inner));
    let rule_count = match parsed {
        Ok(Ok(count)) => count,
        Ok(Err(error)) => {
            problems.push(error);
            0
        }
        Err(_) => {
            let diagnostic = Diagnostic::warning(
                "wxss::internal",
                "the CSS checker crashed on this file, so it was not checked",
            )
            .in_file(path);
            return (0, vec![diagnostic]);
        }
    };

    let lines = LineIndex::new(checked);
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    // One diagnostic per item, the most severe: a rule's selector can carry a
    // harmless unknown pseudo-class before the problem that drops it.
    let mut by_item: HashMap<usize, usize> = HashMap::new();
    for problem in &problems {
        let offset = match &problem.loc {
            Some(loc) => {
                lines.offset_of_utf16(loc.line as usize, (loc.column as usize).saturating_sub(1))
            }
            None => 0,
        };
        let offset = floor_char_boundary(source, offset);
        let item = outline.item_at(offset);
        let Some(diagnostic) = classify(problem, offset, item, tokens, outline) else {
            continue;
        };
        let diagnostic = diagnostic.in_file(path);
        match item.map(|item| (item, by_item.get(&item).copied())) {
            Some((_, Some(earlier))) => {
                if diagnostics[earlier].severity < diagnostic.severity {
                    diagnostics[earlier] = diagnostic;
                }
            }
            Some((item, None)) => {
                by_item.insert(item, diagnostics.len());
                diagnostics.push(diagnostic);
            }
            None => diagnostics.push(diagnostic),
        }
    }
    (rule_count, diagnostics)
}

fn classify(
    problem: &Error<ParserError<'_>>,
    offset: usize,
    item: Option<usize>,
    tokens: &[Token],
    outline: &Outline,
) -> Option<Diagnostic> {
    let kind = &problem.kind;
    let unknown_pseudo = matches!(
        kind,
        ParserError::SelectorError(
            SelectorError::UnsupportedPseudoClass(_) | SelectorError::UnsupportedPseudoElement(_)
        )
    );
    let Some(item) = item.map(|i| &outline.items[i]) else {
        let span = token_span(tokens, offset).unwrap_or(Span::new(offset, offset));
        return Some(Diagnostic::warning("wxss::parse", kind.to_string()).with_span(span));
    };
    let in_prelude = item.block.is_none_or(|block| offset <= block);
    let prelude_end = item.block.unwrap_or(item.end);
    let prelude = trimmed(tokens, item.first, item.last, prelude_end);
    let at_offset = token_span(tokens, offset).unwrap_or(prelude);

    let (severity, code, message) = if in_prelude && item.at_rule {
        match kind {
            ParserError::AtRuleInvalid(name) if name.eq_ignore_ascii_case("import") => (
                Severity::Warning,
                "wxss::nested-import",
                "`@import` inside a block is ignored; imports belong at the top level".to_owned(),
            ),
            ParserError::AtRuleInvalid(name) => (
                Severity::Warning,
                "wxss::unknown-at-rule",
                format!("unknown at-rule `@{name}`"),
            ),
            _ => (
                Severity::Warning,
                "wxss::invalid-at-rule",
                format!("invalid at-rule: {kind}"),
            ),
        }
    } else if in_prelude && (item.block.is_some() || item.context == Context::RuleList) {
        // A qualified rule (a style rule or a keyframe).
        match kind {
            _ if unknown_pseudo => (
                Severity::Warning,
                "wxss::unknown-selector",
                format!("{kind}; browsers ignore rules whose selectors they do not know"),
            ),
            ParserError::SelectorError(SelectorError::ClassNeedsIdent(_)) => (
                Severity::Warning,
                "wxss::empty-class",
                "a `.` without a class name: WeChat accepts it, but the rule never applies"
                    .to_owned(),
            ),
            _ if item.block.is_none() => (
                Severity::Error,
                "wxss::invalid-rule",
                format!("this rule has no `{{}}` block, so it is dropped: {kind}"),
            ),
            _ => (
                Severity::Error,
                "wxss::invalid-selector",
                format!("invalid selector, so the whole rule is dropped: {kind}"),
            ),
        }
    } else if unknown_pseudo {
        // lightningcss re-reads a declaration that failed to parse as a nested
        // rule; what it says about that "selector" is noise.
        return None;
    } else {
        return Some(
            Diagnostic::warning(
                "wxss::invalid-declaration",
                format!("invalid declaration, ignored: {kind}"),
            )
            .with_span(trimmed(tokens, item.first, item.last, item.end)),
        );
    };
    let span = if severity == Severity::Error {
        at_offset
    } else {
        prelude
    };
    Some(Diagnostic::new(severity, code, message).with_span(span))
}

/// The non-whitespace token containing `offset`.
fn token_span(tokens: &[Token], offset: usize) -> Option<Span> {
    let i = tokens.partition_point(|t| t.end <= offset);
    tokens
        .get(i)
        .filter(|t| t.start <= offset && t.kind != Kind::Whitespace)
        .map(|t| Span::new(t.start, t.end))
}

/// The span of tokens `first..last` that end by `limit`, without trailing
/// whitespace and comments.
fn trimmed(tokens: &[Token], first: usize, last: usize, limit: usize) -> Span {
    let Some(head) = tokens.get(first) else {
        return Span::new(limit, limit);
    };
    let end = tokens
        .get(first..last)
        .unwrap_or_default()
        .iter()
        .filter(|t| t.end <= limit && !matches!(t.kind, Kind::Whitespace | Kind::Comment { .. }))
        .map(|t| t.end)
        .next_back()
        .unwrap_or(head.end);
    Span::new(head.start, end)
}

fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Style rules, including those nested in other rules and grouping at-rules.
fn count_style_rules(rules: &CssRuleList<'_>) -> usize {
    rules
        .0
        .iter()
        .map(|rule| match rule {
            CssRule::Style(rule) => 1 + count_style_rules(&rule.rules),
            CssRule::Nesting(rule) => 1 + count_style_rules(&rule.style.rules),
            CssRule::Media(rule) => count_style_rules(&rule.rules),
            CssRule::Supports(rule) => count_style_rules(&rule.rules),
            CssRule::Container(rule) => count_style_rules(&rule.rules),
            CssRule::LayerBlock(rule) => count_style_rules(&rule.rules),
            CssRule::MozDocument(rule) => count_style_rules(&rule.rules),
            CssRule::Scope(rule) => count_style_rules(&rule.rules),
            CssRule::StartingStyle(rule) => count_style_rules(&rule.rules),
            _ => 0,
        })
        .sum()
}
