//! `/audit/*`: read, export and verify the log.

use super::{chain, export, service};
use crate::auth::principal::{Authorized, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use coordinator_api::ErrorBody;
use coordinator_api::audit::{AuditLog, AuditLogPage, AuditQuery, AuditVerifyResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(list_logs, export_logs, verify_chain))]
pub struct AuditApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit/logs").route(web::get().to(list_logs)))
        .service(web::resource("/audit/export").route(web::get().to(export_logs)))
        .service(web::resource("/audit/verify").route(web::get().to(verify_chain)));
}

/// Audit rows, newest first, filtered; by offset pages or by keyset cursor.
#[utoipa::path(
    get, path = "/audit/logs", tag = "audit",
    security(("bearer" = ["view_audit"])),
    params(AuditQuery),
    responses((status = 200, body = AuditLogPage), (status = 422, body = ErrorBody))
)]
async fn list_logs(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewAudit>,
    query: web::Query<AuditQuery>,
) -> ApiResult<web::Json<AuditLogPage>> {
    Ok(web::Json(service::list(&state.db, &query).await?))
}

/// Download the rows matching the filters as CSV, JSON or NDJSON, streamed. The export
/// itself is recorded in the log.
#[utoipa::path(
    get, path = "/audit/export", tag = "audit",
    security(("bearer" = ["view_audit"])),
    params(AuditQuery),
    responses(
        (status = 200, description = "the rows, in the requested format", content(
            (String = "text/csv"),
            (Vec<AuditLog> = "application/json"),
            (String = "application/x-ndjson"),
        )),
        (status = 422, body = ErrorBody),
    )
)]
async fn export_logs(
    state: web::Data<AppState>,
    auth: Authorized<perm::ViewAudit>,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let (format, rows) = service::export(&state, &auth.origin, query.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type(export::content_type(format))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export::file_name(format)),
        ))
        .streaming(rows))
}

/// Check the hash chain of the whole log; names the first broken row.
#[utoipa::path(
    get, path = "/audit/verify", tag = "audit",
    security(("bearer" = ["view_audit"])),
    responses((status = 200, body = AuditVerifyResponse))
)]
async fn verify_chain(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewAudit>,
) -> ApiResult<web::Json<AuditVerifyResponse>> {
    let outcome = chain::verify(&state.db, &state.audit_key).await?;
    state.recorder.last_verify.store(
        i64::from(outcome.verified()),
        std::sync::atomic::Ordering::Relaxed,
    );
    let (first_broken_id, reason) = outcome.broken.clone().unzip();
    Ok(web::Json(AuditVerifyResponse {
        success: true,
        verified: outcome.verified(),
        checked_rows: outcome.checked_rows,
        first_broken_id,
        reason,
    }))
}
