//! Refunds: `POST /v3/refund/domestic/refunds` and
//! `GET /v3/refund/domestic/refunds/{out_refund_no}`.
//!
//! A refund is accepted as PROCESSING and succeeds once the merchant's
//! refund delay has passed on the platform clock. Nothing happens by
//! itself in between: [`settle_due_refunds`] turns due refunds into SUCCESS
//! (queuing REFUND.SUCCESS in the same transaction); it runs before every
//! refund query and every second in `serve`'s dispatcher, so the outcome is
//! the same whichever comes first, and deterministic under a virtual clock.
//!
//! Accepting a refund moves the order to REFUND ("转入退款") at once.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::events::{self, Event};
use super::merchants::MerchantKeys;
use super::orders::{self, Fields, Order};
use super::time::{date_digits, rfc3339_beijing};
use super::{PayApiError, canonical_sha256, random_digits};
use crate::error::PlatformError;
use crate::state::AppState;

/// WeChat takes refunds for a year after payment.
pub const REFUND_WINDOW_MS: i64 = 365 * 24 * 3600 * 1000;
/// And at most 50 refunds per order.
pub const MAX_REFUNDS_PER_ORDER: i64 = 50;
/// Where a refund to a balance payment goes.
const USER_RECEIVED_ACCOUNT: &str = "支付用户零钱";

#[derive(Debug, Clone)]
struct Refund {
    refund_id: String,
    mchid: String,
    out_refund_no: String,
    out_trade_no: String,
    transaction_id: String,
    notify_url: Option<String>,
    amount_refund: i64,
    amount_total: i64,
    currency: String,
    status: String,
    request_sha256: String,
    created_at: i64,
    success_at: Option<i64>,
}

const REFUND_COLUMNS: &str = "refund_id, mchid, out_refund_no, out_trade_no, transaction_id, \
     notify_url, amount_refund, amount_total, currency, status, request_sha256, created_at, \
     success_at";

fn refund_of_row(row: &AnyRow) -> Result<Refund, PlatformError> {
    Ok(Refund {
        refund_id: row.try_get("refund_id")?,
        mchid: row.try_get("mchid")?,
        out_refund_no: row.try_get("out_refund_no")?,
        out_trade_no: row.try_get("out_trade_no")?,
        transaction_id: row.try_get("transaction_id")?,
        notify_url: row.try_get("notify_url")?,
        amount_refund: row.try_get("amount_refund")?,
        amount_total: row.try_get("amount_total")?,
        currency: row.try_get("currency")?,
        status: row.try_get("status")?,
        request_sha256: row.try_get("request_sha256")?,
        created_at: row.try_get("created_at")?,
        success_at: row.try_get("success_at")?,
    })
}

impl Refund {
    /// The refund as the create and query APIs answer it.
    fn response_json(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("refund_id".into(), json!(self.refund_id));
        body.insert("out_refund_no".into(), json!(self.out_refund_no));
        body.insert("transaction_id".into(), json!(self.transaction_id));
        body.insert("out_trade_no".into(), json!(self.out_trade_no));
        body.insert("channel".into(), json!("ORIGINAL"));
        body.insert("user_received_account".into(), json!(USER_RECEIVED_ACCOUNT));
        if let Some(at) = self.success_at {
            body.insert("success_time".into(), json!(rfc3339_beijing(at)));
        }
        body.insert(
            "create_time".into(),
            json!(rfc3339_beijing(self.created_at)),
        );
        body.insert("status".into(), json!(self.status));
        body.insert("funds_account".into(), json!("AVAILABLE"));
        body.insert(
            "amount".into(),
            json!({
                "total": self.amount_total,
                "refund": self.amount_refund,
                "from": [],
                "payer_total": self.amount_total,
                "payer_refund": self.amount_refund,
                "settlement_refund": self.amount_refund,
                "settlement_total": self.amount_total,
                "discount_refund": 0,
                "currency": self.currency,
                "refund_fee": 0,
            }),
        );
        body.insert("promotion_detail".into(), json!([]));
        Value::Object(body)
    }

    /// The decrypted resource of REFUND.SUCCESS.
    fn notification_json(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("mchid".into(), json!(self.mchid));
        body.insert("out_trade_no".into(), json!(self.out_trade_no));
        body.insert("transaction_id".into(), json!(self.transaction_id));
        body.insert("out_refund_no".into(), json!(self.out_refund_no));
        body.insert("refund_id".into(), json!(self.refund_id));
        body.insert("refund_status".into(), json!(self.status));
        if let Some(at) = self.success_at {
            body.insert("success_time".into(), json!(rfc3339_beijing(at)));
        }
        body.insert("user_received_account".into(), json!(USER_RECEIVED_ACCOUNT));
        body.insert(
            "amount".into(),
            json!({
                "total": self.amount_total,
                "refund": self.amount_refund,
                "payer_total": self.amount_total,
                "payer_refund": self.amount_refund,
            }),
        );
        Value::Object(body)
    }
}

async fn find_refund(
    state: &AppState,
    mchid: &str,
    out_refund_no: &str,
) -> Result<Option<Refund>, PlatformError> {
    let row = sqlx::query(&format!(
        "SELECT {REFUND_COLUMNS} FROM pay_refunds WHERE mchid = $1 AND out_refund_no = $2"
    ))
    .bind(mchid)
    .bind(out_refund_no)
    .fetch_optional(state.db.pool())
    .await?;
    row.as_ref().map(refund_of_row).transpose()
}

/// 29 digits like WeChat's refund ids: `50`, the Beijing date, 19 random digits.
fn new_refund_id(now: i64) -> Result<String, PlatformError> {
    Ok(format!("50{}{}", date_digits(now), random_digits(19)?))
}

/// A validated refund request.
struct RefundRequest<'a> {
    transaction_id: Option<&'a str>,
    out_trade_no: Option<&'a str>,
    out_refund_no: &'a str,
    reason: Option<&'a str>,
    notify_url: Option<&'a str>,
    refund: i64,
    total: i64,
    currency: String,
}

fn parse_refund_request(body: &Value) -> Result<RefundRequest<'_>, PayApiError> {
    let f = Fields::of(body)?;
    let transaction_id = f.opt_str("/transaction_id", 32)?;
    let out_trade_no = f.opt_str("/out_trade_no", 32)?;
    if transaction_id.is_none() && out_trade_no.is_none() {
        return Err(PayApiError::param(
            "body",
            "/out_trade_no",
            None,
            "transaction_id or out_trade_no is required",
        ));
    }
    let out_refund_no = f.merchant_no("/out_refund_no", 1, 64, "_-|*@")?;
    let reason = f.opt_str("/reason", 80)?;
    if reason.is_some_and(|r| r.len() > 80) {
        return Err(PayApiError::param(
            "body",
            "/reason",
            body.pointer("/reason"),
            "must be at most 80 bytes",
        ));
    }
    let notify_url = f.notify_url("/notify_url", false)?;
    if let Some(account) = f.opt_str("/funds_account", 32)?
        && account != "AVAILABLE"
    {
        return Err(PayApiError::param(
            "body",
            "/funds_account",
            body.pointer("/funds_account"),
            "only AVAILABLE is supported",
        ));
    }
    f.opt_object("/amount")?;
    let refund = f.positive_int("/amount/refund")?;
    let total = f.positive_int("/amount/total")?;
    f.str("/amount/currency", 16)?;
    let currency = f.currency("/amount/currency")?;
    f.opt_array("/amount/from")?;
    f.opt_array("/goods_detail")?;
    if refund > total {
        return Err(PayApiError::param(
            "body",
            "/amount/refund",
            body.pointer("/amount/refund"),
            "must not exceed amount.total",
        ));
    }
    Ok(RefundRequest {
        transaction_id,
        out_trade_no,
        out_refund_no,
        reason,
        notify_url,
        refund,
        total,
        currency,
    })
}

/// What an existing refund with this out_refund_no answers a new request:
/// itself if the request is the same, INVALID_REQUEST otherwise.
fn repeat_of(existing: &Refund, fingerprint: &str) -> Result<Value, PayApiError> {
    if existing.request_sha256 == fingerprint {
        Ok(existing.response_json())
    } else {
        Err(PayApiError::invalid_request(
            "订单金额或退款金额与之前请求不一致，请核实后再试: this out_refund_no was used with other parameters",
        ))
    }
}

async fn find_refunded_order(
    state: &AppState,
    caller: &MerchantKeys,
    request: &RefundRequest<'_>,
) -> Result<Order, PayApiError> {
    let order = match (request.transaction_id, request.out_trade_no) {
        (Some(transaction_id), out_trade_no) => {
            let order =
                orders::find_by_transaction_id(state, &caller.mchid, transaction_id).await?;
            if let (Some(order), Some(out_trade_no)) = (&order, out_trade_no)
                && order.out_trade_no != out_trade_no
            {
                return Err(PayApiError::invalid_request(
                    "transaction_id and out_trade_no name different orders",
                ));
            }
            order
        }
        (None, Some(out_trade_no)) => {
            orders::find_order(state.db.pool(), &caller.mchid, out_trade_no).await?
        }
        (None, None) => None,
    };
    order
        .ok_or_else(|| PayApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在"))
}

/// `POST /v3/refund/domestic/refunds`. Idempotent on `out_refund_no`: the
/// same request again answers the refund as it now is.
pub(crate) async fn create_refund(
    state: &AppState,
    caller: &MerchantKeys,
    body: &Value,
) -> Result<Value, PayApiError> {
    let request = parse_refund_request(body)?;
    let fingerprint = canonical_sha256(body);
    settle_due_refunds(state).await?;
    if let Some(existing) = find_refund(state, &caller.mchid, request.out_refund_no).await? {
        return repeat_of(&existing, &fingerprint);
    }

    let order = find_refunded_order(state, caller, &request).await?;
    let now = state.now();
    let (Some(transaction_id), Some(success_at)) = (&order.transaction_id, order.success_at) else {
        return Err(PayApiError::invalid_request(
            "订单未支付: only paid orders can be refunded",
        ));
    };
    if !order.trade_state.is_paid() {
        return Err(PayApiError::invalid_request(format!(
            "the order is {}, it cannot be refunded",
            order.trade_state.as_str()
        )));
    }
    if request.total != order.amount_total {
        return Err(PayApiError::invalid_request(format!(
            "amount.total {} is not the order's total {}",
            request.total, order.amount_total
        )));
    }
    if now > success_at + REFUND_WINDOW_MS {
        return Err(PayApiError::invalid_request(
            "订单已超过退款期限: orders can be refunded for 365 days after payment",
        ));
    }

    let refund_id = new_refund_id(now)?;
    let mut tx = state.db.pool().begin().await?;
    // The conditional update is the check: concurrent refunds of one order
    // take turns on its row and never exceed what is left.
    let taken = sqlx::query(
        "UPDATE pay_orders SET refunded_total = refunded_total + $1, refund_count = refund_count + 1,
                trade_state = 'REFUND', updated_at = $2
         WHERE mchid = $3 AND out_trade_no = $4 AND trade_state IN ('SUCCESS', 'REFUND')
           AND refunded_total + $1 <= amount_total AND refund_count < $5",
    )
    .bind(request.refund)
    .bind(now)
    .bind(&order.mchid)
    .bind(&order.out_trade_no)
    .bind(MAX_REFUNDS_PER_ORDER)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() != 1 {
        drop(tx);
        let current = orders::find_order(state.db.pool(), &order.mchid, &order.out_trade_no)
            .await?
            .ok_or_else(|| PlatformError::Internal("a refunded order vanished".to_owned()))?;
        return Err(if current.refund_count >= MAX_REFUNDS_PER_ORDER {
            PayApiError::invalid_request("该订单退款次数已达上限: at most 50 refunds per order")
        } else {
            PayApiError::invalid_request(format!(
                "申请退款金额超过订单可退金额: {} fen requested, {} fen left",
                request.refund,
                current.amount_total - current.refunded_total
            ))
        });
    }
    let inserted = sqlx::query(
        "INSERT INTO pay_refunds
            (refund_id, mchid, out_refund_no, out_trade_no, transaction_id, reason, notify_url,
             funds_account, amount_refund, amount_total, currency, status, request_sha256,
             created_at, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'AVAILABLE', $8, $9, $10, 'PROCESSING', $11, $12, $13)
         ON CONFLICT (mchid, out_refund_no) DO NOTHING",
    )
    .bind(&refund_id)
    .bind(&order.mchid)
    .bind(request.out_refund_no)
    .bind(&order.out_trade_no)
    .bind(transaction_id)
    .bind(request.reason)
    .bind(request.notify_url)
    .bind(request.refund)
    .bind(order.amount_total)
    .bind(&request.currency)
    .bind(&fingerprint)
    .bind(now)
    .bind(now + caller.refund_delay_ms)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        // The same out_refund_no was taken meanwhile: undo our claim on
        // the order and answer as a repeat.
        drop(tx);
        let existing = find_refund(state, &caller.mchid, request.out_refund_no)
            .await?
            .ok_or_else(|| PlatformError::Internal("a refund vanished".to_owned()))?;
        return repeat_of(&existing, &fingerprint);
    }
    tx.commit().await?;
    let refund = find_refund(state, &caller.mchid, request.out_refund_no)
        .await?
        .ok_or_else(|| PlatformError::Internal("a new refund vanished".to_owned()))?;
    Ok(refund.response_json())
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}` (of the calling merchant).
pub(crate) async fn query_refund(
    state: &AppState,
    caller: &MerchantKeys,
    out_refund_no: &str,
) -> Result<Value, PayApiError> {
    settle_due_refunds(state).await?;
    let refund = find_refund(state, &caller.mchid, out_refund_no)
        .await?
        .ok_or_else(|| {
            PayApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在")
        })?;
    Ok(refund.response_json())
}

/// Turns every PROCESSING refund whose delay has passed into SUCCESS (its
/// success time is when it fell due, not when this ran) and queues its
/// REFUND.SUCCESS when it has a `notify_url`, each in one transaction. A
/// refund settled by another instance meanwhile is skipped. Returns how
/// many this call settled.
pub async fn settle_due_refunds(state: &AppState) -> Result<usize, PlatformError> {
    let now = state.now();
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT refund_id FROM pay_refunds WHERE status = 'PROCESSING' AND due_at <= $1
         ORDER BY due_at LIMIT 100",
    )
    .bind(now)
    .fetch_all(state.db.pool())
    .await?;
    let mut settled = 0;
    for refund_id in due {
        let mut tx = state.db.pool().begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE pay_refunds SET status = 'SUCCESS', success_at = due_at
             WHERE refund_id = $1 AND status = 'PROCESSING'
             RETURNING {REFUND_COLUMNS}"
        ))
        .bind(&refund_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            continue;
        };
        let refund = refund_of_row(&row)?;
        if let Some(url) = &refund.notify_url {
            let apiv3_key: String =
                sqlx::query_scalar("SELECT apiv3_key FROM pay_merchants WHERE mchid = $1")
                    .bind(&refund.mchid)
                    .fetch_one(&mut *tx)
                    .await?;
            events::enqueue(
                &mut tx,
                now,
                url,
                Event::RefundSuccess,
                &apiv3_key,
                &refund.notification_json(),
            )
            .await?;
        }
        tx.commit().await?;
        settled += 1;
    }
    Ok(settled)
}

/// The refunds of an order, for the admin listing.
pub(crate) async fn refunds_of_order(
    state: &AppState,
    mchid: &str,
    out_trade_no: &str,
) -> Result<Vec<Value>, PlatformError> {
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLUMNS} FROM pay_refunds WHERE mchid = $1 AND out_trade_no = $2
         ORDER BY created_at, refund_id"
    ))
    .bind(mchid)
    .bind(out_trade_no)
    .fetch_all(state.db.pool())
    .await?;
    rows.iter()
        .map(|row| Ok(refund_of_row(row)?.response_json()))
        .collect()
}
