//! Apps, users and what a user does on the client side: `wx.login` (a
//! one-time code, which also rotates the session key), the phone-number
//! button (another one-time code) and `getUserProfile` (open data). These are
//! the platform's in-process API: the admin routes call them, and so will
//! the CLI's adapter for the engine's `PlatformClient` (`wx.login` →
//! [`issue_login_code`], `wx.checkSession` → [`has_session`],
//! `wx.getUserProfile` → [`user_profile`]).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::batch::{BatchFuture, Batcher, padded_rows, parameter_rows};
use crate::db::Db;
use crate::error::PlatformError;
use crate::open_data;
use crate::rate;
use crate::secrets;
use crate::state::AppState;

/// How long a one-time code lives (WeChat: five minutes).
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;

/// Spent and expired codes are kept this long after expiry, then deleted;
/// a deleted code answers "invalid code" like an expired one.
const CODE_RETENTION_MS: i64 = 60 * 60 * 1000;

/// What purpose a one-time code serves; a code only works for its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// `wx.login` → `/sns/jscode2session`.
    Login,
    /// `<button open-type="getPhoneNumber">` → `/wxa/business/getuserphonenumber`.
    Phone,
}

impl CodePurpose {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Login => "login",
            CodePurpose::Phone => "phone",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    /// Generated (`wx` + 16 hex digits) when absent.
    #[serde(default)]
    pub appid: Option<String>,
    /// Generated (32 hex digits) when absent.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The developer account the app belongs to; gives its users a unionid.
    #[serde(default)]
    pub developer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct App {
    pub appid: String,
    pub name: String,
    pub developer: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A new app with its AppSecret, which is shown this once: only its hash is kept.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedApp {
    #[serde(flatten)]
    pub app: App,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    /// Digits without `+`, e.g. `86`.
    #[serde(default = "china")]
    pub country_code: String,
    /// The national number, digits only.
    pub number: String,
}

fn china() -> String {
    "86".to_owned()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Our own user id; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// WeChat's convention: 0 unknown, 1 male, 2 female.
    #[serde(default)]
    pub gender: Option<i64>,
    #[serde(default)]
    pub phone: Option<Phone>,
    /// Risk control refuses this user's logins (errcode 40226).
    #[serde(default)]
    pub high_risk: bool,
}

/// Fields to change; absent ones stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub gender: Option<i64>,
    #[serde(default)]
    pub phone: Option<Phone>,
    #[serde(default)]
    pub high_risk: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub nickname: String,
    pub avatar_url: String,
    pub gender: i64,
    pub phone: Option<Phone>,
    pub high_risk: bool,
    pub created_at: i64,
}

/// A one-time code handed to the client.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCode {
    pub code: String,
    /// Seconds.
    pub expires_in: i64,
    /// The user's openid in the app, so a host or test can tell who logs in.
    pub openid: String,
}

/// What `wx.getUserProfile` answers the app with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub user_info: UserInfo,
    pub raw_data: String,
    pub signature: String,
    pub encrypted_data: String,
    pub iv: String,
}

/// The public profile, in WeChat's field order (rawData is its JSON text,
/// and the signature covers those exact bytes).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub nick_name: String,
    pub gender: i64,
    pub language: String,
    pub city: String,
    pub province: String,
    pub country: String,
    pub avatar_url: String,
}

/// Which app data was made for and when, inside everything WeChat signs or
/// encrypts for an app, so a server can refuse data meant for another app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Watermark {
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
    pub appid: String,
}

/// The plaintext of `encryptedData`: the profile plus the ids and watermark
/// that only the app's server may read.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenProfile<'a> {
    open_id: &'a str,
    #[serde(flatten)]
    info: &'a UserInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    union_id: Option<String>,
    watermark: Watermark,
}

/// Checks an id chosen by a caller: printable, short, and free of the
/// characters that would make it ambiguous in URLs or in derived-id input.
fn check_id(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), PlatformError> {
    if value.len() < min || value.len() > max {
        return Err(PlatformError::invalid(
            field,
            format!("must be {min} to {max} characters, got {}", value.len()),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')))
    {
        return Err(PlatformError::invalid(
            field,
            format!("may only contain letters, digits, `_`, `-`, `.` and `@`, found {bad:?}"),
        ));
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<(), PlatformError> {
    if value.chars().count() > max_chars {
        return Err(PlatformError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(PlatformError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_secret(secret: &str) -> Result<(), PlatformError> {
    if !(16..=128).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PlatformError::invalid(
            "secret",
            "must be 16 to 128 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

fn check_gender(gender: i64) -> Result<(), PlatformError> {
    if (0..=2).contains(&gender) {
        Ok(())
    } else {
        Err(PlatformError::invalid(
            "gender",
            "must be 0 (unknown), 1 (male) or 2 (female)",
        ))
    }
}

fn normalize_phone(phone: &Phone) -> Result<Phone, PlatformError> {
    let country_code = phone.country_code.trim_start_matches('+');
    if !(1..=4).contains(&country_code.len()) || !country_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PlatformError::invalid(
            "phone.country_code",
            "must be 1 to 4 digits",
        ));
    }
    if !(4..=20).contains(&phone.number.len()) || !phone.number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(PlatformError::invalid(
            "phone.number",
            "must be 4 to 20 digits",
        ));
    }
    Ok(Phone {
        country_code: country_code.to_owned(),
        number: phone.number.clone(),
    })
}

pub async fn create_app(state: &AppState, new: NewApp) -> Result<CreatedApp, PlatformError> {
    let appid = match new.appid {
        Some(appid) => {
            check_id("appid", &appid, 2, 32)?;
            appid
        }
        None => secrets::new_appid()?,
    };
    let secret = match new.secret {
        Some(secret) => {
            check_secret(&secret)?;
            secret
        }
        None => secrets::new_app_secret()?,
    };
    let name = new.name.unwrap_or_else(|| appid.clone());
    check_text("name", &name, 64)?;
    if let Some(developer) = &new.developer {
        check_id("developer", developer, 1, 64)?;
    }
    let created_at = state.now();

    let mut tx = state.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO apps (appid, secret_sha256, name, developer, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (appid) DO NOTHING",
    )
    .bind(&appid)
    .bind(secrets::sha256_hex(secret.as_bytes()))
    .bind(&name)
    .bind(&new.developer)
    .bind(created_at)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(PlatformError::AppExists(appid));
    }
    sqlx::query("INSERT INTO token_issuance (appid) VALUES ($1)")
        .bind(&appid)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%appid, "app created");
    Ok(CreatedApp {
        app: App {
            appid,
            name,
            developer: new.developer,
            created_at,
        },
        secret,
    })
}

fn app_of(row: &AnyRow) -> Result<App, sqlx::Error> {
    Ok(App {
        appid: row.try_get("appid")?,
        name: row.try_get("name")?,
        developer: row.try_get("developer")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn get_app(state: &AppState, appid: &str) -> Result<App, PlatformError> {
    let row = sqlx::query("SELECT appid, name, developer, created_at FROM apps WHERE appid = $1")
        .bind(appid)
        .fetch_optional(state.db.pool())
        .await?;
    match row {
        Some(row) => Ok(app_of(&row)?),
        None => Err(PlatformError::AppNotFound(appid.to_owned())),
    }
}

/// How an (appid, secret) pair fared.
#[derive(Debug)]
pub(crate) enum AppAuth {
    Ok(App),
    UnknownApp,
    WrongSecret,
}

pub(crate) async fn authenticate_app(
    state: &AppState,
    appid: &str,
    secret: &str,
) -> Result<AppAuth, PlatformError> {
    let known = match state.known_apps.get(appid) {
        Some(known) => known,
        None => {
            let row = sqlx::query(
                "SELECT appid, name, developer, created_at, secret_sha256 FROM apps WHERE appid = $1",
            )
            .bind(appid)
            .fetch_optional(state.db.pool())
            .await?;
            let Some(row) = row else {
                return Ok(AppAuth::UnknownApp);
            };
            state.known_apps.insert(KnownApp {
                app: app_of(&row)?,
                secret_sha256: row.try_get("secret_sha256")?,
            })
        }
    };
    let given = secrets::sha256_hex(secret.as_bytes());
    if secrets::constant_time_eq(known.secret_sha256.as_bytes(), given.as_bytes()) {
        Ok(AppAuth::Ok(known.app.clone()))
    } else {
        Ok(AppAuth::WrongSecret)
    }
}

/// An app row as [`authenticate_app`] needs it.
#[derive(Debug)]
pub(crate) struct KnownApp {
    app: App,
    secret_sha256: String,
}

/// Apps already read, so that each token or login request need not read its
/// app again. Sound because an app row never changes once created (nothing
/// updates or deletes `apps`; a secret reset would have to clear this on
/// every instance). Unknown appids are not remembered: the app may be
/// created on another instance a moment later.
#[derive(Debug, Default)]
pub(crate) struct KnownApps {
    apps: RwLock<HashMap<String, Arc<KnownApp>>>,
}

impl KnownApps {
    /// Apps remembered at most; past that the memory starts over.
    const MAX: usize = 4096;

    fn get(&self, appid: &str) -> Option<Arc<KnownApp>> {
        let apps = self.apps.read().unwrap_or_else(PoisonError::into_inner);
        apps.get(appid).cloned()
    }

    fn insert(&self, known: KnownApp) -> Arc<KnownApp> {
        let known = Arc::new(known);
        let mut apps = self.apps.write().unwrap_or_else(PoisonError::into_inner);
        if apps.len() >= Self::MAX {
            apps.clear();
        }
        apps.insert(known.app.appid.clone(), known.clone());
        known
    }
}

pub async fn create_user(state: &AppState, new: NewUser) -> Result<User, PlatformError> {
    let id = match new.id {
        Some(id) => {
            check_id("id", &id, 1, 64)?;
            id
        }
        None => format!("user_{}", secrets::random_hex(8)?),
    };
    let nickname = new.nickname.unwrap_or_else(|| id.clone());
    check_text("nickname", &nickname, 64)?;
    let avatar_url = new.avatar_url.unwrap_or_default();
    check_text("avatar_url", &avatar_url, 1024)?;
    let gender = new.gender.unwrap_or(0);
    check_gender(gender)?;
    let phone = new.phone.as_ref().map(normalize_phone).transpose()?;
    let created_at = state.now();

    let inserted = sqlx::query(
        "INSERT INTO users (id, nickname, avatar_url, gender, phone_country_code, phone_number, high_risk, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(&nickname)
    .bind(&avatar_url)
    .bind(gender)
    .bind(phone.as_ref().map(|p| p.country_code.clone()))
    .bind(phone.as_ref().map(|p| p.number.clone()))
    .bind(i64::from(new.high_risk))
    .bind(created_at)
    .execute(state.db.pool())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(PlatformError::UserExists(id));
    }
    tracing::info!(user = %id, "user created");
    Ok(User {
        id,
        nickname,
        avatar_url,
        gender,
        phone,
        high_risk: new.high_risk,
        created_at,
    })
}

pub async fn get_user(state: &AppState, id: &str) -> Result<User, PlatformError> {
    let row = sqlx::query(
        "SELECT id, nickname, avatar_url, gender, phone_country_code, phone_number, high_risk, created_at
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(state.db.pool())
    .await?;
    let Some(row) = row else {
        return Err(PlatformError::UserNotFound(id.to_owned()));
    };
    let country_code: Option<String> = row.try_get("phone_country_code")?;
    let number: Option<String> = row.try_get("phone_number")?;
    let high_risk: i64 = row.try_get("high_risk")?;
    Ok(User {
        id: row.try_get("id")?,
        nickname: row.try_get("nickname")?,
        avatar_url: row.try_get("avatar_url")?,
        gender: row.try_get("gender")?,
        phone: country_code
            .zip(number)
            .map(|(country_code, number)| Phone {
                country_code,
                number,
            }),
        high_risk: high_risk != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn update_user(
    state: &AppState,
    id: &str,
    update: UserUpdate,
) -> Result<User, PlatformError> {
    if let Some(nickname) = &update.nickname {
        check_text("nickname", nickname, 64)?;
    }
    if let Some(avatar_url) = &update.avatar_url {
        check_text("avatar_url", avatar_url, 1024)?;
    }
    if let Some(gender) = update.gender {
        check_gender(gender)?;
    }
    let phone = update.phone.as_ref().map(normalize_phone).transpose()?;
    // COALESCE keeps a column whose new value is NULL (not given): one
    // statement, so concurrent updates of different fields don't undo
    // each other.
    let updated = sqlx::query(
        "UPDATE users SET
            nickname = COALESCE($2, nickname),
            avatar_url = COALESCE($3, avatar_url),
            gender = COALESCE($4, gender),
            phone_country_code = COALESCE($5, phone_country_code),
            phone_number = COALESCE($6, phone_number),
            high_risk = COALESCE($7, high_risk)
         WHERE id = $1",
    )
    .bind(id)
    .bind(update.nickname)
    .bind(update.avatar_url)
    .bind(update.gender)
    .bind(phone.as_ref().map(|p| p.country_code.clone()))
    .bind(phone.as_ref().map(|p| p.number.clone()))
    .bind(update.high_risk.map(i64::from))
    .execute(state.db.pool())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(PlatformError::UserNotFound(id.to_owned()));
    }
    get_user(state, id).await
}

/// Deletes codes long past their expiry and rate windows long closed. Run on
/// code issuance, which is frequent enough to keep both tables small and
/// needs no background task (that every instance would run).
async fn sweep(state: &AppState, now: i64) -> Result<(), PlatformError> {
    sqlx::query("DELETE FROM auth_codes WHERE expires_at < $1")
        .bind(now - CODE_RETENTION_MS)
        .execute(state.db.pool())
        .await?;
    rate::forget_before(&state.db, now - rate::RETENTION_MS).await?;
    Ok(())
}

/// `wx.login` for `user` in `appid`: a new one-time code, and a new session
/// key that becomes the user's current one. As in WeChat, logging in again
/// makes the key a server got from an earlier code stale.
pub async fn issue_login_code(
    state: &AppState,
    appid: &str,
    user: &str,
) -> Result<IssuedCode, PlatformError> {
    get_app(state, appid).await?;
    get_user(state, user).await?;
    let now = state.now();
    sweep(state, now).await?;
    let code = secrets::new_code()?;
    let session_key = secrets::new_session_key()?;
    let openid = secrets::openid(state.identity_key(), appid, user);

    // Both writes or neither: a code whose key never became current would
    // hand the server a key that checksession refuses.
    let mut tx = state.db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO auth_codes (code, purpose, appid, user_id, session_key, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&code)
    .bind(CodePurpose::Login.as_str())
    .bind(appid)
    .bind(user)
    .bind(&session_key)
    .bind(now)
    .bind(now + CODE_TTL_MS)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO sessions (appid, openid, user_id, session_key, rotated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (appid, openid) DO UPDATE SET
            session_key = excluded.session_key, rotated_at = excluded.rotated_at",
    )
    .bind(appid)
    .bind(&openid)
    .bind(user)
    .bind(&session_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(IssuedCode {
        code,
        expires_in: CODE_TTL_MS / 1000,
        openid,
    })
}

/// The phone-number button for `user` in `appid`: a one-time code the app's
/// server exchanges for the number. The user must have one.
pub async fn issue_phone_code(
    state: &AppState,
    appid: &str,
    user: &str,
) -> Result<IssuedCode, PlatformError> {
    get_app(state, appid).await?;
    if get_user(state, user).await?.phone.is_none() {
        return Err(PlatformError::NoPhoneNumber(user.to_owned()));
    }
    let now = state.now();
    sweep(state, now).await?;
    let code = secrets::new_code()?;
    sqlx::query(
        "INSERT INTO auth_codes (code, purpose, appid, user_id, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&code)
    .bind(CodePurpose::Phone.as_str())
    .bind(appid)
    .bind(user)
    .bind(now)
    .bind(now + CODE_TTL_MS)
    .execute(state.db.pool())
    .await?;
    Ok(IssuedCode {
        code,
        expires_in: CODE_TTL_MS / 1000,
        openid: secrets::openid(state.identity_key(), appid, user),
    })
}

/// A spent code: who it was for and, for login codes, its session key.
#[derive(Debug)]
pub(crate) struct SpentCode {
    pub user_id: String,
    pub session_key: Option<String>,
    /// The user's risk flag, read in the same statement (jscode2session's
    /// hot path needs nothing else of the user).
    pub user_high_risk: bool,
}

/// Spends a code of `purpose` for `appid` if it is unspent and unexpired.
/// Codes are spent in batches (see `batch`), each batch one statement, so
/// two servers racing with the same code cannot both win.
pub(crate) async fn spend_code(
    state: &AppState,
    appid: &str,
    code: &str,
    purpose: CodePurpose,
) -> Result<Option<SpentCode>, PlatformError> {
    state
        .code_spender
        .submit(CodeToSpend {
            code: code.to_owned(),
            appid: appid.to_owned(),
            purpose,
            now: state.now(),
        })
        .await
}

/// One request to spend a code.
#[derive(Debug)]
pub(crate) struct CodeToSpend {
    code: String,
    appid: String,
    purpose: CodePurpose,
    now: i64,
}

/// Codes spent by one statement at most (three parameters each).
const SPEND_BATCH_MAX: usize = 64;

pub(crate) fn code_spender(db: Db) -> Batcher<CodeToSpend, Option<SpentCode>> {
    Batcher::new(
        "code spender",
        SPEND_BATCH_MAX,
        move |codes| -> BatchFuture<Option<SpentCode>> { Box::pin(spend_codes(db.clone(), codes)) },
    )
}

/// One UPDATE for the whole batch. The batch's latest clock reading decides
/// expiry, so no code is taken past its time. A code given twice in one
/// batch (a replay racing the original) is spent by the first only.
async fn spend_codes(
    db: Db,
    codes: Vec<CodeToSpend>,
) -> Result<Vec<Option<SpentCode>>, PlatformError> {
    let now = codes.iter().map(|code| code.now).max().unwrap_or_default();
    // `code IN` finds the rows by primary key; the row values then hold each
    // code to the app and purpose it was given with. Padding rows are
    // empty strings, which no code is.
    let rows = padded_rows(codes.len());
    let code_list: Vec<String> = (0..rows).map(|i| format!("${}", 3 * i + 2)).collect();
    let sql = format!(
        "UPDATE auth_codes SET used_at = $1
         WHERE code IN ({}) AND (code, appid, purpose) IN (VALUES {})
           AND used_at IS NULL AND expires_at > $1
         RETURNING code, appid, purpose, user_id, session_key,
                   (SELECT high_risk FROM users WHERE users.id = auth_codes.user_id) AS high_risk",
        code_list.join(", "),
        parameter_rows(rows, 3, 2)
    );
    let mut query = sqlx::query(&sql).bind(now);
    for code in &codes {
        query = query
            .bind(&code.code)
            .bind(&code.appid)
            .bind(code.purpose.as_str());
    }
    for _ in codes.len()..rows {
        query = query.bind("").bind("").bind("");
    }
    let mut spent = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        let key: (String, String, String) = (
            row.try_get("code")?,
            row.try_get("appid")?,
            row.try_get("purpose")?,
        );
        let code = SpentCode {
            user_id: row.try_get("user_id")?,
            session_key: row.try_get("session_key")?,
            user_high_risk: row.try_get::<i64, _>("high_risk")? != 0,
        };
        spent.insert(key, code);
    }
    Ok(codes
        .into_iter()
        .map(|code| spent.remove(&(code.code, code.appid, code.purpose.as_str().to_owned())))
        .collect())
}

/// The user's current session key in an app, by openid.
pub(crate) async fn session_key_of(
    state: &AppState,
    appid: &str,
    openid: &str,
) -> Result<Option<String>, PlatformError> {
    Ok(
        sqlx::query_scalar("SELECT session_key FROM sessions WHERE appid = $1 AND openid = $2")
            .bind(appid)
            .bind(openid)
            .fetch_optional(state.db.pool())
            .await?,
    )
}

/// The openid of `user` in `appid` (whether or not they ever logged in).
pub fn openid_of(state: &AppState, appid: &str, user: &str) -> String {
    secrets::openid(state.identity_key(), appid, user)
}

/// The unionid of `user` under the app's developer account, if it has one.
pub(crate) fn unionid_of(state: &AppState, app: &App, user: &str) -> Option<String> {
    app.developer
        .as_deref()
        .map(|developer| secrets::unionid(state.identity_key(), developer, user))
}

/// `wx.checkSession`: whether the user has a session in the app.
pub async fn has_session(state: &AppState, appid: &str, user: &str) -> Result<bool, PlatformError> {
    let openid = openid_of(state, appid, user);
    Ok(session_key_of(state, appid, &openid).await?.is_some())
}

/// `wx.getUserProfile`: the user's profile signed and encrypted with the
/// current session key, as a developer's server verifies and decrypts it.
pub async fn user_profile(
    state: &AppState,
    appid: &str,
    user: &str,
    lang: &str,
) -> Result<UserProfile, PlatformError> {
    let app = get_app(state, appid).await?;
    let profile = get_user(state, user).await?;
    let openid = openid_of(state, appid, user);
    let Some(session_key) = session_key_of(state, appid, &openid).await? else {
        return Err(PlatformError::NoSession {
            appid: appid.to_owned(),
            user: user.to_owned(),
        });
    };
    let language = match lang {
        "zh_CN" | "zh_TW" | "en" => lang,
        _ => "en",
    };
    // City, province and country were withdrawn from the API in 2022 and
    // come back empty; WeChat still sends the keys.
    let user_info = UserInfo {
        nick_name: profile.nickname,
        gender: profile.gender,
        language: language.to_owned(),
        city: String::new(),
        province: String::new(),
        country: String::new(),
        avatar_url: profile.avatar_url,
    };
    let raw_data = serde_json::to_string(&user_info)
        .map_err(|err| PlatformError::invalid("user profile", err.to_string()))?;
    let signature = open_data::signature(&raw_data, &session_key);

    let plaintext = serde_json::to_vec(&OpenProfile {
        open_id: &openid,
        info: &user_info,
        union_id: unionid_of(state, &app, user),
        watermark: Watermark {
            timestamp: state.now() / 1000,
            appid: appid.to_owned(),
        },
    })
    .map_err(|err| PlatformError::invalid("user profile", err.to_string()))?;
    let iv = secrets::random_bytes::<16>()?;
    let encrypted_data = open_data::encrypt(&plaintext, &session_key, &iv)?;
    Ok(UserProfile {
        user_info,
        raw_data,
        signature,
        encrypted_data,
        iv: STANDARD.encode(iv),
    })
}
