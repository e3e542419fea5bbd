use leptos::prelude::*;

#[component]
pub fn SystemPage() -> impl IntoView {
    view! { <h1>"System"</h1> }
}
