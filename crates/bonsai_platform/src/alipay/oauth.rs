//! `my.getAuthCode` and `alipay.system.oauth.token`: a single-use auth
//! code for the mini program, which its server exchanges for the buyer's
//! `user_id` / `open_id` and an access token (refreshable).

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;

use super::gateway::{Call, GatewayError};
use super::time;
use crate::error::PlatformError;
use crate::identity;
use crate::secrets;
use crate::state::AppState;

/// How long an auth code lives (Alipay: at most 24 hours).
pub const AUTH_CODE_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// An access token's life: 15 days; its refresh token's: 30 days.
pub const ACCESS_TOKEN_TTL_MS: i64 = 15 * 24 * 60 * 60 * 1000;
pub const REFRESH_TOKEN_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Spent and expired codes and tokens are kept this long past their end.
const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

const SCOPES: &[&str] = &["auth_base", "auth_user"];

/// What `my.getAuthCode` answers, plus who it is for.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedAuthCode {
    #[serde(rename = "authCode")]
    pub auth_code: String,
    /// Seconds.
    pub expires_in: i64,
    pub app_id: String,
    pub user_id: String,
    pub open_id: String,
    pub scopes: Vec<String>,
}

/// `my.getAuthCode({scopes})` for `user` in `app` (an Alipay app_id or the
/// mini program's appid). Scopes: `auth_base` (the default) and `auth_user`.
pub async fn issue_auth_code(
    state: &AppState,
    app: &str,
    user: &str,
    scopes: &[String],
) -> Result<IssuedAuthCode, PlatformError> {
    let app = super::resolve_app(state, app).await?;
    identity::get_user(state, user).await?;
    let scopes: Vec<String> = if scopes.is_empty() {
        vec!["auth_base".to_owned()]
    } else {
        scopes.to_vec()
    };
    if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(PlatformError::invalid(
            "scopes",
            format!("`{bad}` is not auth_base or auth_user"),
        ));
    }
    let buyer = super::register_buyer(state, user, Some(&app.app_id)).await?;
    let now = state.now();
    sqlx::query("DELETE FROM alipay_auth_codes WHERE expires_at < $1")
        .bind(now - RETENTION_MS)
        .execute(state.db.pool())
        .await?;
    let code = secrets::random_hex(16)?;
    sqlx::query(
        "INSERT INTO alipay_auth_codes (code, app_id, user_id, scopes, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&code)
    .bind(&app.app_id)
    .bind(user)
    .bind(scopes.join(","))
    .bind(now)
    .bind(now + AUTH_CODE_TTL_MS)
    .execute(state.db.pool())
    .await?;
    Ok(IssuedAuthCode {
        auth_code: code,
        expires_in: AUTH_CODE_TTL_MS / 1000,
        app_id: app.app_id,
        user_id: buyer.user_id,
        open_id: buyer.open_id.unwrap_or_default(),
        scopes,
    })
}

async fn issue_token(call: &Call<'_>, user: &str) -> Result<Map<String, Value>, GatewayError> {
    let access_token = format!("authbseB{}", secrets::random_hex(16)?);
    let refresh_token = format!("authbseB{}", secrets::random_hex(16)?);
    sqlx::query("DELETE FROM alipay_oauth_tokens WHERE refresh_expires_at < $1")
        .bind(call.now - RETENTION_MS)
        .execute(call.state.db.pool())
        .await?;
    sqlx::query(
        "INSERT INTO alipay_oauth_tokens (access_token, refresh_token, app_id, user_id, issued_at,
            expires_at, refresh_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&access_token)
    .bind(&refresh_token)
    .bind(&call.app.app_id)
    .bind(user)
    .bind(call.now)
    .bind(call.now + ACCESS_TOKEN_TTL_MS)
    .bind(call.now + REFRESH_TOKEN_TTL_MS)
    .execute(call.state.db.pool())
    .await?;
    let buyer = super::register_buyer(call.state, user, Some(&call.app.app_id)).await?;
    // Alipay's success answer for this method carries no code or msg.
    let mut inner = Map::new();
    inner.insert("access_token".to_owned(), access_token.into());
    inner.insert("alipay_user_id".to_owned(), buyer.user_id.clone().into());
    inner.insert("auth_start".to_owned(), time::format(call.now).into());
    inner.insert("expires_in".to_owned(), (ACCESS_TOKEN_TTL_MS / 1000).into());
    inner.insert(
        "open_id".to_owned(),
        buyer.open_id.unwrap_or_default().into(),
    );
    inner.insert(
        "re_expires_in".to_owned(),
        (REFRESH_TOKEN_TTL_MS / 1000).into(),
    );
    inner.insert("refresh_token".to_owned(), refresh_token.into());
    inner.insert("user_id".to_owned(), buyer.user_id.into());
    Ok(inner)
}

/// `alipay.system.oauth.token`: `grant_type=authorization_code` with a
/// `code` (spent by this call), or `refresh_token` with a `refresh_token`
/// (spent too: the answer carries a new one).
pub(crate) async fn token(call: &Call<'_>) -> Result<Map<String, Value>, GatewayError> {
    match call.param("grant_type") {
        Some("authorization_code") => {
            let code = call.param("code").unwrap_or_default();
            let user: Option<String> = sqlx::query_scalar(
                "UPDATE alipay_auth_codes SET used_at = $1
                 WHERE code = $2 AND app_id = $3 AND used_at IS NULL AND expires_at > $1
                 RETURNING user_id",
            )
            .bind(call.now)
            .bind(code)
            .bind(&call.app.app_id)
            .fetch_optional(call.state.db.pool())
            .await?;
            let Some(user) = user else {
                return Err(GatewayError::invalid("isv.code-invalid", "授权码code无效"));
            };
            issue_token(call, &user).await
        }
        Some("refresh_token") => {
            let refresh_token = call.param("refresh_token").unwrap_or_default();
            let row = sqlx::query(
                "UPDATE alipay_oauth_tokens SET refreshed_at = $1
                 WHERE refresh_token = $2 AND app_id = $3 AND refreshed_at IS NULL
                 RETURNING user_id, refresh_expires_at",
            )
            .bind(call.now)
            .bind(refresh_token)
            .bind(&call.app.app_id)
            .fetch_optional(call.state.db.pool())
            .await?;
            let Some(row) = row else {
                return Err(GatewayError::invalid(
                    "isv.refresh-token-invalid",
                    "刷新令牌refresh_token无效",
                ));
            };
            let expires: i64 = row.try_get("refresh_expires_at")?;
            if call.now >= expires {
                return Err(GatewayError::invalid(
                    "isv.refresh-token-time-out",
                    "刷新令牌refresh_token过期",
                ));
            }
            let user: String = row.try_get("user_id")?;
            issue_token(call, &user).await
        }
        _ => Err(GatewayError::invalid(
            "isv.grant-type-invalid",
            "grant_type 只能是 authorization_code 或 refresh_token",
        )),
    }
}
