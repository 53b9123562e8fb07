//! Login state: `jscode2session` (a `wx.login` code for the openid and
//! session key), `checksession` and `resetusersessionkey` (is the server's
//! session key still the current one?), and the phone-number exchange.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{
    APPID_MISSING, APPSECRET_MISSING, CODE_BLOCKED, CODE_MISSING, CallerApp, INVALID_APPID,
    INVALID_APPSECRET, INVALID_CODE, INVALID_GRANT_TYPE, INVALID_SIG_METHOD, INVALID_SIGNATURE,
    MINUTE_QUOTA, WxError, WxJson, WxQuery, ok_with,
};
use crate::identity::{self, AppAuth, CodePurpose, Watermark};
use crate::rate;
use crate::secrets;
use crate::state::AppState;

/// jscode2session calls a user may make per minute (WeChat: 100/min/user).
pub const LOGIN_LIMIT_PER_MINUTE: i64 = 100;

/// What `jscode2session` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Code2Session {
    pub openid: String,
    pub session_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

/// Exchanges a `wx.login` code. Order of checks: the app and its secret,
/// then the code (spent by this very call whatever follows, as a client
/// retries with a new `wx.login` anyway), then risk control, then the rate
/// limit.
pub async fn code2session(
    state: &AppState,
    appid: &str,
    secret: &str,
    js_code: &str,
) -> Result<Code2Session, WxError> {
    let app = match identity::authenticate_app(state, appid, secret).await? {
        AppAuth::Ok(app) => app,
        AppAuth::UnknownApp => return Err(INVALID_APPID.into()),
        AppAuth::WrongSecret => return Err(INVALID_APPSECRET.into()),
    };
    let Some(spent) = identity::spend_code(state, appid, js_code, CodePurpose::Login).await? else {
        return Err(INVALID_CODE.into());
    };
    if spent.user_high_risk {
        return Err(CODE_BLOCKED.into());
    }
    // Ids cannot contain `:` (see identity::check_id), so buckets cannot
    // collide; NUL would be safer still but Postgres TEXT refuses it.
    let bucket = format!("jscode2session:{appid}:{}", spent.user_id);
    if rate::hit(state, bucket, 60_000, state.now()).await? > LOGIN_LIMIT_PER_MINUTE {
        return Err(MINUTE_QUOTA.into());
    }
    let Some(session_key) = spent.session_key else {
        // Login codes always carry one; a row without is not ours to trust.
        return Err(INVALID_CODE.into());
    };
    Ok(Code2Session {
        openid: identity::openid_of(state, appid, &spent.user_id),
        session_key,
        unionid: identity::unionid_of(state, &app, &spent.user_id),
    })
}

pub(super) async fn jscode2session_handler(
    State(state): State<AppState>,
    query: WxQuery,
) -> Response {
    let result = async {
        let appid = query.require("appid", APPID_MISSING)?;
        let secret = query.require("secret", APPSECRET_MISSING)?;
        let js_code = query.require("js_code", CODE_MISSING)?;
        if query.get("grant_type") != Some("authorization_code") {
            return Err(INVALID_GRANT_TYPE.into());
        }
        code2session(&state, appid, secret, js_code).await
    }
    .await;
    match result {
        Ok(session) => Json(session).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Checks the login-state signature of `openid` against its current key.
pub async fn check_session(
    state: &AppState,
    appid: &str,
    openid: &str,
    signature: &str,
    sig_method: &str,
) -> Result<String, WxError> {
    if sig_method != "hmac_sha256" {
        return Err(INVALID_SIG_METHOD.into());
    }
    // An unknown openid has no key to match: the same answer as a stale key,
    // so the endpoint cannot be used to probe who uses the app.
    let Some(session_key) = identity::session_key_of(state, appid, openid).await? else {
        return Err(INVALID_SIGNATURE.into());
    };
    if !secrets::verify_session_signature(&session_key, signature) {
        return Err(INVALID_SIGNATURE.into());
    }
    Ok(session_key)
}

/// `resetusersessionkey`: after the same check, a fresh session key.
pub async fn reset_session_key(
    state: &AppState,
    appid: &str,
    openid: &str,
    signature: &str,
    sig_method: &str,
) -> Result<String, WxError> {
    let old = check_session(state, appid, openid, signature, sig_method).await?;
    let new = secrets::new_session_key()?;
    // Only if still the key we checked: a wx.login racing with the reset
    // wins, and the caller's signature is then stale.
    let updated = sqlx::query(
        "UPDATE sessions SET session_key = $1, rotated_at = $2
         WHERE appid = $3 AND openid = $4 AND session_key = $5",
    )
    .bind(&new)
    .bind(state.now())
    .bind(appid)
    .bind(openid)
    .bind(&old)
    .execute(state.db.pool())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(INVALID_SIGNATURE.into());
    }
    Ok(new)
}

fn signature_params(query: &WxQuery) -> (&str, &str, &str) {
    (
        query.get("openid").unwrap_or_default(),
        query.get("signature").unwrap_or_default(),
        query.get("sig_method").unwrap_or_default(),
    )
}

pub(super) async fn checksession_handler(
    State(state): State<AppState>,
    caller: CallerApp,
    query: WxQuery,
) -> Response {
    let (openid, signature, sig_method) = signature_params(&query);
    match check_session(&state, &caller.appid, openid, signature, sig_method).await {
        Ok(_) => ok_with(serde_json::json!({})),
        Err(err) => err.into_response(),
    }
}

pub(super) async fn resetusersessionkey_handler(
    State(state): State<AppState>,
    caller: CallerApp,
    query: WxQuery,
) -> Response {
    let (openid, signature, sig_method) = signature_params(&query);
    match reset_session_key(&state, &caller.appid, openid, signature, sig_method).await {
        Ok(session_key) => {
            ok_with(serde_json::json!({ "openid": openid, "session_key": session_key }))
        }
        Err(err) => err.into_response(),
    }
}

/// `phone_info` of `getuserphonenumber`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfo {
    /// With the country code for numbers outside China (`+1…`), as WeChat.
    pub phone_number: String,
    pub pure_phone_number: String,
    /// A string although WeChat's documentation says number: the API sends "86".
    pub country_code: String,
    pub watermark: Watermark,
}

/// Exchanges a phone-number code issued for the calling app.
pub async fn phone_number(state: &AppState, appid: &str, code: &str) -> Result<PhoneInfo, WxError> {
    let Some(spent) = identity::spend_code(state, appid, code, CodePurpose::Phone).await? else {
        return Err(INVALID_CODE.into());
    };
    let user = identity::get_user(state, &spent.user_id).await?;
    // The number may have been removed since the code was issued.
    let Some(phone) = user.phone else {
        return Err(INVALID_CODE.into());
    };
    let phone_number = if phone.country_code == "86" {
        phone.number.clone()
    } else {
        format!("+{}{}", phone.country_code, phone.number)
    };
    Ok(PhoneInfo {
        phone_number,
        pure_phone_number: phone.number,
        country_code: phone.country_code,
        watermark: Watermark {
            timestamp: state.now() / 1000,
            appid: appid.to_owned(),
        },
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct PhoneNumberBody {
    #[serde(default)]
    code: Option<String>,
    /// Optional in WeChat's API and not needed to find the number.
    #[serde(default, rename = "openid")]
    _openid: Option<String>,
}

pub(super) async fn getuserphonenumber_handler(
    State(state): State<AppState>,
    caller: CallerApp,
    body: Result<WxJson<PhoneNumberBody>, WxError>,
) -> Response {
    let result = async {
        let WxJson(body) = body?;
        let code = body
            .code
            .filter(|c| !c.is_empty())
            .ok_or(WxError::Api(CODE_MISSING))?;
        phone_number(&state, &caller.appid, &code).await
    }
    .await;
    match result {
        Ok(phone_info) => ok_with(serde_json::json!({ "phone_info": phone_info })),
        Err(err) => err.into_response(),
    }
}
