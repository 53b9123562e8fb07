//! WeChat's "open data" format, as `getUserProfile`/`getUserInfo` hand it to
//! the app and the developer's server checks it: `signature` is
//! `sha1(rawData + session_key)` in hex, and `encryptedData` is the JSON
//! (with a `watermark{appid, timestamp}`) encrypted with AES-128-CBC and
//! PKCS#7 padding, the key being the base64-decoded session key and the IV
//! 16 random bytes sent along base64-encoded.

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenDataError {
    #[error("session_key is not base64 of 16 bytes")]
    SessionKey,
    #[error("iv is not base64 of 16 bytes")]
    Iv,
    #[error("encryptedData is not base64")]
    Ciphertext,
    #[error("encryptedData does not decrypt with this session_key and iv")]
    Decrypt,
}

/// `sha1(rawData + session_key)`, lower-case hex.
pub fn signature(raw_data: &str, session_key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(raw_data.as_bytes());
    sha1.update(session_key.as_bytes());
    hex::encode(sha1.finalize())
}

fn key_of(session_key: &str) -> Result<[u8; 16], OpenDataError> {
    let bytes = STANDARD
        .decode(session_key)
        .map_err(|_| OpenDataError::SessionKey)?;
    bytes.try_into().map_err(|_| OpenDataError::SessionKey)
}

/// Encrypts `plaintext` the way WeChat does; returns `encryptedData` (base64).
pub fn encrypt(
    plaintext: &[u8],
    session_key: &str,
    iv: &[u8; 16],
) -> Result<String, OpenDataError> {
    let key = key_of(session_key)?;
    let cipher = cbc::Encryptor::<Aes128>::new(&key.into(), &(*iv).into());
    Ok(STANDARD.encode(cipher.encrypt_padded_vec_mut::<Pkcs7>(plaintext)))
}

/// Decrypts `encryptedData` as a developer's server does.
pub fn decrypt(
    encrypted_data: &str,
    session_key: &str,
    iv: &str,
) -> Result<Vec<u8>, OpenDataError> {
    let key = key_of(session_key)?;
    let iv: [u8; 16] = STANDARD
        .decode(iv)
        .map_err(|_| OpenDataError::Iv)?
        .try_into()
        .map_err(|_| OpenDataError::Iv)?;
    let data = STANDARD
        .decode(encrypted_data)
        .map_err(|_| OpenDataError::Ciphertext)?;
    cbc::Decryptor::<Aes128>::new(&key.into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&data)
        .map_err(|_| OpenDataError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature example of WeChat's "open data" documentation
    /// (platform-services.md §1 test vector).
    #[test]
    fn documented_signature_vector() {
        let raw_data = r#"{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}"#;
        assert_eq!(
            signature(raw_data, "HyVFkGl5F5OQWJZZaNzBBg=="),
            "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
        );
    }

    /// The decryption sample that ships with WeChat's official demo code
    /// (appid wx4f4bc4dec97d474b).
    #[test]
    fn documented_decryption_vector() -> Result<(), OpenDataError> {
        let session_key = "tiihtNczf5v6AKRyjwEUhQ==";
        let iv = "r7BXXKkLb8qrSNn05n0qiA==";
        let encrypted = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";
        let plain = decrypt(encrypted, session_key, iv)?;
        let value: serde_json::Value =
            serde_json::from_slice(&plain).map_err(|_| OpenDataError::Decrypt)?;
        assert_eq!(value["province"], "Guangdong");
        assert_eq!(value["nickName"], "Band");
        assert_eq!(value["watermark"]["appid"], "wx4f4bc4dec97d474b");
        assert_eq!(value["watermark"]["timestamp"], 1477314187);

        // And our encryption gives back the very same ciphertext.
        let iv_bytes: [u8; 16] = STANDARD
            .decode(iv)
            .map_err(|_| OpenDataError::Iv)?
            .try_into()
            .map_err(|_| OpenDataError::Iv)?;
        assert_eq!(encrypt(&plain, session_key, &iv_bytes)?, encrypted);
        Ok(())
    }

    #[test]
    fn wrong_keys_fail_cleanly() {
        let iv = [7u8; 16];
        let Ok(encrypted) = encrypt(b"{}", "HyVFkGl5F5OQWJZZaNzBBg==", &iv) else {
            panic!("encrypts");
        };
        let iv_b64 = STANDARD.encode(iv);
        assert_eq!(
            decrypt(&encrypted, "HyVFkGl5F5OQWJZZaNzBBg==", &iv_b64),
            Ok(b"{}".to_vec())
        );
        assert_eq!(encrypt(b"{}", "short", &iv), Err(OpenDataError::SessionKey));
        assert_eq!(
            decrypt(&encrypted, "HyVFkGl5F5OQWJZZaNzBBg==", "AAAA"),
            Err(OpenDataError::Iv)
        );
        assert_eq!(
            decrypt("***", "HyVFkGl5F5OQWJZZaNzBBg==", &iv_b64),
            Err(OpenDataError::Ciphertext)
        );
        assert_ne!(
            decrypt(&encrypted, "tiihtNczf5v6AKRyjwEUhQ==", &iv_b64),
            Ok(b"{}".to_vec())
        );
    }
}
