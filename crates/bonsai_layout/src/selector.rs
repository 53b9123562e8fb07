//! Selectors as real WXSS writes them, matched against the composed tree
//! with WeChat's style isolation: a class in a selector only matches a class
//! that was added under one of the style scopes the stylesheet is bound to.
//!
//! Supported: `tag`, `*`, `.class`, `#id`, `[attr]`, `[attr=v]` (and `~=`,
//! `^=`, `$=`, `*=`, `|=`), `:host`, `:host(...)`, structural pseudo-classes
//! (`:first-child`, `:last-child`, `:only-child`, `:nth-child()`,
//! `:nth-last-child()`, the `-of-type` forms, `:empty`, `:not()`), and the
//! descendant, child, `+` and `~` combinators. A selector with a
//! pseudo-element (`::after`) styles no element box, so it is dropped;
//! state pseudo-classes (`:hover`, `:active`…) never match headless.

use bonsai_tree::{Node, NodeId, NodeKind, NodeTree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combinator {
    Descendant,
    Child,
    Adjacent,
    Sibling,
}

#[derive(Debug, Clone, PartialEq)]
enum AttrOp {
    Exists,
    Equals(String),
    Includes(String),
    Prefix(String),
    Suffix(String),
    Substring(String),
    DashMatch(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Pseudo {
    /// `:nth-child(an+b)`; `of_type` for the `-of-type` forms; `from_end`
    /// for the `-last-` forms.
    Nth {
        a: i32,
        b: i32,
        of_type: bool,
        from_end: bool,
    },
    Empty,
    Not(Vec<Compound>),
    /// A state that never holds headless (`:hover`, `:checked`…).
    Never,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Compound {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
    attributes: Vec<(String, AttrOp)>,
    pseudos: Vec<Pseudo>,
    /// `:host` (with an optional inner compound for `:host(.x)`).
    host: Option<Option<Box<Compound>>>,
}

/// A complex selector: compounds left to right, each with the combinator
/// that links it to the compound on its left (ignored for the first).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Complex {
    pub compounds: Vec<(Combinator, Compound)>,
    /// (ids, classes, tags) packed so that a plain integer compare orders them.
    pub specificity: u32,
}

/// Where a rule can be found quickly: by the rightmost compound's id, first
/// class or tag, so matching an element only tries plausible rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RuleKey {
    Id(String),
    Class(String),
    Tag(String),
    Any,
}

impl Complex {
    pub fn key(&self) -> RuleKey {
        let Some((_, last)) = self.compounds.last() else {
            return RuleKey::Any;
        };
        if let Some(id) = &last.id {
            RuleKey::Id(id.clone())
        } else if let Some(class) = last.classes.first() {
            RuleKey::Class(class.clone())
        } else if let Some(tag) = &last.tag {
            RuleKey::Tag(tag.clone())
        } else {
            RuleKey::Any
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_' || c == '\\' || !c.is_ascii()
}

/// Parses a comma-separated list; selectors that cannot be parsed or that
/// can never style a box are left out.
pub(crate) fn parse_selector_list(text: &str) -> Vec<Complex> {
    split_top_level(text, ',')
        .into_iter()
        .filter_map(|s| parse_complex(s.trim()))
        .collect()
}

/// Splits at `sep` outside brackets and strings.
fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth = depth.saturating_sub(1),
            (None, _) if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn name(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if !is_name_char(c) {
                break;
            }
            self.chars.next();
            if c == '\\' {
                // An escaped character is part of the name (`.w-1\/2`).
                if let Some((_, escaped)) = self.chars.next() {
                    out.push(escaped);
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The text inside a bracket pair, the cursor being just past the opener.
    fn until_close(&mut self, close: char) -> Option<&str> {
        let start = self.chars.peek().map_or(self.text.len(), |&(i, _)| i);
        let open = if close == ')' { '(' } else { '[' };
        let mut depth = 1;
        for (i, c) in self.chars.by_ref() {
            if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    return Some(&self.text[start..i]);
                }
            }
        }
        None
    }

    fn skip_whitespace(&mut self) -> bool {
        let mut any = false;
        while self.peek().is_some_and(char::is_whitespace) {
            self.chars.next();
            any = true;
        }
        any
    }
}

fn parse_complex(text: &str) -> Option<Complex> {
    if text.is_empty() {
        return None;
    }
    let mut cursor = Cursor {
        chars: text.char_indices().peekable(),
        text,
    };
    let mut compounds = Vec::new();
    let mut combinator = Combinator::Descendant;
    cursor.skip_whitespace();
    loop {
        let compound = parse_compound(&mut cursor)?;
        compounds.push((combinator, compound));
        let spaced = cursor.skip_whitespace();
        combinator = match cursor.peek() {
            None => break,
            Some('>') => Combinator::Child,
            Some('+') => Combinator::Adjacent,
            Some('~') => Combinator::Sibling,
            Some(_) if spaced => Combinator::Descendant,
            Some(_) => return None,
        };
        if combinator != Combinator::Descendant {
            cursor.chars.next();
            cursor.skip_whitespace();
        }
    }
    let mut ids = 0u32;
    let mut classes = 0u32;
    let mut tags = 0u32;
    for (_, compound) in &compounds {
        compound.count_specificity(&mut ids, &mut classes, &mut tags);
    }
    Some(Complex {
        compounds,
        specificity: (ids.min(1023) << 20) | (classes.min(1023) << 10) | tags.min(1023),
    })
}

impl Compound {
    fn count_specificity(&self, ids: &mut u32, classes: &mut u32, tags: &mut u32) {
        *ids += u32::from(self.id.is_some());
        *classes += (self.classes.len() + self.attributes.len()) as u32;
        *tags += u32::from(self.tag.is_some());
        for pseudo in &self.pseudos {
            match pseudo {
                Pseudo::Not(inner) => {
                    for compound in inner {
                        compound.count_specificity(ids, classes, tags);
                    }
                }
                _ => *classes += 1,
            }
        }
        if let Some(host) = &self.host {
            *classes += 1;
            if let Some(inner) = host {
                inner.count_specificity(ids, classes, tags);
            }
        }
    }
}

fn parse_compound(cursor: &mut Cursor<'_>) -> Option<Compound> {
    let mut compound = Compound::default();
    let mut any = false;
    loop {
        match cursor.peek() {
            Some('*') => {
                cursor.chars.next();
            }
            Some('.') => {
                cursor.chars.next();
                let name = cursor.name();
                if name.is_empty() {
                    return None;
                }
                compound.classes.push(name);
            }
            Some('#') => {
                cursor.chars.next();
                let name = cursor.name();
                if name.is_empty() {
                    return None;
                }
                compound.id = Some(name);
            }
            Some('[') => {
                cursor.chars.next();
                let inner = cursor.until_close(']')?;
                compound.attributes.push(parse_attribute(inner)?);
            }
            Some(':') => {
                cursor.chars.next();
                if cursor.peek() == Some(':') {
                    // A pseudo-element: its box is not an element's box.
                    return None;
                }
                let name = cursor.name().to_ascii_lowercase();
                let argument = if cursor.peek() == Some('(') {
                    cursor.chars.next();
                    Some(cursor.until_close(')')?.trim().to_owned())
                } else {
                    None
                };
                match name.as_str() {
                    // CSS2 pseudo-elements written with one colon.
                    "before" | "after" | "first-line" | "first-letter" | "placeholder" => {
                        return None;
                    }
                    "host" => {
                        let inner = match argument {
                            Some(arg) => Some(Box::new(parse_compound(&mut Cursor {
                                chars: arg.char_indices().peekable(),
                                text: &arg,
                            })?)),
                            None => None,
                        };
                        compound.host = Some(inner);
                    }
                    // First and last at once (specificity counts it twice;
                    // close enough for a selector this rare).
                    "only-child" | "only-of-type" => {
                        let of_type = name == "only-of-type";
                        for from_end in [false, true] {
                            compound.pseudos.push(Pseudo::Nth {
                                a: 0,
                                b: 1,
                                of_type,
                                from_end,
                            });
                        }
                    }
                    _ => compound
                        .pseudos
                        .push(parse_pseudo(&name, argument.as_deref())?),
                }
            }
            Some(c) if is_name_char(c) && !any => {
                let name = cursor.name().to_ascii_lowercase();
                // Old WXSS names native tags as the webview does (`wx-view`).
                let name = name.strip_prefix("wx-").unwrap_or(&name).to_owned();
                compound.tag = Some(name);
            }
            _ => break,
        }
        any = true;
    }
    any.then_some(compound)
}

fn parse_attribute(inner: &str) -> Option<(String, AttrOp)> {
    let inner = inner.trim();
    let op_at = inner.find(['=', '~', '^', '$', '*', '|']);
    let Some(at) = op_at else {
        return Some((inner.to_ascii_lowercase(), AttrOp::Exists));
    };
    let name = inner[..at].trim().to_ascii_lowercase();
    let rest = &inner[at..];
    let (op, value) = if let Some(v) = rest.strip_prefix('=') {
        ("=", v)
    } else {
        let v = rest.get(2..)?;
        (&rest[..2], v)
    };
    // `[a="b" i]`: the flag is ignored.
    let value = value.trim();
    let value = value
        .strip_suffix(" i")
        .or_else(|| value.strip_suffix(" s"))
        .unwrap_or(value)
        .trim()
        .trim_matches(['"', '\''])
        .to_owned();
    let op = match op {
        "=" => AttrOp::Equals(value),
        "~=" => AttrOp::Includes(value),
        "^=" => AttrOp::Prefix(value),
        "$=" => AttrOp::Suffix(value),
        "*=" => AttrOp::Substring(value),
        "|=" => AttrOp::DashMatch(value),
        _ => return None,
    };
    Some((name, op))
}

fn parse_pseudo(name: &str, argument: Option<&str>) -> Option<Pseudo> {
    let nth = |a, b, of_type, from_end| Pseudo::Nth {
        a,
        b,
        of_type,
        from_end,
    };
    Some(match (name, argument) {
        ("first-child", None) => nth(0, 1, false, false),
        ("last-child", None) => nth(0, 1, false, true),
        ("first-of-type", None) => nth(0, 1, true, false),
        ("last-of-type", None) => nth(0, 1, true, true),
        ("empty", None) => Pseudo::Empty,
        ("nth-child", Some(arg)) => {
            let (a, b) = parse_nth(arg)?;
            nth(a, b, false, false)
        }
        ("nth-last-child", Some(arg)) => {
            let (a, b) = parse_nth(arg)?;
            nth(a, b, false, true)
        }
        ("nth-of-type", Some(arg)) => {
            let (a, b) = parse_nth(arg)?;
            nth(a, b, true, false)
        }
        ("nth-last-of-type", Some(arg)) => {
            let (a, b) = parse_nth(arg)?;
            nth(a, b, true, true)
        }
        ("not", Some(arg)) => {
            let mut inner = Vec::new();
            for part in split_top_level(arg, ',') {
                let part = part.trim();
                let mut cursor = Cursor {
                    chars: part.char_indices().peekable(),
                    text: part,
                };
                inner.push(parse_compound(&mut cursor)?);
                if cursor.peek().is_some() {
                    // `:not(.a .b)` (a complex argument) is not supported.
                    return None;
                }
            }
            Pseudo::Not(inner)
        }
        _ => Pseudo::Never,
    })
}

/// `an+b`, `odd`, `even`, `3`, `-n+2`.
fn parse_nth(arg: &str) -> Option<(i32, i32)> {
    let arg: String = arg
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    match arg.as_str() {
        "odd" => return Some((2, 1)),
        "even" => return Some((2, 0)),
        _ => {}
    }
    match arg.split_once('n') {
        None => Some((0, arg.parse().ok()?)),
        Some((a, b)) => {
            let a = match a {
                "" | "+" => 1,
                "-" => -1,
                _ => a.parse().ok()?,
            };
            let b = if b.is_empty() { 0 } else { b.parse().ok()? };
            Some((a, b))
        }
    }
}

/// What a rule's classes must carry to match: the style scopes of the
/// stylesheet's binding (`None`: any scope, for unscoped stylesheets).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatchScope<'a> {
    pub scope: Option<u32>,
    /// The component whose stylesheet this is, for `:host`.
    pub host: Option<&'a str>,
}

fn element(tree: &NodeTree, id: NodeId) -> Option<&Node> {
    tree.get(id)
        .filter(|n| matches!(n.kind, NodeKind::Element { .. }))
}

/// The element siblings of `node`, in order, and `node`'s index among them.
fn element_siblings(tree: &NodeTree, node: &Node) -> (Vec<NodeId>, usize) {
    let Some(parent) = node.parent.and_then(|p| tree.get(p)) else {
        return (vec![node.id], 0);
    };
    let siblings: Vec<NodeId> = parent
        .children
        .iter()
        .copied()
        .filter(|&c| element(tree, c).is_some())
        .collect();
    let index = siblings.iter().position(|&c| c == node.id).unwrap_or(0);
    (siblings, index)
}

fn tag_matches(node: &Node, tag: &str) -> bool {
    match &node.kind {
        NodeKind::Element { tag: own, styling } => {
            own == tag || styling.strip_prefix("wx-").unwrap_or(styling) == tag
        }
        _ => false,
    }
}

fn attribute_text(node: &Node, name: &str) -> Option<String> {
    match name {
        "id" => (!node.id_attr.is_empty()).then(|| node.id_attr.clone()),
        "class" => Some(
            node.classes
                .iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "style" => Some(node.style.clone()),
        _ => match node.attribute(name)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            // A boolean property that is off is an absent attribute.
            serde_json::Value::Bool(false) => None,
            other => Some(other.to_string()),
        },
    }
}

fn matches_compound(
    tree: &NodeTree,
    node: &Node,
    compound: &Compound,
    scope: MatchScope<'_>,
) -> bool {
    if !matches!(node.kind, NodeKind::Element { .. }) {
        return false;
    }
    if let Some(host) = &compound.host {
        let is_host = match (scope.host, &node.component) {
            (Some(owner), Some(component)) => owner == component,
            _ => false,
        };
        if !is_host {
            return false;
        }
        if let Some(inner) = host {
            // Classes on a host were added by its user, under another scope.
            let any = MatchScope {
                scope: None,
                host: None,
            };
            if !matches_compound(tree, node, inner, any) {
                return false;
            }
        }
    }
    if let Some(tag) = &compound.tag
        && !tag_matches(node, tag)
    {
        return false;
    }
    if compound.id.as_ref().is_some_and(|id| &node.id_attr != id) {
        return false;
    }
    let has_class = |class: &str| {
        node.classes
            .iter()
            .any(|(c, s)| c == class && scope.scope.is_none_or(|want| want == *s))
    };
    if !compound.classes.iter().all(|c| has_class(c)) {
        return false;
    }
    for (name, op) in &compound.attributes {
        let Some(value) = attribute_text(node, name) else {
            return false;
        };
        let ok = match op {
            AttrOp::Exists => true,
            AttrOp::Equals(v) => &value == v,
            AttrOp::Includes(v) => value.split_whitespace().any(|w| w == v),
            AttrOp::Prefix(v) => !v.is_empty() && value.starts_with(v.as_str()),
            AttrOp::Suffix(v) => !v.is_empty() && value.ends_with(v.as_str()),
            AttrOp::Substring(v) => !v.is_empty() && value.contains(v.as_str()),
            AttrOp::DashMatch(v) => value == *v || value.starts_with(&format!("{v}-")),
        };
        if !ok {
            return false;
        }
    }
    compound.pseudos.iter().all(|pseudo| match pseudo {
        Pseudo::Never => false,
        Pseudo::Empty => node.children.iter().all(|&c| match tree.get(c) {
            Some(child) => match &child.kind {
                NodeKind::Text(text) => text.is_empty(),
                _ => false,
            },
            None => true,
        }),
        Pseudo::Not(inner) => !inner
            .iter()
            .any(|compound| matches_compound(tree, node, compound, scope)),
        Pseudo::Nth {
            a,
            b,
            of_type,
            from_end,
        } => {
            let (siblings, index) = element_siblings(tree, node);
            let same_kind: Vec<NodeId> = if *of_type {
                siblings
                    .into_iter()
                    .filter(|&s| tree.get(s).and_then(Node::tag) == node.tag())
                    .collect()
            } else {
                siblings
            };
            let position = same_kind
                .iter()
                .position(|&s| s == node.id)
                .unwrap_or(index);
            let n = if *from_end {
                same_kind.len() - position
            } else {
                position + 1
            } as i32;
            if *a == 0 {
                n == *b
            } else {
                (n - b) % a == 0 && (n - b) / a >= 0
            }
        }
    })
}

/// Whether `complex` matches the element `id`.
pub(crate) fn matches(
    tree: &NodeTree,
    id: NodeId,
    complex: &Complex,
    scope: MatchScope<'_>,
) -> bool {
    matches_from(tree, id, &complex.compounds, scope)
}

fn matches_from(
    tree: &NodeTree,
    id: NodeId,
    compounds: &[(Combinator, Compound)],
    scope: MatchScope<'_>,
) -> bool {
    let Some(((combinator, compound), rest)) = compounds.split_last() else {
        return true;
    };
    let Some(node) = element(tree, id) else {
        return false;
    };
    if !matches_compound(tree, node, compound, scope) {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    match combinator {
        Combinator::Child => node
            .parent
            .is_some_and(|parent| matches_from(tree, parent, rest, scope)),
        Combinator::Descendant => {
            let mut current = node.parent;
            while let Some(parent) = current {
                if matches_from(tree, parent, rest, scope) {
                    return true;
                }
                current = tree.get(parent).and_then(|n| n.parent);
            }
            false
        }
        Combinator::Adjacent | Combinator::Sibling => {
            let (siblings, index) = element_siblings(tree, node);
            let before = &siblings[..index];
            if *combinator == Combinator::Adjacent {
                before
                    .last()
                    .is_some_and(|&s| matches_from(tree, s, rest, scope))
            } else {
                before.iter().any(|&s| matches_from(tree, s, rest, scope))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_ranks() {
        let list = parse_selector_list(
            ".a .b > view#x, ::after, .c::before, :host(.d), button[size=mini]",
        );
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].specificity, (1 << 20) | (2 << 10) | 1);
        assert_eq!(list[0].key(), RuleKey::Id("x".into()));
        assert_eq!(list[2].key(), RuleKey::Tag("button".into()));
        assert_eq!(parse_nth("2n+1"), Some((2, 1)));
        assert_eq!(parse_nth("-n+3"), Some((-1, 3)));
        assert_eq!(parse_nth("even"), Some((2, 0)));
    }
}
