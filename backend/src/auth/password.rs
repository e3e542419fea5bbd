//! Password hashing: argon2id with parameters pinned here, not taken from library defaults,
//! so an upgrade of the library never silently weakens new hashes.

use anyhow::anyhow;
use argon2::password_hash::phc::PasswordHash;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Hashes running at once. Each takes 19 MiB and a core for tens of milliseconds; a flood of
/// logins waits here instead of exhausting memory and the blocking pool.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores.max(2))
});

async fn on_hashing_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| anyhow!("password hashing pool closed: {e}"))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow!("password hashing task failed: {e}"))
}

/// Memory in KiB, iterations and lanes (OWASP's argon2id minimum).
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params =
        Params::new(M_COST, T_COST, P_COST, None).map_err(|e| anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password against the policy; the message names the rule, never the value.
pub fn check_policy(password: &str) -> Result<(), String> {
    coordinator_api::users::rules::check_password(password)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hasher()?
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow!("hashing a password failed: {e}"))
}

/// Hashes a password on the blocking pool; argon2 takes tens of milliseconds on purpose.
pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    on_hashing_pool(move || hash_blocking(password.expose_secret())).await?
}

/// Whether the password matched, and whether its stored hash is weaker than today's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub matches: bool,
    pub needs_rehash: bool,
}

/// A hash of a random password, checked against when the username does not exist, so that
/// unknown users take as long to refuse as wrong passwords.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut bytes = [0u8; 24];
    rand::fill(&mut bytes);
    hash_blocking(&hex::encode(bytes)).unwrap_or_default()
});

fn verify_blocking(password: &str, stored: Option<&str>) -> Verdict {
    let Some(stored) = stored else {
        let _ = Argon2::default().verify_password(password.as_bytes(), DUMMY_HASH.as_str());
        return Verdict {
            matches: false,
            needs_rehash: false,
        };
    };
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict {
            matches: false,
            needs_rehash: false,
        };
    };
    // The parameters stored in the hash decide how it is checked.
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let weaker = parsed.algorithm != ARGON2ID_IDENT
        || Params::try_from(&parsed)
            .map(|p| p.m_cost() < M_COST || p.t_cost() < T_COST || p.p_cost() < P_COST)
            .unwrap_or(true);
    Verdict {
        matches,
        needs_rehash: matches && weaker,
    }
}

/// Checks `password` against `stored` (or against a dummy hash when there is no such user).
pub async fn verify(password: SecretString, stored: Option<String>) -> anyhow::Result<Verdict> {
    on_hashing_pool(move || verify_blocking(password.expose_secret(), stored.as_deref())).await
}

/// A hash with deliberately weak parameters, for tests of the upgrade on login.
#[doc(hidden)]
pub fn weak_hash_for_tests(password: &str) -> anyhow::Result<String> {
    let params = Params::new(1024, 1, 1, None).map_err(|e| anyhow!("{e}"))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_pinned_argon2id_and_verify() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let ok = verify_blocking("correct horse battery", Some(&hash));
        assert_eq!(
            ok,
            Verdict {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(!verify_blocking("wrong horse battery", Some(&hash)).matches);
        assert!(!verify_blocking("anything", None).matches);
        assert!(!verify_blocking("anything", Some("not a hash")).matches);
    }

    #[test]
    fn weak_hashes_ask_for_an_upgrade() {
        let weak = weak_hash_for_tests("correct horse battery").unwrap();
        let verdict = verify_blocking("correct horse battery", Some(&weak));
        assert_eq!(
            verdict,
            Verdict {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[test]
    fn policy_names_the_rule() {
        assert!(check_policy("short").unwrap_err().contains("12"));
        assert!(check_policy("long enough password").is_ok());
    }
}
