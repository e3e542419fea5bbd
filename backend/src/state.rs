//! What every handler can reach: the database, configuration and shared services.

use crate::audit::AuditKey;
use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::LoginThrottle;
use crate::background::Background;
use crate::config::{Config, secret_bytes};
use crate::events::EventHub;
use crate::monitoring::Recorder;
use crate::remediations::sealing::EnvSealer;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Subscribers of live events in this process.
    pub events: EventHub,
    /// Wakes the event relay after a commit that wrote audit rows.
    pub events_wake: Arc<Notify>,
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
            sealer: Arc::new(Notify::new()),
            env_sealer: Arc::new(EnvSealer::new(secret_bytes(&config.encryption_key))),
            work_available: Arc::new(Notify::new()),
            events: EventHub::default(),
            events_wake: Arc::new(Notify::new()),
            dropped_slow_consumers: Arc::new(AtomicU64::new(0)),
            recorder: Arc::new(Recorder::new()),
            background: Background::default(),
            config: Arc::new(config),
        }
    }

    /// Called after a transaction that wrote audit rows has committed.
    pub fn audited(&self) {
        self.sealer.notify_one();
        self.events_wake.notify_one();
    }

    pub fn metrics_dropped_slow_consumer(&self) {
        self.dropped_slow_consumers.fetch_add(1, Ordering::Relaxed);
    }

    /// Called after a transaction that queued work has committed.
    pub fn work_queued(&self) {
        self.work_available.notify_waiters();
    }
}
