//! Executions: released by a person, run by an installer, tracked action by action.

use super::entity::{self as execution, Model};
use crate::approvals::entity::approval;
use crate::audit::{Origin, record};
use crate::auth::approval_tokens::{self as tokens, Purpose};
use crate::auth::principal::ServerCaller;
use crate::db;
use crate::db::UnitOfWork;
use crate::error::{ApiError, ApiResult};
use crate::remediations::actions;
use crate::remediations::entity as proposal;
use crate::remediations::service as remediations;
use crate::state::AppState;
use crate::work::entity::{self as work_item, WorkStatus};
use crate::work::service::{self as work, NewWork};
use chrono::{DateTime, Utc};
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::executions::{
    ActionProgress, ActionStatus, CompleteRequest, ExecuteRequest, ExecuteResponse, Execution,
    ExecutionCounts, ExecutionOutcome, ExecutionStatus, ProgressRequest,
};
use coordinator_api::remediations::ProposalStatus;
use coordinator_api::work::{ExecutionTask, TaskKind};
use coordinator_api::{AssessmentId, ExecutionId, ServerId, ServerKind, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

const MAX_REPORT_BYTES: usize = 256 * 1024;
const MAX_MESSAGE_CHARS: usize = 2000;
/// Not read for executions: a lost lease requeues one only while none of its actions has
/// started, and interrupts it after, so its attempts never run out.
const EXECUTION_REQUEUES: u32 = 1_000;

fn is_finished(status: ActionStatus) -> bool {
    matches!(
        status,
        ActionStatus::Succeeded
            | ActionStatus::Failed
            | ActionStatus::Skipped
            | ActionStatus::RolledBack
    )
}

/// Actions only move forward: pending → running → a final status (or straight to final);
/// a failed or succeeded action may still be rolled back.
fn may_move(from: ActionStatus, to: ActionStatus) -> bool {
    match from {
        ActionStatus::Pending => to != ActionStatus::Pending,
        ActionStatus::Running => !matches!(to, ActionStatus::Pending | ActionStatus::Running),
        ActionStatus::Failed | ActionStatus::Succeeded => to == ActionStatus::RolledBack,
        ActionStatus::Skipped | ActionStatus::RolledBack => false,
    }
}

/// What the actions' statuses become when a run ends: a rolled-back run undid what its
/// actions did, and whatever a failure stopped never ran. Installers need not report each of
/// these; the record says what happened either way.
fn settle(actions: &mut [ActionProgress], outcome: ExecutionOutcome, now: DateTime<Utc>) {
    for action in actions {
        let settled = match (outcome, action.status) {
            (ExecutionOutcome::RolledBack, ActionStatus::Succeeded | ActionStatus::Running) => {
                ActionStatus::RolledBack
            }
            (ExecutionOutcome::Failed, ActionStatus::Running) => ActionStatus::Failed,
            (_, ActionStatus::Pending) => ActionStatus::Skipped,
            (_, status) => status,
        };
        if settled != action.status {
            action.status = settled;
            action.updated_at = Some(now);
        }
    }
}

fn count(actions: &[ActionProgress], status: ActionStatus) -> u32 {
    actions.iter().filter(|a| a.status == status).count() as u32
}

/// The per-action progress. Unreadable progress is an error, never "nothing started".
fn progress_of(model: &Model) -> ApiResult<Vec<ActionProgress>> {
    serde_json::from_str(&model.actions).map_err(ApiError::internal)
}

/// Installers' messages and reports may quote what they ran: env values never leave as text.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "••••")
        })
}

/// An execution in the shape the specification gives it.
pub fn to_wire(model: Model) -> ApiResult<Execution> {
    let actions = progress_of(&model)?;
    let total = actions.len() as u32;
    let completed = actions.iter().filter(|a| is_finished(a.status)).count() as u32;
    let progress = (completed * 100).checked_div(total).unwrap_or(0) as u8;
    let estimated_completion = match (model.started_at, model.finished_at) {
        (_, Some(finished)) => Some(finished),
        (Some(started), None) if completed > 0 => {
            let per_action = (Utc::now() - started) / completed as i32;
            Some(Utc::now() + per_action * (total - completed) as i32)
        }
        _ => None,
    };
    Ok(Execution {
        execution_id: model.id,
        proposal_id: model.proposal_id,
        machine_id: model.machine_id,
        status: model.status,
        message: model.message,
        dry_run: model.dry_run,
        rollback_on_failure: model.rollback_on_failure,
        parallel_execution: model.parallel_execution,
        progress,
        current_action: model.current_action,
        start_time: model.started_at,
        estimated_completion,
        end_time: model.finished_at,
        results: ExecutionCounts {
            completed,
            total,
            successful: count(&actions, ActionStatus::Succeeded),
            failed: count(&actions, ActionStatus::Failed),
            skipped: count(&actions, ActionStatus::Skipped),
            rolled_back: count(&actions, ActionStatus::RolledBack),
        },
        actions,
        report: db::json_column_opt(model.report.as_deref(), "report")?,
        payload_digest: model.payload_digest,
        installer: model.installer,
        reassessment_id: model.reassessment_id,
        correlation_id: model.correlation_id,
        created_at: model.created_at,
    })
}

fn initial_progress(proposal: &proposal::Model) -> ApiResult<String> {
    let stored = actions::parse_stored(&proposal.actions)?;
    let progress: Vec<ActionProgress> = stored
        .iter()
        .map(|a| ActionProgress {
            action_id: a.id.clone(),
            status: ActionStatus::Pending,
            message: None,
            updated_at: None,
        })
        .collect();
    serde_json::to_string(&progress).map_err(ApiError::internal)
}

struct NewExecution {
    status: ExecutionStatus,
    dry_run: bool,
    rollback_on_failure: bool,
    parallel_execution: bool,
    released_by: Option<String>,
}

async fn insert(
    conn: &impl ConnectionTrait,
    proposal: &proposal::Model,
    new: NewExecution,
) -> ApiResult<Model> {
    let now = Utc::now();
    let released_at: Option<DateTime<Utc>> = new.released_by.as_ref().map(|_| now);
    Ok(execution::ActiveModel {
        proposal_id: Set(proposal.id),
        machine_id: Set(proposal.machine_id.clone()),
        status: Set(new.status),
        dry_run: Set(new.dry_run),
        rollback_on_failure: Set(new.rollback_on_failure),
        parallel_execution: Set(new.parallel_execution),
        payload_digest: Set(proposal.payload_digest.clone()),
        released_by: Set(new.released_by),
        released_at: Set(released_at),
        installer: Set(None),
        actions: Set(initial_progress(proposal)?),
        current_action: Set(None),
        started_at: Set(None),
        finished_at: Set(None),
        report: Set(None),
        message: Set(None),
        reassessment_id: Set(None),
        correlation_id: Set(proposal.correlation_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// The execution an approved proposal waits with until someone releases it.
pub async fn create_pending(
    conn: &impl ConnectionTrait,
    proposal: &proposal::Model,
) -> ApiResult<ExecutionId> {
    let created = insert(
        conn,
        proposal,
        NewExecution {
            status: ExecutionStatus::Pending,
            dry_run: false,
            rollback_on_failure: true,
            parallel_execution: false,
            released_by: None,
        },
    )
    .await?;
    Ok(created.id)
}

/// The run a release starts: a dry run beside the approved one, the approved run itself, or
/// — when the last run was interrupted — a new run, which only a person's release creates.
async fn run_to_release(
    txn: &UnitOfWork,
    current: &proposal::Model,
    request: &ExecuteRequest,
    releaser: &str,
) -> ApiResult<Model> {
    if request.dry_run {
        return insert(
            txn,
            current,
            NewExecution {
                status: ExecutionStatus::Queued,
                dry_run: true,
                rollback_on_failure: request.rollback_on_failure,
                parallel_execution: request.parallel_execution,
                released_by: Some(releaser.to_owned()),
            },
        )
        .await;
    }
    let latest = execution::Entity::find()
        .filter(execution::Column::ProposalId.eq(current.id))
        .filter(execution::Column::DryRun.eq(false))
        .order_by_desc(execution::Column::Id)
        .one(txn)
        .await?;
    let run = match latest {
        Some(run) if run.status == ExecutionStatus::Pending => run,
        Some(run) if run.status == ExecutionStatus::Interrupted => {
            create_pending(txn, current).await?;
            execution::Entity::find()
                .filter(execution::Column::ProposalId.eq(current.id))
                .filter(execution::Column::Status.eq(ExecutionStatus::Pending))
                .one(txn)
                .await?
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the new run vanished")))?
        }
        _ => {
            return Err(ApiError::conflict(format!(
                "proposal {} has already been released",
                current.id
            )));
        }
    };
    let mut active = run.into_active_model();
    active.status = Set(ExecutionStatus::Queued);
    active.rollback_on_failure = Set(request.rollback_on_failure);
    active.parallel_execution = Set(request.parallel_execution);
    active.released_by = Set(Some(releaser.to_owned()));
    active.released_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

/// An approved proposal cannot be released before it is approved.
pub fn check_releasable(current: &proposal::Model) -> ApiResult<()> {
    if current.status != ProposalStatus::Approved {
        return Err(ApiError::conflict(format!(
            "proposal {} is {}; only approved proposals are executed",
            current.id, current.status
        )));
    }
    Ok(())
}

/// Releases the approved, locked proposal `current` to the installers, inside `txn`: the
/// real run, or a dry run beside it. Who may release is the workflow's to decide first.
pub async fn release(
    txn: &UnitOfWork,
    state: &AppState,
    current: &proposal::Model,
    releaser: UserId,
    origin: &Origin,
    request: &ExecuteRequest,
) -> ApiResult<ExecuteResponse> {
    let origin = origin.correlated(&current.correlation_id);
    tokens::redeem(
        txn,
        &request.approval_token,
        releaser,
        Purpose::Execute(current.id),
    )
    .await?;
    // Every approval was given to this digest, and the stored actions still produce it.
    let decided_on_other = approval::Entity::find()
        .filter(approval::Column::ProposalId.eq(current.id))
        .filter(approval::Column::PayloadDigest.ne(current.payload_digest.as_str()))
        .one(txn)
        .await?;
    if decided_on_other.is_some()
        || remediations::current_digest(state, current)? != current.payload_digest
    {
        return Err(remediations::changed_since_proposed());
    }
    let run = run_to_release(txn, current, request, &origin.actor.name).await?;
    let stored = actions::parse_stored(&current.actions)?;
    work::enqueue(
        txn,
        NewWork {
            kind: TaskKind::Execution,
            subject_id: run.id.0,
            machine: run.machine_id.clone(),
            server_kind: ServerKind::Installer,
            requires: remediations::required_capabilities(&stored),
            max_attempts: EXECUTION_REQUEUES,
        },
    )
    .await?;
    record::write(
        txn,
        &state.audit_key,
        origin
            .entry(AuditAction::ExecutionReleased)
            .target(AuditTarget::Execution(run.id))
            .details(json!({
                "proposalId": current.id,
                "machineId": run.machine_id,
                "dryRun": run.dry_run,
                "rollbackOnFailure": run.rollback_on_failure,
                "parallelExecution": run.parallel_execution,
                "payloadDigest": run.payload_digest,
            })),
    )
    .await?;
    Ok(ExecuteResponse {
        success: true,
        execution_id: run.id,
        status: run.status,
        dry_run: run.dry_run,
        auto_executed: false,
    })
}

/// An installer took the execution of `item`. Returns the task, or `None` when the stored
/// payload no longer matches the approval or cannot be opened (a changed `ENCRYPTION_KEY`,
/// altered ciphertext): then the execution fails, recorded, and nothing is sent — rather
/// than failing every claim queued behind it.
pub async fn claimed(
    txn: &UnitOfWork,
    state: &AppState,
    item: &work_item::Model,
    server: &ServerId,
    origin: &Origin,
) -> ApiResult<Option<ExecutionTask>> {
    let current = execution::Entity::find_by_id(ExecutionId(item.subject_id))
        .one(txn)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("work item {} has no execution", item.id))
        })?;
    let parent = proposal::Entity::find_by_id(current.proposal_id)
        .one(txn)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("execution {} has no proposal", current.id))
        })?;
    let origin = origin.correlated(&current.correlation_id);
    let opened = remediations::opened_actions(state, &parent).ok();
    let salt = hex::decode(&parent.digest_salt).ok();
    // The queue only offers work to servers of its machine; this holds even if it did not.
    let machine_matches = item.machine_id == current.machine_id;
    let matches = match (&opened, &salt) {
        (Some(actions), Some(salt)) => {
            remediations::digest_of(&parent, actions, salt) == current.payload_digest
        }
        _ => false,
    };
    let now = Utc::now();
    let mut active = current.clone().into_active_model();
    active.updated_at = Set(now);
    let (true, true, Some(opened)) = (machine_matches, matches, opened) else {
        active.status = Set(ExecutionStatus::Failed);
        active.message = Set(Some(
            "refused before it started: the stored actions do not match the approved digest or machine, or cannot be opened"
                .to_owned(),
        ));
        active.finished_at = Set(Some(now));
        active.update(txn).await?;
        work::finish(txn, item.clone(), WorkStatus::Failed).await?;
        record::write(
            txn,
            &state.audit_key,
            origin
                .entry(AuditAction::ExecutionRefused)
                .target(AuditTarget::Execution(current.id))
                .details(json!({
                    "reason": "the stored actions do not match the approved digest, or cannot be opened",
                    "server": server,
                })),
        )
        .await?;
        return Ok(None);
    };
    active.status = Set(ExecutionStatus::Running);
    active.installer = Set(Some(server.clone()));
    active.started_at = Set(Some(now));
    let updated = active.update(txn).await?;
    record::write(
        txn,
        &state.audit_key,
        origin
            .entry(AuditAction::ExecutionClaimed)
            .target(AuditTarget::Execution(updated.id))
            .details(json!({ "taskId": item.id, "dryRun": updated.dry_run })),
    )
    .await?;
    Ok(Some(ExecutionTask {
        execution_id: updated.id,
        proposal_id: updated.proposal_id,
        machine_id: updated.machine_id,
        dry_run: updated.dry_run,
        rollback_on_failure: updated.rollback_on_failure,
        parallel_execution: updated.parallel_execution,
        actions: opened,
        payload_digest: updated.payload_digest,
        digest_version: parent.digest_version as u32,
        digest_salt: parent.digest_salt,
        correlation_id: updated.correlation_id,
    }))
}

/// The installer's lease ran out. A run none of whose actions was reported started goes
/// back to the queue (installers report `running` before they touch anything); one that had
/// started is interrupted and waits for a person: it is never retried silently.
pub async fn lease_expired(
    txn: &UnitOfWork,
    state: &AppState,
    item: work_item::Model,
) -> ApiResult<()> {
    let Some(current) = execution::Entity::find_by_id(ExecutionId(item.subject_id))
        .one(txn)
        .await?
    else {
        return work::finish(txn, item, WorkStatus::Failed).await;
    };
    // Progress that cannot be read is treated as started: the safe side.
    let started = progress_of(&current).map_or(true, |p| {
        p.iter().any(|a| a.status != ActionStatus::Pending)
    });
    let lost_by = item.leased_by.clone();
    let task_id = item.id;
    let mut active = current.clone().into_active_model();
    active.updated_at = Set(Utc::now());
    let action = if started {
        work::finish(txn, item, WorkStatus::Failed).await?;
        active.status = Set(ExecutionStatus::Interrupted);
        active.message = Set(Some(format!(
            "the installer {} stopped reporting after its actions had started; check the machine `{}` before releasing the proposal again",
            lost_by
                .as_ref()
                .map(|s| format!("`{s}`"))
                .unwrap_or_default(),
            current.machine_id
        )));
        active.current_action = Set(None);
        active.finished_at = Set(Some(Utc::now()));
        AuditAction::ExecutionInterrupted
    } else {
        work::requeue(txn, item).await?;
        active.status = Set(ExecutionStatus::Queued);
        active.installer = Set(None);
        active.started_at = Set(None);
        AuditAction::LeaseExpired
    };
    active.update(txn).await?;
    record::write(
        txn,
        &state.audit_key,
        Origin::system("work-queue")
            .correlated(&current.correlation_id)
            .entry(action)
            .target(AuditTarget::Execution(current.id))
            .details(json!({ "taskId": task_id, "server": lost_by, "actionsStarted": started })),
    )
    .await?;
    Ok(())
}

fn check_message(message: &Option<String>) -> ApiResult<()> {
    if message
        .as_ref()
        .is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS)
    {
        return Err(ApiError::validation(format!(
            "message: at most {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(())
}

/// What an installer reports on: the execution, locked so concurrent reports apply one
/// after the other; its lease; and the env values to keep out of its messages.
struct Reported {
    execution: Model,
    lease: work_item::Model,
    secrets: Vec<String>,
}

async fn reported_on(
    txn: &UnitOfWork,
    state: &AppState,
    caller: &ServerCaller,
    id: ExecutionId,
    digest: &str,
) -> ApiResult<Reported> {
    let (server, machine) = (&caller.id, &caller.machine);
    let execution = db::locked(execution::Entity::find_by_id(id), txn)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("execution {id}")))?;
    if execution.machine_id != *machine {
        return Err(ApiError::forbidden(format!(
            "execution {id} changes machine `{}`; a server on machine `{machine}` cannot report on it",
            execution.machine_id
        )));
    }
    let lease = work::held_lease(txn, TaskKind::Execution, id.0, server).await?;
    if digest != execution.payload_digest {
        return Err(ApiError::conflict(
            "the payload digest differs from the approved one; the report was refused",
        ));
    }
    if execution.status != ExecutionStatus::Running {
        return Err(ApiError::conflict(format!(
            "execution {id} is {}",
            execution.status
        )));
    }
    let parent = proposal::Entity::find_by_id(execution.proposal_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("execution {id} has no proposal")))?;
    let secrets = remediations::opened_actions(state, &parent)?
        .iter()
        .flat_map(|a| a.env.values().map(|v| v.expose().to_owned()))
        .collect();
    Ok(Reported {
        execution,
        lease,
        secrets,
    })
}

#[tracing::instrument(skip_all, fields(execution = %id))]
pub async fn progress(
    state: &AppState,
    caller: &ServerCaller,
    origin: &Origin,
    id: ExecutionId,
    request: ProgressRequest,
) -> ApiResult<Execution> {
    check_message(&request.message)?;
    let txn = state.begin().await?;
    let Reported {
        execution: current,
        secrets,
        ..
    } = reported_on(&txn, state, caller, id, &request.payload_digest).await?;
    let message = request.message.as_deref().map(|m| redact(m, &secrets));
    let mut actions = progress_of(&current)?;
    let action = actions
        .iter_mut()
        .find(|a| a.action_id == request.action_id)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "execution {id} has no action `{}`",
                request.action_id
            ))
        })?;
    if !may_move(action.status, request.status) {
        return Err(ApiError::conflict(format!(
            "action `{}` is {}; it cannot become {}",
            request.action_id, action.status, request.status
        )));
    }
    let now = Utc::now();
    action.status = request.status;
    action.message = message.clone();
    action.updated_at = Some(now);
    let mut active = current.clone().into_active_model();
    active.current_action = Set(match request.status {
        ActionStatus::Running => Some(request.action_id.clone()),
        _ if current.current_action.as_deref() == Some(&request.action_id) => None,
        _ => current.current_action.clone(),
    });
    active.actions = Set(serde_json::to_string(&actions).map_err(ApiError::internal)?);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .correlated(&updated.correlation_id)
            .entry(AuditAction::ExecutionProgress)
            .target(AuditTarget::Execution(id))
            .details(json!({ "actionId": request.action_id, "status": request.status, "message": message })),
    )
    .await?;
    txn.commit().await?;
    to_wire(updated)
}

/// What a real run that succeeded asks for next: another look at what it changed.
pub struct FollowUp {
    pub assessment: AssessmentId,
    pub execution: ExecutionId,
    /// The MCP servers the actions touched.
    pub targets: Vec<String>,
}

/// The installer holding the execution reports how it ended. A real run that succeeded asks
/// `follow_up` — the workflow's business — for a re-assessment, inside the same unit.
#[tracing::instrument(skip_all, fields(execution = %id))]
pub async fn complete(
    state: &AppState,
    caller: &ServerCaller,
    origin: &Origin,
    id: ExecutionId,
    request: CompleteRequest,
    follow_up: impl AsyncFnOnce(&UnitOfWork, FollowUp) -> ApiResult<AssessmentId>,
) -> ApiResult<Execution> {
    check_message(&request.message)?;
    let report = request.report.as_ref().map(serde_json::Value::to_string);
    if report.as_ref().is_some_and(|r| r.len() > MAX_REPORT_BYTES) {
        return Err(ApiError::validation("report: at most 256 KiB"));
    }
    let txn = state.begin().await?;
    let Reported {
        execution: current,
        lease,
        secrets,
    } = reported_on(&txn, state, caller, id, &request.payload_digest).await?;
    let origin = origin.correlated(&current.correlation_id);
    let unfinished: Vec<String> = progress_of(&current)?
        .into_iter()
        .filter(|a| !matches!(a.status, ActionStatus::Succeeded | ActionStatus::Skipped))
        .map(|a| a.action_id)
        .collect();
    if request.outcome == ExecutionOutcome::Succeeded && !current.dry_run && !unfinished.is_empty()
    {
        return Err(ApiError::validation(format!(
            "a run succeeds when every action succeeded or was skipped; not yet: {}",
            unfinished.join(", ")
        )));
    }
    let message = request.message.as_deref().map(|m| redact(m, &secrets));
    // Redacted as JSON text; if it no longer parses after redaction, it is kept as a string.
    let report = report.map(|r| {
        let clean = redact(&r, &secrets);
        match serde_json::from_str::<serde_json::Value>(&clean) {
            Ok(_) => clean,
            Err(_) => serde_json::Value::String(clean).to_string(),
        }
    });
    let now = Utc::now();
    let mut actions = progress_of(&current)?;
    settle(&mut actions, request.outcome, now);
    let mut active = current.clone().into_active_model();
    active.actions = Set(serde_json::to_string(&actions).map_err(ApiError::internal)?);
    active.message = Set(message.clone());
    active.status = Set(match request.outcome {
        ExecutionOutcome::Succeeded => ExecutionStatus::Succeeded,
        ExecutionOutcome::Failed => ExecutionStatus::Failed,
        ExecutionOutcome::RolledBack => ExecutionStatus::RolledBack,
    });
    active.current_action = Set(None);
    active.finished_at = Set(Some(now));
    active.report = Set(report);
    active.updated_at = Set(now);
    work::finish(&txn, lease, WorkStatus::Done).await?;

    let mut reassessment = None;
    if !current.dry_run {
        let parent = proposal::Entity::find_by_id(current.proposal_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("execution {id} has no proposal")))?;
        let succeeded = request.outcome == ExecutionOutcome::Succeeded;
        let mut proposal_update = parent.clone().into_active_model();
        proposal_update.status = Set(if succeeded {
            ProposalStatus::Executed
        } else {
            ProposalStatus::Failed
        });
        proposal_update.updated_at = Set(now);
        proposal_update.update(&txn).await?;
        if succeeded {
            let stored = actions::parse_stored(&parent.actions)?;
            let asked = FollowUp {
                assessment: parent.assessment_id,
                execution: id,
                targets: remediations::touched_servers(&stored),
            };
            let follow_up = follow_up(&txn, asked).await?;
            active.reassessment_id = Set(Some(follow_up));
            reassessment = Some(follow_up);
        }
    }
    let updated = active.update(&txn).await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::ExecutionCompleted)
            .target(AuditTarget::Execution(id))
            .details(json!({
                "outcome": request.outcome,
                "dryRun": updated.dry_run,
                "message": message,
                "reassessmentId": reassessment,
            })),
    )
    .await?;
    if let Some(follow_up) = reassessment {
        record::write(
            &txn,
            &state.audit_key,
            Origin::system("workflow")
                .correlated(&updated.correlation_id)
                .entry(AuditAction::ReassessmentRequested)
                .target(AuditTarget::Assessment(follow_up))
                .details(json!({ "afterExecution": id })),
        )
        .await?;
    }
    txn.commit().await?;
    to_wire(updated)
}

pub async fn get(state: &AppState, id: ExecutionId) -> ApiResult<Execution> {
    execution::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("execution {id}")))
        .and_then(to_wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_only_move_forward() {
        use ActionStatus::*;
        assert!(
            may_move(Pending, Running)
                && may_move(Running, Succeeded)
                && may_move(Pending, Skipped)
        );
        assert!(may_move(Failed, RolledBack) && may_move(Succeeded, RolledBack));
        assert!(
            !may_move(Running, Pending)
                && !may_move(Succeeded, Running)
                && !may_move(Skipped, Failed)
        );
        assert!(!may_move(Pending, Pending) && !may_move(Running, Running));
    }

    fn actions(statuses: &[ActionStatus]) -> Vec<ActionProgress> {
        statuses
            .iter()
            .enumerate()
            .map(|(i, status)| ActionProgress {
                action_id: format!("action-{i}"),
                status: *status,
                message: None,
                updated_at: None,
            })
            .collect()
    }

    fn settled(outcome: ExecutionOutcome, statuses: &[ActionStatus]) -> Vec<ActionStatus> {
        let mut progress = actions(statuses);
        settle(&mut progress, outcome, Utc::now());
        progress.into_iter().map(|a| a.status).collect()
    }

    #[test]
    fn an_ended_run_says_what_became_of_each_action() {
        use ActionStatus::*;
        // Undone changes read as undone, and what never ran reads as skipped.
        assert_eq!(
            settled(
                ExecutionOutcome::RolledBack,
                &[Succeeded, Failed, Running, Pending]
            ),
            vec![RolledBack, Failed, RolledBack, Skipped]
        );
        // Without a rollback, a change that was made stays made.
        assert_eq!(
            settled(ExecutionOutcome::Failed, &[Succeeded, Running, Pending]),
            vec![Succeeded, Failed, Skipped]
        );
        // A dry run changes nothing: its actions are skipped, not succeeded.
        assert_eq!(
            settled(ExecutionOutcome::Succeeded, &[Pending, Skipped]),
            vec![Skipped, Skipped]
        );
        let counted = actions(&[Succeeded, Skipped, RolledBack, Failed, Skipped]);
        assert_eq!(count(&counted, Skipped), 2);
        assert_eq!(count(&counted, Succeeded), 1);
    }

    #[test]
    fn secrets_are_redacted_from_free_text() {
        let secrets = vec!["s3cr3t-value".to_owned(), "ab".to_owned()];
        assert_eq!(
            redact("connect to s3cr3t-value failed (ab)", &secrets),
            "connect to •••• failed (ab)"
        );
    }
}
