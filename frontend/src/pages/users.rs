use leptos::prelude::*;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <h1>"Users"</h1> }
}
