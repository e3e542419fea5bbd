//! Handing out queued work and taking back work whose lease ran out.

use crate::audit::Origin;
use crate::auth::principal::ServerCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::work::entity as work_item;
use crate::work::service::{self as work, Claimant};
use crate::{assessments, executions, remediations};
use coordinator_api::work::{ClaimRequest, Task, TaskKind};
use std::time::{Duration, Instant};

/// Hands the server one task it can do, waiting up to `waitSeconds` for one to appear.
#[tracing::instrument(skip_all)]
pub async fn claim(
    state: &AppState,
    caller: &ServerCaller,
    origin: &Origin,
    request: ClaimRequest,
) -> ApiResult<Option<Task>> {
    let Some(claimant) = work::claimant(caller, &request)? else {
        return Ok(None);
    };
    let deadline = Instant::now() + claimant.wait;
    loop {
        // Registered before looking, so work queued in between is not missed.
        let notified = state.wakeups.work.notified();
        match claim_once(state, &claimant, origin).await? {
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
        let pause = (deadline - now).min(Duration::from_secs(1));
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

async fn claim_once(state: &AppState, claimant: &Claimant, origin: &Origin) -> ApiResult<Claim> {
    let uow = state.begin().await?;
    let Some(item) = work::lease_next(&uow, claimant).await? else {
        uow.commit().await?;
        return Ok(Claim::Nothing);
    };
    let mut task = Task {
        task_id: item.id,
        kind: item.kind,
        attempt: item.attempts as u32,
        lease_expires_at: item.lease_expires_at.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "work item {} was leased without an end",
                item.id
            ))
        })?,
        assessment: None,
        execution: None,
    };
    let server = &claimant.server;
    match item.kind {
        TaskKind::Assessment => {
            task.assessment =
                Some(assessments::service::claimed(&uow, state, &item, server, origin).await?);
        }
        TaskKind::Execution => {
            match executions::service::claimed(&uow, state, &item, server, origin).await? {
                Some(execution) => task.execution = Some(execution),
                None => {
                    uow.commit().await?;
                    return Ok(Claim::Refused);
                }
            }
        }
    }
    uow.commit().await?;
    Ok(Claim::Taken(Box::new(task)))
}

/// Takes back the work of leases that ran out. Returns how many.
pub async fn reap_expired_leases(state: &AppState) -> ApiResult<usize> {
    let uow = state.begin().await?;
    let expired: Vec<work_item::Model> = work::expired_leases(&uow).await?;
    let count = expired.len();
    for item in expired {
        match item.kind {
            TaskKind::Assessment => assessments::service::lease_expired(&uow, state, item).await?,
            TaskKind::Execution => executions::service::lease_expired(&uow, state, item).await?,
        }
    }
    uow.commit().await?;
    if count > 0 {
        state.recorder.lease_expired(count);
    }
    Ok(count)
}

/// Runs the housekeeping of the workflow about once a second: expired leases, and
/// proposals nobody decided in time.
pub fn spawn_reaper(state: AppState) {
    state.background.clone().spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = reap_expired_leases(&state).await {
                tracing::warn!(error = ?err, "reclaiming expired leases failed");
            }
            if let Err(err) = remediations::service::expire_due(&state).await {
                tracing::warn!(error = ?err, "expiring proposals failed");
            }
        }
    });
}
