use crate::api::ApiError;
use coordinator_api::approvals::Decision;
use leptos::prelude::*;

/// Approve or reject, always with a reason. `decide` runs the request (the page obtains a
/// fresh approval token for it) and answers a confirmation sentence.
#[component]
pub fn DecisionForm(
    /// What is decided, for the labels: "assessment", "remediation".
    #[prop(into)]
    subject: String,
    decide: Action<(Decision, String), Result<String, ApiError>>,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let missing = RwSignal::new(false);
    let pending = decide.pending();
    let outcome = decide.value();
    let submit = move |decision: Decision| {
        let text = reason.get_untracked().trim().to_owned();
        if text.is_empty() {
            missing.set(true);
            return;
        }
        missing.set(false);
        decide.dispatch((decision, text));
    };
    let label = format!("Reason for your decision on this {subject}");
    view! {
        <form class="decision" on:submit=|ev| ev.prevent_default() data-test="decision">
            <label for="decision-reason">{label}</label>
            <textarea
                id="decision-reason"
                rows="2"
                required
                prop:value=move || reason.get()
                on:input=move |ev| reason.set(event_target_value(&ev))
                aria-invalid=move || missing.get().to_string()
            ></textarea>
            <Show when=move || missing.get()>
                <p class="field-error" role="alert">"A reason is required; it goes into the audit log."</p>
            </Show>
            <div class="buttons">
                <button type="button" class="approve" data-test="approve"
                    disabled=move || pending.get()
                    on:click=move |_| submit(Decision::Approved)>"Approve"</button>
                <button type="button" class="reject" data-test="reject"
                    disabled=move || pending.get()
                    on:click=move |_| submit(Decision::Rejected)>"Reject"</button>
                <Show when=move || pending.get()><span class="muted">"Recording…"</span></Show>
            </div>
            {move || outcome.get().map(|result| match result {
                Ok(message) => view! { <p class="notice ok" role="status">{message}</p> }.into_any(),
                Err(error) => view! { <crate::components::ErrorNotice error/> }.into_any(),
            })}
        </form>
    }
}
