use leptos::prelude::*;
use leptos_router::components::A;

/// The page for an address whose id does not parse (a hand-edited or truncated link): what
/// was expected, and the way back to the list it came from.
#[component]
pub fn BadAddress(
    /// The page's usual heading: `Assessment`.
    heading: &'static str,
    /// `an assessment`: what the address should have named.
    names: &'static str,
    /// The list to go back to, and its link text.
    back_href: &'static str,
    back_text: &'static str,
) -> impl IntoView {
    view! {
        <h1>{heading}</h1>
        <p class="notice error" role="alert">{format!("This address does not name {names}.")}</p>
        <A href=back_href>{back_text}</A>
    }
}
