//! `/health` and `/ready`, served both at the root (for probes) and under `/api/v1`.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::web;
use coordinator_api::ErrorBody;
use coordinator_api::health::{HealthResponse, ReadyResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(health, ready))]
pub struct OpsApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/ready").route(web::get().to(ready)));
}

/// Liveness: the process is serving requests.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, body = HealthResponse)))]
async fn health() -> web::Json<HealthResponse> {
    web::Json(HealthResponse {
        success: true,
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/ready", tag = "ops",
    responses((status = 200, body = ReadyResponse), (status = 503, body = ErrorBody))
)]
async fn ready(state: web::Data<AppState>) -> ApiResult<web::Json<ReadyResponse>> {
    state.db.ping().await.map_err(ApiError::unavailable)?;
    Ok(web::Json(ReadyResponse {
        success: true,
        status: "ready".to_owned(),
        database: state.config.database.backend_name().to_owned(),
    }))
}
