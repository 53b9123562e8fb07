//! The cryptography of WeChat Pay v3, byte for byte as SDKs build it: the
//! strings that get signed (requests, responses and notifications,
//! `paySign`), the `Authorization` header, and AEAD_AES_256_GCM for
//! notification resources and `/v3/certificates`. The RSA itself is
//! [`crate::rsa_keys`].

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::PlatformError;
use crate::secrets;

/// The scheme of `Authorization` and the value of `Wechatpay-Signature-Type`.
pub const SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";
/// The `algorithm` of every encrypted resource.
pub const AEAD_ALGORITHM: &str = "AEAD_AES_256_GCM";
/// AES-256-GCM's nonce, which WeChat sends as 12 ASCII characters used
/// directly as the IV.
pub const AEAD_NONCE_LEN: usize = 12;
/// An APIv3 key is 32 ASCII characters, used directly as the AES-256 key.
pub const APIV3_KEY_LEN: usize = 32;

/// What a merchant signs: `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n`.
/// The path and query are exactly as sent (no re-encoding), a GET's body is
/// empty.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// What the platform signs in responses and notifications:
/// `timestamp\nnonce\nbody\n` (an empty body still ends in `\n`).
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// What `paySign` signs: `appId\ntimeStamp\nnonceStr\npackage\n`.
pub fn pay_sign_message(appid: &str, timestamp: &str, nonce: &str, package: &str) -> Vec<u8> {
    format!("{appid}\n{timestamp}\n{nonce}\n{package}\n").into_bytes()
}

/// The parts of `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub signature: String,
    pub timestamp: String,
    pub serial_no: String,
}

impl Authorization {
    /// The header value for these parts, as SDKs format it.
    pub fn to_header(&self) -> String {
        format!(
            "{SIGNATURE_TYPE} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }
}

/// Reads an `Authorization` header. Parameters come in any order, quoted
/// or not, with optional spaces after commas (SDKs differ in all three).
/// The error says what is wrong, for the SIGN_ERROR message.
pub fn parse_authorization(header: &str) -> Result<Authorization, String> {
    let header = header.trim();
    let Some((scheme, params)) = header.split_once(char::is_whitespace) else {
        return Err(format!(
            "Authorization must be `{SIGNATURE_TYPE} mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…`"
        ));
    };
    if scheme != SIGNATURE_TYPE {
        return Err(format!(
            "unsupported authorization scheme `{scheme}`; use {SIGNATURE_TYPE}"
        ));
    }
    let (mut mchid, mut nonce_str, mut signature, mut timestamp, mut serial_no) =
        (None, None, None, None, None);
    for pair in params.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("Authorization parameter `{pair}` has no value"));
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .to_owned();
        let slot = match key.trim() {
            "mchid" => &mut mchid,
            "nonce_str" => &mut nonce_str,
            "signature" => &mut signature,
            "timestamp" => &mut timestamp,
            "serial_no" => &mut serial_no,
            // Unknown parameters are ignored, as WeChat does.
            _ => continue,
        };
        *slot = Some(value);
    }
    let require = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("Authorization lacks {name}"))
    };
    Ok(Authorization {
        mchid: require(mchid, "mchid")?,
        nonce_str: require(nonce_str, "nonce_str")?,
        signature: require(signature, "signature")?,
        timestamp: require(timestamp, "timestamp")?,
        serial_no: require(serial_no, "serial_no")?,
    })
}

fn cipher(key: &str) -> Result<Aes256Gcm, PlatformError> {
    if key.len() != APIV3_KEY_LEN {
        return Err(PlatformError::Crypto(format!(
            "an APIv3 key has {APIV3_KEY_LEN} bytes, this one {}",
            key.len()
        )));
    }
    Aes256Gcm::new_from_slice(key.as_bytes())
        .map_err(|err| PlatformError::Crypto(format!("AES-256-GCM key: {err}")))
}

fn nonce_of(nonce: &str) -> Result<&Nonce<aes_gcm::aead::consts::U12>, PlatformError> {
    if nonce.len() != AEAD_NONCE_LEN {
        return Err(PlatformError::Crypto(format!(
            "an AEAD_AES_256_GCM nonce has {AEAD_NONCE_LEN} bytes, this one {}",
            nonce.len()
        )));
    }
    Ok(Nonce::from_slice(nonce.as_bytes()))
}

/// AEAD_AES_256_GCM as WeChat uses it: the APIv3 key's ASCII bytes are the
/// key, the nonce's the IV; the result is base64 of ciphertext ‖ tag.
pub fn encrypt(
    apiv3_key: &str,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, PlatformError> {
    let sealed = cipher(apiv3_key)?
        .encrypt(
            nonce_of(nonce)?,
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| PlatformError::Crypto("AES-256-GCM encryption failed".to_owned()))?;
    Ok(STANDARD.encode(sealed))
}

/// The inverse of [`encrypt`]; fails when the tag does not verify (wrong
/// key, nonce or associated data, or a changed ciphertext).
pub fn decrypt(
    apiv3_key: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_base64: &str,
) -> Result<Vec<u8>, PlatformError> {
    let sealed = STANDARD
        .decode(ciphertext_base64.trim())
        .map_err(|err| PlatformError::Crypto(format!("ciphertext is not base64: {err}")))?;
    cipher(apiv3_key)?
        .decrypt(
            nonce_of(nonce)?,
            Payload {
                msg: &sealed,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| PlatformError::Crypto("AES-256-GCM authentication failed".to_owned()))
}

/// A fresh 12-character AEAD nonce.
pub fn new_aead_nonce() -> Result<String, PlatformError> {
    secrets::random_alphanumeric(AEAD_NONCE_LEN)
}

/// A fresh signature nonce (32 characters, as WeChat's own).
pub fn new_signature_nonce() -> Result<String, PlatformError> {
    secrets::random_alphanumeric(32)
}

/// A certificate serial number: 20 random bytes whose first is in
/// 0x10..=0x7f, so the DER integer is positive, exactly 20 octets, and its
/// hex has 40 digits with no leading zero that a parser could drop.
pub fn new_serial() -> Result<([u8; 20], String), PlatformError> {
    let mut bytes = secrets::random_bytes::<20>()?;
    bytes[0] = 0x10 + bytes[0] % 0x70;
    Ok((bytes, hex::encode_upper(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_round_trips_in_any_form() {
        let parts = Authorization {
            mchid: "1900000001".into(),
            nonce_str: "593BEC0C930BF1AFEB40B4A08C8FB242".into(),
            signature: "uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XmUgx9ZLcvUaQUuqcCzjPKZvwTL3LpYCIyq7Wv5wQ0zkgNNmfg==".into(),
            timestamp: "1554208460".into(),
            serial_no: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".into(),
        };
        assert_eq!(parse_authorization(&parts.to_header()), Ok(parts.clone()));
        let reordered = format!(
            "{SIGNATURE_TYPE} serial_no={}, timestamp=\"{}\", signature=\"{}\", nonce_str=\"{}\", mchid=\"{}\"",
            parts.serial_no, parts.timestamp, parts.signature, parts.nonce_str, parts.mchid
        );
        assert_eq!(parse_authorization(&reordered), Ok(parts));
        assert!(parse_authorization("Bearer abc").is_err());
        assert!(parse_authorization(&format!("{SIGNATURE_TYPE} mchid=\"1\"")).is_err());
        assert!(parse_authorization("").is_err());
    }

    #[test]
    fn aead_round_trip_and_tamper() {
        let key = "0123456789abcdefghijABCDEFGHIJ01";
        let sealed = encrypt(key, "0123456789ab", "transaction", b"{\"a\":1}").unwrap();
        assert_eq!(
            decrypt(key, "0123456789ab", "transaction", &sealed).unwrap(),
            b"{\"a\":1}"
        );
        assert!(decrypt(key, "0123456789ab", "refund", &sealed).is_err());
        assert!(decrypt(key, "0123456789ac", "transaction", &sealed).is_err());
        assert!(decrypt("short", "0123456789ab", "transaction", &sealed).is_err());
        assert!(decrypt(key, "short", "transaction", &sealed).is_err());
    }

    #[test]
    fn serials_are_forty_upper_hex_digits() {
        for _ in 0..50 {
            let (bytes, hex) = new_serial().unwrap();
            assert_eq!(hex.len(), 40);
            assert!(
                hex.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            );
            assert!((0x10..0x80).contains(&bytes[0]));
        }
    }

    #[test]
    fn signed_strings() {
        assert_eq!(
            request_message("GET", "/v3/certificates", "1", "n", b""),
            b"GET\n/v3/certificates\n1\nn\n\n"
        );
        assert_eq!(response_message("1", "n", b""), b"1\nn\n\n");
        assert_eq!(
            pay_sign_message("wx1", "2", "n", "prepay_id=wx3"),
            b"wx1\n2\nn\nprepay_id=wx3\n"
        );
    }
}
