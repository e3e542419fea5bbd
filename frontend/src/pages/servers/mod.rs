//! The server registry: which installers and compliance servers are enrolled and how they are,
//! and, for admins, enrollment keys and removing servers.

mod enrollment;
mod registry;

use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{ErrorNotice, Loading};
use coordinator_api::events::Channel;
use coordinator_api::{Permission, ServerId};
use enrollment::EnrollmentKeyPanel;
use leptos::prelude::*;
use registry::{NoServersYet, RegistryFilter, RegistryFilters, RegistryView};

/// Removing a server: the id asked for, and how it went.
pub(crate) type Removal = Action<ServerId, (ServerId, Result<(), ApiError>)>;

#[component]
pub fn ServersPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let live = ctx.live;
    let servers = LocalResource::new(move || {
        live.revision(Channel::Servers);
        let api = ctx.api();
        async move { api.servers().await.map(|list| list.servers) }
    });
    // Whether each machine can be assessed and changed now: the coordinator's judgement, read
    // beside the list. Without it the registry still shows, with readiness not known.
    let machines = LocalResource::new(move || {
        live.revision(Channel::Servers);
        let api = ctx.api();
        async move {
            api.machines()
                .await
                .map(|list| list.machines)
                .unwrap_or_default()
        }
    });
    let filter = RwSignal::new(RegistryFilter::default());
    let may_manage = move || ctx.can(Permission::ManageServers);
    // One action for the page rather than one per row: rows are rebuilt on every reload of
    // the registry, and the outcome has to outlive the row it was started from.
    let removal: Removal = Action::new_local(move |id: &ServerId| {
        let id = id.clone();
        let api = ctx.api();
        async move {
            let result = api.delete_server(&id).await.map(|_| ());
            if result.is_ok() {
                servers.refetch();
            }
            (id, result)
        }
    });

    view! {
        <h1>"Servers"</h1>
        <Show when=may_manage>
            <EnrollmentKeyPanel/>
        </Show>
        <section class="card stack" aria-labelledby="registry-heading">
            <h2 id="registry-heading">"Registry"</h2>
            <RegistryFilters filter/>
            <RemovalOutcome removal/>
            <Transition fallback=Loading>
                {move || servers.get().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <NoServersYet/> }.into_any(),
                    Ok(list) => view! {
                        <RegistryView servers=list machines=machines.get().unwrap_or_default()
                            filter=filter.get() may_remove=may_manage() removal/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RemovalOutcome(removal: Removal) -> impl IntoView {
    move || {
        removal.value().get().map(|(id, result)| match result {
            Ok(()) => view! {
                <p class="notice ok" role="status">
                    {format!("Server {id} was removed; its API key no longer works.")}
                </p>
            }
            .into_any(),
            Err(error) => view! { <ErrorNotice error/> }.into_any(),
        })
    }
}
