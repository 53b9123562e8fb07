//! Alipay's RSA2 (SHA256withRSA) signing rules, in one place:
//!
//! - requests: every parameter but `sign` (so `sign_type` is signed), with
//!   decoded values, sorted by name, joined as `k=v&…`; empty values are
//!   left out as Alipay documents, and the same string with them kept (what
//!   the Node SDK signs) is accepted too;
//! - responses: the exact bytes of the `<method>_response` object, which
//!   goes first in the body with `sign` after it;
//! - notifications: every parameter but `sign` and `sign_type`, empty
//!   values left out.

use std::collections::BTreeMap;

use rsa::RsaPublicKey;

use crate::rsa_keys;

/// `k=v&…` over `params` sorted by name, without the names in `skip` and,
/// unless `keep_empty`, without empty values.
pub(crate) fn content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    skip: &[&str],
    keep_empty: bool,
) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(name, value)| !skip.contains(name) && (keep_empty || !value.is_empty()))
        .collect();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Checks a request's `sign`. On failure returns the string the gateway
/// verified, which Alipay reports in its error to help the caller.
pub(crate) fn verify_request(
    params: &[(String, String)],
    key: &RsaPublicKey,
    sign: &str,
) -> Result<(), String> {
    let pairs = || params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let documented = content(pairs(), &["sign"], false);
    if rsa_keys::verify(key, documented.as_bytes(), sign) {
        return Ok(());
    }
    if params.iter().any(|(_, v)| v.is_empty()) {
        let with_empty = content(pairs(), &["sign"], true);
        if rsa_keys::verify(key, with_empty.as_bytes(), sign) {
            return Ok(());
        }
    }
    Err(documented)
}

/// A gateway answer: `{"<key>":<inner>,"sign":"…"}`, the signature over
/// the inner object's exact bytes.
pub(crate) fn response_body(
    key: &rsa_keys::PrivateKey,
    response_key: &str,
    inner: &serde_json::Map<String, serde_json::Value>,
) -> String {
    // A map of strings and JSON values always serializes.
    let inner = serde_json::to_string(inner).unwrap_or_else(|_| "{}".to_owned());
    let sign = rsa_keys::sign(key, inner.as_bytes());
    let response_key = serde_json::Value::String(response_key.to_owned());
    format!("{{{response_key}:{inner},\"sign\":\"{sign}\"}}")
}

/// A notification body: the parameters and their `sign`, form-encoded.
pub(crate) fn notify_form(key: &rsa_keys::PrivateKey, params: &BTreeMap<&str, String>) -> String {
    let signed = content(
        params.iter().map(|(k, v)| (*k, v.as_str())),
        &["sign", "sign_type"],
        false,
    );
    let sign = rsa_keys::sign(key, signed.as_bytes());
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if !value.is_empty() {
            form.append_pair(name, value);
        }
    }
    form.append_pair("sign", &sign);
    form.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_sorted_and_skips() {
        let params = [
            ("b", "2"),
            ("sign", "x"),
            ("a", "1"),
            ("sign_type", "RSA2"),
            ("c", ""),
        ];
        assert_eq!(content(params, &["sign"], false), "a=1&b=2&sign_type=RSA2");
        assert_eq!(
            content(params, &["sign"], true),
            "a=1&b=2&c=&sign_type=RSA2"
        );
        assert_eq!(content(params, &["sign", "sign_type"], false), "a=1&b=2");
    }
}
