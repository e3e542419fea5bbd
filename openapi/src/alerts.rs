//! Alert rules and the alerts they raise.
//!
//! A rule is a condition in the specification's own words, such as `cpu_usage > 90`, with
//! an action. While the condition holds the rule's alert is firing; it is raised once when
//! the condition starts to hold and resolved once when it stops.

use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Limits of a rule, here so the coordinator and the dashboard's form cannot disagree.
pub mod rules {
    pub const NAME_MAX: usize = 64;
    pub const CONDITION_MAX: usize = 128;
    pub const WEBHOOK_MAX: usize = 512;

    /// 1 to 64 letters, digits, `-`, `_` or `.` (after trimming).
    pub fn check_name(name: &str) -> Result<(), String> {
        let name = name.trim();
        let valid = !name.is_empty()
            && name.len() <= NAME_MAX
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Ok(())
        } else {
            Err(format!(
                "name must be 1 to {NAME_MAX} letters, digits, '-', '_' or '.'"
            ))
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn names_follow_the_rule() {
            assert!(super::check_name(" cpu-high.1_a ").is_ok());
            assert!(super::check_name("").is_err());
            assert!(super::check_name("cpu high").is_err());
            assert!(super::check_name(&"a".repeat(65)).is_err());
        }
    }
}

wire_enum! {
    /// What a rule watches.
    pub enum AlertMetric {
        /// Percent of all cores, from the newest sample.
        CpuUsage = "cpu_usage",
        /// Percent.
        MemoryUsage = "memory_usage",
        /// Percent.
        DiskUsage = "disk_usage",
        /// Percent of the coordinator's requests that failed over the last five minutes.
        ErrorRate = "error_rate",
        /// The coordinator's p95 response time over the last five minutes, in milliseconds.
        ResponseTime = "response_time",
        /// Tasks waiting for a server.
        QueueDepth = "queue_depth",
        /// Registered servers currently unreachable.
        ServersUnreachable = "servers_unreachable",
        /// Minutes the oldest pending proposal has waited for a decision.
        ApprovalsPendingMinutes = "approvals_pending_minutes",
    }
}

wire_enum! {
    /// What to do when a rule fires. Every action raises a recorded alert (audited, and sent
    /// on the `alerts` channel); with a webhook the alert is also posted there.
    pub enum AlertAction {
        NotifyAdmin = "notify_admin",
        NotifyTeam = "notify_team",
        EmergencyAlert = "emergency_alert",
        LogWarning = "log_warning",
    }
}

wire_enum! {
    pub enum AlertSeverity {
        Critical = "critical",
        Warning = "warning",
    }
}

wire_enum! {
    pub enum AlertStatus {
        Firing = "firing",
        Resolved = "resolved",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRuleRequest {
    /// Unique; rules from the rules file are matched by name.
    #[schema(example = "cpu-critical")]
    pub name: String,
    /// `<metric> <operator> <number>`, with operator `>`, `>=`, `<` or `<=`.
    #[schema(example = "cpu_usage > 90")]
    pub condition: String,
    pub action: AlertAction,
    #[serde(default = "warning")]
    pub severity: AlertSeverity,
    /// Where raised and resolved alerts are posted (JSON), with retries. `http://` only.
    pub webhook_url: Option<String>,
}

fn warning() -> AlertSeverity {
    AlertSeverity::Warning
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    pub id: i64,
    pub name: String,
    pub condition: String,
    pub action: AlertAction,
    pub severity: AlertSeverity,
    pub webhook_url: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertRuleResponse {
    pub success: bool,
    pub rule: AlertRule,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertRuleListResponse {
    pub success: bool,
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: i64,
    pub rule_id: i64,
    pub rule: String,
    pub condition: String,
    pub severity: AlertSeverity,
    pub action: AlertAction,
    pub status: AlertStatus,
    /// The metric's value when the alert was raised.
    pub value: f64,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    /// 1 to 500; 100 when absent.
    pub limit: Option<u64>,
}

/// Newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertListResponse {
    pub success: bool,
    pub alerts: Vec<Alert>,
}
