//! The Rust-owned composed node tree of a running app: the engine's JS
//! backend streams [`TreeOp`]s into it, and it answers queries (CSS-like
//! selectors, text), prints WXML-like snapshots, and feeds the view protocol.
//!
//! **Architecture invariant:** no I/O and no JS; a bad op never panics, it is
//! reported and skipped, so a bug in the backend cannot take the host down.

mod print;
mod select;

use std::collections::BTreeMap;

pub use bonsai_protocol::{NodeId, TreeOp};
pub use print::PrintOptions;
pub use select::{Selector, SelectorError};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Element { tag: String, styling: String },
    Text(String),
    Fragment,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: NodeId,
    pub parent: Option<NodeId>,
    pub children: Vec<NodeId>,
    pub kind: NodeKind,
    pub id_attr: String,
    /// Classes in insertion order, with the style scope each was added under.
    pub classes: Vec<(String, u32)>,
    pub style: String,
    pub attributes: BTreeMap<String, Value>,
    /// Events someone listens to on this node.
    pub listeners: Vec<String>,
    /// The page path when this node is a page container.
    pub page: Option<String>,
    /// The component path when this node hosts a custom component.
    pub component: Option<String>,
}

impl Node {
    fn new(id: NodeId, kind: NodeKind) -> Self {
        Node {
            id,
            parent: None,
            children: Vec::new(),
            kind,
            id_attr: String::new(),
            classes: Vec::new(),
            style: String::new(),
            attributes: BTreeMap::new(),
            listeners: Vec::new(),
            page: None,
            component: None,
        }
    }

    pub fn tag(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Element { tag, .. } => Some(tag),
            _ => None,
        }
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.classes.iter().any(|(c, _)| c == class)
    }

    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }
}

/// Why an op could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tree op on node {node} failed: {reason}")]
pub struct TreeError {
    pub node: NodeId,
    pub reason: &'static str,
}

/// The composed tree: nodes by id, with parent links.
#[derive(Debug, Clone, Default)]
pub struct NodeTree {
    nodes: Vec<Option<Node>>,
    /// Bumped by every applied op, so derived data (layout) knows when it is stale.
    generation: u64,
}

impl NodeTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize)?.as_ref()
    }

    fn get_mut(&mut self, id: NodeId) -> Result<&mut Node, TreeError> {
        self.nodes
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .ok_or(TreeError {
                node: id,
                reason: "no such node",
            })
    }

    /// Live nodes, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().flatten()
    }

    /// Page containers, in the order they were mounted (the page stack order).
    pub fn pages(&self) -> impl Iterator<Item = &Node> {
        self.nodes().filter(|n| n.page.is_some())
    }

    fn insert(&mut self, node: Node) {
        let index = node.id as usize;
        if self.nodes.len() <= index {
            self.nodes.resize(index + 1, None);
        }
        self.nodes[index] = Some(node);
    }

    fn detach(&mut self, child: NodeId) -> Result<(), TreeError> {
        let parent = self.get_mut(child)?.parent.take();
        if let Some(parent) = parent {
            let parent = self.get_mut(parent)?;
            parent.children.retain(|&c| c != child);
        }
        Ok(())
    }

    fn position(&self, parent: NodeId, child: NodeId) -> Result<usize, TreeError> {
        self.get(parent)
            .ok_or(TreeError {
                node: parent,
                reason: "no such node",
            })?
            .children
            .iter()
            .position(|&c| c == child)
            .ok_or(TreeError {
                node: child,
                reason: "not a child of the given parent",
            })
    }

    /// Inserts `children` into `parent` at `index`, detaching them first.
    fn adopt(
        &mut self,
        parent: NodeId,
        index: usize,
        children: &[NodeId],
    ) -> Result<(), TreeError> {
        self.get_mut(parent)?;
        for &child in children {
            self.get_mut(child)?;
        }
        for &child in children {
            self.detach(child)?;
            self.get_mut(child)?.parent = Some(parent);
        }
        let list = &mut self.get_mut(parent)?.children;
        let index = index.min(list.len());
        list.splice(index..index, children.iter().copied());
        Ok(())
    }

    fn take_children(&mut self, fragment: NodeId) -> Result<Vec<NodeId>, TreeError> {
        Ok(self
            .get(fragment)
            .ok_or(TreeError {
                node: fragment,
                reason: "no such node",
            })?
            .children
            .clone())
    }

    fn remove_range(
        &mut self,
        parent: NodeId,
        before: NodeId,
        count: u32,
    ) -> Result<usize, TreeError> {
        let start = self.position(parent, before)?;
        let list = &self
            .get(parent)
            .ok_or(TreeError {
                node: parent,
                reason: "no such node",
            })?
            .children;
        let end = (start + count as usize).min(list.len());
        let removed: Vec<NodeId> = list[start..end].to_vec();
        for child in removed {
            self.detach(child)?;
        }
        Ok(start)
    }

    /// Changes with every applied op; equal generations mean an unchanged tree.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Applies one op. On error the tree is unchanged for that op.
    pub fn apply(&mut self, op: &TreeOp) -> Result<(), TreeError> {
        self.generation += 1;
        match op {
            TreeOp::CreateElement { id, tag, styling } => self.insert(Node::new(
                *id,
                NodeKind::Element {
                    tag: tag.clone(),
                    styling: styling.clone(),
                },
            )),
            TreeOp::CreateText { id, text } => {
                self.insert(Node::new(*id, NodeKind::Text(text.clone())))
            }
            TreeOp::CreateFragment { id } => self.insert(Node::new(*id, NodeKind::Fragment)),
            TreeOp::AppendChild { parent, child } => {
                let end = self.get(*parent).map_or(0, |p| p.children.len());
                self.adopt(*parent, end, &[*child])?;
            }
            TreeOp::InsertBefore {
                parent,
                child,
                before,
            } => {
                // Validate before detaching, so a bad op changes nothing.
                self.position(*parent, *before)?;
                self.detach(*child)?;
                let index = self.position(*parent, *before)?;
                self.adopt(*parent, index, &[*child])?;
            }
            TreeOp::RemoveChild { child, .. } => self.detach(*child)?,
            TreeOp::ReplaceChild { parent, child, old } => {
                self.position(*parent, *old)?;
                self.detach(*child)?;
                let index = self.position(*parent, *old)?;
                self.detach(*old)?;
                self.adopt(*parent, index, &[*child])?;
            }
            TreeOp::SpliceBefore {
                parent,
                before,
                delete_count,
                list,
            } => {
                let moved = self.take_children(*list)?;
                let index = if *delete_count == 0 {
                    self.position(*parent, *before)?
                } else {
                    self.remove_range(*parent, *before, *delete_count)?
                };
                self.adopt(*parent, index, &moved)?;
            }
            TreeOp::SpliceAppend { parent, list } => {
                let moved = self.take_children(*list)?;
                let end = self.get(*parent).map_or(0, |p| p.children.len());
                self.adopt(*parent, end, &moved)?;
            }
            TreeOp::SpliceRemove {
                parent,
                before,
                delete_count,
            } => {
                self.remove_range(*parent, *before, *delete_count)?;
            }
            TreeOp::Release { id } => self.release(*id),
            TreeOp::SetId { id, value } => self.get_mut(*id)?.id_attr.clone_from(value),
            TreeOp::SetStyle { id, style } => self.get_mut(*id)?.style.clone_from(style),
            TreeOp::SetStyleScope { .. } => {}
            TreeOp::AddClass { id, class, scope } => {
                let node = self.get_mut(*id)?;
                if !node.classes.iter().any(|(c, s)| c == class && s == scope) {
                    node.classes.push((class.clone(), *scope));
                }
            }
            TreeOp::RemoveClass { id, class, scope } => {
                self.get_mut(*id)?
                    .classes
                    .retain(|(c, s)| !(c == class && s == scope));
            }
            TreeOp::ClearClasses { id } => self.get_mut(*id)?.classes.clear(),
            TreeOp::SetAttribute { id, name, value } => {
                self.get_mut(*id)?
                    .attributes
                    .insert(name.clone(), value.clone());
            }
            TreeOp::RemoveAttribute { id, name } => {
                self.get_mut(*id)?.attributes.remove(name);
            }
            TreeOp::SetText { id, text } => match &mut self.get_mut(*id)?.kind {
                NodeKind::Text(t) => t.clone_from(text),
                _ => {
                    return Err(TreeError {
                        node: *id,
                        reason: "setText on a non-text node",
                    });
                }
            },
            TreeOp::SetListener { id, event, .. } => {
                let node = self.get_mut(*id)?;
                if !node.listeners.contains(event) {
                    node.listeners.push(event.clone());
                }
            }
            TreeOp::SetComponent { id, tag, is } => {
                let node = self.get_mut(*id)?;
                node.component = Some(is.clone());
                if let NodeKind::Element { tag: current, .. } = &mut node.kind {
                    current.clone_from(tag);
                }
            }
            TreeOp::MountPage { id, page } => {
                let node = self.get_mut(*id)?;
                node.page = Some(page.clone());
                // glass-easel names every root host `wx-x`; a page reads as one.
                if let NodeKind::Element { tag, .. } = &mut node.kind {
                    "page".clone_into(tag);
                }
            }
        }
        Ok(())
    }

    /// Drops a node; its children stay (the backend releases them one by one).
    fn release(&mut self, id: NodeId) {
        if self.detach(id).is_ok() {
            let children = self.get(id).map(|n| n.children.clone()).unwrap_or_default();
            for child in children {
                if let Some(Some(node)) = self.nodes.get_mut(child as usize) {
                    node.parent = None;
                }
            }
            self.nodes[id as usize] = None;
        }
    }

    /// The concatenated text below a node, as `textContent` gives it.
    pub fn text_content(&self, id: NodeId) -> String {
        let mut out = String::new();
        self.collect_text(id, &mut out);
        out
    }

    fn collect_text(&self, id: NodeId, out: &mut String) {
        let Some(node) = self.get(id) else { return };
        if let NodeKind::Text(text) = &node.kind {
            out.push_str(text);
        }
        for &child in &node.children {
            self.collect_text(child, out);
        }
    }

    /// Nodes below `root` (inclusive) in document order.
    pub fn descendants(&self, root: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let Some(node) = self.get(id) else { continue };
            out.push(id);
            stack.extend(node.children.iter().rev());
        }
        out
    }

    /// Ancestors of a node, nearest first.
    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = &Node> {
        std::iter::successors(
            self.get(id)
                .and_then(|n| n.parent)
                .and_then(|p| self.get(p)),
            |n| n.parent.and_then(|p| self.get(p)),
        )
    }
}

#[cfg(test)]
mod tests;
