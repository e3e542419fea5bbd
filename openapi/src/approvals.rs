//! Approval tokens and approvers' decisions on remediation proposals.

use crate::remediations::ProposalStatus;
use crate::{ApprovalId, ExecutionId, ProposalId, Secret, wire_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

wire_enum! {
    /// A human decision.
    pub enum Decision {
        Approved = "approved",
        Rejected = "rejected",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalTokenRequest {
    /// Why the token is wanted; recorded in the audit log.
    #[schema(example = "Approving security remediation")]
    pub reason: String,
    /// When the token stops working; capped by the configured maximum (15 minutes by default).
    pub expires_at: Option<DateTime<Utc>>,
    /// Bind the token to one proposal.
    pub proposal_id: Option<ProposalId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalTokenResponse {
    pub success: bool,
    /// Single use, for the caller only. Shown this once.
    #[schema(value_type = String)]
    pub approval_token: Secret,
    pub expires_at: DateTime<Utc>,
    pub proposal_id: Option<ProposalId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The caller's own reference for this decision; recorded, not interpreted.
    pub approval_id: Option<String>,
    pub proposal_id: ProposalId,
    pub decision: Decision,
    pub reason: String,
    #[schema(value_type = String)]
    pub approval_token: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalResponse {
    pub success: bool,
    pub approval_id: ApprovalId,
    pub decision: Decision,
    /// Distinct approvals so far.
    pub approvals_received: u32,
    pub approvals_required: u32,
    pub proposal_status: ProposalStatus,
    /// The pending execution created when the last required approval arrived.
    pub execution_id: Option<ExecutionId>,
    /// The digest of the actions this decision is about.
    pub payload_digest: String,
}

/// One approver's recorded decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    pub approval_id: ApprovalId,
    pub approver: String,
    pub decision: Decision,
    pub reason: String,
    pub payload_digest: String,
    pub decided_at: DateTime<Utc>,
}
