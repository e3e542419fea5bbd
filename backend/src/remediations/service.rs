//! Remediation proposals: propose, read, and expire.

use super::actions::{self, StoredAction};
use super::entity::{self as proposal, Model};
use super::risk;
use crate::approvals::entity::approval;
use crate::audit::{Origin, record};
use crate::auth::principal::Requester;
use crate::db;
use crate::db::UnitOfWork;
use crate::error::{ApiError, ApiResult};
use crate::executions::entity as execution;
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::approvals::{ApprovalRecord, Decision};
use coordinator_api::assessments::AssessmentStatus;
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::digest::{DIGEST_VERSION, payload_digest};
use coordinator_api::remediations::{
    Proposal, ProposalPage, ProposalQuery, ProposalStatus, ProposeRequest, ProposeResponse,
    ProposedAction,
};
use coordinator_api::{ExecutionId, MachineId, ProposalId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::HashMap;

const MAX_ISSUES: usize = 64;
const MAX_ROLLBACK_PLAN_CHARS: usize = 4000;
const MAX_PAGE: u64 = 200;

fn sealing(err: super::sealing::SealingError) -> ApiError {
    ApiError::internal(err)
}

/// The proposal's actions, env values opened.
pub fn opened_actions(state: &AppState, model: &Model) -> ApiResult<Vec<ProposedAction>> {
    let stored = actions::parse_stored(&model.actions)?;
    actions::open(&state.env_sealer, &stored).map_err(sealing)
}

/// The digest of `actions` for the proposal's machine, in the form it was proposed under.
pub fn digest_of(model: &Model, actions: &[ProposedAction], salt: &[u8]) -> String {
    payload_digest(
        model.digest_version as u32,
        &model.machine_id,
        actions,
        salt,
    )
}

/// The digest of the actions as they are stored now. It differs from the recorded
/// `payload_digest` if anyone changed them, or the machine, after they were proposed.
pub fn current_digest(state: &AppState, model: &Model) -> ApiResult<String> {
    let salt = hex::decode(&model.digest_salt).map_err(ApiError::internal)?;
    Ok(digest_of(model, &opened_actions(state, model)?, &salt))
}

/// The stored actions no longer match what was proposed and decided.
pub fn changed_since_proposed() -> ApiError {
    ApiError::conflict(
        "the proposal's actions no longer match the digest that was proposed and approved; nothing was done",
    )
}

/// A proposal changes its assessment's machine: a machine named in the request must be that
/// one, and a server proposes only for its own machine.
fn check_machine(
    subject: &crate::assessments::entity::Model,
    requester: &Requester<'_>,
    named: Option<&MachineId>,
) -> ApiResult<()> {
    if let Some(named) = named
        && *named != subject.machine_id
    {
        return Err(ApiError::validation(format!(
            "machineId `{named}` is not the machine of assessment {} (`{}`); a proposal changes the machine its assessment is about",
            subject.id, subject.machine_id
        )));
    }
    if let Some(own) = &requester.machine
        && *own != subject.machine_id
    {
        return Err(ApiError::forbidden(format!(
            "assessment {} is about machine `{}`; a server on machine `{own}` cannot propose changes to it",
            subject.id, subject.machine_id
        )));
    }
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn propose(
    state: &AppState,
    requester: &Requester<'_>,
    request: ProposeRequest,
) -> ApiResult<ProposeResponse> {
    actions::validate(&request.proposed_actions)?;
    if request.issues.len() > MAX_ISSUES
        || request.issues.iter().any(|i| i.is_empty() || i.len() > 64)
    {
        return Err(ApiError::validation(
            "issues: at most 64 codes of 1 to 64 characters",
        ));
    }
    let rollback_plan = request
        .rollback_plan
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if rollback_plan.is_some_and(|p| p.chars().count() > MAX_ROLLBACK_PLAN_CHARS) {
        return Err(ApiError::validation(format!(
            "rollbackPlan: at most {MAX_ROLLBACK_PLAN_CHARS} characters"
        )));
    }
    let stored = actions::seal(&state.env_sealer, &request.proposed_actions).map_err(sealing)?;
    let mut salt = [0u8; 32];
    rand::fill(&mut salt);
    let risk = risk::assess(
        request.priority,
        &request.proposed_actions,
        &state.config.command_allowlist,
    );
    let approvals_required = state.config.approval_policy.required(request.priority);

    let txn = state.begin().await?;
    let subject = crate::assessments::service::resolve(&txn, &request.assessment_id).await?;
    check_machine(&subject, requester, request.machine_id.as_ref())?;
    let digest = payload_digest(
        DIGEST_VERSION,
        &subject.machine_id,
        &request.proposed_actions,
        &salt,
    );
    if !matches!(
        subject.status,
        AssessmentStatus::Completed | AssessmentStatus::Approved
    ) {
        return Err(ApiError::conflict(format!(
            "assessment {} is {}; remediations are proposed on completed assessments",
            subject.id, subject.status
        )));
    }
    let now = Utc::now();
    let expires_at = now + state.config.proposal_ttl;
    let origin = requester.origin.correlated(&subject.correlation_id);
    let created = proposal::ActiveModel {
        assessment_id: Set(subject.id),
        machine_id: Set(subject.machine_id.clone()),
        digest_version: Set(DIGEST_VERSION as i32),
        status: Set(ProposalStatus::Pending),
        priority: Set(request.priority),
        issues: Set(serde_json::to_string(&request.issues).map_err(ApiError::internal)?),
        actions: Set(serde_json::to_string(&stored).map_err(ApiError::internal)?),
        digest_salt: Set(hex::encode(salt)),
        payload_digest: Set(digest.clone()),
        risk: Set(serde_json::to_string(&risk).map_err(ApiError::internal)?),
        rollback_plan: Set(rollback_plan.map(str::to_owned)),
        approvals_required: Set(approvals_required as i32),
        proposed_by: Set(origin.actor.name.clone()),
        proposed_by_type: Set(origin.actor.kind),
        proposed_by_user_id: Set(requester.user),
        correlation_id: Set(subject.correlation_id.clone()),
        expires_at: Set(expires_at),
        decided_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let summary: Vec<_> = stored
        .iter()
        .map(|a| {
            json!({ "id": a.id, "type": a.action_type, "serverName": a.server_name,
                         "command": a.command, "envNames": a.env.keys().collect::<Vec<_>>() })
        })
        .collect();
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::RemediationProposed)
            .target(AuditTarget::Proposal(created.id))
            .details(json!({
                "assessmentId": subject.id,
                "machineId": subject.machine_id,
                "priority": request.priority,
                "issues": request.issues,
                "actions": summary,
                "payloadDigest": digest,
                "risk": risk,
                "approvalsRequired": approvals_required,
                "autoApproveIgnored": request.auto_approve,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(ProposeResponse {
        success: true,
        proposal_id: created.id,
        machine_id: created.machine_id,
        status: created.status,
        requires_approval: true,
        auto_executed: false,
        auto_approve_ignored: request.auto_approve,
        payload_digest: digest,
        risk,
        approvals_required,
        expires_at,
        correlation_id: created.correlation_id,
    })
}

/// A pending proposal past its deadline reads as expired even before the reaper records it.
fn effective_status(model: &Model) -> ProposalStatus {
    if model.status == ProposalStatus::Pending && model.expires_at <= Utc::now() {
        ProposalStatus::Expired
    } else {
        model.status
    }
}

/// The decisions and newest real run of each proposal in `ids`, in two queries.
async fn decisions_and_runs(
    conn: &impl ConnectionTrait,
    ids: &[ProposalId],
) -> ApiResult<(
    HashMap<ProposalId, Vec<approval::Model>>,
    HashMap<ProposalId, ExecutionId>,
)> {
    let mut decisions: HashMap<ProposalId, Vec<approval::Model>> = HashMap::new();
    for decision in approval::Entity::find()
        .filter(approval::Column::ProposalId.is_in(ids.iter().copied()))
        .order_by_asc(approval::Column::Id)
        .all(conn)
        .await?
    {
        decisions
            .entry(decision.proposal_id)
            .or_default()
            .push(decision);
    }
    let mut runs = HashMap::new();
    for run in execution::Entity::find()
        .filter(execution::Column::ProposalId.is_in(ids.iter().copied()))
        .filter(execution::Column::DryRun.eq(false))
        .order_by_asc(execution::Column::Id)
        .all(conn)
        .await?
    {
        runs.insert(run.proposal_id, run.id);
    }
    Ok((decisions, runs))
}

fn to_wire(
    model: Model,
    approvals: Vec<approval::Model>,
    latest_execution: Option<ExecutionId>,
) -> ApiResult<Proposal> {
    let stored: Vec<StoredAction> = actions::parse_stored(&model.actions)?;
    let status = effective_status(&model);
    Ok(Proposal {
        proposal_id: model.id,
        assessment_id: model.assessment_id,
        machine_id: model.machine_id,
        status,
        priority: model.priority,
        issues: db::json_column(&model.issues, "issues")?,
        proposed_actions: stored.iter().map(actions::masked).collect(),
        rollback_plan: model.rollback_plan,
        payload_digest: model.payload_digest,
        risk: serde_json::from_str(&model.risk).map_err(ApiError::internal)?,
        approvals_required: model.approvals_required as u32,
        approvals_received: approvals
            .iter()
            .filter(|a| a.decision == Decision::Approved)
            .count() as u32,
        approvals: approvals
            .into_iter()
            .map(|a| ApprovalRecord {
                approval_id: a.id,
                approver: a.approver,
                decision: a.decision,
                reason: a.reason,
                payload_digest: a.payload_digest,
                decided_at: a.created_at,
            })
            .collect(),
        proposed_by: model.proposed_by,
        correlation_id: model.correlation_id,
        execution_id: latest_execution,
        requires_approval: true,
        auto_executed: false,
        expires_at: model.expires_at,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}

pub async fn get(state: &AppState, id: ProposalId) -> ApiResult<Proposal> {
    let model = proposal::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("proposal {id}")))?;
    let (mut decisions, runs) = decisions_and_runs(&state.db, &[id]).await?;
    to_wire(
        model,
        decisions.remove(&id).unwrap_or_default(),
        runs.get(&id).copied(),
    )
}

pub async fn list(state: &AppState, query: &ProposalQuery) -> ApiResult<ProposalPage> {
    let page_size = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&page_size) {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let offset = query.offset.unwrap_or(0);
    let mut condition = Condition::all();
    let now = Utc::now();
    // Filter by the status a reader sees: a pending proposal past its deadline is expired.
    condition = match query.status {
        Some(ProposalStatus::Pending) => condition
            .add(proposal::Column::Status.eq(ProposalStatus::Pending))
            .add(proposal::Column::ExpiresAt.gt(now)),
        Some(ProposalStatus::Expired) => condition.add(
            Condition::any()
                .add(proposal::Column::Status.eq(ProposalStatus::Expired))
                .add(
                    Condition::all()
                        .add(proposal::Column::Status.eq(ProposalStatus::Pending))
                        .add(proposal::Column::ExpiresAt.lte(now)),
                ),
        ),
        Some(status) => condition.add(proposal::Column::Status.eq(status)),
        None => condition,
    };
    if let Some(priority) = query.priority {
        condition = condition.add(proposal::Column::Priority.eq(priority));
    }
    if let Some(assessment_id) = query.assessment_id {
        condition = condition.add(proposal::Column::AssessmentId.eq(assessment_id));
    }
    if let Some(correlation_id) = &query.correlation_id {
        condition = condition.add(proposal::Column::CorrelationId.eq(correlation_id.as_str()));
    }
    if let Some(machine) = &query.machine_id {
        condition = condition.add(proposal::Column::MachineId.eq(machine.clone()));
    }
    let total = proposal::Entity::find()
        .filter(condition.clone())
        .count(&state.db)
        .await?;
    let rows = proposal::Entity::find()
        .filter(condition)
        .order_by_desc(proposal::Column::Id)
        .limit(page_size)
        .offset(offset)
        .all(&state.db)
        .await?;
    let ids: Vec<ProposalId> = rows.iter().map(|r| r.id).collect();
    let (mut decisions, runs) = decisions_and_runs(&state.db, &ids).await?;
    let proposals = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            to_wire(
                row,
                decisions.remove(&id).unwrap_or_default(),
                runs.get(&id).copied(),
            )
        })
        .collect::<ApiResult<_>>()?;
    Ok(ProposalPage {
        success: true,
        proposals,
        total,
        page: offset / page_size + 1,
        page_size,
    })
}

/// Marks `model` expired inside `txn`, with its audit row.
pub async fn expire(conn: &UnitOfWork, state: &AppState, model: &Model) -> ApiResult<()> {
    let now = Utc::now();
    let changed = proposal::Entity::update_many()
        .col_expr(
            proposal::Column::Status,
            Expr::value(ProposalStatus::Expired),
        )
        .col_expr(proposal::Column::DecidedAt, Expr::value(now))
        .col_expr(proposal::Column::UpdatedAt, Expr::value(now))
        .filter(proposal::Column::Id.eq(model.id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending))
        .exec(conn)
        .await?;
    if changed.rows_affected == 1 {
        record::write(
            conn,
            &state.audit_key,
            Origin::system("workflow")
                .correlated(&model.correlation_id)
                .entry(AuditAction::ProposalExpired)
                .target(AuditTarget::Proposal(model.id))
                .details(json!({ "expiresAt": model.expires_at })),
        )
        .await?;
    }
    Ok(())
}

/// Records the expiry of every pending proposal past its deadline.
pub async fn expire_due(state: &AppState) -> ApiResult<usize> {
    let due = proposal::Entity::find()
        .filter(proposal::Column::Status.eq(ProposalStatus::Pending))
        .filter(proposal::Column::ExpiresAt.lte(Utc::now()))
        .limit(100)
        .all(&state.db)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let txn = state.begin().await?;
    for model in &due {
        expire(&txn, state, model).await?;
    }
    txn.commit().await?;
    Ok(due.len())
}

/// The action types a proposal needs an installer to be capable of.
pub fn required_capabilities(stored: &[StoredAction]) -> Vec<String> {
    let mut capabilities: Vec<String> = stored
        .iter()
        .map(|a| a.action_type.as_str().to_owned())
        .collect();
    capabilities.sort();
    capabilities.dedup();
    capabilities
}

/// Names of the MCP servers the actions touch, for the follow-up assessment.
pub fn touched_servers(stored: &[StoredAction]) -> Vec<String> {
    let mut names: Vec<String> = stored.iter().map(|a| a.server_name.clone()).collect();
    names.sort();
    names.dedup();
    names
}
