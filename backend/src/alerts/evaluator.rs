//! Evaluates every rule at `ALERT_EVAL_INTERVAL`. State lives in the `alerts` table, not in
//! memory, and one replica evaluates at a time (a Postgres advisory lock), so an alert is
//! raised once per crossing whatever the number of replicas or restarts.

use super::condition::Condition;
use super::entity::{alert, alert_rule};
use crate::audit::{Origin, record};
use crate::monitoring::entity as sample;
use crate::monitoring::recorder::COORDINATOR;
use crate::state::AppState;
use backon::{ExponentialBuilder, Retryable};
use chrono::Utc;
use coordinator_api::alerts::{AlertMetric, AlertStatus};
use coordinator_api::audit::{AuditAction, AuditTarget};
use coordinator_api::remediations::ProposalStatus;
use coordinator_api::servers::ServerStatus;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set, Statement,
};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

const EVALUATOR_LOCK: i64 = 0x4d43_414c_5254;

fn percent(used: i64, total: i64) -> f64 {
    if total > 0 {
        used as f64 * 100.0 / total as f64
    } else {
        0.0
    }
}

/// The current value of every metric a rule can watch.
pub async fn measure(state: &AppState) -> Result<HashMap<AlertMetric, f64>, sea_orm::DbErr> {
    let mut values = HashMap::new();
    if let Some(newest) = sample::Entity::find()
        .order_by_desc(sample::Column::Timestamp)
        .one(&state.db)
        .await?
    {
        values.insert(AlertMetric::CpuUsage, newest.cpu_usage);
        values.insert(
            AlertMetric::MemoryUsage,
            percent(newest.memory_used, newest.memory_total),
        );
        values.insert(
            AlertMetric::DiskUsage,
            percent(newest.disk_used, newest.disk_total),
        );
    }
    let window = state.recorder.window(COORDINATOR);
    values.insert(AlertMetric::ErrorRate, window.error_rate);
    values.insert(AlertMetric::ResponseTime, window.p95_ms);
    let queued = crate::work::entity::Entity::find()
        .filter(crate::work::entity::Column::Status.eq(crate::work::entity::WorkStatus::Queued))
        .count(&state.db)
        .await?;
    values.insert(AlertMetric::QueueDepth, queued as f64);
    let unreachable = crate::servers::service::list(state, &Default::default())
        .await
        .map(|servers| {
            servers
                .iter()
                .filter(|s| s.status == ServerStatus::Unreachable)
                .count()
        })
        .unwrap_or(0);
    values.insert(AlertMetric::ServersUnreachable, unreachable as f64);
    let oldest = crate::remediations::entity::Entity::find()
        .filter(crate::remediations::entity::Column::Status.eq(ProposalStatus::Pending))
        .order_by_asc(crate::remediations::entity::Column::CreatedAt)
        .one(&state.db)
        .await?;
    let waited = oldest.map_or(0.0, |p| {
        (Utc::now() - p.created_at).num_seconds().max(0) as f64 / 60.0
    });
    values.insert(AlertMetric::ApprovalsPendingMinutes, waited);
    Ok(values)
}

/// One change of an alert, to post to its rule's webhook after commit.
struct Notice {
    url: String,
    body: serde_json::Value,
}

/// Evaluates every rule once.
pub async fn evaluate(state: &AppState) -> anyhow::Result<()> {
    let values = measure(state).await?;
    let txn = state.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({EVALUATOR_LOCK})"),
        ))
        .await?;
    }
    let rules = alert_rule::Entity::find().all(&txn).await?;
    let mut notices = Vec::new();
    let origin = Origin::system("alerts");
    for rule in rules {
        let Ok(condition) = Condition::parse(&rule.condition) else {
            continue;
        };
        let Some(value) = values.get(&condition.metric).copied() else {
            continue;
        };
        let open = alert::Entity::find()
            .filter(alert::Column::RuleId.eq(rule.id))
            .filter(alert::Column::Status.eq(AlertStatus::Firing))
            .one(&txn)
            .await?;
        let now = Utc::now();
        let change = match (condition.holds(value), open) {
            (true, None) => {
                let raised = alert::ActiveModel {
                    rule_id: Set(rule.id),
                    status: Set(AlertStatus::Firing),
                    value: Set(value),
                    raised_at: Set(now),
                    resolved_at: Set(None),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                Some((AuditAction::AlertRaised, raised.id))
            }
            (false, Some(firing)) => {
                let id = firing.id;
                let mut active = firing.into_active_model();
                active.status = Set(AlertStatus::Resolved);
                active.resolved_at = Set(Some(now));
                active.update(&txn).await?;
                Some((AuditAction::AlertResolved, id))
            }
            _ => None,
        };
        let Some((action, alert_id)) = change else {
            continue;
        };
        let details = super::change_details(&rule, value);
        record::write(
            &txn,
            &state.audit_key,
            origin
                .entry(action)
                .target(AuditTarget::Alert(alert_id))
                .details(details.clone()),
        )
        .await?;
        if action == AuditAction::AlertRaised {
            tracing::warn!(rule = %rule.name, value, "alert raised: {}", rule.condition);
        } else {
            tracing::info!(rule = %rule.name, value, "alert resolved: {}", rule.condition);
        }
        if let Some(url) = rule.webhook_url {
            notices.push(Notice {
                url,
                body: json!({ "event": action, "alertId": alert_id, "at": now, "alert": details }),
            });
        }
    }
    txn.commit().await?;
    for notice in notices {
        state.background.spawn(post_with_retries(notice));
    }
    Ok(())
}

/// Posts a notice, retrying a few times with growing waits; a webhook that stays down is
/// logged, and the alert itself stays recorded either way.
async fn post_with_retries(notice: Notice) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!(error = %err, "cannot build the webhook client");
            return;
        }
    };
    const ATTEMPTS: usize = 4;
    let mut attempt = 0;
    let posted = (|| {
        attempt += 1;
        let (client, notice) = (&client, &notice);
        async move {
            match client.post(&notice.url).json(&notice.body).send().await {
                Ok(response) if response.status().is_success() => Ok(()),
                Ok(response) => {
                    tracing::warn!(status = %response.status(), attempt, "alert webhook refused");
                    Err(())
                }
                Err(err) => {
                    tracing::warn!(error = %err, attempt, "alert webhook unreachable");
                    Err(())
                }
            }
        }
    })
    // Waits of 1, 2 and 4 seconds between the attempts.
    .retry(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_secs(1))
            .with_factor(2.0)
            .with_max_times(ATTEMPTS - 1),
    )
    .await;
    if posted.is_ok() {
        return;
    }
    tracing::error!("gave up posting an alert to its webhook after {ATTEMPTS} attempts");
}

pub fn spawn(state: AppState) {
    state.background.clone().spawn(async move {
        let mut tick = tokio::time::interval(state.config.alert_eval_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = evaluate(&state).await {
                tracing::warn!(error = format!("{err:#}"), "evaluating alert rules failed");
            }
        }
    });
}
