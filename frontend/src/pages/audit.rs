use leptos::prelude::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <h1>"Audit"</h1> }
}
