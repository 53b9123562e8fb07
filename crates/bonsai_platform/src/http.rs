//! The HTTP surface: WeChat's API at the root (as SDKs expect it at
//! `api.weixin.qq.com`), the admin API under `/admin`, `/healthz` for load
//! balancers, JSON for every miss, and one log line per request.

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::admin::{self, AdminError};
use crate::state::AppState;
use crate::wechat;

// The package registry (object_store blobs, versions, gray release) and the
// pay, Alipay and message APIs join here as further routers with the same
// state.
pub fn build_router(state: AppState) -> Router {
    Router::new()
        .merge(wechat::router())
        .merge(crate::messages::router())
        .merge(crate::alipay::router())
        .merge(crate::wechat_pay::http::router(state.clone()))
        .nest("/admin", admin::router(state.clone()))
        .nest(
            "/registry",
            crate::registry::http::client_router(state.clone()),
        )
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish
/// and closes the database pool.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = build_router(state.clone());
    // Timed work (due refunds, notification delivery) runs beside the
    // server and stops with it.
    let dispatcher = crate::notify::spawn_dispatcher(state.clone());
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    dispatcher.abort();
    served?;
    state.db.close().await;
    Ok(())
}

async fn healthz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(state.db.pool()).await {
        Ok(_) => axum::Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(err) => {
            tracing::error!("health check: database unreachable: {err}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database unreachable" })),
            )
                .into_response()
        }
    }
}

fn is_admin(uri: &Uri) -> bool {
    let path = uri.path();
    path == "/admin" || path.starts_with("/admin/") || path.starts_with("/registry/")
}

async fn not_found(uri: Uri) -> Response {
    if is_admin(&uri) {
        AdminError::not_found(uri.path()).into_response()
    } else {
        wechat::unknown_api(uri.path())
    }
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    if is_admin(&uri) {
        AdminError::method_not_allowed(&method, uri.path()).into_response()
    } else {
        wechat::wrong_method(&method)
    }
}

/// Method, path, status and time of each request. Never the query string:
/// it carries AppSecrets, codes and access tokens.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = %format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    response
}
