use leptos::prelude::*;

#[component]
pub fn RemediationsPage() -> impl IntoView {
    view! { <h1>"Remediations"</h1> }
}

#[component]
pub fn RemediationPage() -> impl IntoView {
    view! { <h1>"Remediation"</h1> }
}
