//! The alerts the rules raised, newest first.

use crate::address::choice;
use crate::app::Ctx;
use crate::components::{Badge, Empty, ErrorNotice, Loading, Time};
use coordinator_api::alerts::{Alert, AlertQuery, AlertStatus};
use coordinator_api::events::Channel;
use leptos::prelude::*;

/// The alerts the API answers at most; the newest are the ones that matter here.
const ALERTS_SHOWN: u64 = 100;

pub fn empty_text(status: Option<AlertStatus>) -> &'static str {
    match status {
        Some(AlertStatus::Firing) => "No alert is firing.",
        Some(AlertStatus::Resolved) => "No alert has been resolved yet.",
        None => "No alert has been raised.",
    }
}

/// A measured value without trailing zeros: `11`, `92.5`.
pub fn value_text(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[component]
pub fn AlertsList() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let status = RwSignal::new(None::<AlertStatus>);
    let alerts = LocalResource::new(move || {
        live.revision(Channel::Alerts);
        let filter = AlertQuery {
            status: status.get(),
            limit: Some(ALERTS_SHOWN),
        };
        let api = ctx.api();
        async move { api.alerts(&filter).await.map(|a| a.alerts) }
    });
    let choices: [(&'static str, &'static str); 3] =
        [("", "All"), ("firing", "Firing"), ("resolved", "Resolved")];
    view! {
        <div class="filters">
            <label for="alert-status">"Show"
                <select id="alert-status" data-test="alert-filter"
                    on:change=move |ev| status.set(choice(&event_target_value(&ev)))>
                    {choices.into_iter().map(|(value, label)| view! {
                        <option value=value selected=move || status.get().map(AlertStatus::as_str).unwrap_or("") == value>{label}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
        <Transition fallback=Loading>
            {move || alerts.get().map(|result| match result {
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                Ok(list) if list.is_empty() => view! { <Empty text=empty_text(status.get_untracked())/> }.into_any(),
                Ok(list) => view! { <AlertTable alerts=list/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn AlertTable(alerts: Vec<Alert>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="alerts" class="wide-table">
                <thead>
                    <tr>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Severity"</th>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Condition"</th>
                        <th scope="col" class="num">"Value"</th>
                        <th scope="col">"Raised"</th>
                        <th scope="col">"Resolved"</th>
                    </tr>
                </thead>
                <tbody>
                    {alerts.into_iter().map(|alert| view! {
                        <tr data-test="alert-row">
                            <td><Badge value=alert.status.to_string()/></td>
                            <td><Badge value=alert.severity.to_string()/></td>
                            <td>{alert.rule}<br/><span class="muted">{alert.action.to_string()}</span></td>
                            <td><code>{alert.condition}</code></td>
                            <td class="num">{value_text(alert.value)}</td>
                            <td class="nowrap"><Time at=alert.raised_at/></td>
                            <td class="nowrap">{match alert.resolved_at {
                                Some(at) => view! { <Time at/> }.into_any(),
                                None => "—".into_any(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_texts_and_values_read_plainly() {
        assert_eq!(empty_text(Some(AlertStatus::Firing)), "No alert is firing.");
        assert_eq!(value_text(11.0), "11");
        assert_eq!(value_text(92.5), "92.5");
        assert_eq!(value_text(0.126), "0.13");
        assert_eq!(value_text(0.0), "0");
        assert_eq!(value_text(100.0), "100");
    }
}
