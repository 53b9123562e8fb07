//! Random values and keyed derivations: codes, tokens, session keys,
//! AppSecrets, and the openid/unionid a user gets in an app. Shapes follow
//! WeChat's (32-character codes, 28-character ids starting with `o`, 16-byte
//! base64 session keys) so code that stores or validates them keeps working.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::PlatformError;

type HmacSha256 = Hmac<Sha256>;

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub fn random_bytes<const N: usize>() -> Result<[u8; N], PlatformError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// `len` characters from `[0-9A-Za-z]`, uniformly (rejection sampling, so no
/// character is likelier than another).
pub fn random_alphanumeric(len: usize) -> Result<String, PlatformError> {
    // 62 * 4 = 248: bytes at or above it would skew the distribution.
    const LIMIT: u8 = 248;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<32>()? {
            if byte < LIMIT && out.len() < len {
                out.push(char::from(ALPHANUMERIC[usize::from(byte % 62)]));
            }
        }
    }
    Ok(out)
}

pub fn random_hex(bytes: usize) -> Result<String, PlatformError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
}

/// A one-time code as `wx.login` gives it: 32 alphanumerics.
pub fn new_code() -> Result<String, PlatformError> {
    random_alphanumeric(32)
}

/// 16 random bytes, base64: the AES-128 key of open data.
pub fn new_session_key() -> Result<String, PlatformError> {
    Ok(STANDARD.encode(random_bytes::<16>()?))
}

/// An access token. WeChat's are opaque and up to 512 characters; 64
/// base64url characters carry 384 bits.
pub fn new_access_token() -> Result<String, PlatformError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<48>()?))
}

/// An AppSecret as the WeChat console shows it: 32 hex digits.
pub fn new_app_secret() -> Result<String, PlatformError> {
    random_hex(16)
}

/// An appid shaped like WeChat's: `wx` and 16 hex digits.
pub fn new_appid() -> Result<String, PlatformError> {
    Ok(format!("wx{}", random_hex(8)?))
}

/// A token for the admin API, for a server started without one.
pub fn new_admin_token() -> Result<String, PlatformError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The key identifiers are derived with, stored in the database on first start.
pub fn new_server_key() -> Result<String, PlatformError> {
    random_hex(32)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Equality that takes the same time wherever the inputs differ. Both sides
/// are hashed first so lengths leak nothing either.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; the error case cannot happen.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A 28-character id starting with `o`, derived from the server key so it is
/// stable for its inputs and unguessable without the key. Fields are
/// separated by NUL, which none of them may contain, so `("ab", "c")` and
/// `("a", "bc")` differ.
fn derived_id(server_key: &str, purpose: &str, scope: &str, user: &str) -> String {
    let message = format!("{purpose}\0{scope}\0{user}");
    let digest = hmac_sha256(server_key.as_bytes(), message.as_bytes());
    let encoded = URL_SAFE_NO_PAD.encode(digest);
    format!("o{}", &encoded[..27])
}

/// The openid of a user in an app: one per (app, user).
pub fn openid(server_key: &str, appid: &str, user: &str) -> String {
    derived_id(server_key, "openid", appid, user)
}

/// The unionid of a user under a developer account: one per (developer, user).
pub fn unionid(server_key: &str, developer: &str, user: &str) -> String {
    derived_id(server_key, "unionid", developer, user)
}

/// `hmac_sha256(key = session_key, msg = "")`, hex: the login-state signature
/// `/wxa/checksession` and `/wxa/resetusersessionkey` expect. The key is the
/// base64 text of the session key as the server received it, as WeChat's
/// documentation and the SDKs use it.
pub fn session_signature(session_key: &str) -> String {
    hex::encode(hmac_sha256(session_key.as_bytes(), b""))
}

/// Checks a hex login-state signature in constant time; case-insensitive hex.
pub fn verify_session_signature(session_key: &str, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else {
        return false;
    };
    let mut mac = match HmacSha256::new_from_slice(session_key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(b"");
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_shaped_like_wechat() {
        let a = openid("k", "wx1", "alice");
        assert_eq!(a, openid("k", "wx1", "alice"));
        assert_eq!(a.len(), 28);
        assert!(a.starts_with('o'));
        assert_ne!(a, openid("k", "wx2", "alice"));
        assert_ne!(a, openid("k", "wx1", "bob"));
        assert_ne!(a, openid("other key", "wx1", "alice"));
        assert_ne!(openid("k", "ab", "c"), openid("k", "a", "bc"));
        assert_ne!(a, unionid("k", "wx1", "alice"));
    }

    #[test]
    fn random_values_have_their_shapes() -> Result<(), PlatformError> {
        let code = new_code()?;
        assert_eq!(code.len(), 32);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(code, new_code()?);
        assert_eq!(new_session_key()?.len(), 24);
        assert_eq!(new_app_secret()?.len(), 32);
        assert_eq!(new_appid()?.len(), 18);
        assert_eq!(new_access_token()?.len(), 64);
        Ok(())
    }

    #[test]
    fn session_signature_verifies_in_either_case() {
        let key = "HyVFkGl5F5OQWJZZaNzBBg==";
        let signature = session_signature(key);
        assert_eq!(signature.len(), 64);
        assert!(verify_session_signature(key, &signature));
        assert!(verify_session_signature(key, &signature.to_uppercase()));
        assert!(!verify_session_signature(
            "AAAAAAAAAAAAAAAAAAAAAA==",
            &signature
        ));
        assert!(!verify_session_signature(key, "not hex"));
        assert!(!verify_session_signature(key, ""));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
