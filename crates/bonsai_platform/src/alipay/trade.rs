//! Trades: `alipay.trade.create`, `.query`, `.close`, `.refund`,
//! `.fastpay.refund.query`, the cashier behind `my.tradePay`, and the
//! `trade_status_sync` notifications.
//!
//! A trade waits for its buyer (WAIT_BUYER_PAY) until paid (TRADE_SUCCESS)
//! or closed (TRADE_CLOSED: by the merchant, by its timeout, or by a full
//! refund). A paid trade past the refund window reads as TRADE_FINISHED.
//! Each change that matters is one conditional UPDATE, so two instances
//! (or a merchant racing a buyer) cannot both win, and its notification is
//! queued in the same transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::gateway::{Call, GatewayError, success};
use super::{AppRow, format_amount, parse_amount, random_digits, sign, time};
use crate::error::PlatformError;
use crate::identity;
use crate::notify;
use crate::secrets;
use crate::state::AppState;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// How long an unpaid trade waits when `timeout_express` is not given.
pub const DEFAULT_TIMEOUT_MS: i64 = 15 * DAY_MS;
/// How long after payment a trade may be refunded; then it is TRADE_FINISHED.
pub const REFUND_WINDOW_MS: i64 = 90 * DAY_MS;
/// Largest total_amount, in cents (100 000 000 yuan).
const MAX_TOTAL_CENTS: i64 = 10_000_000_000;

const WAIT_BUYER_PAY: &str = "WAIT_BUYER_PAY";
const TRADE_SUCCESS: &str = "TRADE_SUCCESS";
const TRADE_CLOSED: &str = "TRADE_CLOSED";
const TRADE_FINISHED: &str = "TRADE_FINISHED";

/// A trade's row.
#[derive(Debug, Clone)]
struct TradeRow {
    trade_no: String,
    out_trade_no: String,
    total_cents: i64,
    subject: String,
    body: Option<String>,
    product_code: String,
    buyer_id: Option<String>,
    buyer_open_id: Option<String>,
    user_id: String,
    status: String,
    notify_url: Option<String>,
    created_at: i64,
    expires_at: i64,
    paid_at: Option<i64>,
    closed_at: Option<i64>,
    refunded_cents: i64,
}

const TRADE_COLUMNS: &str = "trade_no, app_id, out_trade_no, total_cents, subject, body, \
    product_code, buyer_id, buyer_open_id, user_id, status, notify_url, created_at, expires_at, \
    paid_at, closed_at, refunded_cents";

impl TradeRow {
    fn of(row: &AnyRow) -> Result<TradeRow, sqlx::Error> {
        Ok(TradeRow {
            trade_no: row.try_get("trade_no")?,
            out_trade_no: row.try_get("out_trade_no")?,
            total_cents: row.try_get("total_cents")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            product_code: row.try_get("product_code")?,
            buyer_id: row.try_get("buyer_id")?,
            buyer_open_id: row.try_get("buyer_open_id")?,
            user_id: row.try_get("user_id")?,
            status: row.try_get("status")?,
            notify_url: row.try_get("notify_url")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            paid_at: row.try_get("paid_at")?,
            closed_at: row.try_get("closed_at")?,
            refunded_cents: row.try_get("refunded_cents")?,
        })
    }

    /// The status as of `now`: an unpaid trade past its timeout is closed,
    /// a paid one past the refund window finished.
    fn status_at(&self, now: i64) -> &'static str {
        match self.status.as_str() {
            WAIT_BUYER_PAY if now >= self.expires_at => TRADE_CLOSED,
            WAIT_BUYER_PAY => WAIT_BUYER_PAY,
            TRADE_SUCCESS
                if self
                    .paid_at
                    .is_some_and(|paid| now >= paid + REFUND_WINDOW_MS) =>
            {
                TRADE_FINISHED
            }
            TRADE_SUCCESS => TRADE_SUCCESS,
            _ => TRADE_CLOSED,
        }
    }

    fn closed_at(&self, now: i64) -> Option<i64> {
        match self.closed_at {
            Some(at) => Some(at),
            None if self.status_at(now) == TRADE_CLOSED => Some(self.expires_at),
            None => None,
        }
    }
}

async fn find_trade(
    state: &AppState,
    app_id: &str,
    trade_no: Option<&str>,
    out_trade_no: Option<&str>,
) -> Result<Option<TradeRow>, PlatformError> {
    // trade_no wins when both are given, as Alipay documents.
    let row =
        match (trade_no, out_trade_no) {
            (Some(trade_no), _) => {
                sqlx::query(&format!(
                    "SELECT {TRADE_COLUMNS} FROM alipay_trades WHERE trade_no = $1 AND app_id = $2"
                ))
                .bind(trade_no)
                .bind(app_id)
                .fetch_optional(state.db.pool())
                .await?
            }
            (None, Some(out_trade_no)) => sqlx::query(&format!(
                "SELECT {TRADE_COLUMNS} FROM alipay_trades WHERE out_trade_no = $1 AND app_id = $2"
            ))
            .bind(out_trade_no)
            .bind(app_id)
            .fetch_optional(state.db.pool())
            .await?,
            (None, None) => None,
        };
    Ok(row.as_ref().map(TradeRow::of).transpose()?)
}

/// The trade a call names by `trade_no` or `out_trade_no`.
async fn lookup(call: &Call<'_>) -> Result<TradeRow, GatewayError> {
    let trade_no = call.biz_text("trade_no");
    let out_trade_no = call.biz_text("out_trade_no");
    if trade_no.is_none() && out_trade_no.is_none() {
        return Err(GatewayError::invalid_parameter(
            "trade_no 和 out_trade_no 不能同时为空",
        ));
    }
    let found = find_trade(
        call.state,
        &call.app.app_id,
        trade_no.as_deref(),
        out_trade_no.as_deref(),
    )
    .await?;
    found.ok_or_else(|| {
        let mut err = GatewayError::business("ACQ.TRADE_NOT_EXIST", "交易不存在");
        if let Some(out_trade_no) = out_trade_no {
            err = err.with("out_trade_no", out_trade_no);
        }
        if let Some(trade_no) = trade_no {
            err = err.with("trade_no", trade_no);
        }
        err
    })
}

/// `timeout_express`: `Nm`, `Nh` or `Nd` within 1m–15d, or `1c` (until
/// the end of the day, Beijing time). Returns when the trade closes.
fn expiry(timeout: Option<&str>, now: i64) -> Option<i64> {
    let Some(timeout) = timeout else {
        return Some(now + DEFAULT_TIMEOUT_MS);
    };
    if timeout == "1c" {
        return Some(time::end_of_day(now));
    }
    let unit_ms = match timeout.chars().last()? {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => DAY_MS,
        _ => return None,
    };
    let count = &timeout[..timeout.len() - 1];
    if count.is_empty() || count.len() > 6 || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms = count.parse::<i64>().ok()?.checked_mul(unit_ms)?;
    (60_000..=15 * DAY_MS).contains(&ms).then_some(now + ms)
}

fn new_trade_no(now: i64) -> Result<String, PlatformError> {
    Ok(format!("{}{}", time::date_digits(now), random_digits(20)?))
}

/// `alipay.trade.create`: a trade for a named buyer, idempotent per
/// `out_trade_no`.
pub(crate) async fn create(call: &Call<'_>) -> Result<Map<String, Value>, GatewayError> {
    let out_trade_no = call
        .biz_text("out_trade_no")
        .ok_or_else(|| GatewayError::invalid_parameter("out_trade_no 不能为空"))?;
    if out_trade_no.len() > 64
        || !out_trade_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(GatewayError::invalid_parameter(
            "out_trade_no 只能是 64 个以内的字母、数字和下划线",
        ));
    }
    let total_text = call
        .biz_text("total_amount")
        .ok_or_else(|| GatewayError::invalid_parameter("total_amount 不能为空"))?;
    let total_cents = parse_amount(&total_text)
        .filter(|&cents| cents >= 1)
        .ok_or_else(|| GatewayError::invalid_parameter("total_amount"))?;
    if total_cents > MAX_TOTAL_CENTS {
        return Err(GatewayError::business(
            "ACQ.TOTAL_FEE_EXCEED",
            "订单金额超过限额",
        ));
    }
    let subject = call
        .biz_text("subject")
        .ok_or_else(|| GatewayError::invalid_parameter("subject 不能为空"))?;
    if subject.chars().count() > 256 || subject.contains(['/', '=', '&']) {
        return Err(GatewayError::invalid_parameter(
            "subject 不能超过 256 个字符，不可含 /、=、&",
        ));
    }
    let body = call.biz_text("body");
    if body.as_ref().is_some_and(|b| b.chars().count() > 128) {
        return Err(GatewayError::invalid_parameter("body 不能超过 128 个字符"));
    }
    let product_code = call
        .biz_text("product_code")
        .unwrap_or_else(|| "JSAPI_PAY".to_owned());
    if product_code != "JSAPI_PAY" {
        return Err(GatewayError::invalid_parameter(
            "product_code 仅支持 JSAPI_PAY",
        ));
    }
    let expires_at = expiry(call.biz_text("timeout_express").as_deref(), call.now)
        .ok_or_else(|| GatewayError::invalid_parameter("timeout_express"))?;
    let notify_url = call.param("notify_url").map(str::to_owned);
    if let Some(url) = &notify_url {
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok || url.len() > 1024 {
            return Err(GatewayError::invalid(
                "isv.invalid-notify-url",
                "notify_url 无效",
            ));
        }
    }
    let buyer_id = call.biz_text("buyer_id");
    let buyer_open_id = call.biz_text("buyer_open_id");
    let user = match (&buyer_id, &buyer_open_id) {
        (Some(buyer_id), _) => super::user_of_buyer_id(call.state, buyer_id).await?,
        (None, Some(open_id)) => {
            super::user_of_open_id(call.state, &call.app.app_id, open_id).await?
        }
        (None, None) => return Err(GatewayError::invalid_parameter("买家不能为空")),
    };
    let Some(user) = user else {
        return Err(GatewayError::invalid_parameter("买家不存在"));
    };
    // Whoever the merchant named, the buyer keeps the open_id of this app.
    super::register_buyer(call.state, &user, Some(&call.app.app_id)).await?;
    // A buyer_id wins over an open_id, as trade_no over out_trade_no.
    let buyer_open_id = if buyer_id.is_some() {
        None
    } else {
        buyer_open_id
    };

    let trade_no = new_trade_no(call.now)?;
    let inserted = sqlx::query(
        "INSERT INTO alipay_trades (trade_no, app_id, out_trade_no, total_cents, subject, body,
            product_code, buyer_id, buyer_open_id, user_id, status, notify_url, created_at,
            expires_at, refunded_cents)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0)
         ON CONFLICT (app_id, out_trade_no) DO NOTHING",
    )
    .bind(&trade_no)
    .bind(&call.app.app_id)
    .bind(&out_trade_no)
    .bind(total_cents)
    .bind(&subject)
    .bind(&body)
    .bind(&product_code)
    .bind(&buyer_id)
    .bind(&buyer_open_id)
    .bind(&user)
    .bind(WAIT_BUYER_PAY)
    .bind(&notify_url)
    .bind(call.now)
    .bind(expires_at)
    .execute(call.state.db.pool())
    .await?;

    let trade_no = if inserted.rows_affected() == 1 {
        trade_no
    } else {
        // The same out_trade_no again: the same trade if nothing changed.
        let Some(existing) =
            find_trade(call.state, &call.app.app_id, None, Some(&out_trade_no)).await?
        else {
            return Err(PlatformError::invalid("trade", "vanished while being created").into());
        };
        match existing.status_at(call.now) {
            TRADE_SUCCESS | TRADE_FINISHED => {
                return Err(GatewayError::business(
                    "ACQ.TRADE_HAS_SUCCESS",
                    "交易已被支付",
                ));
            }
            TRADE_CLOSED => {
                return Err(GatewayError::business(
                    "ACQ.TRADE_HAS_CLOSE",
                    "交易已经关闭",
                ));
            }
            _ => {}
        }
        let same = existing.total_cents == total_cents
            && existing.subject == subject
            && existing.user_id == user;
        if !same {
            return Err(GatewayError::business(
                "ACQ.CONTEXT_INCONSISTENT",
                "交易信息被篡改",
            ));
        }
        existing.trade_no
    };
    let mut inner = success();
    inner.insert("out_trade_no".to_owned(), out_trade_no.into());
    inner.insert("trade_no".to_owned(), trade_no.into());
    Ok(inner)
}

/// How Alipay shows a buyer's account to merchants: masked.
async fn buyer_logon_id(state: &AppState, user: &str) -> Result<String, PlatformError> {
    let profile = identity::get_user(state, user).await?;
    Ok(match profile.phone {
        Some(phone) if phone.number.len() >= 7 => {
            let number = &phone.number;
            format!("{}****{}", &number[..3], &number[number.len() - 4..])
        }
        _ => {
            let head: String = user.chars().take(3).collect();
            format!("{head}***@sandbox.bonsai")
        }
    })
}

/// The buyer fields of an answer: `buyer_user_id`, or `buyer_open_id` when
/// the merchant named the buyer by open_id.
fn insert_buyer(inner: &mut Map<String, Value>, state: &AppState, trade: &TradeRow) {
    match &trade.buyer_open_id {
        Some(open_id) => {
            inner.insert("buyer_open_id".to_owned(), open_id.clone().into());
        }
        None => {
            inner.insert(
                "buyer_user_id".to_owned(),
                super::alipay_user_id(state, &trade.user_id).into(),
            );
        }
    }
}

/// `alipay.trade.query`.
pub(crate) async fn query(call: &Call<'_>) -> Result<Map<String, Value>, GatewayError> {
    let trade = lookup(call).await?;
    let status = trade.status_at(call.now);
    let paid = trade.paid_at.is_some();
    let paid_amount = format_amount(if paid { trade.total_cents } else { 0 });
    let mut inner = success();
    inner.insert(
        "buyer_logon_id".to_owned(),
        buyer_logon_id(call.state, &trade.user_id).await?.into(),
    );
    inner.insert("buyer_pay_amount".to_owned(), paid_amount.clone().into());
    insert_buyer(&mut inner, call.state, &trade);
    inner.insert("invoice_amount".to_owned(), paid_amount.clone().into());
    inner.insert("out_trade_no".to_owned(), trade.out_trade_no.clone().into());
    inner.insert("point_amount".to_owned(), "0.00".into());
    inner.insert("receipt_amount".to_owned(), paid_amount.into());
    if let Some(paid_at) = trade.paid_at {
        inner.insert("send_pay_date".to_owned(), time::format(paid_at).into());
    }
    inner.insert(
        "total_amount".to_owned(),
        format_amount(trade.total_cents).into(),
    );
    inner.insert("trade_no".to_owned(), trade.trade_no.clone().into());
    inner.insert("trade_status".to_owned(), status.into());
    Ok(inner)
}

/// `alipay.trade.close`: only an unpaid trade closes; closing a closed one
/// changes nothing.
pub(crate) async fn close(call: &Call<'_>) -> Result<Map<String, Value>, GatewayError> {
    let trade = lookup(call).await?;
    let answer = |trade: &TradeRow| {
        let mut inner = success();
        inner.insert("out_trade_no".to_owned(), trade.out_trade_no.clone().into());
        inner.insert("trade_no".to_owned(), trade.trade_no.clone().into());
        inner
    };
    match trade.status_at(call.now) {
        TRADE_CLOSED => return Ok(answer(&trade)),
        WAIT_BUYER_PAY => {}
        _ => {
            return Err(GatewayError::business(
                "ACQ.TRADE_STATUS_ERROR",
                "交易状态不合法",
            ));
        }
    }
    let closed = sqlx::query(
        "UPDATE alipay_trades SET status = $1, closed_at = $2
         WHERE trade_no = $3 AND status = $4",
    )
    .bind(TRADE_CLOSED)
    .bind(call.now)
    .bind(&trade.trade_no)
    .bind(WAIT_BUYER_PAY)
    .execute(call.state.db.pool())
    .await?;
    if closed.rows_affected() == 0 {
        // Paid in the meantime.
        return Err(GatewayError::business(
            "ACQ.TRADE_STATUS_ERROR",
            "交易状态不合法",
        ));
    }
    Ok(answer(&trade))
}

/// What a refund answers, for a new refund and its replays alike.
async fn refund_answer(
    call: &Call<'_>,
    trade: &TradeRow,
    refunded_cents: i64,
    amount_cents: i64,
    fund_change: bool,
    at: i64,
) -> Result<Map<String, Value>, GatewayError> {
    let mut inner = success();
    inner.insert(
        "buyer_logon_id".to_owned(),
        buyer_logon_id(call.state, &trade.user_id).await?.into(),
    );
    insert_buyer(&mut inner, call.state, trade);
    inner.insert(
        "fund_change".to_owned(),
        if fund_change { "Y" } else { "N" }.into(),
    );
    inner.insert("gmt_refund_pay".to_owned(), time::format(at).into());
    inner.insert("out_trade_no".to_owned(), trade.out_trade_no.clone().into());
    inner.insert(
        "refund_fee".to_owned(),
        format_amount(refunded_cents).into(),
    );
    inner.insert(
        "send_back_fee".to_owned(),
        format_amount(amount_cents).into(),
    );
    inner.insert("trade_no".to_owned(), trade.trade_no.clone().into());
    Ok(inner)
}

/// A refund's row, if the request was made before.
async fn find_refund(
    state: &AppState,
    trade_no: &str,
    out_request_no: &str,
) -> Result<Option<(i64, i64)>, PlatformError> {
    let row = sqlx::query(
        "SELECT amount_cents, created_at FROM alipay_refunds
         WHERE trade_no = $1 AND out_request_no = $2",
    )
    .bind(trade_no)
    .bind(out_request_no)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(match row {
        Some(row) => Some((row.try_get("amount_cents")?, row.try_get("created_at")?)),
        None => None,
    })
}

/// `alipay.trade.refund`: refunds part or all of a paid trade, idempotent
/// per `out_request_no` (the trade_no when absent). A full refund closes
/// the trade.
pub(crate) async fn refund(call: &Call<'_>) -> Result<Map<String, Value>, GatewayError> {
    let trade = lookup(call).await?;
    let amount_text = call
        .biz_text("refund_amount")
        .ok_or_else(|| GatewayError::invalid_parameter("refund_amount 不能为空"))?;
    let amount_cents = parse_amount(&amount_text)
        .filter(|&cents| cents >= 1)
        .ok_or_else(|| GatewayError::business("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效"))?;
    let out_request_no = call
        .biz_text("out_request_no")
        .unwrap_or_else(|| trade.trade_no.clone());
    if out_request_no.len() > 64 {
        return Err(GatewayError::invalid_parameter(
            "out_request_no 不能超过 64 个字符",
        ));
    }
    let reason = call.biz_text("refund_reason");
    if reason.as_ref().is_some_and(|r| r.chars().count() > 256) {
        return Err(GatewayError::invalid_parameter(
            "refund_reason 不能超过 256 个字符",
        ));
    }

    // A repeated out_request_no must ask for the same amount.
    let discordant = || GatewayError::business("ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求");
    if let Some((amount, at)) = find_refund(call.state, &trade.trade_no, &out_request_no).await? {
        if amount != amount_cents {
            return Err(discordant());
        }
        return refund_answer(call, &trade, trade.refunded_cents, amount, false, at).await;
    }
    match trade.status_at(call.now) {
        TRADE_SUCCESS => {}
        TRADE_FINISHED => {
            return Err(GatewayError::business(
                "ACQ.TRADE_HAS_FINISHED",
                "交易已完结",
            ));
        }
        TRADE_CLOSED if trade.paid_at.is_some() => {
            return Err(GatewayError::business(
                "ACQ.TRADE_HAS_CLOSE",
                "交易已经关闭",
            ));
        }
        _ => {
            return Err(GatewayError::business(
                "ACQ.TRADE_STATUS_ERROR",
                "交易状态不合法",
            ));
        }
    }
    if trade.refunded_cents + amount_cents > trade.total_cents {
        return Err(GatewayError::business(
            "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
            "退款金额超限",
        ));
    }

    // The refund's row first: a write, so SQLite takes its write lock at
    // once, and the key that makes replays idempotent.
    let key = super::platform_key(call.state).await?;
    let mut tx = call.state.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO alipay_refunds (trade_no, out_request_no, amount_cents, reason, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (trade_no, out_request_no) DO NOTHING",
    )
    .bind(&trade.trade_no)
    .bind(&out_request_no)
    .bind(amount_cents)
    .bind(&reason)
    .bind(call.now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        // A replay that raced this one.
        let Some((amount, at)) = find_refund(call.state, &trade.trade_no, &out_request_no).await?
        else {
            return Err(PlatformError::invalid("refund", "vanished while being made").into());
        };
        let current = find_trade(call.state, &call.app.app_id, Some(&trade.trade_no), None)
            .await?
            .unwrap_or(trade);
        if amount != amount_cents {
            return Err(discordant());
        }
        return refund_answer(call, &current, current.refunded_cents, amount, false, at).await;
    }
    let updated = sqlx::query(&format!(
        "UPDATE alipay_trades SET
            refunded_cents = refunded_cents + $1,
            status = CASE WHEN refunded_cents + $1 = total_cents THEN '{TRADE_CLOSED}' ELSE status END,
            closed_at = CASE WHEN refunded_cents + $1 = total_cents THEN $2 ELSE closed_at END
         WHERE trade_no = $3 AND status = '{TRADE_SUCCESS}' AND paid_at > $4
            AND refunded_cents + $1 <= total_cents
         RETURNING {TRADE_COLUMNS}"
    ))
    .bind(amount_cents)
    .bind(call.now)
    .bind(&trade.trade_no)
    .bind(call.now - REFUND_WINDOW_MS)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(updated) = updated else {
        // Another refund or a close got there first.
        tx.rollback().await?;
        return Err(GatewayError::business(
            "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
            "退款金额超限",
        ));
    };
    let updated = TradeRow::of(&updated)?;
    if let Some(url) = &updated.notify_url {
        let body = trade_notification(
            call.state,
            &key,
            &call.app,
            &updated,
            call.now,
            Some(RefundNote {
                out_biz_no: &out_request_no,
                at: call.now,
            }),
        )?;
        notify::enqueue(&mut tx, call.now, alipay_delivery(url, body)).await?;
    }
    tx.commit().await?;
    refund_answer(
        call,
        &updated,
        updated.refunded_cents,
        amount_cents,
        true,
        call.now,
    )
    .await
}

/// `alipay.trade.fastpay.refund.query`: a refund by its `out_request_no`.
/// Alipay answers an unknown refund with bare success.
pub(crate) async fn refund_query(call: &Call<'_>) -> Result<Map<String, Value>, GatewayError> {
    let trade = lookup(call).await?;
    let out_request_no = call
        .biz_text("out_request_no")
        .ok_or_else(|| GatewayError::invalid_parameter("out_request_no 不能为空"))?;
    let mut inner = success();
    if let Some((amount, at)) = find_refund(call.state, &trade.trade_no, &out_request_no).await? {
        inner.insert("gmt_refund_pay".to_owned(), time::format(at).into());
        inner.insert("out_request_no".to_owned(), out_request_no.into());
        inner.insert("out_trade_no".to_owned(), trade.out_trade_no.clone().into());
        inner.insert("refund_amount".to_owned(), format_amount(amount).into());
        inner.insert("refund_status".to_owned(), "REFUND_SUCCESS".into());
        inner.insert(
            "total_amount".to_owned(),
            format_amount(trade.total_cents).into(),
        );
        inner.insert("trade_no".to_owned(), trade.trade_no.into());
    }
    Ok(inner)
}

struct RefundNote<'a> {
    out_biz_no: &'a str,
    at: i64,
}

fn alipay_delivery(url: &str, body: String) -> notify::Delivery {
    notify::Delivery {
        channel: notify::Channel::Alipay,
        url: url.to_owned(),
        content_type: "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        body,
    }
}

/// A `trade_status_sync` notification's form body, signed with `key`
/// (read before the caller's transaction: inside it, a query on the pool
/// could wait for the very connection the transaction holds).
fn trade_notification(
    state: &AppState,
    key: &super::PlatformKey,
    app: &AppRow,
    trade: &TradeRow,
    now: i64,
    refund: Option<RefundNote<'_>>,
) -> Result<String, PlatformError> {
    let total = format_amount(trade.total_cents);
    let paid = if trade.paid_at.is_some() {
        total.clone()
    } else {
        "0.00".to_owned()
    };
    let mut params: BTreeMap<&str, String> = BTreeMap::new();
    params.insert("notify_type", "trade_status_sync".to_owned());
    params.insert("notify_id", secrets::random_hex(17)?);
    params.insert("notify_time", time::format(now));
    params.insert("app_id", app.app_id.clone());
    params.insert("auth_app_id", app.app_id.clone());
    params.insert("charset", "utf-8".to_owned());
    params.insert("version", "1.0".to_owned());
    params.insert("sign_type", "RSA2".to_owned());
    params.insert("trade_no", trade.trade_no.clone());
    params.insert("out_trade_no", trade.out_trade_no.clone());
    params.insert("trade_status", trade.status_at(now).to_owned());
    params.insert("total_amount", total.clone());
    params.insert("receipt_amount", paid.clone());
    params.insert("invoice_amount", paid.clone());
    params.insert("buyer_pay_amount", paid.clone());
    params.insert("point_amount", "0.00".to_owned());
    params.insert("subject", trade.subject.clone());
    params.insert("body", trade.body.clone().unwrap_or_default());
    params.insert("buyer_id", super::alipay_user_id(state, &trade.user_id));
    params.insert(
        "buyer_open_id",
        trade.buyer_open_id.clone().unwrap_or_default(),
    );
    params.insert("seller_id", app.seller_id.clone());
    params.insert("gmt_create", time::format(trade.created_at));
    if let Some(paid_at) = trade.paid_at {
        params.insert("gmt_payment", time::format(paid_at));
        params.insert(
            "fund_bill_list",
            serde_json::json!([{ "amount": total, "fundChannel": "ALIPAYACCOUNT" }]).to_string(),
        );
    }
    if let Some(closed_at) = trade.closed_at(now) {
        params.insert("gmt_close", time::format(closed_at));
    }
    if let Some(refund) = refund {
        params.insert("out_biz_no", refund.out_biz_no.to_owned());
        params.insert("refund_fee", format_amount(trade.refunded_cents));
        params.insert("gmt_refund", time::format_with_millis(refund.at));
    }
    Ok(sign::notify_form(&key.private, &params))
}

/// The buyer's answer in the cashier `my.tradePay` opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayDecision {
    /// Pays: 9000, the trade succeeds and the merchant is notified.
    Pay,
    /// Backs out: 6001, nothing changes.
    Cancel,
    /// The payment fails: 4000, nothing changes.
    Fail,
    /// The payment goes through but the client cannot tell: 8000, the
    /// trade succeeds and the merchant is notified (the app must ask its
    /// server, as Alipay tells apps to).
    Processing,
}

/// What `my.tradePay` answers the mini program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TradePayResult {
    /// 9000 paid, 8000 processing, 4000 failed, 6001 cancelled.
    #[serde(rename = "resultCode")]
    pub result_code: String,
    pub memo: String,
    /// The trade's status afterwards (absent when there is no such trade).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_status: Option<String>,
}

impl TradePayResult {
    fn new(code: &str, memo: &str, trade_status: Option<&str>) -> Self {
        TradePayResult {
            result_code: code.to_owned(),
            memo: memo.to_owned(),
            trade_status: trade_status.map(str::to_owned),
        }
    }
}

/// `my.tradePay({tradeNO})` for `user` in `app` (an Alipay app_id or the
/// mini program's appid): the cashier, answered by `decision`. Paying
/// marks the trade TRADE_SUCCESS and queues the `trade_status_sync`
/// notification in the same transaction. A trade that is not the user's,
/// not waiting for payment, or unknown answers 4000 whatever the decision.
pub async fn trade_pay(
    state: &AppState,
    app: &str,
    user: &str,
    trade_no: &str,
    decision: PayDecision,
) -> Result<TradePayResult, PlatformError> {
    let app = super::resolve_app(state, app).await?;
    identity::get_user(state, user).await?;
    let now = state.now();
    let Some(trade) = find_trade(state, &app.app_id, Some(trade_no), None).await? else {
        return Ok(TradePayResult::new("4000", "交易不存在", None));
    };
    if trade.user_id != user {
        return Ok(TradePayResult::new(
            "4000",
            "交易买家不匹配",
            Some(trade.status_at(now)),
        ));
    }
    match trade.status_at(now) {
        WAIT_BUYER_PAY => {}
        TRADE_CLOSED => {
            return Ok(TradePayResult::new(
                "4000",
                "交易已关闭",
                Some(TRADE_CLOSED),
            ));
        }
        status => return Ok(TradePayResult::new("4000", "交易已支付", Some(status))),
    }
    let (code, memo) = match decision {
        PayDecision::Cancel => {
            return Ok(TradePayResult::new(
                "6001",
                "用户中途取消",
                Some(WAIT_BUYER_PAY),
            ));
        }
        PayDecision::Fail => {
            return Ok(TradePayResult::new(
                "4000",
                "订单支付失败",
                Some(WAIT_BUYER_PAY),
            ));
        }
        PayDecision::Pay => ("9000", "支付成功"),
        PayDecision::Processing => ("8000", "正在处理中，支付结果未知（有可能已经支付成功）"),
    };

    let key = super::platform_key(state).await?;
    let mut tx = state.db.pool().begin().await?;
    let paid = sqlx::query(&format!(
        "UPDATE alipay_trades SET status = $1, paid_at = $2
         WHERE trade_no = $3 AND status = $4 AND expires_at > $2
         RETURNING {TRADE_COLUMNS}"
    ))
    .bind(TRADE_SUCCESS)
    .bind(now)
    .bind(&trade.trade_no)
    .bind(WAIT_BUYER_PAY)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(paid) = paid else {
        // Closed or paid in the meantime.
        tx.rollback().await?;
        return Ok(TradePayResult::new("4000", "订单支付失败", None));
    };
    let paid = TradeRow::of(&paid)?;
    if let Some(url) = &paid.notify_url {
        let body = trade_notification(state, &key, &app, &paid, now, None)?;
        notify::enqueue(&mut tx, now, alipay_delivery(url, body)).await?;
    }
    tx.commit().await?;
    tracing::info!(trade_no = %paid.trade_no, "Alipay trade paid");
    Ok(TradePayResult::new(code, memo, Some(TRADE_SUCCESS)))
}

/// A refund, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRecord {
    pub out_request_no: String,
    pub refund_amount: String,
    pub reason: Option<String>,
    pub created_at: i64,
}

/// A trade, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trade {
    pub trade_no: String,
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    pub body: Option<String>,
    pub product_code: String,
    pub trade_status: String,
    pub buyer_id: String,
    pub buyer_open_id: Option<String>,
    pub user: String,
    pub notify_url: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub refunded_amount: String,
    pub refunds: Vec<RefundRecord>,
}

/// An app's trades (by app_id or linked appid), newest first, with their refunds.
pub async fn list_trades(state: &AppState, app: &str) -> Result<Vec<Trade>, PlatformError> {
    let app = super::resolve_app(state, app).await?;
    let now = state.now();
    let rows = sqlx::query(&format!(
        "SELECT {TRADE_COLUMNS} FROM alipay_trades WHERE app_id = $1
         ORDER BY created_at DESC, trade_no DESC LIMIT 1000"
    ))
    .bind(&app.app_id)
    .fetch_all(state.db.pool())
    .await?;
    let mut trades = Vec::with_capacity(rows.len());
    for row in &rows {
        let trade = TradeRow::of(row)?;
        let refunds = sqlx::query(
            "SELECT out_request_no, amount_cents, reason, created_at FROM alipay_refunds
             WHERE trade_no = $1 ORDER BY created_at, out_request_no",
        )
        .bind(&trade.trade_no)
        .fetch_all(state.db.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(RefundRecord {
                out_request_no: row.try_get("out_request_no")?,
                refund_amount: format_amount(row.try_get("amount_cents")?),
                reason: row.try_get("reason")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        trades.push(Trade {
            trade_status: trade.status_at(now).to_owned(),
            closed_at: trade.closed_at(now),
            buyer_id: trade
                .buyer_id
                .clone()
                .unwrap_or_else(|| super::alipay_user_id(state, &trade.user_id)),
            trade_no: trade.trade_no,
            out_trade_no: trade.out_trade_no,
            total_amount: format_amount(trade.total_cents),
            subject: trade.subject,
            body: trade.body,
            product_code: trade.product_code,
            buyer_open_id: trade.buyer_open_id,
            user: trade.user_id,
            notify_url: trade.notify_url,
            created_at: trade.created_at,
            expires_at: trade.expires_at,
            paid_at: trade.paid_at,
            refunded_amount: format_amount(trade.refunded_cents),
            refunds,
        });
    }
    Ok(trades)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        let now = 1_700_000_000_000;
        assert_eq!(expiry(None, now), Some(now + 15 * DAY_MS));
        assert_eq!(expiry(Some("90m"), now), Some(now + 90 * 60_000));
        assert_eq!(expiry(Some("2h"), now), Some(now + 2 * 3_600_000));
        assert_eq!(expiry(Some("15d"), now), Some(now + 15 * DAY_MS));
        assert_eq!(expiry(Some("1c"), now), Some(time::end_of_day(now)));
        for bad in ["16d", "0m", "1.5h", "h", "30s", "", "1x"] {
            assert_eq!(expiry(Some(bad), now), None, "{bad}");
        }
    }
}
