//! Certificates and the platform's signing key.
//!
//! Merchants get an X.509 certificate (`apiclient_cert.pem`) because SDKs
//! read the merchant's `serial_no` from it rather than taking it as a
//! setting. The platform has its own key and certificate, served encrypted
//! by `/v3/certificates`, which sign every `/v3` response and every
//! notification. Like the identity key (see `state.rs`), the platform key is
//! created once and kept in the database, so every instance signs with the
//! same key and the certificate merchants downloaded stays good.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::LineEnding;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use sqlx::Row;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::asn1::GeneralizedTime;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use super::crypto::{self, SIGNATURE_TYPE};
use crate::error::PlatformError;
use crate::rsa_keys;
use crate::state::AppState;

/// Certificates are back-dated by a day so that instances whose clocks
/// differ a little, and SDKs on the merchant's clock, all find them valid.
const BACKDATE_MS: i64 = 24 * 3600 * 1000;
/// WeChat's platform certificates last five years; so do ours.
pub const CERTIFICATE_LIFETIME_MS: i64 = 5 * 365 * 24 * 3600 * 1000;

/// A certificate just issued.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCertificate {
    /// 40 upper-case hex digits.
    pub serial_no: String,
    pub pem: String,
}

fn x509_error(err: impl std::fmt::Display) -> PlatformError {
    PlatformError::Crypto(format!("building an X.509 certificate: {err}"))
}

fn x509_time(millis: i64) -> Result<Time, PlatformError> {
    let secs = u64::try_from(millis.max(0) / 1000).unwrap_or(0);
    let time =
        GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map_err(x509_error)?;
    // The builder turns times before 2050 into UTCTime, as RFC 5280 asks.
    Ok(Time::GeneralTime(time))
}

/// A self-issued end-entity certificate for `key`, with subject
/// `CN=<common_name>, OU=<unit>, O=Bonsai Pay Sandbox, C=CN`. `common_name`
/// and `unit` must be plain ASCII without RFC 4514 specials (callers pass
/// mchids and fixed words).
pub(crate) fn issue_certificate(
    key: &RsaPrivateKey,
    common_name: &str,
    unit: &str,
    not_before: i64,
    not_after: i64,
) -> Result<IssuedCertificate, PlatformError> {
    let (serial_bytes, serial_no) = crypto::new_serial()?;
    let serial = SerialNumber::new(&serial_bytes).map_err(x509_error)?;
    let validity = Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    };
    let subject = Name::from_str(&format!(
        "CN={common_name},OU={unit},O=Bonsai Pay Sandbox,C=CN"
    ))
    .map_err(x509_error)?;
    let public = RsaPublicKey::from(key);
    let spki = SubjectPublicKeyInfoOwned::from_key(public).map_err(x509_error)?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let profile = Profile::Leaf {
        issuer: subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: true,
    };
    let builder = CertificateBuilder::new(profile, serial, validity, subject, spki, &signer)
        .map_err(x509_error)?;
    let certificate = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(x509_error)?;
    let pem = certificate.to_pem(LineEnding::LF).map_err(x509_error)?;
    Ok(IssuedCertificate { serial_no, pem })
}

/// A new RSA key pair and its certificate, made off the async runtime
/// (key generation takes a noticeable fraction of a second).
pub(crate) async fn new_key_and_certificate(
    common_name: String,
    unit: &'static str,
    not_before: i64,
    not_after: i64,
) -> Result<(rsa_keys::KeyPairPem, IssuedCertificate), PlatformError> {
    tokio::task::spawn_blocking(move || {
        let pair = rsa_keys::generate_key_pair()?;
        let key = rsa_keys::parse_private_key(&pair.private_pem)?;
        let certificate = issue_certificate(key.rsa(), &common_name, unit, not_before, not_after)?;
        Ok((pair, certificate))
    })
    .await
    .map_err(|err| PlatformError::Internal(format!("key generation task failed: {err}")))?
}

/// The serial (40 upper-case hex digits) and public key of a PEM
/// certificate: what a merchant's server takes from the platform certificate
/// to check `Wechatpay-Signature`.
pub fn read_certificate(pem: &str) -> Result<(String, RsaPublicKey), PlatformError> {
    use x509_cert::der::DecodePem as _;
    use x509_cert::der::referenced::OwnedToRef as _;
    let certificate = x509_cert::Certificate::from_pem(pem.trim().as_bytes()).map_err(|err| {
        PlatformError::invalid("certificate", format!("not a PEM certificate: {err}"))
    })?;
    let serial = hex::encode_upper(certificate.tbs_certificate.serial_number.as_bytes());
    let key = RsaPublicKey::try_from(
        certificate
            .tbs_certificate
            .subject_public_key_info
            .owned_to_ref(),
    )
    .map_err(|err| PlatformError::invalid("certificate", format!("no RSA public key: {err}")))?;
    Ok((serial, key))
}

/// The platform certificate as `/v3/certificates` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCertificate {
    /// 40 upper-case hex digits; `Wechatpay-Serial` carries exactly this.
    pub serial_no: String,
    pub certificate_pem: String,
    /// Milliseconds since the Unix epoch.
    pub effective_at: i64,
    pub expire_at: i64,
}

/// The platform certificate with its parsed private key.
#[derive(Debug)]
pub(crate) struct PlatformSigner {
    pub certificate: PlatformCertificate,
    key: rsa_keys::PrivateKey,
}

impl PlatformSigner {
    /// The five headers WeChat Pay signs a body with, for a response or a
    /// notification sent at `now`.
    pub fn headers(
        &self,
        now_millis: i64,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, PlatformError> {
        let timestamp = (now_millis.div_euclid(1000)).to_string();
        let nonce = crypto::new_signature_nonce()?;
        let signature = rsa_keys::sign(
            &self.key,
            &crypto::response_message(&timestamp, &nonce, body),
        );
        Ok(vec![
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Timestamp", timestamp),
            ("Wechatpay-Serial", self.certificate.serial_no.clone()),
            ("Wechatpay-Signature-Type", SIGNATURE_TYPE.to_owned()),
        ])
    }
}

/// Parsed platform keys by serial number. The rows are immutable, so a
/// process-wide cache is only a cache: every instance still reads which
/// serial is current from the database. Serials are 160 random bits, so
/// several databases in one process (tests) never collide.
fn signer_cache() -> &'static Mutex<HashMap<String, Arc<PlatformSigner>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<PlatformSigner>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached_signer(serial_no: &str) -> Option<Arc<PlatformSigner>> {
    let cache = signer_cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache.get(serial_no).cloned()
}

/// The platform's signing key, created on first use. Two instances racing
/// to create it both insert; the primary key keeps one and both use it.
pub(crate) async fn platform_signer(
    state: &AppState,
) -> Result<Arc<PlatformSigner>, PlatformError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT serial_no FROM pay_platform_keys WHERE name = 'signing'")
            .fetch_optional(state.db.pool())
            .await?;
    if let Some(signer) = current.as_deref().and_then(cached_signer) {
        return Ok(signer);
    }
    if current.is_none() {
        let now = state.now();
        let (effective_at, expire_at) = (now - BACKDATE_MS, now + CERTIFICATE_LIFETIME_MS);
        let (pair, certificate) = new_key_and_certificate(
            "Bonsai Pay Platform".to_owned(),
            "Platform",
            effective_at,
            expire_at,
        )
        .await?;
        sqlx::query(
            "INSERT INTO pay_platform_keys
                (name, serial_no, private_key_pem, certificate_pem, effective_at, expire_at, created_at)
             VALUES ('signing', $1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&certificate.serial_no)
        .bind(&pair.private_pem)
        .bind(&certificate.pem)
        .bind(effective_at)
        .bind(expire_at)
        .bind(now)
        .execute(state.db.pool())
        .await?;
    }
    let row = sqlx::query(
        "SELECT serial_no, private_key_pem, certificate_pem, effective_at, expire_at
         FROM pay_platform_keys WHERE name = 'signing'",
    )
    .fetch_one(state.db.pool())
    .await?;
    let serial_no: String = row.try_get("serial_no")?;
    let private_pem: String = row.try_get("private_key_pem")?;
    let signer = Arc::new(PlatformSigner {
        certificate: PlatformCertificate {
            serial_no: serial_no.clone(),
            certificate_pem: row.try_get("certificate_pem")?,
            effective_at: row.try_get("effective_at")?,
            expire_at: row.try_get("expire_at")?,
        },
        key: rsa_keys::parse_private_key(&private_pem)?,
    });
    signer_cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(serial_no, signer.clone());
    Ok(signer)
}

/// The platform certificate (created on first use), for operators and SDKs
/// that want it before their first `/v3/certificates` call.
pub async fn platform_certificate(state: &AppState) -> Result<PlatformCertificate, PlatformError> {
    Ok(platform_signer(state).await?.certificate.clone())
}

/// `Wechatpay-*` headers signing `body` now with the platform key: what a
/// notification carries at each attempt (its timestamp must be fresh).
pub async fn signature_headers(
    state: &AppState,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, PlatformError> {
    platform_signer(state).await?.headers(state.now(), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::Certificate;
    use x509_cert::der::DecodePem;
    use x509_cert::der::referenced::OwnedToRef;

    #[test]
    fn certificates_carry_their_serial_and_key() {
        let pair = rsa_keys::generate_key_pair().unwrap();
        let key = rsa_keys::parse_private_key(&pair.private_pem).unwrap();
        let issued = issue_certificate(
            key.rsa(),
            "1900000001",
            "Merchant",
            1_700_000_000_000,
            1_700_000_000_000 + CERTIFICATE_LIFETIME_MS,
        )
        .unwrap();
        let certificate = Certificate::from_pem(issued.pem.as_bytes()).unwrap();
        assert_eq!(
            hex::encode_upper(certificate.tbs_certificate.serial_number.as_bytes()),
            issued.serial_no
        );
        let spki = &certificate.tbs_certificate.subject_public_key_info;
        let public = RsaPublicKey::try_from(spki.owned_to_ref()).unwrap();
        assert_eq!(public, key.public_key());
        assert_eq!(
            certificate
                .tbs_certificate
                .validity
                .not_before
                .to_unix_duration()
                .as_secs(),
            1_700_000_000
        );
    }
}
