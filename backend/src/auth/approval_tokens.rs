//! Approval tokens: a person's proof, minted shortly before, that they mean to decide now.
//!
//! 256 random bits, stored only as a hash, bound to the issuing user (and to one proposal
//! when asked), expiring, and redeemed at most once: the redeeming UPDATE only matches an
//! unused token, so of any number of concurrent redemptions exactly one succeeds.

use super::entity::approval_token;
use crate::audit::{Origin, record};
use crate::auth::secrets::{self, SecretKind};
use crate::error::{ApiError, ApiResult};
use crate::remediations::entity as proposal;
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::approvals::{ApprovalTokenRequest, ApprovalTokenResponse};
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::{AssessmentId, ErrorCode, ProposalId, Secret, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

const MAX_REASON_CHARS: usize = 500;

/// What a token is being redeemed for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Review(AssessmentId),
    Decide(ProposalId),
    Execute(ProposalId),
}

impl Purpose {
    fn proposal(self) -> Option<ProposalId> {
        match self {
            Purpose::Review(_) => None,
            Purpose::Decide(id) | Purpose::Execute(id) => Some(id),
        }
    }

    fn label(self) -> String {
        match self {
            Purpose::Review(id) => format!("review:assessment:{id}"),
            Purpose::Decide(id) => format!("decision:proposal:{id}"),
            Purpose::Execute(id) => format!("execution:proposal:{id}"),
        }
    }
}

#[tracing::instrument(skip_all, fields(user = %user))]
pub async fn issue(
    state: &AppState,
    user: UserId,
    origin: &Origin,
    request: ApprovalTokenRequest,
) -> ApiResult<ApprovalTokenResponse> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::validation(format!(
            "reason must be 1 to {MAX_REASON_CHARS} characters"
        )));
    }
    let now = Utc::now();
    let longest = now + state.config.approval_token_max_ttl;
    let expires_at = match request.expires_at {
        Some(at) if at <= now => {
            return Err(ApiError::validation("expiresAt must be in the future"));
        }
        Some(at) => at.min(longest),
        None => longest,
    };
    let token = secrets::generate(SecretKind::ApprovalToken);

    let txn = state.begin().await?;
    let origin = match request.proposal_id {
        Some(id) => {
            let bound = proposal::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("proposal {id}")))?;
            origin.correlated(&bound.correlation_id)
        }
        None => origin.clone(),
    };
    let stored = approval_token::ActiveModel {
        token_hash: Set(secrets::digest(&token)),
        user_id: Set(user),
        proposal_id: Set(request.proposal_id),
        reason: Set(reason.to_owned()),
        expires_at: Set(expires_at),
        used_at: Set(None),
        used_for: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::ApprovalTokenIssued)
            .target(AuditTarget::ApprovalToken(stored.id))
            .details(json!({ "reason": reason, "proposalId": request.proposal_id, "expiresAt": expires_at })),
    )
    .await?;
    txn.commit().await?;
    Ok(ApprovalTokenResponse {
        success: true,
        approval_token: Secret::new(token),
        expires_at,
        proposal_id: request.proposal_id,
    })
}

/// Redeems `token` for `purpose` inside the caller's transaction, so that the token is spent
/// only if the decision it authorizes commits.
pub async fn redeem(
    conn: &impl ConnectionTrait,
    token: &Secret,
    user: UserId,
    purpose: Purpose,
) -> ApiResult<()> {
    let found = approval_token::Entity::find()
        .filter(approval_token::Column::TokenHash.eq(secrets::digest(token.expose())))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::forbidden("the approval token is not valid"))?;
    if found.user_id != user {
        return Err(ApiError::forbidden(
            "the approval token was issued to someone else",
        ));
    }
    if found.used_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::TokenUsed,
            "the approval token has already been used",
        ));
    }
    if found.expires_at <= Utc::now() {
        return Err(ApiError::new(
            ErrorCode::Expired,
            "the approval token has expired",
        ));
    }
    if let Some(bound) = found.proposal_id
        && purpose.proposal() != Some(bound)
    {
        return Err(ApiError::forbidden(format!(
            "the approval token is bound to proposal {bound}"
        )));
    }
    let spent = approval_token::Entity::update_many()
        .col_expr(approval_token::Column::UsedAt, Expr::value(Utc::now()))
        .col_expr(
            approval_token::Column::UsedFor,
            Expr::value(purpose.label()),
        )
        .filter(approval_token::Column::Id.eq(found.id))
        .filter(approval_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    if spent.rows_affected != 1 {
        return Err(ApiError::new(
            ErrorCode::TokenUsed,
            "the approval token has already been used",
        ));
    }
    Ok(())
}
