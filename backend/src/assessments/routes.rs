//! `/assessments/*`.

use super::service;
use crate::auth::principal::Requester;
use crate::auth::principal::{Authorized, PersonWith, ServerWith, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::assessments::{
    AssessmentPage, AssessmentQuery, AssessmentResponse, AssessmentResults,
    CreateAssessmentRequest, CreateAssessmentResponse, ReviewRequest,
};
use coordinator_api::{AssessmentId, AssessmentRef, ErrorBody};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(
    request_assessment,
    list_assessments,
    get_assessment,
    report_results,
    review_assessment
))]
pub struct AssessmentsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/assessments")
            .route(web::post().to(request_assessment))
            .route(web::get().to(list_assessments)),
    )
    .service(web::resource("/assessments/{id}").route(web::get().to(get_assessment)))
    .service(web::resource("/assessments/{id}/results").route(web::post().to(report_results)))
    .service(web::resource("/assessments/{id}/review").route(web::post().to(review_assessment)));
}

/// Request a compliance assessment. `requestId` is an idempotency key: the same request
/// again answers the same assessment (200); other content under the same key is a 409.
/// `autoApprove` is never honoured: it is accepted, ignored and reported as ignored.
#[utoipa::path(
    post, path = "/assessments", tag = "assessments",
    security(("bearer" = ["request_assessment"]), ("api_key" = ["request_assessment"])),
    request_body = CreateAssessmentRequest,
    responses(
        (status = 201, body = CreateAssessmentResponse),
        (status = 200, description = "the same request again", body = CreateAssessmentResponse),
        (status = 409, description = "requestId used for different content", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn request_assessment(
    state: web::Data<AppState>,
    auth: Authorized<perm::RequestAssessment>,
    body: web::Json<CreateAssessmentRequest>,
) -> ApiResult<HttpResponse> {
    let requester = Requester::new(&auth.principal, &auth.origin);
    let (created, answer) = service::request(&state, &requester, body.into_inner()).await?;
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// Assessments, newest first.
#[utoipa::path(
    get, path = "/assessments", tag = "assessments",
    security(("bearer" = ["view_assessments"])),
    params(AssessmentQuery),
    responses((status = 200, body = AssessmentPage), (status = 422, body = ErrorBody))
)]
async fn list_assessments(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewAssessments>,
    query: web::Query<AssessmentQuery>,
) -> ApiResult<web::Json<AssessmentPage>> {
    Ok(web::Json(service::list(&state, &query).await?))
}

/// One assessment with its results and review. `{id}` is the coordinator's id (`7` or
/// `assessment-7`) or the `requestId` the assessment was requested under; a string is looked
/// up as a `requestId` first.
#[utoipa::path(
    get, path = "/assessments/{id}", tag = "assessments",
    security(("bearer" = ["view_assessments"])),
    params(("id" = AssessmentRef, Path, description = "`7`, `assessment-7`, or a requestId")),
    responses(
        (status = 200, body = AssessmentResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "several requesters used this requestId", body = ErrorBody),
    )
)]
async fn get_assessment(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewAssessments>,
    wanted: web::Path<AssessmentRef>,
) -> ApiResult<web::Json<AssessmentResponse>> {
    let assessment = service::get(&state, &wanted).await?;
    Ok(web::Json(AssessmentResponse {
        success: true,
        assessment,
    }))
}

/// The compliance server holding the assessment's lease reports its results.
#[utoipa::path(
    post, path = "/assessments/{id}/results", tag = "assessments",
    security(("api_key" = ["claim_work"])),
    params(("id" = AssessmentId, Path, description = "`7` or `assessment-7`")),
    request_body = AssessmentResults,
    responses(
        (status = 200, body = AssessmentResponse),
        (status = 403, description = "another server holds it", body = ErrorBody),
        (status = 409, description = "no live lease, or not running", body = ErrorBody),
    )
)]
async fn report_results(
    state: web::Data<AppState>,
    auth: ServerWith<perm::ClaimWork>,
    id: web::Path<AssessmentId>,
    body: web::Json<AssessmentResults>,
) -> ApiResult<web::Json<AssessmentResponse>> {
    let assessment = service::report_results(
        &state,
        &auth.server,
        &auth.origin,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(AssessmentResponse {
        success: true,
        assessment,
    }))
}

/// An approver accepts or rejects the results, with an approval token of their own.
/// Whoever requested the assessment cannot review it.
#[utoipa::path(
    post, path = "/assessments/{id}/review", tag = "assessments",
    security(("bearer" = ["review_assessment"])),
    params(("id" = AssessmentId, Path, description = "`7` or `assessment-7`")),
    request_body = ReviewRequest,
    responses(
        (status = 200, body = AssessmentResponse),
        (status = 403, description = "own request, or the token is not yours", body = ErrorBody),
        (status = 409, description = "not completed, or the token was used", body = ErrorBody),
        (status = 410, description = "the token expired", body = ErrorBody),
    )
)]
async fn review_assessment(
    state: web::Data<AppState>,
    auth: PersonWith<perm::ReviewAssessment>,
    id: web::Path<AssessmentId>,
    body: web::Json<ReviewRequest>,
) -> ApiResult<web::Json<AssessmentResponse>> {
    let assessment = service::review(
        &state,
        auth.person,
        &auth.origin,
        id.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(AssessmentResponse {
        success: true,
        assessment,
    }))
}
