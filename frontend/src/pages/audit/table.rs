//! The rows of the log.

use crate::components::{Badge, CorrelationLink, Time};
use coordinator_api::audit::AuditLog;
use leptos::prelude::*;

/// Details as indented JSON; an empty object says so instead of showing `{}`.
pub fn pretty_details(details: &serde_json::Value) -> Option<String> {
    let empty = match details {
        serde_json::Value::Null => true,
        serde_json::Value::Object(map) => map.is_empty(),
        _ => false,
    };
    if empty {
        return None;
    }
    Some(serde_json::to_string_pretty(details).unwrap_or_else(|_| details.to_string()))
}

/// Rows are keyed by id, so rows arriving live are inserted around the ones already shown
/// and an expanded row stays expanded.
#[component]
pub fn AuditTable(logs: Memo<Vec<AuditLog>>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="audit-rows" class="audit-rows wide-table">
                <thead>
                    <tr>
                        <th class="num" scope="col">"ID"</th>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Result"</th>
                        <th scope="col">"Change"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || logs.get() key=|log| log.id.0 let:log>
                        <AuditRow log/>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn AuditRow(log: AuditLog) -> impl IntoView {
    let details = pretty_details(&log.details);
    let summary = format!("Details of row {}", log.id);
    view! {
        <tr data-test="audit-row">
            <td class="num">{log.id.to_string()}</td>
            <td class="nowrap"><Time at=log.timestamp/></td>
            <td>{log.actor}<br/><span class="muted">{log.actor_type.to_string()}</span></td>
            <td><code>{log.action}</code></td>
            <td>{log.target.map(|t| view! { <code>{t}</code> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
            <td><Badge value=log.result.to_string()/></td>
            <td>{log.correlation_id.map(|id| view! { <CorrelationLink correlation_id=id/> }.into_any()).unwrap_or_else(|| "—".into_any())}</td>
            <td>
                <details>
                    <summary aria-label=summary>"Details"</summary>
                    <dl class="facts">
                        <dt>"Request"</dt><dd><code>{log.request_id.unwrap_or_else(|| "—".to_owned())}</code></dd>
                        <dt>"Client"</dt><dd><code>{log.client_address.unwrap_or_else(|| "—".to_owned())}</code></dd>
                    </dl>
                    {match details {
                        Some(json) => view! { <pre class="json">{json}</pre> }.into_any(),
                        None => view! { <p class="muted">"No further details recorded."</p> }.into_any(),
                    }}
                </details>
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::pretty_details;
    use serde_json::json;

    #[test]
    fn details_are_indented_and_empty_ones_are_left_out() {
        assert_eq!(pretty_details(&json!({})), None);
        assert_eq!(pretty_details(&json!(null)), None);
        assert_eq!(
            pretty_details(&json!({"format": "csv"})).as_deref(),
            Some("{\n  \"format\": \"csv\"\n}")
        );
    }
}
