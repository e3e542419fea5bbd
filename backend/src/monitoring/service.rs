//! The snapshot and the history `GET /metrics/system` and `/metrics/history` answer.

use super::entity as sample;
use super::recorder::COORDINATOR;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::monitoring::{
    CapacityMetrics, CpuMetrics, MetricsHistoryQuery, MetricsSample, MetricsSnapshot,
    NetworkMetrics, ResponseTime, ServiceHealth, SystemMetrics,
};
use coordinator_api::servers::ServerStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::BTreeMap;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn capacity(total: i64, used: i64) -> CapacityMetrics {
    let (total, used) = (total as f64, used as f64);
    CapacityMetrics {
        total: round(total / GIB),
        used: round(used / GIB),
        free: round((total - used).max(0.0) / GIB),
        usage: if total > 0.0 {
            round(used * 100.0 / total)
        } else {
            0.0
        },
    }
}

pub fn to_wire(row: &sample::Model) -> SystemMetrics {
    SystemMetrics {
        cpu: CpuMetrics {
            usage: round(row.cpu_usage),
            cores: row.cpu_cores.max(0) as u32,
        },
        memory: capacity(row.memory_total, row.memory_used),
        disk: capacity(row.disk_total, row.disk_used),
        network: NetworkMetrics {
            incoming: round(row.network_incoming),
            outgoing: round(row.network_outgoing),
        },
    }
}

fn health(
    state: &AppState,
    service: &str,
    status: ServerStatus,
    uptime: Option<u64>,
) -> ServiceHealth {
    let window = state.recorder.window(service);
    ServiceHealth {
        status,
        uptime,
        response_time: ResponseTime {
            average: round(window.average_ms),
            p95: round(window.p95_ms),
        },
        error_rate: round(window.error_rate),
    }
}

pub async fn snapshot(state: &AppState) -> ApiResult<MetricsSnapshot> {
    let newest = sample::Entity::find()
        .order_by_desc(sample::Column::Timestamp)
        .one(&state.db)
        .await?;
    let mut services = BTreeMap::new();
    let database_ok = state.db.ping().await.is_ok();
    services.insert(
        COORDINATOR.to_owned(),
        health(
            state,
            COORDINATOR,
            if database_ok {
                ServerStatus::Healthy
            } else {
                ServerStatus::Unhealthy
            },
            Some(state.recorder.uptime().as_secs()),
        ),
    );
    for server in crate::servers::service::list(state, &Default::default()).await? {
        let uptime = server.health.as_ref().and_then(|h| h.uptime);
        services.insert(
            server.id.to_string(),
            health(state, server.id.as_str(), server.status, uptime),
        );
    }
    Ok(MetricsSnapshot {
        timestamp: Utc::now(),
        system: newest.as_ref().map(to_wire),
        services,
    })
}

pub async fn history(
    state: &AppState,
    query: &MetricsHistoryQuery,
) -> ApiResult<Vec<MetricsSample>> {
    let limit = query.limit.unwrap_or(720);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::validation("limit must be between 1 and 5000"));
    }
    let since = query
        .since
        .unwrap_or_else(|| Utc::now() - chrono::Duration::hours(1));
    if query.until.is_some_and(|until| until < since) {
        return Err(ApiError::validation("until must not be before since"));
    }
    let mut select = sample::Entity::find()
        .filter(sample::Column::Timestamp.gte(since))
        .order_by_asc(sample::Column::Timestamp)
        .limit(limit);
    if let Some(until) = query.until {
        select = select.filter(sample::Column::Timestamp.lte(until));
    }
    Ok(select
        .all(&state.db)
        .await?
        .iter()
        .map(|row| MetricsSample {
            timestamp: row.timestamp,
            system: to_wire(row),
        })
        .collect())
}
