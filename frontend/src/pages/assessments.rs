use leptos::prelude::*;

#[component]
pub fn AssessmentsPage() -> impl IntoView {
    view! { <h1>"Assessments"</h1> }
}

#[component]
pub fn AssessmentPage() -> impl IntoView {
    view! { <h1>"Assessment"</h1> }
}
