//! The work queue: servers claim one task at a time under a lease.
//!
//! On Postgres a claim locks its candidate rows with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers — in one process or several — pass over each other's rows instead of waiting or
//! taking the same one; on SQLite the single writer serializes claims. What a task is about
//! (an assessment, an execution) is handled by that area's `claimed` and `lease_expired`.

use super::entity::{self as work_item, WorkStatus};
use crate::audit::Origin;
use crate::auth::Principal;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::servers::entity::server;
use crate::state::AppState;
use crate::{assessments, executions};
use chrono::{Duration, Utc};
use coordinator_api::work::{ClaimRequest, HeartbeatRequest, HeartbeatResponse, Task, TaskKind};
use coordinator_api::{MachineId, ServerId, ServerKind, TaskId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::time::Instant;

const DEFAULT_LEASE_SECONDS: u32 = 60;
const MAX_LEASE_SECONDS: u32 = 3600;
const MAX_WAIT_SECONDS: u32 = 30;
/// Queued rows looked at per claim, to find one the server is able to do.
const CANDIDATES: u64 = 32;

/// Work to queue.
pub struct NewWork {
    pub kind: TaskKind,
    pub subject_id: i64,
    /// Only a server on this machine may claim it.
    pub machine: MachineId,
    pub server_kind: ServerKind,
    /// Tools or capabilities the claimer must offer, all of them.
    pub requires: Vec<String>,
    pub max_attempts: u32,
}

pub async fn enqueue(conn: &impl ConnectionTrait, work: NewWork) -> ApiResult<TaskId> {
    let now = Utc::now();
    let item = work_item::ActiveModel {
        kind: Set(work.kind),
        subject_id: Set(work.subject_id),
        machine_id: Set(work.machine),
        status: Set(WorkStatus::Queued),
        server_kind: Set(work.server_kind),
        requires: Set(serde_json::to_string(&work.requires).map_err(ApiError::internal)?),
        leased_by: Set(None),
        lease_expires_at: Set(None),
        lease_seconds: Set(DEFAULT_LEASE_SECONDS as i32),
        attempts: Set(0),
        max_attempts: Set(work.max_attempts as i32),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(item.id)
}

/// What a server offers: its tools (compliance) or capabilities (installer).
fn offered(server: &server::Model) -> Vec<String> {
    let field = match server.kind {
        ServerKind::Compliance => &server.tools,
        ServerKind::Installer => &server.capabilities,
    };
    serde_json::from_str(field).unwrap_or_default()
}

fn kinds_for(kind: ServerKind) -> &'static [TaskKind] {
    match kind {
        ServerKind::Compliance => &[TaskKind::Assessment],
        ServerKind::Installer => &[TaskKind::Execution],
    }
}

fn server_of(principal: &Principal) -> ApiResult<(ServerId, ServerKind, MachineId)> {
    match principal {
        Principal::Server { id, kind, machine } => Ok((id.clone(), *kind, machine.clone())),
        Principal::User { .. } => Err(ApiError::forbidden("only servers claim work")),
    }
}

/// Hands the server one task it can do, waiting up to `waitSeconds` for one to appear.
#[tracing::instrument(skip_all)]
pub async fn claim(
    state: &AppState,
    principal: &Principal,
    origin: &Origin,
    request: ClaimRequest,
) -> ApiResult<Option<Task>> {
    let (server_id, server_kind, _) = server_of(principal)?;
    let lease_seconds = request.lease_seconds.unwrap_or(DEFAULT_LEASE_SECONDS);
    if !(1..=MAX_LEASE_SECONDS).contains(&lease_seconds) {
        return Err(ApiError::validation(format!(
            "leaseSeconds must be between 1 and {MAX_LEASE_SECONDS}"
        )));
    }
    let wait_seconds = request.wait_seconds.unwrap_or(0);
    if wait_seconds > MAX_WAIT_SECONDS {
        return Err(ApiError::validation(format!(
            "waitSeconds must be at most {MAX_WAIT_SECONDS}"
        )));
    }
    let possible = kinds_for(server_kind);
    let kinds: Vec<TaskKind> = match &request.kinds {
        Some(wanted) => possible
            .iter()
            .copied()
            .filter(|k| wanted.contains(k))
            .collect(),
        None => possible.to_vec(),
    };
    if kinds.is_empty() {
        return Ok(None);
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(u64::from(wait_seconds));
    loop {
        // Registered before looking, so work queued in between is not missed.
        let notified = state.work_available.notified();
        match claim_once(state, &server_id, &kinds, lease_seconds, origin).await? {
            Claim::Taken(task) => return Ok(Some(*task)),
            // That one was refused and recorded; other work may still fit.
            Claim::Refused => continue,
            Claim::Nothing => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        // Other replicas queue work too, and do not wake this one: look again every second.
        let pause = (deadline - now).min(std::time::Duration::from_secs(1));
        let _ = tokio::time::timeout(pause, notified).await;
    }
}

/// What one attempt to claim came to.
enum Claim {
    Taken(Box<Task>),
    /// The task taken could not be handed out (its payload no longer matches its approval).
    Refused,
    Nothing,
}

async fn claim_once(
    state: &AppState,
    server_id: &ServerId,
    kinds: &[TaskKind],
    lease_seconds: u32,
    origin: &Origin,
) -> ApiResult<Claim> {
    let txn = db::begin_write(&state.db).await?;
    let server = server::Entity::find_by_id(server_id.clone())
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the server is no longer registered"))?;
    let offered = offered(&server);
    // A server that claims is alive, whether or not it also pings.
    server::Entity::update_many()
        .col_expr(server::Column::LastSeenAt, Expr::value(Utc::now()))
        .filter(server::Column::Id.eq(server_id.clone()))
        .exec(&txn)
        .await?;
    // Candidates are read unlocked; only the one taken is locked, skipping it if another
    // claimer got there first, so concurrent claimers never block or starve each other.
    let candidates = work_item::Entity::find()
        .filter(work_item::Column::Status.eq(WorkStatus::Queued))
        .filter(work_item::Column::MachineId.eq(server.machine_id.clone()))
        .filter(work_item::Column::ServerKind.eq(server.kind))
        .filter(work_item::Column::Kind.is_in(kinds.iter().copied()))
        .order_by_asc(work_item::Column::Id)
        .limit(CANDIDATES)
        .all(&txn)
        .await?;
    let fits = |item: &work_item::Model| {
        serde_json::from_str::<Vec<String>>(&item.requires)
            .map(|requires| requires.iter().all(|r| offered.contains(r)))
            .unwrap_or(false)
    };
    let mut taken = None;
    for candidate in candidates.iter().filter(|item| fits(item)) {
        let still_queued = work_item::Entity::find_by_id(candidate.id)
            .filter(work_item::Column::Status.eq(WorkStatus::Queued));
        if let Some(item) = db::locked_or_skipped(still_queued, &txn).one(&txn).await? {
            taken = Some(item);
            break;
        }
    }
    let Some(item) = taken else {
        txn.commit().await?;
        return Ok(Claim::Nothing);
    };
    let now = Utc::now();
    let lease_expires_at = now + Duration::seconds(i64::from(lease_seconds));
    let attempt = item.attempts + 1;
    let mut active = item.clone().into_active_model();
    active.status = Set(WorkStatus::Leased);
    active.leased_by = Set(Some(server_id.clone()));
    active.lease_expires_at = Set(Some(lease_expires_at));
    active.lease_seconds = Set(lease_seconds as i32);
    active.attempts = Set(attempt);
    active.updated_at = Set(now);
    let item = active.update(&txn).await?;

    let mut task = Task {
        task_id: item.id,
        kind: item.kind,
        attempt: attempt as u32,
        lease_expires_at,
        assessment: None,
        execution: None,
    };
    match item.kind {
        TaskKind::Assessment => {
            task.assessment =
                Some(assessments::service::claimed(&txn, state, &item, server_id, origin).await?);
        }
        TaskKind::Execution => {
            match executions::service::claimed(&txn, state, &item, server_id, origin).await? {
                Some(execution) => task.execution = Some(execution),
                None => {
                    txn.commit().await?;
                    state.audited();
                    return Ok(Claim::Refused);
                }
            }
        }
    }
    txn.commit().await?;
    state.audited();
    Ok(Claim::Taken(Box::new(task)))
}

/// 409 when the lease has ended (expired, reclaimed or finished), 403 when another server
/// holds it now.
fn check_holder(item: &work_item::Model, server: &ServerId, what: &str) -> ApiResult<()> {
    let live = item.status == WorkStatus::Leased
        && item.lease_expires_at.is_some_and(|at| at > Utc::now());
    match &item.leased_by {
        Some(holder) if holder != server && live => Err(ApiError::forbidden(format!(
            "another server holds this {what}"
        ))),
        Some(holder) if holder == server && live => Ok(()),
        _ => Err(ApiError::conflict(format!(
            "the lease on this {what} has ended"
        ))),
    }
}

/// The lease `server` holds on the work about `subject_id`, checked inside `txn`.
pub async fn held_lease(
    txn: &DatabaseTransaction,
    kind: TaskKind,
    subject_id: i64,
    server: &ServerId,
) -> ApiResult<work_item::Model> {
    // Locked until the report commits, so the reaper cannot take the work back meanwhile.
    let newest = work_item::Entity::find()
        .filter(work_item::Column::Kind.eq(kind))
        .filter(work_item::Column::SubjectId.eq(subject_id))
        .order_by_desc(work_item::Column::Id);
    let item = db::locked(newest, txn)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::conflict("nothing is queued for this"))?;
    check_holder(&item, server, "work")?;
    Ok(item)
}

/// Ends a lease: the work is done, or given up.
pub async fn finish(
    txn: &DatabaseTransaction,
    item: work_item::Model,
    status: WorkStatus,
) -> ApiResult<()> {
    let mut active = item.into_active_model();
    active.status = Set(status);
    active.lease_expires_at = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(txn).await?;
    Ok(())
}

/// Ends a lease and offers the work to the next claimer.
pub async fn requeue(txn: &DatabaseTransaction, item: work_item::Model) -> ApiResult<()> {
    let mut active = item.into_active_model();
    active.status = Set(WorkStatus::Queued);
    active.leased_by = Set(None);
    active.lease_expires_at = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(txn).await?;
    Ok(())
}

/// Extends a lease the server holds.
#[tracing::instrument(skip_all, fields(task = %task_id))]
pub async fn heartbeat(
    state: &AppState,
    principal: &Principal,
    task_id: TaskId,
    request: HeartbeatRequest,
) -> ApiResult<HeartbeatResponse> {
    let (server_id, _, machine) = server_of(principal)?;
    let txn = db::begin_write(&state.db).await?;
    let item = work_item::Entity::find_by_id(task_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("task {task_id}")))?;
    if item.machine_id != machine {
        return Err(ApiError::forbidden(format!(
            "task {task_id} is work for machine `{}`; a server on machine `{machine}` cannot hold it",
            item.machine_id
        )));
    }
    let lease_seconds = request.lease_seconds.unwrap_or(item.lease_seconds as u32);
    if !(1..=MAX_LEASE_SECONDS).contains(&lease_seconds) {
        return Err(ApiError::validation(format!(
            "leaseSeconds must be between 1 and {MAX_LEASE_SECONDS}"
        )));
    }
    check_holder(&item, &server_id, "task")?;
    let now = Utc::now();
    let lease_expires_at = now + Duration::seconds(i64::from(lease_seconds));
    // Conditional, so a reaper that got there first wins.
    let extended = work_item::Entity::update_many()
        .col_expr(
            work_item::Column::LeaseExpiresAt,
            Expr::value(lease_expires_at),
        )
        .col_expr(work_item::Column::UpdatedAt, Expr::value(now))
        .filter(work_item::Column::Id.eq(task_id))
        .filter(work_item::Column::Status.eq(WorkStatus::Leased))
        .exec(&txn)
        .await?;
    if extended.rows_affected != 1 {
        return Err(ApiError::conflict("the lease on this task has ended"));
    }
    txn.commit().await?;
    Ok(HeartbeatResponse {
        success: true,
        task_id,
        lease_expires_at,
    })
}

/// Takes back the work of leases that ran out. Returns how many.
pub async fn reap_expired_leases(state: &AppState) -> ApiResult<usize> {
    let txn = db::begin_write(&state.db).await?;
    let mut query = work_item::Entity::find()
        .filter(work_item::Column::Status.eq(WorkStatus::Leased))
        .filter(work_item::Column::LeaseExpiresAt.lt(Utc::now()))
        .order_by_asc(work_item::Column::Id)
        .limit(100);
    query = db::locked_or_skipped(query, &txn);
    let expired = query.all(&txn).await?;
    let count = expired.len();
    for item in expired {
        match item.kind {
            TaskKind::Assessment => assessments::service::lease_expired(&txn, state, item).await?,
            TaskKind::Execution => executions::service::lease_expired(&txn, state, item).await?,
        }
    }
    txn.commit().await?;
    if count > 0 {
        state.recorder.lease_expired(count);
        state.audited();
        state.work_queued();
    }
    Ok(count)
}

/// Runs the housekeeping of the workflow about once a second: expired leases, and
/// proposals nobody decided in time.
pub fn spawn_reaper(state: AppState) {
    state.background.clone().spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = reap_expired_leases(&state).await {
                tracing::warn!(error = ?err, "reclaiming expired leases failed");
            }
            if let Err(err) = crate::remediations::service::expire_due(&state).await {
                tracing::warn!(error = ?err, "expiring proposals failed");
            }
        }
    });
}
