//! The Alipay sandbox: the OpenAPI gateway (`/gateway.do`) that merchants'
//! servers and their SDKs call, the cashier behind `my.tradePay`, auth codes
//! for `my.getAuthCode`, and asynchronous notifications.
//!
//! Keys: each Alipay app gets an RSA key pair when created; the merchant
//! keeps the private half (we keep only the public one, to verify their
//! requests). The platform has one "Alipay" key pair of its own, created
//! once and stored in the database so every instance signs alike; its
//! private half signs gateway responses and notifications, and its public
//! half is what merchants configure as `alipayPublicKey`.
//!
//! Buyers are our users: each gets a stable 16-digit Alipay `user_id`
//! (2088…) and an `open_id` per app, derived with the server key as openids
//! are (see [`crate::identity`]) and recorded so the gateway can tell who
//! a merchant means.
//!
//! The in-process API: [`create_app`], [`buyer`], [`trade_pay`] (the
//! cashier), [`issue_auth_code`] (`my.getAuthCode`), [`list_trades`];
//! [`gateway::call`] runs one gateway request.

mod admin_api;
pub mod gateway;
mod oauth;
mod sign;
mod time;
mod trade;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::PlatformError;
use crate::identity;
use crate::rsa_keys;
use crate::secrets;
use crate::state::AppState;

pub use oauth::{IssuedAuthCode, issue_auth_code};
pub use trade::{
    PayDecision, REFUND_WINDOW_MS, RefundRecord, Trade, TradePayResult, list_trades, trade_pay,
};

pub(crate) use admin_api::admin_router;

/// WeChat's routes' counterpart: `/gateway.do`, merged at the root.
pub(crate) fn router() -> axum::Router<AppState> {
    gateway::router()
}

/// The name of the platform key's row in `server_keys`.
const PLATFORM_KEY: &str = "alipay_private_key";

/// The platform's ("Alipay's") key pair.
#[derive(Clone)]
pub(crate) struct PlatformKey {
    pub private: rsa_keys::PrivateKey,
    pub public_pem: String,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey").finish_non_exhaustive()
    }
}

/// The platform key, created on first use. Two instances creating it at
/// once both try the insert; the primary key keeps the first and both
/// read it back.
pub(crate) async fn platform_key(state: &AppState) -> Result<PlatformKey, PlatformError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
            .bind(PLATFORM_KEY)
            .fetch_optional(state.db.pool())
            .await?;
    let pem = match stored {
        Some(pem) => pem,
        None => {
            let pair = generate_key_pair().await?;
            sqlx::query(
                "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(PLATFORM_KEY)
            .bind(&pair.private_pem)
            .bind(state.now())
            .execute(state.db.pool())
            .await?;
            sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
                .bind(PLATFORM_KEY)
                .fetch_one(state.db.pool())
                .await?
        }
    };
    let private = rsa_keys::parse_private_key(&pem)?;
    let public_pem = rsa_keys::public_key_pem(&private.public_key())?;
    Ok(PlatformKey {
        private,
        public_pem,
    })
}

/// Key generation is a second of big-integer work: off the async threads.
async fn generate_key_pair() -> Result<rsa_keys::KeyPairPem, PlatformError> {
    tokio::task::spawn_blocking(rsa_keys::generate_key_pair)
        .await
        .map_err(|err| PlatformError::Crypto(format!("key generation task failed: {err}")))?
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlipayApp {
    /// Generated (2021 and 12 digits) when absent.
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The mini program (appid) this app serves: `my.*` calls made in it
    /// pay and authorize through this app.
    #[serde(default)]
    pub appid_link: Option<String>,
    /// The merchant's own public key (PEM); when absent a key pair is
    /// generated and its private half returned once.
    #[serde(default)]
    pub app_public_key: Option<String>,
}

/// An Alipay app, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlipayApp {
    pub app_id: String,
    pub name: String,
    pub appid_link: Option<String>,
    /// The merchant's PID (2088…), `seller_id` in notifications.
    pub seller_id: String,
    pub app_public_key: String,
    /// What the merchant's SDK verifies responses and notifications with.
    pub alipay_public_key: String,
    /// The gateway's path on this server.
    pub gateway: String,
    pub created_at: i64,
}

/// A new app with the private key the merchant's SDK signs with, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedAlipayApp {
    #[serde(flatten)]
    pub app: AlipayApp,
    /// PKCS#8 PEM; absent when the merchant brought their own key.
    pub app_private_key: Option<String>,
}

/// An app's row.
#[derive(Debug, Clone)]
pub(crate) struct AppRow {
    pub app_id: String,
    pub name: String,
    pub appid_link: Option<String>,
    pub seller_id: String,
    pub app_public_key: String,
    pub created_at: i64,
}

impl AppRow {
    fn of(row: &AnyRow) -> Result<AppRow, sqlx::Error> {
        Ok(AppRow {
            app_id: row.try_get("app_id")?,
            name: row.try_get("name")?,
            appid_link: row.try_get("appid_link")?,
            seller_id: row.try_get("seller_id")?,
            app_public_key: row.try_get("app_public_key")?,
            created_at: row.try_get("created_at")?,
        })
    }

    fn public(self, alipay_public_key: String) -> AlipayApp {
        AlipayApp {
            app_id: self.app_id,
            name: self.name,
            appid_link: self.appid_link,
            seller_id: self.seller_id,
            app_public_key: self.app_public_key,
            alipay_public_key,
            gateway: "/gateway.do".to_owned(),
            created_at: self.created_at,
        }
    }
}

const APP_COLUMNS: &str = "app_id, name, appid_link, seller_id, app_public_key, created_at";

/// `count` random decimal digits.
fn random_digits(count: usize) -> Result<String, PlatformError> {
    let mut out = String::with_capacity(count);
    while out.len() < count {
        for byte in secrets::random_bytes::<32>()? {
            // 250 = 25 * 10: bytes above it would favour low digits.
            if byte < 250 && out.len() < count {
                out.push(char::from(b'0' + byte % 10));
            }
        }
    }
    Ok(out)
}

pub async fn create_app(
    state: &AppState,
    new: NewAlipayApp,
) -> Result<CreatedAlipayApp, PlatformError> {
    let app_id = match new.app_id {
        Some(app_id) => {
            if !(8..=32).contains(&app_id.len()) || !app_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PlatformError::invalid("app_id", "must be 8 to 32 digits"));
            }
            app_id
        }
        None => format!("2021{}", random_digits(12)?),
    };
    let name = new.name.unwrap_or_else(|| app_id.clone());
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(PlatformError::invalid("name", "must be 1 to 64 characters"));
    }
    if let Some(appid) = &new.appid_link {
        identity::get_app(state, appid).await?;
    }
    let (app_public_key, app_private_key) = match new.app_public_key {
        Some(pem) => {
            let key = rsa_keys::parse_public_key(&pem)?;
            (rsa_keys::public_key_pem(&key)?, None)
        }
        None => {
            let pair = generate_key_pair().await?;
            (pair.public_pem, Some(pair.private_pem))
        }
    };
    let alipay_public_key = platform_key(state).await?.public_pem;
    let row = AppRow {
        app_id,
        name,
        appid_link: new.appid_link,
        seller_id: format!("2088{}", random_digits(12)?),
        app_public_key,
        created_at: state.now(),
    };
    let inserted = sqlx::query(
        "INSERT INTO alipay_apps (app_id, name, appid_link, seller_id, app_public_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app_id) DO NOTHING",
    )
    .bind(&row.app_id)
    .bind(&row.name)
    .bind(&row.appid_link)
    .bind(&row.seller_id)
    .bind(&row.app_public_key)
    .bind(row.created_at)
    .execute(state.db.pool())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(PlatformError::AlipayAppExists(row.app_id));
    }
    tracing::info!(app_id = %row.app_id, "Alipay app created");
    Ok(CreatedAlipayApp {
        app: row.public(alipay_public_key),
        app_private_key,
    })
}

/// The app of an Alipay `app_id`, or `None`.
pub(crate) async fn find_app(
    state: &AppState,
    app_id: &str,
) -> Result<Option<AppRow>, PlatformError> {
    let row = sqlx::query(&format!(
        "SELECT {APP_COLUMNS} FROM alipay_apps WHERE app_id = $1"
    ))
    .bind(app_id)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(row.as_ref().map(AppRow::of).transpose()?)
}

/// The app `app` names: an Alipay `app_id`, or the appid of the mini
/// program an app serves (the oldest such app), as the client side knows
/// only the latter.
pub(crate) async fn resolve_app(state: &AppState, app: &str) -> Result<AppRow, PlatformError> {
    if let Some(found) = find_app(state, app).await? {
        return Ok(found);
    }
    let row = sqlx::query(&format!(
        "SELECT {APP_COLUMNS} FROM alipay_apps WHERE appid_link = $1
         ORDER BY created_at, app_id LIMIT 1"
    ))
    .bind(app)
    .fetch_optional(state.db.pool())
    .await?;
    match row {
        Some(row) => Ok(AppRow::of(&row)?),
        None => Err(PlatformError::AlipayAppNotFound(app.to_owned())),
    }
}

/// An app by `app_id` or linked mini program appid.
pub async fn get_app(state: &AppState, app: &str) -> Result<AlipayApp, PlatformError> {
    let row = resolve_app(state, app).await?;
    Ok(row.public(platform_key(state).await?.public_pem))
}

type HmacSha256 = Hmac<Sha256>;

fn derive(state: &AppState, purpose: &str, scope: &str, user: &str, counter: u8) -> [u8; 32] {
    // HMAC takes keys of any length; the error case cannot happen.
    let Ok(mut mac) = HmacSha256::new_from_slice(state.identity_key().as_bytes()) else {
        unreachable!("HMAC accepts keys of every length")
    };
    mac.update(format!("{purpose}\0{scope}\0{user}\0").as_bytes());
    mac.update(&[counter]);
    mac.finalize().into_bytes().into()
}

/// The user's Alipay user_id: 2088 and 12 digits, one per user.
pub fn alipay_user_id(state: &AppState, user: &str) -> String {
    let digest = derive(state, "alipay_user_id", "", user, 0);
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest[..8]);
    format!("2088{:012}", u64::from_le_bytes(word) % 1_000_000_000_000)
}

/// The user's open_id in an Alipay app: 47 characters, as Alipay's.
pub fn alipay_open_id(state: &AppState, app_id: &str, user: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::from("07");
    let bytes = derive(state, "alipay_open_id", app_id, user, 0)
        .into_iter()
        .chain(derive(state, "alipay_open_id", app_id, user, 1));
    for byte in bytes.take(45) {
        id.push(char::from(ALPHABET[usize::from(byte % 62)]));
    }
    id
}

/// A sandbox buyer: who a user is on Alipay's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Buyer {
    pub user: String,
    /// 2088…, the same in every app.
    pub user_id: String,
    /// Per app; present when an app was named.
    pub open_id: Option<String>,
}

/// Makes `user` a sandbox buyer (in `app`, if given: an Alipay app_id or a
/// linked mini program appid) and returns their ids. Idempotent.
pub async fn buyer(
    state: &AppState,
    user: &str,
    app: Option<&str>,
) -> Result<Buyer, PlatformError> {
    identity::get_user(state, user).await?;
    let app = match app {
        Some(app) => Some(resolve_app(state, app).await?),
        None => None,
    };
    register_buyer(state, user, app.as_ref().map(|app| app.app_id.as_str())).await
}

pub(crate) async fn register_buyer(
    state: &AppState,
    user: &str,
    app_id: Option<&str>,
) -> Result<Buyer, PlatformError> {
    let user_id = alipay_user_id(state, user);
    let now = state.now();
    sqlx::query(
        "INSERT INTO alipay_users (user_id, alipay_user_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user)
    .bind(&user_id)
    .bind(now)
    .execute(state.db.pool())
    .await?;
    let open_id = match app_id {
        Some(app_id) => {
            let open_id = alipay_open_id(state, app_id, user);
            sqlx::query(
                "INSERT INTO alipay_open_ids (app_id, user_id, open_id, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (app_id, user_id) DO NOTHING",
            )
            .bind(app_id)
            .bind(user)
            .bind(&open_id)
            .bind(now)
            .execute(state.db.pool())
            .await?;
            Some(open_id)
        }
        None => None,
    };
    Ok(Buyer {
        user: user.to_owned(),
        user_id,
        open_id,
    })
}

/// The user a buyer_id (2088…) stands for.
pub(crate) async fn user_of_buyer_id(
    state: &AppState,
    buyer_id: &str,
) -> Result<Option<String>, PlatformError> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM alipay_users WHERE alipay_user_id = $1")
            .bind(buyer_id)
            .fetch_optional(state.db.pool())
            .await?,
    )
}

/// The user an open_id of `app_id` stands for.
pub(crate) async fn user_of_open_id(
    state: &AppState,
    app_id: &str,
    open_id: &str,
) -> Result<Option<String>, PlatformError> {
    Ok(
        sqlx::query_scalar(
            "SELECT user_id FROM alipay_open_ids WHERE app_id = $1 AND open_id = $2",
        )
        .bind(app_id)
        .bind(open_id)
        .fetch_optional(state.db.pool())
        .await?,
    )
}

/// Amounts: yuan with at most two decimals, as text, in cents.
pub(crate) fn parse_amount(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if whole.is_empty()
        || whole.len() > 12
        || fraction.len() > 2
        || (text.contains('.') && fraction.is_empty())
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let mut cents: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    if fraction.len() == 1 {
        cents *= 10;
    }
    whole.checked_mul(100)?.checked_add(cents)
}

pub(crate) fn format_amount(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("0.01"), Some(1));
        assert_eq!(parse_amount("88.8"), Some(8880));
        assert_eq!(parse_amount("100000000"), Some(10_000_000_000));
        assert_eq!(parse_amount("12"), Some(1200));
        for bad in ["", ".5", "1.", "1.234", "-1", "1e3", "１"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(1), "0.01");
        assert_eq!(format_amount(8880), "88.80");
    }
}
