//! The registry, machine by machine: each machine's servers and whether it can be assessed
//! and changed now; the registry's filters and the removal of a server.

use super::Removal;
use crate::address::choice;
use crate::components::{Badge, Confirmation, Empty, MachineTag, Time};
use crate::format;
use chrono::{DateTime, Utc};
use coordinator_api::machines::Machine;
use coordinator_api::servers::{Server, ServerStatus};
use coordinator_api::{MachineId, ServerId, ServerKind};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// What the reader narrowed the registry to; `None` admits every value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RegistryFilter {
    pub kind: Option<ServerKind>,
    pub status: Option<ServerStatus>,
}

impl RegistryFilter {
    pub fn admits(&self, server: &Server) -> bool {
        self.kind.is_none_or(|kind| server.kind == kind)
            && self.status.is_none_or(|status| server.status == status)
    }

    pub fn apply(&self, servers: &[Server]) -> Vec<Server> {
        servers
            .iter()
            .filter(|server| self.admits(server))
            .cloned()
            .collect()
    }
}

/// One machine of the registry: the servers on it that the filter admits, and whether work on
/// it is taken up now, as the coordinator judges it (`None` while the coordinator has not
/// said, for a server that registered after the machines were read).
#[derive(Debug, Clone, PartialEq)]
pub struct MachineGroup {
    pub machine_id: MachineId,
    pub can_assess: Option<bool>,
    pub can_install: Option<bool>,
    pub servers: Vec<Server>,
}

/// `servers` under their machines, by machine id; a machine's readiness comes from
/// `machines`, the coordinator's own account, rather than being guessed here from statuses.
pub fn group_by_machine(servers: Vec<Server>, machines: &[Machine]) -> Vec<MachineGroup> {
    let mut groups: BTreeMap<MachineId, Vec<Server>> = BTreeMap::new();
    for server in servers {
        groups
            .entry(server.machine_id.clone())
            .or_default()
            .push(server);
    }
    groups
        .into_iter()
        .map(|(machine_id, servers)| {
            let known = machines.iter().find(|m| m.machine_id == machine_id);
            MachineGroup {
                can_assess: known.map(|m| m.can_assess),
                can_install: known.map(|m| m.can_install),
                machine_id,
                servers,
            }
        })
        .collect()
}

/// What a machine's readiness reads as, and the badge class it wears: `work` is what is or
/// is not taken up ("assessed", "changed").
pub fn readiness(ready: Option<bool>, work: &str) -> (String, &'static str) {
    match ready {
        Some(true) => (format!("can be {work} now"), "badge-healthy"),
        Some(false) => (format!("cannot be {work} now"), "badge-unreachable"),
        None => (format!("{work}: not known yet"), "badge-unknown"),
    }
}

/// What a server offers: an installer's capabilities and a compliance server's tools.
pub fn offerings(server: &Server) -> String {
    server
        .capabilities
        .iter()
        .chain(&server.tools)
        .map(|name| format::words(name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
pub fn RegistryFilters(filter: RwSignal<RegistryFilter>) -> impl IntoView {
    view! {
        <div class="filters" role="group" aria-label="Filter the registry">
            <label>
                "Kind"
                <select data-test="filter-kind"
                    on:change=move |ev| filter.update(|f| f.kind = choice(&event_target_value(&ev)))>
                    <option value="">"All kinds"</option>
                    {ServerKind::ALL.iter().map(|kind| view! {
                        <option value=kind.as_str()>{kind.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Status"
                <select data-test="filter-status"
                    on:change=move |ev| filter.update(|f| f.status = choice(&event_target_value(&ev)))>
                    <option value="">"All statuses"</option>
                    {ServerStatus::ALL.iter().map(|status| view! {
                        <option value=status.as_str()>{format::words(status.as_str())}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
    }
}

/// How a server joins, for a registry that has none yet.
#[component]
pub fn NoServersYet() -> impl IntoView {
    view! {
        <div class="empty" data-test="servers-empty">
            <p>"No server has registered yet."</p>
            <p>
                "To add one, an administrator creates an enrollment key on this page and gives it to the server. "
                "The server registers once with "<code>"POST /api/v1/servers/register"</code>
                ", sending the key in the "<code>"X-Enrollment-Key"</code>" header; it then appears here."
            </p>
        </div>
    }
}

/// The registry under the reader's filter, machine by machine, with a count when the filter
/// hides some servers.
#[component]
pub fn RegistryView(
    servers: Vec<Server>,
    machines: Vec<Machine>,
    filter: RegistryFilter,
    may_remove: bool,
    removal: Removal,
) -> impl IntoView {
    let total = servers.len();
    let shown = filter.apply(&servers);
    if shown.is_empty() {
        return view! { <Empty text="No server matches these filters."/> }.into_any();
    }
    let count = (shown.len() < total).then(|| {
        view! { <p class="muted">{format!("Showing {} of {total} servers.", shown.len())}</p> }
    });
    let groups = group_by_machine(shown, &machines);
    view! {
        {count}
        <div data-test="servers">
            {groups.into_iter().map(|group| view! { <MachineSection group may_remove removal/> }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn MachineSection(group: MachineGroup, may_remove: bool, removal: Removal) -> impl IntoView {
    let (assess, assess_class) = readiness(group.can_assess, "assessed");
    let (install, install_class) = readiness(group.can_install, "changed");
    let heading = format!("machine-{}", group.machine_id);
    let labelled_by = heading.clone();
    let id = group.machine_id.to_string();
    view! {
        <section class="machine-group" aria-labelledby=labelled_by data-test="machine-group" data-machine=id>
            <h3 id=heading class="machine-heading">
                "Machine "<MachineTag machine=group.machine_id/>
            </h3>
            <p class="readiness">
                <span class=format!("badge {assess_class}") data-test="can-assess">{assess}</span>" "
                <span class=format!("badge {install_class}") data-test="can-install">{install}</span>
            </p>
            <RegistryTable servers=group.servers may_remove removal/>
        </section>
    }
}

#[component]
fn RegistryTable(servers: Vec<Server>, may_remove: bool, removal: Removal) -> impl IntoView {
    let now = Utc::now();
    view! {
        <div class="table-wrap">
            <table data-test="machine-servers">
                <thead>
                    <tr>
                        <th>"Server"</th>
                        <th>"Kind"</th>
                        <th>"Status"</th>
                        <th>"Version"</th>
                        <th>"Last seen"</th>
                        <th>"Registered"</th>
                        <th>"Capabilities / tools"</th>
                        {may_remove.then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {servers.into_iter().map(|server| view! {
                        <ServerRow server now may_remove removal/>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ServerRow(
    server: Server,
    now: DateTime<Utc>,
    may_remove: bool,
    removal: Removal,
) -> impl IntoView {
    let offered = offerings(&server);
    view! {
        <tr data-test="server-row">
            <td><code class="server-id">{server.id.to_string()}</code></td>
            <td>{server.kind.as_str()}</td>
            <td><Badge value=server.status.to_string()/></td>
            <td>{server.version.clone()}</td>
            <td><LastSeen at=server.last_seen_at now/></td>
            <td><Time at=server.registered_at/></td>
            <td>
                {if offered.is_empty() {
                    view! { <span class="muted">"none reported"</span> }.into_any()
                } else {
                    view! { <span>{offered}</span> }.into_any()
                }}
            </td>
            {may_remove.then(|| view! { <td><RemoveServer id=server.id.clone() removal/></td> })}
        </tr>
    }
}

#[component]
fn LastSeen(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> impl IntoView {
    match at {
        Some(at) => view! {
            <Time at/>" "<span class="muted">{format!("({})", format::age(at, now))}</span>
        }
        .into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    }
}

/// Removal asks first: the server's key dies with it, and the server can only come back with
/// a new enrollment key.
#[component]
fn RemoveServer(id: ServerId, removal: Removal) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let pending = removal.pending();
    let id = StoredValue::new(id);
    let question = move || {
        format!(
            "Remove {}? Its API key stops working at once; to return, it needs a new enrollment key.",
            id.read_value()
        )
    };
    view! {
        <Show
            when=move || confirming.get()
            fallback=move || view! {
                <button type="button" class="danger" data-test="remove-server"
                    aria-label=move || format!("Remove server {}", id.read_value())
                    on:click=move |_| confirming.set(true)>"Remove"</button>
            }
        >
            <Confirmation
                question=question()
                confirm="Remove server"
                busy_text="Removing…"
                busy=pending
                danger=true
                group_label="Confirm removal"
                confirm_test="confirm-remove"
                on_confirm=Callback::new(move |()| { removal.dispatch(id.get_value()); })
                on_cancel=Callback::new(move |()| confirming.set(false))
            />
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn server(id: &str, kind: ServerKind, status: ServerStatus) -> Server {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        Server {
            id: ServerId::parse(id).unwrap(),
            kind,
            machine_id: coordinator_api::MachineId::parse("ws-07").unwrap(),
            version: "1.0.0".into(),
            capabilities: vec![],
            tools: vec![],
            contact: None,
            health: None,
            status,
            last_seen_at: None,
            registered_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn the_filter_narrows_by_kind_and_status() {
        let servers = vec![
            server("a", ServerKind::Installer, ServerStatus::Healthy),
            server("b", ServerKind::Compliance, ServerStatus::Unreachable),
            server("c", ServerKind::Installer, ServerStatus::Unreachable),
        ];
        let ids = |filter: RegistryFilter| {
            filter
                .apply(&servers)
                .into_iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(RegistryFilter::default()), ["a", "b", "c"]);
        let installers = RegistryFilter {
            kind: Some(ServerKind::Installer),
            status: None,
        };
        assert_eq!(ids(installers), ["a", "c"]);
        let silent_installers = RegistryFilter {
            status: Some(ServerStatus::Unreachable),
            ..installers
        };
        assert_eq!(ids(silent_installers), ["c"]);
        let healthy_compliance = RegistryFilter {
            kind: Some(ServerKind::Compliance),
            status: Some(ServerStatus::Healthy),
        };
        assert!(ids(healthy_compliance).is_empty());
    }

    #[test]
    fn servers_group_under_their_machine_with_its_readiness() {
        let on = |id: &str, machine: &str| {
            let mut s = server(id, ServerKind::Installer, ServerStatus::Healthy);
            s.machine_id = MachineId::parse(machine).unwrap();
            s
        };
        let servers = vec![on("b", "ws-07"), on("a", "default"), on("c", "ws-07")];
        let machines = [Machine {
            machine_id: MachineId::parse("ws-07").unwrap(),
            servers: vec![],
            can_assess: false,
            can_install: true,
            last_seen_at: None,
        }];
        let groups = group_by_machine(servers, &machines);
        assert_eq!(
            groups
                .iter()
                .map(|g| g.machine_id.to_string())
                .collect::<Vec<_>>(),
            ["default", "ws-07"]
        );
        let ids = |g: &MachineGroup| {
            g.servers
                .iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&groups[0]), ["a"]);
        assert_eq!((groups[0].can_assess, groups[0].can_install), (None, None));
        assert_eq!(ids(&groups[1]), ["b", "c"]);
        assert_eq!(
            (groups[1].can_assess, groups[1].can_install),
            (Some(false), Some(true))
        );
        assert!(group_by_machine(vec![], &machines).is_empty());
    }

    #[test]
    fn readiness_reads_as_words_not_only_colours() {
        assert_eq!(
            readiness(Some(true), "assessed"),
            ("can be assessed now".to_owned(), "badge-healthy")
        );
        assert_eq!(
            readiness(Some(false), "changed"),
            ("cannot be changed now".to_owned(), "badge-unreachable")
        );
        assert_eq!(readiness(None, "changed").1, "badge-unknown");
    }

    #[test]
    fn offerings_list_capabilities_and_tools() {
        let mut installer = server("i", ServerKind::Installer, ServerStatus::Healthy);
        installer.capabilities = vec!["install_server".into(), "remove_server".into()];
        assert_eq!(offerings(&installer), "install server, remove server");
        let mut compliance = server("c", ServerKind::Compliance, ServerStatus::Healthy);
        compliance.tools = vec!["compliance_assessment".into()];
        assert_eq!(offerings(&compliance), "compliance assessment");
        assert_eq!(
            offerings(&server("x", ServerKind::Installer, ServerStatus::Unknown)),
            ""
        );
    }
}
