//! The registry over HTTP.
//!
//! Admin API (under `/admin`, admin token):
//! - `POST /admin/apps/{appid}/versions?version=1.2.0&description=…&by=…`
//!   with the package zip as the raw body → 201 and the version (state
//!   `develop`) with the loader's warnings; 422 `invalid_package` with
//!   `diagnostics` (`file:line:col` each) when the loader refuses it.
//! - `GET /admin/apps/{appid}/versions` → the versions and what is released.
//! - `GET /admin/apps/{appid}/versions/{version}`
//! - `POST /admin/apps/{appid}/versions/{version}/trial|submit|approve`
//!   `{"by"?}` and `…/reject` `{"reason", "by"?}`.
//! - `POST /admin/apps/{appid}/release` `{"version", "gray_percentage"? (1–100,
//!   default 100), "by"?}`; `POST /admin/apps/{appid}/revertgrayrelease` and
//!   `…/revertcoderelease` `{"by"?}`.
//! - `GET /admin/apps/{appid}/audit-log`
//!
//! Client API (under `/registry`; what the super app's client calls; for
//! now it takes the admin token too):
//! - `GET /registry/apps/{appid}/release?user=…` → `{version, sha256, size,
//!   url}`, 404 `no_release` when nothing is released to that user.
//! - `GET /registry/apps/{appid}/update?user=…&current_version=…` →
//!   `{has_update, version}` (`wx.getUpdateManager`).
//! - `GET /registry/packages/{sha256}` → the zip (`application/zip`), its
//!   SHA-256 verified.
//!
//! Errors are the admin API's `{"error": {"code", "message"}}`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{MAX_PACKAGE_BYTES, NewVersion, RegistryError};
use crate::admin::{AdminError, AdminPath};
use crate::registry;
use crate::state::AppState;

/// A refused registry request: the admin API's JSON error; an invalid
/// package carries its diagnostics, a wrong state names the state.
#[derive(Debug)]
pub(crate) enum HttpError {
    Registry(RegistryError),
    Admin(AdminError),
}

impl From<RegistryError> for HttpError {
    fn from(err: RegistryError) -> Self {
        HttpError::Registry(err)
    }
}

impl From<AdminError> for HttpError {
    fn from(err: AdminError) -> Self {
        HttpError::Admin(err)
    }
}

fn error_body(
    status: StatusCode,
    code: &str,
    message: String,
    extra: Option<(&str, serde_json::Value)>,
) -> Response {
    let mut error = serde_json::Map::new();
    error.insert("code".to_owned(), code.into());
    error.insert("message".to_owned(), message.into());
    if let Some((key, value)) = extra {
        error.insert(key.to_owned(), value);
    }
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        use RegistryError as E;
        let err = match self {
            HttpError::Admin(err) => return err.into_response(),
            HttpError::Registry(E::Platform(err)) => return AdminError::from(err).into_response(),
            HttpError::Registry(err) => err,
        };
        let message = err.to_string();
        let code = err.code();
        let status = match &err {
            E::InvalidPackage { diagnostics } => {
                let diagnostics = serde_json::to_value(diagnostics).unwrap_or_default();
                return error_body(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code,
                    message,
                    Some(("diagnostics", diagnostics)),
                );
            }
            E::WrongState { state, .. } => {
                return error_body(
                    StatusCode::CONFLICT,
                    code,
                    message,
                    Some(("state", state.as_str().into())),
                );
            }
            E::PackageTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::VersionNotFound { .. } | E::NoRelease(_) | E::PackageNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            E::VersionExists { .. }
            | E::AuditInProgress { .. }
            | E::GrayInProgress { .. }
            | E::GrayCannotLower { .. }
            | E::NoGrayRelease(_)
            | E::NothingToRollBack(_) => StatusCode::CONFLICT,
            // Our failures, logged where they happen; named for the operator.
            E::PackageCorrupt { .. } | E::PackageMissing(_) => StatusCode::INTERNAL_SERVER_ERROR,
            E::Platform(_) | E::Store(_) | E::CheckFailed(_) => {
                tracing::error!("registry request failed: {err}");
                return error_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "the platform failed to handle this request; its log has the details"
                        .to_owned(),
                    None,
                );
            }
        };
        error_body(status, code, message, None)
    }
}

type Answer = Result<Response, HttpError>;

fn bad_request(code: &'static str, message: impl Into<String>) -> HttpError {
    HttpError::Admin(AdminError {
        status: StatusCode::BAD_REQUEST,
        code,
        message: message.into(),
    })
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, HttpError> {
    query
        .map(|Query(value)| value)
        .map_err(|rejection| bad_request("invalid_query", rejection.body_text()))
}

/// A JSON body that may be absent (then `T::default()`), with or without a
/// Content-Type, as the one-field action bodies are.
fn optional_json<T: DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, HttpError> {
    let body = body.map_err(|rejection| {
        HttpError::Admin(AdminError {
            status: rejection.status(),
            code: "unreadable_body",
            message: rejection.body_text(),
        })
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(|err| {
        let code = if err.is_data() {
            "invalid_body"
        } else {
            "invalid_json"
        };
        HttpError::Admin(AdminError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: err.to_string(),
        })
    })
}

/// A JSON body that must be there.
fn required_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, HttpError> {
    let body = optional_json::<Option<T>>(body)?;
    body.ok_or_else(|| {
        HttpError::Admin(AdminError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_body",
            message: "this request needs a JSON body".to_owned(),
        })
    })
}

async fn upload(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    new: Result<Query<NewVersion>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let new = query(new)?;
    let zip = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::Admin(AdminError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "package_too_large",
                message: format!("the package is over the limit of {MAX_PACKAGE_BYTES} bytes"),
            })
        } else {
            HttpError::Admin(AdminError {
                status: rejection.status(),
                code: "unreadable_body",
                message: rejection.body_text(),
            })
        }
    })?;
    let uploaded = registry::upload_version(&state, &appid, new, zip).await?;
    Ok((StatusCode::CREATED, Json(uploaded)).into_response())
}

async fn list(State(state): State<AppState>, AdminPath(appid): AdminPath<String>) -> Answer {
    Ok(Json(registry::list_versions(&state, &appid).await?).into_response())
}

async fn show(
    State(state): State<AppState>,
    AdminPath((appid, version)): AdminPath<(String, String)>,
) -> Answer {
    Ok(Json(registry::get_version(&state, &appid, &version).await?).into_response())
}

async fn audit_log(State(state): State<AppState>, AdminPath(appid): AdminPath<String>) -> Answer {
    let entries = registry::audit_log(&state, &appid).await?;
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct By {
    #[serde(default)]
    by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejection {
    reason: String,
    #[serde(default)]
    by: Option<String>,
}

async fn trial(
    State(state): State<AppState>,
    AdminPath((appid, version)): AdminPath<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let By { by } = optional_json(body)?;
    Ok(Json(registry::set_trial(&state, &appid, &version, by.as_deref()).await?).into_response())
}

async fn submit(
    State(state): State<AppState>,
    AdminPath((appid, version)): AdminPath<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let By { by } = optional_json(body)?;
    let submitted = registry::submit_audit(&state, &appid, &version, by.as_deref()).await?;
    Ok(Json(submitted).into_response())
}

async fn approve(
    State(state): State<AppState>,
    AdminPath((appid, version)): AdminPath<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let By { by } = optional_json(body)?;
    Ok(Json(registry::approve(&state, &appid, &version, by.as_deref()).await?).into_response())
}

async fn reject(
    State(state): State<AppState>,
    AdminPath((appid, version)): AdminPath<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Rejection { reason, by } = required_json(body)?;
    let rejected = registry::reject(&state, &appid, &version, &reason, by.as_deref()).await?;
    Ok(Json(rejected).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseRequest {
    version: String,
    #[serde(default = "full")]
    gray_percentage: i64,
    #[serde(default)]
    by: Option<String>,
}

fn full() -> i64 {
    100
}

async fn release(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let request: ReleaseRequest = required_json(body)?;
    let status = registry::release(
        &state,
        &appid,
        &request.version,
        request.gray_percentage,
        request.by.as_deref(),
    )
    .await?;
    Ok(Json(status).into_response())
}

async fn revert_gray(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let By { by } = optional_json(body)?;
    Ok(Json(registry::revert_gray_release(&state, &appid, by.as_deref()).await?).into_response())
}

async fn revert_code(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let By { by } = optional_json(body)?;
    Ok(Json(registry::revert_code_release(&state, &appid, by.as_deref()).await?).into_response())
}

/// The admin routes, merged into `/admin` (which adds the token check).
pub(crate) fn admin_router() -> Router<AppState> {
    Router::new()
        .route(
            "/apps/{appid}/versions",
            post(upload)
                .layer(DefaultBodyLimit::max(MAX_PACKAGE_BYTES))
                .get(list),
        )
        .route("/apps/{appid}/versions/{version}", get(show))
        .route("/apps/{appid}/versions/{version}/trial", post(trial))
        .route("/apps/{appid}/versions/{version}/submit", post(submit))
        .route("/apps/{appid}/versions/{version}/approve", post(approve))
        .route("/apps/{appid}/versions/{version}/reject", post(reject))
        .route("/apps/{appid}/release", post(release))
        .route("/apps/{appid}/revertgrayrelease", post(revert_gray))
        .route("/apps/{appid}/revertcoderelease", post(revert_code))
        .route("/apps/{appid}/audit-log", get(audit_log))
}

#[derive(Debug, Deserialize)]
struct UserQuery {
    user: String,
    #[serde(default)]
    current_version: Option<String>,
}

async fn client_release(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    params: Result<Query<UserQuery>, QueryRejection>,
) -> Answer {
    let params = query(params)?;
    match registry::resolve_release(&state, &appid, &params.user).await? {
        Some(released) => {
            let url = format!("/registry/packages/{}", released.sha256);
            let mut body = serde_json::to_value(&released).unwrap_or_default();
            if let Some(object) = body.as_object_mut() {
                object.insert("url".to_owned(), url.into());
            }
            Ok(Json(body).into_response())
        }
        None => Err(RegistryError::NoRelease(appid).into()),
    }
}

async fn client_update(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    params: Result<Query<UserQuery>, QueryRejection>,
) -> Answer {
    let params = query(params)?;
    let check = registry::check_update(
        &state,
        &appid,
        &params.user,
        params.current_version.as_deref(),
    )
    .await?;
    Ok(Json(check).into_response())
}

async fn client_package(
    State(state): State<AppState>,
    AdminPath(sha256): AdminPath<String>,
) -> Answer {
    let bytes = registry::fetch_package(&state, &sha256).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/zip"))],
        bytes,
    )
        .into_response())
}

/// The client routes, to be nested at `/registry`, behind the admin token
/// for now.
pub(crate) fn client_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/apps/{appid}/release", get(client_release))
        .route("/apps/{appid}/update", get(client_update))
        .route("/packages/{sha256}", get(client_package))
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::admin::require_admin,
        ))
}
