//! What every handler can reach: the database, configuration and shared services.

use crate::audit::AuditKey;
use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::LoginThrottle;
use crate::config::{Config, secret_bytes};
use crate::remediations::sealing::EnvSealer;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    pub audit_key: AuditKey,
    pub throttle: Arc<LoginThrottle>,
    /// Wakes the audit sealer after a commit.
    pub sealer: Arc<Notify>,
    pub env_sealer: Arc<EnvSealer>,
    /// Wakes long-polling claimers when work is queued.
    pub work_available: Arc<Notify>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let jwt = JwtKeys::new(secret_bytes(&config.jwt_secret), config.jwt_expiry);
        let audit_key = AuditKey::new(secret_bytes(&config.audit_key));
        let throttle = LoginThrottle::new(
            config.login_max_failures_per_user,
            config.login_max_failures_per_address,
            config.login_lockout,
        );
        Self {
            db,
            jwt: Arc::new(jwt),
            audit_key,
            throttle: Arc::new(throttle),
            sealer: Arc::new(Notify::new()),
            env_sealer: Arc::new(EnvSealer::new(secret_bytes(&config.encryption_key))),
            work_available: Arc::new(Notify::new()),
            config: Arc::new(config),
        }
    }

    /// Called after a transaction that wrote audit rows has committed.
    pub fn audited(&self) {
        self.sealer.notify_one();
    }

    /// Called after a transaction that queued work has committed.
    pub fn work_queued(&self) {
        self.work_available.notify_waiters();
    }
}
