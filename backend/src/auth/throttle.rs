//! Slows down password guessing: after too many failed logins for one username, or from one
//! client address, further attempts are refused (429) until the window passes.
//!
//! The client address is the connection's peer unless that peer is a trusted proxy, so a
//! made-up `X-Forwarded-For` changes nothing. Counts live in the database table
//! `login_failures`, one row per username and per address, so every replica sees the same
//! counts: several replicas behind a load balancer give a guesser no more tries than one.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Expired rows are swept out once every this many attempts, which bounds the table under a
/// spray of made-up usernames without a job of its own.
const SWEEP_EVERY: u64 = 500;

/// Counts one more attempt for a subject in one statement, so attempts made at the same
/// moment on any replica each get their own count: a window that has passed starts again.
const COUNT: &str = "INSERT INTO login_failures (subject, failures, window_start_ms) \
     VALUES ($1, 1, $2) \
     ON CONFLICT (subject) DO UPDATE SET \
     failures = CASE WHEN login_failures.window_start_ms <= $3 THEN 1 \
                     ELSE login_failures.failures + 1 END, \
     window_start_ms = CASE WHEN login_failures.window_start_ms <= $3 THEN $2 \
                            ELSE login_failures.window_start_ms END \
     RETURNING failures, window_start_ms";

const GIVE_BACK: &str = "UPDATE login_failures SET failures = failures - 1 \
     WHERE subject = $1 AND failures > 0";
const FORGET: &str = "DELETE FROM login_failures WHERE subject = $1";
const SWEEP: &str = "DELETE FROM login_failures WHERE window_start_ms <= $1";

pub struct LoginThrottle {
    max_per_user: u32,
    max_per_address: u32,
    window: Duration,
    attempts: AtomicU64,
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Both backends number parameters `$1`, `$2`… (SQLite takes them as numbered too).
fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// Subjects are digests: whatever was typed as a username (a password, a NUL byte, pages of
/// text) is neither stored nor able to break the statement, and every key has one length.
fn subject(kind: &str, value: &str) -> String {
    format!("{kind}:{}", hex::encode(Sha256::digest(value.as_bytes())))
}

fn user_subject(username: &str) -> String {
    subject("user", &username.to_lowercase())
}

fn address_subject(address: &str) -> String {
    subject("address", address)
}

impl LoginThrottle {
    pub fn new(max_per_user: u32, max_per_address: u32, window: Duration) -> Self {
        Self {
            max_per_user,
            max_per_address,
            window,
            attempts: AtomicU64::new(0),
        }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Counts an attempt for `subject`; the wait left when that makes it more than `max`.
    async fn count(
        &self,
        db: &DatabaseConnection,
        subject: String,
        max: u32,
    ) -> Result<Option<Duration>, DbErr> {
        let now = now_ms();
        let expired_before = now.saturating_sub(self.window_ms());
        let row = db
            .query_one_raw(statement(
                db,
                COUNT,
                vec![subject.into(), now.into(), expired_before.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the login_failures count".to_owned()))?;
        let failures: i32 = row.try_get("", "failures")?;
        let window_start: i64 = row.try_get("", "window_start_ms")?;
        let over = u32::try_from(failures).unwrap_or(0) > max;
        let left_ms = window_start
            .saturating_add(self.window_ms())
            .saturating_sub(now);
        Ok(over.then(|| Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))))
    }

    /// Counts an attempt as it starts, before the password is checked, so parallel guesses
    /// (on any replica) are counted too. `Some(retry_after)` when it must be refused
    /// without checking; a refused attempt counts as well, but never extends the window.
    ///
    /// The address is counted first, and an address over its limit touches no username:
    /// otherwise one client could go on to lock every account it can name, and fill the
    /// table with the names it makes up.
    pub async fn begin(
        &self,
        db: &DatabaseConnection,
        username: &str,
        address: &str,
    ) -> Result<Option<Duration>, DbErr> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let expired_before = now_ms().saturating_sub(self.window_ms());
            // Housekeeping: a failure here must not fail the sign-in it happened during.
            if let Err(error) = db
                .execute_raw(statement(db, SWEEP, vec![expired_before.into()]))
                .await
            {
                tracing::warn!(%error, "could not sweep expired sign-in counts");
            }
        }
        let address = self
            .count(db, address_subject(address), self.max_per_address)
            .await?;
        if address.is_some() {
            return Ok(address);
        }
        self.count(db, user_subject(username), self.max_per_user)
            .await
    }

    /// A successful login takes its attempt back from the address and clears the username
    /// (one success must not reset a spray across many accounts from the same address).
    /// Runs in the sign-in's own transaction, so it happens exactly when the sign-in does.
    pub async fn succeeded(
        &self,
        txn: &impl ConnectionTrait,
        username: &str,
        address: &str,
    ) -> Result<(), DbErr> {
        txn.execute_raw(statement(txn, FORGET, vec![user_subject(username).into()]))
            .await?;
        txn.execute_raw(statement(
            txn,
            GIVE_BACK,
            vec![address_subject(address).into()],
        ))
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration::{Migrator, MigratorTrait};
    use sea_orm::DbBackend;

    async fn database() -> DatabaseConnection {
        let mut options = sea_orm::ConnectOptions::new("sqlite::memory:");
        // One connection: each connection to `:memory:` is a database of its own.
        options.max_connections(1).sqlx_logging(false);
        let db = sea_orm::Database::connect(options).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        db
    }

    /// How many subjects have a count, of those `condition` selects.
    async fn subjects(db: &DatabaseConnection, condition: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM login_failures WHERE {condition}");
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    #[tokio::test]
    async fn blocks_after_the_limit_per_user_and_per_address() {
        let db = database().await;
        let throttle = LoginThrottle::new(3, 5, Duration::from_secs(60));
        let begin =
            async |user: &str, address: &str| throttle.begin(&db, user, address).await.unwrap();
        for _ in 0..3 {
            assert_eq!(begin("Alice", "10.0.0.1").await, None);
        }
        let wait = begin("ALICE", "10.0.0.9").await;
        assert!(
            wait.is_some_and(|w| w > Duration::from_secs(50)),
            "username limit ignores case and address: {wait:?}"
        );
        assert_eq!(begin("bob", "10.0.0.2").await, None);
        assert_eq!(begin("carl", "10.0.0.1").await, None);
        assert_eq!(begin("dave", "10.0.0.1").await, None);
        assert!(
            begin("erin", "10.0.0.1").await.is_some(),
            "address limit spans usernames"
        );
    }

    #[tokio::test]
    async fn a_blocked_address_cannot_go_on_to_lock_other_accounts() {
        let db = database().await;
        let throttle = LoginThrottle::new(3, 2, Duration::from_secs(60));
        let begin =
            async |user: &str, address: &str| throttle.begin(&db, user, address).await.unwrap();
        assert_eq!(begin("mallory", "10.6.6.6").await, None);
        assert_eq!(begin("mallory", "10.6.6.6").await, None);
        for _ in 0..10 {
            assert!(begin("victim", "10.6.6.6").await.is_some());
        }
        assert_eq!(begin("victim", "10.0.0.1").await, None, "victim locked out");
        // mallory, victim (counted from the second address only) and the two addresses.
        assert_eq!(subjects(&db, "TRUE").await, 4);
    }

    #[tokio::test]
    async fn success_clears_the_username_and_returns_the_attempt() {
        let db = database().await;
        let throttle = LoginThrottle::new(2, 3, Duration::from_secs(60));
        let begin = async || throttle.begin(&db, "alice", "a").await.unwrap();
        assert_eq!(begin().await, None);
        assert_eq!(begin().await, None);
        assert!(begin().await.is_some());
        throttle.succeeded(&db, "alice", "a").await.unwrap();
        assert_eq!(begin().await, None);
        // Successful logins do not use up the address.
        for _ in 0..10 {
            throttle.succeeded(&db, "alice", "a").await.unwrap();
            assert_eq!(begin().await, None);
        }
    }

    #[tokio::test]
    async fn the_window_expires_and_expired_counts_are_swept() {
        let db = database().await;
        let throttle = LoginThrottle::new(1, 1000, Duration::from_millis(50));
        assert_eq!(throttle.begin(&db, "alice", "a").await.unwrap(), None);
        assert!(throttle.begin(&db, "alice", "a").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(throttle.begin(&db, "alice", "a").await.unwrap(), None);

        tokio::time::sleep(Duration::from_millis(80)).await;
        for i in 0..SWEEP_EVERY {
            throttle.begin(&db, &format!("u{i}"), "a").await.unwrap();
        }
        let alice = format!("subject = '{}'", user_subject("alice"));
        assert_eq!(subjects(&db, &alice).await, 0);
    }
}
