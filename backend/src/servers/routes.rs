//! `/servers/*`: enrollment keys, registration, the registry and pings.

use super::service::{self, Registrar};
use crate::auth::principal::{Authorized, RequestOrigin, perm};
use crate::error::{ApiError, ApiResult};
use crate::http::body::optional_json;
use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use coordinator_api::servers::{
    EnrollmentKeyRequest, EnrollmentKeyResponse, PingRequest, PingResponse, RegisterServerRequest,
    RegisterServerResponse, ServerListResponse, ServerResponse,
};
use coordinator_api::{ErrorBody, ServerId};
use std::future::{Ready, ready};
use utoipa::OpenApi;

pub const ENROLLMENT_KEY_HEADER: &str = "x-enrollment-key";

#[derive(OpenApi)]
#[openapi(paths(
    create_enrollment_key,
    register_server,
    list_servers,
    get_server,
    ping_server,
    delete_server
))]
pub struct ServersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/servers/enrollment-keys").route(web::post().to(create_enrollment_key)),
    )
    .service(web::resource("/servers/register").route(web::post().to(register_server)))
    .service(web::resource("/servers").route(web::get().to(list_servers)))
    .service(
        web::resource("/servers/{id}")
            .route(web::get().to(get_server))
            .route(web::delete().to(delete_server)),
    )
    .service(web::resource("/servers/{id}/ping").route(web::post().to(ping_server)));
}

impl Registrar {
    fn from_headers(req: &HttpRequest, payload: &mut Payload) -> ApiResult<Self> {
        match req.headers().get(ENROLLMENT_KEY_HEADER).map(|v| v.to_str()) {
            Some(Ok(key)) => {
                let RequestOrigin(origin) =
                    RequestOrigin::from_request(req, payload).into_inner()?;
                Ok(Registrar::EnrollmentKey {
                    key: key.trim().to_owned(),
                    origin,
                })
            }
            Some(Err(_)) => Err(ApiError::unauthorized("the enrollment key is invalid")),
            None => {
                let admin =
                    Authorized::<perm::ManageServers>::from_request(req, payload).into_inner()?;
                Ok(Registrar::Admin(admin.origin))
            }
        }
    }
}

impl FromRequest for Registrar {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Self::from_headers(req, payload))
    }
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

/// Register an installer or a compliance server, by an admin or with an enrollment key
/// (`X-Enrollment-Key`). Answers the server's API key, once. Registering again under the same
/// id rotates the key.
#[utoipa::path(
    post, path = "/servers/register", tag = "servers",
    security(("bearer" = ["manage_servers"]), ("enrollment_key" = [])),
    request_body = RegisterServerRequest,
    responses(
        (status = 201, body = RegisterServerResponse),
        (status = 401, description = "invalid enrollment key", body = ErrorBody),
        (status = 409, description = "key already used, or id registered as the other kind", body = ErrorBody),
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

/// The registry.
#[utoipa::path(
    get, path = "/servers", tag = "servers",
    security(("bearer" = ["view_servers"])),
    responses((status = 200, body = ServerListResponse))
)]
async fn list_servers(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewServers>,
) -> ApiResult<web::Json<ServerListResponse>> {
    let servers = service::list(&state).await?;
    Ok(web::Json(ServerListResponse {
        success: true,
        servers,
    }))
}

/// One server, with its status and when it was last seen.
#[utoipa::path(
    get, path = "/servers/{id}", tag = "servers",
    security(("bearer" = ["view_servers"])),
    params(("id" = String, Path)),
    responses((status = 200, body = ServerResponse), (status = 404, body = ErrorBody))
)]
async fn get_server(
    state: web::Data<AppState>,
    _auth: Authorized<perm::ViewServers>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ServerResponse>> {
    let id = ServerId::parse(&id).map_err(|_| ApiError::not_found(format!("server `{id}`")))?;
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
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<web::Json<PingResponse>> {
    let id =
        ServerId::parse(&id).map_err(|_| ApiError::forbidden("a server may only ping itself"))?;
    let request: PingRequest = optional_json(&body)?;
    let answer = service::ping(&state, &auth.principal, &auth.origin, &id, request).await?;
    Ok(web::Json(answer))
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
    id: web::Path<String>,
) -> ApiResult<web::Json<coordinator_api::auth::SuccessResponse>> {
    let id = ServerId::parse(&id).map_err(|_| ApiError::not_found(format!("server `{id}`")))?;
    service::delete(&state, &auth.origin, &id).await?;
    Ok(web::Json(coordinator_api::auth::SuccessResponse {
        success: true,
    }))
}
