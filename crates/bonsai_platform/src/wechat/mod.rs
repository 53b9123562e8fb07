//! WeChat's server API, wire-compatible: the same paths, query parameters,
//! JSON fields and errcodes, so a developer's server (or its SDK) only
//! changes its host. As WeChat does, every answer is HTTP 200 with JSON; a
//! failure is `{"errcode": n, "errmsg": "…, rid: …"}`, the rid naming the
//! request in our log. Successful `jscode2session` and `token` answers carry
//! no `errcode` (what WeChat sends now); the others carry `errcode: 0`.

mod login;
mod token;

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::clock::{Clock, SystemClock};
use crate::error::PlatformError;
use crate::state::AppState;

pub use login::{
    Code2Session, PhoneInfo, check_session, code2session, phone_number, reset_session_key,
};
pub use token::{
    ACCESS_TOKEN_TTL_MS, IssuedToken, TOKEN_OVERLAP_MS, authenticate, basic_token, stable_token,
};

/// An errcode and the errmsg WeChat sends with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrCode {
    pub errcode: i64,
    pub errmsg: &'static str,
}

const fn code(errcode: i64, errmsg: &'static str) -> ErrCode {
    ErrCode { errcode, errmsg }
}

pub const SYSTEM_ERROR: ErrCode = code(-1, "system error");
pub const INVALID_CREDENTIAL: ErrCode = code(
    40001,
    "invalid credential, access_token is invalid or not latest",
);
pub const INVALID_GRANT_TYPE: ErrCode = code(40002, "invalid grant_type");
pub const INVALID_APPID: ErrCode = code(40013, "invalid appid");
pub const INVALID_ACCESS_TOKEN: ErrCode = code(40014, "invalid access_token");
pub const INVALID_CODE: ErrCode = code(40029, "invalid code");
pub const INVALID_APPSECRET: ErrCode = code(40125, "invalid appsecret");
pub const CODE_BLOCKED: ErrCode = code(40226, "code blocked");
pub const ACCESS_TOKEN_MISSING: ErrCode = code(41001, "access_token missing");
pub const APPID_MISSING: ErrCode = code(41002, "appid missing");
pub const APPSECRET_MISSING: ErrCode = code(41004, "appsecret missing");
pub const CODE_MISSING: ErrCode = code(41008, "missing code");
pub const ACCESS_TOKEN_EXPIRED: ErrCode = code(42001, "access_token expired");
pub const REQUIRE_GET: ErrCode = code(43001, "require GET method");
pub const REQUIRE_POST: ErrCode = code(43002, "require POST method");
pub const DAILY_QUOTA: ErrCode = code(45009, "reach max api daily quota limit");
// Two spaces twice: WeChat's text, which some SDKs match.
pub const MINUTE_QUOTA: ErrCode = code(
    45011,
    "api minute-quota reach limit  mustslower  retry next minute",
);
pub const DATA_FORMAT: ErrCode = code(47001, "data format error");
pub const API_UNAUTHORIZED: ErrCode = code(48001, "api unauthorized");
pub const INVALID_SIG_METHOD: ErrCode = code(87008, "invalid sig_method");
pub const INVALID_SIGNATURE: ErrCode = code(87009, "invalid signature");

/// A failed WeChat API call: an errcode for the caller, or our own failure,
/// which the caller sees as `-1 system error` and our log records in full.
#[derive(Debug)]
pub enum WxError {
    Api(ErrCode),
    Internal(PlatformError),
}

impl From<ErrCode> for WxError {
    fn from(code: ErrCode) -> Self {
        WxError::Api(code)
    }
}

impl From<PlatformError> for WxError {
    fn from(err: PlatformError) -> Self {
        WxError::Internal(err)
    }
}

impl From<sqlx::Error> for WxError {
    fn from(err: sqlx::Error) -> Self {
        WxError::Internal(err.into())
    }
}

impl WxError {
    pub fn errcode(&self) -> i64 {
        match self {
            WxError::Api(code) => code.errcode,
            WxError::Internal(_) => SYSTEM_ERROR.errcode,
        }
    }
}

/// WeChat's request id: the hex Unix time and two random words.
fn new_rid() -> String {
    // Wall time even under a virtual clock: a rid is for finding log lines.
    let now = SystemClock.now_millis() / 1000;
    let random = crate::secrets::random_bytes::<8>().unwrap_or_default();
    format!(
        "{now:08x}-{}-{}",
        hex::encode(&random[..4]),
        hex::encode(&random[4..])
    )
}

/// The errcode body with a rid, logged under the same rid.
fn errcode_response(
    status: StatusCode,
    code: ErrCode,
    internal: Option<&PlatformError>,
) -> Response {
    let rid = new_rid();
    match internal {
        Some(err) => tracing::error!(%rid, "internal error: {err}"),
        None => tracing::debug!(%rid, errcode = code.errcode, "{}", code.errmsg),
    }
    let body = serde_json::json!({
        "errcode": code.errcode,
        "errmsg": format!("{}, rid: {rid}", code.errmsg),
    });
    (status, Json(body)).into_response()
}

impl IntoResponse for WxError {
    fn into_response(self) -> Response {
        match self {
            WxError::Api(code) => errcode_response(StatusCode::OK, code, None),
            WxError::Internal(err) => errcode_response(StatusCode::OK, SYSTEM_ERROR, Some(&err)),
        }
    }
}

/// `{"errcode": 0, "errmsg": "ok", …fields}`.
fn ok_with(fields: serde_json::Value) -> Response {
    let mut body = serde_json::json!({ "errcode": 0, "errmsg": "ok" });
    if let (Some(body), serde_json::Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    Json(body).into_response()
}

/// The query string as WeChat reads it: a missing or empty parameter is
/// "missing", each API with its own errcode.
#[derive(Debug)]
pub(crate) struct WxQuery(HashMap<String, String>);

impl WxQuery {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str, missing: ErrCode) -> Result<&str, WxError> {
        self.get(name).ok_or(WxError::Api(missing))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WxQuery {
    type Rejection = WxError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
            Ok(Query(map)) => Ok(WxQuery(map)),
            Err(_) => Err(DATA_FORMAT.into()),
        }
    }
}

/// A JSON body read whatever its Content-Type says: WeChat accepts bodies
/// sent as text/plain or form types, and so do SDKs that never set one.
#[derive(Debug)]
pub(crate) struct WxJson<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WxJson<T> {
    type Rejection = WxError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| WxError::Api(DATA_FORMAT))?;
        serde_json::from_slice(&bytes)
            .map(WxJson)
            .map_err(|_| WxError::Api(DATA_FORMAT))
    }
}

/// The app an `access_token` in the query belongs to. Every API under
/// `/cgi-bin` and `/wxa` except the token endpoints takes this, so a
/// missing (41001), unknown or replaced (40001), malformed (40014) or
/// expired (42001) token is refused the same way everywhere.
#[derive(Debug)]
pub(crate) struct CallerApp {
    pub appid: String,
}

impl FromRequestParts<AppState> for CallerApp {
    type Rejection = WxError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = WxQuery::from_request_parts(parts, state).await?;
        let appid = authenticate(state, query.get("access_token")).await?;
        Ok(CallerApp { appid })
    }
}

/// Answers a request no route takes: WeChat's shape, HTTP 404.
pub(crate) fn unknown_api(path: &str) -> Response {
    tracing::debug!(path, "no such API");
    errcode_response(StatusCode::NOT_FOUND, API_UNAUTHORIZED, None)
}

/// A known path with the wrong method: WeChat's 43001/43002.
pub(crate) fn wrong_method(method: &axum::http::Method) -> Response {
    let code = if method == axum::http::Method::GET {
        REQUIRE_POST
    } else {
        REQUIRE_GET
    };
    errcode_response(StatusCode::OK, code, None)
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/sns/jscode2session", get(login::jscode2session_handler))
        .route("/cgi-bin/token", get(token::token_handler))
        .route("/cgi-bin/stable_token", post(token::stable_token_handler))
        .route("/wxa/checksession", get(login::checksession_handler))
        .route(
            "/wxa/resetusersessionkey",
            get(login::resetusersessionkey_handler),
        )
        .route(
            "/wxa/business/getuserphonenumber",
            post(login::getuserphonenumber_handler),
        )
}
