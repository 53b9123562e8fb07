//! The rule structure of a token stream: which brackets match, and where each
//! rule, declaration and at-rule starts and ends.
//!
//! lightningcss reports a recovered problem only as a position. Whether that
//! problem cost a whole rule (an error) or one declaration (a warning) depends
//! on where the position falls, so this module rebuilds the item boundaries
//! the CSS syntax defines: in a list of rules (the top level, `@media` …) a
//! qualified rule's prelude runs up to its `{}` block and only at-rules end at
//! `;`; in a declaration body (a style rule's block) every item ends at `;` or
//! after a `{}` block. Only `}` with nothing open is stray: inside `(` or `[`
//! a `}` is ordinary content, as in CSS.

use crate::lexer::{Kind, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Rules only: the top level and the blocks of grouping at-rules.
    RuleList,
    /// Declarations, nested rules and at-rules: every other `{}` block.
    Body,
}

/// A rule, at-rule or declaration.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Index of its first token.
    pub first: usize,
    /// Index one past its last token.
    pub last: usize,
    pub start: usize,
    pub end: usize,
    /// Byte offset of the `{` of its block, if it has one.
    pub block: Option<usize>,
    pub at_rule: bool,
    pub context: Context,
    /// How many `{}` blocks enclose it; 0 at the top level.
    pub depth: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Outline {
    pub items: Vec<Item>,
    /// Token indices of `}` that close nothing.
    pub stray: Vec<usize>,
    /// Token indices of `(`, `[`, `{` or `name(` never closed, outermost first.
    pub unclosed: Vec<usize>,
    /// The deepest bracket nesting, all kinds counted.
    pub max_depth: usize,
}

/// Grouping at-rules whose blocks hold rules rather than declarations.
const GROUPING_RULES: &[&str] = &[
    "media",
    "supports",
    "container",
    "layer",
    "document",
    "-moz-document",
    "scope",
    "starting-style",
    "keyframes",
    "-webkit-keyframes",
    "-moz-keyframes",
    "-o-keyframes",
];

struct Open {
    closer: u8,
    token: usize,
    /// Whether it is a rule's `{}` block, with a frame of its own, rather
    /// than a plain block of tokens.
    framed: bool,
}

fn plain(closer: u8, token: usize) -> Open {
    Open {
        closer,
        token,
        framed: false,
    }
}

struct Frame {
    context: Context,
    /// The item being read at this level, as an index into `items`.
    current: Option<usize>,
}

pub(crate) fn outline(source: &str, tokens: &[Token]) -> Outline {
    let mut out = Outline::default();
    let mut open: Vec<Open> = Vec::new();
    let mut frames = vec![Frame {
        context: Context::RuleList,
        current: None,
    }];
    for (i, token) in tokens.iter().enumerate() {
        out.max_depth = out.max_depth.max(open.len());
        // Inside `(`, `[`, or `{` opened within those, only brackets matter:
        // CSS reads such a block as plain tokens.
        if let Some(closer) = open.last().filter(|o| !o.framed).map(|o| o.closer) {
            match token.kind {
                Kind::Open(c) => open.push(plain(closing(c), i)),
                Kind::Function => open.push(plain(b')', i)),
                Kind::Close(c) if c == closer => {
                    open.pop();
                }
                _ => {}
            }
            grow(&mut out.items, &frames, i, token);
            continue;
        }
        let depth = frames.len().saturating_sub(1);
        let Some(frame) = frames.last_mut() else {
            break;
        };
        match token.kind {
            Kind::Whitespace | Kind::Comment { .. } => grow(&mut out.items, &frames, i, token),
            Kind::Semicolon => match frame.current {
                Some(item) if frame.context == Context::Body || out.items[item].at_rule => {
                    cover(&mut out.items[item], i, token);
                    frame.current = None;
                }
                // In a rule list a `;` belongs to the next qualified rule's prelude.
                None if frame.context == Context::RuleList => {
                    frame.current = Some(begin(&mut out.items, frame, depth, i, token));
                }
                _ => grow(&mut out.items, &frames, i, token),
            },
            Kind::Close(b'}') => {
                if open.pop().is_none() {
                    out.stray.push(i);
                    continue;
                }
                frames.pop();
                // The `}` ends the item that owns the block.
                if let Some(owner) = frames.last_mut().and_then(|f| f.current.take()) {
                    cover(&mut out.items[owner], i, token);
                }
            }
            Kind::Open(b'{') => {
                let item = match frame.current {
                    Some(item) => item,
                    None => begin(&mut out.items, frame, depth, i, token),
                };
                frame.current = Some(item);
                let owner = &mut out.items[item];
                cover(owner, i, token);
                owner.block = Some(token.start);
                let grouping = owner.at_rule
                    && owner.context == Context::RuleList
                    && tokens.get(owner.first).is_some_and(|at| {
                        let name = source.get(at.start + 1..at.end).unwrap_or_default();
                        GROUPING_RULES.iter().any(|g| g.eq_ignore_ascii_case(name))
                    });
                frames.push(Frame {
                    context: if grouping {
                        Context::RuleList
                    } else {
                        Context::Body
                    },
                    current: None,
                });
                open.push(Open {
                    closer: b'}',
                    token: i,
                    framed: true,
                });
            }
            kind => {
                if frame.current.is_none() {
                    frame.current = Some(begin(&mut out.items, frame, depth, i, token));
                }
                match kind {
                    Kind::Open(c) => open.push(plain(closing(c), i)),
                    Kind::Function => open.push(plain(b')', i)),
                    _ => {}
                }
                grow(&mut out.items, &frames, i, token);
            }
        }
    }
    out.max_depth = out.max_depth.max(open.len());
    // Whatever is still open runs to the end of the file.
    for item in frames.iter().filter_map(|f| f.current) {
        out.items[item].last = tokens.len();
        out.items[item].end = source.len();
    }
    out.unclosed = open.into_iter().map(|o| o.token).collect();
    out
}

fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

fn begin(items: &mut Vec<Item>, frame: &Frame, depth: usize, i: usize, token: &Token) -> usize {
    items.push(Item {
        first: i,
        last: i,
        start: token.start,
        end: token.start,
        block: None,
        at_rule: token.kind == Kind::AtKeyword,
        context: frame.context,
        depth,
    });
    items.len() - 1
}

/// Grows the item being read at the innermost level to cover `token`. Items
/// of outer levels are covered when their block closes, which keeps this
/// linear however deep the nesting.
fn grow(items: &mut [Item], frames: &[Frame], i: usize, token: &Token) {
    if let Some(item) = frames.last().and_then(|f| f.current) {
        cover(&mut items[item], i, token);
    }
}

fn cover(item: &mut Item, i: usize, token: &Token) {
    item.last = i + 1;
    item.end = token.end;
}

impl Outline {
    /// The innermost item whose text contains `offset` (its end included, as
    /// lightningcss reports a missing terminator at the byte after an item).
    pub(crate) fn item_at(&self, offset: usize) -> Option<usize> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.start <= offset && offset <= item.end)
            .min_by_key(|(_, item)| item.end - item.start)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn texts(src: &str) -> Vec<(&str, Context, usize)> {
        let tokens = tokenize(src);
        outline(src, &tokens)
            .items
            .iter()
            .map(|item| (&src[item.start..item.end], item.context, item.depth))
            .collect()
    }

    #[test]
    fn items_follow_css_syntax() {
        use Context::*;
        assert_eq!(
            texts("@import 'a';;.b{c:d;e:f}@media x{.g{h:i}}"),
            [
                ("@import 'a';", RuleList, 0),
                (";.b{c:d;e:f}", RuleList, 0),
                ("c:d;", Body, 1),
                ("e:f", Body, 1),
                ("@media x{.g{h:i}}", RuleList, 0),
                (".g{h:i}", RuleList, 1),
                ("h:i", Body, 2),
            ]
        );
    }

    #[test]
    fn stray_and_unclosed_brackets() {
        let src = "} .a{b:(}; .c{";
        let tokens = tokenize(src);
        let outline = outline(src, &tokens);
        let at = |i: &usize| tokens[*i].start;
        assert_eq!(outline.stray.iter().map(at).collect::<Vec<_>>(), [0]);
        // Inside `(`, `}` is content and `{` opens a plain block.
        assert_eq!(
            outline.unclosed.iter().map(at).collect::<Vec<_>>(),
            [4, 7, 13]
        );
    }
}
