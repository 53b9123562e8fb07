//! The admin API under `/admin`: JSON in, JSON out, for the operator of the
//! platform (and tests) to create apps and users and to act as a user's
//! client (issue `wx.login` and phone-number codes). Every request needs
//! `Authorization: Bearer <admin token>`.
//!
//! Errors are `{"error": {"code": "<stable code>", "message": "…"}}` with a
//! 4xx status for anything the request got wrong (axum's own rejections
//! included) and 500 only for our failures.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::PlatformError;
use crate::identity::{self, NewApp, NewUser, UserUpdate};
use crate::secrets;
use crate::state::AppState;

/// A refused admin request.
#[derive(Debug)]
pub struct AdminError {
    pub status: StatusCode,
    /// Stable, for programs: `unauthorized`, `invalid_json`, `app_not_found`…
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(path: &str) -> Self {
        AdminError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no admin API at {path}"),
        )
    }

    pub(crate) fn method_not_allowed(method: &axum::http::Method, path: &str) -> Self {
        AdminError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} does not take {method}"),
        )
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<PlatformError> for AdminError {
    fn from(err: PlatformError) -> Self {
        use PlatformError as E;
        let message = err.to_string();
        let (status, code) = match &err {
            E::AppNotFound(_) => (StatusCode::NOT_FOUND, "app_not_found"),
            E::UserNotFound(_) => (StatusCode::NOT_FOUND, "user_not_found"),
            E::AppExists(_) => (StatusCode::CONFLICT, "app_exists"),
            E::UserExists(_) => (StatusCode::CONFLICT, "user_exists"),
            E::NoPhoneNumber(_) => (StatusCode::CONFLICT, "no_phone_number"),
            E::NoSession { .. } => (StatusCode::CONFLICT, "no_session"),
            E::InvalidInput { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            E::TemplateExists(_) => (StatusCode::CONFLICT, "template_exists"),
            E::SubscribeFailed { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "subscribe_failed"),
            E::AlipayAppNotFound(_) => (StatusCode::NOT_FOUND, "alipay_app_not_found"),
            E::AlipayAppExists(_) => (StatusCode::CONFLICT, "alipay_app_exists"),
            E::MerchantNotFound(_) => (StatusCode::NOT_FOUND, "merchant_not_found"),
            E::MerchantExists(_) => (StatusCode::CONFLICT, "merchant_exists"),
            E::Database(_)
            | E::Migrate(_)
            | E::Config(_)
            | E::Random(_)
            | E::Crypto(_)
            | E::Internal(_)
            | E::Batch(_)
            | E::OpenData(_) => {
                tracing::error!("admin request failed: {err}");
                return AdminError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the platform failed to handle this request; its log has the details",
                );
            }
        };
        AdminError::new(status, code, message)
    }
}

impl From<JsonRejection> for AdminError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::JsonSyntaxError(_) => "invalid_json",
            JsonRejection::JsonDataError(_) => "invalid_body",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ => "unreadable_body",
        };
        AdminError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<PathRejection> for AdminError {
    fn from(rejection: PathRejection) -> Self {
        AdminError::new(rejection.status(), "invalid_path", rejection.body_text())
    }
}

/// `Json` whose rejections are [`AdminError`]s.
#[derive(Debug)]
pub struct AdminJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AdminJson<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(AdminJson(value))
    }
}

/// `Path` whose rejections are [`AdminError`]s.
#[derive(Debug)]
pub struct AdminPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for AdminPath<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(AdminPath(value))
    }
}

/// Lets a request through only with the admin token. An empty configured
/// token lets nothing through rather than matching an empty header.
pub(crate) async fn require_admin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let expected = state.config.admin_token.as_bytes();
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(token)
            if !expected.is_empty() && secrets::constant_time_eq(token.as_bytes(), expected) =>
        {
            next.run(req).await
        }
        _ => AdminError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the admin token as `Authorization: Bearer <token>`",
        )
        .into_response(),
    }
}

type AdminResult = Result<Response, AdminError>;

async fn create_app(
    State(state): State<AppState>,
    AdminJson(new): AdminJson<NewApp>,
) -> AdminResult {
    let created = identity::create_app(&state, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn get_app(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
) -> AdminResult {
    Ok(Json(identity::get_app(&state, &appid).await?).into_response())
}

async fn create_user(
    State(state): State<AppState>,
    AdminJson(new): AdminJson<NewUser>,
) -> AdminResult {
    let user = identity::create_user(&state, new).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

async fn get_user(State(state): State<AppState>, AdminPath(id): AdminPath<String>) -> AdminResult {
    Ok(Json(identity::get_user(&state, &id).await?).into_response())
}

async fn update_user(
    State(state): State<AppState>,
    AdminPath(id): AdminPath<String>,
    AdminJson(update): AdminJson<UserUpdate>,
) -> AdminResult {
    Ok(Json(identity::update_user(&state, &id, update).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    user: String,
}

async fn issue_login_code(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    AdminJson(request): AdminJson<CodeRequest>,
) -> AdminResult {
    let issued = identity::issue_login_code(&state, &appid, &request.user).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

async fn issue_phone_code(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    AdminJson(request): AdminJson<CodeRequest>,
) -> AdminResult {
    let issued = identity::issue_phone_code(&state, &appid, &request.user).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

/// The `/admin` routes, to be nested at `/admin`.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/apps", post(create_app))
        .route("/apps/{appid}", get(get_app))
        .route("/apps/{appid}/login-codes", post(issue_login_code))
        .route("/apps/{appid}/phone-codes", post(issue_phone_code))
        .route("/users", post(create_user))
        .route("/users/{id}", get(get_user).patch(update_user))
        .merge(crate::messages::admin_router())
        .merge(crate::alipay::admin_router())
        .merge(crate::wechat_pay::admin::router())
        .merge(crate::notify::admin_router())
        .merge(crate::registry::http::admin_router())
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}
