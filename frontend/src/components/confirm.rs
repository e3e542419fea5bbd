use leptos::html;
use leptos::prelude::*;

/// A question with a confirm and a cancel button, shown in place of the button that asked
/// it. The focus moves to "Cancel", the safe answer, so keyboard users land in the question
/// rather than back at the top of the page.
#[component]
pub fn Confirmation(
    #[prop(into)] question: String,
    /// The confirm button's text.
    #[prop(into)]
    confirm: String,
    /// The confirm button's text while the confirmed action runs; `confirm` stays if none.
    #[prop(optional, into)]
    busy_text: Option<String>,
    #[prop(into)] busy: Signal<bool>,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
    /// A destructive action gets the danger button rather than the primary one.
    #[prop(optional)]
    danger: bool,
    /// What the group is, for screen readers.
    #[prop(into, default = "Confirm the change".to_owned())]
    group_label: String,
    /// The `data-test` of the confirm button; the browser tests name each one.
    #[prop(default = "confirm")]
    confirm_test: &'static str,
    #[prop(optional)] cancel_test: Option<&'static str>,
) -> impl IntoView {
    let cancel_button = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = cancel_button.get() {
            let _ = button.focus();
        }
    });
    let class = if danger { "danger" } else { "primary" };
    let label = move || match (&busy_text, busy.get()) {
        (Some(text), true) => text.clone(),
        _ => confirm.clone(),
    };
    view! {
        <div class="confirm" role="group" aria-label=group_label>
            <p>{question}</p>
            <div class="buttons">
                <button type="button" class=class data-test=confirm_test
                    disabled=move || busy.get()
                    on:click=move |_| on_confirm.run(())>{label}</button>
                <button type="button" node_ref=cancel_button data-test=cancel_test
                    on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </div>
    }
}
