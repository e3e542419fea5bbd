use crate::api::ApiError;
use crate::format;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" role="status">"Loading…"</p> }
}

#[component]
pub fn ErrorNotice(error: ApiError) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <strong>{if error.status == 403 { "Not allowed. " } else { "Something went wrong. " }}</strong>
            {error.message}
        </div>
    }
}

#[component]
pub fn Empty(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="empty">{text}</p> }
}

/// A moment in the reader's local time; the exact UTC instant on hover.
#[component]
pub fn Time(at: DateTime<Utc>) -> impl IntoView {
    let utc = format::utc_time(at);
    view! { <time datetime=utc.clone() title=utc>{format::local_time(at)}</time> }
}

/// A status word with a colour that depends on it; the word itself is always shown, so the
/// colour is never the only signal.
#[component]
pub fn Badge(#[prop(into)] value: String) -> impl IntoView {
    let class = format!("badge badge-{}", value.replace(' ', "_"));
    view! { <span class=class>{format::words(&value)}</span> }
}

#[component]
pub fn ProgressBar(
    #[prop(into)] percent: Signal<f64>,
    #[prop(into)] label: String,
) -> impl IntoView {
    let clamped = move || percent.get().clamp(0.0, 100.0);
    view! {
        <div
            class="progress"
            role="progressbar"
            aria-label=label
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.0}", clamped())
            data-test="progress"
        >
            <div class="progress-fill" style:width=move || format!("{}%", clamped())></div>
            <span class="progress-text">{move || format!("{:.0}%", clamped())}</span>
        </div>
    }
}
