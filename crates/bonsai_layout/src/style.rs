//! The cascade: which declarations apply to an element (stylesheets bound
//! to style scopes, WeChat's built-in component styles, the inline `style`
//! attribute), in which order, and the typed style that results.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use bonsai_tree::{Node, NodeId, NodeKind, NodeTree};
use taffy::{AlignContent, AlignItems, FlexDirection, FlexWrap, JustifyContent, Overflow};

use crate::css::{Declaration, Rule, media_matches, parse_declarations, parse_stylesheet};
use crate::selector::{MatchScope, RuleKey, matches};
use crate::values::{Length, Units, parse_length, parse_number, split_values};

/// WeChat's built-in component styles (its webview's base stylesheet),
/// reduced to what changes boxes. `button` follows the classic (v1) style;
/// [`UA_V2`] overrides it for apps with `"style": "v2"`.
const UA: &str = r#"
page, view, scroll-view, swiper, swiper-item, movable-area, form, navigator,
cover-view, cover-image, picker, picker-view, picker-view-column, editor, ad,
official-account, functional-page-navigator, match-media, page-container,
root-portal, share-element, grid-view, list-view, sticky-header, sticky-section,
keyboard-accessory, web-view { display: block }
text, label, rich-text, span { display: inline }
image { display: inline-block; width: 320px; height: 240px; overflow: hidden }
cover-image { width: 320px; height: 240px }
button { display: block; position: relative; margin-left: auto; margin-right: auto;
  padding-left: 14px; padding-right: 14px; box-sizing: border-box; font-size: 18px;
  text-align: center; line-height: 2.55555556; overflow: hidden }
button[size=mini] { display: inline-block; font-size: 13px; line-height: 2.3;
  padding: 0 1.34em }
input { display: block; height: 1.4rem; min-height: 1.4rem; overflow: hidden; white-space: nowrap }
textarea { display: block; width: 300px; height: 150px; position: relative }
canvas { display: block; width: 300px; height: 150px }
video { display: inline-block; width: 300px; height: 225px; position: relative }
live-player, live-pusher { display: block; width: 300px; height: 225px }
map { display: inline-block; width: 300px; height: 150px; position: relative }
camera { display: block; width: 100%; height: 300px }
swiper { height: 150px; position: relative; overflow: hidden }
swiper-item { position: absolute; left: 0; top: 0; width: 100%; height: 100%; overflow: hidden }
scroll-view { position: relative; overflow: hidden }
movable-area { position: relative; width: 10px; height: 10px }
movable-view { display: inline-block; position: absolute; top: 0; left: 0; width: 10px; height: 10px }
icon, switch, checkbox, radio { display: inline-block }
switch { width: 52px; height: 32px }
slider { display: block; margin: 10px 18px; height: 28px }
progress { display: flex; align-items: center }
web-view { position: fixed; top: 0; left: 0; width: 100%; height: 100% }
"#;

/// `app.json` `"style": "v2"` restyles buttons (WeUI 2).
const UA_V2: &str = r#"
button { width: 184px; padding: 8px 24px; font-size: 17px; line-height: 1.41176471;
  font-weight: 700; border-radius: 8px }
button[size=mini] { width: auto; padding: 0 0.75em; font-size: 16px; line-height: 2 }
"#;

/// A parsed stylesheet with its rules indexed by their rightmost compound.
#[derive(Debug)]
struct Sheet {
    name: String,
    rules: Vec<Rule>,
    index: HashMap<RuleKey, Vec<(usize, usize)>>,
}

impl Sheet {
    fn parse(name: &str, css: &str) -> Sheet {
        let rules = parse_stylesheet(css);
        let mut index: HashMap<RuleKey, Vec<(usize, usize)>> = HashMap::new();
        for (r, rule) in rules.iter().enumerate() {
            for (s, selector) in rule.selectors.iter().enumerate() {
                index.entry(selector.key()).or_default().push((r, s));
            }
        }
        Sheet {
            name: name.to_owned(),
            rules,
            index,
        }
    }
}

/// Which elements a stylesheet styles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Classes must have been added under this style scope; `None` matches
    /// classes of any scope (a stylesheet outside WeChat's isolation).
    pub scope: Option<u32>,
    /// Only inside this page (a page's own stylesheet shares the app's
    /// scope but not other pages' elements); `None` for every page.
    pub page: Option<String>,
    /// The component whose stylesheet this is, for `:host` rules.
    pub component: Option<String>,
}

/// An identifier of a stylesheet added to a [`StyleSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SheetId(usize);

/// The app's stylesheets, parsed once, and what each is bound to.
#[derive(Debug)]
pub struct StyleSet {
    sheets: Vec<Sheet>,
    bindings: Vec<(SheetId, Binding)>,
    ua: Sheet,
    ua_v2: Sheet,
    /// Whether the app opted into WeChat's v2 component styles.
    pub style_v2: bool,
    /// Bumped on every change, so cached layouts know they are stale.
    version: u64,
}

impl Default for StyleSet {
    fn default() -> Self {
        Self::new()
    }
}

impl StyleSet {
    pub fn new() -> StyleSet {
        StyleSet {
            sheets: Vec::new(),
            bindings: Vec::new(),
            ua: Sheet::parse("<built-in>", UA),
            ua_v2: Sheet::parse("<built-in v2>", UA_V2),
            style_v2: false,
            version: 0,
        }
    }

    /// Parses and adds a stylesheet as `bonsai_wxss` linked it; `rpx` is
    /// kept as a unit and resolved against the viewport at layout time.
    pub fn add_fragments(
        &mut self,
        name: &str,
        fragments: &[bonsai_wxss::StyleFragment],
    ) -> SheetId {
        let mut css = String::new();
        for fragment in fragments {
            match fragment {
                bonsai_wxss::StyleFragment::Css(text) => css.push_str(text),
                bonsai_wxss::StyleFragment::Rpx(n) => css.push_str(&format!("{n}rpx")),
            }
        }
        self.add_css(name, &css)
    }

    /// Parses and adds a stylesheet written as CSS text (with `rpx`).
    pub fn add_css(&mut self, name: &str, css: &str) -> SheetId {
        self.version += 1;
        self.sheets.push(Sheet::parse(name, css));
        SheetId(self.sheets.len() - 1)
    }

    /// The stylesheet added under `name`, if any.
    pub fn sheet(&self, name: &str) -> Option<SheetId> {
        self.sheets.iter().position(|s| s.name == name).map(SheetId)
    }

    /// Makes a stylesheet apply as `binding` says. Later bindings win ties
    /// of specificity, as later stylesheets do in a browser; binding the
    /// same pair twice changes nothing.
    pub fn bind(&mut self, sheet: SheetId, binding: Binding) {
        if sheet.0 < self.sheets.len()
            && !self
                .bindings
                .iter()
                .any(|(s, b)| *s == sheet && *b == binding)
        {
            self.version += 1;
            self.bindings.push((sheet, binding));
        }
    }

    pub fn version(&self) -> u64 {
        self.version
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DisplayKind {
    Block,
    Inline,
    InlineBlock,
    Flex,
    InlineFlex,
    None,
    /// The element makes no box; its children take its place.
    Contents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PositionKind {
    Static,
    Relative,
    Absolute,
    Fixed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LineHeight {
    Normal,
    Factor(f32),
    Px(f32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextAlign {
    Start,
    Center,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhiteSpace {
    Normal,
    NoWrap,
    Pre,
    PreWrap,
    PreLine,
}

/// An element's style, typed; lengths stay unresolved where their basis
/// is only known during layout (percentages).
#[derive(Debug, Clone)]
pub(crate) struct ComputedStyle {
    pub display: DisplayKind,
    pub position: PositionKind,
    /// top, right, bottom, left.
    pub inset: [Length; 4],
    pub width: Length,
    pub height: Length,
    pub min_width: Length,
    pub min_height: Length,
    /// `Auto` stands for `none`.
    pub max_width: Length,
    pub max_height: Length,
    pub margin: [Length; 4],
    pub padding: [Length; 4],
    /// Used border widths (zero where the border style is none).
    pub border: [Length; 4],
    pub border_box: bool,
    pub flex_direction: FlexDirection,
    pub flex_wrap: FlexWrap,
    pub flex_grow: f32,
    pub flex_shrink: f32,
    pub flex_basis: Length,
    pub align_items: Option<AlignItems>,
    pub align_self: Option<AlignItems>,
    pub align_content: Option<AlignContent>,
    pub justify_content: Option<JustifyContent>,
    pub row_gap: Length,
    pub column_gap: Length,
    pub overflow: [Overflow; 2],
    pub aspect_ratio: Option<f32>,
    pub font_size: f32,
    pub line_height: LineHeight,
    pub text_align: TextAlign,
    pub white_space: WhiteSpace,
    pub letter_spacing: f32,
    pub break_all: bool,
    /// Inherited custom properties (`--x`).
    pub custom: Rc<BTreeMap<String, String>>,
    /// The winning declarations after `var()` substitution, for computed-style queries.
    pub declared: BTreeMap<String, String>,
}

/// The font size of `page` and of `rem`.
pub(crate) const ROOT_FONT_SIZE: f32 = 16.0;

impl ComputedStyle {
    pub fn root() -> ComputedStyle {
        ComputedStyle {
            display: DisplayKind::Block,
            position: PositionKind::Static,
            inset: [Length::Auto; 4],
            width: Length::Auto,
            height: Length::Auto,
            min_width: Length::Auto,
            min_height: Length::Auto,
            max_width: Length::Auto,
            max_height: Length::Auto,
            margin: [Length::Px(0.0); 4],
            padding: [Length::Px(0.0); 4],
            border: [Length::Px(0.0); 4],
            border_box: false,
            flex_direction: FlexDirection::Row,
            flex_wrap: FlexWrap::NoWrap,
            flex_grow: 0.0,
            flex_shrink: 1.0,
            flex_basis: Length::Auto,
            align_items: None,
            align_self: None,
            align_content: None,
            justify_content: None,
            row_gap: Length::Px(0.0),
            column_gap: Length::Px(0.0),
            overflow: [Overflow::Visible; 2],
            aspect_ratio: None,
            font_size: ROOT_FONT_SIZE,
            line_height: LineHeight::Normal,
            text_align: TextAlign::Start,
            white_space: WhiteSpace::Normal,
            letter_spacing: 0.0,
            break_all: false,
            custom: Rc::default(),
            declared: BTreeMap::new(),
        }
    }

    /// A child's starting point: inherited properties from `self`, the rest initial.
    fn inherit(&self) -> ComputedStyle {
        ComputedStyle {
            display: DisplayKind::Inline,
            font_size: self.font_size,
            line_height: self.line_height,
            text_align: self.text_align,
            white_space: self.white_space,
            letter_spacing: self.letter_spacing,
            break_all: self.break_all,
            custom: self.custom.clone(),
            ..ComputedStyle::root()
        }
    }

    /// The used line height in px.
    pub fn line_height_px(&self, normal_factor: f32) -> f32 {
        match self.line_height {
            LineHeight::Normal => self.font_size * normal_factor,
            LineHeight::Factor(f) => self.font_size * f,
            LineHeight::Px(px) => px,
        }
    }
}

/// Everything the cascade needs for one layout pass.
pub(crate) struct Cascade<'a> {
    pub styles: &'a StyleSet,
    pub tree: &'a NodeTree,
    /// The page being laid out, for page-restricted bindings.
    pub page: Option<&'a str>,
    pub viewport_width: f32,
    pub viewport_height: f32,
    pub media_cache: HashMap<String, bool>,
}

/// The precedence of a declaration: origin and importance first, then
/// specificity, then source order.
type Precedence = (u8, u32, usize, usize);

impl Cascade<'_> {
    fn media_ok(&mut self, rule: &Rule) -> bool {
        let (w, h) = (self.viewport_width, self.viewport_height);
        rule.media.iter().all(|condition| {
            *self
                .media_cache
                .entry(condition.clone())
                .or_insert_with(|| media_matches(condition, w, h))
        })
    }

    /// Matching declarations of one sheet for `node`, appended to `out`.
    fn collect_sheet<'s>(
        &mut self,
        sheet: &'s Sheet,
        order: usize,
        scope: MatchScope<'_>,
        node: &Node,
        ua: bool,
        out: &mut Vec<(Precedence, &'s Declaration)>,
    ) {
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        let mut add = |key: RuleKey| {
            if let Some(list) = sheet.index.get(&key) {
                candidates.extend_from_slice(list);
            }
        };
        add(RuleKey::Any);
        if !node.id_attr.is_empty() {
            add(RuleKey::Id(node.id_attr.clone()));
        }
        for (class, class_scope) in &node.classes {
            if scope.scope.is_none_or(|s| s == *class_scope) {
                add(RuleKey::Class(class.clone()));
            }
        }
        if let NodeKind::Element { tag, styling } = &node.kind {
            add(RuleKey::Tag(tag.clone()));
            let styling = styling.strip_prefix("wx-").unwrap_or(styling);
            if styling != tag {
                add(RuleKey::Tag(styling.to_owned()));
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        // A rule matched by two of its selectors counts once, with the more specific one.
        let mut last_rule = usize::MAX;
        for (rule_index, selector_index) in candidates {
            let rule = &sheet.rules[rule_index];
            let selector = &rule.selectors[selector_index];
            if !matches(self.tree, node.id, selector, scope) || !self.media_ok(rule) {
                continue;
            }
            if last_rule == rule_index {
                let start = out.len() - rule.declarations.len();
                for entry in &mut out[start..] {
                    entry.0.1 = entry.0.1.max(selector.specificity);
                }
                continue;
            }
            last_rule = rule_index;
            for declaration in &rule.declarations {
                let level = match (ua, declaration.important) {
                    (true, false) => 0,
                    (false, false) => 1,
                    (false, true) => 3,
                    (true, true) => 5,
                };
                out.push((
                    (level, selector.specificity, order, rule_index),
                    declaration,
                ));
            }
        }
    }

    /// The computed style of element `id` given its parent's.
    pub fn compute(&mut self, id: NodeId, parent: &ComputedStyle) -> ComputedStyle {
        let mut style = parent.inherit();
        let Some(node) = self.tree.get(id) else {
            return style;
        };
        let styles = self.styles;
        let mut matched: Vec<(Precedence, &Declaration)> = Vec::new();
        let any = MatchScope {
            scope: None,
            host: None,
        };
        self.collect_sheet(&styles.ua, 0, any, node, true, &mut matched);
        if styles.style_v2 {
            self.collect_sheet(&styles.ua_v2, 1, any, node, true, &mut matched);
        }
        for (order, (sheet, binding)) in styles.bindings.iter().enumerate() {
            if binding
                .page
                .as_deref()
                .is_some_and(|p| Some(p) != self.page)
            {
                continue;
            }
            let scope = MatchScope {
                scope: binding.scope,
                host: binding.component.as_deref(),
            };
            self.collect_sheet(
                &styles.sheets[sheet.0],
                order + 2,
                scope,
                node,
                false,
                &mut matched,
            );
        }
        let inline = parse_declarations(&node.style);
        for (i, declaration) in inline.iter().enumerate() {
            let level = if declaration.important { 4 } else { 2 };
            matched.push(((level, 0, usize::MAX, i), declaration));
        }
        matched.sort_by_key(|(precedence, _)| *precedence);

        // Custom properties first: every other value may refer to them.
        let mut own_custom: Vec<(&str, &str)> = Vec::new();
        for (_, declaration) in &matched {
            if declaration.name.starts_with("--") {
                own_custom.push((&declaration.name, &declaration.value));
            }
        }
        if !own_custom.is_empty() {
            let mut custom = (*style.custom).clone();
            for (name, value) in own_custom {
                let value = substitute_vars(value, &custom, 0).unwrap_or_default();
                custom.insert(name.to_owned(), value);
            }
            style.custom = Rc::new(custom);
        }

        let mut declared: BTreeMap<String, String> = BTreeMap::new();
        for (_, declaration) in &matched {
            if declaration.name.starts_with("--") {
                continue;
            }
            let value = if declaration.value.contains("var(") {
                match substitute_vars(&declaration.value, &style.custom, 0) {
                    Some(value) => value,
                    None => continue,
                }
            } else {
                declaration.value.clone()
            };
            for (name, value) in expand_shorthand(&declaration.name, &value) {
                // An invalid declaration is dropped, so it does not hide an earlier valid one.
                if is_valid(&name, &value) {
                    declared.insert(name, value);
                }
            }
        }
        self.apply(&mut style, parent, &declared);
        // Computed values read in px, as getComputedStyle gives them.
        let units = Units {
            rpx: self.viewport_width / 750.0,
            viewport_width: self.viewport_width,
            viewport_height: self.viewport_height,
            em: style.font_size,
            rem: ROOT_FONT_SIZE,
        };
        for (name, value) in &mut declared {
            if name == "font-size" {
                *value = format_px(style.font_size);
            } else if let Some(Length::Px(px)) = parse_length(value, &units)
                && !matches!(
                    name.as_str(),
                    "line-height" | "flex-grow" | "flex-shrink" | "z-index" | "opacity"
                )
            {
                *value = format_px(px);
            }
        }
        style.declared = declared;
        if is_hidden(node) {
            style.display = DisplayKind::None;
        }
        style
    }

    fn apply(
        &self,
        style: &mut ComputedStyle,
        parent: &ComputedStyle,
        declared: &BTreeMap<String, String>,
    ) {
        let get = |name: &str| declared.get(name).map(|v| v.trim());
        let mut units = Units {
            rpx: self.viewport_width / 750.0,
            viewport_width: self.viewport_width,
            viewport_height: self.viewport_height,
            em: parent.font_size,
            rem: ROOT_FONT_SIZE,
        };
        if let Some(value) = get("font-size") {
            let size = match value {
                "xx-small" => Some(9.0),
                "x-small" => Some(10.0),
                "small" => Some(13.0),
                "medium" => Some(16.0),
                "large" => Some(18.0),
                "x-large" => Some(24.0),
                "xx-large" => Some(32.0),
                "smaller" => Some(parent.font_size / 1.2),
                "larger" => Some(parent.font_size * 1.2),
                _ => parse_length(value, &units).and_then(|l| l.resolve(parent.font_size)),
            };
            if let Some(size) = size.filter(|s| *s >= 0.0) {
                style.font_size = size;
            }
        }
        units.em = style.font_size;
        let length = |name: &str| get(name).and_then(|v| parse_length(v, &units));
        let set = |target: &mut Length, name: &str| {
            if let Some(value) = length(name) {
                *target = value;
            }
        };

        if let Some(display) = get("display").and_then(display_kind) {
            style.display = display;
        }
        if let Some(value) = get("position") {
            style.position = match value {
                "relative" | "sticky" | "-webkit-sticky" => PositionKind::Relative,
                "absolute" => PositionKind::Absolute,
                "fixed" => PositionKind::Fixed,
                _ => PositionKind::Static,
            };
        }
        for (i, side) in ["top", "right", "bottom", "left"].iter().enumerate() {
            set(&mut style.inset[i], side);
            set(&mut style.margin[i], &format!("margin-{side}"));
            if let Some(value) = length(&format!("padding-{side}")).filter(|l| *l != Length::Auto) {
                style.padding[i] = value;
            }
            let border_style = get(&format!("border-{side}-style")).unwrap_or("none");
            let visible = !matches!(border_style, "none" | "hidden");
            style.border[i] = if visible {
                match get(&format!("border-{side}-width")).unwrap_or("medium") {
                    "thin" => Length::Px(1.0),
                    "medium" => Length::Px(3.0),
                    "thick" => Length::Px(5.0),
                    value => match parse_length(value, &units) {
                        Some(Length::Px(px)) => Length::Px(px.max(0.0)),
                        _ => Length::Px(0.0),
                    },
                }
            } else {
                Length::Px(0.0)
            };
        }
        set(&mut style.width, "width");
        set(&mut style.height, "height");
        set(&mut style.min_width, "min-width");
        set(&mut style.min_height, "min-height");
        for (target, name) in [
            (&mut style.max_width, "max-width"),
            (&mut style.max_height, "max-height"),
        ] {
            match get(name) {
                Some("none") => *target = Length::Auto,
                Some(value) => {
                    if let Some(l) = parse_length(value, &units) {
                        *target = l;
                    }
                }
                None => {}
            }
        }
        if let Some(value) = get("box-sizing") {
            style.border_box = value == "border-box";
        }
        if let Some(value) = get("flex-direction") {
            style.flex_direction = match value {
                "column" => FlexDirection::Column,
                "row-reverse" => FlexDirection::RowReverse,
                "column-reverse" => FlexDirection::ColumnReverse,
                _ => FlexDirection::Row,
            };
        }
        if let Some(value) = get("flex-wrap") {
            style.flex_wrap = match value {
                "wrap" => FlexWrap::Wrap,
                "wrap-reverse" => FlexWrap::WrapReverse,
                _ => FlexWrap::NoWrap,
            };
        }
        if let Some(grow) = get("flex-grow").and_then(parse_number) {
            style.flex_grow = grow.max(0.0);
        }
        if let Some(shrink) = get("flex-shrink").and_then(parse_number) {
            style.flex_shrink = shrink.max(0.0);
        }
        match get("flex-basis") {
            Some("content") => style.flex_basis = Length::Auto,
            _ => set(&mut style.flex_basis, "flex-basis"),
        }
        style.align_items = get("align-items")
            .and_then(align_items)
            .or(style.align_items);
        style.align_self = get("align-self").and_then(align_items).or(style.align_self);
        style.align_content = get("align-content")
            .and_then(align_content)
            .or(style.align_content);
        style.justify_content = get("justify-content")
            .and_then(justify_content)
            .or(style.justify_content);
        set(&mut style.row_gap, "row-gap");
        set(&mut style.column_gap, "column-gap");
        for (i, name) in ["overflow-x", "overflow-y"].iter().enumerate() {
            if let Some(value) = get(name) {
                style.overflow[i] = match value {
                    "hidden" | "clip" => Overflow::Hidden,
                    "scroll" | "auto" | "overlay" => Overflow::Scroll,
                    _ => Overflow::Visible,
                };
            }
        }
        if let Some(value) = get("aspect-ratio") {
            let ratio = match value.split_once('/') {
                Some((w, h)) => parse_number(w).zip(parse_number(h)).map(|(w, h)| w / h),
                None => parse_number(value),
            };
            style.aspect_ratio = ratio.filter(|r| r.is_finite() && *r > 0.0);
        }
        if let Some(value) = get("line-height") {
            style.line_height = if value == "normal" {
                LineHeight::Normal
            } else if let Some(factor) = parse_number(value) {
                LineHeight::Factor(factor.max(0.0))
            } else {
                match parse_length(value, &units) {
                    Some(l @ (Length::Percent(_) | Length::Calc { .. } | Length::Px(_))) => l
                        .resolve(style.font_size)
                        .map_or(style.line_height, LineHeight::Px),
                    _ => style.line_height,
                }
            };
        }
        if let Some(value) = get("text-align") {
            style.text_align = match value {
                "center" | "-webkit-center" => TextAlign::Center,
                "right" | "end" => TextAlign::End,
                _ => TextAlign::Start,
            };
        }
        if let Some(value) = get("white-space") {
            style.white_space = match value {
                "nowrap" => WhiteSpace::NoWrap,
                "pre" => WhiteSpace::Pre,
                "pre-wrap" | "break-spaces" => WhiteSpace::PreWrap,
                "pre-line" => WhiteSpace::PreLine,
                _ => WhiteSpace::Normal,
            };
        }
        if let Some(value) = get("letter-spacing") {
            style.letter_spacing = match parse_length(value, &units) {
                Some(Length::Px(px)) => px,
                _ => 0.0,
            };
        }
        if let Some(value) = get("word-break") {
            style.break_all = value == "break-all";
        }
        if let Some(value) = get("overflow-wrap").or_else(|| get("word-wrap")) {
            style.break_all |= value == "anywhere" || value == "break-word";
        }
    }
}

/// Whether a longhand's value is one this crate can use; CSS-wide keywords
/// (`inherit`, `initial`…) are not supported and count as invalid.
fn is_valid(name: &str, value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() || matches!(value, "inherit" | "initial" | "unset" | "revert") {
        return false;
    }
    let units = Units {
        rpx: 1.0,
        viewport_width: 1.0,
        viewport_height: 1.0,
        em: 1.0,
        rem: 1.0,
    };
    let length = || parse_length(value, &units).is_some();
    match name {
        "width" | "height" | "min-width" | "min-height" | "top" | "right" | "bottom" | "left"
        | "row-gap" | "column-gap" | "letter-spacing" => length() || value == "normal",
        "flex-basis" => length() || value == "content",
        "max-width" | "max-height" => value == "none" || length(),
        "font-size" => {
            length()
                || matches!(
                    value,
                    "xx-small"
                        | "x-small"
                        | "small"
                        | "medium"
                        | "large"
                        | "x-large"
                        | "xx-large"
                        | "smaller"
                        | "larger"
                )
        }
        "line-height" => value == "normal" || parse_number(value).is_some() || length(),
        "flex-grow" | "flex-shrink" => parse_number(value).is_some(),
        "display" => display_kind(value).is_some(),
        "position" => matches!(
            value,
            "static" | "relative" | "absolute" | "fixed" | "sticky" | "-webkit-sticky"
        ),
        "box-sizing" => matches!(value, "border-box" | "content-box"),
        "align-items" => align_items(value).is_some(),
        "align-self" => value == "auto" || align_items(value).is_some(),
        "align-content" => align_content(value).is_some(),
        "justify-content" => justify_content(value).is_some(),
        _ if name.starts_with("margin-") || name.starts_with("padding-") => length(),
        _ if name.starts_with("border-") && name.ends_with("-width") => {
            length() || matches!(value, "thin" | "medium" | "thick")
        }
        _ => true,
    }
}

fn display_kind(value: &str) -> Option<DisplayKind> {
    Some(match value.to_ascii_lowercase().as_str() {
        "none" => DisplayKind::None,
        "inline" => DisplayKind::Inline,
        "inline-block" | "inline-grid" | "inline-table" | "-webkit-inline-box" => {
            DisplayKind::InlineBlock
        }
        "flex" | "-webkit-flex" => DisplayKind::Flex,
        "inline-flex" | "-webkit-inline-flex" => DisplayKind::InlineFlex,
        "contents" => DisplayKind::Contents,
        // Grid, tables and the old `-webkit-box` (line clamping) lay out as blocks here.
        "block" | "flow-root" | "list-item" | "grid" | "table" | "table-row" | "table-cell"
        | "table-row-group" | "table-header-group" | "table-footer-group" | "table-caption"
        | "-webkit-box" => DisplayKind::Block,
        _ => return None,
    })
}

fn format_px(px: f32) -> String {
    let rounded = (f64::from(px) * 1e4).round() / 1e4;
    format!("{rounded}px")
}

/// `<view hidden>` is `display: none` in WeChat, whatever the stylesheets say.
fn is_hidden(node: &Node) -> bool {
    match node.attribute("hidden") {
        Some(serde_json::Value::Bool(hidden)) => *hidden,
        Some(serde_json::Value::String(s)) => s != "false",
        Some(serde_json::Value::Null) | None => false,
        Some(_) => true,
    }
}

fn align_items(value: &str) -> Option<AlignItems> {
    Some(match value {
        "flex-start" | "start" | "self-start" => AlignItems::FLEX_START,
        "flex-end" | "end" | "self-end" => AlignItems::FLEX_END,
        "center" => AlignItems::CENTER,
        "baseline" | "first baseline" | "last baseline" => AlignItems::BASELINE,
        "stretch" | "normal" => AlignItems::STRETCH,
        _ => return None,
    })
}

fn align_content(value: &str) -> Option<AlignContent> {
    Some(match value {
        "flex-start" | "start" => AlignContent::FLEX_START,
        "flex-end" | "end" => AlignContent::FLEX_END,
        "center" => AlignContent::CENTER,
        "space-between" => AlignContent::SPACE_BETWEEN,
        "space-around" => AlignContent::SPACE_AROUND,
        "space-evenly" => AlignContent::SPACE_EVENLY,
        "stretch" | "normal" => AlignContent::STRETCH,
        _ => return None,
    })
}

fn justify_content(value: &str) -> Option<JustifyContent> {
    Some(match value {
        "flex-start" | "start" | "left" | "normal" => JustifyContent::FLEX_START,
        "flex-end" | "end" | "right" => JustifyContent::FLEX_END,
        "center" => JustifyContent::CENTER,
        "space-between" => JustifyContent::SPACE_BETWEEN,
        "space-around" => JustifyContent::SPACE_AROUND,
        "space-evenly" => JustifyContent::SPACE_EVENLY,
        "stretch" => JustifyContent::STRETCH,
        _ => return None,
    })
}

/// Replaces `var(--x, fallback)` with the custom property's value. `None`
/// when a variable is missing and has no fallback (the declaration is then
/// invalid at computed-value time and ignored).
fn substitute_vars(value: &str, custom: &BTreeMap<String, String>, depth: u32) -> Option<String> {
    if depth > 16 {
        return None;
    }
    let Some(start) = value.find("var(") else {
        return Some(value.to_owned());
    };
    let inner_start = start + 4;
    let mut level = 1;
    let mut end = None;
    for (i, c) in value[inner_start..].char_indices() {
        match c {
            '(' => level += 1,
            ')' => {
                level -= 1;
                if level == 0 {
                    end = Some(inner_start + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end?;
    let inner = &value[inner_start..end];
    let (name, fallback) = match inner.split_once(',') {
        Some((name, fallback)) => (name.trim(), Some(fallback.trim())),
        None => (inner.trim(), None),
    };
    let replacement = match custom.get(name).filter(|v| !v.is_empty()) {
        Some(v) => substitute_vars(v, custom, depth + 1)?,
        None => substitute_vars(fallback?, custom, depth + 1)?,
    };
    let rest = substitute_vars(&value[end + 1..], custom, depth + 1)?;
    Some(format!("{}{}{}", &value[..start], replacement, rest))
}

/// Box sides as shorthands list them: 1 to 4 values → top, right, bottom, left.
fn four_sides(value: &str) -> Option<[String; 4]> {
    let parts = split_values(value);
    let [top, right, bottom, left] = match parts.as_slice() {
        [a] => [a, a, a, a],
        [a, b] => [a, b, a, b],
        [a, b, c] => [a, b, c, b],
        [a, b, c, d] => [a, b, c, d],
        _ => return None,
    };
    Some([top, right, bottom, left].map(|s| (*s).to_owned()))
}

const SIDES: [&str; 4] = ["top", "right", "bottom", "left"];

const BORDER_STYLES: [&str; 10] = [
    "none", "hidden", "solid", "dashed", "dotted", "double", "groove", "ridge", "inset", "outset",
];

/// Splits a shorthand into longhands; anything else passes through.
fn expand_shorthand(name: &str, value: &str) -> Vec<(String, String)> {
    let sides = |prefix: &str, suffix: &str| -> Vec<(String, String)> {
        match four_sides(value) {
            Some(values) => SIDES
                .iter()
                .zip(values)
                .map(|(side, v)| (format!("{prefix}{side}{suffix}"), v))
                .collect(),
            None => Vec::new(),
        }
    };
    let border = |sides: &[&str]| -> Vec<(String, String)> {
        let mut width = "medium".to_owned();
        let mut style = "none".to_owned();
        for part in split_values(value) {
            let lower = part.to_ascii_lowercase();
            if BORDER_STYLES.contains(&lower.as_str()) {
                style = lower;
            } else if ["thin", "medium", "thick"].contains(&lower.as_str())
                || lower.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                || lower.starts_with("calc(")
            {
                width = part.to_owned();
            }
        }
        let mut out = Vec::new();
        for side in sides {
            out.push((format!("border-{side}-width"), width.clone()));
            out.push((format!("border-{side}-style"), style.clone()));
        }
        out
    };
    match name {
        "margin" => sides("margin-", ""),
        "padding" => sides("padding-", ""),
        "inset" => sides("", ""),
        "border-width" => sides("border-", "-width"),
        "border-style" => sides("border-", "-style"),
        "border" => border(&SIDES),
        "border-top" | "border-right" | "border-bottom" | "border-left" => border(&[&name[7..]]),
        "gap" | "grid-gap" => {
            let parts = split_values(value);
            match parts.as_slice() {
                [row] => vec![
                    ("row-gap".into(), (*row).into()),
                    ("column-gap".into(), (*row).into()),
                ],
                [row, column, ..] => vec![
                    ("row-gap".into(), (*row).into()),
                    ("column-gap".into(), (*column).into()),
                ],
                _ => Vec::new(),
            }
        }
        "overflow" => {
            let parts = split_values(value);
            match parts.as_slice() {
                [both] => vec![
                    ("overflow-x".into(), (*both).into()),
                    ("overflow-y".into(), (*both).into()),
                ],
                [x, y, ..] => vec![
                    ("overflow-x".into(), (*x).into()),
                    ("overflow-y".into(), (*y).into()),
                ],
                _ => Vec::new(),
            }
        }
        "flex" => {
            let parts = split_values(value);
            let triple = |g: &str, s: &str, b: &str| {
                vec![
                    ("flex-grow".to_owned(), g.to_owned()),
                    ("flex-shrink".to_owned(), s.to_owned()),
                    ("flex-basis".to_owned(), b.to_owned()),
                ]
            };
            let is_number = |s: &str| parse_number(s).is_some();
            match parts.as_slice() {
                ["none"] => triple("0", "0", "auto"),
                ["auto"] => triple("1", "1", "auto"),
                ["initial"] => triple("0", "1", "auto"),
                [g] if is_number(g) => triple(g, "1", "0%"),
                [b] => triple("1", "1", b),
                [g, s] if is_number(g) && is_number(s) => triple(g, s, "0%"),
                [g, b] if is_number(g) => triple(g, "1", b),
                [g, s, b, ..] => triple(g, s, b),
                _ => Vec::new(),
            }
        }
        "flex-flow" => split_values(value)
            .into_iter()
            .map(|part| {
                let longhand = if part.contains("wrap") {
                    "flex-wrap"
                } else {
                    "flex-direction"
                };
                (longhand.to_owned(), part.to_owned())
            })
            .collect(),
        "font" => {
            // `font: italic bold 14px/1.5 sans-serif`: only size and line height matter here.
            let mut out = Vec::new();
            for part in split_values(value) {
                if part.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                    let (size, line) = match part.split_once('/') {
                        Some((s, l)) => (s, Some(l)),
                        None => (part, None),
                    };
                    if parse_number(size).is_none() {
                        out.push(("font-size".to_owned(), size.to_owned()));
                        out.push((
                            "line-height".to_owned(),
                            line.unwrap_or("normal").to_owned(),
                        ));
                        break;
                    }
                }
            }
            out
        }
        _ => vec![(name.to_owned(), value.to_owned())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_and_shorthands() {
        let mut custom = BTreeMap::new();
        custom.insert("--h".to_owned(), "44px".to_owned());
        assert_eq!(
            substitute_vars("var(--h)", &custom, 0).as_deref(),
            Some("44px")
        );
        assert_eq!(
            substitute_vars("calc(var(--x, 2px) + var(--h))", &custom, 0).as_deref(),
            Some("calc(2px + 44px)")
        );
        assert_eq!(substitute_vars("var(--missing)", &custom, 0), None);
        let flex = expand_shorthand("flex", "1");
        assert_eq!(flex[2], ("flex-basis".to_owned(), "0%".to_owned()));
        let border = expand_shorthand("border", "1px solid #eee");
        assert!(border.contains(&("border-left-width".to_owned(), "1px".to_owned())));
        assert!(border.contains(&("border-left-style".to_owned(), "solid".to_owned())));
        let margin = expand_shorthand("margin", "0 auto");
        assert_eq!(margin[1], ("margin-right".to_owned(), "auto".to_owned()));
    }
}
