//! Access tokens: `/cgi-bin/token`, `/cgi-bin/stable_token`, and the check
//! every other API makes.
//!
//! A token row keeps its natural end (`expires_at`, issue + 7200 s) and the
//! moment it stops working (`valid_until`), which is earlier once a newer
//! token replaced it. That tells the two refusals apart as WeChat does:
//! past a natural end, 42001 "expired"; replaced, 40001 "not latest".

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{
    ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_MISSING, APPID_MISSING, APPSECRET_MISSING, DAILY_QUOTA,
    INVALID_ACCESS_TOKEN, INVALID_APPID, INVALID_APPSECRET, INVALID_CREDENTIAL, INVALID_GRANT_TYPE,
    WxError, WxJson, WxQuery,
};
use crate::identity::{self, AppAuth};
use crate::secrets;
use crate::state::AppState;

/// A token's life: 7200 s.
pub const ACCESS_TOKEN_TTL_MS: i64 = 7200 * 1000;
/// How long a replaced token keeps working beside its successor, and how
/// early stable_token's normal mode renews: five minutes.
pub const TOKEN_OVERLAP_MS: i64 = 5 * 60 * 1000;
/// stable_token's force_refresh: at most 20 a day, at least 30 s apart.
const FORCE_REFRESH_PER_DAY: i64 = 20;
const FORCE_REFRESH_INTERVAL_MS: i64 = 30 * 1000;
/// Token rows are kept this long past their natural end (so a late caller
/// hears "expired", not "invalid"), then deleted.
const TOKEN_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// WeChat asks callers to store at least 512 characters; longer is no token.
const MAX_TOKEN_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds.
    pub expires_in: i64,
}

const BASIC: &str = "basic";
const STABLE: &str = "stable";

/// The day a quota counts in: WeChat's quotas reset at midnight China time (UTC+8).
fn china_day(now: i64) -> i64 {
    (now + 8 * 60 * 60 * 1000).div_euclid(24 * 60 * 60 * 1000)
}

/// Starts a token-issuing transaction for `appid`. Its first statement
/// writes the app's issuance row, so issuers of one app take turns: a row
/// lock in Postgres, and in SQLite the write lock, taken at once rather
/// than upgraded from a read (an upgrade can fail with SQLITE_BUSY instead
/// of waiting). Returns the force_refresh bookkeeping.
async fn begin_issuing(
    state: &AppState,
    appid: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Any>, ForceQuota), WxError> {
    let mut tx = state.db.pool().begin().await?;
    let row = sqlx::query(
        "UPDATE token_issuance SET serial = serial + 1 WHERE appid = $1
         RETURNING force_day, force_count, last_force_at",
    )
    .bind(appid)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(INVALID_APPID.into());
    };
    let quota = ForceQuota {
        day: row.try_get("force_day")?,
        count: row.try_get("force_count")?,
        last_at: row.try_get("last_force_at")?,
    };
    Ok((tx, quota))
}

#[derive(Debug)]
struct ForceQuota {
    day: i64,
    count: i64,
    last_at: i64,
}

async fn insert_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    appid: &str,
    kind: &str,
    now: i64,
) -> Result<IssuedToken, WxError> {
    let token = secrets::new_access_token()?;
    sqlx::query(
        "INSERT INTO access_tokens (token, appid, kind, issued_at, expires_at, valid_until)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&token)
    .bind(appid)
    .bind(kind)
    .bind(now)
    .bind(now + ACCESS_TOKEN_TTL_MS)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM access_tokens WHERE appid = $1 AND expires_at < $2")
        .bind(appid)
        .bind(now - TOKEN_RETENTION_MS)
        .execute(&mut **tx)
        .await?;
    Ok(IssuedToken {
        access_token: token,
        expires_in: ACCESS_TOKEN_TTL_MS / 1000,
    })
}

/// `/cgi-bin/token`: a new token each call; the app's earlier tokens keep
/// working for five more minutes (or less, if they end sooner).
pub async fn basic_token(
    state: &AppState,
    appid: &str,
    secret: &str,
) -> Result<IssuedToken, WxError> {
    match identity::authenticate_app(state, appid, secret).await? {
        AppAuth::Ok(_) => {}
        AppAuth::UnknownApp => return Err(INVALID_APPID.into()),
        // This endpoint's errcode for a wrong secret (platform-services.md §1).
        AppAuth::WrongSecret => return Err(INVALID_CREDENTIAL.into()),
    }
    let now = state.now();
    let (mut tx, _) = begin_issuing(state, appid).await?;
    let grace_end = now + TOKEN_OVERLAP_MS;
    sqlx::query(
        "UPDATE access_tokens
         SET valid_until = CASE WHEN valid_until > $1 THEN $1 ELSE valid_until END
         WHERE appid = $2 AND kind = $3 AND valid_until > $4",
    )
    .bind(grace_end)
    .bind(appid)
    .bind(BASIC)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let issued = insert_token(&mut tx, appid, BASIC, now).await?;
    tx.commit().await?;
    Ok(issued)
}

/// `/cgi-bin/stable_token`, isolated from `/cgi-bin/token`. Normal mode
/// returns the current token while more than five minutes of it remain, and
/// a new one in its last five minutes (the old one still works until its
/// end). `force_refresh` replaces it at once, at most 20 times a day; within
/// 30 s of the last forced refresh it returns the current token unchanged,
/// as WeChat documents ("otherwise it won't refresh").
pub async fn stable_token(
    state: &AppState,
    appid: &str,
    secret: &str,
    force_refresh: bool,
) -> Result<IssuedToken, WxError> {
    match identity::authenticate_app(state, appid, secret).await? {
        AppAuth::Ok(_) => {}
        AppAuth::UnknownApp => return Err(INVALID_APPID.into()),
        AppAuth::WrongSecret => return Err(INVALID_APPSECRET.into()),
    }
    let now = state.now();
    let (mut tx, quota) = begin_issuing(state, appid).await?;
    let current = sqlx::query(
        "SELECT token, valid_until FROM access_tokens
         WHERE appid = $1 AND kind = $2 AND valid_until > $3
         ORDER BY valid_until DESC LIMIT 1",
    )
    .bind(appid)
    .bind(STABLE)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| -> Result<IssuedToken, sqlx::Error> {
        let valid_until: i64 = row.try_get("valid_until")?;
        Ok(IssuedToken {
            access_token: row.try_get("token")?,
            expires_in: (valid_until - now) / 1000,
        })
    })
    .transpose()?;

    let issued = if force_refresh {
        let today = china_day(now);
        let used_today = if quota.day == today { quota.count } else { 0 };
        match current {
            Some(current) if now - quota.last_at < FORCE_REFRESH_INTERVAL_MS => current,
            _ if used_today >= FORCE_REFRESH_PER_DAY => return Err(DAILY_QUOTA.into()),
            _ => {
                sqlx::query(
                    "UPDATE access_tokens SET valid_until = $1
                     WHERE appid = $2 AND kind = $3 AND valid_until > $1",
                )
                .bind(now)
                .bind(appid)
                .bind(STABLE)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE token_issuance SET force_day = $1, force_count = $2, last_force_at = $3
                     WHERE appid = $4",
                )
                .bind(today)
                .bind(used_today + 1)
                .bind(now)
                .bind(appid)
                .execute(&mut *tx)
                .await?;
                insert_token(&mut tx, appid, STABLE, now).await?
            }
        }
    } else {
        match current {
            Some(current) if current.expires_in * 1000 > TOKEN_OVERLAP_MS => current,
            _ => insert_token(&mut tx, appid, STABLE, now).await?,
        }
    };
    tx.commit().await?;
    Ok(issued)
}

/// The app a token belongs to, or why it is refused.
pub async fn authenticate(state: &AppState, token: Option<&str>) -> Result<String, WxError> {
    let Some(token) = token else {
        return Err(ACCESS_TOKEN_MISSING.into());
    };
    if token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(INVALID_ACCESS_TOKEN.into());
    }
    let row =
        sqlx::query("SELECT appid, expires_at, valid_until FROM access_tokens WHERE token = $1")
            .bind(token)
            .fetch_optional(state.db.pool())
            .await?;
    let Some(row) = row else {
        return Err(INVALID_CREDENTIAL.into());
    };
    let expires_at: i64 = row.try_get("expires_at")?;
    let valid_until: i64 = row.try_get("valid_until")?;
    let now = state.now();
    if now < valid_until {
        Ok(row.try_get("appid")?)
    } else if valid_until < expires_at {
        Err(INVALID_CREDENTIAL.into())
    } else {
        Err(ACCESS_TOKEN_EXPIRED.into())
    }
}

pub(super) async fn token_handler(State(state): State<AppState>, query: WxQuery) -> Response {
    let result = async {
        if query.get("grant_type") != Some("client_credential") {
            return Err(INVALID_GRANT_TYPE.into());
        }
        let appid = query.require("appid", APPID_MISSING)?;
        let secret = query.require("secret", APPSECRET_MISSING)?;
        basic_token(&state, appid, secret).await
    }
    .await;
    match result {
        Ok(token) => Json(token).into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct StableTokenBody {
    #[serde(default)]
    grant_type: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    force_refresh: Option<bool>,
}

pub(super) async fn stable_token_handler(
    State(state): State<AppState>,
    body: Result<WxJson<StableTokenBody>, WxError>,
) -> Response {
    let result = async {
        let WxJson(body) = body?;
        if body.grant_type.as_deref() != Some("client_credential") {
            return Err(INVALID_GRANT_TYPE.into());
        }
        let appid = body
            .appid
            .filter(|s| !s.is_empty())
            .ok_or(WxError::Api(APPID_MISSING))?;
        let secret = body
            .secret
            .filter(|s| !s.is_empty())
            .ok_or(WxError::Api(APPSECRET_MISSING))?;
        stable_token(&state, &appid, &secret, body.force_refresh.unwrap_or(false)).await
    }
    .await;
    match result {
        Ok(token) => Json(token).into_response(),
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_days_turn_at_midnight_in_china() {
        // 2024-01-01T15:59:59Z is 23:59:59 in Beijing; a second later is the next day.
        let before = 1_704_124_799_000;
        assert_eq!(china_day(before) + 1, china_day(before + 1000));
        assert_eq!(china_day(before), china_day(before - 12 * 3600 * 1000));
    }
}
