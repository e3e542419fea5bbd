//! Approvers' decisions on remediation proposals.

use super::entity::approval;
use crate::assessments::entity as assessment;
use crate::audit::{Origin, record};
use crate::auth::approval_tokens::{self as tokens, Purpose};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::executions;
use crate::remediations::entity as proposal;
use crate::remediations::service as remediations;
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::approvals::{ApprovalRequest, ApprovalResponse, Decision};
use coordinator_api::assessments::AssessmentStatus;
use coordinator_api::audit::ActorType;
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::remediations::ProposalStatus;
use coordinator_api::{ErrorCode, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, Set,
};
use serde_json::json;

const MAX_REASON_CHARS: usize = 2000;

/// Nobody decides — or releases — a remediation they proposed or whose assessment they
/// requested; and nothing is decided or released on an assessment whose results were rejected.
pub async fn check_not_own(
    conn: &impl ConnectionTrait,
    proposal: &proposal::Model,
    person: UserId,
    verb: &str,
) -> ApiResult<()> {
    if proposal.proposed_by_type == ActorType::User && proposal.proposed_by_user_id == Some(person)
    {
        return Err(ApiError::forbidden(format!(
            "you proposed this remediation; someone else must {verb} it"
        )));
    }
    let subject = assessment::Entity::find_by_id(proposal.assessment_id)
        .one(conn)
        .await?;
    if let Some(subject) = subject {
        if subject.requested_by_type == ActorType::User
            && subject.requested_by_user_id == Some(person)
        {
            return Err(ApiError::forbidden(format!(
                "you requested the assessment behind this remediation; someone else must {verb} it"
            )));
        }
        if subject.status == AssessmentStatus::Rejected {
            return Err(ApiError::conflict(format!(
                "the results of assessment {} were rejected; nothing is decided or released on them",
                subject.id
            )));
        }
    }
    Ok(())
}

/// Records one approver's decision. A rejection rejects the proposal; the approval that
/// completes the quorum approves it and creates its pending execution.
#[tracing::instrument(skip_all, fields(proposal = %request.proposal_id))]
pub async fn decide(
    state: &AppState,
    approver: UserId,
    origin: &Origin,
    request: ApprovalRequest,
) -> ApiResult<ApprovalResponse> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::validation(format!(
            "reason must be 1 to {MAX_REASON_CHARS} characters"
        )));
    }
    if request.approval_id.as_ref().is_some_and(|r| r.len() > 128) {
        return Err(ApiError::validation("approvalId: at most 128 characters"));
    }
    let txn = state.begin().await?;
    // Locked, so approvers deciding at the same moment are counted one after the other.
    let current = db::locked(proposal::Entity::find_by_id(request.proposal_id), &txn)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("proposal {}", request.proposal_id)))?;
    let origin = origin.correlated(&current.correlation_id);
    if current.status == ProposalStatus::Pending && current.expires_at <= Utc::now() {
        remediations::expire(&txn, state, &current).await?;
        txn.commit().await?;
        return Err(ApiError::new(
            ErrorCode::Expired,
            format!(
                "proposal {} expired at {} without a decision",
                current.id, current.expires_at
            ),
        ));
    }
    if current.status == ProposalStatus::Expired {
        return Err(ApiError::new(
            ErrorCode::Expired,
            format!(
                "proposal {} expired at {} without a decision",
                current.id, current.expires_at
            ),
        ));
    }
    if current.status != ProposalStatus::Pending {
        return Err(ApiError::conflict(format!(
            "proposal {} is {}; only pending proposals are decided",
            current.id, current.status
        )));
    }
    check_not_own(&txn, &current, approver, "decide").await?;
    let decided_before = approval::Entity::find()
        .filter(approval::Column::ProposalId.eq(current.id))
        .filter(approval::Column::ApproverUserId.eq(approver))
        .count(&txn)
        .await?;
    if decided_before > 0 {
        return Err(ApiError::conflict("you have already decided this proposal"));
    }
    tokens::redeem(
        &txn,
        &request.approval_token,
        approver,
        Purpose::Decide(current.id),
    )
    .await?;
    if remediations::current_digest(state, &current)? != current.payload_digest {
        return Err(remediations::changed_since_proposed());
    }
    let now = Utc::now();
    let recorded = approval::ActiveModel {
        proposal_id: Set(current.id),
        approver_user_id: Set(approver),
        approver: Set(origin.actor.name.clone()),
        decision: Set(request.decision),
        reason: Set(reason.clone()),
        payload_digest: Set(current.payload_digest.clone()),
        client_reference: Set(request.approval_id.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let approvals_received = approval::Entity::find()
        .filter(approval::Column::ProposalId.eq(current.id))
        .filter(approval::Column::Decision.eq(Decision::Approved))
        .count(&txn)
        .await? as u32;
    let approvals_required = current.approvals_required as u32;
    record::write(
        &txn,
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

    let (proposal_status, execution_id) = match request.decision {
        Decision::Rejected => (ProposalStatus::Rejected, None),
        Decision::Approved if approvals_received >= approvals_required => {
            let execution = executions::service::create_pending(&txn, &current).await?;
            (ProposalStatus::Approved, Some(execution))
        }
        Decision::Approved => (ProposalStatus::Pending, None),
    };
    if proposal_status != ProposalStatus::Pending {
        let mut active = current.clone().into_active_model();
        active.status = Set(proposal_status);
        active.decided_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(&txn).await?;
        record::write(
            &txn,
            &state.audit_key,
            origin
                .entry(if proposal_status == ProposalStatus::Approved {
                    AuditAction::RemediationApproved
                } else {
                    AuditAction::RemediationRejected
                })
                .target(AuditTarget::Proposal(current.id))
                .details(json!({
                    "approvalsReceived": approvals_received,
                    "approvalsRequired": approvals_required,
                    "payloadDigest": current.payload_digest,
                    "executionId": execution_id,
                })),
        )
        .await?;
    }
    txn.commit().await?;
    if proposal_status != ProposalStatus::Pending {
        state
            .recorder
            .decision((now - current.created_at).to_std().unwrap_or_default());
    }
    Ok(ApprovalResponse {
        success: true,
        approval_id: recorded.id,
        decision: request.decision,
        approvals_received,
        approvals_required,
        proposal_status,
        execution_id,
        payload_digest: current.payload_digest,
    })
}
