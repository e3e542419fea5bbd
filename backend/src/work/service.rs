//! The work queue: servers claim one task at a time under a lease.
//!
//! On Postgres a claim locks its candidate rows with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers — in one process or several — pass over each other's rows instead of waiting or
//! taking the same one; on SQLite the single writer serializes claims. The queue knows
//! nothing of what its items are about: `workflow::queue` hands them out and takes them back.

use super::entity::{self as work_item, WorkStatus};
use crate::auth::principal::ServerCaller;
use crate::db;
use crate::db::UnitOfWork;
use crate::error::{ApiError, ApiResult};
use crate::servers::entity::server;
use crate::state::AppState;
use chrono::{Duration, Utc};
use coordinator_api::work::{ClaimRequest, HeartbeatRequest, HeartbeatResponse, TaskKind};
use coordinator_api::{MachineId, ServerId, ServerKind, TaskId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

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

/// Queues work inside the command's unit; its commit wakes waiting claimers.
pub async fn enqueue(conn: &UnitOfWork, work: NewWork) -> ApiResult<TaskId> {
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
    conn.queued_work();
    Ok(item.id)
}

/// What a server offers: its tools (compliance) or capabilities (installer).
fn offered(server: &server::Model) -> ApiResult<Vec<String>> {
    match server.kind {
        ServerKind::Compliance => db::json_column(&server.tools, "tools"),
        ServerKind::Installer => db::json_column(&server.capabilities, "capabilities"),
    }
}

fn kinds_for(kind: ServerKind) -> &'static [TaskKind] {
    match kind {
        ServerKind::Compliance => &[TaskKind::Assessment],
        ServerKind::Installer => &[TaskKind::Execution],
    }
}

/// A claim, checked against the queue's limits: who claims, which kinds of work it may be
/// given, for how long, and how long it waits for some.
pub struct Claimant {
    pub server: ServerId,
    pub kinds: Vec<TaskKind>,
    pub lease_seconds: u32,
    pub wait: std::time::Duration,
}

/// Checks a claim. `None` when the server can do none of the kinds it asked for.
pub fn claimant(caller: &ServerCaller, request: &ClaimRequest) -> ApiResult<Option<Claimant>> {
    let (server, server_kind) = (caller.id.clone(), caller.kind);
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
    Ok((!kinds.is_empty()).then(|| Claimant {
        server,
        kinds,
        lease_seconds,
        wait: std::time::Duration::from_secs(u64::from(wait_seconds)),
    }))
}

/// Leases to the claimant the oldest queued item of its machine that it is able to do,
/// inside `uow`. What the item is about is not the queue's business: the caller hands it out.
pub async fn lease_next(
    uow: &UnitOfWork,
    claimant: &Claimant,
) -> ApiResult<Option<work_item::Model>> {
    let server = server::Entity::find_by_id(claimant.server.clone())
        .one(uow)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the server is no longer registered"))?;
    let offered = offered(&server)?;
    // A server that claims is alive, whether or not it also pings.
    server::Entity::update_many()
        .col_expr(server::Column::LastSeenAt, Expr::value(Utc::now()))
        .filter(server::Column::Id.eq(claimant.server.clone()))
        .exec(uow)
        .await?;
    // Candidates are read unlocked; only the one taken is locked, skipping it if another
    // claimer got there first, so concurrent claimers never block or starve each other.
    let candidates = work_item::Entity::find()
        .filter(work_item::Column::Status.eq(WorkStatus::Queued))
        .filter(work_item::Column::MachineId.eq(server.machine_id.clone()))
        .filter(work_item::Column::ServerKind.eq(server.kind))
        .filter(work_item::Column::Kind.is_in(claimant.kinds.iter().copied()))
        .order_by_asc(work_item::Column::Id)
        .limit(CANDIDATES)
        .all(uow)
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
        if let Some(item) = db::locked_or_skipped(still_queued, uow).one(uow).await? {
            taken = Some(item);
            break;
        }
    }
    let Some(item) = taken else {
        return Ok(None);
    };
    let now = Utc::now();
    let lease_expires_at = now + Duration::seconds(i64::from(claimant.lease_seconds));
    let mut active = item.clone().into_active_model();
    active.status = Set(WorkStatus::Leased);
    active.leased_by = Set(Some(claimant.server.clone()));
    active.lease_expires_at = Set(Some(lease_expires_at));
    active.lease_seconds = Set(claimant.lease_seconds as i32);
    active.attempts = Set(item.attempts + 1);
    active.updated_at = Set(now);
    Ok(Some(active.update(uow).await?))
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
    txn: &UnitOfWork,
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
pub async fn finish(txn: &UnitOfWork, item: work_item::Model, status: WorkStatus) -> ApiResult<()> {
    let mut active = item.into_active_model();
    active.status = Set(status);
    active.lease_expires_at = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(txn).await?;
    Ok(())
}

/// Ends a lease and offers the work to the next claimer.
pub async fn requeue(txn: &UnitOfWork, item: work_item::Model) -> ApiResult<()> {
    let mut active = item.into_active_model();
    active.status = Set(WorkStatus::Queued);
    active.leased_by = Set(None);
    active.lease_expires_at = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(txn).await?;
    txn.queued_work();
    Ok(())
}

/// Extends a lease the server holds.
#[tracing::instrument(skip_all, fields(task = %task_id))]
pub async fn heartbeat(
    state: &AppState,
    caller: &ServerCaller,
    task_id: TaskId,
    request: HeartbeatRequest,
) -> ApiResult<HeartbeatResponse> {
    let (server_id, machine) = (caller.id.clone(), &caller.machine);
    let txn = state.begin().await?;
    let item = work_item::Entity::find_by_id(task_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("task {task_id}")))?;
    if item.machine_id != *machine {
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

/// Leases that ran out, locked inside `uow` for the caller to take back (a batch at a time).
pub async fn expired_leases(uow: &UnitOfWork) -> ApiResult<Vec<work_item::Model>> {
    let query = work_item::Entity::find()
        .filter(work_item::Column::Status.eq(WorkStatus::Leased))
        .filter(work_item::Column::LeaseExpiresAt.lt(Utc::now()))
        .order_by_asc(work_item::Column::Id)
        .limit(100);
    Ok(db::locked_or_skipped(query, uow).all(uow).await?)
}
