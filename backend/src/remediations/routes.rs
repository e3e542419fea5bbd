//! `/remediations` and `/remediations/{id}`: proposals.

use super::service;
use crate::auth::principal::Requester;
use crate::auth::principal::{Authorized, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::remediations::{
    ProposalPage, ProposalQuery, ProposalResponse, ProposeRequest, ProposeResponse,
};
use coordinator_api::{ErrorBody, ProposalId};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(propose, list_proposals, get_proposal))]
pub struct RemediationsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/remediations/propose").route(web::post().to(propose)))
        .service(web::resource("/remediations").route(web::get().to(list_proposals)))
        .service(web::resource("/remediations/{id}").route(web::get().to(get_proposal)));
}

/// Propose a remediation for a completed assessment. Env values are sealed at rest and never
/// shown again; the answer carries the payload digest approvals bind to and a risk estimate.
/// `autoApprove` is never honoured. `assessmentId` is the assessment's id (`7` or
/// `assessment-7`) or the `requestId` it was requested under.
#[utoipa::path(
    post, path = "/remediations/propose", tag = "remediations",
    security(("bearer" = ["propose_remediation"]), ("api_key" = ["propose_remediation"])),
    request_body = ProposeRequest,
    responses(
        (status = 201, body = ProposeResponse),
        (status = 404, description = "no such assessment", body = ErrorBody),
        (status = 409, description = "the assessment has no results yet", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn propose(
    state: web::Data<AppState>,
    auth: Authorized<perm::ProposeRemediation>,
    body: web::Json<ProposeRequest>,
) -> ApiResult<HttpResponse> {
    let requester = Requester::new(&auth.principal, &auth.origin);
    let proposed = service::propose(&state, &requester, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(proposed))
}

/// Proposals, newest first; env values masked.
#[utoipa::path(
    get, path = "/remediations", tag = "remediations",
    security(("bearer" = ["view_remediations"])),
    params(ProposalQuery),
    responses((status = 200, body = ProposalPage), (status = 422, body = ErrorBody))
)]
async fn list_proposals(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewRemediations>,
    query: web::Query<ProposalQuery>,
) -> ApiResult<web::Json<ProposalPage>> {
    Ok(web::Json(service::list(&state, &query).await?))
}

/// One proposal: actions (env masked), risk, digest, and every decision so far.
#[utoipa::path(
    get, path = "/remediations/{id}", tag = "remediations",
    security(("bearer" = ["view_remediations"])),
    params(("id" = ProposalId, Path, description = "`7` or `remediation-7`")),
    responses((status = 200, body = ProposalResponse), (status = 404, body = ErrorBody))
)]
async fn get_proposal(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewRemediations>,
    id: web::Path<ProposalId>,
) -> ApiResult<web::Json<ProposalResponse>> {
    let proposal = service::get(&state, id.into_inner()).await?;
    Ok(web::Json(ProposalResponse {
        success: true,
        proposal,
    }))
}
