//! Source maps (v3 JSON) from the engine's code back to the author's file.
//!
//! Lines are split on `\n` and columns count UTF-16 code units, as swc's
//! printer does and as JavaScript engines report positions.

use swc_core::common::source_map::SourceMapGenConfig;
use swc_core::common::sync::Lrc;
use swc_core::common::{BytePos, FileName, LineCol, SourceMap};
use swc_sourcemap::SourceMapBuilder;

/// The map of code printed by swc, from the mappings its printer recorded.
pub(crate) fn from_swc(
    cm: &Lrc<SourceMap>,
    path: &str,
    mappings: &[(BytePos, LineCol)],
) -> Result<String, String> {
    to_json(&cm.build_source_map(mappings, None, NameSourceAs(path)))
}

/// The map of code that is the source itself. Every word and punctuation mark
/// maps to itself, so an engine position maps back to the same line and
/// column even in a minified one-line file.
pub(crate) fn identity(path: &str, source: &str) -> Result<String, String> {
    let mut builder = SourceMapBuilder::new(None);
    let source_id = builder.add_source(path.to_owned().into());
    for (line, text) in (0u32..).zip(source.split('\n')) {
        let mut column = 0u32;
        let mut in_word = false;
        for c in text.chars() {
            let word = c.is_alphanumeric() || c == '_' || c == '$';
            let continues_word = word && in_word;
            if !(c.is_whitespace() || continues_word) {
                builder.add_raw(line, column, line, column, Some(source_id), None, false);
            }
            in_word = word;
            // A char is at most two UTF-16 units.
            column += c.len_utf16() as u32;
        }
    }
    to_json(&builder.into_sourcemap())
}

fn to_json(map: &swc_sourcemap::SourceMap) -> Result<String, String> {
    let mut json = Vec::new();
    map.to_writer(&mut json).map_err(|e| e.to_string())?;
    String::from_utf8(json).map_err(|e| e.to_string())
}

/// Names the single source by the package-relative path the caller gave,
/// without inlining its content.
struct NameSourceAs<'a>(&'a str);

impl SourceMapGenConfig for NameSourceAs<'_> {
    fn file_name_to_source(&self, _: &FileName) -> String {
        self.0.to_owned()
    }

    fn inline_sources_content(&self, _: &FileName) -> bool {
        false
    }
}
