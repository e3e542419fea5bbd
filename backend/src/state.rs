//! What every handler can reach: the database, configuration and shared services.

use crate::audit::AuditKey;
use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::LoginThrottle;
use crate::background::Background;
use crate::config::{Config, secret_bytes};
use crate::db::{UnitOfWork, Wakeups};
use crate::events::EventHub;
use crate::monitoring::Recorder;
use crate::remediations::sealing::EnvSealer;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    pub audit_key: AuditKey,
    pub throttle: Arc<LoginThrottle>,
    /// Fired by commits: the audit sealer, the event relay, long-polling claimers.
    pub wakeups: Wakeups,
    pub env_sealer: Arc<EnvSealer>,
    /// Subscribers of live events in this process.
    pub events: EventHub,
    /// WebSocket subscribers dropped for falling behind.
    pub dropped_slow_consumers: Arc<AtomicU64>,
    pub recorder: Arc<Recorder>,
    /// The loops this application runs beside its server; they end when it shuts down.
    pub background: Background,
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
            wakeups: Wakeups::default(),
            env_sealer: Arc::new(EnvSealer::new(secret_bytes(&config.encryption_key))),
            events: EventHub::default(),
            dropped_slow_consumers: Arc::new(AtomicU64::new(0)),
            recorder: Arc::new(Recorder::new()),
            background: Background::default(),
            config: Arc::new(config),
        }
    }

    /// Begins the transaction of one command; its commit wakes whoever waits for what it
    /// wrote.
    pub async fn begin(&self) -> Result<UnitOfWork, sea_orm::DbErr> {
        UnitOfWork::begin(&self.db, &self.wakeups).await
    }

    pub fn metrics_dropped_slow_consumer(&self) {
        self.dropped_slow_consumers.fetch_add(1, Ordering::Relaxed);
    }
}
