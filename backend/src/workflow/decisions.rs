//! People deciding: approvals that may complete a quorum, and releases of approved changes.

use super::rules;
use crate::approvals::service as approvals;
use crate::audit::Origin;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::executions::service as executions;
use crate::remediations::entity as proposal;
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::approvals::{ApprovalRequest, ApprovalResponse};
use coordinator_api::executions::{ExecuteRequest, ExecuteResponse};
use coordinator_api::remediations::ProposalStatus;
use coordinator_api::{ProposalId, UserId};
use sea_orm::EntityTrait;

async fn locked_proposal(uow: &db::UnitOfWork, id: ProposalId) -> ApiResult<proposal::Model> {
    db::locked(proposal::Entity::find_by_id(id), uow)
        .one(uow)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("proposal {id}")))
}

/// Records one approver's decision. A rejection rejects the proposal; the approval that
/// completes the quorum approves it and creates its pending execution, in the same unit.
#[tracing::instrument(skip_all, fields(proposal = %request.proposal_id))]
pub async fn decide(
    state: &AppState,
    approver: UserId,
    origin: &Origin,
    request: ApprovalRequest,
) -> ApiResult<ApprovalResponse> {
    let reason = approvals::checked_reason(&request)?;
    let uow = state.begin().await?;
    // Locked, so approvers deciding at the same moment are counted one after the other.
    let current = locked_proposal(&uow, request.proposal_id).await?;
    let origin = origin.correlated(&current.correlation_id);
    if let Some(refusal) = approvals::expire_if_overdue(&uow, state, &current).await? {
        uow.commit().await?;
        return Err(refusal);
    }
    approvals::check_decidable(&current)?;
    rules::check_not_own(&uow, &current, approver, "decide").await?;
    let decided =
        approvals::record(&uow, state, approver, &origin, &current, &request, reason).await?;
    let execution_id = if decided.proposal_status == ProposalStatus::Approved {
        Some(executions::create_pending(&uow, &current).await?)
    } else {
        None
    };
    approvals::settle(&uow, state, &origin, &current, &decided, execution_id).await?;
    uow.commit().await?;
    if decided.proposal_status != ProposalStatus::Pending {
        let waited = Utc::now() - current.created_at;
        state.recorder.decision(waited.to_std().unwrap_or_default());
    }
    Ok(ApprovalResponse {
        success: true,
        approval_id: decided.approval.id,
        decision: request.decision,
        approvals_received: decided.approvals_received,
        approvals_required: decided.approvals_required,
        proposal_status: decided.proposal_status,
        execution_id,
        payload_digest: current.payload_digest,
    })
}

/// Releases an approved proposal to the installers: the real run, or a dry run beside it.
#[tracing::instrument(skip_all, fields(proposal = %request.proposal_id))]
pub async fn release(
    state: &AppState,
    releaser: UserId,
    origin: &Origin,
    request: ExecuteRequest,
) -> ApiResult<ExecuteResponse> {
    let uow = state.begin().await?;
    let current = locked_proposal(&uow, request.proposal_id).await?;
    executions::check_releasable(&current)?;
    rules::check_not_own(&uow, &current, releaser, "release").await?;
    let released = executions::release(&uow, state, &current, releaser, origin, &request).await?;
    uow.commit().await?;
    Ok(released)
}
