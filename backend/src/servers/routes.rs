//! `/servers/*`: enrollment keys, registration, the registry and pings.

use super::service;
use crate::auth::principal::{Authorized, Registrar, SelfOr, perm};
use crate::error::ApiResult;
use crate::http::body::optional_json;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use coordinator_api::machines::MachineListResponse;
use coordinator_api::servers::{
    EnrollmentKeyRequest, EnrollmentKeyResponse, PingRequest, PingResponse, ReachabilityResponse,
    RegisterServerRequest, RegisterServerResponse, ServerListResponse, ServerQuery, ServerResponse,
};
use coordinator_api::{ErrorBody, ServerId};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(
    create_enrollment_key,
    register_server,
    list_servers,
    list_machines,
    get_server,
    ping_server,
    server_reachability,
    delete_server
))]
pub struct ServersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/servers/enrollment-keys").route(web::post().to(create_enrollment_key)),
    )
    .service(web::resource("/servers/register").route(web::post().to(register_server)))
    .service(web::resource("/servers").route(web::get().to(list_servers)))
    .service(web::resource("/machines").route(web::get().to(list_machines)))
    .service(
        web::resource("/servers/{id}")
            .route(web::get().to(get_server))
            .route(web::delete().to(delete_server)),
    )
    .service(
        web::resource("/servers/{id}/ping")
            .route(web::post().to(ping_server))
            .route(web::get().to(server_reachability)),
    );
}

/// Create a single-use enrollment key. The key is in this answer only.
#[utoipa::path(
    post, path = "/servers/enrollment-keys", tag = "servers",
    security(("bearer" = ["manage_servers"])),
    request_body = EnrollmentKeyRequest,
    responses((status = 201, body = EnrollmentKeyResponse), (status = 422, body = ErrorBody))
)]
async fn create_enrollment_key(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageServers>,
    body: web::Json<EnrollmentKeyRequest>,
) -> ApiResult<HttpResponse> {
    let created = service::create_enrollment_key(&state, &auth.origin, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Register an installer or a compliance server: a new one with an enrollment key
/// (`X-Enrollment-Key`), or any one as an admin. A registered server re-registers itself with
/// its own `X-API-Key`. Answers the server's API key, once; registering again rotates it.
#[utoipa::path(
    post, path = "/servers/register", tag = "servers",
    security(("bearer" = ["manage_servers"]), ("enrollment_key" = []), ("api_key" = [])),
    request_body = RegisterServerRequest,
    responses(
        (status = 201, body = RegisterServerResponse),
        (status = 401, description = "invalid enrollment key", body = ErrorBody),
        (status = 409, description = "key already used, id already registered (enrollment), or registered as the other kind", body = ErrorBody),
        (status = 410, description = "enrollment key expired", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn register_server(
    state: web::Data<AppState>,
    registrar: Registrar,
    body: web::Json<RegisterServerRequest>,
) -> ApiResult<HttpResponse> {
    let registered = service::register(&state, registrar, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(registered))
}

/// The registry, ordered by machine, then id.
#[utoipa::path(
    get, path = "/servers", tag = "servers",
    security(("bearer" = ["view_servers"])),
    params(ServerQuery),
    responses((status = 200, body = ServerListResponse), (status = 400, body = ErrorBody))
)]
async fn list_servers(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewServers>,
    query: web::Query<ServerQuery>,
) -> ApiResult<web::Json<ServerListResponse>> {
    let servers = service::list(&state, &query).await?;
    Ok(web::Json(ServerListResponse {
        success: true,
        servers,
    }))
}

/// The machines servers are registered on, each with its servers and whether it can be
/// assessed and changed right now.
#[utoipa::path(
    get, path = "/machines", tag = "servers",
    security(("bearer" = ["view_servers"])),
    responses((status = 200, body = MachineListResponse))
)]
async fn list_machines(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewServers>,
) -> ApiResult<web::Json<MachineListResponse>> {
    let machines = service::machines(&state).await?;
    Ok(web::Json(MachineListResponse {
        success: true,
        machines,
    }))
}

/// One server, with its status and when it was last seen. A server may read its own entry
/// with its API key.
#[utoipa::path(
    get, path = "/servers/{id}", tag = "servers",
    security(("bearer" = ["view_servers"]), ("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ServerResponse),
        (status = 403, description = "another server's entry", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn get_server(
    state: web::Data<AppState>,
    _auth: SelfOr<perm::ViewServers>,
    id: web::Path<ServerId>,
) -> ApiResult<web::Json<ServerResponse>> {
    let server = service::get(&state, &id).await?;
    Ok(web::Json(ServerResponse {
        success: true,
        server,
    }))
}

/// A server reports that it is alive, and optionally its health. Only with its own API key.
#[utoipa::path(
    post, path = "/servers/{id}/ping", tag = "servers",
    security(("api_key" = ["report_health"])),
    params(("id" = String, Path)),
    request_body(content = Option<PingRequest>, description = "optional"),
    responses((status = 200, body = PingResponse), (status = 403, body = ErrorBody))
)]
async fn ping_server(
    state: web::Data<AppState>,
    auth: Authorized<perm::ReportHealth>,
    id: web::Path<ServerId>,
    body: web::Bytes,
) -> ApiResult<web::Json<PingResponse>> {
    let request: PingRequest = optional_json(&body)?;
    let answer = service::ping(&state, &auth.principal, &auth.origin, &id, request).await?;
    Ok(web::Json(answer))
}

/// Whether a server is reachable: its status and when it was last heard from. Its own
/// heartbeat is `POST` on this path.
#[utoipa::path(
    get, path = "/servers/{id}/ping", tag = "servers",
    security(("bearer" = ["view_servers"]), ("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReachabilityResponse),
        (status = 403, description = "another server's entry", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn server_reachability(
    state: web::Data<AppState>,
    _auth: SelfOr<perm::ViewServers>,
    id: web::Path<ServerId>,
) -> ApiResult<web::Json<ReachabilityResponse>> {
    let server = service::get(&state, &id).await?;
    Ok(web::Json(ReachabilityResponse::of(&server)))
}

/// Remove a server from the registry; its API key stops working.
#[utoipa::path(
    delete, path = "/servers/{id}", tag = "servers",
    security(("bearer" = ["manage_servers"])),
    params(("id" = String, Path)),
    responses((status = 200, body = coordinator_api::auth::SuccessResponse), (status = 404, body = ErrorBody))
)]
async fn delete_server(
    state: web::Data<AppState>,
    auth: Authorized<perm::ManageServers>,
    id: web::Path<ServerId>,
) -> ApiResult<web::Json<coordinator_api::auth::SuccessResponse>> {
    service::delete(&state, &auth.origin, &id).await?;
    Ok(web::Json(coordinator_api::auth::SuccessResponse {
        success: true,
    }))
}
