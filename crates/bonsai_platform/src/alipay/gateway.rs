//! `/gateway.do`: Alipay's OpenAPI 2.0 gateway, wire-compatible.
//!
//! A request is GET or POST; its parameters are the query string merged
//! with a form body (the Node SDK puts the common parameters in the query
//! and `biz_content` in the body, the Python SDKs everything in the query),
//! values decoded, the first of a repeated name winning. Common parameters:
//! `app_id, method, format=JSON, charset=utf-8, sign_type=RSA2, sign,
//! timestamp (yyyy-MM-dd HH:mm:ss), version=1.0`, and `notify_url`,
//! `biz_content`. The timestamp's shape is checked, not its distance from
//! now: SDKs write it in their machine's zone.
//!
//! Every answer is HTTP 200 `{"<method>_response":{"code":"10000","msg":
//! "Success",…},"sign":"…"}`, failures included (40001 missing parameter,
//! 40002 invalid parameter or signature, 40004 business failure with a
//! `sub_code` such as `ACQ.TRADE_NOT_EXIST`, 20000 our own failure), each
//! signed with the platform key over the inner object's exact bytes.
//! A missing or unknown method answers in `error_response`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};

use super::{AppRow, oauth, sign, time, trade};
use crate::error::PlatformError;
use crate::rsa_keys;
use crate::state::AppState;

/// Decoded request parameters, first occurrence of each name kept, in order.
pub type Params = Vec<(String, String)>;

/// A refused call: Alipay's code and msg, the sub_code and sub_msg, and any
/// fields the method's error answer carries besides.
#[derive(Debug)]
pub(crate) struct GatewayError {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: &'static str,
    pub sub_msg: String,
    pub extra: Map<String, Value>,
}

impl GatewayError {
    fn new(code: &'static str, msg: &'static str, sub_code: &'static str, sub_msg: String) -> Self {
        GatewayError {
            code,
            msg,
            sub_code,
            sub_msg,
            extra: Map::new(),
        }
    }

    /// 40001: a required common parameter is missing.
    pub fn missing(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        GatewayError::new(
            "40001",
            "Missing Required Arguments",
            sub_code,
            sub_msg.into(),
        )
    }

    /// 40002: a parameter (or the signature) is invalid.
    pub fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        GatewayError::new("40002", "Invalid Arguments", sub_code, sub_msg.into())
    }

    /// 40004: the business refused (`ACQ.*`).
    pub fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        GatewayError::new("40004", "Business Failed", sub_code, sub_msg.into())
    }

    /// `ACQ.INVALID_PARAMETER`, the business answer to a bad biz_content field.
    pub fn invalid_parameter(detail: &str) -> Self {
        GatewayError::business("ACQ.INVALID_PARAMETER", format!("参数无效:{detail}"))
    }

    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(name.to_owned(), value.into());
        self
    }

    fn into_inner(self) -> Map<String, Value> {
        let mut inner = Map::new();
        inner.insert("code".to_owned(), self.code.into());
        inner.insert("msg".to_owned(), self.msg.into());
        inner.insert("sub_code".to_owned(), self.sub_code.into());
        inner.insert("sub_msg".to_owned(), self.sub_msg.into());
        inner.extend(self.extra);
        inner
    }
}

impl From<PlatformError> for GatewayError {
    fn from(err: PlatformError) -> Self {
        tracing::error!("Alipay gateway failed: {err}");
        GatewayError::new(
            "20000",
            "Service Currently Unavailable",
            "isp.unknow-error",
            "服务暂不可用（业务系统不可用）".to_owned(),
        )
    }
}

impl From<sqlx::Error> for GatewayError {
    fn from(err: sqlx::Error) -> Self {
        PlatformError::from(err).into()
    }
}

/// A successful inner object: `code` and `msg` first.
pub(crate) fn success() -> Map<String, Value> {
    let mut inner = Map::new();
    inner.insert("code".to_owned(), "10000".into());
    inner.insert("msg".to_owned(), "Success".into());
    inner
}

/// One verified call, as a method sees it.
pub(crate) struct Call<'a> {
    pub state: &'a AppState,
    pub app: AppRow,
    pub params: HashMap<&'a str, &'a str>,
    /// `biz_content`, `{}` when absent.
    pub biz: Map<String, Value>,
    pub now: i64,
}

impl Call<'_> {
    /// A common (non-biz) parameter, if present and non-empty.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).copied().filter(|v| !v.is_empty())
    }

    /// A biz_content field as text: strings as they are, numbers as
    /// written; absent, null and empty are `None`.
    pub fn biz_text(&self, name: &str) -> Option<String> {
        match self.biz.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        }
    }
}

/// The methods this gateway serves.
const METHODS: &[&str] = &[
    "alipay.trade.create",
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.system.oauth.token",
];

/// `alipay.trade.create` → `alipay_trade_create_response`.
pub fn response_key(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// Parses `name=value&…` (query or form body), decoding values, and adds
/// the names not seen yet.
fn merge_pairs(params: &mut Params, encoded: &[u8]) {
    for (name, value) in form_urlencoded::parse(encoded) {
        if !params.iter().any(|(seen, _)| *seen == name) {
            params.push((name.into_owned(), value.into_owned()));
        }
    }
}

/// Runs one gateway request and returns the body to answer with.
pub async fn call(state: &AppState, params: &Params) -> String {
    let method = params
        .iter()
        .find(|(name, _)| name == "method")
        .map(|(_, value)| value.as_str())
        .filter(|m| !m.is_empty());
    let (response_key, result) = match method {
        None => (
            "error_response".to_owned(),
            Err(GatewayError::missing(
                "isv.missing-method",
                "缺少方法名参数",
            )),
        ),
        Some(method) if !METHODS.contains(&method) => (
            "error_response".to_owned(),
            Err(GatewayError::invalid(
                "isv.invalid-method",
                "不存在的方法名",
            )),
        ),
        Some(method) => {
            let result = run(state, method, params).await;
            // oauth.token answers a bad code in error_response, as Alipay does.
            let key = match &result {
                Err(err) if method == "alipay.system.oauth.token" && err.code == "40002" => {
                    "error_response".to_owned()
                }
                _ => response_key(method),
            };
            (key, result)
        }
    };
    let inner = match result {
        Ok(inner) => inner,
        Err(err) => err.into_inner(),
    };
    match super::platform_key(state).await {
        Ok(key) => sign::response_body(&key.private, &response_key, &inner),
        Err(err) => {
            // Without the key nothing can be signed: say so unsigned.
            tracing::error!("Alipay gateway has no platform key: {err}");
            serde_json::json!({ response_key: GatewayError::from(err).into_inner() }).to_string()
        }
    }
}

async fn run(
    state: &AppState,
    method: &str,
    params: &Params,
) -> Result<Map<String, Value>, GatewayError> {
    let map: HashMap<&str, &str> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let get = |name: &str| map.get(name).copied().filter(|v| !v.is_empty());

    let app_id = get("app_id")
        .ok_or_else(|| GatewayError::missing("isv.missing-app-id", "缺少appId参数"))?;
    let signature = get("sign")
        .ok_or_else(|| GatewayError::missing("isv.missing-signature", "缺少签名参数"))?;
    let sign_type = get("sign_type")
        .ok_or_else(|| GatewayError::missing("isv.missing-signature-type", "缺少签名类型参数"))?;
    let timestamp = get("timestamp")
        .ok_or_else(|| GatewayError::missing("isv.missing-timestamp", "缺少时间戳参数"))?;
    let version = get("version")
        .ok_or_else(|| GatewayError::missing("isv.missing-version", "缺少版本参数"))?;
    if sign_type != "RSA2" {
        return Err(GatewayError::invalid(
            "isv.invalid-signature-type",
            "无效的签名类型",
        ));
    }
    if time::parse(timestamp).is_none() {
        return Err(GatewayError::invalid(
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        ));
    }
    if version != "1.0" {
        return Err(GatewayError::invalid("isv.invalid-version", "无效的版本号"));
    }
    if get("format").is_some_and(|format| !format.eq_ignore_ascii_case("json")) {
        return Err(GatewayError::invalid(
            "isv.invalid-format",
            "无效的数据格式",
        ));
    }
    if get("charset").is_some_and(|charset| !charset.eq_ignore_ascii_case("utf-8")) {
        return Err(GatewayError::invalid("isv.invalid-charset", "字符集错误"));
    }
    let Some(app) = super::find_app(state, app_id).await? else {
        return Err(GatewayError::invalid(
            "isv.invalid-app-id",
            "无效的AppID参数",
        ));
    };
    let public_key = rsa_keys::parse_public_key(&app.app_public_key)?;
    if let Err(content) = sign::verify_request(params, &public_key, signature) {
        return Err(GatewayError::invalid(
            "isv.invalid-signature",
            format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"
            ),
        ));
    }
    let biz = match get("biz_content") {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(biz)) => biz,
            _ => {
                return Err(GatewayError::invalid(
                    "isv.invalid-parameter",
                    "参数无效:biz_content 不是 JSON 对象",
                ));
            }
        },
    };
    let call = Call {
        state,
        app,
        params: map.clone(),
        biz,
        now: state.now(),
    };
    match method {
        "alipay.trade.create" => trade::create(&call).await,
        "alipay.trade.query" => trade::query(&call).await,
        "alipay.trade.close" => trade::close(&call).await,
        "alipay.trade.refund" => trade::refund(&call).await,
        "alipay.trade.fastpay.refund.query" => trade::refund_query(&call).await,
        "alipay.system.oauth.token" => oauth::token(&call).await,
        _ => Err(GatewayError::invalid(
            "isv.invalid-method",
            "不存在的方法名",
        )),
    }
}

async fn gateway_handler(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut params = Params::new();
    if let Some(query) = uri.query() {
        merge_pairs(&mut params, query.as_bytes());
    }
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.to_ascii_lowercase().starts_with("multipart/"));
    if let Ok(body) = &body
        && is_form
    {
        merge_pairs(&mut params, body);
    }
    let body = call(&state, &params).await;
    ([(CONTENT_TYPE, "application/json;charset=utf-8")], body).into_response()
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/gateway.do", get(gateway_handler).post(gateway_handler))
}
