//! Env values at rest: sealed with AES-256-GCM under `ENCRYPTION_KEY`, shown to people only
//! as `••••` and a short keyed fingerprint. Only the installer that claims an execution ever
//! receives them opened.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use coordinator_api::remediations::MaskedValue;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

const FORMAT: &str = "v1:";
const NONCE_BYTES: usize = 12;

/// One env value as stored: ciphertext and fingerprint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedValue {
    /// `v1:` + base64 of nonce and ciphertext.
    pub sealed: String,
    pub fingerprint: String,
}

impl fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedValue({})", self.fingerprint)
    }
}

impl SealedValue {
    pub fn masked(&self) -> MaskedValue {
        MaskedValue {
            masked: "••••".to_owned(),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("an env value could not be sealed")]
    Seal,
    #[error(
        "an env value could not be opened: wrong ENCRYPTION_KEY, or the stored value was altered"
    )]
    Open,
}

/// Seals and opens env values. Never printed.
pub struct EnvSealer {
    cipher: Aes256Gcm,
    fingerprint_key: [u8; 32],
}

impl fmt::Debug for EnvSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvSealer(..)")
    }
}

fn derive(secret: &[u8], purpose: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(secret);
    hasher.finalize().into()
}

impl EnvSealer {
    pub fn new(secret: &[u8]) -> Self {
        let key = derive(secret, "coordinator-env-encryption-v1");
        Self {
            cipher: Aes256Gcm::new(&key.into()),
            fingerprint_key: derive(secret, "coordinator-env-fingerprint-v1"),
        }
    }

    /// A short keyed fingerprint: equal values match, and nothing about the value leaks.
    pub fn fingerprint(&self, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.fingerprint_key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..6])
    }

    /// Seals `value` for the env variable `name`; the name is bound in, so values cannot be
    /// moved between variables unnoticed.
    pub fn seal(&self, name: &str, value: &str) -> Result<SealedValue, SealingError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| SealingError::Seal)?;
        let mut blob = nonce.to_vec();
        blob.extend(ciphertext);
        Ok(SealedValue {
            sealed: format!("{FORMAT}{}", STANDARD.encode(blob)),
            fingerprint: self.fingerprint(value),
        })
    }

    pub fn open(&self, name: &str, sealed: &SealedValue) -> Result<String, SealingError> {
        let blob = sealed
            .sealed
            .strip_prefix(FORMAT)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|blob| blob.len() > NONCE_BYTES)
            .ok_or(SealingError::Open)?;
        let (nonce, ciphertext) = blob.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealingError::Open)?;
        let plaintext = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| SealingError::Open)?;
        String::from_utf8(plaintext).map_err(|_| SealingError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_never_show() {
        let sealer = EnvSealer::new(b"an encryption key of thirty-two bytes!");
        let sealed = sealer
            .seal("DATABASE_URL", "postgresql://u:s3cret@h/db")
            .unwrap();
        assert!(!sealed.sealed.contains("s3cret"));
        assert!(!format!("{sealed:?}").contains("s3cret"));
        assert_eq!(
            sealer.open("DATABASE_URL", &sealed).unwrap(),
            "postgresql://u:s3cret@h/db"
        );
        assert_eq!(
            sealed.fingerprint,
            sealer.fingerprint("postgresql://u:s3cret@h/db")
        );
        assert_eq!(sealed.fingerprint.len(), 12);
        // Sealing twice gives different ciphertexts but the same fingerprint.
        let again = sealer
            .seal("DATABASE_URL", "postgresql://u:s3cret@h/db")
            .unwrap();
        assert_ne!(again.sealed, sealed.sealed);
        assert_eq!(again.fingerprint, sealed.fingerprint);
    }

    #[test]
    fn a_value_cannot_be_opened_under_another_name_or_key() {
        let sealer = EnvSealer::new(b"an encryption key of thirty-two bytes!");
        let sealed = sealer.seal("API_TOKEN", "tok").unwrap();
        assert!(sealer.open("OTHER", &sealed).is_err());
        let other = EnvSealer::new(b"a different key of thirty-two bytes!!!");
        assert!(other.open("API_TOKEN", &sealed).is_err());
    }
}
