//! Alert rules, for admins: read, add or replace, delete.
//!
//! The form builds the condition from a metric, an operator and a number, so the common
//! mistakes (an unknown metric, `=>`) cannot be typed; the coordinator still checks
//! everything and its 422 message is shown as it comes.

use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{Badge, Confirmation, Empty, ErrorNotice, Loading, Time};
use coordinator_api::alerts::{
    AlertAction, AlertMetric, AlertRule, AlertRuleRequest, AlertSeverity, rules,
};
use coordinator_api::events::Channel;
use leptos::prelude::*;

pub const OPERATORS: [&str; 4] = [">", ">=", "<", "<="];

/// What the threshold of `metric` is counted in.
pub fn unit(metric: AlertMetric) -> &'static str {
    match metric {
        AlertMetric::CpuUsage
        | AlertMetric::MemoryUsage
        | AlertMetric::DiskUsage
        | AlertMetric::ErrorRate => "percent",
        AlertMetric::ResponseTime => "milliseconds (p95)",
        AlertMetric::QueueDepth => "tasks waiting",
        AlertMetric::ServersUnreachable => "servers",
        AlertMetric::ApprovalsPendingMinutes => "minutes",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleForm {
    pub name: String,
    pub metric: AlertMetric,
    pub operator: &'static str,
    pub threshold: String,
    pub action: AlertAction,
    pub severity: AlertSeverity,
    pub webhook: String,
}

impl Default for RuleForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            metric: AlertMetric::CpuUsage,
            operator: OPERATORS[0],
            threshold: String::new(),
            action: AlertAction::NotifyAdmin,
            severity: AlertSeverity::Warning,
            webhook: String::new(),
        }
    }
}

impl RuleForm {
    /// A stored rule in the form, to change it: saving under the same name replaces it.
    pub fn from_rule(rule: &AlertRule) -> Self {
        let mut form = Self {
            name: rule.name.clone(),
            action: rule.action,
            severity: rule.severity,
            webhook: rule.webhook_url.clone().unwrap_or_default(),
            ..Self::default()
        };
        let parts: Vec<&str> = rule.condition.split_whitespace().collect();
        if let [metric, operator, threshold] = parts.as_slice()
            && let Ok(metric) = metric.parse::<AlertMetric>()
            && let Some(operator) = OPERATORS.iter().find(|o| *o == operator)
        {
            form.metric = metric;
            form.operator = operator;
            form.threshold = (*threshold).to_owned();
        }
        form
    }

    pub fn condition(&self) -> String {
        format!(
            "{} {} {}",
            self.metric,
            self.operator,
            self.threshold.trim()
        )
    }

    /// The request to send, or what to correct first, in words for the reader.
    pub fn to_request(&self) -> Result<AlertRuleRequest, String> {
        rules::check_name(&self.name).map_err(|rule| format!("The {rule}."))?;
        let name = self.name.trim();
        let threshold = self.threshold.trim();
        if !threshold.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err("The threshold must be a number, such as 90 or 2.5.".to_owned());
        }
        let webhook = self.webhook.trim();
        let webhook_url = if webhook.is_empty() {
            None
        } else if webhook.len() > rules::WEBHOOK_MAX || !webhook.starts_with("http://") {
            return Err(format!(
                "The webhook must be an http:// address of at most {} characters (https is not supported: post to a local relay).",
                rules::WEBHOOK_MAX
            ));
        } else {
            Some(webhook.to_owned())
        };
        Ok(AlertRuleRequest {
            name: name.to_owned(),
            condition: self.condition(),
            action: self.action,
            severity: self.severity,
            webhook_url,
        })
    }
}

#[component]
pub fn RulesSection() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    // Bumped after this page saves or deletes a rule. Rule changes are published on the
    // audit channel only; following every audit event to catch another admin's edit would
    // reload this table far more often than rules change.
    let changed = RwSignal::new(0_u32);
    let rules = LocalResource::new(move || {
        changed.track();
        live.revision(Channel::Alerts);
        let api = ctx.api();
        async move { api.alert_rules().await.map(|r| r.rules) }
    });
    let form = RwSignal::new(RuleForm::default());
    let confirming = RwSignal::new(None::<i64>);
    let delete = Action::new_local(move |id: &i64| {
        let id = *id;
        let api = ctx.api();
        async move {
            api.delete_alert_rule(id).await?;
            confirming.set(None);
            changed.update(|n| *n += 1);
            Ok::<_, ApiError>(())
        }
    });
    let existing = Signal::derive(move || {
        rules.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|rules| {
                    rules
                        .iter()
                        .map(|rule| rule.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    view! {
        <Transition fallback=Loading>
            {move || rules.get().map(|result| match result {
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                Ok(list) if list.is_empty() => view! { <Empty text="No alert rule is defined."/> }.into_any(),
                Ok(list) => view! { <RulesTable rules=list form confirming delete/> }.into_any(),
            })}
        </Transition>
        {move || delete.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
        <RuleEditor form existing changed/>
    }
}

#[component]
fn RulesTable(
    rules: Vec<AlertRule>,
    form: RwSignal<RuleForm>,
    confirming: RwSignal<Option<i64>>,
    delete: Action<i64, Result<(), ApiError>>,
) -> impl IntoView {
    let deleting = delete.pending();
    view! {
        <div class="table-wrap">
            <table data-test="rules" class="wide-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Condition"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Severity"</th>
                        <th scope="col">"Webhook"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col"><span class="visually-hidden">"Change"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {rules.into_iter().map(|rule| {
                        let id = rule.id;
                        let edit = RuleForm::from_rule(&rule);
                        let name = rule.name.clone();
                        let asking = move || confirming.get() == Some(id);
                        view! {
                            <tr data-test="rule-row">
                                <td><strong>{rule.name}</strong></td>
                                <td><code>{rule.condition}</code></td>
                                <td>{crate::format::words(rule.action.as_str())}</td>
                                <td><Badge value=rule.severity.to_string()/></td>
                                <td>{rule.webhook_url.map(|url| view! { <code>{url}</code> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
                                <td class="nowrap"><Time at=rule.created_at/><br/><span class="muted">{format!("by {}", rule.created_by)}</span></td>
                                <td>
                                    <Show when=asking fallback=move || {
                                        let edit = edit.clone();
                                        view! {
                                            <div class="buttons">
                                                <button type="button" data-test="edit-rule"
                                                    on:click=move |_| form.set(edit.clone())>"Edit"</button>
                                                <button type="button" class="reject" data-test="delete-rule"
                                                    on:click=move |_| confirming.set(Some(id))>"Delete"</button>
                                            </div>
                                        }
                                    }>
                                        <Confirmation
                                            question=format!("Delete {name} and its alerts?")
                                            confirm="Yes, delete"
                                            busy_text="Deleting…"
                                            busy=deleting
                                            danger=true
                                            group_label=format!("Confirm deleting {name}")
                                            confirm_test="confirm-delete"
                                            cancel_test="cancel-delete"
                                            on_confirm=Callback::new(move |()| { delete.dispatch(id); })
                                            on_cancel=Callback::new(move |()| confirming.set(None))
                                        />
                                    </Show>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn RuleEditor(
    form: RwSignal<RuleForm>,
    existing: Signal<Vec<String>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let problem = RwSignal::new(None::<String>);
    let save = Action::new_local(move |request: &AlertRuleRequest| {
        let request = request.clone();
        let api = ctx.api();
        async move {
            let saved = api.save_alert_rule(&request).await?;
            form.set(RuleForm::default());
            changed.update(|n| *n += 1);
            Ok::<_, ApiError>(saved.rule.name)
        }
    });
    let saving = save.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match form.with_untracked(RuleForm::to_request) {
            Ok(request) => {
                problem.set(None);
                save.dispatch(request);
            }
            Err(message) => problem.set(Some(message)),
        }
    };
    let replaces = move || {
        let name = form.with(|f| f.name.trim().to_owned());
        existing.with(|names| names.contains(&name))
    };
    view! {
        <form class="rule-form" on:submit=submit data-test="rule-form" aria-labelledby="rule-form-heading">
            <h3 id="rule-form-heading">"Add or replace a rule"</h3>
            <div class="filters">
                <label for="rule-name">"Name"
                    <input id="rule-name" required maxlength=rules::NAME_MAX autocomplete="off" spellcheck="false"
                        prop:value=move || form.with(|f| f.name.clone())
                        on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))/>
                </label>
                <label for="rule-metric">"Metric"
                    <select id="rule-metric" on:change=move |ev| {
                        if let Ok(metric) = event_target_value(&ev).parse() {
                            form.update(|f| f.metric = metric);
                        }
                    }>
                        {AlertMetric::ALL.iter().map(|metric| {
                            let metric = *metric;
                            view! { <option value=metric.as_str() selected=move || form.with(|f| f.metric == metric)>{metric.as_str()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label for="rule-operator">"Operator"
                    <select id="rule-operator" on:change=move |ev| {
                        let chosen = event_target_value(&ev);
                        if let Some(operator) = OPERATORS.iter().find(|o| **o == chosen) {
                            form.update(|f| f.operator = operator);
                        }
                    }>
                        {OPERATORS.iter().map(|operator| {
                            let operator: &'static str = operator;
                            view! { <option value=operator selected=move || form.with(|f| f.operator == operator)>{operator}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label for="rule-threshold">{move || format!("Threshold ({})", unit(form.with(|f| f.metric)))}
                    <input id="rule-threshold" required inputmode="decimal" autocomplete="off"
                        prop:value=move || form.with(|f| f.threshold.clone())
                        on:input=move |ev| form.update(|f| f.threshold = event_target_value(&ev))/>
                </label>
                <label for="rule-action">"Action"
                    <select id="rule-action" on:change=move |ev| {
                        if let Ok(action) = event_target_value(&ev).parse() {
                            form.update(|f| f.action = action);
                        }
                    }>
                        {AlertAction::ALL.iter().map(|action| {
                            let action = *action;
                            view! { <option value=action.as_str() selected=move || form.with(|f| f.action == action)>{crate::format::words(action.as_str())}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label for="rule-severity">"Severity"
                    <select id="rule-severity" on:change=move |ev| {
                        if let Ok(severity) = event_target_value(&ev).parse() {
                            form.update(|f| f.severity = severity);
                        }
                    }>
                        {AlertSeverity::ALL.iter().map(|severity| {
                            let severity = *severity;
                            view! { <option value=severity.as_str() selected=move || form.with(|f| f.severity == severity)>{severity.as_str()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label for="rule-webhook" class="grow">"Webhook (optional, http:// only)"
                    <input id="rule-webhook" type="url" maxlength=rules::WEBHOOK_MAX autocomplete="off" spellcheck="false"
                        prop:value=move || form.with(|f| f.webhook.clone())
                        on:input=move |ev| form.update(|f| f.webhook = event_target_value(&ev))/>
                </label>
            </div>
            <p class="muted">
                "Condition: "<code data-test="rule-condition">{move || form.with(RuleForm::condition)}</code>
                {move || replaces().then_some(" — replaces the rule of this name")}
            </p>
            <div class="buttons">
                <button type="submit" data-test="save-rule" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving…" } else { "Save rule" }}
                </button>
                <button type="button" on:click=move |_| { form.set(RuleForm::default()); problem.set(None); }>"Reset"</button>
            </div>
            {move || problem.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            {move || save.value().get().map(|result| match result {
                Ok(name) => view! { <p class="notice ok" role="status">{format!("Rule {name} saved.")}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn filled() -> RuleForm {
        RuleForm {
            name: " queue-backlog ".into(),
            metric: AlertMetric::QueueDepth,
            operator: ">=",
            threshold: " 25 ".into(),
            action: AlertAction::NotifyTeam,
            severity: AlertSeverity::Critical,
            webhook: "http://127.0.0.1:9000/hooks/alerts".into(),
        }
    }

    #[test]
    fn a_filled_form_becomes_the_request() {
        let request = filled().to_request().unwrap();
        assert_eq!(request.name, "queue-backlog");
        assert_eq!(request.condition, "queue_depth >= 25");
        assert_eq!(request.action, AlertAction::NotifyTeam);
        assert_eq!(request.severity, AlertSeverity::Critical);
        assert_eq!(
            request.webhook_url.as_deref(),
            Some("http://127.0.0.1:9000/hooks/alerts")
        );
        let without = RuleForm {
            webhook: "  ".into(),
            ..filled()
        };
        assert_eq!(without.to_request().unwrap().webhook_url, None);
    }

    #[test]
    fn mistakes_are_named_before_sending() {
        let bad_name = RuleForm {
            name: "cpu critical".into(),
            ..filled()
        };
        assert!(bad_name.to_request().unwrap_err().starts_with("The name"));
        let bad_threshold = RuleForm {
            threshold: "ninety".into(),
            ..filled()
        };
        assert!(
            bad_threshold
                .to_request()
                .unwrap_err()
                .starts_with("The threshold")
        );
        let infinite = RuleForm {
            threshold: "inf".into(),
            ..filled()
        };
        assert!(infinite.to_request().is_err());
        let https = RuleForm {
            webhook: "https://example.org/hook".into(),
            ..filled()
        };
        assert!(https.to_request().unwrap_err().starts_with("The webhook"));
    }

    #[test]
    fn a_stored_rule_fills_the_form_again() {
        let rule = AlertRule {
            id: 4,
            name: "queue-backlog".into(),
            condition: "queue_depth >= 25".into(),
            action: AlertAction::NotifyTeam,
            severity: AlertSeverity::Critical,
            webhook_url: Some("http://127.0.0.1:9000/hooks/alerts".into()),
            created_by: "admin".into(),
            created_at: Utc::now(),
        };
        let form = RuleForm::from_rule(&rule);
        assert_eq!(form.to_request().unwrap().condition, rule.condition);
        assert_eq!(
            form,
            RuleForm {
                name: "queue-backlog".into(),
                threshold: "25".into(),
                ..filled()
            }
        );
        let odd = AlertRule {
            condition: "something else".into(),
            ..rule
        };
        assert_eq!(RuleForm::from_rule(&odd).threshold, "");
        assert_eq!(unit(AlertMetric::ResponseTime), "milliseconds (p95)");
    }
}
