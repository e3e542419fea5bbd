//! Liveness and readiness.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    pub success: bool,
    /// `ok` while the process serves requests.
    pub status: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadyResponse {
    pub success: bool,
    /// `ready` when the database answers.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}
