//! The box tree: what the composed node tree looks like to CSS layout, and
//! taffy's traits over it. Block, flex and out-of-flow boxes are laid out
//! by taffy; inline content (text, `<text>`, inline-blocks, images) by a
//! small line breaker here, inside anonymous block boxes as CSS does.

use std::collections::HashMap;

use bonsai_tree::{Node, NodeId, NodeKind, NodeTree};
use taffy::{
    AvailableSpace, BlockContext, Cache, CacheTree, Dimension, Display, LayoutBlockContainer,
    LayoutContainingBlock, LayoutFlexboxContainer, LayoutInput, LayoutOutput, LayoutPartialTree,
    LengthPercentage, LengthPercentageAuto, Point, Position, Rect, RequestedAxis, ResolveOrZero,
    RunMode, Size, SizingMode, Style, TraversePartialTree, compute_block_layout,
    compute_cached_layout, compute_flexbox_layout, compute_hidden_layout, compute_leaf_layout,
    compute_oof_layout,
};

use crate::style::{Cascade, ComputedStyle, DisplayKind, PositionKind, TextAlign, WhiteSpace};
use crate::text::{self, Piece};
use crate::values::Length;

/// A font as line breaking sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Font {
    size: f32,
    /// Used line height; `None` for `normal`.
    line_height: Option<f32>,
    letter_spacing: f32,
}

impl Font {
    fn of(style: &ComputedStyle) -> Font {
        let line_height = match style.line_height {
            crate::style::LineHeight::Normal => None,
            _ => Some(style.line_height_px(text::NORMAL_LINE_HEIGHT)),
        };
        Font {
            size: style.font_size,
            line_height,
            letter_spacing: style.letter_spacing,
        }
    }

    /// Content-area height and the space above and below the baseline for
    /// text in this font (half-leading model).
    fn metrics(&self, normal_factor: f32) -> (f32, f32, f32) {
        let content = self.size * normal_factor;
        let line = self.line_height.unwrap_or(content);
        let half_leading = (line - content) / 2.0;
        (
            content,
            content * 0.8 + half_leading,
            content * 0.2 + half_leading,
        )
    }
}

#[derive(Debug, Clone)]
enum InlineItem {
    Text {
        piece: Piece,
        font: Font,
        width: f32,
        normal_factor: f32,
        wrap: bool,
        collapse: bool,
    },
    /// The start of an inline element (`<text>`, an inline custom component).
    Open {
        node: NodeId,
        margin: f32,
        /// Border and padding at the start.
        inset: f32,
        /// Border and padding above and below its content area.
        vertical: (f32, f32),
        font: Font,
    },
    Close {
        node: NodeId,
        margin: f32,
        inset: f32,
    },
    /// An inline-block, image, or other atomic inline: a box of its own.
    Atomic { child: usize, margin: [f32; 4] },
}

#[derive(Debug, Default)]
struct InlineFormatting {
    items: Vec<InlineItem>,
    text_align: Option<TextAlign>,
    strut: Option<Font>,
}

#[derive(Debug)]
enum BoxKind {
    /// Block or flex container (per its style's display).
    Container,
    /// A replaced element or anything else whose content is not laid out.
    Leaf,
    /// An anonymous block holding a run of inline content.
    Inline(InlineFormatting),
}

#[derive(Debug)]
struct LayoutBox {
    kind: BoxKind,
    style: Style,
    children: Vec<usize>,
    cache: Cache,
    layout: taffy::Layout,
    hoisted: Vec<taffy::NodeId>,
    /// Inline elements placed in this (inline) box, relative to it.
    placed: Vec<(NodeId, Rect<f32>)>,
    /// How far its content is scrolled (a `scroll-view` with `scroll-top`).
    scroll: (f32, f32),
}

impl LayoutBox {
    fn new(kind: BoxKind, style: Style) -> LayoutBox {
        LayoutBox {
            kind,
            style,
            children: Vec::new(),
            cache: Cache::new(),
            layout: taffy::Layout::with_order(0),
            hoisted: Vec::new(),
            placed: Vec::new(),
            scroll: (0.0, 0.0),
        }
    }
}

/// The geometry of one element, in page coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BoxGeometry {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// Inside a `position: fixed` box: it does not move when the page scrolls.
    pub fixed: bool,
    /// Size of the scrollable content (at least the padding box).
    pub scroll_width: f32,
    pub scroll_height: f32,
    /// How far the element's own content is scrolled.
    pub scroll_left: f32,
    pub scroll_top: f32,
}

/// The box tree of one page plus the calc() values its styles refer to.
pub(crate) struct BoxTree {
    boxes: Vec<LayoutBox>,
    /// `calc()` values as (px, share of basis), addressed by taffy's opaque handle.
    /// Shared so a measure closure can resolve calc() while the tree is borrowed.
    calcs: std::rc::Rc<Vec<(f32, f32)>>,
}

/// The value of a calc() handle made by [`BoxTree::calc`] for a basis.
fn resolve_calc(calcs: &[(f32, f32)], value: *const (), basis: f32) -> f32 {
    let handle = (value as usize) >> 3;
    match handle.checked_sub(1).and_then(|i| calcs.get(i)) {
        Some((px, percent)) => px + percent * basis,
        None => 0.0,
    }
}

fn taffy_id(index: usize) -> taffy::NodeId {
    taffy::NodeId::from(index)
}

fn index(id: taffy::NodeId) -> usize {
    usize::from(id)
}

/// Tags whose content WeChat draws itself: a box of the styled size.
fn is_replaced(tag: &str) -> bool {
    matches!(
        tag,
        "image"
            | "icon"
            | "switch"
            | "input"
            | "textarea"
            | "canvas"
            | "video"
            | "map"
            | "camera"
            | "live-player"
            | "live-pusher"
            | "web-view"
            | "slider"
            | "progress"
            | "cover-image"
            | "editor"
    )
}

impl BoxTree {
    fn length(&mut self, length: Length) -> Option<LengthPercentageAuto> {
        Some(match length {
            Length::Px(px) => LengthPercentageAuto::length(px),
            Length::Percent(p) => LengthPercentageAuto::percent(p),
            Length::Calc { px, percent } => LengthPercentageAuto::calc(self.calc(px, percent)),
            Length::Auto => return None,
        })
    }

    /// Registers a calc() value; taffy carries it as an opaque, 8-aligned
    /// non-null handle, here `(index + 1) << 3`.
    fn calc(&mut self, px: f32, percent: f32) -> *const () {
        let calcs = std::rc::Rc::make_mut(&mut self.calcs);
        calcs.push((px, percent));
        (calcs.len() << 3) as *const ()
    }

    fn lpa(&mut self, length: Length) -> LengthPercentageAuto {
        self.length(length).unwrap_or(LengthPercentageAuto::auto())
    }

    fn lp(&mut self, length: Length) -> LengthPercentage {
        match length {
            Length::Px(px) => LengthPercentage::length(px),
            Length::Percent(p) => LengthPercentage::percent(p),
            Length::Calc { px, percent } => LengthPercentage::calc(self.calc(px, percent)),
            Length::Auto => LengthPercentage::length(0.0),
        }
    }

    fn dimension(&mut self, length: Length) -> Dimension {
        match length {
            Length::Px(px) => Dimension::length(px),
            Length::Percent(p) => Dimension::percent(p),
            Length::Calc { px, percent } => Dimension::calc(self.calc(px, percent)),
            Length::Auto => Dimension::auto(),
        }
    }

    fn taffy_style(&mut self, cs: &ComputedStyle, display: Display) -> Style {
        let [top, right, bottom, left] = cs.inset;
        let side = |this: &mut Self,
                    f: fn(&mut Self, Length) -> LengthPercentageAuto,
                    v: [Length; 4]| Rect {
            top: f(this, v[0]),
            right: f(this, v[1]),
            bottom: f(this, v[2]),
            left: f(this, v[3]),
        };
        let side_lp = |this: &mut Self, v: [Length; 4]| Rect {
            top: this.lp(v[0]),
            right: this.lp(v[1]),
            bottom: this.lp(v[2]),
            left: this.lp(v[3]),
        };
        Style {
            display,
            box_sizing: if cs.border_box {
                taffy::BoxSizing::BorderBox
            } else {
                taffy::BoxSizing::ContentBox
            },
            position: match cs.position {
                PositionKind::Static => Position::Static,
                PositionKind::Relative => Position::Relative,
                PositionKind::Absolute => Position::Absolute,
                PositionKind::Fixed => Position::Fixed,
            },
            inset: side(self, Self::lpa, [top, right, bottom, left]),
            size: Size {
                width: self.dimension(cs.width),
                height: self.dimension(cs.height),
            },
            min_size: Size {
                width: self.lpa(cs.min_width),
                height: self.lpa(cs.min_height),
            },
            max_size: Size {
                width: self.lpa(cs.max_width),
                height: self.lpa(cs.max_height),
            },
            margin: side(self, Self::lpa, cs.margin),
            padding: side_lp(self, cs.padding),
            border: side_lp(self, cs.border),
            flex_direction: cs.flex_direction,
            flex_wrap: cs.flex_wrap,
            flex_grow: cs.flex_grow,
            flex_shrink: cs.flex_shrink,
            flex_basis: self.dimension(cs.flex_basis),
            align_items: cs.align_items.unwrap_or(taffy::AlignItems::NORMAL),
            align_self: cs.align_self,
            align_content: cs.align_content.unwrap_or(taffy::AlignContent::NORMAL),
            justify_content: cs.justify_content.unwrap_or(taffy::JustifyContent::NORMAL),
            gap: Size {
                width: self.lp(cs.column_gap),
                height: self.lp(cs.row_gap),
            },
            overflow: Point {
                x: cs.overflow[0],
                y: cs.overflow[1],
            },
            scrollbar_width: 0.0,
            aspect_ratio: cs.aspect_ratio,
            ..Style::DEFAULT
        }
    }

    fn push(&mut self, layout_box: LayoutBox) -> usize {
        self.boxes.push(layout_box);
        self.boxes.len() - 1
    }
}

/// Builds the box tree for the subtree at `root`, computing every
/// element's style on the way.
pub(crate) struct Builder<'a, 'c> {
    pub cascade: &'c mut Cascade<'a>,
    pub tree: &'a NodeTree,
    pub boxes: BoxTree,
    pub styles: HashMap<NodeId, ComputedStyle>,
    /// Element → its box, for elements that made one.
    pub element_boxes: HashMap<NodeId, usize>,
}

/// A run of inline content being collected for an anonymous box.
#[derive(Default)]
struct Run {
    items: Vec<InlineItem>,
    /// Whether it has anything that makes a line box.
    significant: bool,
}

impl<'a, 'c> Builder<'a, 'c> {
    pub fn new(cascade: &'c mut Cascade<'a>, tree: &'a NodeTree) -> Self {
        Builder {
            cascade,
            tree,
            boxes: BoxTree {
                boxes: Vec::new(),
                calcs: std::rc::Rc::default(),
            },
            styles: HashMap::new(),
            element_boxes: HashMap::new(),
        }
    }

    /// Builds the root's box; it is laid out as a block whatever it says.
    pub fn build_root(&mut self, root: NodeId) -> usize {
        let mut style = self.cascade.compute(root, &ComputedStyle::root());
        if matches!(style.display, DisplayKind::None | DisplayKind::Contents) {
            style.display = DisplayKind::Block;
        }
        self.build_element(root, style)
    }

    fn element_style(&mut self, id: NodeId, parent: &ComputedStyle) -> ComputedStyle {
        self.cascade.compute(id, parent)
    }

    /// A box for an element that is block-level, a flex item, out of flow
    /// or an atomic inline. `blockify`: its parent is a flex container.
    fn build_element(&mut self, id: NodeId, style: ComputedStyle) -> usize {
        let node = self.tree.get(id);
        let tag = node.and_then(Node::tag).unwrap_or("");
        let display = match style.display {
            DisplayKind::Flex | DisplayKind::InlineFlex => Display::Flex,
            DisplayKind::None => Display::None,
            _ => Display::Block,
        };
        let mut taffy_style = self.boxes.taffy_style(&style, display);
        if tag == "icon" {
            // An icon is `size` px square (23 by default) unless styled.
            let size = node
                .and_then(|n| n.attribute("size"))
                .and_then(|v| match v {
                    serde_json::Value::Number(n) => n.as_f64(),
                    serde_json::Value::String(s) => s.trim_end_matches("px").parse().ok(),
                    _ => None,
                })
                .unwrap_or(23.0) as f32;
            if taffy_style.size.width.is_auto() {
                taffy_style.size.width = Dimension::length(size);
            }
            if taffy_style.size.height.is_auto() {
                taffy_style.size.height = Dimension::length(size);
            }
        }
        let kind = if is_replaced(tag) {
            BoxKind::Leaf
        } else {
            BoxKind::Container
        };
        let is_leaf = matches!(kind, BoxKind::Leaf);
        let index = self.boxes.push(LayoutBox::new(kind, taffy_style));
        if tag == "scroll-view"
            && let Some(node) = node
        {
            let offset = |name: &str| {
                node.attribute(name)
                    .and_then(|v| match v {
                        serde_json::Value::Number(n) => n.as_f64(),
                        serde_json::Value::String(s) => s.trim_end_matches("px").parse().ok(),
                        _ => None,
                    })
                    .unwrap_or(0.0) as f32
            };
            self.boxes.boxes[index].scroll = (offset("scroll-left"), offset("scroll-top"));
        }
        self.element_boxes.insert(id, index);
        let is_flex = display == Display::Flex;
        self.styles.insert(id, style);
        if !is_leaf && display != Display::None {
            let children = self.build_children(id, is_flex);
            self.boxes.boxes[index].children = children;
        }
        index
    }

    /// The boxes for an element's children: block-level boxes as they are,
    /// runs of inline content wrapped in anonymous boxes.
    fn build_children(&mut self, id: NodeId, is_flex: bool) -> Vec<usize> {
        let mut out = Vec::new();
        let mut run = Run::default();
        let Some(parent_style) = self.styles.get(&id).cloned() else {
            return out;
        };
        let children = self
            .tree
            .get(id)
            .map(|n| n.children.clone())
            .unwrap_or_default();
        self.collect(&children, &parent_style, is_flex, &mut run, &mut out);
        self.finish_run(&mut run, &parent_style, &mut out);
        out
    }

    fn collect(
        &mut self,
        children: &[NodeId],
        parent_style: &ComputedStyle,
        is_flex: bool,
        run: &mut Run,
        out: &mut Vec<usize>,
    ) {
        for &child in children {
            let Some(node) = self.tree.get(child) else {
                continue;
            };
            match &node.kind {
                NodeKind::Text(text) => self.push_text(text, parent_style, run),
                NodeKind::Fragment => {
                    let nested = node.children.clone();
                    self.collect(&nested, parent_style, is_flex, run, out);
                }
                NodeKind::Element { .. } => {
                    let style = self.element_style(child, parent_style);
                    let tag = node.tag().unwrap_or("");
                    let out_of_flow =
                        matches!(style.position, PositionKind::Absolute | PositionKind::Fixed);
                    match style.display {
                        DisplayKind::None => {
                            self.styles.insert(child, style);
                        }
                        DisplayKind::Contents => {
                            let nested = node.children.clone();
                            self.styles.insert(child, style.clone());
                            self.collect(&nested, &style, is_flex, run, out);
                        }
                        _ if out_of_flow || is_flex => {
                            // Flex items and out-of-flow boxes are blockified.
                            if is_flex {
                                self.finish_run(run, parent_style, out);
                            }
                            // An out-of-flow box in a run leaves the run open,
                            // so the text around it keeps flowing.
                            let index = self.build_element(child, style);
                            out.push(index);
                        }
                        DisplayKind::InlineBlock | DisplayKind::InlineFlex => {
                            let margin = self.inline_margins(&style);
                            let index = self.build_element(child, style);
                            run.items.push(InlineItem::Atomic {
                                child: index,
                                margin,
                            });
                            run.significant = true;
                        }
                        DisplayKind::Inline if is_replaced(tag) => {
                            let margin = self.inline_margins(&style);
                            let index = self.build_element(child, style);
                            run.items.push(InlineItem::Atomic {
                                child: index,
                                margin,
                            });
                            run.significant = true;
                        }
                        DisplayKind::Inline if self.inline_only(child) => {
                            self.push_inline_element(child, style, run, out);
                        }
                        _ => {
                            // Block-level (or an inline holding blocks, which
                            // CSS splits around them: one box is close enough).
                            self.finish_run(run, parent_style, out);
                            let mut style = style;
                            if style.display == DisplayKind::Inline {
                                style.display = DisplayKind::Block;
                            }
                            let index = self.build_element(child, style);
                            out.push(index);
                        }
                    }
                }
            }
        }
    }

    /// Horizontal margins resolve against the container width, unknown
    /// here; percentages count as zero for inline items.
    fn inline_margins(&self, style: &ComputedStyle) -> [f32; 4] {
        style.margin.map(|m| match m {
            Length::Px(px) => px,
            Length::Calc { px, .. } => px,
            _ => 0.0,
        })
    }

    /// Whether an inline element holds only inline content (so it flows
    /// in lines), looking through nested inline elements.
    fn inline_only(&mut self, id: NodeId) -> bool {
        let Some(node) = self.tree.get(id) else {
            return true;
        };
        node.children.iter().all(|&child| {
            let Some(child_node) = self.tree.get(child) else {
                return true;
            };
            match &child_node.kind {
                NodeKind::Text(_) => true,
                NodeKind::Fragment => self.inline_only(child),
                NodeKind::Element { .. } => {
                    let parent = ComputedStyle::root();
                    let style = self.cascade.compute(child, &parent);
                    match style.display {
                        DisplayKind::None | DisplayKind::InlineBlock | DisplayKind::InlineFlex => {
                            true
                        }
                        _ if matches!(
                            style.position,
                            PositionKind::Absolute | PositionKind::Fixed
                        ) =>
                        {
                            true
                        }
                        DisplayKind::Inline | DisplayKind::Contents => self.inline_only(child),
                        _ => false,
                    }
                }
            }
        })
    }

    fn push_inline_element(
        &mut self,
        id: NodeId,
        style: ComputedStyle,
        run: &mut Run,
        out: &mut Vec<usize>,
    ) {
        let px = |l: Length| match l {
            Length::Px(px) => px,
            Length::Calc { px, .. } => px,
            _ => 0.0,
        };
        let font = Font::of(&style);
        let start_inset = px(style.border[3]) + px(style.padding[3]);
        let end_inset = px(style.border[1]) + px(style.padding[1]);
        let margin_start = px(style.margin[3]);
        let margin_end = px(style.margin[1]);
        run.items.push(InlineItem::Open {
            node: id,
            margin: margin_start,
            inset: start_inset,
            vertical: (
                px(style.border[0]) + px(style.padding[0]),
                px(style.border[2]) + px(style.padding[2]),
            ),
            font,
        });
        if start_inset + end_inset + margin_start + margin_end > 0.0 {
            run.significant = true;
        }
        let children = self
            .tree
            .get(id)
            .map(|n| n.children.clone())
            .unwrap_or_default();
        self.styles.insert(id, style.clone());
        self.collect(&children, &style, false, run, out);
        run.items.push(InlineItem::Close {
            node: id,
            margin: margin_end,
            inset: end_inset,
        });
    }

    fn push_text(&mut self, text: &str, style: &ComputedStyle, run: &mut Run) {
        let (collapse, keep_newlines, wrap) = match style.white_space {
            WhiteSpace::Normal => (true, false, true),
            WhiteSpace::NoWrap => (true, false, false),
            WhiteSpace::Pre => (false, true, false),
            WhiteSpace::PreWrap => (false, true, true),
            WhiteSpace::PreLine => (true, true, true),
        };
        let font = Font::of(style);
        for piece in text::pieces(text, collapse, keep_newlines, style.break_all) {
            let (width, normal_factor) = match &piece {
                Piece::Word(word) => {
                    run.significant = true;
                    (
                        text::width(word, font.size, font.letter_spacing),
                        text::normal_factor(word),
                    )
                }
                Piece::Space(space) => {
                    if !collapse {
                        run.significant = true;
                    }
                    (
                        text::width(space, font.size, font.letter_spacing),
                        text::NORMAL_LINE_HEIGHT,
                    )
                }
                Piece::Break => {
                    run.significant = true;
                    (0.0, text::NORMAL_LINE_HEIGHT)
                }
            };
            run.items.push(InlineItem::Text {
                piece,
                font,
                width,
                normal_factor,
                wrap,
                collapse,
            });
        }
    }

    fn finish_run(&mut self, run: &mut Run, container: &ComputedStyle, out: &mut Vec<usize>) {
        let items = std::mem::take(&mut run.items);
        let significant = std::mem::replace(&mut run.significant, false);
        if items.is_empty() || !significant {
            return;
        }
        let mut atomics = Vec::new();
        for item in &items {
            if let InlineItem::Atomic { child, .. } = item {
                atomics.push(*child);
            }
        }
        let formatting = InlineFormatting {
            items,
            text_align: Some(container.text_align),
            strut: Some(Font::of(container)),
        };
        let style = Style {
            display: Display::Block,
            ..Style::DEFAULT
        };
        let index = self
            .boxes
            .push(LayoutBox::new(BoxKind::Inline(formatting), style));
        self.boxes.boxes[index].children = atomics;
        out.push(index);
    }
}

// ---- taffy's view of the box tree ----------------------------------------

pub(crate) struct ChildIter<'a>(std::slice::Iter<'a, usize>);

impl Iterator for ChildIter<'_> {
    type Item = taffy::NodeId;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().copied().map(taffy_id)
    }
}

impl TraversePartialTree for BoxTree {
    type ChildIter<'a> = ChildIter<'a>;

    fn child_ids(&self, parent: taffy::NodeId) -> Self::ChildIter<'_> {
        ChildIter(self.boxes[index(parent)].children.iter())
    }

    fn child_count(&self, parent: taffy::NodeId) -> usize {
        self.boxes[index(parent)].children.len()
    }

    fn get_child_id(&self, parent: taffy::NodeId, child_index: usize) -> taffy::NodeId {
        taffy_id(self.boxes[index(parent)].children[child_index])
    }
}

impl LayoutPartialTree for BoxTree {
    type CoreContainerStyle<'a> = &'a Style;
    type CustomIdent = String;

    fn get_core_container_style(&self, node: taffy::NodeId) -> Self::CoreContainerStyle<'_> {
        &self.boxes[index(node)].style
    }

    fn resolve_calc_value(&self, value: *const (), basis: f32) -> f32 {
        resolve_calc(&self.calcs, value, basis)
    }

    fn set_unrounded_layout(&mut self, node: taffy::NodeId, layout: &taffy::Layout) {
        self.boxes[index(node)].layout = *layout;
    }

    fn compute_child_layout(&mut self, node: taffy::NodeId, inputs: LayoutInput) -> LayoutOutput {
        self.compute_box(node, inputs, None)
    }
}

impl BoxTree {
    fn compute_box(
        &mut self,
        node: taffy::NodeId,
        inputs: LayoutInput,
        block_ctx: Option<&mut BlockContext<'_>>,
    ) -> LayoutOutput {
        if inputs.run_mode == RunMode::PerformHiddenLayout {
            return compute_hidden_layout(self, node);
        }
        compute_cached_layout(self, node, inputs, |tree, node, inputs| {
            let layout_box = &tree.boxes[index(node)];
            let display = layout_box.style.display;
            let has_children = !layout_box.children.is_empty();
            let mut output = match (&layout_box.kind, display) {
                (_, Display::None) => compute_hidden_layout(tree, node),
                (BoxKind::Inline(_), _) => tree.compute_inline(node, inputs),
                (BoxKind::Container, Display::Flex) if has_children => {
                    compute_flexbox_layout(tree, node, inputs)
                }
                (BoxKind::Container, _) if has_children => {
                    compute_block_layout(tree, node, inputs, block_ctx)
                }
                _ => {
                    let style = tree.boxes[index(node)].style.clone();
                    compute_leaf_layout(
                        inputs,
                        &style,
                        |value, basis| tree.resolve_calc_value(value, basis),
                        |_, _| Size::ZERO,
                    )
                }
            };
            if inputs.run_mode == RunMode::PerformLayout {
                compute_oof_layout(tree, node, &mut output);
            }
            output
        })
    }

    /// Measures an atomic inline: shrink-to-fit within `available`.
    fn measure_atomic(
        &mut self,
        child: usize,
        available: AvailableSpace,
        parent_width: Option<f32>,
        margin_x: f32,
    ) -> Size<f32> {
        let probe = |width: AvailableSpace, known: Option<f32>| LayoutInput {
            run_mode: RunMode::ComputeSize,
            sizing_mode: SizingMode::InherentSize,
            axis: RequestedAxis::Both,
            known_dimensions: Size {
                width: known,
                height: None,
            },
            known_dimensions_are_definite: Size {
                width: true,
                height: true,
            },
            parent_size: Size {
                width: parent_width,
                height: None,
            },
            available_space: Size {
                width,
                height: AvailableSpace::MaxContent,
            },
            vertical_margins_are_collapsible: taffy::Line::FALSE,
        };
        match available {
            AvailableSpace::Definite(limit) => {
                let room = (limit - margin_x).max(0.0);
                let preferred = self
                    .compute_child_layout(taffy_id(child), probe(AvailableSpace::MaxContent, None));
                if preferred.size.width <= room {
                    preferred.size
                } else {
                    let minimum = self.compute_child_layout(
                        taffy_id(child),
                        probe(AvailableSpace::MinContent, None),
                    );
                    let width = room.max(minimum.size.width);
                    self.compute_child_layout(
                        taffy_id(child),
                        probe(AvailableSpace::Definite(width), Some(width)),
                    )
                    .size
                }
            }
            other => {
                self.compute_child_layout(taffy_id(child), probe(other, None))
                    .size
            }
        }
    }

    /// Breaks the inline content of box `node` into lines no wider than
    /// `available` (wrapping nowhere for max-content, everywhere for min-content).
    fn break_lines(
        &mut self,
        node: usize,
        available: AvailableSpace,
        parent_width: Option<f32>,
    ) -> Vec<Line> {
        let BoxKind::Inline(formatting) = &self.boxes[node].kind else {
            return Vec::new();
        };
        let items = formatting.items.clone();
        let strut = formatting.strut.unwrap_or(Font {
            size: crate::style::ROOT_FONT_SIZE,
            line_height: None,
            letter_spacing: 0.0,
        });
        let limit = match available {
            AvailableSpace::Definite(w) => w,
            AvailableSpace::MinContent => 0.0,
            AvailableSpace::MaxContent => f32::INFINITY,
        };
        let (_, strut_above, strut_below) = strut.metrics(text::NORMAL_LINE_HEIGHT);
        let new_line = || Line {
            items: Vec::new(),
            width: 0.0,
            above: strut_above,
            below: strut_below,
            content: false,
            atomic_sizes: Vec::new(),
        };
        let mut lines = vec![new_line()];
        let mut pending_space: Option<(usize, f32)> = None;
        for (i, item) in items.iter().enumerate() {
            let line_count = lines.len();
            let line = &mut lines[line_count - 1];
            match item {
                InlineItem::Text {
                    piece: Piece::Break,
                    ..
                } => {
                    pending_space = None;
                    line.content = true;
                    lines.push(new_line());
                }
                InlineItem::Text {
                    piece: Piece::Space(_),
                    width,
                    collapse: true,
                    ..
                } => {
                    if line.content {
                        pending_space = Some((i, *width));
                    }
                }
                InlineItem::Text {
                    width,
                    font,
                    normal_factor,
                    wrap,
                    ..
                } => {
                    let space = pending_space.map_or(0.0, |(_, w)| w);
                    if *wrap && line.content && line.width + space + width > limit + 0.01 {
                        lines.push(new_line());
                        pending_space = None;
                    }
                    let line_count = lines.len();
                    let line = &mut lines[line_count - 1];
                    if let Some((space_index, space_width)) = pending_space.take() {
                        line.place(space_index, space_width, None);
                    }
                    line.place(i, *width, Some(font.metrics(*normal_factor)));
                    line.content = true;
                }
                InlineItem::Open {
                    margin,
                    inset,
                    font,
                    ..
                } => {
                    if let Some((space_index, space_width)) = pending_space.take() {
                        line.place(space_index, space_width, None);
                    }
                    line.place(
                        i,
                        margin + inset,
                        Some(font.metrics(text::NORMAL_LINE_HEIGHT)),
                    );
                    if margin + inset > 0.0 {
                        line.content = true;
                    }
                }
                InlineItem::Close { margin, inset, .. } => {
                    line.place(i, margin + inset, None);
                    if margin + inset > 0.0 {
                        line.content = true;
                    }
                }
                InlineItem::Atomic { child, margin } => {
                    let size =
                        self.measure_atomic(*child, available, parent_width, margin[1] + margin[3]);
                    let outer = Size {
                        width: size.width + margin[1] + margin[3],
                        height: size.height + margin[0] + margin[2],
                    };
                    let line_count = lines.len();
                    let line = &mut lines[line_count - 1];
                    let space = pending_space.map_or(0.0, |(_, w)| w);
                    if line.content && line.width + space + outer.width > limit + 0.01 {
                        lines.push(new_line());
                        pending_space = None;
                    }
                    let line_count = lines.len();
                    let line = &mut lines[line_count - 1];
                    if let Some((space_index, space_width)) = pending_space.take() {
                        line.place(space_index, space_width, None);
                    }
                    line.place(i, outer.width, Some((outer.height, outer.height, 0.0)));
                    line.atomic_sizes.push((i, size));
                    line.content = true;
                }
            }
        }
        // A trailing line without content makes no line box.
        lines.retain(|line| line.content);
        lines
    }

    fn compute_inline(&mut self, node: taffy::NodeId, inputs: LayoutInput) -> LayoutOutput {
        let style = self.boxes[index(node)].style.clone();
        let parent_width = inputs.parent_size.width;
        let calcs = self.calcs.clone();
        let mut output = {
            let measure = |known: Size<Option<f32>>, available: Size<AvailableSpace>| {
                let width = match known.width {
                    Some(w) => AvailableSpace::Definite(w),
                    None => available.width,
                };
                let lines = self.break_lines(index(node), width, parent_width);
                let content_width = lines.iter().map(|l| l.width).fold(0.0, f32::max);
                let height: f32 = lines.iter().map(Line::height).sum();
                Size {
                    width: known.width.unwrap_or(content_width),
                    height: known.height.unwrap_or(height),
                }
            };
            let resolve = move |value: *const (), basis: f32| resolve_calc(&calcs, value, basis);
            compute_leaf_layout(inputs, &style, resolve, measure)
        };
        if inputs.run_mode == RunMode::PerformLayout {
            let candidates = self.place_inline(index(node), output.size.width, parent_width);
            output.oof_candidates = candidates;
        }
        output
    }

    /// Final placement of a box's inline content at `width`: positions the
    /// atomic children (laying them out) and records inline elements' rects.
    fn place_inline(
        &mut self,
        node: usize,
        width: f32,
        parent_width: Option<f32>,
    ) -> taffy::OofCandidates {
        let lines = self.break_lines(node, AvailableSpace::Definite(width), parent_width);
        let BoxKind::Inline(formatting) = &self.boxes[node].kind else {
            return taffy::OofCandidates::new();
        };
        let items = formatting.items.clone();
        let align = formatting.text_align.unwrap_or(TextAlign::Start);
        let mut candidates = taffy::OofCandidates::new();
        let mut rects: Vec<(NodeId, Rect<f32>)> = Vec::new();
        let mut open: Vec<(NodeId, (f32, f32))> = Vec::new();
        let extend = |rects: &mut Vec<(NodeId, Rect<f32>)>, id: NodeId, r: Rect<f32>| match rects
            .iter_mut()
            .find(|(n, _)| *n == id)
        {
            Some((_, existing)) => {
                existing.left = existing.left.min(r.left);
                existing.top = existing.top.min(r.top);
                existing.right = existing.right.max(r.right);
                existing.bottom = existing.bottom.max(r.bottom);
            }
            None => rects.push((id, r)),
        };
        let mut y = 0.0;
        for line in &lines {
            let free = (width - line.width).max(0.0);
            let shift = match align {
                TextAlign::Start => 0.0,
                TextAlign::Center => free / 2.0,
                TextAlign::End => free,
            };
            let baseline = y + line.above;
            for placed in &line.items {
                let x = shift + placed.x;
                match &items[placed.item] {
                    InlineItem::Text {
                        normal_factor,
                        font,
                        ..
                    } => {
                        let (content, _, _) = font.metrics(*normal_factor);
                        let top = baseline - content * 0.8;
                        let r = Rect {
                            left: x,
                            right: x + placed.width,
                            top,
                            bottom: top + content,
                        };
                        for (id, _) in &open {
                            extend(&mut rects, *id, r);
                        }
                    }
                    InlineItem::Open {
                        node: id,
                        margin,
                        font,
                        vertical,
                        ..
                    } => {
                        let (content, _, _) = font.metrics(text::NORMAL_LINE_HEIGHT);
                        let top = baseline - content * 0.8;
                        open.push((*id, *vertical));
                        let r = Rect {
                            left: x + margin,
                            right: x + placed.width,
                            top,
                            bottom: top + content,
                        };
                        extend(&mut rects, *id, r);
                    }
                    InlineItem::Close {
                        node: id, margin, ..
                    } => {
                        if let Some(pos) = open.iter().rposition(|(n, _)| n == id) {
                            open.remove(pos);
                        }
                        if let Some((_, existing)) = rects.iter_mut().find(|(n, _)| n == id) {
                            existing.right = existing.right.max(x + placed.width - margin);
                        }
                    }
                    InlineItem::Atomic { child, margin } => {
                        let size = line
                            .atomic_sizes
                            .iter()
                            .find(|(i, _)| *i == placed.item)
                            .map_or(Size::ZERO, |(_, s)| *s);
                        let location = Point {
                            x: x + margin[3],
                            y: baseline - (size.height + margin[0] + margin[2]) + margin[0],
                        };
                        let mut out = self.compute_child_layout(
                            taffy_id(*child),
                            LayoutInput {
                                run_mode: RunMode::PerformLayout,
                                sizing_mode: SizingMode::InherentSize,
                                axis: RequestedAxis::Both,
                                known_dimensions: size.map(Some),
                                known_dimensions_are_definite: Size {
                                    width: true,
                                    height: true,
                                },
                                parent_size: Size {
                                    width: Some(width),
                                    height: None,
                                },
                                available_space: Size {
                                    width: AvailableSpace::Definite(size.width),
                                    height: AvailableSpace::Definite(size.height),
                                },
                                vertical_margins_are_collapsible: taffy::Line::FALSE,
                            },
                        );
                        let child_style = &self.boxes[*child].style;
                        let calc = |v: *const (), basis: f32| self.resolve_calc_value(v, basis);
                        let border: Rect<f32> =
                            child_style.border.resolve_or_zero(Some(width), calc);
                        let padding: Rect<f32> =
                            child_style.padding.resolve_or_zero(Some(width), calc);
                        let layout = taffy::Layout {
                            order: placed.item as u32,
                            location,
                            size: out.size,
                            scrollable_overflow_rect: out.scrollable_overflow_rect,
                            scrollbar_size: Size::ZERO,
                            border,
                            padding,
                            margin: Rect {
                                top: margin[0],
                                right: margin[1],
                                bottom: margin[2],
                                left: margin[3],
                            },
                        };
                        self.set_unrounded_layout(taffy_id(*child), &layout);
                        out.oof_candidates.translate(location);
                        candidates.append(&mut out.oof_candidates);
                        let r = Rect {
                            left: location.x,
                            right: location.x + out.size.width,
                            top: location.y,
                            bottom: location.y + out.size.height,
                        };
                        for (id, _) in &open {
                            extend(&mut rects, *id, r);
                        }
                    }
                }
            }
            y += line.height();
        }
        // Inline elements' borders and padding sit outside their content area.
        let verticals: HashMap<NodeId, (f32, f32)> = items
            .iter()
            .filter_map(|item| match item {
                InlineItem::Open { node, vertical, .. } => Some((*node, *vertical)),
                _ => None,
            })
            .collect();
        for (id, rect) in &mut rects {
            if let Some((top, bottom)) = verticals.get(id) {
                rect.top -= top;
                rect.bottom += bottom;
            }
        }
        self.boxes[node].placed = rects;
        candidates
    }
}

#[derive(Debug, Clone)]
struct PlacedItem {
    item: usize,
    x: f32,
    width: f32,
}

#[derive(Debug, Clone)]
struct Line {
    items: Vec<PlacedItem>,
    width: f32,
    above: f32,
    below: f32,
    content: bool,
    atomic_sizes: Vec<(usize, Size<f32>)>,
}

impl Line {
    /// Appends an item of `width`; `metrics` (content, above, below) grow the line box.
    fn place(&mut self, item: usize, width: f32, metrics: Option<(f32, f32, f32)>) {
        self.items.push(PlacedItem {
            item,
            x: self.width,
            width,
        });
        self.width += width;
        if let Some((_, above, below)) = metrics {
            self.above = self.above.max(above);
            self.below = self.below.max(below);
        }
    }

    fn height(&self) -> f32 {
        (self.above + self.below).max(0.0)
    }
}

impl LayoutContainingBlock for BoxTree {
    type OofItemStyle<'a> = &'a Style;

    fn get_oof_item_style(&self, node: taffy::NodeId) -> Self::OofItemStyle<'_> {
        &self.boxes[index(node)].style
    }

    fn clear_hoisted_children(&mut self, node: taffy::NodeId) {
        self.boxes[index(node)].hoisted.clear();
    }

    fn add_hoisted_children(&mut self, node: taffy::NodeId, hoisted: &[taffy::NodeId]) {
        self.boxes[index(node)].hoisted.extend_from_slice(hoisted);
    }
}

impl CacheTree for BoxTree {
    fn cache_get(&mut self, node: taffy::NodeId, inputs: &LayoutInput) -> Option<LayoutOutput> {
        self.boxes[index(node)].cache.get(inputs)
    }

    fn cache_store(&mut self, node: taffy::NodeId, inputs: &LayoutInput, output: LayoutOutput) {
        self.boxes[index(node)].cache.store(inputs, output);
    }

    fn cache_clear(&mut self, node: taffy::NodeId) {
        self.boxes[index(node)].cache.clear();
    }
}

impl LayoutFlexboxContainer for BoxTree {
    type FlexboxContainerStyle<'a> = &'a Style;
    type FlexboxItemStyle<'a> = &'a Style;

    fn get_flexbox_container_style(&self, node: taffy::NodeId) -> Self::FlexboxContainerStyle<'_> {
        &self.boxes[index(node)].style
    }

    fn get_flexbox_child_style(&self, child: taffy::NodeId) -> Self::FlexboxItemStyle<'_> {
        &self.boxes[index(child)].style
    }
}

impl LayoutBlockContainer for BoxTree {
    type BlockContainerStyle<'a> = &'a Style;
    type BlockItemStyle<'a> = &'a Style;

    fn get_block_container_style(&self, node: taffy::NodeId) -> Self::BlockContainerStyle<'_> {
        &self.boxes[index(node)].style
    }

    fn get_block_child_style(&self, child: taffy::NodeId) -> Self::BlockItemStyle<'_> {
        &self.boxes[index(child)].style
    }

    fn compute_block_child_layout(
        &mut self,
        node: taffy::NodeId,
        inputs: LayoutInput,
        block_ctx: Option<&mut BlockContext<'_>>,
    ) -> LayoutOutput {
        self.compute_box(node, inputs, block_ctx)
    }
}

impl BoxTree {
    /// Runs layout from `root` in a viewport and returns every element's
    /// geometry in page coordinates.
    pub(crate) fn layout(
        &mut self,
        root: usize,
        viewport: Size<f32>,
        element_boxes: &HashMap<NodeId, usize>,
    ) -> HashMap<NodeId, BoxGeometry> {
        taffy::compute_root_layout(
            self,
            taffy_id(root),
            Size {
                width: AvailableSpace::Definite(viewport.width),
                height: AvailableSpace::Definite(viewport.height),
            },
        );
        let mut absolute: Vec<Option<(f32, f32, bool)>> = vec![None; self.boxes.len()];
        self.place(root, 0.0, 0.0, false, &mut absolute);
        let mut out = HashMap::new();
        for (&id, &b) in element_boxes {
            let Some((x, y, fixed)) = absolute[b] else {
                continue;
            };
            let layout = &self.boxes[b].layout;
            let border = layout.border;
            let client = Size {
                width: (layout.size.width - border.left - border.right).max(0.0),
                height: (layout.size.height - border.top - border.bottom).max(0.0),
            };
            let overflow = layout.scrollable_overflow_rect;
            let (scroll_left, scroll_top) = self.boxes[b].scroll;
            let scroll_width = client.width.max(overflow.right);
            let scroll_height = client.height.max(overflow.bottom);
            out.insert(
                id,
                BoxGeometry {
                    x,
                    y,
                    width: layout.size.width,
                    height: layout.size.height,
                    fixed,
                    scroll_width,
                    scroll_height,
                    scroll_left: scroll_left.clamp(0.0, (scroll_width - client.width).max(0.0)),
                    scroll_top: scroll_top.clamp(0.0, (scroll_height - client.height).max(0.0)),
                },
            );
        }
        for (b, layout_box) in self.boxes.iter().enumerate() {
            let Some((x, y, fixed)) = absolute[b] else {
                continue;
            };
            for (id, r) in &layout_box.placed {
                out.insert(
                    *id,
                    BoxGeometry {
                        x: x + r.left,
                        y: y + r.top,
                        width: r.right - r.left,
                        height: r.bottom - r.top,
                        fixed,
                        scroll_width: r.right - r.left,
                        scroll_height: r.bottom - r.top,
                        ..BoxGeometry::default()
                    },
                );
            }
        }
        out
    }

    /// Accumulates page positions the way taffy's rounding pass walks the
    /// tree: in-flow children from their parent, out-of-flow boxes from
    /// their containing block.
    fn place(
        &self,
        b: usize,
        parent_x: f32,
        parent_y: f32,
        fixed: bool,
        out: &mut Vec<Option<(f32, f32, bool)>>,
    ) {
        let layout_box = &self.boxes[b];
        let x = parent_x + layout_box.layout.location.x;
        let y = parent_y + layout_box.layout.location.y;
        let fixed = fixed || layout_box.style.position == Position::Fixed;
        out[b] = Some((x, y, fixed));
        if layout_box.style.display == Display::None {
            return;
        }
        let clamp =
            |offset: f32, content: f32, size: f32| offset.clamp(0.0, (content - size).max(0.0));
        let scroll = (
            clamp(
                layout_box.scroll.0,
                layout_box.layout.scrollable_overflow_rect.right,
                layout_box.layout.size.width,
            ),
            clamp(
                layout_box.scroll.1,
                layout_box.layout.scrollable_overflow_rect.bottom,
                layout_box.layout.size.height,
            ),
        );
        for &child in &layout_box.children {
            if !self.boxes[child].style.position.is_out_of_flow() {
                self.place(child, x - scroll.0, y - scroll.1, fixed, out);
            }
        }
        for hoisted in &layout_box.hoisted {
            self.place(index(*hoisted), x - scroll.0, y - scroll.1, fixed, out);
        }
    }
}
