//! Payment notifications as WeChat Pay sends them: a JSON envelope whose
//! `resource` is the transaction (or refund) encrypted with the merchant's
//! APIv3 key (AEAD_AES_256_GCM, non-empty associated data, 12-character
//! nonce). The envelope is built once and stored in the outbox; its
//! `Wechatpay-*` signature headers are made at each delivery attempt,
//! because their timestamp must be current (see [`crate::notify`]).

use serde_json::{Value, json};
use sqlx::AnyConnection;

use super::crypto::{self, AEAD_ALGORITHM};
use super::time::rfc3339_beijing;
use crate::error::PlatformError;
use crate::notify::{self, Channel, Delivery};
use crate::secrets;

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// TRANSACTION.SUCCESS: an order was paid.
    TransactionSuccess,
    /// REFUND.SUCCESS: a refund reached the payer.
    RefundSuccess,
}

impl Event {
    pub fn event_type(self) -> &'static str {
        match self {
            Event::TransactionSuccess => "TRANSACTION.SUCCESS",
            Event::RefundSuccess => "REFUND.SUCCESS",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Event::TransactionSuccess => "支付成功",
            Event::RefundSuccess => "退款成功",
        }
    }

    /// `resource.original_type`, also used as the associated data (which
    /// must not be empty: one SDK silently skips resources without it).
    fn original_type(self) -> &'static str {
        match self {
            Event::TransactionSuccess => "transaction",
            Event::RefundSuccess => "refund",
        }
    }
}

/// A random UUID (v4) in its usual text form: WeChat's notification ids.
fn new_event_id() -> Result<String, PlatformError> {
    let mut bytes = secrets::random_bytes::<16>()?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The notification body for `resource`, encrypted for the merchant whose
/// APIv3 key is given, created at `now`.
pub fn notification_body(
    event: Event,
    apiv3_key: &str,
    now: i64,
    resource: &Value,
) -> Result<String, PlatformError> {
    let nonce = crypto::new_aead_nonce()?;
    let associated_data = event.original_type();
    let plaintext = serde_json::to_vec(resource)
        .map_err(|err| PlatformError::Internal(format!("encoding a notification: {err}")))?;
    let ciphertext = crypto::encrypt(apiv3_key, &nonce, associated_data, &plaintext)?;
    let body = json!({
        "id": new_event_id()?,
        "create_time": rfc3339_beijing(now),
        "resource_type": "encrypt-resource",
        "event_type": event.event_type(),
        "summary": event.summary(),
        "resource": {
            "original_type": event.original_type(),
            "algorithm": AEAD_ALGORITHM,
            "ciphertext": ciphertext,
            "associated_data": associated_data,
            "nonce": nonce,
        },
    });
    Ok(body.to_string())
}

/// Queues a notification to `url` on `conn`, normally the transaction that
/// makes the change it announces, so both commit or neither does.
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    now: i64,
    url: &str,
    event: Event,
    apiv3_key: &str,
    resource: &Value,
) -> Result<String, PlatformError> {
    let body = notification_body(event, apiv3_key, now, resource)?;
    notify::enqueue(
        conn,
        now,
        Delivery {
            channel: Channel::WechatPay,
            url: url.to_owned(),
            content_type: "application/json".to_owned(),
            body,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decrypt_with_the_merchant_key() {
        let key = "0123456789abcdefghijABCDEFGHIJ01";
        let resource = json!({"out_trade_no": "order-1", "trade_state": "SUCCESS"});
        let body = notification_body(Event::TransactionSuccess, key, 1_700_000_000_000, &resource)
            .unwrap();
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["create_time"], "2023-11-15T06:13:20+08:00");
        assert_eq!(body["resource_type"], "encrypt-resource");
        assert_eq!(body["id"].as_str().unwrap().len(), 36);
        let r = &body["resource"];
        assert_eq!(r["algorithm"], "AEAD_AES_256_GCM");
        assert_eq!(r["associated_data"], "transaction");
        assert_eq!(r["nonce"].as_str().unwrap().len(), 12);
        let plain = crypto::decrypt(
            key,
            r["nonce"].as_str().unwrap(),
            "transaction",
            r["ciphertext"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&plain).unwrap(), resource);
    }
}
