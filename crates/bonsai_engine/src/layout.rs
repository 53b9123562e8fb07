//! Layout for the running app: each stylesheet glass-easel binds to a style
//! scope (`native.styleSheet`) is parsed once into a
//! `bonsai_layout::StyleSet`, and page layouts are computed on demand from
//! the composed tree (`native.layout`) and cached until the tree changes.

use std::cell::RefCell;
use std::rc::Rc;

use bonsai_compiler::CompiledApp;
use bonsai_layout::{Binding, BoxGeometry, LayoutCache, StyleSet, Viewport};
use bonsai_tree::{NodeId, NodeTree};

/// What the engine keeps for layout.
#[derive(Debug)]
pub(crate) struct PageLayouts {
    /// The composed tree, shared with the instance (which applies ops to it).
    pub tree: Rc<RefCell<NodeTree>>,
    styles: StyleSet,
    cache: LayoutCache,
    viewport: Viewport,
}

impl PageLayouts {
    /// Nothing is parsed yet: a stylesheet is parsed when glass-easel first
    /// binds it to a style scope, so start-up grows with the page, not the app.
    pub fn new(
        app: &CompiledApp,
        tree: Rc<RefCell<NodeTree>>,
        device: &crate::DeviceProfile,
    ) -> Self {
        let mut styles = StyleSet::new();
        styles.style_v2 = app
            .app_config
            .as_ref()
            .and_then(|config| config.get("style"))
            .and_then(|style| style.as_str())
            == Some("v2");
        PageLayouts {
            tree,
            styles,
            cache: LayoutCache::new(),
            viewport: Viewport {
                width: device.window_width as f32,
                height: device.window_height as f32,
            },
        }
    }

    /// Binds stylesheet `path` (a key of `CompiledApp::styles`) to a style
    /// scope: a page's own stylesheet shares the app's scope but styles only
    /// that page; a component's applies to its shadow tree.
    pub fn bind(&mut self, app: &CompiledApp, path: &str, scope: u32) {
        let sheet = match self.styles.sheet(path) {
            Some(sheet) => sheet,
            None => match app.styles.get(path) {
                Some(fragments) => self.styles.add_fragments(path, fragments),
                None => return,
            },
        };
        let owner = app
            .components
            .iter()
            .find(|(_, c)| c.style.as_deref() == Some(path));
        let is_page = |name: &str| {
            app.packages
                .iter()
                .flat_map(|p| &p.pages)
                .any(|p| p == name)
        };
        let (page, component) = match owner {
            Some((name, _)) if is_page(name) => (Some(name.clone()), None),
            Some((name, _)) => (None, Some(name.clone())),
            None => (None, None),
        };
        self.styles.bind(
            sheet,
            Binding {
                scope: Some(scope),
                page,
                component,
            },
        );
    }

    /// A node's geometry in its page (page unscrolled).
    pub fn geometry(&mut self, node: NodeId) -> Option<BoxGeometry> {
        let tree = self.tree.borrow();
        let page = bonsai_layout::page_of(&tree, node)?;
        let layout = self.cache.get(&tree, page, &self.styles, self.viewport);
        layout.geometry(node).copied()
    }

    /// A computed-style value of a node, for `fields({computedStyle})`.
    pub fn computed_value(&mut self, node: NodeId, property: &str) -> Option<String> {
        let tree = self.tree.borrow();
        let page = bonsai_layout::page_of(&tree, node)?;
        let layout = self.cache.get(&tree, page, &self.styles, self.viewport);
        layout.computed_value(node, property)
    }
}

/// The native functions js/host.js calls for layout: `styleSheet(path,
/// scope)` binds a stylesheet, `layout(id)` answers a node's geometry as
/// `[left, top, width, height, fixed, scrollLeft, scrollTop, scrollWidth,
/// scrollHeight, pageId]` (empty when it has no box), `computedStyle(id,
/// property)` a computed-style value or `undefined`.
pub(crate) fn install<'js>(
    native: &rquickjs::Object<'js>,
    state: &Rc<RefCell<crate::HostState>>,
) -> rquickjs::Result<()> {
    use rquickjs::function::Func;
    let s = state.clone();
    native.set(
        "styleSheet",
        Func::from(move |path: String, scope: u32| {
            let mut state = s.borrow_mut();
            let app = state.app.clone();
            state.layout.bind(&app, &path, scope);
        }),
    )?;
    let s = state.clone();
    native.set(
        "layout",
        Func::from(move |node: u32| -> Vec<f64> {
            let mut state = s.borrow_mut();
            let Some(g) = state.layout.geometry(node) else {
                return Vec::new();
            };
            let page = {
                let tree = state.layout.tree.borrow();
                bonsai_layout::page_of(&tree, node).unwrap_or(0)
            };
            // Layout works in f32; four decimals keep its noise
            // (19.2 → 19.200000762939453) out of what the app sees.
            let clean = |v: f32| (f64::from(v) * 1e4).round() / 1e4;
            [
                g.x,
                g.y,
                g.width,
                g.height,
                if g.fixed { 1.0 } else { 0.0 },
                g.scroll_left,
                g.scroll_top,
                g.scroll_width,
                g.scroll_height,
            ]
            .into_iter()
            .map(clean)
            .chain([f64::from(page)])
            .collect()
        }),
    )?;
    let s = state.clone();
    native.set(
        "computedStyle",
        Func::from(move |node: u32, property: String| {
            s.borrow_mut().layout.computed_value(node, &property)
        }),
    )?;
    Ok(())
}
