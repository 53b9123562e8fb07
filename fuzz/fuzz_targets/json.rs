//! JSON: the input parsed as any value, as an `app.json` and as a page's
//! `.json`, then a whole package loaded with the input as both its
//! `app.json` and the `.json` of page `pages/index/index`.

#![no_main]

use bonsai_fuzz::assert_spans_fit;
use bonsai_package::{AppConfig, ComponentConfig, LoadOptions, PackageFiles, load, parse_json};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const PAGE: &str = "pages/index/index";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let errors = [
        parse_json::<Value>("app.json", &text).err(),
        parse_json::<AppConfig>("app.json", &text).err(),
        parse_json::<ComponentConfig>("app.json", &text).err(),
    ];
    let errors: Vec<_> = errors.into_iter().flatten().collect();
    assert_spans_fit(&errors, |_| Some(text.as_bytes()));

    let mut files = PackageFiles::new();
    files.insert("app.json", data);
    files.insert(format!("{PAGE}.json"), data);
    files.insert(format!("{PAGE}.wxml"), "<view>{{message}}</view>");
    files.insert(format!("{PAGE}.js"), "Page({ data: { message: 'hi' } })");
    let (_, diagnostics) = load(&files, &LoadOptions::default());
    assert_spans_fit(&diagnostics, |file| files.get(file));
});
