//! Merchants: who may call `/v3`, with which key, for which appids.
//!
//! A merchant is issued what the WeChat Pay console hands out: a key pair
//! (`apiclient_key.pem`, shown once and never stored), a certificate for its
//! public key (`apiclient_cert.pem`, whose serial number SDKs send as
//! `serial_no`), and an APIv3 key (32 characters) that encrypts
//! notifications and `/v3/certificates`.

use rsa::RsaPublicKey;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::keys::{self, CERTIFICATE_LIFETIME_MS};
use crate::error::PlatformError;
use crate::identity;
use crate::rsa_keys;
use crate::secrets;
use crate::state::AppState;

/// How long a refund stays PROCESSING unless the merchant says otherwise
/// (WeChat: balance refunds usually arrive within minutes).
pub const DEFAULT_REFUND_DELAY_SECS: i64 = 60;
/// The longest refund delay a merchant may ask for: 30 days.
const MAX_REFUND_DELAY_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMerchant {
    /// Digits; generated (10 digits, like WeChat's) when absent.
    #[serde(default)]
    pub mchid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Apps (created beforehand) the merchant takes payments for.
    #[serde(default)]
    pub appids: Vec<String>,
    /// Seconds a refund stays PROCESSING before it succeeds; default
    /// [`DEFAULT_REFUND_DELAY_SECS`]. 0 makes refunds succeed at the next
    /// look.
    #[serde(default)]
    pub refund_delay_secs: Option<i64>,
}

/// A merchant as the admin API shows it (no private key: it is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merchant {
    pub mchid: String,
    pub name: String,
    pub appids: Vec<String>,
    /// The serial of `apiclient_cert.pem`, 40 upper-case hex digits.
    pub serial_no: String,
    /// `apiclient_cert.pem`.
    pub certificate_pem: String,
    pub public_key_pem: String,
    pub apiv3_key: String,
    pub refund_delay_secs: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A new merchant with everything its server needs, the private key
/// included (shown this once).
#[derive(Debug, Clone, Serialize)]
pub struct CreatedMerchant {
    #[serde(flatten)]
    pub merchant: Merchant,
    /// `apiclient_key.pem` (PKCS#8).
    pub private_key_pem: String,
    /// The platform certificate, for SDKs that want it up front
    /// (others download it from `/v3/certificates`).
    pub platform_serial_no: String,
    pub platform_certificate_pem: String,
}

/// What request authentication and the cashier need of a merchant.
#[derive(Debug, Clone)]
pub(crate) struct MerchantKeys {
    pub mchid: String,
    pub serial_no: String,
    pub public_key: RsaPublicKey,
    pub apiv3_key: String,
    pub refund_delay_ms: i64,
}

fn check_mchid(mchid: &str) -> Result<(), PlatformError> {
    if mchid.is_empty() || mchid.len() > 32 || !mchid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PlatformError::invalid("mchid", "must be 1 to 32 digits"));
    }
    Ok(())
}

pub async fn create_merchant(
    state: &AppState,
    new: NewMerchant,
) -> Result<CreatedMerchant, PlatformError> {
    let mchid = match new.mchid {
        Some(mchid) => {
            check_mchid(&mchid)?;
            mchid
        }
        None => format!("19{}", super::random_digits(8)?),
    };
    let name = new
        .name
        .unwrap_or_else(|| format!("Sandbox merchant {mchid}"));
    if name.trim().is_empty() || name.chars().count() > 128 {
        return Err(PlatformError::invalid(
            "name",
            "must be 1 to 128 characters",
        ));
    }
    let refund_delay_secs = new.refund_delay_secs.unwrap_or(DEFAULT_REFUND_DELAY_SECS);
    if !(0..=MAX_REFUND_DELAY_SECS).contains(&refund_delay_secs) {
        return Err(PlatformError::invalid(
            "refund_delay_secs",
            format!("must be 0 to {MAX_REFUND_DELAY_SECS}"),
        ));
    }
    let mut appids = new.appids;
    appids.sort();
    appids.dedup();
    for appid in &appids {
        identity::get_app(state, appid).await?;
    }
    let exists: Option<String> =
        sqlx::query_scalar("SELECT mchid FROM pay_merchants WHERE mchid = $1")
            .bind(&mchid)
            .fetch_optional(state.db.pool())
            .await?;
    if exists.is_some() {
        return Err(PlatformError::MerchantExists(mchid));
    }

    let now = state.now();
    let (pair, certificate) = keys::new_key_and_certificate(
        mchid.clone(),
        "Merchant",
        now - 24 * 3600 * 1000,
        now + CERTIFICATE_LIFETIME_MS,
    )
    .await?;
    let apiv3_key = secrets::random_alphanumeric(super::crypto::APIV3_KEY_LEN)?;
    let platform = keys::platform_certificate(state).await?;

    let mut tx = state.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO pay_merchants
            (mchid, name, serial_no, certificate_pem, public_key_pem, apiv3_key, refund_delay_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (mchid) DO NOTHING",
    )
    .bind(&mchid)
    .bind(&name)
    .bind(&certificate.serial_no)
    .bind(&certificate.pem)
    .bind(&pair.public_pem)
    .bind(&apiv3_key)
    .bind(refund_delay_secs * 1000)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(PlatformError::MerchantExists(mchid));
    }
    for appid in &appids {
        sqlx::query("INSERT INTO pay_merchant_apps (mchid, appid) VALUES ($1, $2)")
            .bind(&mchid)
            .bind(appid)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(CreatedMerchant {
        merchant: Merchant {
            mchid,
            name,
            appids,
            serial_no: certificate.serial_no,
            certificate_pem: certificate.pem,
            public_key_pem: pair.public_pem,
            apiv3_key,
            refund_delay_secs,
            created_at: now,
        },
        private_key_pem: pair.private_pem,
        platform_serial_no: platform.serial_no,
        platform_certificate_pem: platform.certificate_pem,
    })
}

async fn appids_of(state: &AppState, mchid: &str) -> Result<Vec<String>, PlatformError> {
    Ok(
        sqlx::query_scalar("SELECT appid FROM pay_merchant_apps WHERE mchid = $1 ORDER BY appid")
            .bind(mchid)
            .fetch_all(state.db.pool())
            .await?,
    )
}

fn merchant_of_row(row: &AnyRow, appids: Vec<String>) -> Result<Merchant, PlatformError> {
    let refund_delay_ms: i64 = row.try_get("refund_delay_ms")?;
    Ok(Merchant {
        mchid: row.try_get("mchid")?,
        name: row.try_get("name")?,
        appids,
        serial_no: row.try_get("serial_no")?,
        certificate_pem: row.try_get("certificate_pem")?,
        public_key_pem: row.try_get("public_key_pem")?,
        apiv3_key: row.try_get("apiv3_key")?,
        refund_delay_secs: refund_delay_ms / 1000,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn get_merchant(state: &AppState, mchid: &str) -> Result<Merchant, PlatformError> {
    let row = sqlx::query(
        "SELECT mchid, name, serial_no, certificate_pem, public_key_pem, apiv3_key,
                refund_delay_ms, created_at
         FROM pay_merchants WHERE mchid = $1",
    )
    .bind(mchid)
    .fetch_optional(state.db.pool())
    .await?
    .ok_or_else(|| PlatformError::MerchantNotFound(mchid.to_owned()))?;
    let appids = appids_of(state, mchid).await?;
    merchant_of_row(&row, appids)
}

/// Every merchant, oldest first.
pub async fn list_merchants(state: &AppState) -> Result<Vec<Merchant>, PlatformError> {
    let rows = sqlx::query(
        "SELECT mchid, name, serial_no, certificate_pem, public_key_pem, apiv3_key,
                refund_delay_ms, created_at
         FROM pay_merchants ORDER BY created_at, mchid",
    )
    .fetch_all(state.db.pool())
    .await?;
    let mut merchants = Vec::with_capacity(rows.len());
    for row in &rows {
        let mchid: String = row.try_get("mchid")?;
        let appids = appids_of(state, &mchid).await?;
        merchants.push(merchant_of_row(row, appids)?);
    }
    Ok(merchants)
}

pub(crate) async fn merchant_keys(
    state: &AppState,
    mchid: &str,
) -> Result<Option<MerchantKeys>, PlatformError> {
    let row = sqlx::query(
        "SELECT mchid, serial_no, public_key_pem, apiv3_key, refund_delay_ms
         FROM pay_merchants WHERE mchid = $1",
    )
    .bind(mchid)
    .fetch_optional(state.db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let public_key_pem: String = row.try_get("public_key_pem")?;
    Ok(Some(MerchantKeys {
        mchid: row.try_get("mchid")?,
        serial_no: row.try_get("serial_no")?,
        public_key: rsa_keys::parse_public_key(&public_key_pem)?,
        apiv3_key: row.try_get("apiv3_key")?,
        refund_delay_ms: row.try_get("refund_delay_ms")?,
    }))
}

pub(crate) async fn merchant_has_app(
    state: &AppState,
    mchid: &str,
    appid: &str,
) -> Result<bool, PlatformError> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT appid FROM pay_merchant_apps WHERE mchid = $1 AND appid = $2")
            .bind(mchid)
            .bind(appid)
            .fetch_optional(state.db.pool())
            .await?;
    Ok(found.is_some())
}
