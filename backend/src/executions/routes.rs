//! `/remediations/execute` and `/remediations/execution/*`.

use super::service;
use crate::auth::principal::{Authorized, PersonWith, ServerWith, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::web;
use coordinator_api::executions::{
    CompleteRequest, ExecuteRequest, ExecuteResponse, ExecutionResponse, ProgressRequest,
};
use coordinator_api::{ErrorBody, ExecutionId};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(execute, get_execution, report_progress, complete))]
pub struct ExecutionsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/remediations/execute").route(web::post().to(execute)))
        .service(web::resource("/remediations/execution/{id}").route(web::get().to(get_execution)))
        .service(
            web::resource("/remediations/execution/{id}/progress")
                .route(web::post().to(report_progress)),
        )
        .service(
            web::resource("/remediations/execution/{id}/complete").route(web::post().to(complete)),
        );
}

/// Release an approved proposal to the installers, with an approval token of the caller's
/// own. A dry run changes nothing and leaves the approved run waiting.
#[utoipa::path(
    post, path = "/remediations/execute", tag = "executions",
    security(("bearer" = ["execute_remediation"])),
    request_body = ExecuteRequest,
    responses(
        (status = 200, body = ExecuteResponse),
        (status = 409, description = "not approved, already released, token used, or actions changed", body = ErrorBody),
        (status = 410, description = "the token expired", body = ErrorBody),
    )
)]
async fn execute(
    state: web::Data<AppState>,
    auth: PersonWith<perm::ExecuteRemediation>,
    body: web::Json<ExecuteRequest>,
) -> ApiResult<web::Json<ExecuteResponse>> {
    Ok(web::Json(
        crate::workflow::decisions::release(&state, auth.person, &auth.origin, body.into_inner())
            .await?,
    ))
}

/// An execution's status, progress and per-action results.
#[utoipa::path(
    get, path = "/remediations/execution/{id}", tag = "executions",
    security(("bearer" = ["view_remediations"])),
    params(("id" = ExecutionId, Path, description = "`7` or `exec-7`")),
    responses((status = 200, body = ExecutionResponse), (status = 404, body = ErrorBody))
)]
async fn get_execution(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewRemediations>,
    id: web::Path<ExecutionId>,
) -> ApiResult<web::Json<ExecutionResponse>> {
    let execution = service::get(&state, id.into_inner()).await?;
    Ok(web::Json(ExecutionResponse {
        success: true,
        execution,
    }))
}

/// The installer holding the execution reports how one action went.
#[utoipa::path(
    post, path = "/remediations/execution/{id}/progress", tag = "executions",
    security(("api_key" = ["claim_work"])),
    params(("id" = ExecutionId, Path, description = "`7` or `exec-7`")),
    request_body = ProgressRequest,
    responses(
        (status = 200, body = ExecutionResponse),
        (status = 403, description = "another server holds it", body = ErrorBody),
        (status = 409, description = "digest differs from the approved one, or the lease ended", body = ErrorBody),
    )
)]
async fn report_progress(
    state: web::Data<AppState>,
    auth: ServerWith<perm::ClaimWork>,
    id: web::Path<ExecutionId>,
    body: web::Json<ProgressRequest>,
) -> ApiResult<web::Json<ExecutionResponse>> {
    let execution = service::progress(
        &state,
        &auth.server,
        &auth.origin,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(ExecutionResponse {
        success: true,
        execution,
    }))
}

/// The installer holding the execution reports its end. A real run that succeeds marks the
/// proposal executed and requests a re-assessment of the servers it touched.
#[utoipa::path(
    post, path = "/remediations/execution/{id}/complete", tag = "executions",
    security(("api_key" = ["claim_work"])),
    params(("id" = ExecutionId, Path, description = "`7` or `exec-7`")),
    request_body = CompleteRequest,
    responses(
        (status = 200, body = ExecutionResponse),
        (status = 403, description = "another server holds it", body = ErrorBody),
        (status = 409, description = "digest differs from the approved one, or the lease ended", body = ErrorBody),
    )
)]
async fn complete(
    state: web::Data<AppState>,
    auth: ServerWith<perm::ClaimWork>,
    id: web::Path<ExecutionId>,
    body: web::Json<CompleteRequest>,
) -> ApiResult<web::Json<ExecutionResponse>> {
    let execution = crate::workflow::runs::complete(
        &state,
        &auth.server,
        &auth.origin,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(ExecutionResponse {
        success: true,
        execution,
    }))
}
