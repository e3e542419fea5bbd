use crate::app::Ctx;
use crate::session::{Session, safe_return_path};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let query = use_query_map();
    let navigate = use_navigate();
    let next = move || safe_return_path(query.with(|q| q.get("next")).as_deref());
    let returning = move || query.with(|q| q.get("next").is_some_and(|n| n != "/"));
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let sign_in = Action::new_local(move |(user, pass): &(String, String)| {
        let (user, pass) = (user.clone(), pass.clone());
        let api = ctx.api().with_token(None);
        async move { api.login(&user, &pass).await }
    });
    let error = RwSignal::new(None::<String>);
    // Signed in (now, or still from before): go where the reader was headed.
    let go = navigate.clone();
    Effect::new(move |_| {
        if ctx.session.with(Option::is_some) {
            go(&next(), Default::default());
        }
    });
    Effect::new(move |_| match sign_in.value().get() {
        Some(Ok(login)) => {
            error.set(None);
            password.set(String::new());
            ctx.sign_in(Session::from_login(login));
        }
        Some(Err(err)) => error.set(Some(if err.code == "invalid_credentials" {
            "The username or password is not right.".to_owned()
        } else {
            err.message
        })),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        sign_in.dispatch((username.get_untracked(), password.get_untracked()));
    };
    view! {
        <main class="centered login">
            <h1>"MCP Integration Coordinator"</h1>
            <Show when=returning>
                <p class="notice" role="status">"Sign in to continue where you were."</p>
            </Show>
            <form on:submit=submit class="card" data-test="login">
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required autofocus
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))/>
                {move || error.get().map(|message| view! { <p class="notice error" role="alert">{message}</p> })}
                <button type="submit" disabled=move || sign_in.pending().get()>
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </main>
    }
}
