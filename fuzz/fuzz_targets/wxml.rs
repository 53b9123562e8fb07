//! WXML: the input (UTF-8, lossily) as one template of a group, through
//! glass-easel's parser, the reference check and code generation.

#![no_main]

use bonsai_fuzz::{assert_spans_fit, on_big_stack};
use bonsai_wxml::TemplateGroup;
use libfuzzer_sys::{Corpus, fuzz_target};

const PATH: &str = "pages/index/index.wxml";

fuzz_target!(|data: &[u8]| -> Corpus {
    let source = String::from_utf8_lossy(data);
    on_big_stack(|| {
        let mut group = TemplateGroup::new();
        let mut diagnostics = group.set_template(PATH, &source);
        diagnostics.extend(group.check_references());
        // A generation failure is a diagnostic without a span: nothing to check.
        let _ = group.generate();
        assert_spans_fit(&diagnostics, |file| {
            (file == PATH).then_some(source.as_bytes())
        });
    });
    Corpus::Keep
});
