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
    let app_id = crate::storage_key(&state.app);
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
    // WeChat's limits: one to three templates per request.
    if tmpl_ids.is_empty() || tmpl_ids.len() > 3 {
        return Err("parameter error: tmplIds should have 1 to 3 items".to_owned());
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
