//! The relay from the audit log to this process's subscribers.

use crate::audit::entity::audit_log;
use crate::state::AppState;
use coordinator_api::events::{Channel, EventData, ServerMessage};
use coordinator_api::monitoring::SystemMetrics;
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use secrecy::ExposeSecret;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The Postgres channel that carries new audit row ids between replicas.
pub const NOTIFY_CHANNEL: &str = "coordinator_audit";
/// Events kept for subscribers that read slowly; one that falls further behind is told to
/// resync from the log, so no connection can make the process hold more than this.
const BUFFER: usize = 1024;
/// How far below the newest id the relay looks again: on Postgres ids are taken before
/// commit, so a row can become visible after a higher-numbered one.
const LOOKBACK: i64 = 256;
const BATCH: u64 = 500;

/// One committed audit row, ready to send.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    /// The channel of its kind (assessments, …), if any; every event is on `audit` too.
    pub channel: Option<Channel>,
    pub action: String,
    pub ts: chrono::DateTime<chrono::Utc>,
    pub correlation_id: Option<String>,
    pub data: EventData,
}

impl Event {
    pub fn from_row(row: audit_log::Model) -> Self {
        let channel = Channel::of(&row.action, row.target.as_deref());
        Self {
            id: row.id.0,
            channel,
            ts: row.timestamp,
            correlation_id: row.correlation_id,
            data: EventData {
                actor: row.actor,
                actor_type: row.actor_type,
                target: row.target,
                result: row.result,
                details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
            },
            action: row.action,
        }
    }

    pub fn on(&self, channel: Channel) -> bool {
        channel == Channel::Audit || self.channel == Some(channel)
    }

    pub fn message(&self, channel: Channel) -> ServerMessage {
        ServerMessage::Event {
            channel,
            event: self.action.clone(),
            id: self.id,
            ts: self.ts,
            correlation_id: self.correlation_id.clone(),
            data: self.data.clone(),
        }
    }
}

/// Machine samples waiting for a subscriber; a reader further behind skips to the newest.
const SAMPLE_BUFFER: usize = 8;

#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<Arc<Event>>,
    samples: broadcast::Sender<Arc<ServerMessage>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
            samples: broadcast::channel(SAMPLE_BUFFER).0,
        }
    }
}

impl EventHub {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn subscribe_samples(&self) -> broadcast::Receiver<Arc<ServerMessage>> {
        self.samples.subscribe()
    }

    /// Hands a machine sample of this process to its `metrics` subscribers.
    pub fn publish_sample(&self, ts: chrono::DateTime<chrono::Utc>, system: SystemMetrics) {
        // Nobody listening is fine: `/metrics/history` keeps the samples.
        let _ = self.samples.send(Arc::new(ServerMessage::Metrics {
            channel: Channel::Metrics,
            ts,
            system,
        }));
    }

    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// Audit rows after `after`, oldest first.
pub async fn rows_after(
    state: &AppState,
    after: i64,
    limit: u64,
) -> Result<Vec<audit_log::Model>, sea_orm::DbErr> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Id.gt(after))
        .order_by_asc(audit_log::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await
}

async fn newest_id(state: &AppState) -> i64 {
    audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .map_or(0, |row| row.id.0)
}

/// Waits for Postgres notifications on a connection of its own; reconnects when it drops.
async fn listen(state: AppState, wake: Arc<tokio::sync::Notify>) {
    let crate::config::DatabaseConfig::Postgres { url } = &state.config.database else {
        return;
    };
    loop {
        match sea_orm::sqlx::postgres::PgListener::connect(url.expose_secret()).await {
            Ok(mut listener) => {
                if let Err(err) = listener.listen(NOTIFY_CHANNEL).await {
                    tracing::warn!(error = %err, "listening for audit notifications failed");
                } else {
                    while listener.recv().await.is_ok() {
                        wake.notify_one();
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot open the notification connection"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Tails the audit log until the application shuts down.
pub fn spawn_relay(state: AppState) {
    let wake = state.wakeups.events.clone();
    let background = state.background.clone();
    if state.db.get_database_backend() == DbBackend::Postgres {
        background.spawn(listen(state.clone(), wake.clone()));
    }
    background.spawn(async move {
        let mut last = newest_id(&state).await;
        let mut published: BTreeSet<i64> = BTreeSet::new();
        loop {
            tokio::select! {
                _ = wake.notified() => {}
                // A notice can be lost with a dropped listener connection: look anyway.
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            loop {
                let floor = (last - LOOKBACK).max(0);
                let rows = match rows_after(&state, floor, BATCH + LOOKBACK as u64).await {
                    Ok(rows) => rows,
                    Err(err) => {
                        tracing::warn!(error = %err, "reading new audit rows failed");
                        break;
                    }
                };
                let before = last;
                for row in rows {
                    let id = row.id.0;
                    last = last.max(id);
                    if id > floor && published.insert(id) {
                        // Nobody listening is fine: the log keeps it for `since`.
                        let _ = state.events.sender.send(Arc::new(Event::from_row(row)));
                    }
                }
                published = published.split_off(&(last - LOOKBACK).max(0));
                if last - before < BATCH as i64 {
                    break;
                }
            }
        }
    });
}
