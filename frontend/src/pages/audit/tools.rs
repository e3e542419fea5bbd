//! Exporting the filtered log and verifying the whole chain.

use super::filter::AuditFilter;
use crate::api::ApiError;
use crate::app::Ctx;
use crate::components::{DownloadError, ErrorNotice, save_download};
use coordinator_api::audit::{AuditVerifyResponse, ExportFormat};
use leptos::prelude::*;

pub fn export_filename(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Csv => "audit-log.csv",
        ExportFormat::Json => "audit-log.json",
        ExportFormat::Ndjson => "audit-log.ndjson",
    }
}

fn rows(count: u64) -> String {
    if count == 1 {
        "1 row".to_owned()
    } else {
        format!("{count} rows")
    }
}

/// Whether the chain is intact, and the sentence that says so.
pub fn verify_message(answer: &AuditVerifyResponse) -> (bool, String) {
    let checked = rows(answer.checked_rows);
    if answer.verified {
        return (true, format!("Verified: {checked} checked, chain intact."));
    }
    let place = answer
        .first_broken_id
        .map(|id| format!("row #{id}"))
        .unwrap_or_else(|| "a row the coordinator did not name".to_owned());
    let reason = answer
        .reason
        .clone()
        .unwrap_or_else(|| "no reason given".to_owned());
    (
        false,
        format!(
            "The audit log has been tampered with or damaged: the chain breaks at {place} ({reason}). {checked} checked. Keep the current state for investigation and compare with your last export."
        ),
    )
}

/// Why an export failed: the coordinator did not give the file, or the browser did not
/// save it.
#[derive(Debug, Clone)]
enum ExportFailure {
    Api(ApiError),
    NotSaved(DownloadError),
}

impl From<ApiError> for ExportFailure {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<DownloadError> for ExportFailure {
    fn from(error: DownloadError) -> Self {
        Self::NotSaved(error)
    }
}

#[component]
fn ExportFailureNotice(failure: ExportFailure) -> impl IntoView {
    match failure {
        ExportFailure::Api(error) => view! { <ErrorNotice error/> }.into_any(),
        ExportFailure::NotSaved(reason) => view! {
            <p class="notice error" role="alert">{format!("The file could not be saved: {reason}.")}</p>
        }
        .into_any(),
    }
}

#[component]
pub fn ExportButtons(filter: Memo<AuditFilter>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let export = Action::new_local(move |format: &ExportFormat| {
        let format = *format;
        let query = filter.with_untracked(|f| f.to_query(None));
        let api = ctx.api();
        async move {
            let download = api.audit_export(&query, format).await?;
            save_download::<ExportFailure>(export_filename(format), &download)
        }
    });
    let pending = export.pending();
    let preparing = move |format: ExportFormat| {
        pending.get() && export.input().with(|input| *input == Some(format))
    };
    let button = move |format: ExportFormat, test: &'static str, label: &'static str| {
        view! {
            <button type="button" data-test=test
                disabled=move || pending.get()
                on:click=move |_| { export.dispatch(format); }>
                {move || if preparing(format) { "Preparing…" } else { label }}
            </button>
        }
    };
    view! {
        <div class="buttons" aria-live="polite">
            {button(ExportFormat::Csv, "export-csv", "Export CSV")}
            {button(ExportFormat::Json, "export-json", "Export JSON")}
        </div>
        {move || export.value().get().and_then(Result::err).map(|failure| view! { <ExportFailureNotice failure/> })}
    }
}

#[component]
pub fn VerifyChain() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let verify = Action::new_local(move |_: &()| {
        let api = ctx.api();
        async move { api.audit_verify().await }
    });
    let pending = verify.pending();
    view! {
        <div class="buttons">
            <button type="button" data-test="verify"
                disabled=move || pending.get()
                on:click=move |_| { verify.dispatch(()); }>
                {move || if pending.get() { "Verifying…" } else { "Verify the chain" }}
            </button>
        </div>
        {move || verify.value().get().map(|result| match result {
            Err(error) => view! { <div data-test="verify-result"><ErrorNotice error/></div> }.into_any(),
            Ok(answer) => match verify_message(&answer) {
                (true, message) => view! {
                    <p class="notice ok" role="status" data-test="verify-result">{message}</p>
                }.into_any(),
                (false, message) => view! {
                    <div class="notice error alarm" role="alert" data-test="verify-result">
                        <strong>"Audit chain broken. "</strong>{message}
                    </div>
                }.into_any(),
            },
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator_api::AuditLogId;

    fn answer(verified: bool, checked: u64, broken: Option<i64>) -> AuditVerifyResponse {
        AuditVerifyResponse {
            success: true,
            verified,
            checked_rows: checked,
            first_broken_id: broken.map(AuditLogId),
            reason: broken.map(|_| "the row's MAC does not match its content".to_owned()),
        }
    }

    #[test]
    fn an_intact_chain_says_how_much_was_checked() {
        assert_eq!(
            verify_message(&answer(true, 1234, None)),
            (
                true,
                "Verified: 1234 rows checked, chain intact.".to_owned()
            )
        );
        assert_eq!(
            verify_message(&answer(true, 1, None)).1,
            "Verified: 1 row checked, chain intact."
        );
    }

    #[test]
    fn a_broken_chain_names_the_row_and_the_reason() {
        let (intact, message) = verify_message(&answer(false, 41, Some(42)));
        assert!(!intact);
        assert!(message.contains("row #42"), "{message}");
        assert!(message.contains("MAC does not match"), "{message}");
        assert!(message.contains("41 rows checked"), "{message}");
        let (_, unnamed) = verify_message(&AuditVerifyResponse {
            reason: None,
            ..answer(false, 3, None)
        });
        assert!(unnamed.contains("did not name") && unnamed.contains("no reason given"));
    }

    #[test]
    fn exports_have_stable_names() {
        assert_eq!(export_filename(ExportFormat::Csv), "audit-log.csv");
        assert_eq!(export_filename(ExportFormat::Json), "audit-log.json");
    }
}
