//! JSAPI orders: `POST /v3/pay/transactions/jsapi` (create, idempotent on
//! the merchant's `out_trade_no`), the two queries and close.
//!
//! An order is NOTPAY until the cashier ([`super::cashier`]) pays it
//! (SUCCESS) or fails it (PAYERROR), the merchant closes it (CLOSED), or a
//! refund is taken from it (REFUND, WeChat's "转入退款").

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use super::merchants::{self, MerchantKeys};
use super::time::{date_digits, datetime_digits, parse_rfc3339, rfc3339_beijing};
use super::{PayApiError, canonical_sha256, random_digits};
use crate::error::PlatformError;
use crate::secrets;
use crate::state::AppState;

/// A prepay_id is good for two hours; the same order request after that
/// gets a fresh one.
pub const PREPAY_TTL_MS: i64 = 2 * 3600 * 1000;
/// Without `time_expire` an order can be paid for seven days.
pub const DEFAULT_ORDER_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// The bank a sandbox payment is made from (WeChat: `OTHERS` for the
/// ones it does not name).
pub const SANDBOX_BANK_TYPE: &str = "OTHERS";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeState {
    NotPay,
    Success,
    Refund,
    Closed,
    PayError,
}

impl TradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::NotPay => "NOTPAY",
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Closed => "CLOSED",
            TradeState::PayError => "PAYERROR",
        }
    }

    fn parse(text: &str) -> Result<TradeState, PlatformError> {
        Ok(match text {
            "NOTPAY" => TradeState::NotPay,
            "SUCCESS" => TradeState::Success,
            "REFUND" => TradeState::Refund,
            "CLOSED" => TradeState::Closed,
            "PAYERROR" => TradeState::PayError,
            other => {
                return Err(PlatformError::Internal(format!(
                    "unknown trade_state `{other}` in the database"
                )));
            }
        })
    }

    /// WeChat's `trade_state_desc`.
    pub fn description(self) -> &'static str {
        match self {
            TradeState::NotPay => "订单未支付",
            TradeState::Success => "支付成功",
            TradeState::Refund => "转入退款",
            TradeState::Closed => "订单已关闭",
            TradeState::PayError => "支付失败，请重新下单支付",
        }
    }

    pub fn is_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

/// One row of `pay_orders`.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub mchid: String,
    pub out_trade_no: String,
    pub appid: String,
    pub description: String,
    pub attach: Option<String>,
    pub notify_url: String,
    pub amount_total: i64,
    pub currency: String,
    pub payer_openid: String,
    pub request_sha256: String,
    pub prepay_id: String,
    pub prepay_expires_at: i64,
    pub time_expire: i64,
    pub trade_state: TradeState,
    pub transaction_id: Option<String>,
    pub bank_type: Option<String>,
    pub success_at: Option<i64>,
    pub refunded_total: i64,
    pub refund_count: i64,
    pub created_at: i64,
}

pub(crate) const ORDER_COLUMNS: &str = "mchid, out_trade_no, appid, description, attach, notify_url, \
     amount_total, currency, payer_openid, request_sha256, prepay_id, prepay_expires_at, \
     time_expire, trade_state, transaction_id, bank_type, success_at, refunded_total, \
     refund_count, created_at";

pub(crate) fn order_of_row(row: &AnyRow) -> Result<Order, PlatformError> {
    let state: String = row.try_get("trade_state")?;
    Ok(Order {
        mchid: row.try_get("mchid")?,
        out_trade_no: row.try_get("out_trade_no")?,
        appid: row.try_get("appid")?,
        description: row.try_get("description")?,
        attach: row.try_get("attach")?,
        notify_url: row.try_get("notify_url")?,
        amount_total: row.try_get("amount_total")?,
        currency: row.try_get("currency")?,
        payer_openid: row.try_get("payer_openid")?,
        request_sha256: row.try_get("request_sha256")?,
        prepay_id: row.try_get("prepay_id")?,
        prepay_expires_at: row.try_get("prepay_expires_at")?,
        time_expire: row.try_get("time_expire")?,
        trade_state: TradeState::parse(&state)?,
        transaction_id: row.try_get("transaction_id")?,
        bank_type: row.try_get("bank_type")?,
        success_at: row.try_get("success_at")?,
        refunded_total: row.try_get("refunded_total")?,
        refund_count: row.try_get("refund_count")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Order {
    /// The transaction as the queries answer it and as TRANSACTION.SUCCESS
    /// carries it (encrypted). Fields WeChat only sends for paid orders are
    /// left out before payment.
    pub fn transaction_json(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("appid".into(), json!(self.appid));
        body.insert("mchid".into(), json!(self.mchid));
        body.insert("out_trade_no".into(), json!(self.out_trade_no));
        if let Some(id) = &self.transaction_id {
            body.insert("transaction_id".into(), json!(id));
            body.insert("trade_type".into(), json!("JSAPI"));
        }
        body.insert("trade_state".into(), json!(self.trade_state.as_str()));
        body.insert(
            "trade_state_desc".into(),
            json!(self.trade_state.description()),
        );
        if let Some(bank) = &self.bank_type {
            body.insert("bank_type".into(), json!(bank));
        }
        body.insert(
            "attach".into(),
            json!(self.attach.clone().unwrap_or_default()),
        );
        if let Some(at) = self.success_at {
            body.insert("success_time".into(), json!(rfc3339_beijing(at)));
        }
        body.insert("payer".into(), json!({ "openid": self.payer_openid }));
        let mut amount = serde_json::Map::new();
        amount.insert("total".into(), json!(self.amount_total));
        if self.trade_state.is_paid() {
            amount.insert("payer_total".into(), json!(self.amount_total));
        }
        amount.insert("currency".into(), json!(self.currency));
        amount.insert("payer_currency".into(), json!(self.currency));
        body.insert("amount".into(), Value::Object(amount));
        Value::Object(body)
    }
}

pub(crate) async fn find_order<'c, E>(
    executor: E,
    mchid: &str,
    out_trade_no: &str,
) -> Result<Option<Order>, PlatformError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM pay_orders WHERE mchid = $1 AND out_trade_no = $2"
    ))
    .bind(mchid)
    .bind(out_trade_no)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(order_of_row).transpose()
}

pub(crate) async fn find_by_transaction_id(
    state: &AppState,
    mchid: &str,
    transaction_id: &str,
) -> Result<Option<Order>, PlatformError> {
    let row = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM pay_orders WHERE mchid = $1 AND transaction_id = $2"
    ))
    .bind(mchid)
    .bind(transaction_id)
    .fetch_optional(state.db.pool())
    .await?;
    row.as_ref().map(order_of_row).transpose()
}

pub(crate) async fn find_by_prepay_id(
    state: &AppState,
    prepay_id: &str,
) -> Result<Option<Order>, PlatformError> {
    let row = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM pay_orders WHERE prepay_id = $1"
    ))
    .bind(prepay_id)
    .fetch_optional(state.db.pool())
    .await?;
    row.as_ref().map(order_of_row).transpose()
}

/// `wx` + Beijing date and time + 20 hex digits, the shape of WeChat's
/// (36 characters).
fn new_prepay_id(now: i64) -> Result<String, PlatformError> {
    Ok(format!(
        "wx{}{}",
        datetime_digits(now),
        secrets::random_hex(10)?
    ))
}

/// 28 digits like WeChat's: `4200`, the Beijing date, 16 random digits.
pub(crate) fn new_transaction_id(now: i64) -> Result<String, PlatformError> {
    Ok(format!("4200{}{}", date_digits(now), random_digits(16)?))
}

// ---- request validation -------------------------------------------------

/// A field of a JSON body, checked for presence and type; errors are
/// PARAM_ERROR naming the field, as WeChat's are.
pub(crate) struct Fields<'a> {
    body: &'a Value,
}

impl<'a> Fields<'a> {
    pub fn of(body: &'a Value) -> Result<Self, PayApiError> {
        if body.is_object() {
            Ok(Fields { body })
        } else {
            Err(PayApiError::param(
                "body",
                "/",
                None,
                "the body must be a JSON object",
            ))
        }
    }

    fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.body.pointer(pointer).filter(|v| !v.is_null())
    }

    /// A string field of 1..=`max` characters (when present).
    pub fn opt_str(&self, pointer: &str, max: usize) -> Result<Option<&'a str>, PayApiError> {
        let Some(value) = self.get(pointer) else {
            return Ok(None);
        };
        let Some(text) = value.as_str() else {
            return Err(PayApiError::param(
                "body",
                pointer,
                Some(value),
                "must be a string",
            ));
        };
        let chars = text.chars().count();
        if chars == 0 || chars > max {
            return Err(PayApiError::param(
                "body",
                pointer,
                Some(value),
                format!("must be 1 to {max} characters"),
            ));
        }
        Ok(Some(text))
    }

    pub fn str(&self, pointer: &str, max: usize) -> Result<&'a str, PayApiError> {
        self.opt_str(pointer, max)?
            .ok_or_else(|| PayApiError::param("body", pointer, None, "is required"))
    }

    /// A positive integer (JSON number without a fraction) up to i32::MAX,
    /// WeChat's int.
    pub fn positive_int(&self, pointer: &str) -> Result<i64, PayApiError> {
        let Some(value) = self.get(pointer) else {
            return Err(PayApiError::param("body", pointer, None, "is required"));
        };
        match value.as_i64() {
            Some(n) if n > 0 && n <= i64::from(i32::MAX) => Ok(n),
            _ => Err(PayApiError::param(
                "body",
                pointer,
                Some(value),
                format!("must be an integer from 1 to {}", i32::MAX),
            )),
        }
    }

    pub fn opt_object(&self, pointer: &str) -> Result<(), PayApiError> {
        match self.get(pointer) {
            Some(value) if !value.is_object() => Err(PayApiError::param(
                "body",
                pointer,
                Some(value),
                "must be an object",
            )),
            _ => Ok(()),
        }
    }

    pub fn opt_array(&self, pointer: &str) -> Result<(), PayApiError> {
        match self.get(pointer) {
            Some(value) if !value.is_array() => Err(PayApiError::param(
                "body",
                pointer,
                Some(value),
                "must be an array",
            )),
            _ => Ok(()),
        }
    }

    pub fn opt_bool(&self, pointer: &str) -> Result<(), PayApiError> {
        match self.get(pointer) {
            Some(value) if !value.is_boolean() => Err(PayApiError::param(
                "body",
                pointer,
                Some(value),
                "must be a boolean",
            )),
            _ => Ok(()),
        }
    }

    /// `currency`: optional, and only CNY.
    pub fn currency(&self, pointer: &str) -> Result<String, PayApiError> {
        match self.opt_str(pointer, 16)? {
            None | Some("CNY") => Ok("CNY".to_owned()),
            Some(_) => Err(PayApiError::param(
                "body",
                pointer,
                self.get(pointer),
                "only CNY is supported",
            )),
        }
    }

    /// A merchant number such as out_trade_no: `min..=max` characters from
    /// `[0-9A-Za-z]` and `extra`.
    pub fn merchant_no(
        &self,
        pointer: &str,
        min: usize,
        max: usize,
        extra: &str,
    ) -> Result<&'a str, PayApiError> {
        let text = self.str(pointer, max)?;
        check_merchant_no(text, min, max, extra)
            .map_err(|issue| PayApiError::param("body", pointer, self.get(pointer), issue))?;
        Ok(text)
    }

    /// `notify_url`: see [`check_notify_url`].
    pub fn notify_url(
        &self,
        pointer: &str,
        required: bool,
    ) -> Result<Option<&'a str>, PayApiError> {
        let url = match self.opt_str(pointer, 256)? {
            Some(url) => url,
            None if required => {
                return Err(PayApiError::param("body", pointer, None, "is required"));
            }
            None => return Ok(None),
        };
        check_notify_url(url)
            .map_err(|issue| PayApiError::param("body", pointer, self.get(pointer), issue))?;
        Ok(Some(url))
    }
}

/// `[0-9A-Za-z]` plus `extra`, `min..=max` characters.
pub(crate) fn check_merchant_no(
    text: &str,
    min: usize,
    max: usize,
    extra: &str,
) -> Result<(), String> {
    let ok_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    if !ok_chars || text.len() < min || text.len() > max {
        return Err(format!(
            "must be {min} to {max} characters of digits, letters and `{extra}`"
        ));
    }
    Ok(())
}

/// A callback address WeChat can reach: an absolute https URL without a
/// query string. The sandbox also takes plain `http` to a loopback host
/// (`localhost`, `127.x.x.x`, `[::1]`), so tests and a developer's machine
/// can receive notifications without a certificate; WeChat itself never
/// would.
pub(crate) fn check_notify_url(url: &str) -> Result<(), String> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("must be an https:// URL".to_owned());
    };
    if url.contains('?') || url.contains('#') {
        return Err("must not carry a query string or fragment".to_owned());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".to_owned());
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry credentials".to_owned());
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err("has no host".to_owned());
    }
    if !https {
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(
                "must be an https:// URL (plain http is accepted only for loopback hosts in this sandbox)"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// A validated JSAPI order request.
struct JsapiRequest<'a> {
    appid: &'a str,
    mchid: &'a str,
    description: &'a str,
    out_trade_no: &'a str,
    time_expire: Option<i64>,
    attach: Option<&'a str>,
    notify_url: &'a str,
    total: i64,
    currency: String,
    openid: &'a str,
}

fn parse_jsapi_request(body: &Value, now: i64) -> Result<JsapiRequest<'_>, PayApiError> {
    let f = Fields::of(body)?;
    let appid = f.str("/appid", 32)?;
    let mchid = f.str("/mchid", 32)?;
    let description = f.str("/description", 127)?;
    let out_trade_no = f.merchant_no("/out_trade_no", 6, 32, "_-|*")?;
    let time_expire = match f.opt_str("/time_expire", 64)? {
        None => None,
        Some(text) => match parse_rfc3339(text) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                return Err(PayApiError::param(
                    "body",
                    "/time_expire",
                    body.pointer("/time_expire"),
                    "is already past",
                ));
            }
            None => {
                return Err(PayApiError::param(
                    "body",
                    "/time_expire",
                    body.pointer("/time_expire"),
                    "must be an RFC 3339 time such as 2018-06-08T10:34:56+08:00",
                ));
            }
        },
    };
    let attach = f.opt_str("/attach", 128)?;
    let notify_url = f
        .notify_url("/notify_url", true)?
        .ok_or_else(|| PayApiError::param("body", "/notify_url", None, "is required"))?;
    f.opt_str("/goods_tag", 32)?;
    f.opt_bool("/support_fapiao")?;
    f.opt_object("/amount")?;
    let total = f.positive_int("/amount/total")?;
    let currency = f.currency("/amount/currency")?;
    f.opt_object("/payer")?;
    let openid = f.str("/payer/openid", 128)?;
    f.opt_object("/detail")?;
    f.opt_object("/scene_info")?;
    f.opt_object("/settle_info")?;
    Ok(JsapiRequest {
        appid,
        mchid,
        description,
        out_trade_no,
        time_expire,
        attach,
        notify_url,
        total,
        currency,
        openid,
    })
}

/// The request fingerprint for idempotency. The payer's IP may change
/// between two submissions of one order (WeChat allows it), so it is left
/// out.
fn order_fingerprint(body: &Value) -> String {
    let mut body = body.clone();
    if let Some(scene) = body.get_mut("scene_info").and_then(Value::as_object_mut) {
        scene.remove("payer_client_ip");
    }
    canonical_sha256(&body)
}

/// Checks that the `mchid` a body or query names is the caller's: another
/// existing merchant is NO_AUTH, an unknown one MCH_NOT_EXISTS.
pub(crate) async fn check_own_mchid(
    state: &AppState,
    caller: &MerchantKeys,
    named: &str,
) -> Result<(), PayApiError> {
    if named == caller.mchid {
        return Ok(());
    }
    if merchants::merchant_keys(state, named).await?.is_some() {
        Err(PayApiError::no_auth(format!(
            "mchid {named} is not the merchant that signed this request"
        )))
    } else {
        Err(PayApiError::new(
            StatusCode::BAD_REQUEST,
            "MCH_NOT_EXISTS",
            "商户号不存在",
        ))
    }
}

/// `POST /v3/pay/transactions/jsapi`: a new order's prepay_id. Submitting
/// the same request again (same fields, any order) answers the same
/// prepay_id while it is valid and a fresh one after; another request
/// with the same `out_trade_no` is 403 OUT_TRADE_NO_USED (商户订单号重复).
pub(crate) async fn create_jsapi_order(
    state: &AppState,
    caller: &MerchantKeys,
    body: &Value,
) -> Result<String, PayApiError> {
    let now = state.now();
    let request = parse_jsapi_request(body, now)?;
    check_own_mchid(state, caller, request.mchid).await?;
    if !merchants::merchant_has_app(state, request.mchid, request.appid).await? {
        return Err(PayApiError::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            format!(
                "appid和mch_id不匹配: {} is not bound to merchant {}",
                request.appid, request.mchid
            ),
        ));
    }
    // WeChat checks that the openid belongs to the appid. The sandbox can
    // only know openids of users who logged in to the app (wx.login), which
    // every real payer has done.
    let known: Option<String> =
        sqlx::query_scalar("SELECT openid FROM sessions WHERE appid = $1 AND openid = $2")
            .bind(request.appid)
            .bind(request.openid)
            .fetch_optional(state.db.pool())
            .await?;
    if known.is_none() {
        return Err(PayApiError::param(
            "body",
            "/payer/openid",
            body.pointer("/payer/openid"),
            "openid和appid不匹配: no user of this appid has this openid (has the user logged in?)",
        ));
    }

    let fingerprint = order_fingerprint(body);
    let prepay_id = new_prepay_id(now)?;
    let inserted = sqlx::query(
        "INSERT INTO pay_orders
            (mchid, out_trade_no, appid, description, attach, notify_url, amount_total, currency,
             payer_openid, request_sha256, prepay_id, prepay_expires_at, time_expire, trade_state,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'NOTPAY', $14, $14)
         ON CONFLICT (mchid, out_trade_no) DO NOTHING",
    )
    .bind(request.mchid)
    .bind(request.out_trade_no)
    .bind(request.appid)
    .bind(request.description)
    .bind(request.attach)
    .bind(request.notify_url)
    .bind(request.total)
    .bind(&request.currency)
    .bind(request.openid)
    .bind(&fingerprint)
    .bind(&prepay_id)
    .bind(now + PREPAY_TTL_MS)
    .bind(request.time_expire.unwrap_or(now + DEFAULT_ORDER_TTL_MS))
    .bind(now)
    .execute(state.db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(prepay_id);
    }

    // The out_trade_no is taken: the same request again, or another one.
    let existing = find_order(state.db.pool(), request.mchid, request.out_trade_no)
        .await?
        .ok_or_else(|| PlatformError::Internal("an order vanished while being read".to_owned()))?;
    match existing.trade_state {
        TradeState::Closed => {
            return Err(PayApiError::new(
                StatusCode::BAD_REQUEST,
                "ORDER_CLOSED",
                "订单已关闭",
            ));
        }
        TradeState::Success | TradeState::Refund => {
            return Err(PayApiError::new(
                StatusCode::BAD_REQUEST,
                "ORDERPAID",
                "该订单已支付",
            ));
        }
        TradeState::PayError => {
            return Err(PayApiError::new(
                StatusCode::FORBIDDEN,
                "TRADE_ERROR",
                "this order's payment failed; place a new order with a new out_trade_no",
            ));
        }
        TradeState::NotPay => {}
    }
    if existing.request_sha256 != fingerprint {
        return Err(PayApiError::new(
            StatusCode::FORBIDDEN,
            "OUT_TRADE_NO_USED",
            "商户订单号重复: this out_trade_no was ordered with other parameters",
        ));
    }
    if existing.time_expire <= now {
        return Err(PayApiError::new(
            StatusCode::BAD_REQUEST,
            "ORDER_CLOSED",
            "订单已过期: time_expire has passed; place a new order",
        ));
    }
    if existing.prepay_expires_at > now {
        return Ok(existing.prepay_id);
    }
    // Renew an expired prepay_id. Only the first of two racing renewals
    // changes the row; the other reads the winner's id.
    let renewed = sqlx::query(
        "UPDATE pay_orders SET prepay_id = $1, prepay_expires_at = $2, updated_at = $3
         WHERE mchid = $4 AND out_trade_no = $5 AND prepay_id = $6",
    )
    .bind(&prepay_id)
    .bind(now + PREPAY_TTL_MS)
    .bind(now)
    .bind(request.mchid)
    .bind(request.out_trade_no)
    .bind(&existing.prepay_id)
    .execute(state.db.pool())
    .await?;
    if renewed.rows_affected() == 1 {
        return Ok(prepay_id);
    }
    let current = find_order(state.db.pool(), request.mchid, request.out_trade_no)
        .await?
        .ok_or_else(|| PlatformError::Internal("an order vanished while being read".to_owned()))?;
    Ok(current.prepay_id)
}

/// The `mchid` query parameter of the queries: required, and the caller's.
async fn check_query_mchid(
    state: &AppState,
    caller: &MerchantKeys,
    mchid: Option<&str>,
) -> Result<(), PayApiError> {
    match mchid {
        Some(mchid) if !mchid.is_empty() => check_own_mchid(state, caller, mchid).await,
        _ => Err(PayApiError::param("query", "mchid", None, "is required")),
    }
}

/// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`.
pub(crate) async fn query_by_out_trade_no(
    state: &AppState,
    caller: &MerchantKeys,
    mchid: Option<&str>,
    out_trade_no: &str,
) -> Result<Value, PayApiError> {
    check_query_mchid(state, caller, mchid).await?;
    let order = find_order(state.db.pool(), &caller.mchid, out_trade_no)
        .await?
        .ok_or_else(PayApiError::order_not_exist)?;
    Ok(order.transaction_json())
}

/// `GET /v3/pay/transactions/id/{transaction_id}?mchid=`. Unpaid orders
/// have no transaction_id, so only paid ones are found this way.
pub(crate) async fn query_by_transaction_id(
    state: &AppState,
    caller: &MerchantKeys,
    mchid: Option<&str>,
    transaction_id: &str,
) -> Result<Value, PayApiError> {
    check_query_mchid(state, caller, mchid).await?;
    let order = find_by_transaction_id(state, &caller.mchid, transaction_id)
        .await?
        .ok_or_else(PayApiError::order_not_exist)?;
    Ok(order.transaction_json())
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` with
/// `{"mchid"}`. Closing a closed order again succeeds; a paid one is
/// ORDERPAID.
pub(crate) async fn close_order(
    state: &AppState,
    caller: &MerchantKeys,
    out_trade_no: &str,
    body: &Value,
) -> Result<(), PayApiError> {
    let f = Fields::of(body)?;
    let mchid = f.str("/mchid", 32)?;
    check_own_mchid(state, caller, mchid).await?;
    let now = state.now();
    let closed = sqlx::query(
        "UPDATE pay_orders SET trade_state = 'CLOSED', updated_at = $1
         WHERE mchid = $2 AND out_trade_no = $3 AND trade_state IN ('NOTPAY', 'PAYERROR')",
    )
    .bind(now)
    .bind(mchid)
    .bind(out_trade_no)
    .execute(state.db.pool())
    .await?;
    if closed.rows_affected() == 1 {
        return Ok(());
    }
    let order = find_order(state.db.pool(), mchid, out_trade_no)
        .await?
        .ok_or_else(PayApiError::order_not_exist)?;
    match order.trade_state {
        TradeState::Closed => Ok(()),
        _ => Err(PayApiError::new(
            StatusCode::BAD_REQUEST,
            "ORDERPAID",
            "订单已支付: a paid order cannot be closed",
        )),
    }
}

/// A merchant's orders, newest first, with everything an operator wants to
/// see (the transaction as WeChat shows it, plus the order's own fields).
pub async fn list_payments(state: &AppState, mchid: &str) -> Result<Vec<Value>, PlatformError> {
    merchants::get_merchant(state, mchid).await?;
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM pay_orders WHERE mchid = $1
         ORDER BY created_at DESC, out_trade_no DESC"
    ))
    .bind(mchid)
    .fetch_all(state.db.pool())
    .await?;
    let mut payments = Vec::with_capacity(rows.len());
    for row in &rows {
        let order = order_of_row(row)?;
        let mut entry = order.transaction_json();
        if let Some(object) = entry.as_object_mut() {
            object.insert("description".into(), json!(order.description));
            object.insert("notify_url".into(), json!(order.notify_url));
            object.insert("prepay_id".into(), json!(order.prepay_id));
            object.insert("refunded_total".into(), json!(order.refunded_total));
            object.insert(
                "create_time".into(),
                json!(rfc3339_beijing(order.created_at)),
            );
            object.insert(
                "time_expire".into(),
                json!(rfc3339_beijing(order.time_expire)),
            );
            object.insert(
                "refunds".into(),
                Value::Array(
                    super::refunds::refunds_of_order(state, &order.mchid, &order.out_trade_no)
                        .await?,
                ),
            );
        }
        payments.push(entry);
    }
    Ok(payments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_urls() {
        assert!(check_notify_url("https://shop.example.com/pay/notify").is_ok());
        assert!(check_notify_url("http://127.0.0.1:8080/notify").is_ok());
        assert!(check_notify_url("http://localhost/notify").is_ok());
        assert!(check_notify_url("http://[::1]:9/notify").is_ok());
        assert!(check_notify_url("http://shop.example.com/notify").is_err());
        assert!(check_notify_url("https://shop.example.com/notify?x=1").is_err());
        assert!(check_notify_url("ftp://shop.example.com/").is_err());
        assert!(check_notify_url("https:///notify").is_err());
        assert!(check_notify_url("http://127.0.0.1@evil.example/").is_err());
    }

    #[test]
    fn merchant_numbers() {
        assert!(check_merchant_no("1217752501201407033233368018", 6, 32, "_-|*").is_ok());
        assert!(check_merchant_no("a_b-c|d*e", 6, 32, "_-|*").is_ok());
        assert!(check_merchant_no("short", 6, 32, "_-|*").is_err());
        assert!(check_merchant_no("has space", 6, 32, "_-|*").is_err());
        assert!(check_merchant_no("订单号订单号", 6, 32, "_-|*").is_err());
        assert!(check_merchant_no(&"1".repeat(33), 6, 32, "_-|*").is_err());
    }
}
