//! Random bearer secrets (server API keys, enrollment keys) and how they are stored.
//!
//! The secrets carry 256 random bits, so a plain SHA-256 is a safe way to store them: there
//! is nothing to brute-force, and a lookup by hash stays a single indexed query.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What a secret is for; the prefix lets people and secret scanners tell them apart.
#[derive(Debug, Clone, Copy)]
pub enum SecretKind {
    ServerApiKey,
    EnrollmentKey,
    ApprovalToken,
}

impl SecretKind {
    fn prefix(self) -> &'static str {
        match self {
            SecretKind::ServerApiKey => "mcs_",
            SecretKind::EnrollmentKey => "mce_",
            SecretKind::ApprovalToken => "mca_",
        }
    }
}

pub fn generate(kind: SecretKind) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes))
}

/// The form a secret is stored and looked up in.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_prefixed() {
        let a = generate(SecretKind::ServerApiKey);
        let b = generate(SecretKind::ServerApiKey);
        assert_ne!(a, b);
        assert!(a.starts_with("mcs_") && a.len() == 4 + 43);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&b));
    }
}
