//! The server registry: enrollment keys, registration, status and pings.

use crate::{EnrollmentKeyId, MachineId, Secret, ServerId, ServerKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollmentKeyRequest {
    /// Restrict the key to one kind of server; any kind when absent.
    pub kind: Option<ServerKind>,
    /// Restrict the key to servers of one machine; any machine when absent.
    #[schema(value_type = Option<String>, example = "ws-07")]
    pub machine_id: Option<MachineId>,
    /// When the key stops working; 24 hours from now when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentKeyResponse {
    pub success: bool,
    pub id: EnrollmentKeyId,
    /// Shown this once; only its hash is stored.
    #[schema(value_type = String)]
    pub enrollment_key: Secret,
    pub kind: Option<ServerKind>,
    pub machine_id: Option<MachineId>,
    pub expires_at: DateTime<Utc>,
}

/// The tool a compliance server must offer to be given assessments.
pub const ASSESSMENT_TOOL: &str = "compliance_assessment";

/// How a person can be reached about an installer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

crate::wire_enum! {
    /// Health as a server reports it.
    pub enum HealthStatus {
        Healthy = "healthy",
        Degraded = "degraded",
        Unhealthy = "unhealthy",
    }
}

crate::wire_enum! {
    /// Status of a server as the registry sees it.
    pub enum ServerStatus {
        Healthy = "healthy",
        Degraded = "degraded",
        Unhealthy = "unhealthy",
        /// Registered but has not reported health yet.
        Unknown = "unknown",
        /// Silent for longer than the configured window.
        Unreachable = "unreachable",
    }
}

/// A server's own account of its health, as sent at registration and in pings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthReport {
    pub status: HealthStatus,
    /// Seconds the server has been up.
    pub uptime: Option<u64>,
    pub last_check: Option<DateTime<Utc>>,
}

/// Registration of an installer (`installerId`, `capabilities`, `contact`) or of a compliance
/// server (`serverId`, `tools`, `health`). Exactly one of `installerId` and `serverId` is given;
/// it decides the kind. Registering again under the same id rotates the API key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterServerRequest {
    #[schema(value_type = Option<String>, example = "generic-mcp-installer")]
    pub installer_id: Option<ServerId>,
    #[schema(value_type = Option<String>, example = "compliance-server")]
    pub server_id: Option<ServerId>,
    /// The machine whose MCP client configurations the server looks after, usually its host
    /// name; the machine `default` when absent. Only work about this machine is offered to it.
    #[schema(value_type = Option<String>, example = "ws-07")]
    pub machine_id: Option<MachineId>,
    #[schema(example = "1.0.0")]
    pub version: String,
    /// Installer capabilities such as `install_server`, `remove_server`, `generate_config`.
    pub capabilities: Option<Vec<String>>,
    pub contact: Option<Contact>,
    /// Compliance tools such as `compliance_assessment`.
    pub tools: Option<Vec<String>>,
    pub health: Option<HealthReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterServerResponse {
    pub success: bool,
    #[schema(value_type = String)]
    pub server_id: ServerId,
    pub kind: ServerKind,
    /// The server's own key for `X-API-Key`; shown this once, only its hash is stored.
    #[schema(value_type = String)]
    pub api_key: Secret,
    /// `true` when an earlier registration existed and its key no longer works.
    pub rotated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    #[schema(value_type = String)]
    pub id: ServerId,
    pub kind: ServerKind,
    /// The machine the server works on.
    pub machine_id: MachineId,
    pub version: String,
    pub capabilities: Vec<String>,
    pub tools: Vec<String>,
    pub contact: Option<Contact>,
    /// The last health the server reported.
    pub health: Option<HealthReport>,
    /// The reported health, or `unreachable` when the server has been silent too long.
    pub status: ServerStatus,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerResponse {
    pub success: bool,
    pub server: Server,
}

/// Filters of `GET /servers`; every server when none is given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServerQuery {
    /// Servers on this machine.
    #[param(value_type = Option<String>)]
    pub machine_id: Option<MachineId>,
    pub kind: Option<ServerKind>,
    pub status: Option<ServerStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerListResponse {
    pub success: bool,
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PingRequest {
    pub health: Option<HealthReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingResponse {
    pub success: bool,
    #[schema(value_type = String)]
    pub server_id: ServerId,
    pub status: ServerStatus,
    pub last_seen_at: DateTime<Utc>,
}

/// Whether a server is heard from, for whoever may read the registry
/// (`GET /servers/{id}/ping`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReachabilityResponse {
    pub success: bool,
    #[schema(value_type = String)]
    pub server_id: ServerId,
    pub status: ServerStatus,
    /// When it last pinged (or registered, if it never pinged).
    pub last_seen_at: Option<DateTime<Utc>>,
    /// `false` once it has been silent longer than the configured window.
    pub reachable: bool,
}

impl ReachabilityResponse {
    pub fn of(server: &Server) -> Self {
        Self {
            success: true,
            server_id: server.id.clone(),
            status: server.status,
            last_seen_at: server.last_seen_at,
            reachable: server.status != ServerStatus::Unreachable,
        }
    }
}
