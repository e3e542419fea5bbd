//! Alert rules (admins, or the rules file) and the alerts list.

use super::condition::Condition;
use super::entity::{alert, alert_rule};
use crate::audit::{Origin, record};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use chrono::Utc;
use coordinator_api::alerts::{Alert, AlertQuery, AlertRule, AlertRuleRequest, AlertStatus, rules};
use coordinator_api::audit::{AuditAction, AuditTarget};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

pub fn to_wire(rule: alert_rule::Model) -> AlertRule {
    AlertRule {
        id: rule.id,
        name: rule.name,
        condition: rule.condition,
        action: rule.action,
        severity: rule.severity,
        webhook_url: rule.webhook_url,
        created_by: rule.created_by,
        created_at: rule.created_at,
    }
}

fn validate(request: &AlertRuleRequest) -> ApiResult<String> {
    rules::check_name(&request.name).map_err(ApiError::validation)?;
    let name = request.name.trim();
    if request.condition.len() > rules::CONDITION_MAX {
        return Err(ApiError::validation(format!(
            "condition must be at most {} characters",
            rules::CONDITION_MAX
        )));
    }
    Condition::parse(&request.condition)
        .map_err(|e| ApiError::validation(format!("condition: {e}")))?;
    if let Some(url) = &request.webhook_url
        && (url.len() > rules::WEBHOOK_MAX || !is_plain_http_url(url))
    {
        return Err(ApiError::validation(format!(
            "webhookUrl must be an http:// URL of at most {} characters (post to a local relay for https)",
            rules::WEBHOOK_MAX
        )));
    }
    Ok(name.to_owned())
}

/// An absolute `http://` URL with a host; the webhook client speaks no TLS.
fn is_plain_http_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|url| url.scheme() == "http" && url.host_str().is_some_and(|h| !h.is_empty()))
}

/// Creates the rule, or replaces the one of the same name. Saving a rule exactly as stored
/// changes nothing and records nothing, so reloading the rules file at each start is quiet.
pub async fn save(
    state: &AppState,
    origin: &Origin,
    request: AlertRuleRequest,
) -> ApiResult<(bool, AlertRule)> {
    let name = validate(&request)?;
    let condition = request
        .condition
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let txn = state.begin().await?;
    let existing = alert_rule::Entity::find()
        .filter(alert_rule::Column::Name.eq(name.as_str()))
        .one(&txn)
        .await?;
    if let Some(rule) = &existing
        && rule.condition == condition
        && rule.action == request.action
        && rule.severity == request.severity
        && rule.webhook_url == request.webhook_url
    {
        txn.commit().await?;
        return Ok((false, to_wire(rule.clone())));
    }
    let created = existing.is_none();
    let mut active = match existing {
        Some(rule) => rule.into_active_model(),
        None => alert_rule::ActiveModel {
            name: Set(name.clone()),
            created_by: Set(origin.actor.name.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    };
    active.condition = Set(condition.clone());
    active.action = Set(request.action);
    active.severity = Set(request.severity);
    active.webhook_url = Set(request.webhook_url.clone());
    let rule = if created {
        active.insert(&txn).await?
    } else {
        active.update(&txn).await?
    };
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(if created {
                AuditAction::AlertRuleCreated
            } else {
                AuditAction::AlertRuleUpdated
            })
            .target(AuditTarget::AlertRule(rule.id))
            .details(json!({
                "name": rule.name, "condition": condition, "action": rule.action,
                "severity": rule.severity, "webhook": rule.webhook_url.is_some(),
            })),
    )
    .await?;
    txn.commit().await?;
    Ok((created, to_wire(rule)))
}

pub async fn delete(state: &AppState, origin: &Origin, id: i64) -> ApiResult<()> {
    let txn = state.begin().await?;
    let rule = alert_rule::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert rule {id}")))?;
    // Its alerts go with it; one still firing is resolved on the record first, so no
    // subscriber is left with an alert that never ends.
    let firing = alert::Entity::find()
        .filter(alert::Column::RuleId.eq(id))
        .filter(alert::Column::Status.eq(AlertStatus::Firing))
        .one(&txn)
        .await?;
    if let Some(firing) = firing {
        let mut details = super::change_details(&rule, firing.value);
        details["reason"] = json!("rule_deleted");
        record::write(
            &txn,
            &state.audit_key,
            origin
                .entry(AuditAction::AlertResolved)
                .target(AuditTarget::Alert(firing.id))
                .details(details),
        )
        .await?;
    }
    alert_rule::Entity::delete_by_id(id).exec(&txn).await?;
    record::write(
        &txn,
        &state.audit_key,
        origin
            .entry(AuditAction::AlertRuleDeleted)
            .target(AuditTarget::AlertRule(id))
            .details(json!({ "name": rule.name, "condition": rule.condition })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn rules(state: &AppState) -> ApiResult<Vec<AlertRule>> {
    Ok(alert_rule::Entity::find()
        .order_by_asc(alert_rule::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(to_wire)
        .collect())
}

pub async fn alerts(state: &AppState, query: &AlertQuery) -> ApiResult<Vec<Alert>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit must be between 1 and 500"));
    }
    let mut select = alert::Entity::find()
        .order_by_desc(alert::Column::Id)
        .limit(limit);
    if let Some(status) = query.status {
        select = select.filter(alert::Column::Status.eq(status));
    }
    let rows = select.all(&state.db).await?;
    let rules: HashMap<i64, alert_rule::Model> = alert_rule::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let rule = rules.get(&row.rule_id)?;
            Some(Alert {
                id: row.id,
                rule_id: row.rule_id,
                rule: rule.name.clone(),
                condition: rule.condition.clone(),
                severity: rule.severity,
                action: rule.action,
                status: row.status,
                value: row.value,
                raised_at: row.raised_at,
                resolved_at: row.resolved_at,
            })
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rules: Vec<AlertRuleRequest>,
}

/// Loads `ALERT_RULES_FILE` at start: each rule is created, or updated by name.
pub async fn load_file(state: &AppState) -> anyhow::Result<()> {
    let Some(path) = &state.config.alert_rules_file else {
        return Ok(());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("ALERT_RULES_FILE: cannot read `{}`: {e}", path.display()))?;
    let file: RulesFile = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("ALERT_RULES_FILE: `{}`: {e}", path.display()))?;
    let origin = Origin::system("alert-rules-file");
    for rule in file.rules {
        let name = rule.name.clone();
        save(state, &origin, rule)
            .await
            .map_err(|e| anyhow::anyhow!("ALERT_RULES_FILE: rule `{name}`: {}", e.message()))?;
    }
    Ok(())
}
