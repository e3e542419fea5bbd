//! What needs a decision now, what is running, and how the system is.

mod queues;

use crate::app::Ctx;
use crate::components::{Badge, Empty, ErrorNotice, Loading, Time};
use crate::format;
use coordinator_api::Permission;
use coordinator_api::alerts::AlertQuery;
use coordinator_api::events::Channel;
use leptos::prelude::*;
use leptos_router::components::A;
use queues::{DecisionQueues, RunningExecutions};

#[component]
pub fn OverviewPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    // Decisions and runs are results: a role that may not read them sees the rest.
    let reads_results =
        move || ctx.can(Permission::ViewAssessments) && ctx.can(Permission::ViewRemediations);
    let health = LocalResource::new(move || {
        live.revision(Channel::Servers);
        let api = ctx.api();
        async move { api.system_metrics().await.map(|m| m.metrics) }
    });
    let alerts = LocalResource::new(move || {
        live.revision(Channel::Alerts);
        let api = ctx.api();
        async move {
            api.alerts(&AlertQuery {
                limit: Some(5),
                ..Default::default()
            })
            .await
            .map(|a| a.alerts)
        }
    });
    view! {
        <h1>"Overview"</h1>
        <div class="grid">
            <Show when=reads_results>
                <DecisionQueues/>
                <RunningExecutions/>
            </Show>
            <section class="card" aria-labelledby="health-heading">
                <h2 id="health-heading">"System health"</h2>
                <Transition fallback=Loading>
                    {move || health.get().map(|result| match result {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(snapshot) => {
                            let services = snapshot.services.len();
                            let unhealthy = snapshot.services.values()
                                .filter(|s| s.status != coordinator_api::servers::ServerStatus::Healthy)
                                .count();
                            let system = live.sample.get().map(|(_, s)| s).or(snapshot.system);
                            view! {
                                <dl class="facts">
                                    <dt>"Services"</dt>
                                    <dd>{format!("{} of {services} healthy", services - unhealthy)}</dd>
                                    {system.map(|s| view! {
                                        <dt>"CPU"</dt><dd>{format::percent(s.cpu.usage)}</dd>
                                        <dt>"Memory"</dt><dd>{format::percent(s.memory.usage)}</dd>
                                        <dt>"Disk"</dt><dd>{format::percent(s.disk.usage)}</dd>
                                    })}
                                </dl>
                                <A href="/system">"System details"</A>
                            }.into_any()
                        }
                    })}
                </Transition>
            </section>
            <section class="card" aria-labelledby="alerts-heading">
                <h2 id="alerts-heading">"Recent alerts"</h2>
                <Transition fallback=Loading>
                    {move || alerts.get().map(|result| match result {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <Empty text="No alerts."/> }.into_any(),
                        Ok(list) => view! {
                            <ul class="plain">
                                {list.into_iter().map(|alert| view! {
                                    <li>
                                        <Badge value=alert.status.to_string()/>" "
                                        <Badge value=alert.severity.to_string()/>" "
                                        <strong>{alert.rule.clone()}</strong>" "{alert.condition.clone()}" "
                                        <Time at=alert.raised_at/>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    })}
                </Transition>
            </section>
            <section class="card" aria-labelledby="activity-heading">
                <h2 id="activity-heading">"Live activity"</h2>
                <Show when=move || !live.feed.with(|f| f.is_empty()) fallback=|| view! { <Empty text="Events appear here as they happen."/> }>
                    <ul class="plain activity" aria-live="polite">
                        <For each=move || live.feed.get() key=|a| a.id let:activity>
                            <li>
                                <Time at=activity.ts/>" "
                                <strong>{format::words(&activity.event)}</strong>" "
                                {activity.target.clone().unwrap_or_default()}" "
                                <span class="muted">{format!("by {}", activity.actor)}</span>
                            </li>
                        </For>
                    </ul>
                </Show>
            </section>
        </div>
    }
}
