use std::collections::HashMap;

use bonsai_diagnostics::{LineCol, LineIndex, Severity, count_errors};

use super::*;

fn compile(source: &str) -> (CompiledStyle, Vec<Diagnostic>) {
    compile_wxss("pages/index/index.wxss", source)
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<(Severity, &str)> {
    diagnostics
        .iter()
        .map(|d| (d.severity, d.code.as_str()))
        .collect()
}

fn line_col(source: &str, span: Option<Span>) -> LineCol {
    let span = span.expect("diagnostic has a span");
    LineIndex::new(source).line_col(span.start as usize)
}

/// One line per diagnostic: `line:col severity[code] message: spanned text`.
fn listing(source: &str, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let span = d.span.expect("span");
            let at = LineIndex::new(source).line_col(span.start as usize);
            format!(
                "{}:{} {}[{}] {}: {:?}",
                at.line,
                at.column,
                d.severity,
                d.code,
                d.message,
                &source[span.range()]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const SAMPLE: &str = r#"@import "../../common/base.wxss";
/* page styles */
page { background: #f7f7f7; }
.card {
  margin: 0 -20rpx;
  width: calc(100% - 2 * 30rpx);
  border: 1rpx solid rgba(0, 0, 0, .1);
  background: url(img/10rpx.png) no-repeat;
  content: "100rpx";
  *zoom: 1;
}
.card /deep/ .title, .list>>>.item { font-size: 28rpx; }
@media (min-width: 600rpx) {
  .card { width: 50%; }
}
@font-face { font-family: icon; src: url('icon.ttf'); }
@keyframes fade { from { opacity: 0 } to { opacity: 1 } }
@import 'late';
"#;

#[test]
fn sample_renders_both_ways() {
    let (style, diagnostics) = compile(SAMPLE);
    assert!(style.uses_rpx);
    assert_eq!(style.rule_count, 4);
    insta::assert_snapshot!("sample_diagnostics", listing(SAMPLE, &diagnostics));
    insta::assert_snapshot!("sample_css_var", style.render(None));
    insta::assert_snapshot!("sample_css_px", style.render(Some(0.5)));
}

#[test]
fn rpx_becomes_calc_or_px() {
    let (style, diagnostics) = compile(".a{margin:10rpx -2.5rpx 0 1e1rpx}");
    assert_eq!(diagnostics, []);
    assert_eq!(
        style.render(None),
        ".a{margin:calc(10 * var(--rpx)) calc(-2.5 * var(--rpx)) 0 calc(10 * var(--rpx))}"
    );
    assert_eq!(
        style.render(Some(375.0 / 750.0)),
        ".a{margin:5px -1.25px 0 5px}"
    );
    assert_eq!(
        style.render(Some(1.0 / 3.0)),
        ".a{margin:3.3333px -0.8333px 0 3.3333px}"
    );
}

#[test]
fn rpx_inside_media_is_accepted_and_rendered_as_px() {
    let source = "@media (max-width: 750rpx) and (min-height: 100RPX) { .a { color: red } }";
    let (style, diagnostics) = compile(source);
    assert_eq!(diagnostics, []);
    assert_eq!(style.rule_count, 1);
    assert_eq!(
        style.render(Some(0.5)),
        "@media (max-width: 375px) and (min-height: 50px) { .a { color: red } }"
    );
}

#[test]
fn rpx_is_only_a_whole_unit_outside_strings_comments_and_urls() {
    let source = ".w-10rpx{a:url(x10rpx.png) '1rpx' 2rpxs 3px/*4rpx*/}";
    let (style, _) = compile(source);
    assert!(!style.uses_rpx);
    assert_eq!(
        style.render(None),
        ".w-10rpx{a:url(x10rpx.png) '1rpx' 2rpxs 3px}"
    );
}

#[test]
fn a_comment_between_two_tokens_keeps_them_apart() {
    let (style, _) = compile(".a/**/.b{margin:1rpx/**/2rpx}");
    assert_eq!(style.render(Some(1.0)), ".a/**/.b{margin:1px/**/2px}");
}

#[test]
fn late_import_is_found_and_removed() {
    let source = ".a{color:red}\n@import \"b.wxss\";\n.c{}\n@import url(/common/x);";
    let (style, diagnostics) = compile(source);
    assert_eq!(diagnostics, []);
    let paths: Vec<_> = style.imports.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["pages/index/b.wxss", "common/x.wxss"]);
    let first = style.imports[0].span;
    assert_eq!(&source[first.range()], "@import \"b.wxss\";");
    assert_eq!(style.render(None), ".a{color:red}\n\n.c{}\n");
    assert_eq!(style.rule_count, 2);
}

#[test]
fn bad_imports_are_errors() {
    let (style, diagnostics) = compile("@import '../../../x.wxss';\n@import foo;\n.a{}");
    assert!(style.imports.is_empty());
    assert_eq!(
        codes(&diagnostics),
        [
            (Severity::Error, "wxss::invalid-import"),
            (Severity::Error, "wxss::invalid-import")
        ]
    );
    assert!(diagnostics[0].message.contains("outside the package root"));
}

#[test]
fn import_cycle_is_reported_on_the_importing_file() {
    let a_src = ".a{}\n@import \"b.wxss\";\n";
    let b_src = "/* b */\n  @import './a.wxss';\n.b{}";
    let files: HashMap<&str, CompiledStyle> = [("a.wxss", a_src), ("b.wxss", b_src)]
        .into_iter()
        .map(|(path, src)| {
            let (style, diagnostics) = compile_wxss(path, src);
            assert_eq!(diagnostics, []);
            (path, style)
        })
        .collect();
    let (fragments, diagnostics) = link_styles("a.wxss", &|p| files.get(p));
    assert_eq!(diagnostics.len(), 1);
    let cycle = &diagnostics[0];
    assert_eq!(cycle.code, "wxss::import-cycle");
    assert_eq!(cycle.severity, Severity::Error);
    assert_eq!(cycle.file.as_deref(), Some("b.wxss"));
    assert!(cycle.message.ends_with("a.wxss -> b.wxss -> a.wxss"));
    assert_eq!(
        &b_src[cycle.span.expect("span").range()],
        "@import './a.wxss';"
    );
    assert_eq!(cycle.location(Some(b_src)).as_deref(), Some("b.wxss:2:3"));
    // Each file once, imports first.
    assert_eq!(render_fragments(&fragments, None), "\n  \n.b{}\n.a{}\n\n");
}

#[test]
fn link_visits_shared_imports_once_and_reports_missing_ones() {
    let sources = [
        (
            "app.wxss",
            "@import 'x.wxss'; @import 'y.wxss'; .app{width:1rpx}",
        ),
        ("x.wxss", "@import 'base.wxss';\n.x{}"),
        ("y.wxss", "@import 'base.wxss';\n@import 'gone.wxss';\n.y{}"),
        ("base.wxss", ".base{}"),
    ];
    let files: HashMap<&str, CompiledStyle> = sources
        .iter()
        .map(|(path, src)| (*path, compile_wxss(path, src).0))
        .collect();
    let (fragments, diagnostics) = link_styles("app.wxss", &|p| files.get(p));
    assert_eq!(
        render_fragments(&fragments, Some(2.0)),
        ".base{}\n\n.x{}\n\n\n.y{}\n  .app{width:2px}"
    );
    assert_eq!(
        codes(&diagnostics),
        [(Severity::Error, "wxss::missing-import")]
    );
    assert_eq!(diagnostics[0].file.as_deref(), Some("y.wxss"));
    let y_src = sources[2].1;
    assert_eq!(
        &y_src[diagnostics[0].span.expect("span").range()],
        "@import 'gone.wxss';"
    );

    let (fragments, diagnostics) = link_styles("nope.wxss", &|p| files.get(p));
    assert!(fragments.is_empty());
    assert_eq!(
        codes(&diagnostics),
        [(Severity::Error, "wxss::missing-import")]
    );
}

#[test]
fn deep_combinators_become_descendant_combinators() {
    let source = ".a /deep/ .b{color:red}.c>>>.d{color:red}.e /DEEP/.f{}";
    let (style, diagnostics) = compile(source);
    assert_eq!(diagnostics, []);
    assert_eq!(style.rule_count, 3);
    assert_eq!(
        style.render(None),
        ".a   .b{color:red}.c .d{color:red}.e  .f{}"
    );
}

#[test]
fn wechat_leniencies_are_warnings() {
    let source = ". { color: red }\n.a { *zoom: 1; color: red; foo-bar: 1; width: bogus }\n\
                  @foo bar;\n.b::v-deep .c { color: red }\n.d { color: var(--x #333) }";
    let (style, diagnostics) = compile(source);
    assert_eq!(count_errors(&diagnostics), 0, "{diagnostics:#?}");
    assert_eq!(
        codes(&diagnostics),
        [
            (Severity::Warning, "wxss::empty-class"),
            (Severity::Warning, "wxss::invalid-declaration"),
            (Severity::Warning, "wxss::unknown-at-rule"),
            (Severity::Warning, "wxss::unknown-selector"),
            (Severity::Warning, "wxss::invalid-declaration"),
        ]
    );
    let zoom = diagnostics[1].span.expect("span");
    assert_eq!(&source[zoom.range()], "*zoom: 1;");
    // The output keeps every declaration; browsers drop only the bad ones.
    assert!(style.render(None).contains("*zoom: 1; color: red;"));
}

#[test]
fn broken_selector_is_an_error_at_the_offending_token() {
    let source = ".ok { color: red }\n\n  .a ! .b { color: red }\n.c { color: blue }";
    let (style, diagnostics) = compile(source);
    assert_eq!(
        codes(&diagnostics),
        [(Severity::Error, "wxss::invalid-selector")]
    );
    let span = diagnostics[0].span;
    assert_eq!(&source[span.expect("span").range()], "!");
    assert_eq!(line_col(source, span), LineCol { line: 3, column: 6 });
    assert_eq!(style.rule_count, 2);
}

#[test]
fn unclosed_block_is_an_error_and_gets_closed() {
    let source = ".a { color: red }\n.b { color: red";
    let (style, diagnostics) = compile(source);
    assert_eq!(
        codes(&diagnostics),
        [(Severity::Error, "wxss::unclosed-block")]
    );
    assert_eq!(
        line_col(source, diagnostics[0].span),
        LineCol { line: 2, column: 4 }
    );
    assert_eq!(style.render(None), ".a { color: red }\n.b { color: red}");
}

#[test]
fn double_brace_and_stray_brace_are_errors() {
    let source = ".b {{ }\n.c { color: red }";
    let (_, diagnostics) = compile(source);
    assert!(codes(&diagnostics).contains(&(Severity::Error, "wxss::unclosed-block")));

    let source = ".a { color: red } }\n.c { color: red }";
    let (style, diagnostics) = compile(source);
    assert_eq!(
        codes(&diagnostics),
        [(Severity::Error, "wxss::stray-brace")]
    );
    assert_eq!(diagnostics[0].span, Some(Span::new(18, 19)));
    // Without the stray brace the next rule survives in a browser.
    assert_eq!(style.render(None), ".a { color: red } \n.c { color: red }");
    assert_eq!(style.rule_count, 2);
}

#[test]
fn broken_stylesheet_diagnostics() {
    let source = "\
.ok { color: red }
.c ! .d { color: red }
. { color: red }
.e { color: red; *zoom: 1; width: 10rpx }
@import \"../../../outside.wxss\";
@media (min-width: 100rpx) { .f { color: red } @import 'nested.wxss'; }
} .g { color: red }
.h { color: red
";
    let (style, diagnostics) = compile(source);
    assert_eq!(
        style.render(None).matches('{').count(),
        style.render(None).matches('}').count()
    );
    insta::assert_snapshot!(listing(source, &diagnostics));
}

#[test]
fn garbage_after_the_last_rule_is_an_error() {
    let (_, diagnostics) = compile(".a{}\n.b");
    assert_eq!(
        codes(&diagnostics),
        [(Severity::Error, "wxss::invalid-rule")]
    );
}

#[test]
fn positions_survive_crlf_multibyte_text_and_blanked_imports() {
    let source = "@import '中文.wxss'; .a{}\r\n/* 注释 */ .b \u{1F600}{}\r.c ! .d {}";
    let (style, diagnostics) = compile(source);
    assert_eq!(style.imports[0].path, "pages/index/中文.wxss");
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{diagnostics:#?}");
    assert_eq!(&source[errors[0].span.expect("span").range()], "!");
}

/// A small deterministic generator, to keep the crate free of a `rand`
/// dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn check_never_panics(source: &str) {
    let (style, diagnostics) = compile(source);
    for d in &diagnostics {
        if let Some(span) = d.span {
            assert!(source.get(span.range()).is_some(), "{d:?} in {source:?}");
        }
    }
    for import in &style.imports {
        assert!(source.get(import.span.range()).is_some());
    }
    style.render(None);
    style.render(Some(0.5));
}

#[test]
fn never_panics_on_truncations() {
    for end in 0..=SAMPLE.len() {
        if SAMPLE.is_char_boundary(end) {
            check_never_panics(&SAMPLE[..end]);
        }
    }
}

#[test]
fn never_panics_on_random_input() {
    let mut rng = XorShift(0x5eed_cafe_f00d_d00d);
    let alphabet: Vec<char> =
        "{}()[];:,.*/\\\"'@#-+>~ \n\r\x0c\t0123456789e%abrpxurlimportdeep中\u{1F600}!"
            .chars()
            .collect();
    for _ in 0..2000 {
        let len = (rng.next() % 64) as usize;
        let source: String = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        check_never_panics(&source);
    }
    for _ in 0..300 {
        let len = (rng.next() % 256) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_never_panics(&String::from_utf8_lossy(&bytes));
    }
    // Byte-level mutations of the sample.
    for _ in 0..500 {
        let mut bytes = SAMPLE.as_bytes().to_vec();
        for _ in 0..4 {
            let at = (rng.next() % bytes.len() as u64) as usize;
            bytes[at] = b"{}();'\"/*\\"[(rng.next() % 10) as usize];
        }
        check_never_panics(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn never_panics_on_deep_nesting() {
    for open in ["{", "(", "[", "a{", "@media x{", "f(", ":is("] {
        check_never_panics(&open.repeat(20_000));
    }
    let nested = format!("{}.a{{}}{}", "@media x{".repeat(100), "}".repeat(100));
    let (_, diagnostics) = compile(&nested);
    assert_eq!(codes(&diagnostics), [(Severity::Warning, "wxss::too-deep")]);
}
