use leptos::prelude::*;

#[component]
pub fn ServersPage() -> impl IntoView {
    view! { <h1>"Servers"</h1> }
}
