//! Compliance assessments: requested by people or servers, run by a compliance server,
//! reviewed by an approver.

use crate::approvals::Decision;
use crate::{AssessmentId, ExecutionId, MachineId, Secret, ServerId, wire_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

wire_enum! {
    /// Where an assessment is in its life.
    pub enum AssessmentStatus {
        /// Waiting in the queue for a compliance server.
        Pending = "pending",
        /// A compliance server holds it and is assessing.
        Running = "running",
        /// Results are in and wait for an approver's review.
        Completed = "completed",
        /// An approver accepted the results.
        Approved = "approved",
        /// An approver rejected the results.
        Rejected = "rejected",
        /// No compliance server finished it within the allowed attempts.
        Failed = "failed",
    }
}

wire_enum! {
    /// Whether a server met the policy.
    pub enum ComplianceStatus {
        Compliant = "compliant",
        NonCompliant = "non_compliant",
        /// The server could not be assessed (its configuration is unreadable, say).
        Error = "error",
    }
}

wire_enum! {
    pub enum Severity {
        Critical = "critical",
        Warning = "warning",
        Info = "info",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssessmentOptions {
    #[serde(default = "yes")]
    pub include_details: bool,
    #[serde(default)]
    pub generate_report: bool,
    /// Never honoured: every assessment needs a human review. `true` is accepted, ignored,
    /// and reported as ignored in the answer and the audit log.
    #[serde(default)]
    pub auto_approve: bool,
}

fn yes() -> bool {
    true
}

impl Default for AssessmentOptions {
    fn default() -> Self {
        Self {
            include_details: true,
            generate_report: false,
            auto_approve: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAssessmentRequest {
    /// The caller's idempotency key: the same request again returns the same assessment.
    #[schema(example = "assessment-123")]
    pub request_id: String,
    #[schema(example = "compliance")]
    pub assessment_type: String,
    #[serde(default)]
    pub options: AssessmentOptions,
    /// Names of the MCP servers to assess, inside the machine's configurations; `*` for every
    /// server the compliance server sees.
    #[schema(example = json!(["filesystem", "postgres"]))]
    pub target_servers: Vec<String>,
    /// The machine to assess. May be left out while only one machine has a compliance server.
    #[schema(value_type = Option<String>, example = "ws-07")]
    pub machine_id: Option<MachineId>,
    /// Several machines to assess, or `["*"]` for every machine with a compliance server: one
    /// assessment per machine, sharing one correlation id. Not together with `machineId`.
    #[schema(example = json!(["ws-07", "ws-08"]))]
    pub machine_ids: Option<Vec<String>>,
    /// When the caller made the request; informational.
    pub timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAssessmentResponse {
    pub success: bool,
    /// The assessment, or the first of them when several machines were asked for.
    pub assessment_id: AssessmentId,
    pub machine_id: MachineId,
    pub status: AssessmentStatus,
    /// Always `true`.
    pub requires_approval: bool,
    /// Always `false`.
    pub auto_executed: bool,
    /// `true` when the request asked for `autoApprove` (which is never honoured).
    pub auto_approve_ignored: bool,
    /// Why it is waiting, when it is.
    pub status_detail: Option<String>,
    pub correlation_id: String,
    /// Every assessment the request created, one per machine, in machine order.
    pub assessments: Vec<QueuedAssessment>,
}

/// One of the assessments a request created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedAssessment {
    pub assessment_id: AssessmentId,
    pub machine_id: MachineId,
    pub status: AssessmentStatus,
    pub status_detail: Option<String>,
}

/// One finding about one MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Finding {
    /// The issue code, as listed in `issues`.
    pub issue: String,
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerResult {
    pub status: ComplianceStatus,
    /// Issue codes such as `missing_config` or `security_issue`.
    #[serde(default)]
    pub issues: Vec<String>,
    /// The findings behind the codes, when details were asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultSummary {
    pub total_issues: u32,
    pub critical_issues: u32,
    pub warning_issues: u32,
}

/// What a compliance server found: a summary and, per assessed MCP server, its status and issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssessmentResults {
    pub summary: ResultSummary,
    pub servers: BTreeMap<String, ServerResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub decision: Decision,
    pub reason: String,
    pub reviewed_by: String,
    pub reviewed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    pub assessment_id: AssessmentId,
    /// The machine whose configurations are assessed.
    pub machine_id: MachineId,
    pub request_id: String,
    pub assessment_type: String,
    pub options: AssessmentOptions,
    pub target_servers: Vec<String>,
    pub status: AssessmentStatus,
    pub status_detail: Option<String>,
    pub requested_by: String,
    /// The compliance server that ran (or runs) it.
    #[schema(value_type = Option<String>)]
    pub assigned_server: Option<ServerId>,
    pub correlation_id: String,
    /// Always `true`.
    pub requires_approval: bool,
    /// Always `false`.
    pub auto_executed: bool,
    pub results: Option<AssessmentResults>,
    pub review: Option<Review>,
    /// Set on a re-assessment requested after this execution succeeded.
    pub follows_execution: Option<ExecutionId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentResponse {
    pub success: bool,
    #[serde(flatten)]
    pub assessment: Assessment,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssessmentQuery {
    pub status: Option<AssessmentStatus>,
    /// Exact `assessmentType`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub assessment_type: Option<String>,
    /// Assessments that target this MCP server, or that this compliance server ran.
    pub server: Option<String>,
    /// Assessments of this machine.
    #[param(value_type = Option<String>)]
    pub machine_id: Option<MachineId>,
    pub correlation_id: Option<String>,
    /// 1 to 200; 50 when absent.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// Newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentPage {
    pub success: bool,
    pub assessments: Vec<Assessment>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: Decision,
    pub reason: String,
    /// A fresh approval token of the reviewer's own.
    #[schema(value_type = String)]
    pub approval_token: Secret,
}
