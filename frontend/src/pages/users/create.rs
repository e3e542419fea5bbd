//! A new account: username, password typed twice, role.

use super::UserList;
use super::rules::{MIN_PASSWORD_CHARS, new_user_problem, role_powers};
use crate::app::Ctx;
use crate::components::ErrorNotice;
use coordinator_api::users::CreateUserRequest;
use coordinator_api::{Role, Secret};
use leptos::prelude::*;

#[component]
pub fn CreateUserForm(users: UserList) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    // The least powerful role unless the admin picks another.
    let role = RwSignal::new(Role::Viewer);
    let problem = RwSignal::new(None::<String>);
    let create = Action::new_local(move |request: &CreateUserRequest| {
        let request = request.clone();
        let api = ctx.api();
        async move {
            let created = api.create_user(&request).await?;
            // Cleared only once it worked, so a refused form can be corrected, not retyped.
            username.set(String::new());
            password.set(String::new());
            confirmation.set(String::new());
            users.refetch();
            Ok::<_, crate::api::ApiError>(created.user)
        }
    });
    let pending = create.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = username.get_untracked().trim().to_owned();
        let (new, again) = (password.get_untracked(), confirmation.get_untracked());
        if let Some(message) = new_user_problem(&name, &new, &again) {
            problem.set(Some(message));
            return;
        }
        problem.set(None);
        create.dispatch(CreateUserRequest {
            username: name,
            password: Secret::new(new),
            role: role.get_untracked(),
        });
    };
    view! {
        <form class="stacked" on:submit=submit data-test="create-user">
            <label for="new-username">"Username"</label>
            <input id="new-username" autocomplete="off" required
                aria-describedby="new-username-hint"
                prop:value=move || username.get()
                on:input=move |ev| username.set(event_target_value(&ev))/>
            <p id="new-username-hint" class="hint">"3 to 64 letters, digits, '.', '_', '-' or '@'."</p>
            <label for="new-user-password">"Password"</label>
            <input id="new-user-password" type="password" autocomplete="new-password" required
                aria-describedby="new-user-password-hint"
                prop:value=move || password.get()
                on:input=move |ev| password.set(event_target_value(&ev))/>
            <p id="new-user-password-hint" class="hint">
                {format!("At least {MIN_PASSWORD_CHARS} characters.")}
            </p>
            <label for="new-user-password-again">"Password again"</label>
            <input id="new-user-password-again" type="password" autocomplete="new-password" required
                prop:value=move || confirmation.get()
                on:input=move |ev| confirmation.set(event_target_value(&ev))/>
            <label for="new-user-role">"Role"</label>
            <select id="new-user-role" aria-describedby="new-user-role-hint"
                prop:value=move || role.get().as_str()
                on:change=move |ev| {
                    if let Ok(picked) = event_target_value(&ev).parse() {
                        role.set(picked);
                    }
                }>
                {Role::ALL.iter().map(|option| view! {
                    <option value=option.as_str() selected=*option == Role::Viewer>{option.as_str()}</option>
                }).collect_view()}
            </select>
            <p id="new-user-role-hint" class="hint">{move || role_powers(role.get())}</p>
            {move || problem.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating…" } else { "Create user" }}
                </button>
            </div>
            {move || create.value().get().map(|result| match result {
                Ok(user) => view! {
                    <p class="notice ok" role="status">
                        {format!("Created {} with the role {}.", user.username, user.role)}
                    </p>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </form>
    }
}
