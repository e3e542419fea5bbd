//! User tokens: HS256 JWTs with `iss`, `aud`, `sub`, `iat`, `exp`, `jti` and the user's token
//! version. Only HS256 is accepted: `alg: none` and every other algorithm are refused.

use chrono::{DateTime, Utc};
use coordinator_api::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const ISSUER: &str = "mcp-integration-coordinator";
pub const AUDIENCE: &str = "mcp-integration-coordinator-api";
/// Clock skew tolerated on `exp` and `iat`.
pub const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's token version when the token was issued; bumping it revokes the token.
    pub ver: i64,
}

impl Claims {
    pub fn user_id(&self) -> Option<UserId> {
        self.sub.parse().ok()
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_default()
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

/// A freshly issued token.
pub struct Issued {
    pub token: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

impl JwtKeys {
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }

    pub fn issue(&self, user: UserId, token_version: i64) -> anyhow::Result<Issued> {
        let now = Utc::now();
        let expires_at = now + self.lifetime;
        let mut jti = [0u8; 16];
        rand::fill(&mut jti);
        let claims = Claims {
            sub: user.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: hex::encode(jti),
            ver: token_version,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(Issued {
            token,
            expires_at: claims.expires_at(),
            jti: claims.jti,
        })
    }

    /// Validates signature, algorithm, issuer, audience and expiry.
    pub fn validate(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET, Duration::from_secs(60))
    }

    #[test]
    fn issued_tokens_validate() {
        let issued = keys().issue(UserId(7), 3).unwrap();
        let claims = keys().validate(&issued.token).unwrap();
        assert_eq!(claims.user_id(), Some(UserId(7)));
        assert_eq!(claims.ver, 3);
        assert_eq!(claims.jti, issued.jti);
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let issued = keys().issue(UserId(7), 0).unwrap();
        let payload = issued.token.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(
            keys()
                .validate(&format!("{none_header}.{payload}."))
                .is_err()
        );

        let claims = keys().validate(&issued.token).unwrap();
        let hs384 = encode(
            &Header::new(Algorithm::HS384),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(keys().validate(&hs384).is_err());
    }

    #[test]
    fn wrong_secret_is_refused() {
        let other = JwtKeys::new(
            b"another secret of thirty-two bytes!",
            Duration::from_secs(60),
        );
        let issued = other.issue(UserId(1), 0).unwrap();
        assert!(keys().validate(&issued.token).is_err());
    }
}
