//! Provider keys at rest: AES-256-GCM under the configured master key, a random 96-bit nonce
//! per key, and the provider and version as associated data, so a ciphertext moved to another
//! row no longer opens.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use radiant_config::{ExposeSecret, Secret};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("must be 32 bytes in base64")]
    BadMasterKey,
    #[error("the credential does not open under the master key")]
    CannotOpen,
}

#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("MasterKey(..)")
    }
}

fn associated_data(provider_id: &str, version: i32) -> Vec<u8> {
    format!("radiant.registry.credential:{provider_id}:{version}").into_bytes()
}

impl MasterKey {
    pub fn from_config(secret: &Secret) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret.expose_secret().trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadMasterKey);
        }
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)),
        })
    }

    /// (nonce, ciphertext with tag).
    pub fn seal(&self, provider_id: &str, version: i32, plaintext: &str) -> (Vec<u8>, Vec<u8>) {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(provider_id, version);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of a bounded message cannot fail");
        (nonce.to_vec(), ciphertext)
    }

    pub fn open(
        &self,
        provider_id: &str,
        version: i32,
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<String, CryptoError> {
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::CannotOpen)?;
        let aad = associated_data(provider_id, version);
        let plaintext = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::CannotOpen)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::CannotOpen)
    }
}

/// The last four characters of a key, for recognizing it in lists.
pub fn key_hint(api_key: &str) -> String {
    let characters: Vec<char> = api_key.chars().collect();
    let tail: String = characters[characters.len().saturating_sub(4)..]
        .iter()
        .collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_config(&Secret::from(
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ))
        .unwrap()
    }

    #[test]
    fn sealed_keys_open_only_for_their_row() {
        let key = key();
        let (nonce, ciphertext) = key.seal("openai", 1, "sk-secret-1234");
        assert!(!ciphertext.windows(6).any(|window| window == b"secret"));
        assert_eq!(
            key.open("openai", 1, &nonce, &ciphertext).unwrap(),
            "sk-secret-1234"
        );
        assert!(key.open("openai", 2, &nonce, &ciphertext).is_err());
        assert!(key.open("anthropic", 1, &nonce, &ciphertext).is_err());
        let (other_nonce, _) = key.seal("openai", 1, "sk-secret-1234");
        assert_ne!(nonce, other_nonce);
    }

    #[test]
    fn master_keys_must_be_32_bytes() {
        assert!(MasterKey::from_config(&Secret::from("c2hvcnQ=".to_string())).is_err());
        assert_eq!(key_hint("sk-abcdef"), "…cdef");
        assert_eq!(key_hint("ab"), "…ab");
    }
}
