//! Layout cases with hand-derived expectations (viewport 375 × 600, so
//! 1rpx = 0.5px; Latin `line-height: normal` is 1.2em, CJK 1.4em).

use bonsai_tree::{NodeId, NodeTree, TreeOp};

use crate::{Binding, BoxGeometry, StyleSet, Viewport, compute};

const VIEWPORT: Viewport = Viewport {
    width: 375.0,
    height: 600.0,
};

/// A node spec: `tag.class1.class2#id[style]` with children, or text.
enum Spec {
    Element(&'static str, &'static str, Vec<Spec>),
    Text(&'static str),
}

fn el(selector: &'static str, style: &'static str, children: Vec<Spec>) -> Spec {
    Spec::Element(selector, style, children)
}

fn text(t: &'static str) -> Spec {
    Spec::Text(t)
}

struct Page {
    tree: NodeTree,
    root: NodeId,
    ids: std::collections::HashMap<String, NodeId>,
}

/// Builds a page from specs; classes are added under style scope 1.
fn page(children: Vec<Spec>) -> Page {
    let mut tree = NodeTree::new();
    let mut next = 1;
    let mut ids = std::collections::HashMap::new();
    let root = add(&mut tree, &mut next, &mut ids, &el("page", "", children));
    tree.apply(&TreeOp::MountPage {
        id: root,
        page: "pages/index/index".into(),
    })
    .expect("mount");
    Page { tree, root, ids }
}

fn add(
    tree: &mut NodeTree,
    next: &mut NodeId,
    ids: &mut std::collections::HashMap<String, NodeId>,
    spec: &Spec,
) -> NodeId {
    let id = *next;
    *next += 1;
    match spec {
        Spec::Text(t) => {
            tree.apply(&TreeOp::CreateText {
                id,
                text: (*t).into(),
            })
            .expect("text");
        }
        Spec::Element(selector, style, children) => {
            let (rest, node_id) = match selector.split_once('#') {
                Some((rest, node_id)) => (rest, Some(node_id)),
                None => (*selector, None),
            };
            let mut parts = rest.split('.');
            let tag = parts.next().unwrap_or("view");
            tree.apply(&TreeOp::CreateElement {
                id,
                tag: tag.into(),
                styling: format!("wx-{tag}"),
            })
            .expect("element");
            for class in parts {
                tree.apply(&TreeOp::AddClass {
                    id,
                    class: class.into(),
                    scope: 1,
                })
                .expect("class");
            }
            if let Some(node_id) = node_id {
                tree.apply(&TreeOp::SetId {
                    id,
                    value: node_id.into(),
                })
                .expect("id");
                ids.insert(node_id.to_owned(), id);
            }
            if !style.is_empty() {
                tree.apply(&TreeOp::SetStyle {
                    id,
                    style: (*style).into(),
                })
                .expect("style");
            }
            for child in children {
                let child = add(tree, next, ids, child);
                tree.apply(&TreeOp::AppendChild { parent: id, child })
                    .expect("append");
            }
        }
    }
    id
}

fn styles(css: &str) -> StyleSet {
    let mut set = StyleSet::new();
    let sheet = set.add_css("app.wxss", css);
    set.bind(
        sheet,
        Binding {
            scope: Some(1),
            page: None,
            component: None,
        },
    );
    set
}

impl Page {
    fn layout(&self, css: &str) -> crate::Layout {
        compute(&self.tree, self.root, &styles(css), VIEWPORT)
    }
}

fn rect(layout: &crate::Layout, page: &Page, id: &str) -> (f32, f32, f32, f32) {
    let g: BoxGeometry = *layout
        .geometry(page.ids[id])
        .unwrap_or_else(|| panic!("#{id} has no box"));
    let round = |v: f32| (v * 100.0).round() / 100.0;
    (round(g.x), round(g.y), round(g.width), round(g.height))
}

#[test]
fn blocks_stack() {
    let p = page(vec![
        el("view.a#a", "", vec![]),
        el("view.b#b", "", vec![]),
        el("view#c", "height: 10px", vec![]),
    ]);
    let l = p.layout(".a { height: 50px } .b { height: 30px; margin-top: 10px }");
    assert_eq!(rect(&l, &p, "a"), (0.0, 0.0, 375.0, 50.0));
    assert_eq!(rect(&l, &p, "b"), (0.0, 60.0, 375.0, 30.0));
    assert_eq!(rect(&l, &p, "c"), (0.0, 90.0, 375.0, 10.0));
}

#[test]
fn flex_row_grows() {
    let p = page(vec![el(
        "view.row#row",
        "",
        vec![
            el("view.item#i1", "", vec![]),
            el("view.item#i2", "", vec![]),
            el("view.item#i3", "", vec![]),
        ],
    )]);
    let l = p.layout(".row { display: flex; height: 40px } .item { flex: 1 }");
    assert_eq!(rect(&l, &p, "i1"), (0.0, 0.0, 125.0, 40.0));
    assert_eq!(rect(&l, &p, "i2"), (125.0, 0.0, 125.0, 40.0));
    assert_eq!(rect(&l, &p, "i3"), (250.0, 0.0, 125.0, 40.0));

    let l = p.layout(".row { display: flex; gap: 15px; align-items: center; height: 40px } .item { flex-grow: 1; height: 20px } #i1 { width: 100px; flex: none }");
    assert_eq!(rect(&l, &p, "i1"), (0.0, 10.0, 100.0, 20.0));
    // 375 - 100 - 2 × 15 = 245 shared by two.
    assert_eq!(rect(&l, &p, "i2"), (115.0, 10.0, 122.5, 20.0));
    assert_eq!(rect(&l, &p, "i3"), (252.5, 10.0, 122.5, 20.0));
}

#[test]
fn box_model_and_box_sizing() {
    let p = page(vec![
        el("view.box#box", "", vec![]),
        el("view.bb#bb", "", vec![]),
    ]);
    let l = p.layout(
        ".box { width: 100px; height: 20px; padding: 10px; border: 2px solid #000; margin: 5px }
         .bb { width: 100px; height: 20px; padding: 10px; border: 2px solid; box-sizing: border-box }",
    );
    // Margins of adjacent blocks collapse: 5px below the first box, none above the second.
    assert_eq!(rect(&l, &p, "box"), (5.0, 5.0, 124.0, 44.0));
    assert_eq!(rect(&l, &p, "bb"), (0.0, 54.0, 100.0, 24.0));
}

#[test]
fn rpx_percent_and_viewport_units() {
    let p = page(vec![
        el("view.header#header", "", vec![]),
        el(
            "view#half",
            "width: 50%; height: 10vh",
            vec![el(
                "view#inner",
                "width: calc(100% - 20rpx); height: 50%",
                vec![],
            )],
        ),
    ]);
    let l = p.layout(".header { width: 750rpx; height: 100rpx }");
    assert_eq!(rect(&l, &p, "header"), (0.0, 0.0, 375.0, 50.0));
    assert_eq!(rect(&l, &p, "half"), (0.0, 50.0, 187.5, 60.0));
    assert_eq!(rect(&l, &p, "inner"), (0.0, 50.0, 177.5, 30.0));
}

#[test]
fn display_none_and_hidden_make_no_box() {
    let p = page(vec![
        el(
            "view.gone#gone",
            "",
            vec![el("view#child", "height: 5px", vec![])],
        ),
        el("view#after", "height: 10px", vec![]),
    ]);
    let l = p.layout(".gone { display: none; height: 100px }");
    assert!(l.geometry(p.ids["gone"]).is_none_or(|g| g.height == 0.0));
    assert!(l.geometry(p.ids["child"]).is_none());
    assert_eq!(rect(&l, &p, "after"), (0.0, 0.0, 375.0, 10.0));
}

#[test]
fn absolute_and_fixed() {
    let p = page(vec![
        el("view#spacer", "height: 30px", vec![]),
        el(
            "view.rel#rel",
            "",
            vec![
                el("view.abs#abs", "", vec![]),
                el(
                    "view#fixed",
                    "position: fixed; bottom: 0; left: 0; right: 0; height: 50px",
                    vec![],
                ),
            ],
        ),
    ]);
    let l = p.layout(".rel { position: relative; height: 100px } .abs { position: absolute; right: 10px; top: 20px; width: 30px; height: 30px }");
    assert_eq!(rect(&l, &p, "abs"), (335.0, 50.0, 30.0, 30.0));
    assert_eq!(rect(&l, &p, "fixed"), (0.0, 550.0, 375.0, 50.0));
    assert!(l.geometry(p.ids["fixed"]).is_some_and(|g| g.fixed));
}

#[test]
fn text_lines_and_inline_elements() {
    let p = page(vec![
        el("view#one", "", vec![el("text#t", "", vec![text("中文字")])]),
        el("view#wrap", "width: 40px", vec![text("中文字")]),
        el(
            "view#latin",
            "font-size: 10px; line-height: 20px",
            vec![text("ab")],
        ),
    ]);
    let l = p.layout("");
    // One CJK line: 16px × 1.4 = 22.4px high; three glyphs of 16px.
    assert_eq!(rect(&l, &p, "one"), (0.0, 0.0, 375.0, 22.4));
    assert_eq!(rect(&l, &p, "t"), (0.0, 0.0, 48.0, 22.4));
    // Two glyphs fit in 40px, the third wraps.
    assert_eq!(rect(&l, &p, "wrap"), (0.0, 22.4, 40.0, 44.8));
    assert_eq!(rect(&l, &p, "latin"), (0.0, 67.2, 375.0, 20.0));
}

#[test]
fn built_in_components() {
    let p = page(vec![
        el("view#holder", "", vec![el("image#img", "", vec![])]),
        el("button#btn", "", vec![text("OK")]),
        el("input#input", "", vec![]),
    ]);
    let l = p.layout("");
    // An inline-block image sits on the baseline: the strut's descent
    // (16px × 1.2 × 0.2 = 3.84px) shows below it, as in browsers.
    assert_eq!(rect(&l, &p, "img"), (0.0, 0.0, 320.0, 240.0));
    assert_eq!(rect(&l, &p, "holder"), (0.0, 0.0, 375.0, 243.84));
    // 18px × 2.55555556 = 46px high, full width.
    assert_eq!(rect(&l, &p, "btn"), (0.0, 243.84, 375.0, 46.0));
    assert_eq!(rect(&l, &p, "input"), (0.0, 289.84, 375.0, 22.4));
}

#[test]
fn cascade_order_scopes_and_variables() {
    let p = page(vec![
        el("view.a.b#x", "height: 7px", vec![]),
        el("view.a#y", "", vec![]),
        el("view#z", "", vec![]),
    ]);
    let css = ".a.b { height: 1px !important } .a { height: 2px; --h: 12px } #y { height: var(--h, 3px) } .a { width: calc(var(--w, 10px) * 2) } view { height: 4px }";
    let l = p.layout(css);
    assert_eq!(rect(&l, &p, "x"), (0.0, 0.0, 20.0, 1.0));
    assert_eq!(rect(&l, &p, "y"), (0.0, 1.0, 20.0, 12.0));
    assert_eq!(rect(&l, &p, "z"), (0.0, 13.0, 375.0, 4.0));

    // A stylesheet bound to another scope does not see these classes.
    let mut set = StyleSet::new();
    let sheet = set.add_css("comp.wxss", ".a { height: 50px }");
    set.bind(
        sheet,
        Binding {
            scope: Some(2),
            page: None,
            component: None,
        },
    );
    let l = compute(&p.tree, p.root, &set, VIEWPORT);
    assert_eq!(rect(&l, &p, "y"), (0.0, 7.0, 375.0, 0.0));
}

#[test]
fn malformed_css_is_ignored() {
    let p = page(vec![el(
        "view.a#a",
        "height: ; width: banana; margin: 1px 2px 3px 4px 5px",
        vec![],
    )]);
    let l = p.layout(".a { height: 10px; width: calc(1px +); } }} .a::after { height: 99px } @media (min-width: 1000px) { .a { height: 30px } } {{ .b { x }");
    assert_eq!(rect(&l, &p, "a"), (0.0, 0.0, 375.0, 10.0));
}

#[test]
fn scroll_view_offsets_its_content() {
    let mut p = page(vec![el(
        "scroll-view#sv",
        "height: 100px",
        vec![
            el("view#first", "height: 80px", vec![]),
            el("view#second", "height: 80px", vec![]),
        ],
    )]);
    let sv = p.ids["sv"];
    p.tree
        .apply(&TreeOp::SetAttribute {
            id: sv,
            name: "scroll-top".into(),
            value: serde_json::json!(30),
        })
        .expect("attribute");
    let l = p.layout("");
    let g = *l.geometry(sv).expect("scroll-view box");
    assert_eq!((g.scroll_top, g.scroll_height), (30.0, 160.0));
    assert_eq!(rect(&l, &p, "first"), (0.0, -30.0, 375.0, 80.0));
    assert_eq!(rect(&l, &p, "second"), (0.0, 50.0, 375.0, 80.0));
}

#[test]
fn centered_inline_elements_with_padding() {
    let p = page(vec![el(
        "view#line",
        "text-align: center",
        vec![el("text#t", "padding: 2px 10px", vec![text("中文")])],
    )]);
    let l = p.layout("");
    // 32px of text plus 2 × 10px padding, centred in 375px; vertical
    // padding grows the box, not the line (22.4px).
    assert_eq!(rect(&l, &p, "t"), (161.5, -2.0, 52.0, 26.4));
    assert_eq!(rect(&l, &p, "line"), (0.0, 0.0, 375.0, 22.4));
}

#[test]
fn cache_recomputes_only_after_a_change() {
    let mut p = page(vec![el("view#a", "height: 10px", vec![])]);
    let set = styles("");
    let mut cache = crate::LayoutCache::new();
    let first = cache.get(&p.tree, p.root, &set, VIEWPORT);
    let again = cache.get(&p.tree, p.root, &set, VIEWPORT);
    assert!(std::rc::Rc::ptr_eq(&first, &again));
    p.tree
        .apply(&TreeOp::SetStyle {
            id: p.ids["a"],
            style: "height: 20px".into(),
        })
        .expect("style");
    let changed = cache.get(&p.tree, p.root, &set, VIEWPORT);
    assert_eq!(changed.geometry(p.ids["a"]).map(|g| g.height), Some(20.0));
}
