//! Slows down password guessing: after too many failed logins for one username, or from one
//! client address, further attempts are refused (429) until the window passes.
//!
//! The client address is the connection's peer unless that peer is a trusted proxy, so a
//! made-up `X-Forwarded-For` changes nothing. Counts live in this process; with several
//! replicas each one counts on its own, which still caps guesses per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before expired ones are swept out, to bound memory under a spray attack.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
}

pub struct LoginThrottle {
    by_user: Mutex<HashMap<String, Failures>>,
    by_address: Mutex<HashMap<String, Failures>>,
    max_per_user: u32,
    max_per_address: u32,
    window: Duration,
}

impl LoginThrottle {
    pub fn new(max_per_user: u32, max_per_address: u32, window: Duration) -> Self {
        Self {
            by_user: Mutex::default(),
            by_address: Mutex::default(),
            max_per_user,
            max_per_address,
            window,
        }
    }

    fn blocked_for(
        map: &Mutex<HashMap<String, Failures>>,
        key: &str,
        max: u32,
        window: Duration,
    ) -> Option<Duration> {
        let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let failures = map.get(key)?;
        let elapsed = failures.first.elapsed();
        (failures.count >= max && elapsed < window).then(|| window - elapsed)
    }

    fn bump(map: &Mutex<HashMap<String, Failures>>, key: &str, window: Duration) {
        let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, f| f.first.elapsed() < window);
        }
        let now = Instant::now();
        let entry = map.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            first: now,
        });
        if entry.first.elapsed() >= window {
            *entry = Failures {
                count: 0,
                first: now,
            };
        }
        entry.count += 1;
    }

    /// Counts an attempt as it starts, before the password is checked, so parallel guesses
    /// are counted too. `Err(retry_after)` when it must be refused without checking.
    pub fn begin(&self, username: &str, address: &str) -> Result<(), Duration> {
        let user_key = username.to_lowercase();
        let user = Self::blocked_for(&self.by_user, &user_key, self.max_per_user, self.window);
        let addr = Self::blocked_for(&self.by_address, address, self.max_per_address, self.window);
        if let Some(wait) = user.into_iter().chain(addr).max() {
            return Err(wait);
        }
        Self::bump(&self.by_user, &user_key, self.window);
        Self::bump(&self.by_address, address, self.window);
        Ok(())
    }

    /// A successful login takes its attempt back from the address and clears the username
    /// (one success must not reset a spray across many accounts from the same address).
    pub fn succeeded(&self, username: &str, address: &str) {
        self.by_user
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&username.to_lowercase());
        let mut by_address = self
            .by_address
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = by_address.get_mut(address) {
            entry.count = entry.count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_per_user_and_per_address() {
        let throttle = LoginThrottle::new(3, 5, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(throttle.begin("Alice", "10.0.0.1").is_ok());
        }
        assert!(
            throttle.begin("ALICE", "10.0.0.9").is_err(),
            "username limit ignores case and address"
        );
        assert!(throttle.begin("bob", "10.0.0.2").is_ok());
        assert!(throttle.begin("carl", "10.0.0.1").is_ok());
        assert!(throttle.begin("dave", "10.0.0.1").is_ok());
        assert!(
            throttle.begin("erin", "10.0.0.1").is_err(),
            "address limit spans usernames"
        );
    }

    #[test]
    fn success_clears_the_username_and_returns_the_attempt() {
        let throttle = LoginThrottle::new(2, 3, Duration::from_secs(60));
        assert!(throttle.begin("alice", "a").is_ok());
        assert!(throttle.begin("alice", "a").is_ok());
        assert!(throttle.begin("alice", "a").is_err());
        throttle.succeeded("alice", "a");
        assert!(throttle.begin("alice", "a").is_ok());
        // Successful logins do not use up the address.
        for _ in 0..10 {
            throttle.succeeded("alice", "a");
            assert!(throttle.begin("alice", "a").is_ok());
        }
    }

    #[test]
    fn the_window_expires() {
        let throttle = LoginThrottle::new(1, 100, Duration::from_millis(20));
        assert!(throttle.begin("alice", "a").is_ok());
        assert!(throttle.begin("alice", "a").is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(throttle.begin("alice", "a").is_ok());
    }
}
