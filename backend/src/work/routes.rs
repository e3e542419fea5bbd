//! `/work/*`: servers pull their tasks.

use super::service;
use crate::auth::principal::{ServerWith, perm};
use crate::error::ApiResult;
use crate::http::body::optional_json;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::work::{ClaimRequest, ClaimResponse, HeartbeatRequest, HeartbeatResponse};
use coordinator_api::{ErrorBody, TaskId};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(claim_work, heartbeat))]
pub struct WorkApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/work/claim").route(web::post().to(claim_work)))
        .service(web::resource("/work/{taskId}/heartbeat").route(web::post().to(heartbeat)));
}

/// Claim one task this server can do, under a lease; 204 when there is none (after waiting
/// up to `waitSeconds`). Execution tasks carry the plaintext actions for the installer alone.
#[utoipa::path(
    post, path = "/work/claim", tag = "work",
    security(("api_key" = ["claim_work"])),
    request_body(content = Option<ClaimRequest>, description = "optional"),
    responses(
        (status = 200, body = ClaimResponse),
        (status = 204, description = "no work for this server"),
        (status = 422, body = ErrorBody),
    )
)]
async fn claim_work(
    state: web::Data<AppState>,
    auth: ServerWith<perm::ClaimWork>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let request: ClaimRequest = optional_json(&body)?;
    Ok(
        match crate::workflow::queue::claim(&state, &auth.server, &auth.origin, request).await? {
            Some(task) => HttpResponse::Ok().json(ClaimResponse {
                success: true,
                task,
            }),
            None => HttpResponse::NoContent().finish(),
        },
    )
}

/// Extend the lease on a task this server holds.
#[utoipa::path(
    post, path = "/work/{taskId}/heartbeat", tag = "work",
    security(("api_key" = ["claim_work"])),
    params(("taskId" = TaskId, Path, description = "`7` or `task-7`")),
    request_body(content = Option<HeartbeatRequest>, description = "optional"),
    responses(
        (status = 200, body = HeartbeatResponse),
        (status = 403, description = "another server holds it", body = ErrorBody),
        (status = 409, description = "the lease has ended", body = ErrorBody),
    )
)]
async fn heartbeat(
    state: web::Data<AppState>,
    auth: ServerWith<perm::ClaimWork>,
    task: web::Path<TaskId>,
    body: web::Bytes,
) -> ApiResult<web::Json<HeartbeatResponse>> {
    let request: HeartbeatRequest = optional_json(&body)?;
    Ok(web::Json(
        service::heartbeat(&state, &auth.server, task.into_inner(), request).await?,
    ))
}
