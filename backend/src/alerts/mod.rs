//! Alerts: rules over the coordinator's metrics, evaluated continuously; each crossing of a
//! threshold raises one alert and its return resolves it, recorded and published like every
//! other change.

pub mod condition;
pub mod entity;
pub mod evaluator;
pub mod routes;
pub mod service;

use entity::alert_rule;
use serde_json::{Value, json};

/// The audit details of an alert being raised or resolved: the rule as it stands, and the
/// metric's value.
pub(crate) fn change_details(rule: &alert_rule::Model, value: f64) -> Value {
    json!({
        "rule": rule.name, "condition": rule.condition, "value": value,
        "severity": rule.severity, "action": rule.action,
    })
}
