//! Audit retention: forgetting rows older than `AUDIT_RETENTION_DAYS` without losing the
//! proof that what remains is complete.
//!
//! Pruning removes a prefix of the chain only. In one transaction, under the sealer's lock,
//! it verifies the whole chain (a broken log is evidence and is never pruned), stores a
//! checkpoint naming the newest row it removes and that row's link, signed with the audit
//! key, deletes the rows the checkpoint covers (the database's delete guard refuses any
//! other row) and records what it did. Verification then starts from the checkpoint.

use super::chain::{self};
use super::entity::{audit_log, checkpoint};
use super::record::{self, Origin};
use crate::state::AppState;
use chrono::{DateTime, Duration as Days, Utc};
use coordinator_api::AuditLogId;
use coordinator_api::audit::AuditResult;
use coordinator_api::audit::{AuditAction, AuditTarget};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;
use std::time::Duration;

/// How often each replica looks for rows to prune. Only the first to take the lock finds any.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What one run of the job removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruned {
    /// The chain position of the newest removed row; verification starts after it.
    pub through_seq: i64,
    pub through_id: AuditLogId,
    pub rows: u64,
}

/// Why the job did not prune.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("the audit chain does not verify at row {0} ({1}); nothing was pruned")]
    Broken(AuditLogId, String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The moment before which rows are pruned, or `None` when retention is off (0 days).
pub fn cutoff(retention_days: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (retention_days > 0).then(|| now - Days::days(i64::from(retention_days)))
}

/// Prunes every sealed row older than `before`, up to the first row that is not. Returns
/// `None` when there is nothing to prune.
pub async fn prune(
    state: &AppState,
    before: DateTime<Utc>,
    origin: &Origin,
) -> Result<Option<Pruned>, PruneError> {
    let key = &state.audit_key;
    // Old rows that are still unsealed get their place in the chain first.
    chain::seal_pending(&state.db, key).await?;
    let outcome = prune_sealed(state, before, origin).await;
    if let Err(PruneError::Broken(id, reason)) = &outcome {
        // Recorded in its own transaction: the pruning one was rolled back.
        let txn = state.begin().await?;
        record::write(
            &txn,
            key,
            origin
                .entry(AuditAction::AuditPruned)
                .target(AuditTarget::AuditLog)
                .result(AuditResult::Failure)
                .details(json!({ "brokenId": id, "reason": reason, "olderThan": before })),
        )
        .await?;
        txn.commit().await?;
    }
    outcome
}

async fn prune_sealed(
    state: &AppState,
    before: DateTime<Utc>,
    origin: &Origin,
) -> Result<Option<Pruned>, PruneError> {
    let key = &state.audit_key;
    let txn = state.begin().await?;
    chain::lock_sealer(&txn).await?;
    let start = match chain::chain_start(&txn, key).await? {
        Ok((seq, _)) => seq,
        Err(reason) => return Err(PruneError::Broken(AuditLogId(0), reason)),
    };
    let head = chain::load_state(&txn)
        .await?
        .map(|state| state.head_seq)
        .unwrap_or_default();
    // Timestamps are taken at insert and rows are sealed in id order, so the two orders can
    // differ slightly; the prefix stops before the first row young enough to keep.
    let first_kept: Option<i64> = audit_log::Entity::find()
        .select_only()
        .column_as(audit_log::Column::ChainSeq.min(), "seq")
        .filter(audit_log::Column::ChainSeq.is_not_null())
        .filter(audit_log::Column::Timestamp.gte(before))
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten();
    let through_seq = first_kept.map_or(head, |seq| seq - 1);
    if through_seq <= start {
        txn.commit().await?;
        return Ok(None);
    }
    // Only now, when there is something to remove: the walk reads the whole log.
    let verification = chain::walk(&txn, key).await?;
    if let Some((id, reason)) = verification.broken {
        return Err(PruneError::Broken(id, reason));
    }
    let through = audit_log::Entity::find()
        .filter(audit_log::Column::ChainSeq.eq(through_seq))
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("audit row at position {through_seq}")))?;
    let through_mac = through.chain_mac.clone().unwrap_or_default();
    let rows = (through_seq - start) as u64;
    checkpoint::ActiveModel {
        through_seq: Set(through_seq),
        through_id: Set(through.id),
        through_mac: Set(through_mac.clone()),
        through_timestamp: Set(through.timestamp),
        pruned_rows: Set(rows as i64),
        created_at: Set(Utc::now()),
        checkpoint_mac: Set(key.checkpoint_mac(
            through_seq,
            through.id,
            &through_mac,
            &through.timestamp,
        )),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let deleted = audit_log::Entity::delete_many()
        .filter(audit_log::Column::ChainSeq.lte(through_seq))
        .exec(&txn)
        .await?
        .rows_affected;
    record::write(
        &txn,
        key,
        origin
            .entry(AuditAction::AuditPruned)
            .target(AuditTarget::AuditLog)
            .details(json!({
                "throughSeq": through_seq,
                "throughId": through.id,
                "throughTimestamp": through.timestamp,
                "rows": deleted,
                "olderThan": before,
            })),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(Pruned {
        through_seq,
        through_id: through.id,
        rows: deleted,
    }))
}

/// Runs the job about once an hour while `AUDIT_RETENTION_DAYS` is above zero.
pub fn spawn(state: AppState) {
    let days = state.config.audit_retention_days;
    if days == 0 {
        tracing::info!("AUDIT_RETENTION_DAYS is 0: the audit log is kept forever");
        return;
    }
    state.background.clone().spawn(async move {
        let origin = Origin::system("retention");
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(before) = cutoff(days, Utc::now()) else {
                return;
            };
            match prune(&state, before, &origin).await {
                Ok(None) => {}
                Ok(Some(pruned)) => tracing::info!(
                    rows = pruned.rows,
                    through_seq = pruned.through_seq,
                    "pruned audit rows older than {days} days"
                ),
                Err(err) => tracing::error!(error = %err, "audit retention failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::cutoff;
    use chrono::{TimeZone, Utc};

    #[test]
    fn zero_days_keeps_everything_and_others_count_back_from_now() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        assert_eq!(cutoff(0, now), None);
        assert_eq!(
            cutoff(90, now),
            Some(Utc.with_ymd_and_hms(2026, 8, 23, 12, 0, 0).unwrap())
        );
    }
}
