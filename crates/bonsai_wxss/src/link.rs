//! Linking: one stylesheet followed by everything it imports, as one list of
//! fragments.

use std::collections::HashSet;

use bonsai_diagnostics::Diagnostic;

use crate::{CompiledStyle, StyleFragment};

/// Concatenates a stylesheet with its imports depth-first (imports first,
/// each file once), detecting cycles: a cyclic @import is an Error diagnostic
/// on the importing file naming the cycle ("a.wxss -> b.wxss -> a.wxss") with
/// the span of the @import. A missing import is an Error at its span.
pub fn link_styles<'a>(
    entry: &str,
    lookup: &dyn Fn(&str) -> Option<&'a CompiledStyle>,
) -> (Vec<StyleFragment>, Vec<Diagnostic>) {
    let mut fragments = Vec::new();
    let mut diagnostics = Vec::new();
    let Some(style) = lookup(entry) else {
        diagnostics.push(
            Diagnostic::error(
                "wxss::missing-import",
                format!("stylesheet `{entry}` does not exist"),
            )
            .in_file(entry),
        );
        return (fragments, diagnostics);
    };
    let mut done: HashSet<String> = HashSet::new();
    // The chain of files being linked, each with the next import to visit;
    // an explicit stack, because import chains are as deep as users make them.
    let mut chain: Vec<(String, &CompiledStyle, usize)> = vec![(entry.to_owned(), style, 0)];
    while let Some((path, style, next)) = chain.last_mut() {
        let style: &'a CompiledStyle = style;
        let Some(import) = style.imports.get(*next) else {
            append(&mut fragments, &style.fragments);
            done.insert(std::mem::take(path));
            chain.pop();
            continue;
        };
        *next += 1;
        let importer = path.clone();
        if let Some(start) = chain.iter().position(|(p, _, _)| *p == import.path) {
            let cycle: Vec<&str> = chain[start..]
                .iter()
                .map(|(p, _, _)| p.as_str())
                .chain([import.path.as_str()])
                .collect();
            diagnostics.push(
                Diagnostic::error(
                    "wxss::import-cycle",
                    format!("cyclic @import: {}", cycle.join(" -> ")),
                )
                .in_file(importer)
                .with_span(import.span)
                .with_help("remove one of the imports in the cycle"),
            );
        } else if !done.contains(&import.path) {
            match lookup(&import.path) {
                Some(imported) => chain.push((import.path.clone(), imported, 0)),
                None => diagnostics.push(
                    Diagnostic::error(
                        "wxss::missing-import",
                        format!("imported stylesheet `{}` does not exist", import.path),
                    )
                    .in_file(importer)
                    .with_span(import.span),
                ),
            }
        }
    }
    (fragments, diagnostics)
}

/// Appends one file's fragments, starting it on a new line.
fn append(out: &mut Vec<StyleFragment>, fragments: &[StyleFragment]) {
    let needs_break = match out.last() {
        Some(StyleFragment::Css(css)) => !css.ends_with('\n'),
        Some(StyleFragment::Rpx(_)) => true,
        None => false,
    };
    if needs_break {
        push_css(out, "\n");
    }
    for fragment in fragments {
        match fragment {
            StyleFragment::Css(css) => push_css(out, css),
            rpx => out.push(rpx.clone()),
        }
    }
}

fn push_css(out: &mut Vec<StyleFragment>, text: &str) {
    match out.last_mut() {
        Some(StyleFragment::Css(css)) => css.push_str(text),
        _ => out.push(StyleFragment::Css(text.to_owned())),
    }
}
