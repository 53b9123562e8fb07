//! Interface feedback: toasts, loading, modals, action sheets and bar
//! titles become state of the instance, which snapshots show and a host (the
//! test API, the preview) can read and answer.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

/// What the app currently shows on top of its page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UiState {
    pub toast: Option<Toast>,
    pub navigation_bar_title: Option<String>,
    /// Modals and action sheets the user has not answered, oldest first.
    pub dialogs: Vec<Dialog>,
    /// Tab bar badges by tab index (`""` for a red dot).
    pub tab_bar_badges: std::collections::BTreeMap<u32, String>,
    pub pull_down_refreshing: bool,
    pub navigation_bar_loading: bool,
    /// `setNavigationBarColor`'s last options.
    pub navigation_bar_color: Option<Value>,
    /// `setTabBarStyle`'s last options, and per-item overrides by index.
    pub tab_bar_style: Option<Value>,
    pub tab_bar_items: std::collections::BTreeMap<u32, Value>,
    pub tab_bar_hidden: bool,
    /// What the app put on the clipboard.
    pub clipboard: Option<String>,
    /// Analytics the app reported (`reportEvent`, `reportAnalytics`), in order.
    pub reported_events: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toast {
    #[serde(default)]
    pub title: String,
    #[serde(default = "default_icon")]
    pub icon: String,
    #[serde(default = "default_duration")]
    pub duration: u64,
    #[serde(default)]
    pub mask: bool,
    /// A loading indicator (showLoading) rather than a toast.
    #[serde(default)]
    pub loading: bool,
}

/// A modal or action sheet waiting for the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dialog {
    /// Pass this to `AppInstance::answer_dialog`.
    pub id: u32,
    #[serde(flatten)]
    pub kind: DialogKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DialogKind {
    #[serde(rename_all = "camelCase")]
    Modal {
        #[serde(default)]
        title: String,
        #[serde(default)]
        content: String,
        #[serde(default = "yes")]
        show_cancel: bool,
        #[serde(default = "cancel_text")]
        cancel_text: String,
        #[serde(default = "confirm_text")]
        confirm_text: String,
        #[serde(default)]
        editable: bool,
    },
    #[serde(rename_all = "camelCase")]
    ActionSheet {
        #[serde(default)]
        alert_text: String,
        item_list: Vec<String>,
    },
    /// `wx.authorize` asking the user for a scope (`scope.userLocation`…).
    Authorize { scope: String },
}

fn yes() -> bool {
    true
}

fn cancel_text() -> String {
    "取消".to_owned()
}

fn confirm_text() -> String {
    "确定".to_owned()
}

/// How the user answered a dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogAnswer {
    Confirm,
    /// An editable modal's text.
    ConfirmWith(String),
    Cancel,
    /// An action sheet item, by index.
    Tap(u32),
}

impl DialogAnswer {
    /// The result fields WeChat reports, or the fail reason.
    pub(crate) fn result(&self, dialog: &Dialog) -> Result<Value, String> {
        match (&dialog.kind, self) {
            (DialogKind::Modal { .. }, DialogAnswer::Confirm) => {
                Ok(json!({ "confirm": true, "cancel": false }))
            }
            (DialogKind::Modal { .. }, DialogAnswer::ConfirmWith(text)) => {
                Ok(json!({ "confirm": true, "cancel": false, "content": text }))
            }
            (DialogKind::Modal { .. }, DialogAnswer::Cancel) => {
                Ok(json!({ "confirm": false, "cancel": true }))
            }
            (DialogKind::ActionSheet { item_list, .. }, DialogAnswer::Tap(index))
                if (*index as usize) < item_list.len() =>
            {
                Ok(json!({ "tapIndex": index }))
            }
            (DialogKind::ActionSheet { .. }, DialogAnswer::Cancel) => Err("cancel".to_owned()),
            (DialogKind::Authorize { .. }, DialogAnswer::Confirm) => Ok(json!({})),
            (DialogKind::Authorize { .. }, DialogAnswer::Cancel) => Err("auth deny".to_owned()),
            _ => Err("that answer does not fit this dialog".to_owned()),
        }
    }
}

pub(super) fn open_dialog(state: &mut HostState, kind: DialogKind) -> ApiResult {
    let id = state.next_waiting_id();
    state.ui.dialogs.push(Dialog { id, kind });
    // The JS host holds the call until the dialog is answered.
    Ok(json!({ "waitingFor": id }))
}

fn show_modal(state: &mut HostState, mut args: Value) -> ApiResult {
    if let Some(object) = args.as_object_mut() {
        object.insert("kind".to_owned(), json!("modal"));
    }
    open_dialog(state, options(args)?)
}

fn show_action_sheet(state: &mut HostState, mut args: Value) -> ApiResult {
    if let Some(object) = args.as_object_mut() {
        object.insert("kind".to_owned(), json!("actionSheet"));
    }
    let kind: DialogKind = options(args)?;
    if let DialogKind::ActionSheet { item_list, .. } = &kind
        && (item_list.is_empty() || item_list.len() > 6)
    {
        return Err("parameter error: itemList should have 1 to 6 items".to_owned());
    }
    open_dialog(state, kind)
}

fn default_icon() -> String {
    "success".to_owned()
}

fn default_duration() -> u64 {
    1500
}

fn show_toast(state: &mut HostState, args: Value) -> ApiResult {
    let toast: Toast = options(args)?;
    state.ui.toast = Some(toast);
    Ok(json!({}))
}

fn show_loading(state: &mut HostState, args: Value) -> ApiResult {
    let mut toast: Toast = options(args)?;
    toast.loading = true;
    toast.icon = "loading".to_owned();
    state.ui.toast = Some(toast);
    Ok(json!({}))
}

fn hide_toast(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.toast = None;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct TitleOptions {
    title: String,
}

fn set_title(state: &mut HostState, args: Value) -> ApiResult {
    let TitleOptions { title } = options(args)?;
    state.ui.navigation_bar_title = Some(title);
    Ok(json!({}))
}

#[derive(Deserialize)]
struct BadgeOptions {
    index: u32,
    #[serde(default)]
    text: String,
}

fn set_badge(state: &mut HostState, args: Value) -> ApiResult {
    let BadgeOptions { index, text } = options(args)?;
    state.ui.tab_bar_badges.insert(index, text);
    Ok(json!({}))
}

fn show_red_dot(state: &mut HostState, args: Value) -> ApiResult {
    let BadgeOptions { index, .. } = options(args)?;
    state.ui.tab_bar_badges.insert(index, String::new());
    Ok(json!({}))
}

fn remove_badge(state: &mut HostState, args: Value) -> ApiResult {
    let BadgeOptions { index, .. } = options(args)?;
    state.ui.tab_bar_badges.remove(&index);
    Ok(json!({}))
}

fn start_pull_down(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.pull_down_refreshing = true;
    Ok(json!({}))
}

fn stop_pull_down(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.pull_down_refreshing = false;
    Ok(json!({}))
}

fn show_bar_loading(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.navigation_bar_loading = true;
    Ok(json!({}))
}

fn hide_bar_loading(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.navigation_bar_loading = false;
    Ok(json!({}))
}

/// Options kept as given (colours, styles): WeChat validates little here.
fn without_callbacks(args: Value) -> Value {
    match args {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BarColor {
    front_color: String,
    background_color: String,
}

fn set_bar_color(state: &mut HostState, args: Value) -> ApiResult {
    let BarColor {
        front_color,
        background_color,
    } = options(args.clone())?;
    if front_color != "#ffffff" && front_color != "#000000" {
        return Err("invalid frontColor: only #ffffff and #000000 are allowed".to_owned());
    }
    if !background_color.starts_with('#') {
        return Err("invalid backgroundColor: expected a hex color".to_owned());
    }
    state.ui.navigation_bar_color = Some(without_callbacks(args));
    Ok(json!({}))
}

fn set_tab_bar_style(state: &mut HostState, args: Value) -> ApiResult {
    state.ui.tab_bar_style = Some(without_callbacks(args));
    Ok(json!({}))
}

fn set_tab_bar_item(state: &mut HostState, args: Value) -> ApiResult {
    let BadgeOptions { index, .. } = options(args.clone())?;
    state
        .ui
        .tab_bar_items
        .insert(index, without_callbacks(args));
    Ok(json!({}))
}

fn show_tab_bar(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.tab_bar_hidden = false;
    Ok(json!({}))
}

fn hide_tab_bar(state: &mut HostState, _: Value) -> ApiResult {
    state.ui.tab_bar_hidden = true;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct ClipboardOptions {
    data: String,
}

fn set_clipboard(state: &mut HostState, args: Value) -> ApiResult {
    let ClipboardOptions { data } = options(args)?;
    state.ui.clipboard = Some(data);
    Ok(json!({}))
}

fn get_clipboard(state: &mut HostState, _: Value) -> ApiResult {
    Ok(json!({ "data": state.ui.clipboard.clone().unwrap_or_default() }))
}

/// Recorded; like WeChat's, the call returns nothing (`null` here, which
/// the JS host's sync wrapper turns into `undefined`).
fn report_event(state: &mut HostState, args: Value) -> ApiResult {
    state.ui.reported_events.push(args);
    Ok(Value::Null)
}

pub(super) fn apis() -> Vec<ApiSpec> {
    use ApiKind::Async;
    use Capability::Ui;
    let api = |name, handler| ApiSpec {
        name,
        kind: Async,
        capability: Ui,
        handler,
    };
    let sync = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Sync,
        capability: Ui,
        handler,
    };
    vec![
        sync("reportEvent", report_event),
        sync("reportAnalytics", report_event),
        api("showToast", show_toast),
        api("showLoading", show_loading),
        api("hideToast", hide_toast),
        api("hideLoading", hide_toast),
        api("setNavigationBarTitle", set_title),
        api("showModal", show_modal),
        api("showActionSheet", show_action_sheet),
        api("setTabBarBadge", set_badge),
        api("removeTabBarBadge", remove_badge),
        api("showTabBarRedDot", show_red_dot),
        api("hideTabBarRedDot", remove_badge),
        api("startPullDownRefresh", start_pull_down),
        api("stopPullDownRefresh", stop_pull_down),
        api("showNavigationBarLoading", show_bar_loading),
        api("hideNavigationBarLoading", hide_bar_loading),
        api("setNavigationBarColor", set_bar_color),
        api("setTabBarStyle", set_tab_bar_style),
        api("setTabBarItem", set_tab_bar_item),
        api("showTabBar", show_tab_bar),
        api("hideTabBar", hide_tab_bar),
        api("setClipboardData", set_clipboard),
        api("getClipboardData", get_clipboard),
    ]
}
