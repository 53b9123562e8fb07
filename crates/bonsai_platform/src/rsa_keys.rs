//! SHA256withRSA, the one signature scheme both vendors use: WeChat Pay v3
//! (`WECHATPAY2-SHA256-RSA2048`, `paySign`) and Alipay (`RSA2`). Keys travel
//! as PEM text, as the vendors' consoles hand them out: PKCS#8 private keys
//! (`-----BEGIN PRIVATE KEY-----`) and SPKI public keys
//! (`-----BEGIN PUBLIC KEY-----`); PKCS#1 forms are accepted on input because
//! merchants' tooling (openssl genrsa, Alipay's key tool) still writes them.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

use crate::error::PlatformError;

/// The vendors' key size.
const KEY_BITS: usize = 2048;

/// A freshly generated key pair, as PEM.
#[derive(Debug, Clone)]
pub struct KeyPairPem {
    /// PKCS#8.
    pub private_pem: String,
    /// SPKI.
    pub public_pem: String,
}

pub fn generate_key_pair() -> Result<KeyPairPem, PlatformError> {
    let private = RsaPrivateKey::new(&mut rand_core::OsRng, KEY_BITS)
        .map_err(|err| PlatformError::Crypto(format!("RSA key generation failed: {err}")))?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| PlatformError::Crypto(format!("encoding the private key: {err}")))?
        .to_string();
    let public_pem = public_key_pem(&RsaPublicKey::from(&private))?;
    Ok(KeyPairPem {
        private_pem,
        public_pem,
    })
}

/// A parsed private key: the `rsa` crate's (encoding, certificates), and
/// ring's for signing where ring takes the key (2048 to 4096 bits, which
/// every key the platform generates is). ring signs several times faster,
/// and the platform signs every WeChat Pay response and notification.
#[derive(Clone)]
pub struct PrivateKey {
    rsa: RsaPrivateKey,
    ring: Option<Arc<ring::rsa::KeyPair>>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").finish_non_exhaustive()
    }
}

impl PrivateKey {
    pub fn rsa(&self) -> &RsaPrivateKey {
        &self.rsa
    }

    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey::from(&self.rsa)
    }
}

pub fn parse_private_key(pem: &str) -> Result<PrivateKey, PlatformError> {
    let rsa = RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem.trim()))
        .map_err(|err| {
            PlatformError::invalid(
                "private key",
                format!("not an RSA private key in PEM: {err}"),
            )
        })?;
    let ring = rsa
        .to_pkcs8_der()
        .ok()
        .and_then(|der| ring::rsa::KeyPair::from_pkcs8(der.as_bytes()).ok())
        .map(Arc::new);
    Ok(PrivateKey { rsa, ring })
}

pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, PlatformError> {
    RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|err| {
            PlatformError::invalid("public key", format!("not an RSA public key in PEM: {err}"))
        })
}

pub fn public_key_pem(key: &RsaPublicKey) -> Result<String, PlatformError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|err| PlatformError::Crypto(format!("encoding the public key: {err}")))
}

/// The base64 SHA256withRSA (PKCS#1 v1.5) signature of `message`. PKCS#1
/// v1.5 is deterministic, so both implementations give the same bytes.
pub fn sign(key: &PrivateKey, message: &[u8]) -> String {
    if let Some(ring) = &key.ring {
        let mut signature = vec![0; ring.public().modulus_len()];
        let signed = ring.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            message,
            &mut signature,
        );
        // ring fails only without randomness (for blinding); the rsa
        // crate's own signer is then the one to report it.
        if signed.is_ok() {
            return STANDARD.encode(signature);
        }
    }
    let signature = SigningKey::<Sha256>::new(key.rsa.clone()).sign(message);
    STANDARD.encode(signature.to_bytes())
}

/// Whether `signature_base64` is `key`'s SHA256withRSA signature of
/// `message`. Malformed base64 or a signature of the wrong length is simply
/// not valid.
pub fn verify(key: &RsaPublicKey, message: &[u8], signature_base64: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(signature_base64.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_and_the_rsa_crate_sign_alike() {
        let pair = generate_key_pair().unwrap();
        let key = parse_private_key(&pair.private_pem).unwrap();
        assert!(key.ring.is_some(), "ring refused a generated 2048-bit key");
        let without_ring = PrivateKey {
            rsa: key.rsa.clone(),
            ring: None,
        };
        assert_eq!(sign(&key, b"message"), sign(&without_ring, b"message"));
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let pair = generate_key_pair().unwrap();
        let private = parse_private_key(&pair.private_pem).unwrap();
        let public = parse_public_key(&pair.public_pem).unwrap();
        let signature = sign(&private, b"GET\n/v3/certificates\n1\nn\n\n");
        assert!(verify(
            &public,
            b"GET\n/v3/certificates\n1\nn\n\n",
            &signature
        ));
        assert!(!verify(
            &public,
            b"GET\n/v3/certificates\n2\nn\n\n",
            &signature
        ));
        assert!(!verify(&public, b"anything", "not base64!"));
        let other = parse_public_key(&generate_key_pair().unwrap().public_pem).unwrap();
        assert!(!verify(
            &other,
            b"GET\n/v3/certificates\n1\nn\n\n",
            &signature
        ));
        assert!(
            parse_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
