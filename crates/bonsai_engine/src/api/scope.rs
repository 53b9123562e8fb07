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

fn get_setting(state: &mut HostState, _: Value) -> ApiResult {
    Ok(json!({ "authSetting": state.scopes }))
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
        // The settings page closes with nothing changed.
        api("openSetting", get_setting),
    ]
}
