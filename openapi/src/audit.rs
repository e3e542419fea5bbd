//! The audit log: reading, exporting and verifying it.

use crate::AuditLogId;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

wire_enum! {
    /// Who did what an audit row records.
    pub enum ActorType {
        User = "user",
        Server = "server",
        /// No valid credentials were presented.
        Anonymous = "anonymous",
        /// The coordinator itself or its command line.
        System = "system",
    }
}

wire_enum! {
    /// How the recorded attempt ended.
    pub enum AuditResult {
        Success = "success",
        /// Refused for lack of credentials or permission, or throttled.
        Denied = "denied",
        /// Attempted and rejected (invalid input, conflict) or failed.
        Failure = "failure",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLog {
    pub id: AuditLogId,
    pub timestamp: DateTime<Utc>,
    /// Username, server id, `anonymous` or `system`.
    pub actor: String,
    pub actor_type: ActorType,
    /// What happened, in snake_case, such as `user_created` or `access_denied`.
    pub action: String,
    /// What it happened to, such as `user:3` or `server:compliance-server`.
    pub target: Option<String>,
    pub result: AuditResult,
    /// Context of the action; secrets are never recorded.
    pub details: serde_json::Value,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    pub correlation_id: Option<String>,
}

/// Filters shared by listing and exporting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor name.
    pub actor: Option<String>,
    /// Exact action name.
    pub action: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    pub result: Option<AuditResult>,
    pub correlation_id: Option<String>,
    /// Rows at or after this instant (RFC 3339).
    pub start_date: Option<DateTime<Utc>>,
    /// Rows at or before this instant (RFC 3339).
    pub end_date: Option<DateTime<Utc>>,
    /// Page size, 1 to 1000; 50 when absent.
    pub limit: Option<u64>,
    /// Rows to skip (offset pages). Ignored when `cursor` is given.
    pub offset: Option<u64>,
    /// The `nextCursor` of the previous page (keyset pages, fast at any depth).
    pub cursor: Option<String>,
    /// Export only: `csv`, `json` or `ndjson`.
    pub format: Option<ExportFormat>,
}

wire_enum! {
    /// Format of an audit export.
    pub enum ExportFormat {
        Csv = "csv",
        Json = "json",
        Ndjson = "ndjson",
    }
}

/// Newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogPage {
    pub success: bool,
    pub logs: Vec<AuditLog>,
    /// Rows matching the filters.
    pub total: u64,
    /// 1-based page number (offset pages; 1 with a cursor).
    pub page: u64,
    pub page_size: u64,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerifyResponse {
    pub success: bool,
    /// `true` when every row is intact, linked in order and nothing is missing.
    pub verified: bool,
    pub checked_rows: u64,
    /// The first row at which the chain breaks.
    pub first_broken_id: Option<AuditLogId>,
    /// Why it breaks there.
    pub reason: Option<String>,
}
