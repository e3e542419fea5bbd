//! Executions: an approved proposal released to an installer, tracked to its end.

use crate::{AssessmentId, ExecutionId, MachineId, ProposalId, Secret, ServerId, wire_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

wire_enum! {
    pub enum ExecutionStatus {
        /// Approved, not yet released with `POST /remediations/execute`.
        Pending = "pending",
        /// Released; waiting for an installer.
        Queued = "queued",
        /// An installer holds it and reports progress.
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        /// Failed, and the installer restored the previous state.
        RolledBack = "rolled_back",
        /// The installer's lease ran out after actions had started: a person must look.
        Interrupted = "interrupted",
    }
}

wire_enum! {
    /// How one action went.
    pub enum ActionStatus {
        Pending = "pending",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Skipped = "skipped",
        RolledBack = "rolled_back",
    }
}

wire_enum! {
    /// How an execution ended, as the installer reports it.
    pub enum ExecutionOutcome {
        Succeeded = "succeeded",
        Failed = "failed",
        RolledBack = "rolled_back",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteRequest {
    pub proposal_id: ProposalId,
    /// A fresh approval token of the caller's own.
    #[schema(value_type = String)]
    pub approval_token: Secret,
    /// Report what would change and change nothing; the approval stays usable.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default = "yes")]
    pub rollback_on_failure: bool,
    #[serde(default)]
    pub parallel_execution: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteResponse {
    pub success: bool,
    pub execution_id: ExecutionId,
    pub status: ExecutionStatus,
    pub dry_run: bool,
    /// Always `false`: the run starts because a person released it.
    pub auto_executed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionCounts {
    /// Actions that reached a final status, whatever it was.
    pub completed: u32,
    pub total: u32,
    /// Actions that made their change and kept it.
    pub successful: u32,
    pub failed: u32,
    /// Actions that changed nothing: everything in a dry run, or what a failure stopped.
    pub skipped: u32,
    /// Actions whose change was undone after a failure.
    pub rolled_back: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionProgress {
    pub action_id: String,
    pub status: ActionStatus,
    pub message: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub execution_id: ExecutionId,
    pub proposal_id: ProposalId,
    /// The machine the actions change.
    pub machine_id: MachineId,
    pub status: ExecutionStatus,
    /// Why it ended as it did, in the installer's words (secrets masked); for an
    /// interrupted run, what the coordinator knows.
    pub message: Option<String>,
    pub dry_run: bool,
    pub rollback_on_failure: bool,
    pub parallel_execution: bool,
    /// Percent of actions finished.
    pub progress: u8,
    pub current_action: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub estimated_completion: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub results: ExecutionCounts,
    pub actions: Vec<ActionProgress>,
    /// What the installer reported at the end: for a dry run, what would change.
    pub report: Option<serde_json::Value>,
    pub payload_digest: String,
    #[schema(value_type = Option<String>)]
    pub installer: Option<ServerId>,
    /// The re-assessment requested when the run succeeded.
    pub reassessment_id: Option<AssessmentId>,
    pub correlation_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResponse {
    pub success: bool,
    #[serde(flatten)]
    pub execution: Execution,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgressRequest {
    pub action_id: String,
    pub status: ActionStatus,
    pub message: Option<String>,
    /// The digest the installer computed over the actions it received.
    pub payload_digest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteRequest {
    pub outcome: ExecutionOutcome,
    pub payload_digest: String,
    pub message: Option<String>,
    /// Free-form report; for a dry run, the changes that would be made.
    pub report: Option<serde_json::Value>,
}
