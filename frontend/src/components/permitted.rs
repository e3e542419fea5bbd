use crate::app::Ctx;
use coordinator_api::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

/// A page, or part of one, for the roles that hold `permission`. Anyone else reads why, and
/// nothing inside is mounted, so no request the coordinator would refuse is sent.
#[component]
pub fn Permitted(
    permission: Permission,
    /// Shown above the refusal, in place of the page's own heading.
    heading: &'static str,
    /// `read remediations`: what the role may not do.
    what: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let role = move || {
        ctx.session
            .with(|s| s.as_ref().map(|s| s.role().to_string()))
            .unwrap_or_default()
    };
    let refusal = move || {
        view! {
            <h1>{heading}</h1>
            <p class="notice" role="status" data-test="not-permitted">
                {move || format!("Your role ({}) does not {what}. An administrator can change roles.", role())}
            </p>
            <A href="/">"Go to the overview"</A>
        }
    };
    view! {
        <Show when=move || ctx.can(permission) fallback=refusal>
            {children()}
        </Show>
    }
}
