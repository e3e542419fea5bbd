//! Enrollment keys: admins hand one to a server so it can register itself.

use crate::address::{choice, non_empty};
use crate::app::Ctx;
use crate::components::{ErrorNotice, Time};
use crate::format::from_local_input;
use chrono::{DateTime, Local, TimeZone, Utc};
use coordinator_api::servers::{EnrollmentKeyRequest, EnrollmentKeyResponse};
use coordinator_api::{MachineId, ServerKind};
use leptos::html;
use leptos::prelude::*;

/// Reads a `datetime-local` field as a time in `zone` and gives the UTC instant, which has
/// to be in the future. An empty field means the coordinator's default expiry.
pub fn expiry_from_input<Tz: TimeZone>(
    value: &str,
    zone: &Tz,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, String> {
    // A time repeated when the clocks go back is taken at its first occurrence, which keeps
    // the key alive no longer than the reader meant.
    let expiry =
        from_local_input(value, zone).map_err(|problem| format!("The expiry: {problem}"))?;
    if expiry.is_some_and(|at| at <= now) {
        return Err("The expiry has to be in the future.".to_owned());
    }
    Ok(expiry)
}

/// The machine a key is bound to, as typed: empty for any machine, else a valid machine id
/// (kept in lowercase, as the coordinator keeps it).
pub fn machine_from_input(value: &str) -> Result<Option<MachineId>, String> {
    non_empty(value)
        .map(|raw| MachineId::parse(&raw).map_err(|problem| format!("The machine: {problem}.")))
        .transpose()
}

/// The form, and once a key is made, the key itself.
#[component]
pub fn EnrollmentKeyPanel() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let create = Action::new_local(move |request: &EnrollmentKeyRequest| {
        let request = request.clone();
        let api = ctx.api();
        async move { api.create_enrollment_key(&request).await }
    });
    let issued = create.value();
    let forget = move || issued.set(None);
    view! {
        <section class="card stack" aria-labelledby="enrollment-heading">
            <h2 id="enrollment-heading">"Create enrollment key"</h2>
            <p class="muted">
                "A server registers itself with a single-use enrollment key. Give the key to the server's operator; "
                "it works for one registration and until it expires."
            </p>
            {move || issued.get().map(|result| match result {
                Ok(key) => view! { <IssuedKey key on_done=Callback::new(move |()| forget())/> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            // Hidden while a key is on screen, so a second key cannot replace one not yet copied.
            <Show when=move || !issued.with(|shown| matches!(shown, Some(Ok(_))))>
                <EnrollmentKeyForm create/>
            </Show>
        </section>
    }
}

#[component]
fn EnrollmentKeyForm(
    create: Action<EnrollmentKeyRequest, Result<EnrollmentKeyResponse, crate::api::ApiError>>,
) -> impl IntoView {
    let kind = RwSignal::new(None::<ServerKind>);
    let machine = RwSignal::new(String::new());
    let machine_problem = RwSignal::new(None::<String>);
    let expiry = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let pending = create.pending();
    // Earliest choice the picker offers; the check on submit is what counts.
    let earliest = Local::now().format("%Y-%m-%dT%H:%M").to_string();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let machine_id = machine_from_input(&machine.get_untracked());
        let expires_at = expiry_from_input(&expiry.get_untracked(), &Local, Utc::now());
        machine_problem.set(machine_id.as_ref().err().cloned());
        problem.set(expires_at.as_ref().err().cloned());
        if let (Ok(machine_id), Ok(expires_at)) = (machine_id, expires_at) {
            create.dispatch(EnrollmentKeyRequest {
                kind: kind.get_untracked(),
                machine_id,
                expires_at,
            });
        }
    };
    view! {
        <form class="stacked" on:submit=submit data-test="enrollment-form">
            <label for="enrollment-kind">"Kind of server"</label>
            <select id="enrollment-kind"
                on:change=move |ev| kind.set(choice(&event_target_value(&ev)))>
                <option value="">"Any kind"</option>
                {ServerKind::ALL.iter().map(|kind| view! {
                    <option value=kind.as_str()>{kind.as_str()}</option>
                }).collect_view()}
            </select>
            <label for="enrollment-machine">"Machine (optional)"</label>
            <input id="enrollment-machine" type="text" placeholder="ws-07" data-test="enrollment-machine"
                autocomplete="off" spellcheck="false"
                aria-describedby="enrollment-machine-hint"
                aria-invalid=move || machine_problem.with(Option::is_some).to_string()
                prop:value=move || machine.get()
                on:input=move |ev| machine.set(event_target_value(&ev))/>
            <p id="enrollment-machine-hint" class="hint">
                "Left empty, the key registers a server on any machine; named, only a server of that machine (usually its host name)."
            </p>
            {move || machine_problem.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <label for="enrollment-expiry">"Expires (your local time, optional)"</label>
            <input id="enrollment-expiry" type="datetime-local" min=earliest
                aria-describedby="enrollment-expiry-hint"
                aria-invalid=move || problem.with(Option::is_some).to_string()
                prop:value=move || expiry.get()
                on:input=move |ev| expiry.set(event_target_value(&ev))/>
            <p id="enrollment-expiry-hint" class="hint">"Left empty, the key works for 24 hours."</p>
            {move || problem.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating…" } else { "Create enrollment key" }}
                </button>
            </div>
        </form>
    }
}

/// The new key, shown this once: the coordinator keeps only its hash.
#[component]
fn IssuedKey(key: EnrollmentKeyResponse, on_done: Callback<()>) -> impl IntoView {
    let kind = key
        .kind
        .map_or("any kind of server", |kind| kind.as_str())
        .to_owned();
    let machine = key
        .machine_id
        .as_ref()
        .map_or_else(|| "any machine".to_owned(), |m| format!("machine {m}"));
    let value = key.enrollment_key.expose().to_owned();
    let field = NodeRef::<html::Input>::new();
    // The key is what the reader has to act on, so it gets the focus, ready to be selected.
    Effect::new(move |_| {
        if let Some(input) = field.get() {
            let _ = input.focus();
        }
    });
    view! {
        <div class="key-once" role="region" aria-labelledby="key-heading" data-test="enrollment-key">
            <h3 id="key-heading">"New enrollment key"</h3>
            <p class="warning" role="alert">
                <strong>"Copy this key now: it will not be shown again."</strong>
                " Only its hash is kept, so a lost key cannot be recovered; create a new one instead."
            </p>
            <label for="enrollment-key-value">"Enrollment key"</label>
            <input id="enrollment-key-value" class="secret-value" readonly node_ref=field
                data-test="enrollment-key-value" aria-describedby="enrollment-key-hint" value=value/>
            <p id="enrollment-key-hint" class="hint">
                "Click in the field, select all (Ctrl+A or ⌘A) and copy (Ctrl+C or ⌘C)."
            </p>
            <dl class="facts">
                <dt>"For"</dt><dd>{kind}</dd>
                <dt>"On"</dt><dd data-test="enrollment-key-machine">{machine}</dd>
                <dt>"Works until"</dt><dd><Time at=key.expires_at/></dd>
            </dl>
            <p class="hint">
                "The server sends it once, in the "<code>"X-Enrollment-Key"</code>" header of "
                <code>"POST /api/v1/servers/register"</code>"."
            </p>
            <div class="buttons">
                <button type="button" class="primary" data-test="enrollment-key-done"
                    on:click=move |_| on_done.run(())>"Done"</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn a_machine_is_optional_and_checked_as_typed() {
        assert_eq!(machine_from_input(" "), Ok(None));
        assert_eq!(
            machine_from_input(" WS-07 ").map(|m| m.map(|m| m.to_string())),
            Ok(Some("ws-07".to_owned()))
        );
        let refused = machine_from_input("ws 07").unwrap_err();
        assert!(
            refused.starts_with("The machine: a machine id is"),
            "{refused}"
        );
    }

    #[test]
    fn an_empty_field_leaves_the_default() {
        let zone = FixedOffset::east_opt(0).unwrap();
        assert_eq!(
            expiry_from_input("", &zone, utc(2026, 1, 1, 0, 0)),
            Ok(None)
        );
        assert_eq!(
            expiry_from_input("  ", &zone, utc(2026, 1, 1, 0, 0)),
            Ok(None)
        );
    }

    #[test]
    fn local_time_becomes_utc() {
        let now = utc(2026, 1, 1, 0, 0);
        let berlin_winter = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            expiry_from_input("2026-03-01T10:30", &berlin_winter, now),
            Ok(Some(utc(2026, 3, 1, 9, 30)))
        );
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(
            expiry_from_input("2026-03-01T22:15", &new_york, now),
            Ok(Some(utc(2026, 3, 2, 3, 15)))
        );
        // Browsers add seconds when the field's step asks for them.
        assert_eq!(
            expiry_from_input("2026-03-01T10:30:45", &berlin_winter, now),
            Ok(Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 45).unwrap()))
        );
    }

    #[test]
    fn past_or_unreadable_expiries_are_refused() {
        let zone = FixedOffset::east_opt(0).unwrap();
        let now = utc(2026, 3, 1, 10, 0);
        assert!(expiry_from_input("2026-03-01T10:00", &zone, now).is_err());
        assert!(expiry_from_input("2026-02-28T23:59", &zone, now).is_err());
        assert!(expiry_from_input("tomorrow", &zone, now).is_err());
        assert!(expiry_from_input("2026-02-30T10:00", &zone, now).is_err());
    }
}
