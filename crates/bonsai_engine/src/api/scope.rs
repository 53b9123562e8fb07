//! Scopes, as WeChat asks users for them: `wx.authorize` prompts once per
//! scope, the answer sticks, and `wx.getSetting` reports it. The prompt is a
//! dialog the host answers (the test API, the preview); a headless host with
//! no one to ask denies, as WeChat does when the user refuses.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ui::{DialogKind, open_dialog};
use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

/// The scopes WeChat knows.
const SCOPES: &[&str] = &[
    "scope.userInfo",
    "scope.userLocation",
    "scope.userFuzzyLocation",
    "scope.userLocationBackground",
    "scope.address",
    "scope.invoiceTitle",
    "scope.invoice",
    "scope.werun",
    "scope.record",
    "scope.writePhotosAlbum",
    "scope.camera",
    "scope.bluetooth",
    "scope.addPhoneContact",
    "scope.addPhoneCalendar",
];

/// Who answers a scope prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptPolicy {
    /// Nobody is there to ask: every new request is denied.
    #[default]
    Deny,
    /// Open a dialog and wait for the host's answer.
    Ask,
}

#[derive(Deserialize)]
struct AuthorizeOptions {
    scope: String,
}

fn authorize(state: &mut HostState, args: Value) -> ApiResult {
    let AuthorizeOptions { scope } = options(args)?;
    if !SCOPES.contains(&scope.as_str()) {
        return Err(format!("invalid scope: {scope}"));
    }
    match state.scopes.get(&scope) {
        Some(true) => Ok(json!({})),
        Some(false) => Err("auth deny".to_owned()),
        None if state.prompt_policy == PromptPolicy::Deny => {
            state.scopes.insert(scope, false);
            Err("auth deny".to_owned())
        }
        None => open_dialog(state, DialogKind::Authorize { scope }),
    }
}

/// Asks for `scope` on behalf of an API call (`getLocation` needs
/// `scope.userLocation`). `Ok(None)`: granted, go on. `Ok(Some(waiting))`:
/// the user is being asked; when they agree the call is resumed with `args`.
/// The app must also describe why it wants the scope in app.json's
/// `permission` where WeChat requires that.
pub(crate) fn consent(
    state: &mut HostState,
    api: &'static str,
    scope: &str,
    args: &Value,
) -> Result<Option<Value>, String> {
    if NEEDS_PERMISSION_DESC.contains(&scope) && !permission_described(state, scope) {
        return Err("require permission desc".to_owned());
    }
    match state.scopes.get(scope) {
        Some(true) => Ok(None),
        Some(false) => Err("auth deny".to_owned()),
        None if state.prompt_policy == PromptPolicy::Deny => {
            state.scopes.insert(scope.to_owned(), false);
            Err("auth deny".to_owned())
        }
        None => {
            let waiting = open_dialog(
                state,
                DialogKind::Authorize {
                    scope: scope.to_owned(),
                },
            )?;
            let id = state.last_waiting_id;
            state.after_consent.insert(id, (api, args.clone()));
            Ok(Some(waiting))
        }
    }
}

/// Scopes WeChat grants only to apps that say why in app.json's `permission`.
const NEEDS_PERMISSION_DESC: &[&str] = &[
    "scope.userLocation",
    "scope.userFuzzyLocation",
    "scope.userLocationBackground",
];

fn permission_described(state: &HostState, scope: &str) -> bool {
    state
        .app
        .app_config
        .as_ref()
        .and_then(|config| config.pointer(&format!("/permission/{scope}/desc")))
        .and_then(Value::as_str)
        .is_some_and(|desc| !desc.trim().is_empty())
}

/// Whether app.json's `requiredPrivateInfos` declares `api`, which WeChat
/// requires for location and address APIs.
pub(crate) fn require_private_info(state: &HostState, api: &str) -> Result<(), String> {
    let declared = state
        .app
        .app_config
        .as_ref()
        .and_then(|config| config.get("requiredPrivateInfos"))
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|v| v.as_str() == Some(api)));
    if declared {
        Ok(())
    } else {
        Err(
            "the api need to be declared in the requiredPrivateInfos field in app.json/ext.json"
                .to_owned(),
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingOptions {
    #[serde(default)]
    with_subscriptions: bool,
}

/// `authSetting`, and with `withSubscriptions: true` the subscription
/// settings: messages on (`mainSwitch`), and no template the user told
/// WeChat to remember (`itemSettings` only lists those).
fn get_setting(state: &mut HostState, args: Value) -> ApiResult {
    let SettingOptions { with_subscriptions } = options(args)?;
    let scopes: std::collections::BTreeMap<&String, &bool> = state
        .scopes
        .iter()
        .filter(|(name, _)| name.starts_with("scope."))
        .collect();
    let mut setting = json!({ "authSetting": scopes });
    if with_subscriptions {
        setting["subscriptionsSetting"] = json!({ "mainSwitch": true, "itemSettings": {} });
    }
    Ok(setting)
}

/// The user's agreement to the app's privacy guide, kept with the scopes
/// (it is asked and remembered the same way) but not reported as one.
const PRIVACY: &str = "privacy";

fn get_privacy_setting(state: &mut HostState, _: Value) -> ApiResult {
    let agreed = state.scopes.get(PRIVACY) == Some(&true);
    Ok(json!({
        "needAuthorization": !agreed,
        "privacyContractName": format!("《{}小程序隐私保护指引》", crate::app_key(&state.app)),
    }))
}

fn require_privacy_authorize(state: &mut HostState, args: Value) -> ApiResult {
    match consent(state, "requirePrivacyAuthorize", PRIVACY, &args) {
        Ok(Some(waiting)) => Ok(waiting),
        Ok(None) => Ok(json!({})),
        Err(_) => Err("privacy permission is not authorized".to_owned()),
    }
}

fn open_privacy_contract(state: &mut HostState, _: Value) -> ApiResult {
    super::device::record(state, "openPrivacyContract", json!({}))
}

pub(super) fn apis() -> Vec<ApiSpec> {
    let api = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Async,
        capability: Capability::System,
        handler,
    };
    vec![
        api("authorize", authorize),
        api("getSetting", get_setting),
        // The settings page closes with nothing changed. Only while the
        // user taps (`api::TAP_ONLY`).
        api("openSetting", get_setting),
        api("getPrivacySetting", get_privacy_setting),
        api("requirePrivacyAuthorize", require_privacy_authorize),
        api("openPrivacyContract", open_privacy_contract),
    ]
}
