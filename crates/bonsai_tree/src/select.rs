//! A small CSS selector subset over the composed tree, enough for tests and
//! `bonsai run --tap`: `tag`, `#id`, `.class`, `[attr]`, `[attr=value]`,
//! compounds of those, the descendant (` `) and child (`>`) combinators, and
//! comma-separated groups.

use crate::{Node, NodeId, NodeTree};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector `{selector}`: {reason}")]
pub struct SelectorError {
    pub selector: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Compound {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
    attributes: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Combinator {
    Descendant,
    Child,
}

/// A parsed selector: groups of compound selectors joined by combinators.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// Each group is a chain, rightmost last; the combinator links a compound to its left neighbour.
    groups: Vec<Vec<(Combinator, Compound)>>,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let fail = |reason| SelectorError {
            selector: text.to_owned(),
            reason,
        };
        let mut groups = Vec::new();
        for group in text.split(',') {
            let mut chain = Vec::new();
            let mut combinator = Combinator::Descendant;
            let mut chars = group.trim().chars().peekable();
            if chars.peek().is_none() {
                return Err(fail("empty selector"));
            }
            while chars.peek().is_some() {
                let mut compound = Compound::default();
                let mut any = false;
                loop {
                    match chars.peek().copied() {
                        Some('#') | Some('.') => {
                            let sigil = chars.next();
                            let name: String =
                                std::iter::from_fn(|| chars.next_if(|c| is_name_char(*c)))
                                    .collect();
                            if name.is_empty() {
                                return Err(fail("expected a name after `#` or `.`"));
                            }
                            if sigil == Some('#') {
                                compound.id = Some(name);
                            } else {
                                compound.classes.push(name);
                            }
                        }
                        Some('[') => {
                            chars.next();
                            let inner: String =
                                std::iter::from_fn(|| chars.next_if(|c| *c != ']')).collect();
                            if chars.next() != Some(']') {
                                return Err(fail("unclosed `[`"));
                            }
                            let (name, value) = match inner.split_once('=') {
                                Some((n, v)) => (
                                    n.trim().to_owned(),
                                    Some(v.trim().trim_matches(['"', '\'']).to_owned()),
                                ),
                                None => (inner.trim().to_owned(), None),
                            };
                            compound.attributes.push((name, value));
                        }
                        Some(c) if is_name_char(c) || c == '*' => {
                            let name: String = std::iter::from_fn(|| {
                                chars.next_if(|c| is_name_char(*c) || *c == '*')
                            })
                            .collect();
                            if name != "*" {
                                compound.tag = Some(name);
                            }
                        }
                        _ => break,
                    }
                    any = true;
                }
                if !any {
                    return Err(fail("unexpected character"));
                }
                chain.push((combinator, compound));
                let mut saw_space = false;
                while chars.next_if(|c| c.is_whitespace()).is_some() {
                    saw_space = true;
                }
                combinator = if chars.next_if_eq(&'>').is_some() {
                    while chars.next_if(|c| c.is_whitespace()).is_some() {}
                    Combinator::Child
                } else if saw_space {
                    Combinator::Descendant
                } else if chars.peek().is_some() {
                    return Err(fail("unexpected character"));
                } else {
                    Combinator::Descendant
                };
            }
            groups.push(chain);
        }
        Ok(Selector { groups })
    }
}

fn matches_compound(node: &Node, compound: &Compound) -> bool {
    if let Some(tag) = &compound.tag {
        if node.tag() != Some(tag.as_str()) {
            return false;
        }
    } else if node.tag().is_none() {
        return false;
    }
    if compound.id.as_ref().is_some_and(|id| &node.id_attr != id) {
        return false;
    }
    if !compound.classes.iter().all(|c| node.has_class(c)) {
        return false;
    }
    compound
        .attributes
        .iter()
        .all(|(name, value)| match (node.attribute(name), value) {
            (Some(_), None) => true,
            (Some(actual), Some(expected)) => match actual {
                serde_json::Value::String(s) => s == expected,
                other => &other.to_string() == expected,
            },
            (None, _) => false,
        })
}

impl NodeTree {
    fn matches_chain(&self, id: NodeId, chain: &[(Combinator, Compound)]) -> bool {
        let Some(((combinator, compound), rest)) = chain.split_last() else {
            return true;
        };
        let Some(node) = self.get(id) else {
            return false;
        };
        if !matches_compound(node, compound) {
            return false;
        }
        if rest.is_empty() {
            return true;
        }
        match combinator {
            Combinator::Child => node.parent.is_some_and(|p| self.matches_chain(p, rest)),
            Combinator::Descendant => self.ancestors(id).any(|a| self.matches_chain(a.id, rest)),
        }
    }

    /// All nodes below `root` (inclusive) matching, in document order.
    pub fn select_all(&self, root: NodeId, selector: &Selector) -> Vec<NodeId> {
        self.descendants(root)
            .into_iter()
            .filter(|&id| {
                selector
                    .groups
                    .iter()
                    .any(|chain| self.matches_chain(id, chain))
            })
            .collect()
    }

    pub fn select(&self, root: NodeId, selector: &Selector) -> Option<NodeId> {
        self.select_all(root, selector).into_iter().next()
    }
}
