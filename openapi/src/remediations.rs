//! Remediation proposals: what should change, how risky it is, and who has decided.

use crate::approvals::ApprovalRecord;
use crate::{AssessmentId, AssessmentRef, ExecutionId, MachineId, ProposalId, Secret, wire_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

wire_enum! {
    pub enum Priority {
        Critical = "critical",
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

wire_enum! {
    /// What an action does to an MCP client configuration.
    pub enum ActionType {
        InstallServer = "install_server",
        RemoveServer = "remove_server",
        UpdateServer = "update_server",
        GenerateConfig = "generate_config",
    }
}

wire_enum! {
    pub enum ProposalStatus {
        /// Waiting for approvers.
        Pending = "pending",
        /// Enough approvers approved; an execution exists.
        Approved = "approved",
        /// An approver rejected it.
        Rejected = "rejected",
        /// Nobody decided in time.
        Expired = "expired",
        /// A (non dry) run finished successfully.
        Executed = "executed",
        /// A run failed or was rolled back.
        Failed = "failed",
    }
}

wire_enum! {
    pub enum Level {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

/// One proposed action, as submitted and as handed to the installer that executes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposedAction {
    /// Unique within the proposal.
    #[schema(example = "action-1")]
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: ActionType,
    /// The MCP server entry the action is about.
    #[schema(example = "postgres")]
    pub server_name: String,
    /// Required for install and update.
    #[schema(example = "npx")]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment of the MCP server. Values are secret: encrypted at rest and never shown.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub env: BTreeMap<String, Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposeRequest {
    /// The assessment: its id, or the `requestId` it was requested under.
    pub assessment_id: AssessmentRef,
    /// The machine to change. The proposal is about its assessment's machine; when given,
    /// this must name that same machine.
    #[schema(value_type = Option<String>, example = "ws-07")]
    pub machine_id: Option<MachineId>,
    #[serde(default)]
    pub issues: Vec<String>,
    pub priority: Priority,
    /// Never honoured: every proposal needs human approval. `true` is accepted, ignored and
    /// reported as ignored.
    #[serde(default)]
    pub auto_approve: bool,
    pub proposed_actions: Vec<ProposedAction>,
    /// How to undo the change if it goes wrong, in words.
    pub rollback_plan: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    pub impact: Level,
    pub effort: Level,
    pub success_rate: Level,
    /// Why, rule by rule.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposeResponse {
    pub success: bool,
    pub proposal_id: ProposalId,
    /// The machine the actions will change.
    pub machine_id: MachineId,
    pub status: ProposalStatus,
    /// Always `true`.
    pub requires_approval: bool,
    /// Always `false`.
    pub auto_executed: bool,
    pub auto_approve_ignored: bool,
    pub payload_digest: String,
    pub risk: Risk,
    pub approvals_required: u32,
    pub expires_at: DateTime<Utc>,
    pub correlation_id: String,
}

/// An env value as everyone but the executing installer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaskedValue {
    /// Always `••••`.
    pub masked: String,
    /// A short keyed fingerprint: equal values show equal fingerprints.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaskedAction {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: ActionType,
    pub server_name: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, MaskedValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub proposal_id: ProposalId,
    pub assessment_id: AssessmentId,
    /// The machine the actions will change; covered by the payload digest.
    pub machine_id: MachineId,
    pub status: ProposalStatus,
    pub priority: Priority,
    pub issues: Vec<String>,
    pub proposed_actions: Vec<MaskedAction>,
    pub rollback_plan: Option<String>,
    pub payload_digest: String,
    pub risk: Risk,
    pub approvals_required: u32,
    pub approvals_received: u32,
    pub approvals: Vec<ApprovalRecord>,
    pub proposed_by: String,
    pub correlation_id: String,
    /// The latest execution, once approved.
    pub execution_id: Option<ExecutionId>,
    /// Always `true`.
    pub requires_approval: bool,
    /// Always `false`.
    pub auto_executed: bool,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProposalResponse {
    pub success: bool,
    #[serde(flatten)]
    pub proposal: Proposal,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    pub status: Option<ProposalStatus>,
    pub priority: Option<Priority>,
    pub assessment_id: Option<AssessmentId>,
    /// Proposals for this machine.
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
pub struct ProposalPage {
    pub success: bool,
    pub proposals: Vec<Proposal>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}
