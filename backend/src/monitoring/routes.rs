//! `/metrics/system`, `/metrics/history` and the Prometheus `/metrics`.

use super::{prometheus, service};
use crate::auth::principal::{Authorized, perm};
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::ErrorBody;
use coordinator_api::monitoring::{
    MetricsHistoryQuery, MetricsHistoryResponse, SystemMetricsResponse,
};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(system_metrics, metrics_history, prometheus_metrics))]
pub struct MonitoringApi;

/// `/metrics` at the root as well, where Prometheus scrapers look by default.
pub fn configure_root(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(prometheus_metrics)));
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics/system").route(web::get().to(system_metrics)))
        .service(web::resource("/metrics/history").route(web::get().to(metrics_history)))
        .service(web::resource("/metrics").route(web::get().to(prometheus_metrics)));
}

/// The newest sample of the machine, and the health of the coordinator and every server.
#[utoipa::path(
    get, path = "/metrics/system", tag = "monitoring",
    security(("bearer" = ["view_metrics"])),
    responses((status = 200, body = SystemMetricsResponse))
)]
async fn system_metrics(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewMetrics>,
) -> ApiResult<web::Json<SystemMetricsResponse>> {
    Ok(web::Json(SystemMetricsResponse {
        success: true,
        metrics: service::snapshot(&state).await?,
    }))
}

/// Samples over time, oldest first, for charts.
#[utoipa::path(
    get, path = "/metrics/history", tag = "monitoring",
    security(("bearer" = ["view_metrics"])),
    params(MetricsHistoryQuery),
    responses((status = 200, body = MetricsHistoryResponse), (status = 422, body = ErrorBody))
)]
async fn metrics_history(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewMetrics>,
    query: web::Query<MetricsHistoryQuery>,
) -> ApiResult<web::Json<MetricsHistoryResponse>> {
    Ok(web::Json(MetricsHistoryResponse {
        success: true,
        samples: service::history(&state, &query).await?,
    }))
}

/// Prometheus text exposition, for scrapers: no credentials needed, and nothing secret or
/// personal in it (route patterns, counts and timings).
#[utoipa::path(
    get, path = "/metrics", tag = "monitoring",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
async fn prometheus_metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(prometheus::render(&state).await?))
}
