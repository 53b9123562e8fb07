//! Admin routes of the pay sandbox, merged under `/admin` behind its token:
//!
//! - `POST /admin/wechatpay/merchants` `{mchid?, name?, appids, refund_delay_secs?}`
//!   → 201 with the merchant's keys, certificate and APIv3 key (the private
//!   key only here).
//! - `GET /admin/wechatpay/merchants`, `GET /admin/wechatpay/merchants/{mchid}`.
//! - `GET /admin/wechatpay/merchants/{mchid}/payments`: its orders and refunds.
//! - `POST /admin/wechatpay/pay` `{appid, user, params, decision}`: what
//!   `wx.requestPayment(params)` does for `user` in `appid`, the user
//!   choosing `confirm`, `cancel` or `fail`. Answers 200 with
//!   `errMsg: "requestPayment:ok"` and the transaction, or 409 with
//!   `errMsg: "requestPayment:fail …"` and an error code
//!   (`payment_cancelled`, `payment_failed`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::cashier::{self, PayDecision, PayError};
use super::merchants::{self, NewMerchant};
use super::orders;
use crate::admin::{AdminError, AdminJson, AdminPath};
use crate::state::AppState;

type AdminResult = Result<Response, AdminError>;

async fn create_merchant(
    State(state): State<AppState>,
    AdminJson(new): AdminJson<NewMerchant>,
) -> AdminResult {
    let created = merchants::create_merchant(&state, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list_merchants(State(state): State<AppState>) -> AdminResult {
    let merchants = merchants::list_merchants(&state).await?;
    Ok(Json(json!({ "merchants": merchants })).into_response())
}

async fn get_merchant(
    State(state): State<AppState>,
    AdminPath(mchid): AdminPath<String>,
) -> AdminResult {
    Ok(Json(merchants::get_merchant(&state, &mchid).await?).into_response())
}

async fn list_payments(
    State(state): State<AppState>,
    AdminPath(mchid): AdminPath<String>,
) -> AdminResult {
    let payments = orders::list_payments(&state, &mchid).await?;
    Ok(Json(json!({ "payments": payments })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    appid: String,
    user: String,
    /// What the mini program passes to `wx.requestPayment`.
    params: Value,
    decision: PayDecision,
}

async fn pay(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<PayRequest>,
) -> AdminResult {
    match cashier::request_payment(
        &state,
        &request.appid,
        &request.user,
        &request.params,
        request.decision,
    )
    .await
    {
        Ok(outcome) => Ok(Json(outcome).into_response()),
        Err(PayError::Internal(err)) => Err(err.into()),
        Err(err) => {
            let code = match err {
                PayError::Cancel => "payment_cancelled",
                _ => "payment_failed",
            };
            let body = json!({
                "error": { "code": code, "message": err.to_string() },
                "errMsg": err.err_msg(),
            });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

/// The `/wechatpay/…` admin routes, merged into the admin router.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/wechatpay/merchants",
            post(create_merchant).get(list_merchants),
        )
        .route("/wechatpay/merchants/{mchid}", get(get_merchant))
        .route("/wechatpay/merchants/{mchid}/payments", get(list_payments))
        .route("/wechatpay/pay", post(pay))
}
