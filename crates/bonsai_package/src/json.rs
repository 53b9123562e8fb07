//! Strict JSON, as the devtools read `app.json` and friends: no comments, no
//! trailing commas. A syntax or type error becomes a diagnostic positioned on
//! the offending byte.

use bonsai_diagnostics::{Diagnostic, LineIndex, Span};
use serde::de::DeserializeOwned;

/// Parses `source` as a `T`. Syntax and type errors are reported with the
/// position serde_json found them at.
pub fn parse_json<T: DeserializeOwned>(path: &str, source: &str) -> Result<T, Diagnostic> {
    // Spans are into the file, byte order mark included.
    let (bom, source) = match source.strip_prefix('\u{feff}') {
        Some(rest) => ('\u{feff}'.len_utf8(), rest),
        None => (0, source),
    };
    serde_json::from_str(source).map_err(|err| {
        let code = match err.classify() {
            serde_json::error::Category::Data => "json::type",
            _ => "json::syntax",
        };
        // serde_json appends " at line L column C"; the code frame shows that.
        let message = err.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_owned();
        let mut diagnostic =
            Diagnostic::error(code, format!("invalid JSON: {message}")).in_file(path);
        if err.line() > 0 {
            let index = LineIndex::new(source);
            // serde_json counts columns in bytes, 1-based; 0 means "before the first byte".
            let line_start =
                index.offset_of_line_col(u32::try_from(err.line()).unwrap_or(u32::MAX), 1);
            let offset = (line_start + err.column().saturating_sub(1)).min(source.len());
            let offset = (0..=offset)
                .rev()
                .find(|&i| source.is_char_boundary(i))
                .unwrap_or(0);
            let end = source[offset..]
                .chars()
                .next()
                .map_or(offset, |c| offset + c.len_utf8());
            diagnostic = diagnostic.with_span(Span::new(bom + offset, bom + end));
        }
        diagnostic
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn trailing_comma_is_positioned() {
        let src = "{\n  \"pages\": [\"a\",]\n}";
        let err = parse_json::<Value>("app.json", src).unwrap_err();
        assert_eq!(err.code, "json::syntax");
        assert_eq!(err.location(Some(src)).unwrap(), "app.json:2:17");
    }

    #[test]
    fn bom_is_accepted() {
        let v: Value = parse_json("a.json", "\u{feff}{\"a\":1}").unwrap();
        assert_eq!(v["a"], 1);
    }

    #[test]
    fn errors_after_a_bom_are_positioned_in_the_file() {
        let src = "\u{feff}{\"a\": }";
        let err = parse_json::<Value>("a.json", src).unwrap_err();
        assert_eq!(err.span, Some(Span::new(9, 10)));
        assert_eq!(&src[err.span.unwrap().range()], "}");
    }

    #[test]
    fn empty_file_is_an_error() {
        let err = parse_json::<Value>("a.json", "").unwrap_err();
        assert!(err.message.contains("EOF"), "{}", err.message);
    }
}
