//! `@import` rules: reading the target out of the rule's tokens and resolving
//! it to a package-relative path.
//!
//! WeChat accepts an `@import` anywhere at the top level, also after rules,
//! where CSS (and lightningcss, which drops it) would not; so imports are
//! found on the token stream, never by the CSS parser.

use crate::lexer::{Kind, Token};

/// Extensions an import keeps as written; any other target gets `.wxss`.
const STYLE_EXTENSIONS: &[&str] = &["wxss", "acss", "css"];

/// The target written in an `@import` rule's tokens (the at-keyword excluded):
/// `"x"`, `'x'`, `url(x)` or `url("x")`, then nothing but an optional `;`.
pub(crate) fn import_target<'s>(source: &'s str, tokens: &[Token]) -> Option<&'s str> {
    let mut rest = tokens
        .iter()
        .filter(|t| !matches!(t.kind, Kind::Whitespace | Kind::Comment { .. }));
    let text = |t: &Token| source.get(t.start..t.end).unwrap_or_default();
    let target = match rest.next()? {
        t @ Token {
            kind: Kind::String { .. },
            ..
        } => unquote(text(t)),
        t @ Token {
            kind: Kind::Url { .. },
            ..
        } => {
            let inner = text(t).get(4..).unwrap_or_default();
            inner.strip_suffix(')').unwrap_or(inner).trim()
        }
        t if t.kind == Kind::Function && text(t).eq_ignore_ascii_case("url(") => {
            let string = rest
                .next()
                .filter(|t| matches!(t.kind, Kind::String { .. }))?;
            rest.next().filter(|t| t.kind == Kind::Close(b')'))?;
            unquote(text(string))
        }
        _ => return None,
    };
    match rest.next() {
        None => Some(target),
        Some(t) if t.kind == Kind::Semicolon && rest.next().is_none() => Some(target),
        Some(_) => None,
    }
}

/// A string token's contents. A string cut short by a newline or the end of
/// the file has no closing quote to strip.
fn unquote(string: &str) -> &str {
    let mut chars = string.chars();
    match chars.next() {
        Some(quote) => {
            let inner = chars.as_str();
            inner.strip_suffix(quote).unwrap_or(inner)
        }
        None => string,
    }
}

/// Resolves `target` as imported from the package file `importer`: relative
/// to the importer's directory, or to the package root when it starts with
/// `/`; `.` and `..` are normalized and `.wxss` is added unless the target
/// already ends in a style extension. `Err` carries the message.
pub(crate) fn resolve(importer: &str, target: &str) -> Result<String, String> {
    if target.is_empty() {
        return Err("`@import` names no file".to_owned());
    }
    if matches!(target.rsplit('/').next(), None | Some("" | "." | "..")) {
        return Err(format!(
            "`@import \"{target}\"` names a directory, not a file"
        ));
    }
    if target.contains("://") {
        return Err(format!(
            "`@import \"{target}\"` names a remote stylesheet; only package files can be imported"
        ));
    }
    let mut segments: Vec<&str> = Vec::new();
    if !target.starts_with('/') {
        segments.extend(importer.split('/').filter(|s| !s.is_empty()));
        segments.pop();
    }
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(format!(
                        "`@import \"{target}\"` points outside the package root"
                    ));
                }
            }
            name => segments.push(name),
        }
    }
    let has_style_extension = segments
        .last()
        .and_then(|file| file.rsplit_once('.'))
        .is_some_and(|(_, ext)| STYLE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)));
    let mut path = segments.join("/");
    if !has_style_extension {
        path.push_str(".wxss");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn target(rule: &str) -> Option<&str> {
        let tokens = tokenize(rule);
        import_target(rule, &tokens[1..])
    }

    #[test]
    fn import_forms() {
        assert_eq!(target("@import \"a.wxss\";"), Some("a.wxss"));
        assert_eq!(target("@import 'a'"), Some("a"));
        assert_eq!(target("@import url( b.wxss );"), Some("b.wxss"));
        assert_eq!(target("@import url('c') ;"), Some("c"));
        assert_eq!(target("@import /* x */ 'd';"), Some("d"));
        assert_eq!(target("@import;"), None);
        assert_eq!(target("@import 'a' screen;"), None);
        assert_eq!(target("@import a;"), None);
    }

    #[test]
    fn resolution() {
        let r = |t| resolve("pages/index/index.wxss", t);
        assert_eq!(r("./a.wxss"), Ok("pages/index/a.wxss".into()));
        assert_eq!(r("../../common/base"), Ok("common/base.wxss".into()));
        assert_eq!(r("/styles/x.acss"), Ok("styles/x.acss".into()));
        assert_eq!(r("theme.css"), Ok("pages/index/theme.css".into()));
        assert_eq!(r("icons.min"), Ok("pages/index/icons.min.wxss".into()));
        assert!(r("../../../up.wxss").is_err());
        assert!(r("").is_err());
        assert!(r("..").is_err());
        assert!(r("./").is_err());
        assert!(r("https://x.com/a.css").is_err());
        assert_eq!(resolve("app.wxss", "a"), Ok("a.wxss".into()));
    }
}
