//! Approvers' decisions on remediation proposals.

//!
//! Who may decide is the workflow's rule (`workflow::rules`); what a decision that completes
//! the quorum sets in motion is the workflow's too (`workflow::decisions`).

use super::entity::approval;
use crate::audit::{Origin, record};
use crate::auth::approval_tokens::{self as tokens, Purpose};
use crate::db::UnitOfWork;
use crate::error::{ApiError, ApiResult};
use crate::remediations::entity as proposal;
use crate::remediations::service as remediations;
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::approvals::{ApprovalRequest, Decision};
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::remediations::ProposalStatus;
use coordinator_api::{ErrorCode, ExecutionId, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;

const MAX_REASON_CHARS: usize = 2000;

/// The reason of a decision, checked.
pub fn checked_reason(request: &ApprovalRequest) -> ApiResult<String> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::validation(format!(
            "reason must be 1 to {MAX_REASON_CHARS} characters"
        )));
    }
    if request.approval_id.as_ref().is_some_and(|r| r.len() > 128) {
        return Err(ApiError::validation("approvalId: at most 128 characters"));
    }
    Ok(reason)
}

fn expired(current: &proposal::Model) -> ApiError {
    ApiError::new(
        ErrorCode::Expired,
        format!(
            "proposal {} expired at {} without a decision",
            current.id, current.expires_at
        ),
    )
}

/// A pending proposal past its deadline is expired now, inside `txn`, and the refusal to
/// answer is returned: the caller commits the expiry and answers it.
pub async fn expire_if_overdue(
    txn: &UnitOfWork,
    state: &AppState,
    current: &proposal::Model,
) -> ApiResult<Option<ApiError>> {
    if current.status == ProposalStatus::Pending && current.expires_at <= Utc::now() {
        remediations::expire(txn, state, current).await?;
        return Ok(Some(expired(current)));
    }
    Ok(None)
}

/// Only pending proposals are decided.
pub fn check_decidable(current: &proposal::Model) -> ApiResult<()> {
    match current.status {
        ProposalStatus::Pending => Ok(()),
        ProposalStatus::Expired => Err(expired(current)),
        status => Err(ApiError::conflict(format!(
            "proposal {} is {status}; only pending proposals are decided",
            current.id
        ))),
    }
}

/// One approver's decision, recorded.
pub struct Decided {
    pub approval: approval::Model,
    pub approvals_received: u32,
    pub approvals_required: u32,
    /// What the decision makes of the proposal: rejected, approved (the quorum is complete)
    /// or still pending.
    pub proposal_status: ProposalStatus,
}

/// Records `approver`'s decision on the locked, pending proposal `current`, with its audit
/// row, inside `txn`; each approver decides once, with an approval token of their own, on
/// the actions as they were proposed.
pub async fn record(
    txn: &UnitOfWork,
    state: &AppState,
    approver: UserId,
    origin: &Origin,
    current: &proposal::Model,
    request: &ApprovalRequest,
    reason: String,
) -> ApiResult<Decided> {
    let decided_before = approval::Entity::find()
        .filter(approval::Column::ProposalId.eq(current.id))
        .filter(approval::Column::ApproverUserId.eq(approver))
        .count(txn)
        .await?;
    if decided_before > 0 {
        return Err(ApiError::conflict("you have already decided this proposal"));
    }
    tokens::redeem(
        txn,
        &request.approval_token,
        approver,
        Purpose::Decide(current.id),
    )
    .await?;
    if remediations::current_digest(state, current)? != current.payload_digest {
        return Err(remediations::changed_since_proposed());
    }
    let recorded = approval::ActiveModel {
        proposal_id: Set(current.id),
        approver_user_id: Set(approver),
        approver: Set(origin.actor.name.clone()),
        decision: Set(request.decision),
        reason: Set(reason.clone()),
        payload_digest: Set(current.payload_digest.clone()),
        client_reference: Set(request.approval_id.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let approvals_received = approval::Entity::find()
        .filter(approval::Column::ProposalId.eq(current.id))
        .filter(approval::Column::Decision.eq(Decision::Approved))
        .count(txn)
        .await? as u32;
    let approvals_required = current.approvals_required as u32;
    record::write(
        txn,
        &state.audit_key,
        origin
            .entry(AuditAction::ApprovalRecorded)
            .target(AuditTarget::Proposal(current.id))
            .details(json!({
                "approvalId": recorded.id,
                "decision": request.decision,
                "reason": reason,
                "payloadDigest": current.payload_digest,
                "approvalsReceived": approvals_received,
                "approvalsRequired": approvals_required,
                "clientReference": request.approval_id,
            })),
    )
    .await?;
    let proposal_status = match request.decision {
        Decision::Rejected => ProposalStatus::Rejected,
        Decision::Approved if approvals_received >= approvals_required => ProposalStatus::Approved,
        Decision::Approved => ProposalStatus::Pending,
    };
    Ok(Decided {
        approval: recorded,
        approvals_received,
        approvals_required,
        proposal_status,
    })
}

/// Gives the proposal the status the decision made of it, with its audit row, when the
/// decision settled it (`execution` is the run an approval created).
pub async fn settle(
    txn: &UnitOfWork,
    state: &AppState,
    origin: &Origin,
    current: &proposal::Model,
    decided: &Decided,
    execution: Option<ExecutionId>,
) -> ApiResult<()> {
    if decided.proposal_status == ProposalStatus::Pending {
        return Ok(());
    }
    let now = Utc::now();
    let mut active = current.clone().into_active_model();
    active.status = Set(decided.proposal_status);
    active.decided_at = Set(Some(now));
    active.updated_at = Set(now);
    active.update(txn).await?;
    record::write(
        txn,
        &state.audit_key,
        origin
            .entry(if decided.proposal_status == ProposalStatus::Approved {
                AuditAction::RemediationApproved
            } else {
                AuditAction::RemediationRejected
            })
            .target(AuditTarget::Proposal(current.id))
            .details(json!({
                "approvalsReceived": decided.approvals_received,
                "approvalsRequired": decided.approvals_required,
                "payloadDigest": current.payload_digest,
                "executionId": execution,
            })),
    )
    .await?;
    Ok(())
}
