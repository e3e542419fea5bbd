//! The work queue servers pull from.

use crate::assessments::AssessmentOptions;
use crate::remediations::ProposedAction;
use crate::{AssessmentId, ExecutionId, MachineId, ProposalId, TaskId, wire_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

wire_enum! {
    pub enum TaskKind {
        /// Run an assessment (compliance servers offering `compliance_assessment`).
        Assessment = "assessment",
        /// Execute an approved proposal (installers with the capabilities its actions need).
        Execution = "execution",
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimRequest {
    /// The kinds of work wanted; every kind the server can do when absent.
    pub kinds: Option<Vec<TaskKind>>,
    /// 1 to 3600 seconds; 60 when absent.
    pub lease_seconds: Option<u32>,
    /// Wait up to this many seconds (at most 30) for work before answering 204.
    pub wait_seconds: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentTask {
    pub assessment_id: AssessmentId,
    /// The machine to assess: always the claiming server's own.
    pub machine_id: MachineId,
    pub assessment_type: String,
    pub options: AssessmentOptions,
    pub target_servers: Vec<String>,
    pub correlation_id: String,
}

/// What an installer needs to execute: the plaintext actions (env values included), and what
/// it needs to check them against the approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionTask {
    pub execution_id: ExecutionId,
    pub proposal_id: ProposalId,
    /// The machine to change: always the claiming installer's own. An installer that finds
    /// another machine here must refuse the task.
    pub machine_id: MachineId,
    pub dry_run: bool,
    pub rollback_on_failure: bool,
    pub parallel_execution: bool,
    pub actions: Vec<ProposedAction>,
    /// The approved digest; recompute it with `digestSalt`, `digestVersion` and `machineId`
    /// (see `coordinator_api::digest`).
    pub payload_digest: String,
    /// Which canonical form the digest was computed over.
    pub digest_version: u32,
    /// Hex of the salt the env HMACs of the digest are keyed with.
    pub digest_salt: String,
    pub correlation_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_id: TaskId,
    pub kind: TaskKind,
    /// Starts at 1.
    pub attempt: u32,
    pub lease_expires_at: DateTime<Utc>,
    pub assessment: Option<AssessmentTask>,
    pub execution: Option<ExecutionTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResponse {
    pub success: bool,
    pub task: Task,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// New lease length from now; the claim's length when absent.
    pub lease_seconds: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    pub success: bool,
    pub task_id: TaskId,
    pub lease_expires_at: DateTime<Utc>,
}
