//! The WXML-like pretty printer used by `bonsai run` and snapshot tests.

use std::fmt::Write;

use crate::{NodeId, NodeKind, NodeTree};

/// What to include besides tags, ids, classes and text.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintOptions {
    /// Also print attributes (properties set on the node) and inline styles.
    pub attributes: bool,
}

impl NodeTree {
    /// Prints the subtree at `root` as indented WXML-like text.
    pub fn to_wxml(&self, root: NodeId, options: PrintOptions) -> String {
        let mut out = String::new();
        self.print_node(root, 0, options, &mut out);
        out
    }

    fn print_node(&self, id: NodeId, depth: usize, options: PrintOptions, out: &mut String) {
        let Some(node) = self.get(id) else { return };
        let indent = "  ".repeat(depth);
        match &node.kind {
            NodeKind::Text(text) => {
                let text = text.trim();
                if !text.is_empty() {
                    let _ = writeln!(out, "{indent}{text}");
                }
            }
            NodeKind::Fragment => {
                for &child in &node.children {
                    self.print_node(child, depth, options, out);
                }
            }
            NodeKind::Element { tag, .. } => {
                let mut open = format!("<{tag}");
                if let Some(page) = &node.page {
                    let _ = write!(open, " route=\"{page}\"");
                }
                if !node.id_attr.is_empty() {
                    let _ = write!(open, " id=\"{}\"", node.id_attr);
                }
                let mut classes: Vec<&str> = Vec::new();
                for (class, _) in &node.classes {
                    if !classes.contains(&class.as_str()) {
                        classes.push(class);
                    }
                }
                if !classes.is_empty() {
                    let _ = write!(open, " class=\"{}\"", classes.join(" "));
                }
                if options.attributes {
                    if !node.style.is_empty() {
                        let _ = write!(open, " style=\"{}\"", node.style);
                    }
                    for (name, value) in &node.attributes {
                        let value = match value {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let _ = write!(open, " {name}=\"{value}\"");
                    }
                }
                let visible: Vec<NodeId> = node
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| self.is_visible(c))
                    .collect();
                let only_text = visible
                    .iter()
                    .all(|&c| matches!(self.get(c).map(|n| &n.kind), Some(NodeKind::Text(_))));
                if visible.is_empty() {
                    let _ = writeln!(out, "{indent}{open} />");
                } else if only_text {
                    let text = self.text_content(id);
                    let _ = writeln!(out, "{indent}{open}>{}</{tag}>", text.trim());
                } else {
                    let _ = writeln!(out, "{indent}{open}>");
                    for child in visible {
                        self.print_node(child, depth + 1, options, out);
                    }
                    let _ = writeln!(out, "{indent}</{tag}>");
                }
            }
        }
    }

    /// Whitespace-only text prints nothing; fragments print their children.
    fn is_visible(&self, id: NodeId) -> bool {
        match self.get(id).map(|n| &n.kind) {
            Some(NodeKind::Text(t)) => !t.trim().is_empty(),
            Some(NodeKind::Fragment) => self
                .get(id)
                .is_some_and(|n| n.children.iter().any(|&c| self.is_visible(c))),
            Some(NodeKind::Element { .. }) => true,
            None => false,
        }
    }
}
