//! System metrics and the health of every service, in the shape the specification gives.

use crate::servers::ServerStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CpuMetrics {
    /// Percent of all cores.
    pub usage: f64,
    pub cores: u32,
}

/// Sizes in GiB; `usage` in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityMetrics {
    pub total: f64,
    pub used: f64,
    pub free: f64,
    pub usage: f64,
}

/// Bytes per second over the last sampling interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkMetrics {
    pub incoming: f64,
    pub outgoing: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetrics {
    pub cpu: CpuMetrics,
    pub memory: CapacityMetrics,
    pub disk: CapacityMetrics,
    pub network: NetworkMetrics,
}

/// Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseTime {
    pub average: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHealth {
    pub status: ServerStatus,
    /// Seconds.
    pub uptime: Option<u64>,
    /// Of the service's requests to the coordinator over the last minutes (for the
    /// coordinator itself: of every request it answered).
    pub response_time: ResponseTime,
    /// Percent of those requests that failed.
    pub error_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSnapshot {
    pub timestamp: DateTime<Utc>,
    /// The newest sample; absent until the first one is taken.
    pub system: Option<SystemMetrics>,
    /// `integration-coordinator` and every registered server, by id.
    pub services: BTreeMap<String, ServiceHealth>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetricsResponse {
    pub success: bool,
    pub metrics: MetricsSnapshot,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MetricsHistoryQuery {
    /// Samples at or after this instant; one hour ago when absent.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// 1 to 5000; 720 when absent.
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSample {
    pub timestamp: DateTime<Utc>,
    pub system: SystemMetrics,
}

/// Oldest first, for charts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsHistoryResponse {
    pub success: bool,
    pub samples: Vec<MetricsSample>,
}
