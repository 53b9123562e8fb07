//! Account, payment and message APIs (`wx.login`, `wx.requestPayment`,
//! `wx.requestSubscribeMessage`…). They talk to the super app's platform,
//! which a host supplies as a [`PlatformClient`] (Bonsai's own platform
//! server in `bonsai serve`). Without one they fail loudly: a login that
//! pretends to work would only move the failure to the app's server.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AnswerSender, ApiKind, ApiResult, ApiSpec, Capability, defer, options};
use crate::HostState;

/// A call an app makes to the platform on behalf of the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "api", rename_all = "camelCase")]
pub enum PlatformRequest {
    /// `wx.login`: answered with `{"code": …}`.
    Login,
    /// `wx.checkSession`: answered with `{}` while the session is valid.
    CheckSession,
    /// `wx.requestPayment` with the signed parameters the merchant's server
    /// made (`timeStamp`, `nonceStr`, `package`, `signType`, `paySign`).
    RequestPayment { params: Value },
    /// `wx.requestSubscribeMessage`: answered with each template id's
    /// `accept` / `reject` / `ban` / `filter`.
    #[serde(rename_all = "camelCase")]
    RequestSubscribeMessage { template_ids: Vec<String> },
    /// `wx.getUserProfile`: answered with `userInfo`, `rawData`,
    /// `signature`, `encryptedData`, `iv`.
    GetUserProfile { desc: String, lang: String },
    /// The update manager's check at launch: answered with `{"hasUpdate": …}`
    /// (a newer released version for this user, gray release included).
    CheckForUpdate,
    /// Fetch the version the check found: answered with `{}` once it is
    /// ready to apply, an error when the download failed.
    DownloadUpdate,
    /// `UpdateManager.applyUpdate()`: the app asks to restart on the
    /// downloaded version; the host decides when (answered with `{}`).
    ApplyUpdate,
}

/// The platform as an app instance sees it. Answers may come later and from
/// another thread; the value is the result's fields, the error the reason
/// after `"<api>:fail "`.
pub trait PlatformClient: std::fmt::Debug + Send + Sync {
    fn request(&self, app_id: &str, request: PlatformRequest, answer: AnswerSender);
}

fn ask(state: &mut HostState, api: &str, request: PlatformRequest) -> ApiResult {
    let Some(client) = state.platform.clone() else {
        return Err(format!(
            "not supported: {api} needs a platform server and this host has none (start `bonsai serve` or configure one)"
        ));
    };
    let app_id = crate::app_key(&state.app);
    let (waiting, sender) = defer(state, |_, result| result);
    client.request(&app_id, request, sender);
    Ok(waiting)
}

#[derive(Deserialize)]
struct LoginOptions {
    /// Milliseconds; checked for its type, the platform answers well within any sane value.
    #[serde(default, rename = "timeout")]
    _timeout: Option<u64>,
}

fn login(state: &mut HostState, args: Value) -> ApiResult {
    let LoginOptions { .. } = options(args)?;
    ask(state, "login", PlatformRequest::Login)
}

fn check_session(state: &mut HostState, args: Value) -> ApiResult {
    let _: Value = options(args)?;
    ask(state, "checkSession", PlatformRequest::CheckSession)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentOptions {
    time_stamp: String,
    nonce_str: String,
    package: String,
    #[serde(default = "rsa")]
    sign_type: String,
    pay_sign: String,
}

fn rsa() -> String {
    "RSA".to_owned()
}

fn request_payment(state: &mut HostState, args: Value) -> ApiResult {
    let PaymentOptions {
        time_stamp,
        nonce_str,
        package,
        sign_type,
        pay_sign,
    } = options(args)?;
    if !package.starts_with("prepay_id=") {
        return Err("parameter error: package should be prepay_id=…".to_owned());
    }
    let params = serde_json::json!({
        "timeStamp": time_stamp,
        "nonceStr": nonce_str,
        "package": package,
        "signType": sign_type,
        "paySign": pay_sign,
    });
    ask(
        state,
        "requestPayment",
        PlatformRequest::RequestPayment { params },
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribeOptions {
    tmpl_ids: Vec<String>,
}

fn request_subscribe_message(state: &mut HostState, args: Value) -> ApiResult {
    let SubscribeOptions { tmpl_ids } = options(args)?;
    // WeChat's limits: one to five templates per request.
    if tmpl_ids.is_empty() || tmpl_ids.len() > 5 {
        return Err("parameter error: tmplIds should have 1 to 5 items".to_owned());
    }
    ask(
        state,
        "requestSubscribeMessage",
        PlatformRequest::RequestSubscribeMessage {
            template_ids: tmpl_ids,
        },
    )
}

#[derive(Deserialize)]
struct ProfileOptions {
    #[serde(default)]
    desc: String,
    #[serde(default = "english")]
    lang: String,
}

fn english() -> String {
    "en".to_owned()
}

fn get_user_profile(state: &mut HostState, args: Value) -> ApiResult {
    let ProfileOptions { desc, lang } = options(args)?;
    if desc.trim().is_empty() {
        return Err("parameter error: desc is required".to_owned());
    }
    ask(
        state,
        "getUserProfile",
        PlatformRequest::GetUserProfile { desc, lang },
    )
}

/// Without a platform the app runs from a project directory, which is the
/// newest version there is: no update, and that is the true answer.
fn check_for_update(state: &mut HostState, args: Value) -> ApiResult {
    let _: Value = options(args)?;
    if state.platform.is_none() {
        return Ok(serde_json::json!({ "hasUpdate": false }));
    }
    ask(
        state,
        "UpdateManager.check",
        PlatformRequest::CheckForUpdate,
    )
}

fn download_update(state: &mut HostState, args: Value) -> ApiResult {
    let _: Value = options(args)?;
    ask(
        state,
        "UpdateManager.download",
        PlatformRequest::DownloadUpdate,
    )
}

fn apply_update(state: &mut HostState, args: Value) -> ApiResult {
    let _: Value = options(args)?;
    ask(
        state,
        "UpdateManager.applyUpdate",
        PlatformRequest::ApplyUpdate,
    )
}

/// The update manager's steps, which js/host.js's `wx.getUpdateManager()`
/// object drives (not `wx` names).
pub(super) fn update_manager_methods() -> Vec<ApiSpec> {
    let method = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Async,
        capability: Capability::Platform,
        handler,
    };
    vec![
        method("UpdateManager.check", check_for_update),
        method("UpdateManager.download", download_update),
        method("UpdateManager.applyUpdate", apply_update),
    ]
}

pub(super) fn apis() -> Vec<ApiSpec> {
    let api = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Async,
        capability: Capability::Platform,
        handler,
    };
    vec![
        api("login", login),
        api("checkSession", check_session),
        api("requestPayment", request_payment),
        api("requestSubscribeMessage", request_subscribe_message),
        api("getUserProfile", get_user_profile),
    ]
}
