//! The system page for operators: the coordinator's health and its machine now and over
//! time, every service, the alerts and, for admins, the alert rules.

mod alerts;
mod charts;
mod health;
mod rules;
mod series;

use crate::app::Ctx;
use crate::components::{ErrorNotice, Loading};
use alerts::AlertsList;
use charts::HistoryCharts;
use coordinator_api::Permission;
use coordinator_api::events::Channel;
use health::{CoordinatorHealth, MachineNow, Services};
use leptos::prelude::*;
use rules::RulesSection;

#[component]
pub fn SystemPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let snapshot = LocalResource::new(move || {
        live.revision(Channel::Servers);
        // Response times and error rates cover the last minutes and change without any
        // event: each live machine sample (every 15 seconds by default) refreshes them too.
        live.sample.track();
        let api = ctx.api();
        async move { api.system_metrics().await.map(|m| m.metrics) }
    });
    let machine = Signal::derive(move || {
        let stored = move || {
            snapshot.with(|s| {
                s.as_ref()
                    .and_then(|s| s.as_ref().ok())
                    .and_then(|m| m.system.map(|system| (m.timestamp, system, false)))
            })
        };
        live.sample
            .get()
            .map(|(at, system)| (at, system, true))
            .or_else(stored)
    });
    view! {
        <h1>"System"</h1>
        <div class="grid">
            <section class="card" aria-labelledby="coordinator-heading">
                <h2 id="coordinator-heading">"Coordinator"</h2>
                <Transition fallback=Loading>
                    {move || snapshot.get().map(|result| match result {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(snapshot) => view! { <CoordinatorHealth snapshot/> }.into_any(),
                    })}
                </Transition>
            </section>
            <section class="card" aria-labelledby="machine-heading">
                <h2 id="machine-heading">"Machine now"</h2>
                <Transition fallback=Loading>
                    {move || snapshot.with(|_| ())}
                    <MachineNow current=machine/>
                </Transition>
            </section>
            <section class="card wide" aria-labelledby="history-heading">
                <h2 id="history-heading">"Over time"</h2>
                <HistoryCharts/>
            </section>
            <section class="card wide" aria-labelledby="services-heading">
                <h2 id="services-heading">"Services"</h2>
                <Transition fallback=Loading>
                    {move || snapshot.get().map(|result| match result {
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        Ok(snapshot) => view! { <Services snapshot/> }.into_any(),
                    })}
                </Transition>
            </section>
            <section class="card wide" aria-labelledby="alerts-heading">
                <h2 id="alerts-heading">"Alerts"</h2>
                <AlertsList/>
            </section>
            <Show when=move || ctx.can(Permission::ManageAlerts)>
                <section class="card wide" aria-labelledby="rules-heading" data-test="alert-rules">
                    <h2 id="rules-heading">"Alert rules"</h2>
                    <RulesSection/>
                </section>
            </Show>
        </div>
    }
}
