use crate::api::ApiError;
use crate::format;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" role="status">"Loading…"</p> }
}

/// The first words of an error notice: what kind of trouble it is, before the details.
pub fn error_headline(status: u16) -> &'static str {
    match status {
        0 => "Cannot reach the coordinator. ",
        403 => "Not allowed. ",
        404 => "Not found. ",
        400 | 409 | 410 | 413 | 422 => "Not accepted. ",
        429 => "Too many attempts. ",
        _ => "Something went wrong. ",
    }
}

#[component]
pub fn ErrorNotice(error: ApiError) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <strong>{error_headline(error.status)}</strong>
            {error.message}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::error_headline;

    #[test]
    fn refusals_read_differently_from_failures() {
        assert_eq!(error_headline(422), "Not accepted. ");
        assert_eq!(error_headline(403), "Not allowed. ");
        assert_eq!(error_headline(0), "Cannot reach the coordinator. ");
        assert_eq!(error_headline(500), "Something went wrong. ");
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

/// A moment that may not have come yet; `missing` says why there is none.
#[component]
pub fn MaybeTime(at: Option<DateTime<Utc>>, missing: &'static str) -> impl IntoView {
    match at {
        Some(at) => view! { <Time at/> }.into_any(),
        None => view! { <span class="muted">{missing}</span> }.into_any(),
    }
}

/// A status word with a colour that depends on it; the word itself is always shown, so the
/// colour is never the only signal.
#[component]
pub fn Badge(#[prop(into)] value: String) -> impl IntoView {
    let class = format!("badge badge-{}", value.replace(' ', "_"));
    view! { <span class=class>{format::words(&value)}</span> }
}

/// A bar of how far something got. Once it has ended, `tone` colours it by how it ended
/// (`good`, `neutral`, `bad`) and `caption` replaces the percentage with what happened: a
/// full bar alone reads as success, which a rolled-back run is not.
#[component]
pub fn ProgressBar(
    #[prop(into)] percent: Signal<f64>,
    #[prop(into)] label: String,
    #[prop(optional, into)] tone: MaybeProp<&'static str>,
    #[prop(optional, into)] caption: MaybeProp<String>,
) -> impl IntoView {
    let clamped = move || percent.get().clamp(0.0, 100.0);
    let class = move || match tone.get() {
        Some(tone) => format!("progress progress-{tone}"),
        None => "progress".to_owned(),
    };
    let text = move || {
        caption
            .get()
            .unwrap_or_else(|| format!("{:.0}%", clamped()))
    };
    view! {
        <div
            class=class
            role="progressbar"
            aria-label=label
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.0}", clamped())
            aria-valuetext=move || caption.get()
            data-test="progress"
        >
            <div class="progress-fill" style:width=move || format!("{}%", clamped())></div>
            <span class="progress-text">{text}</span>
        </div>
    }
}
