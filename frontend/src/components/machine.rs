use crate::address::choice;
use crate::app::Ctx;
use coordinator_api::machines::Machine;
use coordinator_api::{MachineId, Permission};
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

/// The machines a filter offers: those the registry knows, in its order, and the one already
/// chosen even when the registry no longer lists it (its servers were removed, but its work
/// is still there to be found).
pub fn machine_choices(known: &[Machine], chosen: Option<&MachineId>) -> Vec<MachineId> {
    let mut choices: Vec<MachineId> = known.iter().map(|m| m.machine_id.clone()).collect();
    if let Some(chosen) = chosen
        && !choices.contains(chosen)
    {
        choices.insert(0, chosen.clone());
    }
    choices
}

/// A filter's choice of machine, among those the registry knows. A reader who may not read
/// the registry, or a registry that cannot be reached, leaves only "any machine" and the
/// machine already in the address: the list itself still works.
#[component]
pub fn MachineSelect(chosen: RwSignal<Option<MachineId>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let known = LocalResource::new(move || {
        let may_read = ctx.can(Permission::ViewServers);
        let api = ctx.api();
        async move {
            if !may_read {
                return Vec::new();
            }
            api.machines()
                .await
                .map(|list| list.machines)
                .unwrap_or_default()
        }
    });
    let options = move || {
        let current = chosen.get_untracked();
        let known = known.get().unwrap_or_default();
        machine_choices(&known, current.as_ref())
            .into_iter()
            .map(|machine| {
                let selected = current.as_ref() == Some(&machine);
                let (value, label) = (machine.to_string(), machine.to_string());
                view! { <option value=value selected=selected>{label}</option> }
            })
            .collect_view()
    };
    let any = chosen.get_untracked().is_none();
    view! {
        <label>
            "Machine"
            <select name="machineId" data-test="filter-machine"
                on:change=move |ev| chosen.set(choice(&event_target_value(&ev)))>
                <option value="" selected=any>"Any machine"</option>
                {options}
            </select>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(id: &str) -> Machine {
        Machine {
            machine_id: MachineId::parse(id).unwrap(),
            servers: vec![],
            can_assess: true,
            can_install: false,
            last_seen_at: None,
        }
    }

    #[test]
    fn the_chosen_machine_is_offered_even_when_the_registry_forgot_it() {
        let known = [machine("ws-01"), machine("ws-07")];
        let ids = |chosen: Option<&str>| {
            let chosen = chosen.map(|c| MachineId::parse(c).unwrap());
            machine_choices(&known, chosen.as_ref())
                .into_iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(None), ["ws-01", "ws-07"]);
        assert_eq!(ids(Some("ws-07")), ["ws-01", "ws-07"]);
        assert_eq!(ids(Some("retired")), ["retired", "ws-01", "ws-07"]);
        assert_eq!(machine_choices(&[], None), Vec::<MachineId>::new());
    }
}
