//! `/auth/approval-token` and `/approvals`.

use crate::auth::approval_tokens as tokens;
use crate::auth::principal::{PersonWith, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::ErrorBody;
use coordinator_api::approvals::{
    ApprovalRequest, ApprovalResponse, ApprovalTokenRequest, ApprovalTokenResponse,
};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(issue_approval_token, decide))]
pub struct ApprovalsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/approval-token").route(web::post().to(issue_approval_token)))
        .service(web::resource("/approvals").route(web::post().to(decide)));
}

/// Get a single-use approval token for one decision: for the caller only, short-lived
/// (capped by the configured maximum), optionally bound to one proposal.
#[utoipa::path(
    post, path = "/auth/approval-token", tag = "approvals",
    security(("bearer" = ["issue_approval_token"])),
    request_body = ApprovalTokenRequest,
    responses(
        (status = 201, body = ApprovalTokenResponse),
        (status = 404, description = "no such proposal", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn issue_approval_token(
    state: web::Data<AppState>,
    auth: PersonWith<perm::IssueApprovalToken>,
    body: web::Json<ApprovalTokenRequest>,
) -> ApiResult<HttpResponse> {
    let issued = tokens::issue(&state, auth.person, &auth.origin, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Approve or reject a remediation proposal. Needs the caller's own approval token; nobody
/// decides what they proposed or whose assessment they requested; each approver decides
/// once; any rejection rejects; the approval completing the quorum creates the execution.
#[utoipa::path(
    post, path = "/approvals", tag = "approvals",
    security(("bearer" = ["approve_remediation"])),
    request_body = ApprovalRequest,
    responses(
        (status = 200, body = ApprovalResponse),
        (status = 403, description = "own proposal or assessment, or the token is not yours", body = ErrorBody),
        (status = 409, description = "decided already, not pending, token used, or actions changed", body = ErrorBody),
        (status = 410, description = "the proposal or the token expired", body = ErrorBody),
    )
)]
async fn decide(
    state: web::Data<AppState>,
    auth: PersonWith<perm::ApproveRemediation>,
    body: web::Json<ApprovalRequest>,
) -> ApiResult<web::Json<ApprovalResponse>> {
    Ok(web::Json(
        crate::workflow::decisions::decide(&state, auth.person, &auth.origin, body.into_inner())
            .await?,
    ))
}
