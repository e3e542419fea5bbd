use coordinator_api::MachineId;
use leptos::prelude::*;

/// A machine's id in a table cell or a line of text.
#[component]
pub fn MachineTag(machine: MachineId) -> impl IntoView {
    view! { <code class="machine" data-test="machine">{machine.to_string()}</code> }
}

/// The machine under a page's title, where the reader looks first: an approver has to know
/// which workstation a change is for before anything else about it. `role` says how the
/// page's subject touches the machine: "Changes machine", "Assesses machine".
#[component]
pub fn MachineBanner(machine: MachineId, role: &'static str) -> impl IntoView {
    view! {
        <p class="machine-banner" data-test="machine-banner">
            <span>{role}</span>" "<MachineTag machine/>
        </p>
    }
}
