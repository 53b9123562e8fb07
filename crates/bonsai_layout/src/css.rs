//! A small, forgiving reader for the stylesheets `bonsai_wxss` produced:
//! style rules (selector list + declarations), `@media` blocks (kept with
//! their condition, judged against the viewport at layout time) and
//! `@supports` blocks (assumed true). Anything else is skipped. It never
//! fails: text it cannot make sense of is dropped, the way a browser drops
//! an invalid rule.

use crate::selector::{Complex, parse_selector_list};

/// One `name: value` pair, value kept as text: `var()` can only be resolved
/// per element, so typing happens in the cascade.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Declaration {
    pub name: String,
    pub value: String,
    pub important: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub selectors: Vec<Complex>,
    pub declarations: Vec<Declaration>,
    /// Every enclosing `@media` condition; all must hold.
    pub media: Vec<String>,
}

/// A cursor over CSS text that skips strings, comments and nested blocks
/// as units, so a `}` inside `content: "}"` does not end a rule.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_trivia(&mut self) {
        loop {
            let rest = &self.text[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("/*") {
                self.pos += trimmed.find("*/").map_or(trimmed.len(), |end| end + 2);
            } else if trimmed.starts_with("<!--") || trimmed.starts_with("-->") {
                self.pos += if trimmed.starts_with("<!--") { 4 } else { 3 };
            } else {
                return;
            }
        }
    }

    /// Advances to the first of `stops` outside strings, comments and
    /// brackets, returning the text before it (the stop is not consumed).
    fn until(&mut self, stops: &[char]) -> &'a str {
        let start = self.pos;
        let mut depth = 0usize;
        let mut chars = self.text[self.pos..].char_indices().peekable();
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' | '\'' => {
                    let quote = c;
                    while let Some((_, d)) = chars.next() {
                        if d == '\\' {
                            chars.next();
                        } else if d == quote {
                            break;
                        }
                    }
                }
                '/' if chars.peek().map(|&(_, d)| d) == Some('*') => {
                    chars.next();
                    let mut last = ' ';
                    for (_, d) in chars.by_ref() {
                        if last == '*' && d == '/' {
                            break;
                        }
                        last = d;
                    }
                }
                '(' | '[' => depth += 1,
                ')' | ']' => depth = depth.saturating_sub(1),
                _ if depth == 0 && stops.contains(&c) => {
                    self.pos = start + offset;
                    return &self.text[start..self.pos];
                }
                _ => {}
            }
        }
        self.pos = self.text.len();
        &self.text[start..]
    }

    /// With the cursor on `{`, returns the block's inner text and moves past
    /// its matching `}` (or to the end of an unclosed block).
    fn block(&mut self) -> &'a str {
        self.pos += 1;
        let start = self.pos;
        let mut depth = 1usize;
        loop {
            self.until(&['{', '}']);
            match self.peek() {
                Some('{') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some('}') => {
                    depth -= 1;
                    if depth == 0 {
                        let inner = &self.text[start..self.pos];
                        self.pos += 1;
                        return inner;
                    }
                    self.pos += 1;
                }
                _ => return &self.text[start..],
            }
        }
    }
}

/// Parses a stylesheet into rules, in source order.
pub(crate) fn parse_stylesheet(text: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    parse_rules(text, &[], &mut rules);
    rules
}

fn parse_rules(text: &str, media: &[String], out: &mut Vec<Rule>) {
    let mut scanner = Scanner { text, pos: 0 };
    loop {
        scanner.skip_trivia();
        let Some(c) = scanner.peek() else { return };
        if c == '}' || c == ';' {
            // A stray closer: skip it, as browsers do.
            scanner.pos += 1;
            continue;
        }
        if c == '@' {
            let prelude = scanner.until(&['{', ';']);
            if scanner.peek() == Some(';') {
                scanner.pos += 1;
                continue;
            }
            let body = scanner.block();
            let prelude = prelude.trim();
            let name_end = prelude
                .find(|c: char| c.is_whitespace() || c == '(')
                .unwrap_or(prelude.len());
            let (name, condition) = prelude.split_at(name_end);
            match name.to_ascii_lowercase().as_str() {
                "@media" => {
                    let mut nested = media.to_vec();
                    nested.push(condition.trim().to_ascii_lowercase());
                    parse_rules(body, &nested, out);
                }
                "@supports" | "@document" | "@layer" => parse_rules(body, media, out),
                _ => {}
            }
            continue;
        }
        let prelude = scanner.until(&['{']);
        if scanner.peek() != Some('{') {
            return;
        }
        let body = scanner.block();
        let selectors = parse_selector_list(prelude);
        if selectors.is_empty() {
            continue;
        }
        let declarations = parse_declarations(body);
        if declarations.is_empty() {
            continue;
        }
        out.push(Rule {
            selectors,
            declarations,
            media: media.to_vec(),
        });
    }
}

/// Parses a declaration block (or an inline `style` attribute).
pub(crate) fn parse_declarations(text: &str) -> Vec<Declaration> {
    let mut out = Vec::new();
    let mut scanner = Scanner { text, pos: 0 };
    loop {
        scanner.skip_trivia();
        if scanner.peek().is_none() {
            return out;
        }
        let item = scanner.until(&[';', '{']);
        if scanner.peek() == Some('{') {
            // A nested rule (CSS nesting, or junk): not supported, skipped.
            scanner.block();
            continue;
        }
        scanner.pos = (scanner.pos + 1).min(text.len());
        let Some((name, value)) = item.split_once(':') else {
            continue;
        };
        let name = name.trim();
        // Custom properties are case-sensitive; everything else is not.
        let name = if name.starts_with("--") {
            name.to_owned()
        } else {
            name.to_ascii_lowercase()
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            continue;
        }
        let mut value = value.trim();
        let mut important = false;
        if let Some(bang) = value.rfind('!')
            && value[bang + 1..].trim().eq_ignore_ascii_case("important")
        {
            important = true;
            value = value[..bang].trim_end();
        }
        out.push(Declaration {
            name,
            value: value.to_owned(),
            important,
        });
    }
}

/// Whether a `@media` condition holds for a viewport. Unknown features are
/// false, so rules meant for other devices stay out.
pub(crate) fn media_matches(condition: &str, width: f32, height: f32) -> bool {
    if condition.is_empty() {
        return true;
    }
    condition
        .split(',')
        .any(|query| query_matches(query.trim(), width, height))
}

fn query_matches(query: &str, width: f32, height: f32) -> bool {
    let (negate, query) = match query.strip_prefix("not ") {
        Some(rest) => (true, rest),
        None => (false, query),
    };
    let query = query.strip_prefix("only ").unwrap_or(query);
    let matches = query.split(" and ").all(|part| {
        let part = part.trim();
        match part {
            "" | "all" | "screen" => true,
            _ if part.starts_with('(') && part.ends_with(')') => {
                feature_matches(&part[1..part.len() - 1], width, height)
            }
            _ => false,
        }
    });
    matches != negate
}

fn feature_matches(feature: &str, width: f32, height: f32) -> bool {
    let Some((name, value)) = feature.split_once(':') else {
        return false;
    };
    let value = value.trim();
    let px = || crate::values::parse_media_length(value, width);
    match name.trim() {
        "min-width" => px().is_some_and(|v| width >= v),
        "max-width" => px().is_some_and(|v| width <= v),
        "width" => px().is_some_and(|v| (width - v).abs() < 0.5),
        "min-height" => px().is_some_and(|v| height >= v),
        "max-height" => px().is_some_and(|v| height <= v),
        "orientation" => (value == "landscape") == (width > height),
        // Bonsai's devices report the light theme.
        "prefers-color-scheme" => value == "light",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_media_and_junk() {
        let rules = parse_stylesheet(
            ".a{width:10px;content:\"}\"}\n@media (min-width: 300px){.b{height:2px !important}}\n@keyframes k{from{top:0}}\n}}.c{}\n.d{margin:0}",
        );
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].declarations.len(), 2);
        assert_eq!(rules[1].media, vec!["(min-width: 300px)".to_owned()]);
        assert!(rules[1].declarations[0].important);
        assert!(media_matches("(min-width: 300px)", 375.0, 600.0));
        assert!(!media_matches("print", 375.0, 600.0));
        assert!(media_matches("screen and (max-width: 400px)", 375.0, 600.0));
    }
}
