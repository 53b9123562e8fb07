//! The WeChat Pay v3 sandbox: what `api.mch.weixin.qq.com` does for a
//! mini program's payments, wire-compatible so that an unmodified merchant
//! server (and its SDK) only changes its host.
//!
//! - [`merchants`]: merchants with a key pair, an `apiclient_cert.pem`
//!   and an APIv3 key, bound to appids (admin API).
//! - [`keys`]: certificates and the platform's signing key
//!   (`/v3/certificates`, `Wechatpay-*` response headers).
//! - [`crypto`]: the signed strings, `Authorization`, AEAD_AES_256_GCM.
//! - [`orders`]: JSAPI orders (create, query, close).
//! - [`cashier`]: what `wx.requestPayment` does: checks `paySign` and the
//!   payer, then pays or cancels.
//! - [`refunds`]: refunds, PROCESSING until a per-merchant delay has passed
//!   on the platform clock, then SUCCESS.
//! - [`events`]: the encrypted, signed notifications (TRANSACTION.SUCCESS,
//!   REFUND.SUCCESS), queued in [`crate::notify`]'s outbox together with
//!   the change they announce.
//! - `http` and `admin`: the thin handlers.
//!
//! Every `/v3` request must carry a valid merchant signature (401
//! SIGN_ERROR otherwise) and every `/v3` response is signed by the platform
//! key. Errors are WeChat's: an HTTP status with
//! `{"code", "message", "detail"?}`.
//!
//! Sandbox liberties, all documented where they happen: `notify_url` may
//! be plain `http` on a loopback host (for tests and local development; WeChat
//! requires https); a payer's openid must belong to a user who logged in to
//! the app (WeChat checks the openid against the appid); there is no
//! certificate rotation and no "WeChat Pay public key" (`PUB_KEY_ID_…`)
//! mode; no deliberate bad-signature probe notifications.

pub mod cashier;
pub mod crypto;
pub mod events;
pub mod keys;
pub mod merchants;
pub mod orders;
pub mod refunds;
pub mod time;

pub(crate) mod admin;
pub(crate) mod http;

use axum::http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::PlatformError;

pub use cashier::{PayDecision, PayError, PaymentOutcome, request_payment};
pub use keys::{PlatformCertificate, platform_certificate, read_certificate, signature_headers};
pub use merchants::{CreatedMerchant, Merchant, NewMerchant, create_merchant, get_merchant};
pub use refunds::settle_due_refunds;

/// A refused `/v3` call: WeChat's HTTP status, `code` and `message`, and
/// for parameter errors a `detail` naming the field; or our own failure,
/// which the caller sees as 500 SYSTEM_ERROR and the log records in full.
#[derive(Debug)]
pub enum PayApiError {
    Api {
        status: StatusCode,
        code: &'static str,
        message: String,
        detail: Option<Value>,
    },
    Internal(PlatformError),
}

impl PayApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        PayApiError::Api {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    /// 400 PARAM_ERROR with WeChat's `detail{field, value, issue, location}`;
    /// `field` is a JSON-pointer-like path (`/amount/total`).
    pub(crate) fn param(
        location: &'static str,
        field: &str,
        value: Option<&Value>,
        issue: impl Into<String>,
    ) -> Self {
        let issue = issue.into();
        let mut detail = serde_json::json!({ "field": field });
        if let (Some(object), Some(value)) = (detail.as_object_mut(), value) {
            object.insert("value".to_owned(), value.clone());
        }
        if let Some(object) = detail.as_object_mut() {
            object.insert("issue".to_owned(), Value::String(issue.clone()));
            object.insert("location".to_owned(), Value::String(location.to_owned()));
        }
        PayApiError::Api {
            status: StatusCode::BAD_REQUEST,
            code: "PARAM_ERROR",
            message: format!("参数错误: {field} {issue}"),
            detail: Some(detail),
        }
    }

    pub(crate) fn sign_error(message: impl Into<String>) -> Self {
        PayApiError::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message)
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        PayApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    pub(crate) fn no_auth(message: impl Into<String>) -> Self {
        PayApiError::new(StatusCode::FORBIDDEN, "NO_AUTH", message)
    }

    pub(crate) fn order_not_exist() -> Self {
        PayApiError::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
    }

    pub fn status(&self) -> StatusCode {
        match self {
            PayApiError::Api { status, .. } => *status,
            PayApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            PayApiError::Api { code, .. } => code,
            PayApiError::Internal(_) => "SYSTEM_ERROR",
        }
    }
}

impl std::fmt::Display for PayApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayApiError::Api { code, message, .. } => write!(f, "{code}: {message}"),
            PayApiError::Internal(err) => write!(f, "SYSTEM_ERROR: {err}"),
        }
    }
}

impl From<PlatformError> for PayApiError {
    fn from(err: PlatformError) -> Self {
        PayApiError::Internal(err)
    }
}

impl From<sqlx::Error> for PayApiError {
    fn from(err: sqlx::Error) -> Self {
        PayApiError::Internal(err.into())
    }
}

/// The SHA-256 of a JSON value with object keys sorted at every level, so a
/// request repeated with its fields in another order is the same request
/// (idempotency of orders and refunds).
pub(crate) fn canonical_sha256(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    if let Some(inner) = map.get(key) {
                        write(inner, out);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    write(value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `count` random decimal digits (for transaction and refund ids).
pub(crate) fn random_digits(count: usize) -> Result<String, PlatformError> {
    let mut out = String::with_capacity(count);
    while out.len() < count {
        for byte in crate::secrets::random_bytes::<32>()? {
            // 250 = 25 * 10: bytes at or above it would skew the digits.
            if byte < 250 && out.len() < count {
                out.push(char::from(b'0' + byte % 10));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_hash_ignores_key_order_only() {
        let a = serde_json::json!({"a": 1, "b": {"x": [1, 2], "y": "z"}});
        let b = serde_json::json!({"b": {"y": "z", "x": [1, 2]}, "a": 1});
        let c = serde_json::json!({"b": {"y": "z", "x": [2, 1]}, "a": 1});
        assert_eq!(canonical_sha256(&a), canonical_sha256(&b));
        assert_ne!(canonical_sha256(&a), canonical_sha256(&c));
    }

    #[test]
    fn random_digits_are_digits() {
        let digits = random_digits(40).unwrap();
        assert_eq!(digits.len(), 40);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    }
}
