//! A bounded, deterministic fuzz run in the ordinary test suite.
//!
//! Real files from the public corpus (`target/corpus`, fetched on first use)
//! and a few written here are mutated by a fixed-seed xorshift generator —
//! truncated, cut, duplicated, swapped, salted with WXML, WXSS, JSON and JS
//! tokens, NULs, multibyte characters and deep nesting — and fed to every
//! entry point: the template group, the WXSS compiler and linker, JSON
//! parsing, package loading followed by a whole compile, and the script
//! transform and syntax check. Nothing may panic, and every diagnostic with a
//! span must name a known file and fit it, on character boundaries. When a
//! panic fails the test, the input that caused it is printed first.
//!
//! Panics that a crate catches by design (in glass-easel or swc) are not
//! failures; they are counted and printed. `fuzz/` explores much further.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bonsai_compiler::Compiler;
use bonsai_diagnostics::Diagnostic;
use bonsai_package::{AppConfig, ComponentConfig, LoadOptions, PackageFiles, load, parse_json};
use bonsai_wxml::TemplateGroup;
use bonsai_wxss::{compile_wxss, link_styles, render_fragments};
use serde_json::Value;

/// The generator's fixed seed: every run mutates the same way.
const SEED: u64 = 0x2545_f491_4f6c_dd1d;
/// Inputs per kind, tuned to keep the test well under 30 s in debug builds.
const WXML_ROUNDS: usize = 1600;
const WXSS_ROUNDS: usize = 1200;
const JSON_ROUNDS: usize = 400;
const SCRIPT_ROUNDS: usize = 800;
/// Corpus files larger than this are not picked as seeds.
const MAX_SEED_LEN: u64 = 8 * 1024;
/// Mutated inputs are cut to this length.
const MAX_INPUT_LEN: usize = 32 * 1024;

/// Stack of the thread the run uses. glass-easel's template parser recurses
/// once per nested tag or bracket: a release build on the CLI's 8 MiB main
/// thread takes about a thousand nested tags, and debug frames are several
/// times larger, while mutations nest a few thousand deep.
const STACK_SIZE: usize = 256 * 1024 * 1024;

/// The diagnostic codes of panics caught inside the compilers.
const CAUGHT_PANIC_CODES: &[&str] = &["wxml::compiler-panic", "js::internal"];

/// Fragments that matter to at least one of the parsers.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "<view>",
    "</view>",
    "<view class=\"a {{b}}\">",
    "{{",
    "}}",
    "{{a ? b : c}}",
    // Overflows glass-easel's integer literal parsing: a caught panic in
    // debug builds, a wrapped number in release ones.
    "{{ 99999999999999999999 }}",
    "\"",
    "'",
    "=",
    "<!--",
    "-->",
    "wx:for=\"{{list}}\"",
    "wx:if=\"{{a}}\"",
    "wx:else",
    "<block wx:for=\"{{[1, 2]}}\" wx:key=\"*this\">",
    "<template name=\"t\">",
    "<template is=\"t\" data=\"{{...item}}\"/>",
    "<import src=\"./missing.wxml\"/>",
    "<include src=\"/pages/logs/logs.wxml\"/>",
    "<wxs module=\"m\" src=\"./m.wxs\"></wxs>",
    "<wxs module=\"n\">module.exports = {};</wxs>",
    "<slot>fallback</slot>",
    "@import \"x\";",
    "@import \"b.wxss\";",
    "@import url(a.wxss);",
    "rpx",
    "1e309rpx",
    "-.5rpx",
    "/deep/",
    ">>>",
    "/*",
    "*/",
    "url(",
    "@media (min-width: 100rpx) {",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ";",
    ":",
    ",",
    "\\",
    "\0",
    "\n",
    "\r\n",
    "\u{feff}",
    "\"pages\": [\"pages/index/index\"]",
    "\"usingComponents\": {\"x\": \"../x/x\"}",
    "\"component\": true",
    "\"subPackages\": [{\"root\": \"sub\", \"pages\": [\"p/p\"]}]",
    "\"miniprogramRoot\": \"mp/\"",
    "null",
    "1e999",
    "import x from './x';",
    "export default ",
    "export * from 'y';",
    "require('z')",
    "=>",
    "`${",
    "as any",
    "<T,>",
    "//",
];

/// Characters that stress byte/character arithmetic.
const CHARS: &[char] = &[
    'é',
    '中',
    '😀',
    '\u{fffd}',
    '\u{200b}',
    '\u{301}',
    '\u{2028}',
    '\u{0}',
    '\u{7f}',
    '\u{10ffff}',
];

/// What is opened many times over to build deep nesting.
const OPENERS: &[&str] = &[
    "(",
    "[",
    "{",
    "{{",
    "<view>",
    "<block wx:if=\"{{a}}\">",
    "a{",
];

struct Rng(u64);

impl Rng {
    /// xorshift64.
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A range of at most `max` bytes inside `0..len`.
    fn range(&mut self, len: usize, max: usize) -> (usize, usize) {
        let start = self.below(len + 1);
        (start, (start + self.below(max + 1)).min(len))
    }
}

/// Applies one to four random edits to `input`.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        let at = rng.below(len + 1);
        // What a file starts with matters most (a BOM, `<`, `{`): one in
        // eight insertions is made there.
        let insert_at = if rng.below(8) == 0 { 0 } else { at };
        match rng.below(8) {
            0 => input.truncate(at),
            1 => {
                let (start, end) = rng.range(len, 64);
                input.drain(start..end);
            }
            2 => {
                let (start, end) = rng.range(len, 256);
                let copy = input[start..end].to_vec();
                input.splice(at..at, copy);
            }
            3 => {
                let mut cuts = [0; 4].map(|_| rng.below(len + 1));
                cuts.sort_unstable();
                let [a, b, c, d] = cuts;
                let swapped = [
                    &input[..a],
                    &input[c..d],
                    &input[b..c],
                    &input[a..b],
                    &input[d..],
                ];
                *input = swapped.concat();
            }
            4 => {
                let token = rng.pick(TOKENS).as_bytes();
                input.splice(insert_at..insert_at, token.iter().copied());
            }
            5 => {
                let random = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}');
                let c = if rng.below(2) == 0 {
                    *rng.pick(CHARS)
                } else {
                    random
                };
                input.splice(insert_at..insert_at, c.to_string().into_bytes());
            }
            6 => {
                let nested = rng.pick(OPENERS).repeat(1 + rng.below(500));
                input.splice(insert_at..insert_at, nested.into_bytes());
            }
            _ => {
                if len > 0 {
                    input[at.min(len - 1)] = rng.next() as u8;
                }
            }
        }
    }
    input.truncate(MAX_INPUT_LEN);
}

/// Prints the input under test if the test panics while this is alive.
struct ReportOnPanic<'a> {
    what: &'a str,
    input: &'a [u8],
}

impl Drop for ReportOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "mutation: {} failed on this input ({} bytes):\n{:?}",
                self.what,
                self.input.len(),
                String::from_utf8_lossy(self.input)
            );
        }
    }
}

/// What the run met that is not a failure: panics the compilers caught, by
/// diagnostic code.
#[derive(Default)]
struct Tally {
    caught: BTreeMap<String, usize>,
}

impl Tally {
    fn record(&mut self, diagnostics: &[Diagnostic]) {
        for d in diagnostics {
            if CAUGHT_PANIC_CODES.contains(&d.code.as_str()) {
                *self.caught.entry(d.code.clone()).or_default() += 1;
            }
        }
    }
}

/// Every small file under `dir` with extension `ext`, in path order.
fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext)
            && path.metadata().is_ok_and(|m| m.len() <= MAX_SEED_LEN)
        {
            out.push(path);
        }
    }
}

/// `count` corpus files with extension `ext`, spread evenly over the sorted list.
fn corpus_seeds(corpus: &Path, ext: &str, count: usize) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    collect(corpus, ext, &mut files);
    assert!(files.len() >= count, "the corpus has too few .{ext} files");
    (0..count)
        .map(|i| {
            let path = &files[i * files.len() / count];
            std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

const APP_JSON: &str = r#"{
  "pages": ["pages/index/index", "pages/logs/logs"],
  "subPackages": [{"root": "sub", "pages": ["p/p"], "independent": true}],
  "tabBar": {"list": [{"pagePath": "pages/index/index", "text": "首页"}, {"pagePath": "pages/logs/logs", "text": "Logs"}]},
  "usingComponents": {"card": "/components/card/card"},
  "resolveAlias": {"~/*": "/*"},
  "window": {"navigationBarTitleText": "Bonsai 🌳"}
}"#;

const PAGE_JSON: &str = r#"{
  "usingComponents": {"card": "../../components/card/card", "alias": "~/components/card/card", "p": "plugin://demo/p"},
  "componentGenerics": {"g": {"default": "/components/card/card"}},
  "navigationBarTitleText": "Index"
}"#;

const COMPONENT_JSON: &str = r#"{"component": true, "usingComponents": {"self": "./card"}, "styleIsolation": "apply-shared"}"#;

const PROJECT_JSON: &str = r#"{"miniprogramRoot": "./", "setting": {"es6": true}, "packOptions": {"ignore": [{"type": "file", "value": "big.js"}]}}"#;

const WXML: &str = r#"<import src="/common/tmpl.wxml"/>
<wxs module="fmt" src="../../utils/fmt.wxs"></wxs>
<wxs module="inline">module.exports = { up: function (s) { return s.toUpperCase() } };</wxs>
<template name="item"><text>{{index}}: {{item.name}} — 中文 😀</text></template>
<view wx:for="{{list}}" wx:key="id" class="row {{active ? 'on' : ''}}" style="width: {{w}}rpx" bindtap="onTap" data-id="{{item.id}}">
  <template is="item" data="{{...item, index}}"/>
  <block wx:if="{{item.count > 0 && !hidden}}"><card generic:g="card" model:value="{{v}}"><slot name="extra"></slot></card></block>
  <text wx:elif="{{item.count < 0}}">{{fmt.price(item.price)}}</text>
  <text wx:else>{{inline.up(item.name)}}</text>
</view>
<include src="footer.wxml"/>
"#;

const WXSS: &str = r#"@import "b.wxss";
@import "/common/base.wxss";
.page { padding: 24rpx 32rpx; margin: -1.5rpx; width: calc(100% - 20rpx); }
.a /deep/ .b, .c >>> .d { color: #fff; *zoom: 1; content: "中文 😀 rpx"; }
@media (min-width: 750rpx) { .e { font-size: 28rpx; } }
@keyframes spin { from { transform: rotate(0deg) } to { transform: rotate(360deg) } }
@font-face { font-family: "x"; src: url("data:font/woff;base64,AAAA") }
page { --gap: 8rpx; } .f:not(.g)::after { border: 1rpx solid var(--gap); }
"#;

const ESM: &str = r#"import { price } from '../../utils/fmt';
import card, * as all from '~/components/card/card';
export default Component({
  properties: { n: { type: Number, value: 0 } },
  methods: { tap(e) { this.triggerEvent('tap', { ...e.detail, price: price(this.data.n) }); } },
});
export const later = async () => { for await (const x of all.items ?? []) { console.log(`${x}中文`); } };
"#;

const TS: &str = r#"import type { Item } from './types';
interface Props { a: number; b?: string }
enum Kind { A = 1, B }
export function first<T extends Item>(xs: readonly T[]): T | undefined { return xs[0] as T; }
export default class Store implements Props { a = Kind.A; constructor(private readonly key: string) {} }
"#;

const WXS: &str = r#"var format = function (n) { return (n / 100).toFixed(2) + '元'; };
module.exports = { price: format, re: getRegExp('^a+$', 'g') };
"#;

/// A small, valid app whose files the JSON round replaces one at a time.
fn base_package() -> PackageFiles {
    let mut files = PackageFiles::new();
    let mut add = |path: &str, content: &str| files.insert(path, content);
    add("project.config.json", PROJECT_JSON);
    add("app.json", APP_JSON);
    add("app.js", "App({})");
    add("app.wxss", WXSS);
    add("b.wxss", ".b { margin: 2rpx }");
    add("common/base.wxss", "page { color: red }");
    add(
        "common/tmpl.wxml",
        "<template name=\"t\"><text>t</text></template>",
    );
    add("utils/fmt.wxs", WXS);
    add("utils/fmt.js", "export const price = (n) => n.toFixed(2);");
    for page in ["pages/index/index", "pages/logs/logs", "sub/p/p"] {
        add(&format!("{page}.json"), PAGE_JSON);
        add(&format!("{page}.wxml"), WXML);
        add(&format!("{page}.js"), ESM);
    }
    add("pages/index/footer.wxml", "<view>footer</view>");
    add("components/card/card.json", COMPONENT_JSON);
    add("components/card/card.wxml", "<view><slot/></view>");
    add("components/card/card.ts", TS);
    add("components/card/card.wxss", ".card { padding: 0 16rpx }");
    files
}

/// Templates, each also in the group as another path, so imports between them resolve.
fn wxml_round(rng: &mut Rng, seeds: &[Vec<u8>], wxs: &[Vec<u8>], tally: &mut Tally) {
    let paths = [
        "pages/index/index.wxml",
        "pages/logs/logs.wxml",
        "common/tmpl.wxml",
    ];
    let mut group = TemplateGroup::new();
    let mut sources: BTreeMap<&str, String> = BTreeMap::new();
    for round in 0..WXML_ROUNDS {
        let mut input = rng.pick(seeds).clone();
        mutate(rng, &mut input);
        let _report = ReportOnPanic {
            what: "WXML",
            input: &input,
        };
        let source = String::from_utf8_lossy(&input).into_owned();
        let path = *rng.pick(&paths);
        let diagnostics = group.set_template(path, &source);
        sources.insert(path, source);
        tally.record(&diagnostics);
        bonsai_corpus::assert_spans_fit(&diagnostics, |file| {
            sources.get(file).map(|s| s.as_bytes())
        });
        if round % 4 == 0 {
            let mut script = rng.pick(wxs).clone();
            mutate(rng, &mut script);
            let _report = ReportOnPanic {
                what: "WXS",
                input: &script,
            };
            let script = String::from_utf8_lossy(&script);

            group.set_script("utils/fmt.wxs", &script);
            let diagnostics = bonsai_js::check_script_syntax("utils/fmt.wxs", &script);
            tally.record(&diagnostics);
            bonsai_corpus::assert_spans_fit(&diagnostics, |_| Some(script.as_bytes()));
        }
        let diagnostics = group.check_references();
        bonsai_corpus::assert_spans_fit(&diagnostics, |file| {
            sources.get(file).map(|s| s.as_bytes())
        });
        if let Err(diagnostic) = group.generate() {
            tally.record(&[diagnostic]);
        }
    }
}

/// Two stylesheets, the second sometimes imported by the first, linked.
fn wxss_round(rng: &mut Rng, seeds: &[Vec<u8>], tally: &mut Tally) {
    for _ in 0..WXSS_ROUNDS {
        let mut inputs = [rng.pick(seeds).clone(), rng.pick(seeds).clone()];
        if rng.below(2) == 0 {
            inputs[0].splice(0..0, b"@import \"b.wxss\";".iter().copied());
        }
        for input in &mut inputs {
            mutate(rng, input);
        }
        let joined = inputs.join(&b'\0');
        let _report = ReportOnPanic {
            what: "WXSS (a.wxss NUL b.wxss)",
            input: &joined,
        };
        let sources = [
            ("a.wxss", String::from_utf8_lossy(&inputs[0])),
            ("b.wxss", String::from_utf8_lossy(&inputs[1])),
        ];
        let source_of = |file: &str| {
            sources
                .iter()
                .find(|(path, _)| *path == file)
                .map(|(_, s)| s.as_bytes())
        };
        let mut styles = Vec::new();
        for (path, source) in &sources {
            let (style, diagnostics) = compile_wxss(path, source);
            tally.record(&diagnostics);
            bonsai_corpus::assert_spans_fit(&diagnostics, source_of);
            style.render(None);
            style.render(Some(0.5));
            styles.push((*path, style));
        }
        let lookup = |file: &str| {
            styles
                .iter()
                .find(|(path, _)| *path == file)
                .map(|(_, s)| s)
        };
        let (fragments, diagnostics) = link_styles("a.wxss", &lookup);
        bonsai_corpus::assert_spans_fit(&diagnostics, source_of);
        render_fragments(&fragments, None);
        render_fragments(&fragments, Some(0.5));
    }
}

/// One JSON file of a valid app mutated, parsed alone, then the app loaded
/// and compiled.
fn json_round(rng: &mut Rng, seeds: &[Vec<u8>], tally: &mut Tally) {
    let targets = [
        "app.json",
        "pages/index/index.json",
        "components/card/card.json",
        "project.config.json",
    ];
    let base = base_package();
    for _ in 0..JSON_ROUNDS {
        let mut input = rng.pick(seeds).clone();
        mutate(rng, &mut input);
        let _report = ReportOnPanic {
            what: "JSON",
            input: &input,
        };
        let text = String::from_utf8_lossy(&input);
        let errors = [
            parse_json::<Value>("a.json", &text).err(),
            parse_json::<AppConfig>("a.json", &text).err(),
            parse_json::<ComponentConfig>("a.json", &text).err(),
        ];
        let errors: Vec<_> = errors.into_iter().flatten().collect();
        bonsai_corpus::assert_spans_fit(&errors, |_| Some(text.as_bytes()));

        let mut files = base.clone();
        files.insert(*rng.pick(&targets), input.clone());
        let (manifest, diagnostics) = load(&files, &LoadOptions::default());
        // Loader diagnostics name project files, compile diagnostics files
        // under the mini-program root.
        let source_of = |file: &str| manifest.files.get(file).or_else(|| files.get(file));
        bonsai_corpus::assert_spans_fit(&diagnostics, source_of);
        let (_, diagnostics) = Compiler::new().compile(&manifest);
        tally.record(&diagnostics);
        bonsai_corpus::assert_spans_fit(&diagnostics, source_of);
    }
}

/// Scripts through the module transform (as JavaScript or TypeScript) and the
/// WXS syntax check.
fn script_round(rng: &mut Rng, seeds: &[(&str, Vec<u8>)], tally: &mut Tally) {
    for _ in 0..SCRIPT_ROUNDS {
        let (path, seed) = rng.pick(seeds);
        let mut input = seed.clone();
        mutate(rng, &mut input);
        let _report = ReportOnPanic {
            what: path,
            input: &input,
        };
        let source = String::from_utf8_lossy(&input);

        let (_, diagnostics) = bonsai_js::transform_module(path, &source);
        tally.record(&diagnostics);
        bonsai_corpus::assert_spans_fit(&diagnostics, |_| Some(source.as_bytes()));
        let diagnostics = bonsai_js::check_script_syntax("a.wxs", &source);
        tally.record(&diagnostics);
        bonsai_corpus::assert_spans_fit(&diagnostics, |_| Some(source.as_bytes()));
    }
}

#[test]
fn mutated_inputs_neither_panic_nor_misplace_spans() {
    let run = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(run)
        .expect("spawning the fuzz thread");
    if let Err(panic) = run.join() {
        std::panic::resume_unwind(panic);
    }
}

fn run() {
    let corpus = bonsai_corpus::corpus_dir();
    let with = |mut seeds: Vec<Vec<u8>>, own: &[&str]| {
        seeds.extend(own.iter().map(|s| s.as_bytes().to_vec()));
        seeds
    };
    let wxml = with(corpus_seeds(&corpus, "wxml", 20), &[WXML, "", "<view>"]);
    let wxss = with(corpus_seeds(&corpus, "wxss", 20), &[WXSS, ""]);
    let json = with(
        corpus_seeds(&corpus, "json", 10),
        &[APP_JSON, PAGE_JSON, COMPONENT_JSON, PROJECT_JSON, ""],
    );
    let wxs = with(corpus_seeds(&corpus, "wxs", 4), &[WXS]);
    let mut scripts: Vec<(&str, Vec<u8>)> = Vec::new();
    for (path, ext, count, own) in [("a.js", "js", 7, ESM), ("a.ts", "ts", 3, TS)] {
        let seeds = with(corpus_seeds(&corpus, ext, count), &[own]);
        scripts.extend(seeds.into_iter().map(|s| (path, s)));
    }

    let mut rng = Rng(SEED);
    let mut tally = Tally::default();
    wxml_round(&mut rng, &wxml, &wxs, &mut tally);
    wxss_round(&mut rng, &wxss, &mut tally);
    json_round(&mut rng, &json, &mut tally);
    script_round(&mut rng, &scripts, &mut tally);
    eprintln!(
        "mutation: panics caught inside the compilers: {:?}",
        tally.caught
    );
}
