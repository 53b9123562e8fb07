//! The cashier: what `wx.requestPayment` does inside WeChat. The mini
//! program passes what its server signed (`timeStamp`, `nonceStr`,
//! `package: "prepay_id=…"`, `signType: "RSA"`, `paySign`); WeChat checks
//! the signature with the merchant's public key, checks that the order is
//! the app's and the user's and still payable, shows the cashier, and the
//! user pays or cancels. Here the user's choice is an argument.
//!
//! The CLI's `PlatformClient` adapter calls [`request_payment`] directly;
//! the admin API (`POST /admin/wechatpay/pay`) calls it for tests and
//! previews. Its errors carry the text WeChat's client puts after
//! `requestPayment:fail ` ([`PayError::err_msg`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::crypto;
use super::events::{self, Event};
use super::merchants;
use super::orders::{self, TradeState};
use super::time::rfc3339_beijing;
use crate::error::PlatformError;
use crate::identity;
use crate::rsa_keys;
use crate::state::AppState;

/// What the user does at the cashier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PayDecision {
    /// Pays: the order becomes SUCCESS and TRANSACTION.SUCCESS is queued.
    Confirm,
    /// Closes the cashier: `requestPayment:fail cancel`, the order stays NOTPAY.
    Cancel,
    /// The payment fails (as a bank refusal would): the order becomes
    /// PAYERROR and the merchant must place a new one.
    Fail,
}

/// A successful payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentOutcome {
    /// `requestPayment:ok`.
    #[serde(rename = "errMsg")]
    pub err_msg: String,
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    /// RFC 3339, Beijing time.
    pub success_time: String,
    /// Fen.
    pub amount_total: i64,
    /// The id of the queued TRANSACTION.SUCCESS notification.
    pub notification_id: String,
}

/// Why `wx.requestPayment` failed. `Display` is the part after
/// `requestPayment:fail ` in the client's errMsg.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// The user closed the cashier.
    #[error("cancel")]
    Cancel,
    /// Refused: bad parameters or signature, another app's or user's order,
    /// an order no longer payable, or a failed payment.
    #[error("{0}")]
    Fail(String),
    /// Our failure; the user sees a generic message and the log has this.
    #[error("system error")]
    Internal(#[source] PlatformError),
}

impl PayError {
    /// The errMsg the mini program's `fail` callback receives.
    pub fn err_msg(&self) -> String {
        format!("requestPayment:fail {self}")
    }

    fn fail(message: impl Into<String>) -> Self {
        PayError::Fail(message.into())
    }
}

impl From<PlatformError> for PayError {
    fn from(err: PlatformError) -> Self {
        PayError::Internal(err)
    }
}

impl From<sqlx::Error> for PayError {
    fn from(err: sqlx::Error) -> Self {
        PayError::Internal(err.into())
    }
}

/// JavaScript's name for a value's type, as WeChat's parameter errors use it.
fn js_type(value: Option<&Value>) -> &'static str {
    match value {
        None => "Undefined",
        Some(Value::Null) => "Null",
        Some(Value::Bool(_)) => "Boolean",
        Some(Value::Number(_)) => "Number",
        Some(Value::String(_)) => "String",
        Some(Value::Array(_)) => "Array",
        Some(Value::Object(_)) => "Object",
    }
}

/// A string parameter, with WeChat's wording when it is not one.
fn string_param<'a>(params: &'a Value, name: &str) -> Result<&'a str, PayError> {
    let value = params.get(name);
    match value {
        Some(Value::String(text)) => Ok(text),
        other => Err(PayError::fail(format!(
            "parameter error: parameter.{name} should be String instead of {};",
            js_type(other)
        ))),
    }
}

/// Pays (or cancels, or fails) the order behind `params` for `user_id` in
/// `appid`, exactly as `wx.requestPayment(params)` would in that app.
pub async fn request_payment(
    state: &AppState,
    appid: &str,
    user_id: &str,
    params: &Value,
    decision: PayDecision,
) -> Result<PaymentOutcome, PayError> {
    if !params.is_object() {
        return Err(PayError::fail(format!(
            "parameter error: parameter should be Object instead of {};",
            js_type(Some(params))
        )));
    }
    let time_stamp = string_param(params, "timeStamp")?;
    let nonce_str = string_param(params, "nonceStr")?;
    let package = string_param(params, "package")?;
    let sign_type = string_param(params, "signType")?;
    let pay_sign = string_param(params, "paySign")?;
    if time_stamp.is_empty()
        || time_stamp.len() > 10
        || !time_stamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(PayError::fail(
            "timeStamp must be the Unix time in seconds, as a string of digits",
        ));
    }
    if nonce_str.is_empty() || nonce_str.len() > 32 {
        return Err(PayError::fail("nonceStr must be 1 to 32 characters"));
    }
    if sign_type != "RSA" {
        return Err(PayError::fail(format!(
            "signType {sign_type} is not supported: WeChat Pay v3 orders are signed with RSA"
        )));
    }
    let Some(prepay_id) = package
        .strip_prefix("prepay_id=")
        .filter(|id| !id.is_empty())
    else {
        return Err(PayError::fail("package must be \"prepay_id=<prepay_id>\""));
    };

    let Some(order) = orders::find_by_prepay_id(state, prepay_id).await? else {
        return Err(PayError::fail("prepay_id is invalid or has been replaced"));
    };
    if order.appid != appid {
        return Err(PayError::fail(
            "this order was placed for another appid (appid和mch_id不匹配)",
        ));
    }
    let Some(merchant) = merchants::merchant_keys(state, &order.mchid).await? else {
        return Err(PayError::Internal(PlatformError::Internal(format!(
            "order {} names missing merchant {}",
            order.out_trade_no, order.mchid
        ))));
    };
    let message = crypto::pay_sign_message(appid, time_stamp, nonce_str, package);
    if !rsa_keys::verify(&merchant.public_key, &message, pay_sign) {
        return Err(PayError::fail(
            "支付验证签名失败: paySign is not the merchant's SHA256withRSA signature of appId\\ntimeStamp\\nnonceStr\\npackage\\n",
        ));
    }
    match identity::get_user(state, user_id).await {
        Ok(_) => {}
        Err(PlatformError::UserNotFound(_)) => {
            return Err(PayError::fail(format!("user {user_id} does not exist")));
        }
        Err(err) => return Err(err.into()),
    }
    if order.payer_openid != identity::openid_of(state, appid, user_id) {
        return Err(PayError::fail(
            "this order's payer is another user (payer.openid does not match)",
        ));
    }
    let now = state.now();
    match order.trade_state {
        TradeState::NotPay => {}
        TradeState::Success | TradeState::Refund => {
            return Err(PayError::fail("该订单已支付: the order is already paid"));
        }
        TradeState::Closed => return Err(PayError::fail("订单已关闭: the order is closed")),
        TradeState::PayError => {
            return Err(PayError::fail(
                "the order's payment failed; the merchant must place a new order",
            ));
        }
    }
    if order.prepay_expires_at <= now {
        return Err(PayError::fail(
            "prepay_id has expired (2 hours); the merchant must order again",
        ));
    }
    if order.time_expire <= now {
        return Err(PayError::fail(
            "订单已过期: the order's time_expire has passed",
        ));
    }

    match decision {
        PayDecision::Cancel => Err(PayError::Cancel),
        PayDecision::Fail => {
            sqlx::query(
                "UPDATE pay_orders SET trade_state = 'PAYERROR', updated_at = $1
                 WHERE mchid = $2 AND out_trade_no = $3 AND trade_state = 'NOTPAY'",
            )
            .bind(now)
            .bind(&order.mchid)
            .bind(&order.out_trade_no)
            .execute(state.db.pool())
            .await?;
            Err(PayError::fail("支付失败: the payment was declined"))
        }
        PayDecision::Confirm => {
            let transaction_id = orders::new_transaction_id(now)?;
            let mut tx = state.db.pool().begin().await?;
            // Only a still-unpaid order with this very prepay_id is paid, so
            // two confirmations racing (two devices, a double tap) pay once.
            let paid = sqlx::query(
                "UPDATE pay_orders SET trade_state = 'SUCCESS', transaction_id = $1,
                        bank_type = $2, success_at = $3, updated_at = $3
                 WHERE mchid = $4 AND out_trade_no = $5 AND prepay_id = $6
                   AND trade_state = 'NOTPAY'",
            )
            .bind(&transaction_id)
            .bind(orders::SANDBOX_BANK_TYPE)
            .bind(now)
            .bind(&order.mchid)
            .bind(&order.out_trade_no)
            .bind(prepay_id)
            .execute(&mut *tx)
            .await?;
            if paid.rows_affected() != 1 {
                return Err(PayError::fail(
                    "该订单已支付: the order is no longer payable",
                ));
            }
            let order = orders::find_order(&mut *tx, &order.mchid, &order.out_trade_no)
                .await?
                .ok_or_else(|| PlatformError::Internal("a paid order vanished".to_owned()))?;
            let notification_id = events::enqueue(
                &mut tx,
                now,
                &order.notify_url,
                Event::TransactionSuccess,
                &merchant.apiv3_key,
                &order.transaction_json(),
            )
            .await?;
            tx.commit().await?;
            Ok(PaymentOutcome {
                err_msg: "requestPayment:ok".to_owned(),
                appid: order.appid,
                mchid: order.mchid,
                out_trade_no: order.out_trade_no,
                transaction_id,
                success_time: rfc3339_beijing(now),
                amount_total: order.amount_total,
                notification_id,
            })
        }
    }
}
