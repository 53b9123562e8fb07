//! Headless layout of the composed node tree, so selector queries
//! (`boundingClientRect`, `fields({rect, size})`, `scrollOffset`) and
//! intersection observers answer with real geometry.
//!
//! The app's WXSS is parsed once into a [`StyleSet`]; each stylesheet is
//! bound to the style scope WeChat's isolation gives it (a component's
//! stylesheet only sees classes added in its own shadow tree). [`compute`]
//! runs the cascade over a page's subtree (WeChat's built-in component
//! styles, the bound stylesheets, inline `style`), builds CSS boxes and
//! lays them out with taffy (block, flex, absolute/fixed); inline content
//! (text, `<text>`, images, inline-blocks) is broken into lines here with
//! font-free text metrics. Units: px, rpx (viewport width / 750), %, vw,
//! vh, em, rem, `calc()`, `var()`.
//!
//! **Architecture invariant:** no I/O and no JS; unknown or malformed CSS
//! is ignored, never a panic.

mod boxes;
mod css;
mod selector;
mod style;
mod text;
mod values;

use std::collections::HashMap;
use std::rc::Rc;

use bonsai_tree::{NodeId, NodeTree};

pub use boxes::BoxGeometry;
pub use style::{Binding, SheetId, StyleSet};

/// The window the page is laid out in, in CSS px.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub width: f32,
    pub height: f32,
}

/// The geometry of every element of one page, in page coordinates (the
/// page unscrolled, its top-left corner at 0,0).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    boxes: HashMap<NodeId, BoxGeometry>,
    declared: HashMap<NodeId, std::collections::BTreeMap<String, String>>,
}

impl Layout {
    /// An element's border box, scroll size and scroll position. `None` for
    /// an element that makes no box (`display: none`, or not under the root).
    pub fn geometry(&self, id: NodeId) -> Option<&BoxGeometry> {
        self.boxes.get(&id)
    }

    /// A computed-style value for `getComputedStyle`-like queries: used
    /// sizes for `width`/`height`, else the winning declaration (after
    /// `var()` substitution). `None` when nothing set the property.
    pub fn computed_value(&self, id: NodeId, property: &str) -> Option<String> {
        match property {
            "width" => self.boxes.get(&id).map(|g| format!("{}px", g.width)),
            "height" => self.boxes.get(&id).map(|g| format!("{}px", g.height)),
            "margin" | "padding" => {
                let declared = self.declared.get(&id)?;
                let sides: Vec<String> = ["top", "right", "bottom", "left"]
                    .iter()
                    .map(|side| {
                        declared
                            .get(&format!("{property}-{side}"))
                            .cloned()
                            .unwrap_or_else(|| "0px".to_owned())
                    })
                    .collect();
                Some(sides.join(" "))
            }
            _ => self.declared.get(&id)?.get(property).cloned(),
        }
    }
}

/// The page a node belongs to: its nearest ancestor-or-self page container.
pub fn page_of(tree: &NodeTree, id: NodeId) -> Option<NodeId> {
    let node = tree.get(id)?;
    if node.page.is_some() {
        return Some(id);
    }
    tree.ancestors(id).find(|n| n.page.is_some()).map(|n| n.id)
}

/// Lays out the subtree at `root` (normally a page container) in `viewport`.
pub fn compute(tree: &NodeTree, root: NodeId, styles: &StyleSet, viewport: Viewport) -> Layout {
    let page = tree.get(root).and_then(|n| n.page.as_deref());
    let mut cascade = style::Cascade {
        styles,
        tree,
        page,
        viewport_width: viewport.width,
        viewport_height: viewport.height,
        media_cache: HashMap::new(),
    };
    let mut builder = boxes::Builder::new(&mut cascade, tree);
    let root_box = builder.build_root(root);
    let element_boxes = std::mem::take(&mut builder.element_boxes);
    let computed = std::mem::take(&mut builder.styles);
    let mut box_tree = builder.boxes;
    let boxes = box_tree.layout(
        root_box,
        taffy::Size {
            width: viewport.width,
            height: viewport.height,
        },
        &element_boxes,
    );
    Layout {
        boxes,
        declared: computed
            .into_iter()
            .map(|(id, s)| (id, s.declared))
            .collect(),
    }
}

/// Layouts by root, recomputed only when the tree, the styles or the
/// viewport changed since they were computed.
#[derive(Debug, Default)]
pub struct LayoutCache {
    entries: HashMap<NodeId, CacheEntry>,
}

#[derive(Debug)]
struct CacheEntry {
    generation: u64,
    styles: u64,
    viewport: Viewport,
    layout: Rc<Layout>,
}

impl LayoutCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The layout of `root`, from the cache when still valid.
    pub fn get(
        &mut self,
        tree: &NodeTree,
        root: NodeId,
        styles: &StyleSet,
        viewport: Viewport,
    ) -> Rc<Layout> {
        let generation = tree.generation();
        if let Some(entry) = self.entries.get(&root)
            && entry.generation == generation
            && entry.styles == styles.version()
            && entry.viewport == viewport
        {
            return entry.layout.clone();
        }
        // Entries for other roots are stale too once the tree moved on.
        self.entries.retain(|_, e| e.generation == generation);
        let layout = Rc::new(compute(tree, root, styles, viewport));
        self.entries.insert(
            root,
            CacheEntry {
                generation,
                styles: styles.version(),
                viewport,
                layout: layout.clone(),
            },
        );
        layout
    }
}

#[cfg(test)]
mod tests;
