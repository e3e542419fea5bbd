//! `/alerts` and `/alerts/rules`.

use super::service;
use crate::auth::principal::{Authorized, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::ErrorBody;
use coordinator_api::alerts::{
    AlertListResponse, AlertQuery, AlertRuleListResponse, AlertRuleRequest, AlertRuleResponse,
};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(list_alerts, list_rules, save_rule, delete_rule))]
pub struct AlertsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/alerts").route(web::get().to(list_alerts)))
        .service(
            web::resource("/alerts/rules")
                .route(web::get().to(list_rules))
                .route(web::post().to(save_rule)),
        )
        .service(web::resource("/alerts/rules/{id}").route(web::delete().to(delete_rule)));
}

/// Alerts, newest first.
#[utoipa::path(
    get, path = "/alerts", tag = "alerts",
    security(("bearer" = ["view_metrics"])),
    params(AlertQuery),
    responses((status = 200, body = AlertListResponse), (status = 422, body = ErrorBody))
)]
async fn list_alerts(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewMetrics>,
    query: web::Query<AlertQuery>,
) -> ApiResult<web::Json<AlertListResponse>> {
    Ok(web::Json(AlertListResponse {
        success: true,
        alerts: service::alerts(&state, &query).await?,
    }))
}

/// The rules in force.
#[utoipa::path(
    get, path = "/alerts/rules", tag = "alerts",
    security(("bearer" = ["view_metrics"])),
    responses((status = 200, body = AlertRuleListResponse))
)]
async fn list_rules(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewMetrics>,
) -> ApiResult<web::Json<AlertRuleListResponse>> {
    Ok(web::Json(AlertRuleListResponse {
        success: true,
        rules: service::rules(&state).await?,
    }))
}

/// Create a rule, or replace the rule of the same name.
#[utoipa::path(
    post, path = "/alerts/rules", tag = "alerts",
    security(("bearer" = ["manage_alerts"])),
    request_body = AlertRuleRequest,
    responses(
        (status = 201, body = AlertRuleResponse),
        (status = 200, description = "replaced", body = AlertRuleResponse),
        (status = 422, body = ErrorBody),
    )
)]
async fn save_rule(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageAlerts>,
    body: web::Json<AlertRuleRequest>,
) -> ApiResult<HttpResponse> {
    let (created, rule) = service::save(&state, &auth.origin, body.into_inner()).await?;
    let answer = AlertRuleResponse {
        success: true,
        rule,
    };
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// Delete a rule and its alerts.
#[utoipa::path(
    delete, path = "/alerts/rules/{id}", tag = "alerts",
    security(("bearer" = ["manage_alerts"])),
    params(("id" = i64, Path)),
    responses((status = 200, body = coordinator_api::auth::SuccessResponse), (status = 404, body = ErrorBody))
)]
async fn delete_rule(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageAlerts>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<coordinator_api::auth::SuccessResponse>> {
    service::delete(&state, &auth.origin, id.into_inner()).await?;
    Ok(web::Json(coordinator_api::auth::SuccessResponse {
        success: true,
    }))
}
