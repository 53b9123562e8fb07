//! The Alipay part of the admin API, under `/admin/alipay`: apps and their
//! keys, sandbox buyers, and acting as a buyer's client (`my.getAuthCode`,
//! `my.tradePay`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{NewAlipayApp, PayDecision};
use crate::admin::{AdminError, AdminJson, AdminPath};
use crate::error::PlatformError;
use crate::state::AppState;

type AdminResult = Result<Response, AdminError>;

/// The app a request names by `app_id` (Alipay's) or `appid` (the mini program's).
fn app_name<'a>(
    app_id: &'a Option<String>,
    appid: &'a Option<String>,
) -> Result<&'a str, PlatformError> {
    app_id
        .as_deref()
        .or(appid.as_deref())
        .ok_or_else(|| PlatformError::invalid("app_id", "give `app_id` or `appid`"))
}

async fn create_app(
    State(state): State<AppState>,
    AdminJson(new): AdminJson<NewAlipayApp>,
) -> AdminResult {
    let created = super::create_app(&state, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn get_app(
    State(state): State<AppState>,
    AdminPath(app_id): AdminPath<String>,
) -> AdminResult {
    Ok(Json(super::get_app(&state, &app_id).await?).into_response())
}

async fn list_trades(
    State(state): State<AppState>,
    AdminPath(app_id): AdminPath<String>,
) -> AdminResult {
    Ok(Json(super::list_trades(&state, &app_id).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuyerRequest {
    user: String,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    appid: Option<String>,
}

async fn buyer(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<BuyerRequest>,
) -> AdminResult {
    let app = request.app_id.as_deref().or(request.appid.as_deref());
    Ok(Json(super::buyer(&state, &request.user, app).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthCodeRequest {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    user: String,
    #[serde(default)]
    scopes: Vec<String>,
}

async fn auth_code(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<AuthCodeRequest>,
) -> AdminResult {
    let issued = super::issue_auth_code(
        &state,
        app_name(&request.app_id, &request.appid)?,
        &request.user,
        &request.scopes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    user: String,
    trade_no: String,
    decision: PayDecision,
}

async fn pay(
    State(state): State<AppState>,
    AdminJson(request): AdminJson<PayRequest>,
) -> AdminResult {
    let result = super::trade_pay(
        &state,
        app_name(&request.app_id, &request.appid)?,
        &request.user,
        &request.trade_no,
        request.decision,
    )
    .await?;
    Ok(Json(result).into_response())
}

/// The routes, merged into `/admin` (behind its token check).
pub(crate) fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/alipay/apps", post(create_app))
        .route("/alipay/apps/{app_id}", get(get_app))
        .route("/alipay/apps/{app_id}/trades", get(list_trades))
        .route("/alipay/buyers", post(buyer))
        .route("/alipay/auth-codes", post(auth_code))
        .route("/alipay/pay", post(pay))
}
