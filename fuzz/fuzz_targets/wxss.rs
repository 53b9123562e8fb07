//! WXSS: the input (UTF-8, lossily) split into two files, `a.wxss` and
//! `b.wxss`, at its first NUL or else in the middle; each is compiled,
//! rendered both ways, and linked as an entry (so `@import "b.wxss"` in the
//! first half links the second, and cycles are possible).

#![no_main]

use bonsai_fuzz::assert_spans_fit;
use bonsai_wxss::{compile_wxss, link_styles, render_fragments};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = match text.split_once('\0') {
        Some(halves) => halves,
        None => text.split_at(text.floor_char_boundary(text.len() / 2)),
    };
    let sources = [("a.wxss", a), ("b.wxss", b)];
    let source_of = |file: &str| {
        sources
            .iter()
            .find(|(path, _)| *path == file)
            .map(|(_, s)| s.as_bytes())
    };
    let styles: Vec<_> = sources
        .iter()
        .map(|&(path, source)| {
            let (style, diagnostics) = compile_wxss(path, source);
            assert_spans_fit(&diagnostics, source_of);
            style.render(None);
            style.render(Some(0.5));
            (path, style)
        })
        .collect();
    let lookup = |file: &str| {
        styles
            .iter()
            .find(|(path, _)| *path == file)
            .map(|(_, s)| s)
    };
    for (entry, _) in &sources {
        let (fragments, diagnostics) = link_styles(entry, &lookup);
        assert_spans_fit(&diagnostics, source_of);
        render_fragments(&fragments, Some(0.5));
    }
});
