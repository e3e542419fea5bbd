//! How the coordinator, its machine and every registered server are doing now.

use super::series::{COORDINATOR, services_in_order};
use crate::components::{Badge, Empty, ProgressBar, Time};
use crate::format;
use chrono::{DateTime, Utc};
use coordinator_api::monitoring::{CapacityMetrics, MetricsSnapshot, ServiceHealth, SystemMetrics};
use leptos::prelude::*;

pub fn millis(value: f64) -> String {
    format!("{value:.0} ms")
}

fn uptime(seconds: Option<u64>) -> String {
    seconds
        .map(format::duration)
        .unwrap_or_else(|| "—".to_owned())
}

/// `6.7% (1.6 of 23.5 GiB)`.
pub fn capacity(metrics: &CapacityMetrics) -> String {
    format!(
        "{} ({:.1} of {:.1} GiB)",
        format::percent(metrics.usage),
        metrics.used,
        metrics.total
    )
}

#[component]
pub fn CoordinatorHealth(snapshot: MetricsSnapshot) -> impl IntoView {
    let Some(health) = snapshot.services.get(COORDINATOR).cloned() else {
        return view! { <Empty text="The coordinator did not report its own health."/> }.into_any();
    };
    view! {
        <dl class="facts" data-test="coordinator-health">
            <dt>"Status"</dt><dd><Badge value=health.status.to_string()/></dd>
            <dt>"Uptime"</dt><dd>{uptime(health.uptime)}</dd>
            <dt>"Response time"</dt>
            <dd>{format!("{} average, {} p95", millis(health.response_time.average), millis(health.response_time.p95))}</dd>
            <dt>"Errors"</dt><dd>{format::percent(health.error_rate)}</dd>
            <dt>"As of"</dt><dd><Time at=snapshot.timestamp/></dd>
        </dl>
    }
    .into_any()
}

/// The newest machine figures: the live sample once one has arrived, else the stored one.
#[component]
pub fn MachineNow(
    #[prop(into)] current: Signal<Option<(DateTime<Utc>, SystemMetrics, bool)>>,
) -> impl IntoView {
    move || {
        match current.get() {
        None => view! { <Empty text="No machine sample has been taken yet."/> }.into_any(),
        Some((at, system, live)) => view! {
            <div data-test="machine-now">
                <p class="muted">
                    {if live { "Live sample of " } else { "Stored sample of " }}<Time at/>
                </p>
                <MachineGauge label="CPU" percent=system.cpu.usage
                    text=format!("{} of {} cores", format::percent(system.cpu.usage), system.cpu.cores)/>
                <MachineGauge label="Memory" percent=system.memory.usage text=capacity(&system.memory)/>
                <MachineGauge label="Disk" percent=system.disk.usage text=capacity(&system.disk)/>
                <dl class="facts">
                    <dt>"Network in"</dt><dd>{format::rate(system.network.incoming)}</dd>
                    <dt>"Network out"</dt><dd>{format::rate(system.network.outgoing)}</dd>
                </dl>
            </div>
        }
        .into_any(),
    }
    }
}

#[component]
fn MachineGauge(label: &'static str, percent: f64, text: String) -> impl IntoView {
    view! {
        <div class="gauge">
            <div class="gauge-label"><span>{label}</span><span>{text}</span></div>
            <ProgressBar percent=Signal::derive(move || percent) label=label/>
        </div>
    }
}

#[component]
pub fn ServicesTable(services: Vec<(String, ServiceHealth)>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table data-test="services" class="wide-table">
                <thead>
                    <tr>
                        <th scope="col">"Service"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="num">"Uptime"</th>
                        <th scope="col" class="num">"Response avg"</th>
                        <th scope="col" class="num">"Response p95"</th>
                        <th scope="col" class="num">"Errors"</th>
                    </tr>
                </thead>
                <tbody>
                    {services.into_iter().map(|(name, health)| view! {
                        <tr data-test="service-row">
                            <td><code>{name}</code></td>
                            <td><Badge value=health.status.to_string()/></td>
                            <td class="num">{uptime(health.uptime)}</td>
                            <td class="num">{millis(health.response_time.average)}</td>
                            <td class="num">{millis(health.response_time.p95)}</td>
                            <td class="num">{format::percent(health.error_rate)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The services of a snapshot, in reading order, or the empty state.
#[component]
pub fn Services(snapshot: MetricsSnapshot) -> impl IntoView {
    let services = services_in_order(&snapshot.services);
    if services.is_empty() {
        view! { <Empty text="No service has reported yet."/> }.into_any()
    } else {
        view! { <ServicesTable services/> }.into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_with_their_units() {
        assert_eq!(millis(1546.44), "1546 ms");
        assert_eq!(uptime(None), "—");
        assert_eq!(uptime(Some(245)), "4m 5s");
        let memory = CapacityMetrics {
            total: 23.54,
            used: 1.57,
            free: 21.97,
            usage: 6.69,
        };
        assert_eq!(capacity(&memory), "6.7% (1.6 of 23.5 GiB)");
    }
}
